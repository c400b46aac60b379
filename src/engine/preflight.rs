//! Everything `up` checks before its first write, reading only: that every name is one the
//! API accepts, that every kind is or will be served, who owns what exists already, and —
//! for every object whose kind and namespace the API server can judge now — a server-side
//! dry run of the very apply `up` will send. A failure here leaves the cluster untouched.

use std::collections::{BTreeMap, BTreeSet};

use futures::{StreamExt, TryStreamExt};

use super::{Install, RunError};
use crate::cluster::{ApplyOptions, Cluster, ClusterError};
use crate::inventory::Inventory;
use crate::k8s::{CrdInfo, Object, ObjectKey, names};
use crate::ownership::{self, Decision, Facts, Subject};
use crate::plan::Plan;
use crate::render::RenderedComponent;

const PARALLEL_DRY_RUNS: usize = 16;

pub(super) async fn check(run: &Install<'_>, inventory: &Inventory) -> Result<(), RunError> {
    let mut problems = names_valid(run.rendered);
    problems.extend(kinds_served(run.plan, run.rendered, run.cluster));
    if !problems.is_empty() {
        return Err(RunError::Invalid(problems));
    }
    let objects: Vec<&Object> = run.rendered.iter().flat_map(|r| r.objects.iter()).collect();
    let selector = format!(
        "{}={}",
        crate::k8s::labels::APPLYSET_PART_OF,
        inventory.applyset()
    );
    let live = run.cluster.read_all(&objects, &selector).await?;
    let decisions = decide_all(&objects, &live, inventory, &run.opts.flags);
    let conflicts: Vec<String> = decisions
        .iter()
        .filter_map(|(o, d)| match d {
            Decision::Conflict { owner } => {
                Some(format!("{} already exists and is {owner}", o.key()))
            }
            _ => None,
        })
        .collect();
    if !conflicts.is_empty() {
        return Err(RunError::Conflicts(conflicts));
    }
    let refused = dry_run(run.cluster, &decisions, &live).await?;
    if refused.is_empty() {
        Ok(())
    } else {
        Err(RunError::Invalid(refused))
    }
}

/// The ownership decision for every rendered object.
fn decide_all<'a>(
    objects: &[&'a Object],
    live: &BTreeMap<ObjectKey, Option<Object>>,
    inventory: &Inventory,
    flags: &ownership::Flags,
) -> Vec<(&'a Object, Decision)> {
    let applyset = inventory.applyset();
    objects
        .iter()
        .map(|o| {
            let key = o.key();
            let live = live.get(&key).and_then(Option::as_ref);
            let subject = Subject {
                key: &key,
                desired: Some(o),
                live,
                membership: inventory.membership(&key),
                applyset: &applyset,
            };
            (*o, ownership::decide(&subject, flags, &Facts::default()))
        })
        .collect()
}

/// Every object's name and namespace, by the API's rules.
fn names_valid(rendered: &[RenderedComponent]) -> Vec<String> {
    rendered
        .iter()
        .flat_map(|r| r.objects.iter().map(move |o| (r, o)))
        .filter_map(|(r, o)| {
            names::check_object(o.group(), o.kind(), o.name(), o.namespace())
                .err()
                .map(|why| format!("component `{}`: {}: {why}", r.name, o.key()))
        })
        .collect()
}

/// Every object's kind is served by the cluster, or by a CRD in the stack that the
/// object's component needs (directly or not); kinds operators create at run time are
/// exempt.
fn kinds_served(plan: &Plan, rendered: &[RenderedComponent], cluster: &Cluster) -> Vec<String> {
    let mut crd_owner: BTreeMap<(String, String), &str> = BTreeMap::new();
    for r in rendered {
        for crd in r.objects.iter().filter_map(CrdInfo::of) {
            crd_owner.insert(crd.group_kind(), &r.name);
        }
    }
    let mut problems = Vec::new();
    for r in rendered {
        let mut upstream = plan.needs_of(&r.name);
        upstream.insert(r.name.clone());
        let mut seen = BTreeSet::new();
        for o in &r.objects {
            let gk = (o.group().to_string(), o.kind().to_string());
            if !seen.insert(gk.clone()) || cluster.resource(o.api_version(), o.kind()).is_some() {
                continue;
            }
            match crd_owner.get(&gk) {
                Some(owner) if upstream.contains(*owner) => {}
                Some(owner) => problems.push(format!(
                    "component `{}` uses {}.{}, whose CRD comes from `{owner}`, which it does not need (hint: add `{owner}` to its needs)",
                    r.name, o.kind(), o.group()
                )),
                None if crate::k8s::scope::created_at_run_time(o.group()) => {}
                None => problems.push(format!(
                    "component `{}`: {} {} is not served by the cluster and no component installs its CRD (hint: install the CRD first, or add a component that does)",
                    r.name,
                    o.api_version(),
                    o.kind()
                )),
            }
        }
    }
    problems
}

/// Sends a server-side dry run of every object `up` would write whose kind is served and
/// whose namespace exists, and returns the ones the API server refuses for good.
/// Transient failures (a webhook of the stack that is not running yet) prove nothing and
/// are let through; the real apply retries them.
async fn dry_run(
    cluster: &Cluster,
    decisions: &[(&Object, Decision)],
    live: &BTreeMap<ObjectKey, Option<Object>>,
) -> Result<Vec<String>, ClusterError> {
    let namespace_exists = |ns: &str| {
        crate::k8s::is_system_namespace(ns)
            || live
                .get(&ObjectKey {
                    group: String::new(),
                    kind: "Namespace".into(),
                    namespace: None,
                    name: ns.to_string(),
                })
                .is_some_and(Option::is_some)
    };
    let judged: Vec<&Object> = decisions
        .iter()
        .filter(|(o, d)| d.writes() && !(o.is_create_only() && matches!(d, Decision::Apply)))
        .map(|(o, _)| *o)
        .filter(|o| cluster.resource(o.api_version(), o.kind()).is_some())
        .filter(|o| o.namespace().is_none_or(namespace_exists))
        .collect();
    let refusals: Vec<Option<String>> = futures::stream::iter(judged)
        .map(|o| async move {
            let opts = ApplyOptions {
                dry_run: true,
                force: true,
            };
            match cluster.apply(o, opts).await {
                Ok(_) => Ok(None),
                Err(e) if e.is_transient() => Ok(None),
                Err(e @ ClusterError::Api { .. }) if is_refusal(&e) => Ok(Some(format!(
                    "{}: the API server refuses it: {}",
                    o.key(),
                    e.status().map(|s| s.message.as_str()).unwrap_or_default()
                ))),
                Err(e) => Err(e),
            }
        })
        .buffered(PARALLEL_DRY_RUNS)
        .try_collect()
        .await?;
    Ok(refusals.into_iter().flatten().collect())
}

/// A refusal about the object itself (a bad field, a policy that denies it), as opposed to
/// one about the caller (no rights) or the cluster.
fn is_refusal(e: &ClusterError) -> bool {
    matches!(e.code(), 400 | 422 | 500)
}
