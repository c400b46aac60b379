//! Applying one component's objects: CRDs first and waited for, then namespaces, then the
//! rest in install order, each kind's objects in parallel with a bound. Transient errors —
//! throttling, server errors, a webhook not answering yet, a kind the API server does not
//! serve yet right after its CRD — are retried with backoff until the deadline.

use std::time::Duration;

use futures::{StreamExt, stream};
use tokio::time::Instant;

use super::{Ctx, order};
use crate::cluster::{ApplyOptions, ClusterError};
use crate::health;
use crate::object::{Object, ObjectKey, labels};
use crate::report::Event;

/// What an apply did to one object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Created,
    Configured,
    Unchanged,
    /// A pre-existing Namespace landscape does not own: used as it is, never modified.
    Adopted,
}

/// The result of applying a component.
#[derive(Debug, Default)]
pub struct Applied {
    pub created: usize,
    pub configured: usize,
    pub unchanged: usize,
    /// Objects as the server returned them, in apply order.
    pub objects: Vec<Object>,
}

/// Why applying failed.
#[derive(Debug)]
pub enum ApplyFailure {
    /// The cluster refused a request (or kept failing until the deadline).
    Api(ClusterError),
    /// The object exists and belongs to someone else.
    Conflict { object: ObjectKey, owner: String },
    /// The deadline passed while waiting (a CRD to be established or served).
    Timeout(String),
}

impl std::fmt::Display for ApplyFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApplyFailure::Api(e) => write!(f, "{e}"),
            ApplyFailure::Conflict { object, owner } => write!(
                f,
                "{object} already exists and is {owner}; landscape does not take over objects it does not own (hint: delete it, change its name in the stack, or re-run with --force-conflicts to take it over)"
            ),
            ApplyFailure::Timeout(what) => write!(f, "timed out {what}"),
        }
    }
}

/// How many objects of one kind are applied at once.
const PARALLEL_APPLIES: usize = 8;

/// Who an existing object seems to belong to, for conflict messages. Ownership itself is
/// decided by the inventory, never by labels anyone could copy.
pub fn foreign_owner(live: &Object) -> String {
    match (live.label(labels::MANAGED_BY), live.label(labels::STACK)) {
        (Some(labels::MANAGED_BY_VALUE), Some(s)) => {
            format!("labelled for the landscape stack `{s}` but not in its inventory")
        }
        (Some(tool), _) => format!("managed by `{tool}`"),
        (None, _) => {
            let managers: Vec<&str> = live
                .pointer("/metadata/managedFields")
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
                .filter_map(|m| m.get("manager").and_then(|v| v.as_str()))
                .collect();
            if managers.is_empty() {
                "not managed by landscape".to_string()
            } else {
                format!(
                    "not managed by landscape (field managers: {})",
                    managers.join(", ")
                )
            }
        }
    }
}

pub async fn apply_component(
    ctx: &Ctx<'_>,
    component: &str,
    objects: &[Object],
    deadline: Instant,
) -> Result<Applied, ApplyFailure> {
    let mut sorted: Vec<&Object> = objects.iter().collect();
    sorted.sort_by_key(|o| order::rank(o));
    let (crds, rest): (Vec<&Object>, Vec<&Object>) = sorted.into_iter().partition(|o| o.is_crd());
    let mut applied = Applied::default();
    let progress = |applied: &Applied| {
        ctx.sink.emit(&Event::Applying {
            component: component.to_string(),
            applied: applied.objects.len(),
            total: objects.len(),
        })
    };

    if !crds.is_empty() {
        apply_batch(ctx, component, &crds, deadline, &mut applied).await?;
        progress(&applied);
        wait_for_crds(ctx, component, &crds, deadline).await?;
    }
    // Groups of equal rank, in order. Objects whose kind is not served yet — its CRD is
    // created at run time by an operator, often from another object of this component (a
    // Gatekeeper ConstraintTemplate) — wait until everything else is applied.
    let mut deferred: Vec<&Object> = Vec::new();
    let mut start = 0;
    while start < rest.len() {
        let r = order::rank(rest[start]);
        let end = rest[start..]
            .iter()
            .position(|o| order::rank(o) != r)
            .map_or(rest.len(), |n| start + n);
        let (served, late): (Vec<&Object>, Vec<&Object>) = rest[start..end]
            .iter()
            .partition(|o| ctx.cluster.resource(o.api_version(), o.kind()).is_some());
        deferred.extend(late);
        if !served.is_empty() {
            apply_batch(ctx, component, &served, deadline, &mut applied).await?;
            progress(&applied);
        }
        start = end;
    }
    if !deferred.is_empty() {
        ensure_kinds_served(ctx, component, &deferred, deadline).await?;
        apply_batch(ctx, component, &deferred, deadline, &mut applied).await?;
        progress(&applied);
    }
    Ok(applied)
}

/// What a batch's objects are before anything is written.
enum Found {
    /// Landscape owns it, or it does not exist yet: apply it. Holds the live object.
    Ours(Option<Object>),
    /// A Namespace someone else made: used as it is.
    Adopted(Object),
}

/// Reads a batch's live objects, checks ownership, records the members in the inventory
/// (before creating anything, so an interrupted run never orphans an object), then
/// applies them.
async fn apply_batch(
    ctx: &Ctx<'_>,
    component: &str,
    batch: &[&Object],
    deadline: Instant,
    applied: &mut Applied,
) -> Result<(), ApplyFailure> {
    let found: Vec<Result<Found, ApplyFailure>> = stream::iter(batch.iter().copied())
        .map(|obj| classify(ctx, obj, deadline))
        .buffered(PARALLEL_APPLIES)
        .collect()
        .await;
    let found: Vec<Found> = found.into_iter().collect::<Result<_, _>>()?;
    let members: Vec<ObjectKey> = batch
        .iter()
        .zip(&found)
        .filter(|(_, f)| matches!(f, Found::Ours(_)))
        .map(|(o, _)| o.key())
        .collect();
    ctx.record(component, members)
        .await
        .map_err(ApplyFailure::Api)?;

    let results: Vec<Result<(Change, Object), ApplyFailure>> =
        stream::iter(batch.iter().copied().zip(found))
            .map(|(obj, found)| async move {
                match found {
                    Found::Adopted(live) => Ok((Change::Adopted, live)),
                    Found::Ours(Some(live)) if obj.is_create_only() => {
                        Ok((Change::Unchanged, live))
                    }
                    Found::Ours(live) => apply_one(ctx, obj, live, deadline).await,
                }
            })
            .buffered(PARALLEL_APPLIES)
            .collect()
            .await;
    for r in results {
        let (change, obj) = r?;
        match change {
            Change::Created => applied.created += 1,
            Change::Configured => applied.configured += 1,
            Change::Unchanged => applied.unchanged += 1,
            Change::Adopted => {}
        }
        applied.objects.push(obj);
    }
    Ok(())
}

/// Reads the live object (with retries) and decides whether landscape may apply it.
async fn classify(ctx: &Ctx<'_>, obj: &Object, deadline: Instant) -> Result<Found, ApplyFailure> {
    let live = retrying(deadline, || ctx.cluster.get(obj), ctx).await?;
    let Some(live) = live else {
        return Ok(Found::Ours(None));
    };
    if ctx.owns(&live).await {
        return Ok(Found::Ours(Some(live)));
    }
    // A namespace someone else made is used, never taken over — not even with
    // --force-conflicts: owning it would let `down` delete it with everything in it.
    if obj.is_namespace() {
        return Ok(Found::Adopted(live));
    }
    if ctx.opts.force_conflicts {
        return Ok(Found::Ours(Some(live)));
    }
    Err(ApplyFailure::Conflict {
        object: obj.key(),
        owner: foreign_owner(&live),
    })
}

/// Applies one object with retries; tells created, configured and unchanged apart by the
/// live object's resourceVersion before and after.
async fn apply_one(
    ctx: &Ctx<'_>,
    obj: &Object,
    live: Option<Object>,
    deadline: Instant,
) -> Result<(Change, Object), ApplyFailure> {
    let result = retrying(
        deadline,
        || {
            ctx.cluster.apply(
                obj,
                ApplyOptions {
                    dry_run: false,
                    force: true,
                },
            )
        },
        ctx,
    )
    .await?;
    let change = match &live {
        None => Change::Created,
        Some(l) if l.resource_version() == result.resource_version() => Change::Unchanged,
        Some(_) => Change::Configured,
    };
    Ok((change, result))
}

/// Runs a cluster call, retrying transient errors with backoff until the deadline. A
/// "not found" for a kind refreshes discovery before the next try.
async fn retrying<T, F, Fut>(
    deadline: Instant,
    mut call: F,
    ctx: &Ctx<'_>,
) -> Result<T, ApplyFailure>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ClusterError>>,
{
    let mut delay = Duration::from_millis(250);
    loop {
        match call().await {
            Ok(v) => return Ok(v),
            Err(e) if e.is_transient() && Instant::now() + delay < deadline => {
                tracing::debug!("retrying: {e}");
                if e.is_not_found() {
                    let _ = ctx.cluster.refresh_discovery().await;
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(e) => return Err(ApplyFailure::Api(e)),
        }
    }
}

/// Waits until every CRD is Established and its kind is served (discovery lags behind the
/// Established condition, with no condition of its own to wait for).
async fn wait_for_crds(
    ctx: &Ctx<'_>,
    component: &str,
    crds: &[&Object],
    deadline: Instant,
) -> Result<(), ApplyFailure> {
    let mut waiting = Waiting::new(ctx, component, deadline, Duration::from_millis(300));
    loop {
        let mut pending = Vec::new();
        for crd in crds {
            let live = ctx.cluster.get(crd).await.map_err(ApplyFailure::Api)?;
            let health = live
                .as_ref()
                .map_or(health::Health::Progressing("not found".into()), |l| {
                    health::assess(l, &[], &ctx.opts.health)
                });
            match health {
                health::Health::Ready => {
                    let group = crd.pointer_str("/spec/group").unwrap_or_default();
                    let kind = crd.pointer_str("/spec/names/kind").unwrap_or_default();
                    if !ctx.cluster.serves(group, kind) {
                        pending.push(format!("{} (established, not yet served)", crd.name()));
                    }
                }
                health::Health::Failed(r) => {
                    return Err(ApplyFailure::Api(ClusterError::Other(format!(
                        "CRD {}: {r}",
                        crd.name()
                    ))));
                }
                health::Health::Progressing(r) => pending.push(format!("{} ({r})", crd.name())),
            }
        }
        if waiting
            .done_or_pause(&pending, |p| format!("waiting for CRDs: {p}"))
            .await?
        {
            return Ok(());
        }
    }
}

/// Custom resources whose kind no CRD in the stack defines are created at run time by an
/// operator (Gatekeeper's constraint kinds): wait for the API server to serve them, and
/// say what is awaited.
async fn ensure_kinds_served(
    ctx: &Ctx<'_>,
    component: &str,
    batch: &[&Object],
    deadline: Instant,
) -> Result<(), ApplyFailure> {
    let mut waiting = Waiting::new(ctx, component, deadline, Duration::from_secs(1));
    loop {
        let mut missing: Vec<String> = batch
            .iter()
            .filter(|o| ctx.cluster.resource(o.api_version(), o.kind()).is_none())
            .map(|o| format!("{}.{} {}", o.kind(), o.group(), o.version()))
            .collect();
        missing.sort();
        missing.dedup();
        let what = |m: &str| {
            format!(
                "waiting for the API server to serve {m} (its CRD is created at run time by an operator, or not installed)"
            )
        };
        if waiting.done_or_pause(&missing, what).await? {
            return Ok(());
        }
    }
}

/// The shared step of the loops that wait for the API server: done when nothing is
/// pending, a timeout past the deadline; otherwise say what is awaited (once per change),
/// pause, and refresh discovery so newly served kinds are seen.
struct Waiting<'a> {
    ctx: &'a Ctx<'a>,
    component: &'a str,
    deadline: Instant,
    pause: Duration,
    last_reason: String,
}

impl<'a> Waiting<'a> {
    fn new(ctx: &'a Ctx<'a>, component: &'a str, deadline: Instant, pause: Duration) -> Self {
        Waiting {
            ctx,
            component,
            deadline,
            pause,
            last_reason: String::new(),
        }
    }

    async fn done_or_pause(
        &mut self,
        pending: &[String],
        what: impl Fn(&str) -> String,
    ) -> Result<bool, ApplyFailure> {
        if pending.is_empty() {
            return Ok(true);
        }
        let reason = what(&pending.join(", "));
        if Instant::now() >= self.deadline {
            return Err(ApplyFailure::Timeout(reason));
        }
        if reason != self.last_reason {
            self.ctx.sink.emit(&Event::Waiting {
                component: self.component.to_string(),
                reason: reason.clone(),
                not_ready: vec![],
            });
            self.last_reason = reason;
        }
        tokio::time::sleep(self.pause).await;
        self.ctx
            .cluster
            .refresh_discovery()
            .await
            .map_err(ApplyFailure::Api)?;
        Ok(false)
    }
}
