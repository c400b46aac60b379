//! What `up` records in the inventory, and when: everything a later run needs before the
//! first object is written, and how the run ended at its end.

use std::collections::BTreeMap;

use super::schedule::{Scheduler, Stage};
use super::{Install, RunError};
use crate::cluster::{Cluster, ClusterError};
use crate::inventory::{Inventory, RunState, StackIdentity};

/// The stack's inventory (a new one when the stack is not installed), refusing to go on
/// when it records another stack under the same name.
pub(super) async fn load_checked(run: &Install<'_>) -> Result<Inventory, RunError> {
    let identity = given_identity(run);
    let Some(mut recorded) = Inventory::load(run.cluster, &run.stack.name).await? else {
        return Ok(Inventory::new(identity));
    };
    if !recorded.identity.origin.same_stack(&identity.origin) {
        if !run.opts.take_over_stack {
            return Err(RunError::OtherStack {
                name: run.stack.name.clone(),
                recorded: recorded.identity.origin.to_string(),
                given: identity.origin.to_string(),
            });
        }
        recorded.identity = identity;
    }
    Ok(recorded)
}

fn given_identity(run: &Install<'_>) -> StackIdentity {
    run.opts
        .identity
        .clone()
        .unwrap_or_else(|| crate::prepare::identity(run.stack))
}

/// The inventory with each renamed component's objects moved to its new name (a component
/// that `replaces:` another), so that they are applied in place, never deleted and created
/// again, and what the new component no longer renders is pruned as its own.
pub(super) fn with_renames(run: &Install<'_>, mut inv: Inventory) -> Inventory {
    for c in &run.stack.components {
        if let Some(old) = &c.replaces {
            inv.rename_component(old, &c.name);
        }
    }
    inv
}

/// Records the run before its first write: the stack's identity, inputs, order, and each
/// component's version and readiness rules, so that a run killed at any point leaves an
/// inventory that `diff`, `status` and `down` can work from.
pub(super) async fn first(
    run: &Install<'_>,
    mut inv: Inventory,
) -> Result<Inventory, ClusterError> {
    inv.identity = given_identity(run);
    // A partial run (`--only`) leaves an installed stack marked installed: the components
    // it does not touch are as the last whole run left them.
    if !(run.opts.partial && inv.state == RunState::Installed) {
        inv.state = RunState::Installing;
    }
    inv.inputs = run.opts.inputs.clone();
    let order = run.plan.steps.iter().map(|s| s.component.clone());
    if run.opts.partial && !inv.order.is_empty() {
        // The recorded order of the whole stack stays; components new to it go last.
        let missing: Vec<String> = order.filter(|c| !inv.order.contains(c)).collect();
        inv.order.extend(missing);
    } else {
        inv.order = order.collect();
    }
    // In a partial run the stack holds the selected components only.
    for c in &run.stack.components {
        let record = inv.components.entry(c.name.clone()).or_default();
        record.version = c.version.clone();
        record.cni = c.cni;
        record.readiness = c.readiness.clone();
    }
    inv.save(run.cluster).await?;
    Ok(inv)
}

/// Records how the run ended: when each healthy component was last applied, and whether
/// the whole stack is installed.
pub(super) async fn last(
    inv: &mut Inventory,
    run: &Install<'_>,
    scheduler: &Scheduler,
    healthy_at: &BTreeMap<String, String>,
    cluster: &Cluster,
) -> Result<(), ClusterError> {
    for (name, at) in healthy_at {
        if let Some(record) = inv.components.get_mut(name) {
            record.last_applied = at.clone();
        }
    }
    // A component that left the stack keeps its record only while it still owns objects.
    inv.components.retain(|name, c| {
        run.stack.component(name).is_some() || !c.objects.is_empty() || !c.adopted.is_empty()
    });
    let members: std::collections::BTreeSet<String> = inv
        .members()
        .into_iter()
        .map(|(_, k, _)| k.to_id())
        .collect();
    inv.sync.retain(|id| members.contains(id));
    let failed = scheduler.stages().iter().any(|(_, s)| *s == Stage::Failed);
    let before = inv.state;
    inv.state = if run.cancel.is_cancelled() {
        RunState::Installing
    } else if scheduler.all_healthy() && run.opts.partial {
        // Part of the stack is healthy; the rest is as the last whole run left it.
        if before == RunState::Installed {
            RunState::Installed
        } else {
            RunState::Installing
        }
    } else if scheduler.all_healthy() {
        RunState::Installed
    } else if failed {
        RunState::Failed
    } else {
        RunState::Installing
    };
    inv.save(cluster).await
}
