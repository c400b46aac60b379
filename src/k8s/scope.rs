//! Which kinds are cluster-scoped.
//!
//! Upstream manifests are often written for `kubectl apply -n NS` and leave namespaced
//! objects without a namespace, while Helm charts rely on the release namespace. landscape
//! puts such objects in the component's namespace, which needs to know what is namespaced
//! before any cluster is asked: built-in kinds from this table, custom kinds from the CRDs
//! the stack itself installs, and (when connected) the cluster's discovery.

use std::collections::BTreeMap;

use super::{CrdInfo, Object};

/// Built-in cluster-scoped kinds, by (group, kind).
const CLUSTER_SCOPED: &[(&str, &str)] = &[
    ("", "Namespace"),
    ("", "Node"),
    ("", "PersistentVolume"),
    ("", "ComponentStatus"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
    ),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
    ),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "MutatingAdmissionPolicyBinding",
    ),
    ("storage.k8s.io", "StorageClass"),
    ("storage.k8s.io", "CSIDriver"),
    ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "VolumeAttachment"),
    ("storage.k8s.io", "VolumeAttributesClass"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("node.k8s.io", "RuntimeClass"),
    ("networking.k8s.io", "IngressClass"),
    ("networking.k8s.io", "IPAddress"),
    ("networking.k8s.io", "ServiceCIDR"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("certificates.k8s.io", "ClusterTrustBundle"),
    ("policy", "PodSecurityPolicy"),
    ("resource.k8s.io", "DeviceClass"),
    ("resource.k8s.io", "ResourceSlice"),
    ("snapshot.storage.k8s.io", "VolumeSnapshotClass"),
    ("snapshot.storage.k8s.io", "VolumeSnapshotContent"),
    ("gateway.networking.k8s.io", "GatewayClass"),
];

/// Groups whose kinds are all cluster-scoped and whose CRDs are created at run time by an
/// operator, so no manifest describes them: Gatekeeper's constraint kinds.
const RUNTIME_GROUPS: &[&str] = &["constraints.gatekeeper.sh"];

/// True for groups whose CRDs an operator creates at run time (no manifest installs them).
pub fn created_at_run_time(group: &str) -> bool {
    RUNTIME_GROUPS.contains(&group)
}

/// Knows, for each (group, kind), whether its objects live in a namespace.
#[derive(Clone, Debug, Default)]
pub struct Scopes {
    /// (group, kind) → namespaced?
    known: BTreeMap<(String, String), bool>,
}

impl Scopes {
    /// Built-in knowledge plus the CRDs among `objects`.
    pub fn new<'a>(objects: impl IntoIterator<Item = &'a Object>) -> Scopes {
        let mut scopes = Scopes::default();
        for (g, k) in CLUSTER_SCOPED {
            scopes.known.insert((g.to_string(), k.to_string()), false);
        }
        for crd in objects.into_iter().filter_map(CrdInfo::of) {
            scopes.known.insert(crd.group_kind(), crd.namespaced);
        }
        scopes
    }

    /// Adds what the cluster's discovery says; it wins over guesses.
    pub fn learn(&mut self, group: &str, kind: &str, namespaced: bool) {
        self.known
            .insert((group.to_string(), kind.to_string()), namespaced);
    }

    /// Namespaced unless known to be cluster-scoped: almost every kind is namespaced, and
    /// guessing wrong the other way would put objects in the wrong place silently.
    pub fn is_namespaced(&self, group: &str, kind: &str) -> bool {
        if created_at_run_time(group) {
            return false;
        }
        self.known
            .get(&(group.to_string(), kind.to_string()))
            .copied()
            .unwrap_or(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn crds_in_the_stack_define_their_scope() {
        let crd = Object(json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "clusterissuers.cert-manager.io"},
            "spec": {"group": "cert-manager.io", "scope": "Cluster", "names": {"kind": "ClusterIssuer"}}
        }));
        let scopes = Scopes::new([&crd]);
        assert!(!scopes.is_namespaced("cert-manager.io", "ClusterIssuer"));
        assert!(scopes.is_namespaced("cert-manager.io", "Certificate"));
        assert!(!scopes.is_namespaced("rbac.authorization.k8s.io", "ClusterRole"));
        assert!(scopes.is_namespaced("apps", "Deployment"));
        assert!(!scopes.is_namespaced("constraints.gatekeeper.sh", "K8sRequiredLabels"));
    }
}
