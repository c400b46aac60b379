//! Running a plan: each component is applied, then gated on health, as soon as the
//! components it needs are healthy. Independent branches run side by side; when a
//! component fails, everything that needs it is skipped and reported as such, while the
//! rest of the graph carries on.

mod apply;
mod gate;
pub mod order;
mod remove;
mod status;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::time::Instant;

pub use apply::{Change, foreign_owner};
use remove::Pruning;
pub use remove::{DownOptions, DownReport, down, is_retained};
pub use status::{ComponentStatus, StackStatus, status};

use crate::cluster::inventory::{self, Inputs, Inventory};
use crate::cluster::{Cluster, ClusterError};
use crate::health::HealthOptions;
use crate::object::Object;
use crate::plan::Plan;
use crate::render::RenderedComponent;
use crate::report::{
    ComponentSummary, Event, FailureClass, NotReady, PlannedComponent, Sink, Summary,
};
use crate::stack::Stack;

/// Settings of one run.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Bounds the whole run; each component is also bounded by its own timeout.
    pub timeout: Option<Duration>,
    pub health: HealthOptions,
    /// Take over objects that exist but belong to someone else.
    pub force_conflicts: bool,
    /// Delete objects a component no longer renders, once it is healthy again.
    pub prune: bool,
    /// Also prune CustomResourceDefinitions (their custom resources go with them).
    pub delete_crds: bool,
    /// Also prune PersistentVolumeClaims (their data goes with them).
    pub delete_volumes: bool,
    /// What the stack is installed from, recorded in the inventory.
    pub inputs: Inputs,
}

/// What a component's task needs.
pub(crate) struct Ctx<'a> {
    pub cluster: &'a Cluster,
    pub sink: &'a dyn Sink,
    pub opts: &'a RunOptions,
    /// The stack's inventory, written through as members are added (the lock also orders
    /// the writes, each of which carries the whole inventory).
    pub inventory: &'a tokio::sync::Mutex<Inventory>,
}

impl Ctx<'_> {
    /// Whether landscape owns a live object in this stack.
    pub async fn owns(&self, live: &Object) -> bool {
        self.inventory.lock().await.owns_live(live)
    }

    /// Adds members to a component, and saves the inventory when that changed it.
    pub async fn record(
        &self,
        component: &str,
        keys: Vec<crate::object::ObjectKey>,
    ) -> Result<(), ClusterError> {
        let mut inv = self.inventory.lock().await;
        let before = inv.components.get(component).map(|c| c.objects.len());
        let retained_before = inv.retained.len();
        inv.add(component, keys);
        let after = inv.components.get(component).map(|c| c.objects.len());
        if before != after || retained_before != inv.retained.len() {
            inv.updated = crate::report::now_rfc3339();
            inv.save(self.cluster).await?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Objects whose kind nothing will ever serve: found before anything is written.
    #[error("{}", .0.join("; "))]
    Preflight(Vec<String>),
    /// Objects that exist and belong to someone else: found before anything is written.
    #[error("{} (hint: delete them, rename them in the stack, or re-run with --force-conflicts to take them over)", .0.join("; "))]
    Conflicts(Vec<String>),
    /// The cluster failed while reading or writing the inventory.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// One or more components did not become healthy.
    #[error("{} (see the events above)", describe_failures(.failed))]
    Failed {
        failed: Vec<(String, FailureClass)>,
        summary: Summary,
    },
}

fn describe_failures(failed: &[(String, FailureClass)]) -> String {
    let names: Vec<&str> = failed.iter().map(|(n, _)| n.as_str()).collect();
    format!("not healthy: {}", names.join(", "))
}

impl RunError {
    pub fn exit_code(&self) -> crate::ExitCode {
        match self {
            RunError::Preflight(_) => crate::ExitCode::InvalidInput,
            RunError::Conflicts(_) | RunError::Cluster(_) => crate::ExitCode::Cluster,
            RunError::Failed { failed, .. } => {
                if failed.iter().any(|(_, c)| *c == FailureClass::Api) {
                    crate::ExitCode::Cluster
                } else {
                    crate::ExitCode::GateFailed
                }
            }
        }
    }
}

/// The end state of one component.
#[derive(Clone, Debug, PartialEq)]
enum State {
    Pending,
    Healthy,
    Failed(FailureClass),
    Skipped,
}

/// Checks before the first write: every object's kind is or will be served (by the
/// cluster, or by a CRD in the stack that the object's component needs, directly or not;
/// kinds operators create at run time are exempt), and no object exists that belongs to
/// someone else (unless conflicts are to be forced).
pub async fn preflight(
    stack: &Stack,
    plan: &Plan,
    rendered: &[RenderedComponent],
    cluster: &Cluster,
    opts: &RunOptions,
) -> Result<(), RunError> {
    kinds_served(plan, rendered, cluster)?;
    if !opts.force_conflicts {
        let inv = Inventory::load(cluster, &stack.name)
            .await?
            .unwrap_or_else(|| Inventory::new(&stack.name));
        let conflicts = conflicts(rendered, cluster, &inv).await?;
        if !conflicts.is_empty() {
            return Err(RunError::Conflicts(conflicts));
        }
    }
    Ok(())
}

/// Objects that exist in the cluster and are not in the stack's inventory (namespaces
/// excepted: a pre-existing namespace is used as it is).
pub async fn conflicts(
    rendered: &[RenderedComponent],
    cluster: &Cluster,
    inv: &Inventory,
) -> Result<Vec<String>, ClusterError> {
    let candidates: Vec<&Object> = rendered
        .iter()
        .flat_map(|r| r.objects.iter())
        .filter(|o| !o.is_namespace())
        .collect();
    let lives: Vec<Result<Option<Object>, ClusterError>> =
        futures::stream::iter(candidates.iter().copied())
            .map(|o| cluster.get(o))
            .buffered(16)
            .collect()
            .await;
    let mut out = Vec::new();
    for (o, live) in candidates.iter().zip(lives) {
        if let Some(live) = live?.filter(|l| !inv.owns_live(l)) {
            out.push(format!(
                "{} already exists and is {}",
                o.key(),
                foreign_owner(&live)
            ));
        }
    }
    Ok(out)
}

fn kinds_served(
    plan: &Plan,
    rendered: &[RenderedComponent],
    cluster: &Cluster,
) -> Result<(), RunError> {
    let mut crd_owner: BTreeMap<(String, String), String> = BTreeMap::new();
    for r in rendered {
        for o in r.objects.iter().filter(|o| o.is_crd()) {
            let group = o.pointer_str("/spec/group").unwrap_or_default().to_string();
            let kind = o
                .pointer_str("/spec/names/kind")
                .unwrap_or_default()
                .to_string();
            crd_owner.insert((group, kind), r.name.clone());
        }
    }
    let mut problems = Vec::new();
    for r in rendered {
        let mut upstream = ancestors(plan, &r.name);
        upstream.insert(r.name.clone());
        let mut seen = BTreeSet::new();
        for o in &r.objects {
            let gk = (o.group().to_string(), o.kind().to_string());
            if !seen.insert(gk.clone()) || cluster.resource(o.api_version(), o.kind()).is_some() {
                continue;
            }
            match crd_owner.get(&gk) {
                Some(owner) if upstream.contains(owner) => {}
                Some(owner) => problems.push(format!(
                    "component `{}` uses {}.{}, whose CRD comes from `{owner}`, which it does not need (hint: add `{owner}` to its needs)",
                    r.name, o.kind(), o.group()
                )),
                None if crate::render::scope::created_at_run_time(o.group()) => {}
                None => problems.push(format!(
                    "component `{}`: {} {} is not served by the cluster and no component installs its CRD (hint: install the CRD first, or add a component that does)",
                    r.name,
                    o.api_version(),
                    o.kind()
                )),
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(RunError::Preflight(problems))
    }
}

fn ancestors(plan: &Plan, component: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut frontier = vec![component.to_string()];
    while let Some(c) = frontier.pop() {
        if let Some(step) = plan.step(&c) {
            for n in &step.needs {
                if out.insert(n.clone()) {
                    frontier.push(n.clone());
                }
            }
        }
    }
    out
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

/// Installs the stack: apply and gate every component along the graph, recording what it
/// owns in the stack's inventory, and pruning what components no longer render.
pub async fn up(
    stack: &Stack,
    plan: &Plan,
    rendered: &[RenderedComponent],
    cluster: &Cluster,
    sink: &dyn Sink,
    opts: &RunOptions,
) -> Result<Summary, RunError> {
    let started = Instant::now();
    let run_deadline = opts.timeout.map(|t| started + t);
    let previous = Inventory::load(cluster, &stack.name)
        .await?
        .unwrap_or_else(|| Inventory::new(&stack.name));
    let inventory = tokio::sync::Mutex::new(previous.clone());
    let ctx = Ctx {
        cluster,
        sink,
        opts,
        inventory: &inventory,
    };
    sink.emit(&plan_event(stack, plan));

    let objects: BTreeMap<&str, &[Object]> = rendered
        .iter()
        .map(|r| (r.name.as_str(), r.objects.as_slice()))
        .collect();
    let rendered_keys: BTreeSet<String> = rendered
        .iter()
        .flat_map(|r| r.objects.iter().map(|o| o.key().to_id()))
        .collect();
    let mut states: BTreeMap<String, State> = plan
        .steps
        .iter()
        .map(|s| (s.component.clone(), State::Pending))
        .collect();
    let mut summaries: BTreeMap<String, ComponentSummary> = BTreeMap::new();
    let mut running = FuturesUnordered::new();
    let mut started_set: BTreeSet<String> = BTreeSet::new();
    let mut healthy_at: BTreeMap<String, String> = BTreeMap::new();

    loop {
        // Skip what can no longer start; start what can.
        for step in &plan.steps {
            if states[&step.component] != State::Pending || started_set.contains(&step.component) {
                continue;
            }
            let blocked: Vec<String> = step
                .needs
                .iter()
                .filter(|n| matches!(states[*n], State::Failed(_) | State::Skipped))
                .cloned()
                .collect();
            if !blocked.is_empty() {
                states.insert(step.component.clone(), State::Skipped);
                sink.emit(&Event::Skipped {
                    component: step.component.clone(),
                    because: blocked,
                });
                continue;
            }
            if step.needs.iter().all(|n| states[n] == State::Healthy) {
                started_set.insert(step.component.clone());
                let component = stack
                    .component(&step.component)
                    .expect("planned from the stack");
                let objs = objects
                    .get(step.component.as_str())
                    .copied()
                    .unwrap_or_default();
                let deadline = match run_deadline {
                    Some(d) => d.min(Instant::now() + component.timeout),
                    None => Instant::now() + component.timeout,
                };
                let ctx = &ctx;
                let previous = &previous;
                let rendered_keys = &rendered_keys;
                running.push(async move {
                    let result =
                        run_component(ctx, component, objs, deadline, previous, rendered_keys)
                            .await;
                    (component.name.clone(), result)
                });
            }
        }
        // A skip may unblock nothing but mark more skips: loop until stable.
        let more_skips = plan.steps.iter().any(|s| {
            states[&s.component] == State::Pending
                && !started_set.contains(&s.component)
                && s.needs
                    .iter()
                    .any(|n| matches!(states[n], State::Failed(_) | State::Skipped))
        });
        if more_skips {
            continue;
        }
        let Some((name, (state, summary))) = running.next().await else {
            break;
        };
        if state == State::Healthy {
            healthy_at.insert(name.clone(), crate::report::now_rfc3339());
        }
        states.insert(name.clone(), state);
        summaries.insert(name, summary);
    }

    let all_healthy = states.values().all(|s| *s == State::Healthy);
    let mut inv = inventory.lock().await;
    if all_healthy && opts.prune {
        // Components that left the stack: everything they owned goes (kept kinds aside).
        let gone: Vec<String> = previous
            .components
            .keys()
            .filter(|c| stack.component(c).is_none())
            .cloned()
            .collect();
        for name in gone {
            let stale: Vec<crate::object::ObjectKey> = previous
                .component_objects(&name)
                .into_iter()
                .filter(|k| !rendered_keys.contains(&k.to_id()))
                .collect();
            let Pruning {
                pruned,
                retained,
                left_alone,
            } = remove::prune(
                cluster,
                &previous.stack,
                &stale,
                opts.delete_crds,
                opts.delete_volumes,
            )
            .await?;
            inv.components.remove(&name);
            inv.retained.extend(retained.iter().map(|k| k.to_id()));
            sink.emit(&Event::Pruned {
                component: name.clone(),
                objects: pruned.clone(),
                retained,
                left_alone,
            });
            summaries.insert(
                name.clone(),
                ComponentSummary {
                    name,
                    state: "removed".into(),
                    created: 0,
                    configured: 0,
                    unchanged: 0,
                    pruned: pruned.len(),
                    duration_ms: 0,
                },
            );
        }
    }
    // Record how the stack was installed: its order, inputs, values and versions.
    inv.profile = stack.profile.clone();
    inv.order = plan.steps.iter().map(|s| s.component.clone()).collect();
    inv.inputs = opts.inputs.clone();
    inv.values_digest = inventory::digest(&serde_json::Value::Object(
        stack
            .components
            .iter()
            .map(|c| (c.name.clone(), c.values.clone()))
            .collect(),
    ));
    for c in &stack.components {
        if let Some(record) = inv.components.get_mut(&c.name) {
            record.version = c.version.clone();
            record.cni = c.cni;
            record.readiness = c.readiness.clone();
            if let Some(at) = healthy_at.get(&c.name) {
                record.last_applied = at.clone();
            }
        }
    }
    inv.updated = crate::report::now_rfc3339();
    inv.save(cluster).await?;
    drop(inv);

    let mut failed = Vec::new();
    let mut components: Vec<ComponentSummary> = plan
        .steps
        .iter()
        .map(|s| {
            let state = &states[&s.component];
            if let State::Failed(class) = state {
                failed.push((s.component.clone(), *class));
            }
            summaries
                .remove(&s.component)
                .unwrap_or_else(|| ComponentSummary {
                    name: s.component.clone(),
                    state: match state {
                        State::Skipped => "skipped".into(),
                        _ => "not-started".into(),
                    },
                    created: 0,
                    configured: 0,
                    unchanged: 0,
                    pruned: 0,
                    duration_ms: 0,
                })
        })
        .collect();
    components.extend(summaries.into_values());
    let summary = Summary {
        result: if all_healthy {
            "success".into()
        } else {
            "failed".into()
        },
        changed: components
            .iter()
            .any(|c| c.created + c.configured + c.pruned > 0),
        components,
        duration_ms: started.elapsed().as_millis() as u64,
    };
    sink.emit(&Event::Summary(summary.clone()));
    if all_healthy {
        Ok(summary)
    } else {
        if failed.is_empty() {
            // Only skips: attribute them to a gate failure for the exit code.
            failed.push(("(skipped components)".into(), FailureClass::Gate));
        }
        Err(RunError::Failed { failed, summary })
    }
}

/// Apply, then gate, then prune one component.
async fn run_component(
    ctx: &Ctx<'_>,
    component: &crate::stack::Component,
    objects: &[Object],
    deadline: Instant,
    previous: &Inventory,
    rendered_keys: &BTreeSet<String>,
) -> (State, ComponentSummary) {
    let started = Instant::now();
    ctx.sink.emit(&Event::ComponentStarted {
        component: component.name.clone(),
        objects: objects.len(),
    });
    let mut summary = ComponentSummary {
        name: component.name.clone(),
        state: "failed".into(),
        created: 0,
        configured: 0,
        unchanged: 0,
        pruned: 0,
        duration_ms: 0,
    };
    let fail = |summary: &mut ComponentSummary,
                class: FailureClass,
                error: String,
                not_ready: Vec<NotReady>| {
        summary.duration_ms = started.elapsed().as_millis() as u64;
        ctx.sink.emit(&Event::Failed {
            component: component.name.clone(),
            error,
            class,
            not_ready,
            duration_ms: summary.duration_ms,
        });
        (State::Failed(class), summary.clone())
    };
    let applied = match apply::apply_component(ctx, &component.name, objects, deadline).await {
        Ok(a) => a,
        Err(e) => {
            let class = match e {
                apply::ApplyFailure::Timeout(_) => FailureClass::Gate,
                _ => FailureClass::Api,
            };
            return fail(&mut summary, class, e.to_string(), vec![]);
        }
    };
    summary.created = applied.created;
    summary.configured = applied.configured;
    summary.unchanged = applied.unchanged;
    ctx.sink.emit(&Event::ObjectsApplied {
        component: component.name.clone(),
        created: applied.created,
        configured: applied.configured,
        unchanged: applied.unchanged,
    });
    if let Err(g) = gate::wait_healthy(ctx, component, &applied.objects, deadline).await {
        return fail(&mut summary, FailureClass::Gate, g.error, g.not_ready);
    }
    if ctx.opts.prune {
        // Healthy again: what it owned before and renders no more can go.
        let stale: Vec<crate::object::ObjectKey> = previous
            .component_objects(&component.name)
            .into_iter()
            .filter(|k| !rendered_keys.contains(&k.to_id()))
            .collect();
        if !stale.is_empty() {
            let stack = ctx.inventory.lock().await.stack.clone();
            let (crds, volumes) = (ctx.opts.delete_crds, ctx.opts.delete_volumes);
            match remove::prune(ctx.cluster, &stack, &stale, crds, volumes).await {
                Ok(Pruning {
                    pruned,
                    retained,
                    left_alone,
                }) => {
                    let mut inv = ctx.inventory.lock().await;
                    if let Some(record) = inv.components.get_mut(&component.name) {
                        for k in stale.iter() {
                            record.objects.remove(&k.to_id());
                        }
                    }
                    inv.retained.extend(retained.iter().map(|k| k.to_id()));
                    if let Err(e) = inv.save(ctx.cluster).await {
                        return fail(&mut summary, FailureClass::Api, e.to_string(), vec![]);
                    }
                    summary.pruned = pruned.len();
                    ctx.sink.emit(&Event::Pruned {
                        component: component.name.clone(),
                        objects: pruned,
                        retained,
                        left_alone,
                    });
                }
                Err(e) => {
                    return fail(
                        &mut summary,
                        FailureClass::Api,
                        format!("pruning: {e}"),
                        vec![],
                    );
                }
            }
        }
    }
    summary.state = "healthy".into();
    summary.duration_ms = started.elapsed().as_millis() as u64;
    ctx.sink.emit(&Event::Healthy {
        component: component.name.clone(),
        duration_ms: summary.duration_ms,
    });
    (State::Healthy, summary)
}
