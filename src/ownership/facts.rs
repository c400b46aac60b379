//! Reading the cluster for the decisions that depend on more than the object itself: what
//! a namespace holds, and how many custom resources a CRD still serves.

use serde_json::Value;

use crate::cluster::{Cluster, ClusterError};
use crate::k8s::{CrdInfo, Object, ObjectKey};

/// What a namespace holds, beyond what Kubernetes puts in every namespace.
#[derive(Clone, Debug, Default)]
pub struct NamespaceContents {
    /// Every object, by key (kinds that could not be listed are named in `unlisted`).
    pub objects: Vec<ObjectKey>,
    /// The volume claims Kubernetes made for a StatefulSet of the stack, from its claim
    /// templates: landscape's data, though no label says so.
    pub claims: Vec<ObjectKey>,
    /// Kinds that could not be listed: what cannot be seen may not be deleted.
    pub unlisted: Vec<String>,
}

impl NamespaceContents {
    /// What the namespace holds besides `going` (objects this run deletes), for messages
    /// and for [`super::Facts::namespace_holds`].
    pub fn holds_besides(&self, going: &dyn Fn(&ObjectKey) -> bool) -> Vec<String> {
        self.objects
            .iter()
            .chain(&self.claims)
            .filter(|k| !going(k))
            .map(|k| format!("{} {}", k.kind, k.name))
            .chain(
                self.unlisted
                    .iter()
                    .map(|k| format!("{k} (cannot be listed)")),
            )
            .collect()
    }
}

/// Kinds never worth listing in a namespace: events and endpoints come and go with what
/// they describe, Leases with their holders, and review kinds cannot be listed.
const EPHEMERAL_KINDS: &[&str] = &[
    "Event",
    "EndpointSlice",
    "Endpoints",
    "Lease",
    "LocalSubjectAccessReview",
    "Binding",
];

/// Lists what a namespace holds, except what Kubernetes puts in every namespace (the root
/// CA ConfigMap, the default ServiceAccount), objects owned by other objects (garbage
/// collected with their owners) and objects already being deleted.
pub async fn namespace_contents(
    cluster: &Cluster,
    namespace: &str,
    claim_sources: &[ClaimSource],
) -> Result<NamespaceContents, ClusterError> {
    let mut out = NamespaceContents::default();
    for (api_version, kind) in cluster.namespaced_kinds() {
        if EPHEMERAL_KINDS.contains(&kind.as_str()) {
            continue;
        }
        let items = match cluster.list(&api_version, &kind, Some(namespace), "").await {
            Ok(items) => items,
            // Not listable: a kind without a list verb.
            Err(e) if matches!(e.code(), 404 | 405) => continue,
            Err(e) if e.is_transient() => return Err(e),
            Err(_) => {
                out.unlisted.push(kind);
                continue;
            }
        };
        for o in items {
            if o.is_terminating() {
                continue;
            }
            // A StatefulSet's claims count whoever owns them: with a retention policy of
            // Delete they are owned by the StatefulSet, yet they hold data users keep.
            if o.key().is_volume_claim() && claim_sources.iter().any(|c| c.made(&o)) {
                out.claims.push(o.key());
                continue;
            }
            let automatic = matches!(
                (kind.as_str(), o.name()),
                ("ConfigMap", "kube-root-ca.crt") | ("ServiceAccount", "default")
            );
            let owned_by_another = o
                .pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty());
            if !automatic && !owned_by_another {
                out.objects.push(o.key());
            }
        }
    }
    Ok(out)
}

/// The facts for applying `desired` over `live`: for a CRD that stops serving a version,
/// how many custom resources of its kind exist (the API's refusals, the other fact, come
/// from dry runs and applies).
pub async fn for_rendered(
    cluster: &Cluster,
    desired: &Object,
    live: Option<&Object>,
) -> Result<super::Facts, ClusterError> {
    let mut facts = super::Facts::default();
    if let Some(live) = live
        && desired.is_crd()
        && !crate::k8s::crd::version_changes(live, desired)
            .unserved
            .is_empty()
    {
        facts.custom_resources = custom_resources(cluster, live, &|_| false).await?;
    }
    Ok(facts)
}

/// How many custom resources of a CRD's kind exist that `owned` does not claim.
pub async fn custom_resources(
    cluster: &Cluster,
    crd: &Object,
    owned: &dyn Fn(&ObjectKey) -> bool,
) -> Result<usize, ClusterError> {
    let Some(info) = CrdInfo::of(crd) else {
        return Ok(0);
    };
    let Some(resource) = cluster.resource_any_version(&info.group, &info.kind) else {
        return Ok(0);
    };
    let items = cluster
        .list(&resource.api.api_version, &info.kind, None, "")
        .await?;
    Ok(items.iter().filter(|o| !owned(&o.key())).count())
}

/// A StatefulSet of the stack, with the names of its volume claim templates: Kubernetes
/// names the claims it makes from them `<template>-<statefulset>-<ordinal>`.
#[derive(Clone, Debug)]
pub struct ClaimSource {
    namespace: String,
    statefulset: String,
    templates: Vec<String>,
}

impl ClaimSource {
    pub fn of(statefulset: &Object) -> ClaimSource {
        let templates = statefulset
            .pointer("/spec/volumeClaimTemplates")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| t.pointer("/metadata/name").and_then(Value::as_str))
            .map(str::to_string)
            .collect();
        ClaimSource {
            namespace: statefulset.namespace().unwrap_or_default().to_string(),
            statefulset: statefulset.name().to_string(),
            templates,
        }
    }

    /// Whether a claim was made from this StatefulSet's templates.
    pub fn made(&self, claim: &Object) -> bool {
        self.made_name(claim.namespace().unwrap_or_default(), claim.name())
    }

    fn made_name(&self, namespace: &str, name: &str) -> bool {
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
        let source = ClaimSource::of(&sts);
        assert!(source.made_name("thanos", "data-store-0"));
        assert!(source.made_name("thanos", "data-store-12"));
        assert!(!source.made_name("other", "data-store-0"));
        assert!(
            !source.made_name("thanos", "data-thanos-store-0"),
            "another StatefulSet's"
        );
        assert!(!source.made_name("thanos", "data-store"));
        assert!(
            !source.made_name("thanos", "backup-store-0"),
            "not one of its templates"
        );
    }
}
