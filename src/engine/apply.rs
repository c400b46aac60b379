//! Applying one component's objects: CRDs first and waited for, then the rest in install
//! order, each kind's objects in parallel with a bound. Each batch is read, decided by the
//! ownership policy, recorded in the inventory, and only then written. Transient errors —
//! an API server restarting, throttling, a webhook not answering yet, a kind not served
//! yet right after its CRD — are retried with backoff until the deadline.

use std::time::Duration;

use futures::{StreamExt, stream};
use tokio::time::Instant;

use super::Ctx;
use crate::cluster::retry::retrying;
use crate::cluster::{ApplyOptions, ClusterError};
use crate::health;
use crate::inventory::Membership;
use crate::k8s::{CrdInfo, Object, ObjectKey, order};
use crate::ownership::{self, Decision, Facts, Flags, Subject};
use crate::report::{AppliedObject, Change, Event, FailureClass};
use crate::stack::Component;

/// The result of applying a component.
#[derive(Debug, Default)]
pub struct Applied {
    pub created: usize,
    pub configured: usize,
    pub replaced: usize,
    pub unchanged: usize,
    /// Every object that was not unchanged, with what happened to it.
    pub changes: Vec<AppliedObject>,
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
    /// The change needs the object replaced, which landscape may not do unasked.
    Refused { object: ObjectKey, why: String },
    /// The deadline passed while waiting (a CRD to be established or served).
    Timeout(String),
    /// The run was asked to stop.
    Stopped,
}

impl ApplyFailure {
    pub fn class(&self) -> FailureClass {
        match self {
            ApplyFailure::Timeout(_) | ApplyFailure::Stopped => FailureClass::Gate,
            ApplyFailure::Api(_) | ApplyFailure::Conflict { .. } | ApplyFailure::Refused { .. } => {
                FailureClass::Api
            }
        }
    }
}

impl std::fmt::Display for ApplyFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApplyFailure::Api(e) => write!(f, "{e}"),
            ApplyFailure::Conflict { object, owner } => write!(
                f,
                "{object} already exists and is {owner}; landscape does not take over objects it does not own (hint: delete it, change its name in the stack, or re-run with --force-conflicts to take it over)"
            ),
            ApplyFailure::Refused { object, why } => write!(f, "{object}: {why}"),
            ApplyFailure::Timeout(what) => write!(f, "timed out {what}"),
            ApplyFailure::Stopped => f.write_str("stopped before it was applied"),
        }
    }
}

impl From<ClusterError> for ApplyFailure {
    fn from(e: ClusterError) -> Self {
        ApplyFailure::Api(e)
    }
}

/// How many objects of one kind are applied at once.
const PARALLEL_APPLIES: usize = 8;

pub async fn apply_component(
    ctx: &Ctx<'_>,
    component: &Component,
    objects: &[Object],
    deadline: Instant,
) -> Result<Applied, ApplyFailure> {
    let batch = Batch {
        component: &component.name,
        flags: ctx.opts.flags.for_component(component.replace_allowed),
        deadline,
    };
    let component = component.name.as_str();
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
        apply_batch(ctx, &batch, &crds, &mut applied).await?;
        progress(&applied);
        wait_for_crds(ctx, component, &crds, deadline).await?;
    }
    // Groups of equal rank, in order. Objects whose kind is not served yet — its CRD is
    // created at run time by an operator, often from another object of this component (a
    // Gatekeeper ConstraintTemplate) — wait until everything else is applied.
    let mut deferred: Vec<&Object> = Vec::new();
    for group in rest.chunk_by(|a, b| order::rank(a) == order::rank(b)) {
        let (served, late): (Vec<&Object>, Vec<&Object>) = group
            .iter()
            .partition(|o| ctx.cluster.resource(o.api_version(), o.kind()).is_some());
        deferred.extend(late);
        if !served.is_empty() {
            apply_batch(ctx, &batch, &served, &mut applied).await?;
            progress(&applied);
        }
    }
    if !deferred.is_empty() {
        ensure_kinds_served(ctx, component, &deferred, deadline).await?;
        apply_batch(ctx, &batch, &deferred, &mut applied).await?;
        progress(&applied);
    }
    Ok(applied)
}

/// What every batch of a component shares.
struct Batch<'a> {
    component: &'a str,
    /// The run's flags, widened by the component's own settings.
    flags: Flags,
    deadline: Instant,
}

/// Reads a batch's live objects, decides each by the ownership policy, records what will be
/// written in the inventory (before creating anything, so an interrupted run never orphans
/// an object), then writes.
async fn apply_batch(
    ctx: &Ctx<'_>,
    how: &Batch<'_>,
    batch: &[&Object],
    applied: &mut Applied,
) -> Result<(), ApplyFailure> {
    let (component, deadline) = (how.component, how.deadline);
    if ctx.cancel.is_cancelled() {
        return Err(ApplyFailure::Stopped);
    }
    let lives = read_batch(ctx, batch, deadline).await?;
    let (decisions, records) = decide(ctx, how, batch, &lives).await?;
    ctx.record(component, &records).await?;
    let in_sync = in_sync(ctx, batch, &lives, &decisions).await;

    let results: Vec<Result<(Change, Object), ApplyFailure>> =
        stream::iter(batch.iter().copied().zip(lives).zip(decisions).zip(in_sync))
            .map(|(((obj, live), decision), in_sync)| async move {
                match (decision, live) {
                    (Decision::Use { .. }, Some(live)) => Ok((Change::Used, live)),
                    (Decision::Apply, Some(live)) if obj.is_create_only() || in_sync => {
                        Ok((Change::Unchanged, live))
                    }
                    (decision, live) => apply_one(ctx, how, obj, live, decision).await,
                }
            })
            .buffered(PARALLEL_APPLIES)
            .collect()
            .await;
    let results: Vec<(Change, Object)> = results.into_iter().collect::<Result<_, _>>()?;
    remember_applied(ctx, batch, &results).await;
    for (change, obj) in results {
        match change {
            Change::Created => applied.created += 1,
            Change::Configured | Change::Adopted => applied.configured += 1,
            Change::Replaced => applied.replaced += 1,
            Change::Unchanged => applied.unchanged += 1,
            Change::Used => {}
        }
        if change != Change::Unchanged {
            applied.changes.push(AppliedObject {
                object: obj.key(),
                action: change,
            });
        }
        applied.objects.push(obj);
    }
    Ok(())
}

/// The live objects of a batch: one LIST per kind and namespace for the stack's members,
/// a GET for the others (and for everything when a list cannot be made).
async fn read_batch(
    ctx: &Ctx<'_>,
    batch: &[&Object],
    deadline: Instant,
) -> Result<Vec<Option<Object>>, ClusterError> {
    let selector = format!(
        "{}={}",
        crate::k8s::labels::APPLYSET_PART_OF,
        ctx.inventory.lock().await.applyset()
    );
    let mut lives = with_retries(ctx, deadline, || ctx.cluster.read_all(batch, &selector)).await?;
    Ok(batch
        .iter()
        .map(|o| lives.remove(&o.key()).flatten())
        .collect())
}

/// Which objects need no request at all: landscape's own, applied before exactly as the
/// stack renders them now, with nothing landscape owns changed since (the fast path; off
/// with `--no-fast-path`).
async fn in_sync(
    ctx: &Ctx<'_>,
    batch: &[&Object],
    lives: &[Option<Object>],
    decisions: &[Decision],
) -> Vec<bool> {
    let inv = ctx.inventory.lock().await;
    batch
        .iter()
        .zip(lives)
        .zip(decisions)
        .map(|((obj, live), decision)| {
            ctx.opts.fast_path
                && *decision == Decision::Apply
                && live.as_ref().is_some_and(|l| inv.sync.in_sync(obj, l))
        })
        .collect()
}

/// Records what was sent and what the server returned, for the next run's fast path.
async fn remember_applied(ctx: &Ctx<'_>, batch: &[&Object], results: &[(Change, Object)]) {
    let mut inv = ctx.inventory.lock().await;
    for (sent, (change, returned)) in batch.iter().zip(results) {
        // Skipped objects are recorded again as they are: the same digests.
        if *change != Change::Used && !sent.is_create_only() {
            inv.sync.record(sent, returned);
        }
    }
}

/// What to record before a batch is written: each object about to be created or taken
/// over, each retained one the stack renders again, and each one another component owned.
type Records = Vec<(ObjectKey, Membership)>;

/// The ownership decision for each object of a batch, and what to record before writing;
/// a conflict fails the component.
async fn decide(
    ctx: &Ctx<'_>,
    how: &Batch<'_>,
    batch: &[&Object],
    lives: &[Option<Object>],
) -> Result<(Vec<Decision>, Records), ApplyFailure> {
    let inv = ctx.inventory.lock().await;
    let applyset = inv.applyset();
    let mut decisions = Vec::new();
    let mut records = Vec::new();
    for (obj, live) in batch.iter().zip(lives) {
        let key = obj.key();
        let membership = inv.membership(&key);
        let subject = Subject {
            key: &key,
            desired: Some(obj),
            live: live.as_ref(),
            membership,
            applyset: &applyset,
        };
        let decision = ownership::decide(&subject, &how.flags, &Facts::default());
        match &decision {
            Decision::Conflict { owner } => {
                return Err(ApplyFailure::Conflict {
                    object: key,
                    owner: owner.clone(),
                });
            }
            Decision::Create => records.push((key, Membership::Member)),
            Decision::Adopt { .. } => records.push((key, Membership::Adopted)),
            Decision::Apply if membership == Membership::Retained => {
                records.push((key, Membership::Member))
            }
            // Another component's until now: it moves to this one.
            Decision::Apply if !inv.records(how.component, &key) => records.push((key, membership)),
            _ => {}
        }
        decisions.push(decision);
    }
    Ok((decisions, records))
}

/// Applies one object with retries; tells created, configured and unchanged apart by the
/// live object's resourceVersion before and after. A change the API refuses because fields
/// cannot change is decided again knowing that: the object is replaced when the policy
/// allows, refused otherwise.
async fn apply_one(
    ctx: &Ctx<'_>,
    how: &Batch<'_>,
    obj: &Object,
    live: Option<Object>,
    decision: Decision,
) -> Result<(Change, Object), ApplyFailure> {
    let opts = ApplyOptions {
        dry_run: false,
        force: true,
    };
    let result = match with_retries(ctx, how.deadline, || ctx.cluster.apply(obj, opts)).await {
        Ok(result) => result,
        Err(e) => match (e.immutable_fields(), &live) {
            (Some(fields), Some(live)) => return replace_one(ctx, how, obj, live, fields).await,
            _ => return Err(e.into()),
        },
    };
    let change = match (&decision, &live) {
        (Decision::Adopt { .. }, _) => Change::Adopted,
        (_, None) => Change::Created,
        (_, Some(l)) if l.resource_version() == result.resource_version() => Change::Unchanged,
        (_, Some(_)) => Change::Configured,
    };
    Ok((change, result))
}

/// Replaces an object whose change the API refused, if the ownership policy allows.
async fn replace_one(
    ctx: &Ctx<'_>,
    how: &Batch<'_>,
    obj: &Object,
    live: &Object,
    fields: Vec<String>,
) -> Result<(Change, Object), ApplyFailure> {
    let key = obj.key();
    let facts = Facts {
        immutable: Some(fields),
        ..Facts::default()
    };
    let decision = {
        let inv = ctx.inventory.lock().await;
        let applyset = inv.applyset();
        let subject = Subject {
            key: &key,
            desired: Some(obj),
            live: Some(live),
            membership: inv.membership(&key),
            applyset: &applyset,
        };
        ownership::decide(&subject, &how.flags, &facts)
    };
    let plan = match decision {
        Decision::Replace(plan) => plan,
        Decision::Refused { why } => return Err(ApplyFailure::Refused { object: key, why }),
        // Not landscape's own (an object taken over with --force-conflicts): only its
        // owner may delete it.
        _ => {
            return Err(ApplyFailure::Refused {
                object: key,
                why: "the API refuses the change on an existing object, and landscape replaces only objects it created".into(),
            });
        }
    };
    ctx.sink.emit(&Event::Waiting {
        component: how.component.to_string(),
        reason: format!("replacing {key}: {}", plan.why),
        not_ready: vec![],
    });
    super::replace::delete_for_replacement(ctx, live, &plan, &how.flags, how.deadline).await?;
    let opts = ApplyOptions {
        dry_run: false,
        force: true,
    };
    let created = with_retries(ctx, how.deadline, || ctx.cluster.apply(obj, opts)).await?;
    Ok((Change::Replaced, created))
}

/// A cluster call retried on transient errors until the deadline; a kind not served yet
/// refreshes discovery before the next try.
async fn with_retries<T, F, Fut>(
    ctx: &Ctx<'_>,
    deadline: Instant,
    call: F,
) -> Result<T, ClusterError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ClusterError>>,
{
    retrying(
        deadline,
        async |e: &ClusterError| {
            if matches!(e, ClusterError::NotServed { .. }) || e.is_not_found() {
                let _ = ctx.cluster.refresh_discovery().await;
            }
        },
        call,
    )
    .await
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
            let live = with_retries(ctx, deadline, || ctx.cluster.get(crd)).await?;
            let health = live
                .as_ref()
                .map_or(health::Health::Progressing("not found".into()), |l| {
                    health::assess(l, &[], &ctx.opts.health)
                });
            match health {
                health::Health::Ready => {
                    let info = CrdInfo::of(crd).expect("a CRD");
                    if !ctx.cluster.serves(&info.group, &info.kind) {
                        pending.push(format!("{} (established, not yet served)", crd.name()));
                    }
                }
                health::Health::Failed(r) => {
                    return Err(ApplyFailure::Api(ClusterError::Invalid(format!(
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
/// pause, and refresh discovery so newly served kinds are seen. A discovery that fails for
/// a transient reason (the API server restarting) is tried again at the next pause.
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
        if self.ctx.cancel.is_cancelled() {
            return Err(ApplyFailure::Stopped);
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
        match self.ctx.cluster.refresh_discovery().await {
            Ok(()) => Ok(false),
            Err(e) if e.is_transient() => Ok(false),
            Err(e) => Err(ApplyFailure::Api(e)),
        }
    }
}
