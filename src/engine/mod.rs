//! Running a plan: each component is applied, then gated on health, as soon as the
//! components it needs are healthy. Independent branches run side by side; when a
//! component fails, everything that needs it is skipped and reported as such, while the
//! rest of the graph carries on.

mod apply;
mod gate;
pub mod order;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::time::Instant;

pub use apply::{Change, foreign_owner};

use crate::cluster::Cluster;
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
}

/// What a component's task needs.
pub(crate) struct Ctx<'a> {
    pub cluster: &'a Cluster,
    pub sink: &'a dyn Sink,
    pub stack: &'a Stack,
    pub opts: &'a RunOptions,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Objects whose kind nothing will ever serve: found before anything is written.
    #[error("{}", .0.join("; "))]
    Preflight(Vec<String>),
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

/// Checks, before the first write, that every object's kind is or will be served: by the
/// cluster, or by a CRD in the stack that the object's component needs (directly or not).
/// Kinds in groups whose CRDs operators create at run time are exempt.
pub fn preflight(
    stack: &Stack,
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
    let _ = stack;
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

/// Installs the stack: apply and gate every component along the graph.
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
    let ctx = Ctx {
        cluster,
        sink,
        stack,
        opts,
    };
    sink.emit(&plan_event(stack, plan));

    let objects: BTreeMap<&str, &[Object]> = rendered
        .iter()
        .map(|r| (r.name.as_str(), r.objects.as_slice()))
        .collect();
    let mut states: BTreeMap<String, State> = plan
        .steps
        .iter()
        .map(|s| (s.component.clone(), State::Pending))
        .collect();
    let mut summaries: BTreeMap<String, ComponentSummary> = BTreeMap::new();
    let mut running = FuturesUnordered::new();
    let mut started_set: BTreeSet<String> = BTreeSet::new();

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
                running.push(async move {
                    let result = run_component(ctx, component, objs, deadline).await;
                    (component.name.clone(), result)
                });
            }
        }
        // A skip may unblock nothing but mark more skips: loop until stable.
        let progressed_by_skips = plan.steps.iter().any(|s| {
            states[&s.component] == State::Pending
                && !started_set.contains(&s.component)
                && s.needs
                    .iter()
                    .any(|n| matches!(states[n], State::Failed(_) | State::Skipped))
        });
        if progressed_by_skips {
            continue;
        }
        let Some((name, (state, summary))) = running.next().await else {
            break;
        };
        states.insert(name.clone(), state);
        summaries.insert(name, summary);
    }

    let mut failed = Vec::new();
    let components: Vec<ComponentSummary> = plan
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
    let all_healthy = states.values().all(|s| *s == State::Healthy);
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

/// Apply, then gate, one component.
async fn run_component(
    ctx: &Ctx<'_>,
    component: &crate::stack::Component,
    objects: &[Object],
    deadline: Instant,
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
        pruned: vec![],
    });
    if let Err(g) = gate::wait_healthy(ctx, component, &applied.objects, deadline).await {
        return fail(&mut summary, FailureClass::Gate, g.error, g.not_ready);
    }
    summary.state = "healthy".into();
    summary.duration_ms = started.elapsed().as_millis() as u64;
    ctx.sink.emit(&Event::Healthy {
        component: component.name.clone(),
        duration_ms: summary.duration_ms,
    });
    (State::Healthy, summary)
}
