//! The order objects are applied in within a component.
//!
//! Helm's install order (which Argo CD also uses), with two changes: CRDs are not in the
//! list because they are applied and waited for before anything else, and webhook
//! configurations come after everything else (as in Helm 4 and Flux), so a component's
//! own webhook cannot reject its own objects before its server runs. Custom resources go
//! between the built-in kinds and the webhooks.

use crate::object::Object;

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

/// Built-in API groups: a kind from one of these is never a custom resource.
fn is_builtin_group(group: &str) -> bool {
    group.is_empty()
        || (group.ends_with(".k8s.io") && !group.ends_with(".x-k8s.io"))
        || matches!(group, "apps" | "batch" | "policy" | "autoscaling")
}

/// The rank of an object: lower goes first. Objects of equal rank may go in parallel.
pub fn rank(obj: &Object) -> usize {
    let kind = obj.kind();
    if obj.is_webhook_configuration() {
        return INSTALL_ORDER.len() + 2;
    }
    match INSTALL_ORDER.iter().position(|k| *k == kind) {
        Some(i) if is_builtin_group(obj.group()) => i,
        _ => INSTALL_ORDER.len() + 1,
    }
}

/// The order to delete objects in: the reverse of installing, except that webhook
/// configurations go first — so no component deadlocks on its own webhook while its pods
/// are being removed — and CRDs go last, after every custom resource.
pub fn delete_rank(obj: &Object) -> usize {
    if obj.is_webhook_configuration() {
        return 0;
    }
    if obj.is_crd() {
        return INSTALL_ORDER.len() + 10;
    }
    if obj.is_namespace() {
        return INSTALL_ORDER.len() + 11;
    }
    INSTALL_ORDER.len() + 3 - rank(obj)
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
