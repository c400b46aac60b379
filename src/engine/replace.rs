//! Replacing an object whose change the API refuses (immutable fields): delete it the way
//! its kind allows ([`crate::k8s::replace`]), wait until it is gone, create it again.
//!
//! The object stays in the inventory throughout, so a run killed between the deletion and
//! the creation leaves nothing orphaned: the next `up` finds it absent and creates it. The
//! deletion is conditional on the uid that was checked, so an object someone else replaced
//! in between is never deleted by mistake.

use std::time::Duration;

use tokio::time::Instant;

use super::Ctx;
use super::apply::ApplyFailure;
use crate::cluster::ClusterError;
use crate::k8s::replace::{ReplacePlan, Replacement};
use crate::k8s::{Object, ObjectKey};
use crate::ownership::Flags;

/// Deletes `live` as `plan` says and waits until it is gone; the caller then creates it.
pub(super) async fn delete_for_replacement(
    ctx: &Ctx<'_>,
    live: &Object,
    plan: &ReplacePlan,
    flags: &Flags,
    deadline: Instant,
) -> Result<(), ApplyFailure> {
    let key = live.key();
    let uid = live.uid().map(str::to_string);
    let deleted = match plan.how {
        Replacement::Orphan => ctx.cluster.delete_orphaning(&key, uid.as_deref()).await,
        Replacement::Recreate => {
            // Its pods go, its claims stay (unless volumes may go too).
            if live.group() == "apps" && live.kind() == "StatefulSet" && !flags.delete_volumes {
                super::delete::keep_claims(ctx.cluster, live).await?;
            }
            match &uid {
                Some(uid) => ctx.cluster.delete_if_uid(&key, uid).await,
                None => ctx.cluster.delete(&key).await,
            }
        }
    };
    match deleted {
        Ok(_) => {}
        // Someone else replaced it since it was read: what is there now is theirs.
        Err(e) if e.is_conflict() => {
            return Err(ApplyFailure::Api(ClusterError::Invalid(format!(
                "{key}: replaced by another client while landscape was replacing it"
            ))));
        }
        Err(e) => return Err(e.into()),
    }
    wait_gone(ctx, &key, uid.as_deref(), deadline).await
}

/// Waits until the object with `uid` no longer exists (finalizers done, orphaning done).
async fn wait_gone(
    ctx: &Ctx<'_>,
    key: &ObjectKey,
    uid: Option<&str>,
    deadline: Instant,
) -> Result<(), ApplyFailure> {
    loop {
        match ctx.cluster.get_key(key).await {
            Ok(None) => return Ok(()),
            Ok(Some(now)) if uid.is_some() && now.uid() != uid => return Ok(()),
            Ok(Some(_)) => {}
            Err(e) if e.is_transient() => {}
            Err(e) => return Err(e.into()),
        }
        if Instant::now() >= deadline {
            return Err(ApplyFailure::Timeout(format!(
                "waiting for {key} to be deleted so that it can be created again"
            )));
        }
        if ctx.cancel.is_cancelled() {
            return Err(ApplyFailure::Stopped);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
