//! Pruning: what a component owned and no longer renders goes once the component is
//! healthy again; components that left the stack go at the end of a successful run. What
//! goes and what stays is the ownership policy's call ([`crate::ownership::let_go`]), the
//! same one `diff` predicts with.

use std::collections::BTreeSet;

use tokio::time::Instant;

use super::Ctx;
use super::delete::{How, carry_out};
use crate::cluster::ClusterError;
use crate::inventory::Inventory;
use crate::k8s::ObjectKey;
use crate::render::RenderedComponent;
use crate::report::{ComponentState, ComponentSummary, Event};
use crate::stack::Stack;

/// Every key the stack renders.
fn rendered_keys(rendered: &[RenderedComponent]) -> BTreeSet<ObjectKey> {
    rendered
        .iter()
        .flat_map(|r| r.objects.iter().map(|o| o.key()))
        .collect()
}

/// Prunes what `component` owned before this run and no longer renders; returns how many
/// objects were deleted.
pub(super) async fn stale_objects(
    ctx: &Ctx<'_>,
    component: &str,
    previous: &Inventory,
    rendered: &[RenderedComponent],
) -> Result<usize, ClusterError> {
    let desired = rendered_keys(rendered);
    let stale: Vec<ObjectKey> = previous
        .component_objects(component)
        .into_iter()
        .filter(|k| !desired.contains(k))
        .collect();
    if stale.is_empty() {
        return Ok(0);
    }
    prune(ctx, component, stale).await
}

/// Prunes the components of `previous` that are no longer in the stack.
pub(super) async fn removed_components(
    ctx: &Ctx<'_>,
    stack: &Stack,
    rendered: &[RenderedComponent],
    previous: &Inventory,
) -> Result<Vec<ComponentSummary>, ClusterError> {
    let desired = rendered_keys(rendered);
    let mut summaries = Vec::new();
    for name in previous.components.keys() {
        if stack.component(name).is_some() {
            continue;
        }
        // Objects another component renders now have moved there; they stay.
        let stale: Vec<ObjectKey> = {
            let inv = ctx.inventory.lock().await;
            inv.component_objects(name)
                .into_iter()
                .filter(|k| !desired.contains(k))
                .collect()
        };
        let pruned = prune(ctx, name, stale).await?;
        ctx.inventory.lock().await.components.remove(name);
        let mut s = ComponentSummary::new(name, ComponentState::Removed);
        s.pruned = pruned;
        summaries.push(s);
    }
    Ok(summaries)
}

async fn prune(
    ctx: &Ctx<'_>,
    component: &str,
    stale: Vec<ObjectKey>,
) -> Result<usize, ClusterError> {
    let keys: Vec<(Option<String>, ObjectKey)> = stale
        .into_iter()
        .map(|k| (Some(component.to_string()), k))
        .collect();
    let snapshot = ctx.inventory.lock().await.clone();
    let crate::ownership::LetGo {
        verdicts,
        claim_sources,
    } = crate::ownership::let_go(ctx.cluster, &snapshot, &keys, &ctx.opts.flags).await?;
    let how = How {
        wait: false,
        deadline: Instant::now(),
        delete_volumes: ctx.opts.flags.delete_volumes,
        claim_sources: &claim_sources,
    };
    let removal = carry_out(ctx.cluster, &snapshot.applyset(), &verdicts, how).await?;
    let mut inv = ctx.inventory.lock().await;
    let settled: Vec<ObjectKey> = removal.settled().cloned().collect();
    inv.forget(component, &settled);
    // Objects that were already gone are forgotten too.
    let forgotten: Vec<ObjectKey> = verdicts
        .iter()
        .filter(|v| v.decision == crate::ownership::Decision::Forget)
        .map(|v| v.key.clone())
        .collect();
    inv.forget(component, &forgotten);
    inv.retain(removal.retained.iter().cloned());
    inv.save(ctx.cluster).await?;
    drop(inv);
    let pruned = removal.deleted.len();
    let replaced = removal
        .left_alone
        .iter()
        .map(|(k, _)| k.clone())
        .filter(|k| !removal.retained.contains(k))
        .collect();
    ctx.sink.emit(&Event::Pruned {
        component: component.to_string(),
        objects: removal.deleted,
        retained: removal.retained,
        released: removal.released,
        left_alone: removal.left_alone.into_iter().map(|(_, why)| why).collect(),
        replaced,
    });
    Ok(pruned)
}
