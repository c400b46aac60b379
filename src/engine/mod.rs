//! Running a plan against a cluster: `up` (and `down` and `status`).
//!
//! `up` is a list of phases, each in its own module:
//! 1. [`preflight`] — read-only checks before anything is written: names, kinds, who owns
//!    what (the [`crate::ownership`] policy), and a server-side dry run of every object
//!    the API server can already judge.
//! 2. the lock ([`crate::cluster::lease`]) — one writer per stack.
//! 3. [`record`] — the inventory, with everything a later run needs, before the first
//!    object is written.
//! 4. [`schedule`] and [`component`] — each component applied ([`apply`]) and gated
//!    ([`gate`]) the moment its needs are healthy; what it no longer renders pruned
//!    ([`prune`]) once it is healthy again.
//! 5. components that left the stack are pruned, the inventory recorded, the summary
//!    reported.
//!
//! A run asked to stop (a signal, a lost lock) starts nothing new, gives what is in
//! flight a few seconds, records what it did, and ends with an `interrupted` event.

mod apply;
mod checks;
mod component;
mod delete;
mod down;
mod gate;
pub mod migrate;
mod preflight;
mod prune;
mod record;
mod replace;
pub mod schedule;
mod status;
mod wait;

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::time::Instant;

pub use down::{DownOptions, DownReport, down};
pub use gate::GateFailure;
pub use status::{ComponentStatus, HealthState, StackStatus, status};
pub use wait::wait;

use crate::cancel::{Cancel, StopReason};
use crate::cluster::lease::{Holder, Lease, LeaseError};
use crate::cluster::{Cluster, ClusterError};
use crate::health::HealthOptions;
use crate::inventory::{Inputs, Inventory, StackIdentity};
use crate::ownership;
use crate::plan::Plan;
use crate::render::RenderedComponent;
use crate::report::{
    ComponentState, ComponentSummary, Event, FailureClass, PlannedComponent, RunResult, Sink,
    Summary,
};
use crate::stack::Stack;
use schedule::{Scheduler, Stage, Transition};

/// Settings of one run.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Bounds the whole run; each component is also bounded by its own timeout.
    pub timeout: Option<Duration>,
    pub health: HealthOptions,
    /// What the ownership policy may do beyond the default.
    pub flags: ownership::Flags,
    /// Delete objects a component no longer renders, once it is healthy again.
    pub prune: bool,
    /// Who the stack is, recorded in the inventory and checked against it.
    pub identity: Option<StackIdentity>,
    /// Run even when the inventory records another stack under this name.
    pub take_over_stack: bool,
    /// What the stack is installed from, recorded in the inventory.
    pub inputs: Inputs,
    /// Wait this long for another run's lock before giving up.
    pub wait_for_lock: Option<Duration>,
    /// `doctor` checks not to run before the first write (`--skip-checks`).
    pub skip_checks: Vec<String>,
    /// Skip objects in sync with what was last applied (inventory::sync); `--no-fast-path`
    /// turns it off.
    pub fast_path: bool,
    /// The stack was cut to selected components (`--only`, `--skip`): the components left
    /// out are not removed — nothing of theirs is pruned, their records stay as they are.
    pub partial: bool,
    /// Components the selected ones need but that are not selected (`--no-needs`): they
    /// must be healthy before anything is written.
    pub healthy_needs: Vec<String>,
}

/// How long what is in flight may take to finish once a run is asked to stop.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// What a component's task needs.
pub(crate) struct Ctx<'a> {
    pub cluster: &'a Cluster,
    pub sink: &'a dyn Sink,
    pub opts: &'a RunOptions,
    /// The stack's inventory, written through as members are added (the mutex also orders
    /// the writes, each of which carries the whole inventory).
    pub inventory: &'a tokio::sync::Mutex<Inventory>,
    pub cancel: &'a Cancel,
}

impl Ctx<'_> {
    /// Records objects of a component in the inventory (before they are written), and
    /// saves it when that changed it.
    pub async fn record(
        &self,
        component: &str,
        keys: &[(crate::k8s::ObjectKey, crate::inventory::Membership)],
    ) -> Result<(), ClusterError> {
        let mut inv = self.inventory.lock().await;
        if inv.add(component, keys) {
            inv.save(self.cluster).await?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Objects the API would refuse, or whose kind nothing will serve: found before
    /// anything is written.
    #[error("{}", .0.join("; "))]
    Invalid(Vec<String>),
    /// The cluster cannot take the stack: checks failed before anything was written.
    #[error("the cluster cannot take this stack: {} (hint: `landscape doctor` explains each; --skip-checks NAME overrides a check)", describe_findings(.0))]
    Unfit(Vec<crate::doctor::Finding>),
    /// Objects that exist and belong to someone else: found before anything is written.
    #[error("{} (hint: delete them, rename them in the stack, or re-run with --force-conflicts to take them over)", .0.join("; "))]
    Conflicts(Vec<String>),
    /// The inventory under this stack's name records another stack.
    #[error(
        "stack `{name}` in this cluster was installed from {recorded}, not from {given} (hint: name this stack differently with `name:` in its stack file, or pass --take-over-stack if it is meant to replace the installed one)"
    )]
    OtherStack {
        name: String,
        recorded: String,
        given: String,
    },
    #[error(transparent)]
    Locked(#[from] LeaseError),
    /// The stack a command names is not installed.
    #[error("{}", crate::error::not_installed(.0))]
    NotInstalled(String),
    /// The cluster failed while reading or writing the inventory.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// One or more components did not become healthy.
    #[error("{} (see the events above)", describe_failures(.failed))]
    Failed {
        failed: Vec<(String, FailureClass)>,
        summary: Summary,
    },
    /// Needs left out of the selection that are not healthy (`--only … --no-needs`).
    #[error("{} (hint: run without --no-needs to install them too, or bring them up first)", .0.join("; "))]
    NeedsNotHealthy(Vec<String>),
    /// Asked to stop before the end; running the same command again resumes.
    #[error("{} (hint: run the same command again to resume)", .reason.describe())]
    Interrupted {
        reason: StopReason,
        summary: Option<Summary>,
    },
}

fn describe_findings(findings: &[crate::doctor::Finding]) -> String {
    findings
        .iter()
        .map(|f| format!("{}: {}", f.check, f.saw))
        .collect::<Vec<_>>()
        .join("; ")
}

fn describe_failures(failed: &[(String, FailureClass)]) -> String {
    let names: Vec<&str> = failed.iter().map(|(n, _)| n.as_str()).collect();
    format!("not healthy: {}", names.join(", "))
}

impl RunError {
    pub fn exit_code(&self) -> crate::ExitCode {
        use crate::ExitCode;
        match self {
            RunError::Invalid(_) | RunError::NotInstalled(_) => ExitCode::InvalidInput,
            RunError::Unfit(_) => ExitCode::Unfit,
            RunError::Conflicts(_)
            | RunError::OtherStack { .. }
            | RunError::Locked(_)
            | RunError::Cluster(_) => ExitCode::Cluster,
            RunError::NeedsNotHealthy(_) => ExitCode::GateFailed,
            RunError::Failed { failed, .. } => {
                if failed.iter().any(|(_, c)| *c == FailureClass::Api) {
                    ExitCode::Cluster
                } else {
                    ExitCode::GateFailed
                }
            }
            RunError::Interrupted { reason, .. } => match reason {
                StopReason::Signal(2) => ExitCode::Interrupted,
                StopReason::Signal(_) => ExitCode::Terminated,
                StopReason::LostLock(_) => ExitCode::Cluster,
            },
        }
    }

    /// The summary of the run, when it got as far as running components.
    pub fn summary(&self) -> Option<&Summary> {
        match self {
            RunError::Failed { summary, .. } => Some(summary),
            RunError::Interrupted { summary, .. } => summary.as_ref(),
            _ => None,
        }
    }
}

/// Everything `up` works on.
pub struct Install<'a> {
    pub stack: &'a Stack,
    pub plan: &'a Plan,
    pub rendered: &'a [RenderedComponent],
    pub cluster: &'a Cluster,
    pub sink: &'a dyn Sink,
    pub opts: &'a RunOptions,
    pub cancel: &'a Cancel,
}

/// Installs the stack: the phases of the module documentation, in order.
pub async fn up(run: &Install<'_>) -> Result<Summary, RunError> {
    let started = Instant::now();
    // A caller who may not read the inventory learns from the rights check what else is
    // missing before the read's own error ends the run.
    let inventory = match record::load_checked(run).await {
        Err(RunError::Cluster(e)) if e.code() == 403 => Err(RunError::Cluster(e)),
        Err(e) => return Err(e),
        Ok(inventory) => Ok(inventory),
    };
    checks::run(run, inventory.as_ref().ok()).await?;
    let inventory = inventory?;
    needs_healthy(run, &inventory).await?;
    let lease = match preflight::check(run, &inventory).await {
        Ok(()) => take_lock(run.cluster, &run.stack.name, "up", run.opts, run.sink).await?,
        // Another run writing this stack makes what it is creating right now look like
        // objects the inventory does not know: decide again under the lock, against the
        // inventory as that run left it (or say who holds it).
        Err(RunError::Conflicts(_)) if lock_held(run.cluster, &run.stack.name).await? => {
            check_again_under_lock(run).await?
        }
        Err(e) => return Err(e),
    };
    let cancel = run.cancel.clone();
    let result = lease
        .hold(
            run.cluster,
            |why| cancel.cancel(StopReason::LostLock(why)),
            install(run, started),
        )
        .await;
    let _ = lease.release(run.cluster).await;
    result
}

/// The writing half of `up`, under the lock.
async fn install(run: &Install<'_>, started: Instant) -> Result<Summary, RunError> {
    // Another run may have finished while this one waited for the lock: start from what
    // the cluster holds now.
    let previous = record::with_renames(run, record::load_checked(run).await?);
    let inventory = tokio::sync::Mutex::new(record::first(run, previous.clone()).await?);
    run.sink.emit(&plan_event(run.stack, run.plan));
    let ctx = Ctx {
        cluster: run.cluster,
        sink: run.sink,
        opts: run.opts,
        inventory: &inventory,
        cancel: run.cancel,
    };
    let Outcomes {
        scheduler,
        mut summaries,
        healthy_at,
        failed,
    } = run_components(&ctx, run, &previous).await;
    let interrupted = run.cancel.reason();
    if scheduler.all_healthy() && run.opts.prune && !run.opts.partial && interrupted.is_none() {
        let removed = prune::removed_components(&ctx, run.stack, run.rendered, &previous).await?;
        summaries.extend(removed.into_iter().map(|s| (s.name.clone(), s)));
    }
    let mut inv = inventory.lock().await;
    record::last(&mut inv, run, &scheduler, &healthy_at, run.cluster).await?;
    drop(inv);
    let summary = summarize(
        run.plan,
        &scheduler,
        summaries,
        started,
        interrupted.is_some(),
    );
    run.sink.emit(&Event::Summary(summary.clone()));
    if let Some(reason) = interrupted {
        run.sink.emit(&interrupted_event(&reason));
        return Err(RunError::Interrupted {
            reason,
            summary: Some(summary),
        });
    }
    if scheduler.all_healthy() {
        return Ok(summary);
    }
    let mut failed: Vec<(String, FailureClass)> = failed.into_iter().collect();
    if failed.is_empty() {
        // Only skips: attribute them to a gate failure for the exit code.
        failed.push(("(skipped components)".into(), FailureClass::Gate));
    }
    Err(RunError::Failed { failed, summary })
}

/// With `--no-needs`: what the selected components need and the run leaves out must be
/// healthy now, or nothing is written.
async fn needs_healthy(run: &Install<'_>, inventory: &Inventory) -> Result<(), RunError> {
    if run.opts.healthy_needs.is_empty() {
        return Ok(());
    }
    let status = status(run.cluster, inventory, &run.opts.health).await?;
    let problems: Vec<String> = run
        .opts
        .healthy_needs
        .iter()
        .filter_map(
            |need| match status.components.iter().find(|c| &c.name == need) {
                None => Some(format!("`{need}` is needed and not installed")),
                Some(c) if c.health == HealthState::Healthy => None,
                Some(c) => Some(format!(
                    "`{need}` is needed and {}{}",
                    c.health,
                    c.reason
                        .as_ref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                )),
            },
        )
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(RunError::NeedsNotHealthy(problems))
    }
}

/// Takes the lock, then runs the preflight checks again against the inventory as it is now.
async fn check_again_under_lock(run: &Install<'_>) -> Result<Lease, RunError> {
    let lease = take_lock(run.cluster, &run.stack.name, "up", run.opts, run.sink).await?;
    let checked = match record::load_checked(run).await {
        Ok(now) => preflight::check(run, &now).await,
        Err(e) => Err(e),
    };
    match checked {
        Ok(()) => Ok(lease),
        Err(e) => {
            let _ = lease.release(run.cluster).await;
            Err(e)
        }
    }
}

/// Whether another run holds the stack's lock now (a read).
async fn lock_held(cluster: &Cluster, stack: &str) -> Result<bool, ClusterError> {
    let name = crate::inventory::parent_name(stack);
    let ns = crate::inventory::store::NAMESPACE;
    Ok(Lease::held(cluster, ns, &name).await?.is_some())
}

/// Takes the stack's lock, saying once that it waits when another run holds it.
pub(crate) async fn take_lock(
    cluster: &Cluster,
    stack: &str,
    command: &str,
    opts: &RunOptions,
    sink: &dyn Sink,
) -> Result<Lease, RunError> {
    let name = crate::inventory::parent_name(stack);
    let what = format!("stack `{stack}`");
    let holder = Holder::me(command);
    let ns = crate::inventory::store::NAMESPACE;
    match Lease::acquire(cluster, ns, &name, holder.clone(), None, &what).await {
        Ok(lease) => Ok(lease),
        Err(LeaseError::Held { holder: other, .. }) if opts.wait_for_lock.is_some() => {
            sink.emit(&Event::WaitingForLock {
                holder: other.to_string(),
            });
            Ok(Lease::acquire(cluster, ns, &name, holder, opts.wait_for_lock, &what).await?)
        }
        Err(e) => Err(e.into()),
    }
}

/// The `interrupted` event, with how to resume.
pub(crate) fn interrupted_event(reason: &StopReason) -> Event {
    Event::Interrupted {
        reason: reason.describe(),
        signal: match reason {
            StopReason::Signal(n) => Some(*n),
            StopReason::LostLock(_) => None,
        },
        hint: "run the same command again to resume".into(),
    }
}

type Summaries = BTreeMap<String, ComponentSummary>;

/// What running the components gave.
struct Outcomes {
    scheduler: Scheduler,
    summaries: Summaries,
    /// When each healthy component became so.
    healthy_at: BTreeMap<String, String>,
    /// Each failed component, and why.
    failed: BTreeMap<String, FailureClass>,
}

/// Drives the scheduler: starts each component the moment it may start, reports skips,
/// collects outcomes; on a stop request, starts nothing new and gives what runs a grace
/// period before dropping it.
async fn run_components(ctx: &Ctx<'_>, run: &Install<'_>, previous: &Inventory) -> Outcomes {
    let run_deadline = run.opts.timeout.map(crate::cluster::retry::deadline_in);
    let mut scheduler = Scheduler::new(run.plan);
    let mut summaries = Summaries::new();
    let mut healthy_at = BTreeMap::new();
    let mut failed = BTreeMap::new();
    let mut running = FuturesUnordered::new();
    let mut grace: Option<Instant> = None;
    loop {
        if ctx.cancel.is_cancelled() {
            scheduler.stop();
            grace.get_or_insert_with(|| Instant::now() + STOP_GRACE);
        }
        for t in scheduler.advance() {
            match t {
                Transition::Skip { component, because } => {
                    ctx.sink.emit(&Event::Skipped { component, because });
                }
                Transition::Start(name) => {
                    let component = run.stack.component(&name).expect("planned from the stack");
                    let objects = run
                        .rendered
                        .iter()
                        .find(|r| r.name == name)
                        .map_or(&[][..], |r| r.objects.as_slice());
                    let deadline = component_deadline(run_deadline, component.timeout);
                    let rendered = run.rendered;
                    running.push(async move {
                        let outcome =
                            component::run(ctx, component, objects, deadline, previous, rendered)
                                .await;
                        (name, outcome)
                    });
                }
            }
        }
        let next = tokio::select! {
            next = running.next() => next,
            _ = ctx.cancel.cancelled(), if grace.is_none() => continue,
            _ = sleep_until(grace), if grace.is_some() => break,
        };
        let Some((name, (outcome, summary))) = next else {
            break;
        };
        match outcome {
            Ok(()) => {
                healthy_at.insert(name.clone(), crate::report::now_rfc3339());
            }
            Err(class) => {
                failed.insert(name.clone(), class);
            }
        }
        scheduler.finished(&name, outcome.is_ok());
        summaries.insert(name, summary);
    }
    Outcomes {
        scheduler,
        summaries,
        healthy_at,
        failed,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn component_deadline(run_deadline: Option<Instant>, timeout: Duration) -> Instant {
    let own = crate::cluster::retry::deadline_in(timeout);
    run_deadline.map_or(own, |d| d.min(own))
}

/// The summary: every planned component in plan order, then those pruned away.
fn summarize(
    plan: &Plan,
    scheduler: &Scheduler,
    mut summaries: Summaries,
    started: Instant,
    interrupted: bool,
) -> Summary {
    let mut components: Vec<ComponentSummary> = plan
        .steps
        .iter()
        .map(|s| {
            summaries.remove(&s.component).unwrap_or_else(|| {
                let state = match scheduler.stage(&s.component) {
                    Some(Stage::Skipped) => ComponentState::Skipped,
                    _ => ComponentState::NotStarted,
                };
                ComponentSummary::new(&s.component, state)
            })
        })
        .collect();
    components.extend(summaries.into_values());
    let result = if interrupted {
        RunResult::Interrupted
    } else if scheduler.all_healthy() {
        RunResult::Success
    } else {
        RunResult::Failed
    };
    Summary {
        result,
        changed: components
            .iter()
            .any(|c| c.created + c.configured + c.replaced + c.pruned > 0),
        components,
        duration_ms: started.elapsed().as_millis() as u64,
    }
}

/// The plan as an event.
pub fn plan_event(stack: &Stack, plan: &Plan) -> Event {
    Event::Plan {
        stack: stack.name.clone(),
        profile: stack.profile.clone(),
        components: plan
            .steps
            .iter()
            .map(|s| PlannedComponent {
                name: s.component.clone(),
                category: s.category.as_str().to_string(),
                needs: s.needs.clone(),
                depth: s.depth,
            })
            .collect(),
        critical_path: plan.critical_path.clone(),
    }
}
