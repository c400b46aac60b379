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
    let decided = decide_all(run, &live, inventory).await?;
    let conflicts: Vec<String> = decided
        .iter()
        .filter_map(|d| match &d.decision {
            Decision::Conflict { owner } => {
                Some(format!("{} already exists and is {owner}", d.object.key()))
            }
            _ => None,
        })
        .collect();
    if !conflicts.is_empty() {
        return Err(RunError::Conflicts(conflicts));
    }
    let mut refused: Vec<String> = decided.iter().filter_map(Decided::refusal).collect();
    let fast_path = run.opts.fast_path;
    refused.extend(dry_run(run.cluster, &decided, &live, inventory, fast_path).await?);
    if refused.is_empty() {
        Ok(())
    } else {
        Err(RunError::Invalid(refused))
    }
}

/// One rendered object, decided.
struct Decided<'a> {
    object: &'a Object,
    /// The flags for its component (`replace: allow` widens them).
    flags: ownership::Flags,
    decision: Decision,
}

impl Decided<'_> {
    fn refusal(&self) -> Option<String> {
        match &self.decision {
            Decision::Refused { why } => Some(format!("{}: {why}", self.object.key())),
            _ => None,
        }
    }
}

/// The ownership decision for every rendered object.
async fn decide_all<'a>(
    run: &Install<'a>,
    live: &BTreeMap<ObjectKey, Option<Object>>,
    inventory: &Inventory,
) -> Result<Vec<Decided<'a>>, ClusterError> {
    let mut out = Vec::new();
    for r in run.rendered {
        let replace_allowed = run
            .stack
            .component(&r.name)
            .is_some_and(|c| c.replace_allowed);
        let flags = run.opts.flags.for_component(replace_allowed);
        for object in &r.objects {
            let live = live.get(&object.key()).and_then(Option::as_ref);
            let facts = ownership::facts::for_rendered(run.cluster, object, live).await?;
            let decision = decide_one(object, live, inventory, &flags, &facts);
            out.push(Decided {
                object,
                flags,
                decision,
            });
        }
    }
    Ok(out)
}

fn decide_one(
    object: &Object,
    live: Option<&Object>,
    inventory: &Inventory,
    flags: &ownership::Flags,
    facts: &Facts,
) -> Decision {
    let key = object.key();
    let applyset = inventory.applyset();
    let subject = Subject {
        key: &key,
        desired: Some(object),
        live,
        membership: inventory.membership(&key),
        applyset: &applyset,
    };
    ownership::decide(&subject, flags, facts)
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
/// whose namespace exists, and returns the ones the API server refuses for good. A change
/// it refuses only because fields cannot change is decided again knowing that: a
/// replacement `up` will make, or a refusal. Transient failures (a webhook of the stack
/// that is not running yet) prove nothing and are let through; the real apply retries them.
async fn dry_run(
    cluster: &Cluster,
    decided: &[Decided<'_>],
    live: &BTreeMap<ObjectKey, Option<Object>>,
    inventory: &Inventory,
    fast_path: bool,
) -> Result<Vec<String>, ClusterError> {
    // What is in sync with what was last applied needs no dry run: nothing would be sent.
    let in_sync = |d: &Decided| {
        fast_path
            && d.decision == Decision::Apply
            && live
                .get(&d.object.key())
                .and_then(Option::as_ref)
                .is_some_and(|l| inventory.sync.in_sync(d.object, l))
    };
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
    let judged: Vec<&Decided> = decided
        .iter()
        .filter(|d| {
            d.decision.writes()
                && !(d.object.is_create_only() && matches!(d.decision, Decision::Apply))
        })
        .filter(|d| {
            cluster
                .resource(d.object.api_version(), d.object.kind())
                .is_some()
        })
        .filter(|d| d.object.namespace().is_none_or(namespace_exists))
        .filter(|d| !in_sync(d))
        .collect();
    let refusals: Vec<Option<String>> = futures::stream::iter(judged)
        .map(|d| async move {
            let o = d.object;
            let opts = ApplyOptions {
                dry_run: true,
                force: true,
            };
            match cluster.apply(o, opts).await {
                Ok(_) => Ok(None),
                Err(e) if e.is_transient() => Ok(None),
                Err(e) if let Some(fields) = e.immutable_fields() => {
                    let live = live.get(&o.key()).and_then(Option::as_ref);
                    let facts = Facts {
                        immutable: Some(fields),
                        ..Facts::default()
                    };
                    Ok(match decide_one(o, live, inventory, &d.flags, &facts) {
                        Decision::Refused { why } => Some(format!("{}: {why}", o.key())),
                        _ => None,
                    })
                }
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
