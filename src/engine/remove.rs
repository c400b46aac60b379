//! Removing what landscape owns: pruning objects a component no longer renders, and
//! `down`, which uninstalls a whole stack.
//!
//! Only inventory members are ever deleted. Webhook configurations go first — a
//! component's admission webhook must not block the deletion of its own pods, or of
//! anything else — CustomResourceDefinitions and namespaces last. CRDs (whose deletion
//! deletes every custom resource of their kind, anyone's) and PersistentVolumeClaims
//! (whose deletion deletes data) are kept unless the user opts in; kept objects stay in
//! the inventory as retained.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures::StreamExt;
use tokio::time::Instant;

use super::{RunError, order};
use crate::cluster::inventory::Inventory;
use crate::cluster::{Cluster, ClusterError};
use crate::object::{Object, ObjectKey, labels};
use crate::report::{ComponentSummary, Event, Sink, Summary};

/// What `down` may delete, and how long it may wait.
#[derive(Clone, Debug)]
pub struct DownOptions {
    pub timeout: Duration,
    pub delete_crds: bool,
    pub delete_volumes: bool,
}

/// What `down` did.
#[derive(Clone, Debug, Default)]
pub struct DownReport {
    pub summary: Option<Summary>,
    /// Objects kept on purpose (CRDs, volumes, namespaces that hold kept volumes).
    pub retained: Vec<ObjectKey>,
    /// Objects that did not go within the timeout (finalizers), with why.
    pub stuck: Vec<String>,
    /// Things left in place on purpose, with why (a namespace holding others' objects).
    pub notes: Vec<String>,
}

/// Whether a member is kept rather than deleted.
pub fn is_retained(key: &ObjectKey, delete_crds: bool, delete_volumes: bool) -> bool {
    (key.is_crd() && !delete_crds) || (key.is_volume_claim() && !delete_volumes)
}

fn stub(key: &ObjectKey) -> Object {
    // Deletion order needs only group and kind; a stub object carries them.
    let api_version = if key.group.is_empty() {
        "v1".to_string()
    } else {
        format!("{}/v1", key.group)
    };
    Object(
        serde_json::json!({"apiVersion": api_version, "kind": key.kind, "metadata": {"name": key.name}}),
    )
}

/// Whose objects a deletion may touch.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Owner<'a> {
    /// Only objects that still carry this ApplySet id in their part-of label. An inventory
    /// entry is a name; between two runs someone may have deleted landscape's object and
    /// created their own under that name, and that one is theirs.
    ApplySet(&'a str),
    /// Objects Kubernetes created for landscape's and left unlabelled: the volume claims
    /// of landscape's StatefulSets, recognised by name.
    Made,
}

/// The outcome of a deletion, beyond the objects that went.
#[derive(Debug, Default)]
pub(crate) struct Removal {
    /// Still there when the deadline passed, or created again by someone else.
    pub stuck: Vec<String>,
    /// Not deleted because they are no longer landscape's, with why.
    pub left_alone: Vec<(ObjectKey, String)>,
}

impl Removal {
    fn record_in(self, report: &mut DownReport) {
        report.stuck.extend(self.stuck);
        report
            .notes
            .extend(self.left_alone.into_iter().map(|(_, why)| why));
    }
}

/// Deletes `keys` in deletion order, kind by kind, and (with `wait`) waits until each
/// is gone — finalizers included — or the deadline passes.
pub(crate) async fn delete_objects(
    cluster: &Cluster,
    mut keys: Vec<ObjectKey>,
    owner: Owner<'_>,
    deadline: Instant,
    wait: bool,
) -> Result<Removal, ClusterError> {
    keys.sort_by_key(|k| order::delete_rank(&stub(k)));
    let mut removal = Removal::default();
    let mut start = 0;
    while start < keys.len() {
        let r = order::delete_rank(&stub(&keys[start]));
        let end = keys[start..]
            .iter()
            .position(|k| order::delete_rank(&stub(k)) != r)
            .map_or(keys.len(), |n| start + n);
        let mut batch = keys[start..end].to_vec();
        for wave in &aggregated_roles_first(cluster, &batch).await? {
            let results: Vec<Result<Option<String>, ClusterError>> = futures::stream::iter(wave)
                .map(|k| delete_one(cluster, k, owner))
                .buffered(8)
                .collect()
                .await;
            for (k, r) in wave.iter().zip(results) {
                if let Some(why) = r? {
                    removal.left_alone.push((k.clone(), why));
                    batch.retain(|b| b != k);
                }
            }
        }
        if wait {
            removal
                .stuck
                .extend(wait_gone(cluster, &batch, deadline).await?);
        }
        start = end;
    }
    Ok(removal)
}

/// Deletes one object if it is still `owner`'s; otherwise says why it was left alone.
async fn delete_one(
    cluster: &Cluster,
    key: &ObjectKey,
    owner: Owner<'_>,
) -> Result<Option<String>, ClusterError> {
    let Some(live) = cluster.get_key(key).await? else {
        return Ok(None);
    };
    if let Owner::ApplySet(id) = owner
        && live.label(labels::APPLYSET_PART_OF) != Some(id)
    {
        return Ok(Some(format!(
            "{key}: no longer landscape's (now written by {}); left alone",
            managers(&live)
        )));
    }
    let Some(uid) = live.uid() else {
        cluster.delete(key).await?;
        return Ok(None);
    };
    match cluster.delete_if_uid(key, uid).await {
        Ok(_) => Ok(None),
        Err(e) if e.code() == 409 => Ok(Some(format!(
            "{key}: replaced by another client while landscape was deleting it; left alone"
        ))),
        Err(e) => Err(e),
    }
}

/// What pruning did with a component's stale members.
pub(crate) struct Pruning {
    pub pruned: Vec<ObjectKey>,
    /// Kept on purpose: CRDs, volumes, and namespaces that still hold other objects.
    pub retained: Vec<ObjectKey>,
    /// Why what was kept or not deleted was left: replaced by someone else, or a namespace
    /// that still holds other objects.
    pub left_alone: Vec<String>,
}

/// Deletes stale members — those that still carry the stack's ApplySet label — and then
/// the stale namespaces that hold nothing else: deleting a namespace deletes everything in
/// it, others' objects and kept volumes too.
pub(crate) async fn prune(
    cluster: &Cluster,
    stack: &str,
    stale: &[ObjectKey],
    delete_crds: bool,
    delete_volumes: bool,
) -> Result<Pruning, ClusterError> {
    let (mut retained, delete): (Vec<_>, Vec<_>) = stale
        .iter()
        .cloned()
        .partition(|k| is_retained(k, delete_crds, delete_volumes));
    let (namespaces, mut delete): (Vec<_>, Vec<_>) =
        delete.into_iter().partition(ObjectKey::is_namespace);
    let applyset = crate::cluster::inventory::applyset_id(stack);
    let owner = Owner::ApplySet(&applyset);
    let mut removal = delete_objects(cluster, delete.clone(), owner, Instant::now(), false).await?;
    let mut left_alone = Vec::new();
    let mut empty = Vec::new();
    for ns in namespaces {
        // No claim sources: any volume claim left there is a reason to keep it.
        let (others, _) = foreign_objects_in(cluster, &ns.name, &[]).await?;
        if others.is_empty() {
            empty.push(ns);
        } else {
            left_alone.push(format!("{ns}: kept, it still holds {}", others.join(", ")));
            retained.push(ns);
        }
    }
    let namespaces_removal =
        delete_objects(cluster, empty.clone(), owner, Instant::now(), false).await?;
    removal.left_alone.extend(namespaces_removal.left_alone);
    delete.extend(empty);
    let pruned = delete
        .into_iter()
        .filter(|k| !removal.left_alone.iter().any(|(l, _)| l == k))
        .collect();
    left_alone.extend(removal.left_alone.into_iter().map(|(_, why)| why));
    Ok(Pruning {
        pruned,
        retained,
        left_alone,
    })
}

/// Splits a batch of ClusterRoles into the aggregated ones (those with an
/// `aggregationRule`) and the rest, in that order; other batches stay whole.
///
/// Kubernetes' clusterrole-aggregation controller rewrites an aggregated role with a
/// server-side apply whenever a role it selects changes. Deleting both at once lets it
/// see the selected roles go while its cache still holds the aggregated one, and its
/// apply then re-creates the aggregated role we just deleted — unlabelled, and so
/// foreign to every later run. Deleting aggregated roles first closes that race: one
/// watch stream carries both kinds of event, so the controller's cache has dropped the
/// aggregated role before it hears about the others.
async fn aggregated_roles_first(
    cluster: &Cluster,
    batch: &[ObjectKey],
) -> Result<Vec<Vec<ObjectKey>>, ClusterError> {
    let is_cluster_role =
        |k: &ObjectKey| k.group == "rbac.authorization.k8s.io" && k.kind == "ClusterRole";
    if !batch.iter().any(is_cluster_role) {
        return Ok(vec![batch.to_vec()]);
    }
    let aggregated: std::collections::BTreeSet<String> = cluster
        .list("rbac.authorization.k8s.io/v1", "ClusterRole", None, "")
        .await?
        .iter()
        .filter(|r| r.0.get("aggregationRule").is_some_and(|a| !a.is_null()))
        .map(|r| r.name().to_string())
        .collect();
    let (first, rest): (Vec<ObjectKey>, Vec<ObjectKey>) = batch
        .iter()
        .cloned()
        .partition(|k| is_cluster_role(k) && aggregated.contains(&k.name));
    Ok([first, rest]
        .into_iter()
        .filter(|w| !w.is_empty())
        .collect())
}

async fn wait_gone(
    cluster: &Cluster,
    keys: &[ObjectKey],
    deadline: Instant,
) -> Result<Vec<String>, ClusterError> {
    let mut pending: Vec<ObjectKey> = keys.to_vec();
    let mut recreated = Vec::new();
    loop {
        let mut still = Vec::new();
        for k in pending {
            match cluster.get_key(&k).await? {
                // Deleted with background propagation, an object is either gone or
                // marked for deletion; one that is not was created anew by someone else.
                Some(live) if live.pointer("/metadata/deletionTimestamp").is_none() => {
                    recreated.push(format!(
                        "{k}: created again by {} after landscape deleted it; left alone",
                        managers(&live)
                    ));
                }
                Some(live) => still.push((k, live)),
                None => {}
            }
        }
        if still.is_empty() {
            return Ok(recreated);
        }
        if Instant::now() >= deadline {
            return Ok(recreated
                .into_iter()
                .chain(still.iter().map(|(k, live)| {
                    let finalizers: Vec<&str> = live
                        .pointer("/metadata/finalizers")
                        .and_then(|v| v.as_array())
                        .into_iter()
                        .flatten()
                        .filter_map(|f| f.as_str())
                        .collect();
                    if finalizers.is_empty() {
                        format!("{k}: still being deleted")
                    } else {
                        format!("{k}: waiting for finalizers {}", finalizers.join(", "))
                    }
                }))
                .collect());
        }
        pending = still.into_iter().map(|(k, _)| k).collect();
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The field managers that wrote an object, for telling who re-created it.
fn managers(live: &Object) -> String {
    let names: BTreeSet<&str> = live
        .pointer("/metadata/managedFields")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
        .filter_map(|m| m.get("manager").and_then(|m| m.as_str()))
        .collect();
    if names.is_empty() {
        "another client".to_string()
    } else {
        names.into_iter().collect::<Vec<_>>().join(", ")
    }
}

/// Uninstalls a stack: every member, in reverse dependency order, webhook configurations
/// first and namespaces last; then the inventory itself (unless objects were kept).
pub async fn down(
    cluster: &Cluster,
    stack: &str,
    sink: &dyn Sink,
    opts: &DownOptions,
) -> Result<DownReport, RunError> {
    let started = Instant::now();
    let deadline = started + opts.timeout;
    let Some(mut inv) = Inventory::load(cluster, stack).await? else {
        return Err(RunError::Cluster(ClusterError::Other(format!(
            "stack `{stack}` is not installed in this cluster (hint: `landscape status` lists the installed stacks)"
        ))));
    };
    let applyset = crate::cluster::inventory::applyset_id(stack);
    let owner = Owner::ApplySet(&applyset);
    let mut report = DownReport::default();
    let members = inv.members();
    let component_of: BTreeMap<String, String> = members
        .iter()
        .filter_map(|(c, k)| c.map(|c| (k.to_id(), c.to_string())))
        .collect();

    // The StatefulSets' volume claims are created by Kubernetes, not landscape; they are
    // recognised by name (`<template>-<statefulset>-<ordinal>`) when their namespace goes,
    // so the templates are read now, while the StatefulSets still exist.
    let mut claim_sources = Vec::new();
    for (_, k) in members
        .iter()
        .filter(|(_, k)| k.group == "apps" && k.kind == "StatefulSet")
    {
        if let (Some(namespace), Some(live)) = (&k.namespace, cluster.get_key(k).await?) {
            claim_sources.push(ClaimSource::of(namespace, &live));
        }
    }

    // 1. Every webhook configuration of the stack, before anything they could intercept.
    let webhooks: Vec<ObjectKey> = members
        .iter()
        .filter(|(c, k)| {
            c.is_some()
                && k.group == "admissionregistration.k8s.io"
                && k.kind.ends_with("WebhookConfiguration")
        })
        .map(|(_, k)| k.clone())
        .collect();
    delete_objects(cluster, webhooks.clone(), owner, deadline, true)
        .await?
        .record_in(&mut report);

    // 2. Components, dependents first. Namespaces wait for the end.
    let mut order: Vec<String> = inv.order.iter().rev().cloned().collect();
    for name in inv.components.keys() {
        if !order.contains(name) {
            order.insert(0, name.clone());
        }
    }
    let mut namespaces: BTreeSet<ObjectKey> = BTreeSet::new();
    let mut summaries = Vec::new();
    for name in order {
        let Some(record) = inv.components.get(&name).cloned() else {
            continue;
        };
        let comp_started = Instant::now();
        let keys: Vec<ObjectKey> = record
            .objects
            .iter()
            .filter_map(|id| ObjectKey::from_id(id))
            .collect();
        sink.emit(&Event::Removing {
            component: name.clone(),
            objects: keys.len(),
        });
        let mut delete = Vec::new();
        let mut retained = Vec::new();
        for k in keys {
            if k.is_namespace() {
                namespaces.insert(k);
            } else if webhooks.contains(&k) {
                continue;
            } else if is_retained(&k, opts.delete_crds, opts.delete_volumes) {
                retained.push(k);
            } else {
                delete.push(k);
            }
        }
        let deleted = delete.len()
            + webhooks
                .iter()
                .filter(|w| component_of.get(&w.to_id()) == Some(&name))
                .count();
        delete_objects(cluster, delete, owner, deadline, true)
            .await?
            .record_in(&mut report);
        inv.components.remove(&name);
        inv.retained.extend(retained.iter().map(ObjectKey::to_id));
        inv.updated = crate::report::now_rfc3339();
        inv.save(cluster).await?;
        let duration_ms = comp_started.elapsed().as_millis() as u64;
        sink.emit(&Event::Removed {
            component: name.clone(),
            deleted,
            retained: retained.clone(),
            duration_ms,
        });
        report.retained.extend(retained);
        summaries.push(ComponentSummary {
            name,
            state: "removed".into(),
            created: 0,
            configured: 0,
            unchanged: 0,
            pruned: deleted,
            duration_ms,
        });
    }

    // 3. Namespaces landscape created, last — except those holding kept volumes, whose
    // deletion would delete the volumes with them.
    let keep_ns: BTreeSet<&str> = report
        .retained
        .iter()
        .filter(|k| k.is_volume_claim())
        .filter_map(|k| k.namespace.as_deref())
        .collect();
    let (mut kept_ns, mut delete_ns): (Vec<ObjectKey>, Vec<ObjectKey>) = namespaces
        .into_iter()
        .partition(|k| keep_ns.contains(k.name.as_str()));
    // Deleting a namespace deletes everything in it: only namespaces that hold nothing
    // but landscape's (now deleted) objects go.
    let mut occupied = Vec::new();
    for ns in &delete_ns {
        let (foreign, claims) = foreign_objects_in(cluster, &ns.name, &claim_sources).await?;
        if opts.delete_volumes && !claims.is_empty() {
            // The volumes of landscape's StatefulSets, which the user asked to delete.
            delete_objects(cluster, claims, Owner::Made, deadline, true)
                .await?
                .record_in(&mut report);
        } else if !claims.is_empty() {
            report.notes.push(format!(
                "{ns}: kept, it holds the volumes of landscape's StatefulSets ({}; --delete-volumes to delete them)",
                claims.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
            ));
            occupied.push(ns.clone());
            continue;
        }
        if !foreign.is_empty() {
            report.notes.push(format!(
                "{ns}: kept, it holds objects landscape does not own ({})",
                foreign.join(", ")
            ));
            occupied.push(ns.clone());
        }
    }
    delete_ns.retain(|ns| !occupied.contains(ns));
    kept_ns.extend(occupied);
    delete_objects(cluster, delete_ns, owner, deadline, true)
        .await?
        .record_in(&mut report);
    inv.retained.extend(kept_ns.iter().map(ObjectKey::to_id));
    report.retained.extend(kept_ns);

    // 4. The inventory: gone when nothing is left, else it remembers what was kept.
    if inv.retained.is_empty() {
        Inventory::delete(cluster, stack).await?;
    } else {
        inv.order.clear();
        inv.updated = crate::report::now_rfc3339();
        inv.save(cluster).await?;
    }
    let summary = Summary {
        result: if report.stuck.is_empty() {
            "success".into()
        } else {
            "failed".into()
        },
        changed: true,
        components: summaries,
        duration_ms: started.elapsed().as_millis() as u64,
    };
    sink.emit(&Event::Summary(summary.clone()));
    report.summary = Some(summary);
    Ok(report)
}

/// Objects in a namespace that are not landscape's and would die with it — everything
/// except what Kubernetes puts in every namespace (the root CA ConfigMap, the default
/// ServiceAccount), events, and objects owned by other objects (garbage collected with
/// their owners). A kind that cannot be listed for another reason than not being
/// listable at all counts as foreign: what cannot be seen may not be deleted.
async fn foreign_objects_in(
    cluster: &Cluster,
    namespace: &str,
    claim_sources: &[ClaimSource],
) -> Result<(Vec<String>, Vec<ObjectKey>), ClusterError> {
    let mut found = Vec::new();
    let mut claims = Vec::new();
    for (api_version, kind) in cluster.namespaced_kinds() {
        if matches!(
            kind.as_str(),
            "Event"
                | "EndpointSlice"
                | "Endpoints"
                | "Lease"
                | "LocalSubjectAccessReview"
                | "Binding"
        ) {
            continue;
        }
        let items = match cluster.list(&api_version, &kind, Some(namespace), "").await {
            Ok(items) => items,
            // Not listable: a review kind, or a kind without a list verb.
            Err(e) if matches!(e.code(), 404 | 405) => continue,
            Err(e) => {
                found.push(format!("{kind} (cannot be listed: {e})"));
                continue;
            }
        };
        for o in items {
            let automatic = matches!(
                (kind.as_str(), o.name()),
                ("ConfigMap", "kube-root-ca.crt") | ("ServiceAccount", "default")
            );
            let owned_by_another = o
                .pointer("/metadata/ownerReferences")
                .and_then(|v| v.as_array())
                .is_some_and(|a| !a.is_empty());
            if automatic || owned_by_another || o.is_terminating() {
                continue;
            }
            if kind == "PersistentVolumeClaim"
                && claim_sources.iter().any(|c| c.made(namespace, o.name()))
            {
                claims.push(o.key());
            } else {
                found.push(format!("{kind} {}", o.name()));
            }
        }
    }
    Ok((found, claims))
}

/// A StatefulSet of landscape's, with the names of its volume claim templates: Kubernetes
/// names the claims it makes from them `<template>-<statefulset>-<ordinal>`.
struct ClaimSource {
    namespace: String,
    statefulset: String,
    templates: Vec<String>,
}

impl ClaimSource {
    fn of(namespace: &str, statefulset: &Object) -> ClaimSource {
        let templates = statefulset
            .pointer("/spec/volumeClaimTemplates")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
            .filter_map(|t| t.pointer("/metadata/name").and_then(|n| n.as_str()))
            .map(str::to_string)
            .collect();
        ClaimSource {
            namespace: namespace.to_string(),
            statefulset: statefulset.name().to_string(),
            templates,
        }
    }

    /// Whether the claim `name` in `namespace` was made from this StatefulSet's templates.
    fn made(&self, namespace: &str, name: &str) -> bool {
        namespace == self.namespace
            && self.templates.iter().any(|t| {
                name.strip_prefix(&format!("{t}-{}-", self.statefulset))
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statefulset_claims_are_recognised_by_their_templates() {
        let sts = Object(serde_json::json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "store", "namespace": "thanos"},
            "spec": {"volumeClaimTemplates": [{"metadata": {"name": "data"}}]},
        }));
        let source = ClaimSource::of("thanos", &sts);
        assert!(source.made("thanos", "data-store-0"));
        assert!(source.made("thanos", "data-store-12"));
        assert!(!source.made("other", "data-store-0"));
        assert!(
            !source.made("thanos", "data-thanos-store-0"),
            "another StatefulSet's"
        );
        assert!(!source.made("thanos", "data-store"));
        assert!(
            !source.made("thanos", "backup-store-0"),
            "not one of its templates"
        );
    }

    #[test]
    fn crds_and_volumes_are_kept_unless_asked() {
        let crd = ObjectKey {
            group: "apiextensions.k8s.io".into(),
            kind: "CustomResourceDefinition".into(),
            namespace: None,
            name: "x".into(),
        };
        let pvc = ObjectKey {
            group: "".into(),
            kind: "PersistentVolumeClaim".into(),
            namespace: Some("a".into()),
            name: "d".into(),
        };
        let cm = ObjectKey {
            group: "".into(),
            kind: "ConfigMap".into(),
            namespace: Some("a".into()),
            name: "c".into(),
        };
        assert!(is_retained(&crd, false, false) && is_retained(&pvc, false, false));
        assert!(!is_retained(&crd, true, false) && !is_retained(&pvc, false, true));
        assert!(!is_retained(&cm, false, false));
    }
}
