//! What landscape knows about Kubernetes itself, in one place: the object type every stage
//! passes along, the built-in API groups and kinds, how to read a CRD, which namespaces are
//! the system's, the order objects are applied and deleted in, which names the API accepts,
//! and what the renderer may know of a cluster. Nothing here does I/O.

pub mod base64;
pub mod crd;
pub mod image;
pub mod names;
pub mod object;
pub mod order;
pub mod pod_security;
pub mod quantity;
pub mod replace;
pub mod scope;
pub mod selector;
pub mod version;
pub mod workload;

pub use object::{Condition, Object, ObjectKey, annotations, labels, split_api_version};

use serde_json::Value;

/// The namespaces Kubernetes runs itself in: stack-wide policies leave them alone.
pub const KUBERNETES_NAMESPACES: [&str; 3] = ["kube-system", "kube-public", "kube-node-lease"];

/// Whether a namespace exists in every cluster — Kubernetes' own, and `default`: no
/// component creates or owns one.
pub fn is_system_namespace(name: &str) -> bool {
    name == "default" || KUBERNETES_NAMESPACES.contains(&name)
}

/// The API groups kube-apiserver serves itself. Named one by one: a `.k8s.io` suffix does
/// not make a group built in — Gateway API (`gateway.networking.k8s.io`) and volume
/// snapshots (`snapshot.storage.k8s.io`) are CRDs, and `metrics.k8s.io` is an aggregated
/// API.
const BUILTIN_GROUPS: &[&str] = &[
    "",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "apiregistration.k8s.io",
    "apps",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "autoscaling",
    "batch",
    "certificates.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "events.k8s.io",
    "flowcontrol.apiserver.k8s.io",
    "internal.apiserver.k8s.io",
    "networking.k8s.io",
    "node.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "resource.k8s.io",
    "scheduling.k8s.io",
    "storage.k8s.io",
    "storagemigration.k8s.io",
];

/// Built-in API groups: a kind from one of these is never a custom resource.
pub fn is_builtin_group(group: &str) -> bool {
    BUILTIN_GROUPS.contains(&group)
}

/// What a CustomResourceDefinition defines, read from its spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrdInfo {
    pub group: String,
    pub kind: String,
    pub plural: String,
    pub namespaced: bool,
    /// Versions with `served: true` (a version without the field is served).
    pub served: Vec<String>,
    /// The version marked `storage: true`.
    pub storage: Option<String>,
}

impl CrdInfo {
    /// Reads a CRD; None for any other object.
    pub fn of(obj: &Object) -> Option<CrdInfo> {
        if !obj.is_crd() {
            return None;
        }
        let versions: Vec<&Value> = obj
            .pointer("/spec/versions")
            .and_then(Value::as_array)
            .map(|v| v.iter().collect())
            .unwrap_or_default();
        let name_of = |v: &Value| v.get("name").and_then(Value::as_str).map(str::to_string);
        Some(CrdInfo {
            group: obj.pointer_str("/spec/group").unwrap_or_default().into(),
            kind: obj
                .pointer_str("/spec/names/kind")
                .unwrap_or_default()
                .into(),
            plural: obj
                .pointer_str("/spec/names/plural")
                .unwrap_or_default()
                .into(),
            namespaced: obj.pointer_str("/spec/scope") != Some("Cluster"),
            served: versions
                .iter()
                .filter(|v| v.get("served").and_then(Value::as_bool) != Some(false))
                .filter_map(|v| name_of(v))
                .collect(),
            storage: versions
                .iter()
                .find(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
                .and_then(|v| name_of(v)),
        })
    }

    /// `(group, kind)`, the pair objects of this CRD are recognised by.
    pub fn group_kind(&self) -> (String, String) {
        (self.group.clone(), self.kind.clone())
    }
}

/// What the renderer may know about the target cluster. Comes from discovery when a
/// cluster is connected, from flags when rendering offline.
#[derive(Clone, Debug, Default)]
pub struct Capabilities {
    /// `v1.36.3`; None when rendering offline.
    pub kube_version: Option<String>,
    /// `group/version` and `group/version/Kind` entries, as `helm template --api-versions`.
    pub api_versions: Vec<String>,
    /// (group, kind, namespaced) of every resource the cluster serves.
    pub resources: Vec<(String, String, bool)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builtin_groups_exclude_sig_crds() {
        assert!(is_builtin_group(""));
        assert!(is_builtin_group("apps"));
        assert!(is_builtin_group("rbac.authorization.k8s.io"));
        assert!(!is_builtin_group("gateway.networking.k8s.io"));
        assert!(!is_builtin_group("snapshot.storage.k8s.io"));
        assert!(!is_builtin_group("gateway.networking.x-k8s.io"));
        assert!(!is_builtin_group("monitoring.coreos.com"));
    }

    #[test]
    fn crds_are_read_with_their_served_and_storage_versions() {
        let crd = Object(json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.io"},
            "spec": {"group": "example.io", "scope": "Cluster",
                "names": {"kind": "Widget", "plural": "widgets"},
                "versions": [
                    {"name": "v1alpha1", "served": false, "storage": false},
                    {"name": "v1", "served": true, "storage": true},
                ]}
        }));
        let info = CrdInfo::of(&crd).unwrap();
        assert_eq!(info.group_kind(), ("example.io".into(), "Widget".into()));
        assert!(!info.namespaced);
        assert_eq!(info.served, ["v1"]);
        assert_eq!(info.storage.as_deref(), Some("v1"));
        assert!(CrdInfo::of(&Object(json!({"apiVersion": "v1", "kind": "ConfigMap"}))).is_none());
    }
}
