//! `down`: uninstalling a stack — everything it owns, decided by the ownership policy and
//! removed in an order that cannot deadlock: webhook configurations first, then each
//! component's objects with dependents first, then what earlier runs kept, namespaces
//! last; the inventory goes when nothing is left of the stack.

use std::time::Duration;

use tokio::time::Instant;

use super::delete::{How, Removal, carry_out};
use super::{RunError, RunOptions, interrupted_event, take_lock};
use crate::cancel::Cancel;
use crate::cluster::{Cluster, ClusterError};
use crate::inventory::Inventory;
use crate::k8s::ObjectKey;
use crate::ownership::{self, Decision, Verdict};
use crate::report::{ComponentState, ComponentSummary, Event, RunResult, Sink, Summary};

/// What `down` may delete, and how long it may wait.
#[derive(Clone, Debug)]
pub struct DownOptions {
    pub timeout: Duration,
    pub flags: ownership::Flags,
    pub wait_for_lock: Option<Duration>,
}

/// What `down` did.
#[derive(Clone, Debug, Default)]
pub struct DownReport {
    pub summary: Option<Summary>,
    /// Objects kept on purpose (CRDs, volumes, namespaces that hold kept volumes).
    pub retained: Vec<ObjectKey>,
    /// Adopted objects left in place, no longer landscape's.
    pub released: Vec<ObjectKey>,
    /// Objects that did not go within the timeout (finalizers), with why.
    pub stuck: Vec<String>,
    /// Things left in place on purpose, with why (a namespace holding others' objects).
    pub notes: Vec<String>,
}

impl DownReport {
    fn record(&mut self, removal: &Removal) {
        self.retained.extend(removal.retained.iter().cloned());
        self.released.extend(removal.released.iter().cloned());
        self.stuck.extend(removal.stuck.iter().cloned());
        self.notes
            .extend(removal.left_alone.iter().map(|(_, why)| why.clone()));
    }
}

/// Uninstalls a stack.
pub async fn down(
    cluster: &Cluster,
    stack: &str,
    sink: &dyn Sink,
    opts: &DownOptions,
    cancel: &Cancel,
) -> Result<DownReport, RunError> {
    let Some(inv) = Inventory::load(cluster, stack).await? else {
        return Err(RunError::NotInstalled(stack.to_string()));
    };
    refuse_crds_in_use(cluster, &inv, &opts.flags).await?;
    let run_opts = RunOptions {
        wait_for_lock: opts.wait_for_lock,
        ..RunOptions::default()
    };
    let lease = take_lock(cluster, stack, "down", &run_opts, sink).await?;
    let result = lease
        .hold(
            cluster,
            |why| cancel.cancel(crate::cancel::StopReason::LostLock(why)),
            remove_all(cluster, stack, sink, opts, cancel),
        )
        .await;
    let _ = lease.release(cluster).await;
    result
}

/// With `--delete-crds`, refuses — before anything is deleted — to delete CRDs while
/// custom resources that are not the stack's own exist, unless `--delete-custom-resources`.
async fn refuse_crds_in_use(
    cluster: &Cluster,
    inv: &Inventory,
    flags: &ownership::Flags,
) -> Result<(), RunError> {
    if !flags.delete_crds || flags.delete_custom_resources {
        return Ok(());
    }
    let owned = |k: &ObjectKey| inv.membership(k) != crate::inventory::Membership::None;
    let mut in_use = Vec::new();
    for (_, key, _) in inv.members().iter().filter(|(_, k, _)| k.is_crd()) {
        if let Some(crd) = cluster.get_key(key).await? {
            let n = ownership::facts::custom_resources(cluster, &crd, &owned).await?;
            if n > 0 {
                in_use.push(format!("{} ({n} custom resources)", key.name));
            }
        }
    }
    if in_use.is_empty() {
        Ok(())
    } else {
        Err(RunError::Invalid(vec![format!(
            "--delete-crds would delete custom resources that are not the stack's: {} (hint: delete them first, or add --delete-custom-resources to delete them with their CRDs)",
            in_use.join(", ")
        )]))
    }
}

/// What every phase of the removal works with.
#[derive(Clone, Copy)]
struct Removing<'a> {
    cluster: &'a Cluster,
    applyset: &'a str,
    how: How<'a>,
}

/// The removal, under the lock: webhooks, components, what earlier runs kept and the
/// namespaces, then the inventory.
async fn remove_all(
    cluster: &Cluster,
    stack: &str,
    sink: &dyn Sink,
    opts: &DownOptions,
    cancel: &Cancel,
) -> Result<DownReport, RunError> {
    let started = Instant::now();
    let Some(mut inv) = Inventory::load(cluster, stack).await? else {
        return Err(RunError::NotInstalled(stack.to_string()));
    };
    let ownership::LetGo {
        verdicts,
        claim_sources,
    } = let_go_of_everything(cluster, &inv, &opts.flags).await?;
    let applyset = inv.applyset();
    let run = Removing {
        cluster,
        applyset: &applyset,
        how: How {
            wait: true,
            deadline: crate::cluster::retry::deadline_in(opts.timeout),
            delete_volumes: opts.flags.delete_volumes,
            claim_sources: &claim_sources,
        },
    };
    let mut report = DownReport::default();

    let webhooks = remove_webhooks(run, &mut inv, &verdicts, &mut report).await?;
    let summaries = remove_components(
        run,
        &mut inv,
        &verdicts,
        &webhooks,
        sink,
        cancel,
        &mut report,
    )
    .await?;
    if let Some(reason) = cancel.reason() {
        return Err(interrupted(cluster, &mut inv, summaries, started, sink, reason).await);
    }
    remove_kept_and_namespaces(run, &mut inv, &verdicts, &mut report).await?;
    close_inventory(cluster, &mut inv).await?;

    let result = if report.stuck.is_empty() {
        RunResult::Success
    } else {
        RunResult::Failed
    };
    let summary = down_summary(summaries, started, result);
    sink.emit(&Event::Summary(summary.clone()));
    report.summary = Some(summary);
    Ok(report)
}

/// What the ownership policy lets go of among all the stack's members: every one of them
/// is let go of by `down`.
async fn let_go_of_everything(
    cluster: &Cluster,
    inv: &Inventory,
    flags: &ownership::Flags,
) -> Result<ownership::LetGo, ClusterError> {
    let keys: Vec<(Option<String>, ObjectKey)> = inv
        .members()
        .into_iter()
        .map(|(c, k, _)| (c.map(str::to_string), k))
        .collect();
    ownership::let_go(cluster, inv, &keys, flags).await
}

/// 1. Every webhook configuration, before anything they could intercept. Returns them, so
///    that the components' removal leaves them out.
async fn remove_webhooks(
    run: Removing<'_>,
    inv: &mut Inventory,
    verdicts: &[Verdict],
    report: &mut DownReport,
) -> Result<Vec<Verdict>, ClusterError> {
    let webhooks: Vec<Verdict> = verdicts
        .iter()
        .filter(|v| {
            v.key.group == "admissionregistration.k8s.io"
                && v.key.kind.ends_with("WebhookConfiguration")
        })
        .cloned()
        .collect();
    let removal = carry_out(run.cluster, run.applyset, &webhooks, run.how).await?;
    settle(inv, None, &removal);
    report.record(&removal);
    Ok(webhooks)
}

/// 2. Components, dependents first; namespaces wait for the end. Stops between components
///    when asked to.
async fn remove_components(
    run: Removing<'_>,
    inv: &mut Inventory,
    verdicts: &[Verdict],
    webhooks: &[Verdict],
    sink: &dyn Sink,
    cancel: &Cancel,
    report: &mut DownReport,
) -> Result<Vec<ComponentSummary>, ClusterError> {
    let mut summaries = Vec::new();
    for name in inv.removal_order() {
        if cancel.is_cancelled() {
            break;
        }
        let mine: Vec<Verdict> = verdicts
            .iter()
            .filter(|v| v.component.as_deref() == Some(name.as_str()))
            .filter(|v| !v.key.is_namespace() && !webhooks.iter().any(|w| w.key == v.key))
            .cloned()
            .collect();
        let (summary, removal) = remove_component(run, inv, &name, &mine, sink).await?;
        report.record(&removal);
        summaries.push(summary);
    }
    Ok(summaries)
}

/// A stop request between components: saves what is left for the next `down`, and says
/// so in the summary and an `interrupted` event.
async fn interrupted(
    cluster: &Cluster,
    inv: &mut Inventory,
    summaries: Vec<ComponentSummary>,
    started: Instant,
    sink: &dyn Sink,
    reason: crate::cancel::StopReason,
) -> RunError {
    if let Err(e) = inv.save(cluster).await {
        return e.into();
    }
    let summary = down_summary(summaries, started, RunResult::Interrupted);
    sink.emit(&Event::Summary(summary.clone()));
    sink.emit(&interrupted_event(&reason));
    RunError::Interrupted {
        reason,
        summary: Some(summary),
    }
}

/// 3. What earlier runs kept, when the flags now let it go; then namespaces.
async fn remove_kept_and_namespaces(
    run: Removing<'_>,
    inv: &mut Inventory,
    verdicts: &[Verdict],
    report: &mut DownReport,
) -> Result<(), ClusterError> {
    let rest: Vec<Verdict> = verdicts
        .iter()
        .filter(|v| v.component.is_none() || v.key.is_namespace())
        .cloned()
        .collect();
    let removal = carry_out(run.cluster, run.applyset, &rest, run.how).await?;
    settle(inv, None, &removal);
    report.record(&removal);
    Ok(())
}

/// 4. The inventory: gone when nothing is left, else it remembers what was kept and what
///    was still being deleted when the deadline passed (the next `down` finishes it).
async fn close_inventory(cluster: &Cluster, inv: &mut Inventory) -> Result<(), ClusterError> {
    inv.components
        .retain(|_, c| !c.objects.is_empty() || !c.adopted.is_empty());
    if !inv.components.is_empty() {
        inv.save(cluster).await
    } else if inv.retained.is_empty() {
        inv.delete(cluster).await
    } else {
        inv.order.clear();
        inv.save(cluster).await
    }
}

/// Removes one component's objects (its namespaces wait for the end) and records what
/// became of them.
async fn remove_component(
    run: Removing<'_>,
    inv: &mut Inventory,
    name: &str,
    verdicts: &[Verdict],
    sink: &dyn Sink,
) -> Result<(ComponentSummary, Removal), ClusterError> {
    let started = Instant::now();
    sink.emit(&Event::Removing {
        component: name.to_string(),
        objects: inv.component_objects(name).len(),
    });
    let removal = carry_out(run.cluster, run.applyset, verdicts, run.how).await?;
    settle(inv, Some(name), &removal);
    let gone: Vec<ObjectKey> = verdicts
        .iter()
        .filter(|v| v.decision == Decision::Forget)
        .map(|v| v.key.clone())
        .collect();
    inv.forget(name, &gone);
    inv.save(run.cluster).await?;
    let duration_ms = started.elapsed().as_millis() as u64;
    let deleted = removal.deleted.len();
    sink.emit(&Event::Removed {
        component: name.to_string(),
        deleted,
        retained: removal.retained.clone(),
        released: removal.released.clone(),
        duration_ms,
    });
    let mut s = ComponentSummary::new(name, ComponentState::Removed);
    s.pruned = deleted;
    s.duration_ms = duration_ms;
    Ok((s, removal))
}

/// Forgets what a removal settled and keeps what it retained.
fn settle(inv: &mut Inventory, component: Option<&str>, removal: &Removal) {
    let settled: Vec<ObjectKey> = removal.settled().cloned().collect();
    match component {
        Some(c) => inv.forget(c, &settled),
        None => {
            for c in inv.components.keys().cloned().collect::<Vec<_>>() {
                inv.forget(&c, &settled);
            }
            for k in &settled {
                inv.retained.remove(k);
            }
        }
    }
    inv.retain(removal.retained.iter().cloned());
}

fn down_summary(components: Vec<ComponentSummary>, started: Instant, result: RunResult) -> Summary {
    Summary {
        result,
        changed: true,
        components,
        duration_ms: started.elapsed().as_millis() as u64,
    }
}
