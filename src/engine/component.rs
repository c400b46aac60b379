//! One component's task in `up`: apply its objects, gate it on health, then prune what it
//! owned before and no longer renders — each step reported as events.

use tokio::time::Instant;

use super::{Ctx, apply, gate, prune};
use crate::inventory::Inventory;
use crate::k8s::Object;
use crate::render::RenderedComponent;
use crate::report::{ComponentState, ComponentSummary, Event, FailureClass, NotReady};
use crate::stack::Component;

/// How a component ended: healthy, or failed and why.
pub(super) type Outcome = Result<(), FailureClass>;

/// Runs the component; returns how it ended, and its summary.
pub(super) async fn run(
    ctx: &Ctx<'_>,
    component: &Component,
    objects: &[Object],
    deadline: Instant,
    previous: &Inventory,
    rendered: &[RenderedComponent],
) -> (Outcome, ComponentSummary) {
    let started = Instant::now();
    ctx.sink.emit(&Event::ComponentStarted {
        component: component.name.clone(),
        objects: objects.len(),
    });
    let mut summary = ComponentSummary::new(&component.name, ComponentState::Failed);
    let fail = |mut summary: ComponentSummary,
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
        (Err(class), summary)
    };

    let applied = match apply::apply_component(ctx, component, objects, deadline).await {
        Ok(a) => a,
        Err(e) => return fail(summary, e.class(), e.to_string(), vec![]),
    };
    summary.created = applied.created;
    summary.configured = applied.configured;
    summary.replaced = applied.replaced;
    summary.unchanged = applied.unchanged;
    ctx.sink.emit(&Event::ObjectsApplied {
        component: component.name.clone(),
        created: applied.created,
        configured: applied.configured,
        replaced: applied.replaced,
        unchanged: applied.unchanged,
        changes: applied.changes.clone(),
    });

    if let Err(g) = gate::wait_healthy(ctx, component, &applied.objects, deadline).await {
        return fail(summary, g.class, g.error, g.not_ready);
    }

    if ctx.opts.prune && !ctx.cancel.is_cancelled() {
        match prune::stale_objects(ctx, &component.name, previous, rendered).await {
            Ok(pruned) => summary.pruned = pruned,
            Err(e) => {
                return fail(summary, FailureClass::Api, format!("pruning: {e}"), vec![]);
            }
        }
    }
    summary.state = ComponentState::Healthy;
    summary.duration_ms = started.elapsed().as_millis() as u64;
    ctx.sink.emit(&Event::Healthy {
        component: component.name.clone(),
        duration_ms: summary.duration_ms,
    });
    (Ok(()), summary)
}
