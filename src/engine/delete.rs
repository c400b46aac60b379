//! Carrying out what the ownership policy decided for objects a stack lets go of: delete,
//! release, keep, leave alone — for pruning and `down` alike.
//!
//! Deletions go in deletion order (webhook configurations first, CRDs and namespaces
//! last), kind by kind, and each is checked once more right before it happens: the object
//! must still carry the stack's ApplySet label, and it is deleted only if its uid is still
//! the one checked, so an object someone replaced in between is left alone. A namespace is
//! listed again right before it goes. A StatefulSet's volume claims are made to survive
//! its deletion unless volumes are to go.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::cluster::{Cluster, ClusterError};
use crate::k8s::{Object, ObjectKey, labels, order};
use crate::ownership::facts::{ClaimSource, namespace_contents};
use crate::ownership::{Decision, KeepReason, Verdict, field_managers};

/// What a removal did.
#[derive(Debug, Default)]
pub(crate) struct Removal {
    pub deleted: Vec<ObjectKey>,
    /// Kept on purpose: CRDs, volumes, namespaces that still hold other objects.
    pub retained: Vec<ObjectKey>,
    /// Adopted objects left in place and no longer landscape's.
    pub released: Vec<ObjectKey>,
    /// Not deleted, with why (replaced by someone else; kept, with why).
    pub left_alone: Vec<(ObjectKey, String)>,
    /// Still there when the deadline passed, or created again by someone else.
    pub stuck: Vec<String>,
    /// Still being deleted when the deadline passed (a finalizer, a namespace still
    /// emptying): they stay recorded, so that the next run finishes the job instead of
    /// finding objects labelled for the stack that its inventory no longer knows.
    pub pending: Vec<ObjectKey>,
}

impl Removal {
    pub fn absorb(&mut self, other: Removal) {
        self.deleted.extend(other.deleted);
        self.retained.extend(other.retained);
        self.released.extend(other.released);
        self.left_alone.extend(other.left_alone);
        self.stuck.extend(other.stuck);
        self.pending.extend(other.pending);
    }

    /// Every key the inventory no longer records as a member after this removal.
    pub fn settled(&self) -> impl Iterator<Item = &ObjectKey> {
        self.deleted
            .iter()
            .chain(&self.released)
            .chain(self.left_alone.iter().map(|(k, _)| k))
    }
}

/// How a removal runs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct How<'a> {
    /// Wait for each deletion to finish (finalizers included) until the deadline.
    pub wait: bool,
    pub deadline: Instant,
    /// Volume claims go too (so StatefulSets need not be made to keep them).
    pub delete_volumes: bool,
    /// The stack's StatefulSets as sources of volume claims (read before any is deleted).
    pub claim_sources: &'a [ClaimSource],
}

/// Carries out `verdicts`.
pub(crate) async fn carry_out(
    cluster: &Cluster,
    applyset: &str,
    verdicts: &[Verdict],
    how: How<'_>,
) -> Result<Removal, ClusterError> {
    let mut removal = Removal::default();
    let mut delete = Vec::new();
    let mut namespaces = Vec::new();
    for v in verdicts {
        match &v.decision {
            // Namespaces are listed again once everything else is gone: what held one at
            // the start may have gone with the rest (an operator's objects, say).
            Decision::Delete | Decision::Keep(KeepReason::NamespaceInUse { .. })
                if v.key.is_namespace() =>
            {
                namespaces.push(v)
            }
            Decision::Delete => delete.push(v),
            Decision::Keep(why) => {
                removal.retained.push(v.key.clone());
                if matches!(
                    why,
                    KeepReason::NamespaceInUse { .. } | KeepReason::CrdInUse { .. }
                ) {
                    removal
                        .left_alone
                        .push((v.key.clone(), format!("{}: kept, {why}", v.key)));
                }
            }
            Decision::Release => {
                release(cluster, &v.key).await?;
                removal.released.push(v.key.clone());
            }
            Decision::LeaveAlone { why } => {
                removal
                    .left_alone
                    .push((v.key.clone(), format!("{}: {why}; left alone", v.key)));
            }
            _ => {}
        }
    }
    removal.absorb(delete_in_order(cluster, applyset, &delete, how).await?);
    removal.absorb(delete_namespaces(cluster, applyset, &namespaces, how).await?);
    Ok(removal)
}

/// Deletes the verdicts' objects in deletion order, one wave of equal rank at a time.
async fn delete_in_order(
    cluster: &Cluster,
    applyset: &str,
    verdicts: &[&Verdict],
    how: How<'_>,
) -> Result<Removal, ClusterError> {
    let mut keys: Vec<ObjectKey> = verdicts.iter().map(|v| v.key.clone()).collect();
    keys.sort_by_key(|k| order::delete_rank_of(&k.group, &k.kind));
    let mut removal = Removal::default();
    for same_rank in keys.chunk_by(|a, b| {
        order::delete_rank_of(&a.group, &a.kind) == order::delete_rank_of(&b.group, &b.kind)
    }) {
        let mut gone = Vec::new();
        for wave in aggregated_roles_first(cluster, same_rank).await? {
            let results: Vec<Result<Deleted, ClusterError>> = futures::stream::iter(&wave)
                .map(|k| delete_one(cluster, k, applyset, how.delete_volumes))
                .buffered(8)
                .collect()
                .await;
            for (k, r) in wave.iter().zip(results) {
                match r? {
                    Deleted::LeftAlone(why) => removal.left_alone.push((k.clone(), why)),
                    Deleted::Gone { kept_claims } => {
                        gone.push(k.clone());
                        removal.retained.extend(kept_claims);
                    }
                }
            }
        }
        if how.wait {
            let waited = wait_gone(cluster, &gone, how.deadline).await?;
            gone.retain(|k| !waited.pending.iter().any(|(p, _)| p == k));
            removal.stuck.extend(waited.recreated);
            for (k, why) in waited.pending {
                removal.stuck.push(why);
                removal.pending.push(k);
            }
        }
        removal.deleted.extend(gone);
    }
    Ok(removal)
}

/// Deletes namespaces that, listed again now, hold nothing but what this removal deletes.
async fn delete_namespaces(
    cluster: &Cluster,
    applyset: &str,
    namespaces: &[&Verdict],
    how: How<'_>,
) -> Result<Removal, ClusterError> {
    let mut removal = Removal::default();
    let mut empty = Vec::new();
    for ns in namespaces {
        let contents = namespace_contents(cluster, &ns.key.name, how.claim_sources).await?;
        if how.delete_volumes && !contents.claims.is_empty() {
            delete_claims(cluster, &contents.claims).await?;
        }
        let holds = contents.holds_besides(&|k| how.delete_volumes && contents.claims.contains(k));
        if holds.is_empty() {
            empty.push(*ns);
        } else {
            let why = KeepReason::NamespaceInUse { holds };
            removal.retained.push(ns.key.clone());
            removal
                .left_alone
                .push((ns.key.clone(), format!("{}: kept, {why}", ns.key)));
        }
    }
    removal.absorb(delete_in_order(cluster, applyset, &empty, how).await?);
    Ok(removal)
}

/// The claims of the stack's StatefulSets, which the user asked to delete with the stack.
async fn delete_claims(cluster: &Cluster, claims: &[ObjectKey]) -> Result<(), ClusterError> {
    for c in claims {
        cluster.delete(c).await?;
    }
    Ok(())
}

/// What deleting one object came to.
enum Deleted {
    /// Deleted, and these volume claims it made kept (as the stack's, retained).
    Gone { kept_claims: Vec<ObjectKey> },
    /// Not deleted, and why.
    LeftAlone(String),
}

/// Deletes one object if it is still the stack's; otherwise says why it was left alone.
async fn delete_one(
    cluster: &Cluster,
    key: &ObjectKey,
    applyset: &str,
    delete_volumes: bool,
) -> Result<Deleted, ClusterError> {
    let Some(live) = cluster.get_key(key).await? else {
        return Ok(Deleted::Gone {
            kept_claims: Vec::new(),
        });
    };
    if live.label(labels::APPLYSET_PART_OF) != Some(applyset) {
        return Ok(Deleted::LeftAlone(format!(
            "{key}: no longer landscape's (now written by {}); left alone",
            field_managers(&live)
        )));
    }
    let kept_claims = if !delete_volumes && live.group() == "apps" && live.kind() == "StatefulSet" {
        keep_claims(cluster, &live).await?
    } else {
        Vec::new()
    };
    let deleted = match live.uid() {
        Some(uid) => cluster.delete_if_uid(key, uid).await,
        None => cluster.delete(key).await,
    };
    match deleted {
        Ok(_) => Ok(Deleted::Gone { kept_claims }),
        Err(e) if e.is_conflict() => Ok(Deleted::LeftAlone(format!(
            "{key}: replaced by another client while landscape was deleting it; left alone"
        ))),
        Err(e) => Err(e),
    }
}

/// Makes a StatefulSet's volume claims survive its deletion, as the stack's: each claim
/// gets the set's stack labels, so that it is recorded as retained and a later
/// `--delete-volumes` (or a `diff`) knows it for the stack's data rather than someone
/// else's object. With a retention policy of `whenDeleted: Delete` the StatefulSet
/// controller makes the set the owner of its claims, and the garbage collector deletes
/// them with it: the policy is set to Retain, and — since the controller lifts its
/// ownership only eventually — the ownership is lifted from each claim here, before the
/// set goes.
pub(super) async fn keep_claims(
    cluster: &Cluster,
    sts: &Object,
) -> Result<Vec<ObjectKey>, ClusterError> {
    let policy = sts.pointer_str("/spec/persistentVolumeClaimRetentionPolicy/whenDeleted");
    if policy == Some("Delete") {
        cluster
            .merge_patch(
                &sts.key(),
                &json!({"spec": {"persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain"}}}),
            )
            .await?;
    }
    let source = ClaimSource::of(sts);
    let uid = sts.uid().unwrap_or_default();
    let stack_labels: serde_json::Map<String, Value> = [
        labels::APPLYSET_PART_OF,
        labels::MANAGED_BY,
        labels::STACK,
        labels::COMPONENT,
    ]
    .iter()
    .filter_map(|l| Some((l.to_string(), Value::from(sts.label(l)?))))
    .collect();
    let claims = cluster
        .list("v1", "PersistentVolumeClaim", sts.namespace(), "")
        .await?;
    let mut kept = Vec::new();
    for claim in claims.iter().filter(|c| source.made(c)) {
        let refs: Vec<Value> = claim
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let other_owners: Vec<Value> = refs
            .iter()
            .filter(|r| r.get("uid").and_then(Value::as_str) != Some(uid))
            .cloned()
            .collect();
        let mut patch = json!({"metadata": {"labels": stack_labels}});
        if other_owners.len() != refs.len() {
            patch["metadata"]["ownerReferences"] = Value::from(other_owners);
        }
        match cluster.merge_patch(&claim.key(), &patch).await {
            Ok(_) => kept.push(claim.key()),
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(kept)
}

/// Lets go of an adopted object: it stays as it is, without the labels that made it a
/// member of the stack.
async fn release(cluster: &Cluster, key: &ObjectKey) -> Result<(), ClusterError> {
    let drop: serde_json::Map<String, Value> =
        [labels::APPLYSET_PART_OF, labels::STACK, labels::COMPONENT]
            .iter()
            .map(|l| (l.to_string(), Value::Null))
            .collect();
    match cluster
        .merge_patch(key, &json!({"metadata": {"labels": drop}}))
        .await
    {
        Err(e) if e.is_not_found() => Ok(()),
        other => other.map(|_| ()),
    }
}

/// Splits a batch of ClusterRoles into the aggregated ones (those with an
/// `aggregationRule`) and the rest, in that order; other batches stay whole.
///
/// Kubernetes' clusterrole-aggregation controller rewrites an aggregated role with a
/// server-side apply whenever a role it selects changes. Deleting both at once lets it
/// see the selected roles go while its cache still holds the aggregated one, and its
/// apply then re-creates the aggregated role we just deleted — unlabelled, and so
/// foreign to every later run. Deleting aggregated roles first closes that race: one
/// watch stream carries both kinds of event, so the controller's cache has dropped the
/// aggregated role before it hears about the others.
async fn aggregated_roles_first(
    cluster: &Cluster,
    batch: &[ObjectKey],
) -> Result<Vec<Vec<ObjectKey>>, ClusterError> {
    let is_cluster_role =
        |k: &ObjectKey| k.group == "rbac.authorization.k8s.io" && k.kind == "ClusterRole";
    if !batch.iter().any(is_cluster_role) {
        return Ok(vec![batch.to_vec()]);
    }
    let aggregated: BTreeSet<String> = cluster
        .list("rbac.authorization.k8s.io/v1", "ClusterRole", None, "")
        .await?
        .iter()
        .filter(|r| r.0.get("aggregationRule").is_some_and(|a| !a.is_null()))
        .map(|r| r.name().to_string())
        .collect();
    let (first, rest): (Vec<ObjectKey>, Vec<ObjectKey>) = batch
        .iter()
        .cloned()
        .partition(|k| is_cluster_role(k) && aggregated.contains(&k.name));
    Ok([first, rest]
        .into_iter()
        .filter(|w| !w.is_empty())
        .collect())
}

/// Waits until each object is gone, or the deadline passes; says what is still there and
/// why (finalizers), and what someone else created again.
/// What waiting for deletions to finish came to.
struct Waited {
    /// Created anew by someone else after the deletion (messages); no longer the stack's.
    recreated: Vec<String>,
    /// Still being deleted at the deadline, with why.
    pending: Vec<(ObjectKey, String)>,
}

async fn wait_gone(
    cluster: &Cluster,
    keys: &[ObjectKey],
    deadline: Instant,
) -> Result<Waited, ClusterError> {
    let mut pending: Vec<ObjectKey> = keys.to_vec();
    let mut recreated = Vec::new();
    loop {
        let mut still = Vec::new();
        for k in pending {
            match cluster.get_key(&k).await {
                // Deleted with background propagation, an object is either gone or
                // marked for deletion; one that is not was created anew by someone else.
                Ok(Some(live)) if !live.is_terminating() => {
                    recreated.push(format!(
                        "{k}: created again by {} after landscape deleted it; left alone",
                        field_managers(&live)
                    ));
                }
                Ok(Some(live)) => still.push((k, live)),
                Ok(None) => {}
                Err(e) if e.is_transient() => still.push((k, Object(Value::Null))),
                Err(e) => return Err(e),
            }
        }
        if still.is_empty() || Instant::now() >= deadline {
            let pending = still
                .iter()
                .map(|(k, live)| (k.clone(), still_there(k, live)))
                .collect();
            return Ok(Waited { recreated, pending });
        }
        pending = still.into_iter().map(|(k, _)| k).collect();
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn still_there(k: &ObjectKey, live: &Object) -> String {
    let finalizers: Vec<&str> = live
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if finalizers.is_empty() {
        format!("{k}: still being deleted")
    } else {
        format!("{k}: waiting for finalizers {}", finalizers.join(", "))
    }
}
