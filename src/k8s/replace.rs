//! Changes the API refuses on an existing object — immutable fields — can only be made by
//! replacing the object: deleting it and creating it again. How to replace each kind, and
//! whether that is safe enough to do without being asked, is Kubernetes knowledge:
//!
//! - A Job runs once; a new template means a new run. Replaced as Helm's
//!   `before-hook-creation` does, without asking.
//! - A StatefulSet is deleted orphaning its pods and claims, and the new one adopts them
//!   (its selector is unchanged), so nothing stops and no data moves.
//! - Role bindings (`roleRef`) and immutable ConfigMaps and Secrets are recreated at once:
//!   nothing runs from them directly.
//! - Anything whose replacement interrupts a workload or an address — a Deployment's or
//!   DaemonSet's selector, a StatefulSet's selector, a Service's `clusterIP` or `type` —
//!   needs consent: `--allow-replace`, or `replace: allow` on the component.
//! - A volume claim is never replaced without both that consent and `--delete-volumes`:
//!   replacing it deletes its data.

use super::Object;

/// How an object is replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replacement {
    /// Delete it (what it owns goes too), wait until it is gone, create it.
    Recreate,
    /// Delete it orphaning what it owns (a StatefulSet's pods), create it: the new object
    /// adopts them.
    Orphan,
}

/// What landscape needs before it replaces an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consent {
    /// Nothing: replacing it interrupts nothing that runs.
    None,
    /// `--allow-replace` (or the component's `replace: allow`).
    AllowReplace,
    /// Both that and `--delete-volumes`: the replacement deletes data.
    AllowReplaceAndVolumes,
}

/// How an object whose change the API refuses would be replaced, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplacePlan {
    pub how: Replacement,
    pub consent: Consent,
    /// What cannot change and what replacing it does, for messages.
    pub why: String,
}

/// How to replace `live` with `desired`, given the fields the API refused to change.
pub fn plan(desired: &Object, live: &Object, fields: &[String]) -> ReplacePlan {
    let fields = if fields.is_empty() || fields.iter().all(String::is_empty) {
        "some fields".to_string()
    } else {
        fields.join(", ")
    };
    let selector_changes = desired.pointer("/spec/selector") != live.pointer("/spec/selector");
    let (how, consent, why) = match (desired.group(), desired.kind()) {
        ("batch", "Job") => (
            Replacement::Recreate,
            Consent::None,
            format!("a Job's {fields} cannot change: it is deleted and created again, and runs again"),
        ),
        ("apps", "StatefulSet") if selector_changes => (
            Replacement::Recreate,
            Consent::AllowReplace,
            "a StatefulSet's selector cannot change: its pods are deleted and created again (its volume claims are kept)".to_string(),
        ),
        ("apps", "StatefulSet") => (
            Replacement::Orphan,
            Consent::None,
            format!("a StatefulSet's {fields} cannot change (volumeClaimTemplates, serviceName, podManagementPolicy): it is deleted orphaning its pods and claims, and the new one adopts them"),
        ),
        ("apps", "Deployment" | "DaemonSet" | "ReplicaSet") => (
            Replacement::Recreate,
            Consent::AllowReplace,
            format!("a {}'s selector cannot change: its pods are deleted and created again", desired.kind()),
        ),
        ("", "Service") => (
            Replacement::Recreate,
            Consent::AllowReplace,
            format!("a Service's {fields} cannot change this way: it is deleted and created again, with a new address"),
        ),
        ("", "PersistentVolumeClaim") => (
            Replacement::Recreate,
            Consent::AllowReplaceAndVolumes,
            "a volume claim's spec cannot change beyond its size: replacing it deletes its data".to_string(),
        ),
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => (
            Replacement::Recreate,
            Consent::None,
            "a binding's roleRef cannot change: it is deleted and created again".to_string(),
        ),
        ("", "ConfigMap" | "Secret") => (
            Replacement::Recreate,
            Consent::None,
            format!("an immutable {}'s {fields} cannot change: it is deleted and created again", desired.kind()),
        ),
        (_, kind) => (
            Replacement::Recreate,
            Consent::AllowReplace,
            format!("a {kind}'s {fields} cannot change: it would be deleted and created again"),
        ),
    };
    ReplacePlan { how, consent, why }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(api: &str, kind: &str, spec: serde_json::Value) -> Object {
        Object(
            json!({"apiVersion": api, "kind": kind, "metadata": {"name": "x", "namespace": "n"}, "spec": spec}),
        )
    }

    #[test]
    fn each_kind_is_replaced_its_own_way() {
        let fields = ["spec.template".to_string()];
        let job = obj("batch/v1", "Job", json!({"template": {}}));
        let p = plan(&job, &job, &fields);
        assert_eq!((p.how, p.consent), (Replacement::Recreate, Consent::None));
        assert!(p.why.contains("spec.template"), "{}", p.why);

        let sts = |app: &str| {
            obj(
                "apps/v1",
                "StatefulSet",
                json!({"selector": {"matchLabels": {"app": app}}}),
            )
        };
        let p = plan(&sts("a"), &sts("a"), &["spec".into()]);
        assert_eq!((p.how, p.consent), (Replacement::Orphan, Consent::None));
        let p = plan(&sts("b"), &sts("a"), &["spec".into()]);
        assert_eq!(
            (p.how, p.consent),
            (Replacement::Recreate, Consent::AllowReplace)
        );

        let deploy = obj("apps/v1", "Deployment", json!({}));
        assert_eq!(plan(&deploy, &deploy, &[]).consent, Consent::AllowReplace);
        let pvc = obj("v1", "PersistentVolumeClaim", json!({}));
        assert_eq!(
            plan(&pvc, &pvc, &[]).consent,
            Consent::AllowReplaceAndVolumes
        );
        let binding = obj("rbac.authorization.k8s.io/v1", "RoleBinding", json!({}));
        assert_eq!(plan(&binding, &binding, &[]).consent, Consent::None);
        let unknown = obj("example.com/v1", "Widget", json!({}));
        let p = plan(&unknown, &unknown, &["spec.size".into()]);
        assert_eq!(p.consent, Consent::AllowReplace);
        assert!(p.why.contains("Widget's spec.size"), "{}", p.why);
    }
}
