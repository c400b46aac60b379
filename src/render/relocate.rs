//! Moving a manifest into another namespace, as kustomize's `namespace:` transformer does:
//! the objects, and the references that point at the namespace they came from.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::k8s::Object;

/// Moves every namespaced object to `target`; drops the manifest's own Namespace objects
/// (landscape creates the component's namespace) and rewrites ServiceAccount subjects,
/// webhook services and APIService services that named an old namespace.
pub fn into_namespace(objects: &mut Vec<Object>, target: &str) {
    let mut old: BTreeSet<String> = objects
        .iter()
        .filter_map(|o| o.namespace().map(str::to_string))
        .collect();
    old.extend(
        objects
            .iter()
            .filter(|o| o.is_namespace())
            .map(|o| o.name().to_string()),
    );
    objects.retain(|o| !o.is_namespace());
    // Points a reference (`{namespace: …}`) at the target if it named a moved namespace.
    let retarget = |reference: &mut Value| {
        let from = reference.get("namespace").and_then(Value::as_str);
        if from.is_some_and(|ns| old.contains(ns)) {
            reference["namespace"] = Value::String(target.to_string());
        }
    };
    for obj in objects.iter_mut() {
        if obj.namespace().is_some() {
            obj.set_namespace(target);
        }
        let kind = obj.kind().to_string();
        match kind.as_str() {
            "RoleBinding" | "ClusterRoleBinding" => {
                if let Some(subjects) = obj.0.get_mut("subjects").and_then(Value::as_array_mut) {
                    subjects
                        .iter_mut()
                        .filter(|s| s.get("kind").and_then(Value::as_str) == Some("ServiceAccount"))
                        .for_each(retarget);
                }
            }
            "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration" => {
                if let Some(hooks) = obj.0.get_mut("webhooks").and_then(Value::as_array_mut) {
                    hooks
                        .iter_mut()
                        .filter_map(|h| h.pointer_mut("/clientConfig/service"))
                        .for_each(retarget);
                }
            }
            "APIService" => {
                if let Some(svc) = obj.0.pointer_mut("/spec/service") {
                    retarget(svc);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn moves_objects_and_references() {
        let mut objs = vec![
            Object(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "old"}})),
            Object(
                json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "op", "namespace": "old"}}),
            ),
            Object(
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "op"},
                "subjects": [{"kind": "ServiceAccount", "name": "op", "namespace": "old"}, {"kind": "ServiceAccount", "name": "x", "namespace": "other"}]}),
            ),
        ];
        into_namespace(&mut objs, "monitoring");
        assert_eq!(objs.len(), 2);
        assert_eq!(objs[0].namespace(), Some("monitoring"));
        assert_eq!(objs[1].0["subjects"][0]["namespace"], "monitoring");
        assert_eq!(objs[1].0["subjects"][1]["namespace"], "other");
    }
}
