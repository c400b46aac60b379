//! The order objects are applied in within a component.
//!
//! Helm's install order (which Argo CD also uses), with two changes: CRDs are not in the
//! list because they are applied and waited for before anything else, and webhook
//! configurations come after everything else (as in Helm 4 and Flux), so a component's
//! own webhook cannot reject its own objects before its server runs. Custom resources go
//! between the built-in kinds and the webhooks.

use super::{Object, is_builtin_group};

const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
];

/// The rank of an object: lower goes first. Objects of equal rank may go in parallel.
pub fn rank(obj: &Object) -> usize {
    rank_of(obj.group(), obj.kind())
}

/// The install rank of a group and kind.
pub fn rank_of(group: &str, kind: &str) -> usize {
    if is_webhook_configuration(group, kind) {
        return INSTALL_ORDER.len() + 2;
    }
    match INSTALL_ORDER.iter().position(|k| *k == kind) {
        Some(i) if is_builtin_group(group) => i,
        _ => INSTALL_ORDER.len() + 1,
    }
}

fn is_webhook_configuration(group: &str, kind: &str) -> bool {
    group == "admissionregistration.k8s.io"
        && matches!(
            kind,
            "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration"
        )
}

/// The order to delete objects in: the reverse of installing, except that webhook
/// configurations go first — so no component deadlocks on its own webhook while its pods
/// are being removed — and CRDs go last, after every custom resource.
pub fn delete_rank(obj: &Object) -> usize {
    delete_rank_of(obj.group(), obj.kind())
}

/// The deletion rank of a group and kind.
pub fn delete_rank_of(group: &str, kind: &str) -> usize {
    if is_webhook_configuration(group, kind) {
        return 0;
    }
    match (group, kind) {
        ("apiextensions.k8s.io", "CustomResourceDefinition") => INSTALL_ORDER.len() + 10,
        ("", "Namespace") => INSTALL_ORDER.len() + 11,
        _ => INSTALL_ORDER.len() + 3 - rank_of(group, kind),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn o(api: &str, kind: &str) -> Object {
        Object(json!({"apiVersion": api, "kind": kind, "metadata": {"name": "x"}}))
    }

    #[test]
    fn webhooks_last_custom_resources_before_them() {
        let mut objs = [
            o(
                "admissionregistration.k8s.io/v1",
                "ValidatingWebhookConfiguration",
            ),
            o("monitoring.coreos.com/v1", "Prometheus"),
            o("apps/v1", "Deployment"),
            o("v1", "ServiceAccount"),
            o("v1", "Service"),
        ];
        objs.sort_by_key(rank);
        let kinds: Vec<_> = objs.iter().map(|o| o.kind().to_string()).collect();
        assert_eq!(
            kinds,
            [
                "ServiceAccount",
                "Service",
                "Deployment",
                "Prometheus",
                "ValidatingWebhookConfiguration"
            ]
        );
    }

    #[test]
    fn a_custom_kind_named_like_a_builtin_is_custom() {
        assert_eq!(
            rank(&o("example.com/v1", "Service")),
            INSTALL_ORDER.len() + 1
        );
    }

    #[test]
    fn deletion_starts_with_webhooks_and_ends_with_crds_and_namespaces() {
        let mut objs = [
            o("v1", "Namespace"),
            o("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
            o("apps/v1", "Deployment"),
            o(
                "admissionregistration.k8s.io/v1",
                "MutatingWebhookConfiguration",
            ),
            o("v1", "ConfigMap"),
        ];
        objs.sort_by_key(delete_rank);
        let kinds: Vec<_> = objs.iter().map(|o| o.kind().to_string()).collect();
        assert_eq!(
            kinds,
            [
                "MutatingWebhookConfiguration",
                "Deployment",
                "ConfigMap",
                "CustomResourceDefinition",
                "Namespace"
            ]
        );
    }
}
