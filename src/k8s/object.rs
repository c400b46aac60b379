//! The one type every stage passes along: a Kubernetes object as plain JSON.
//!
//! landscape installs upstream manifests and charts full of custom resources, so it never
//! needs typed structs for what it applies; a JSON tree handles a CRD, a Deployment and a
//! CephCluster the same way. Typed access is limited to the few fields every object has.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Labels landscape puts on every object it applies.
pub mod labels {
    /// The well-known label naming the tool that manages an object.
    pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
    pub const MANAGED_BY_VALUE: &str = "landscape";
    /// The stack (a profile, or a user's stack file) the object belongs to.
    pub const STACK: &str = "landscape.dev/stack";
    /// The component within the stack.
    pub const COMPONENT: &str = "landscape.dev/component";
    /// ApplySet membership (KEP-3659): the ID of the stack's inventory parent.
    pub const APPLYSET_PART_OF: &str = "applyset.kubernetes.io/part-of";
}

/// Annotations that change how landscape treats an object.
pub mod annotations {
    /// `"true"`: create the object if it is missing, never update it (generated
    /// credentials that must not change on every run).
    pub const CREATE_ONLY: &str = "landscape.dev/create-only";
}

/// Identifies an object in a cluster: group, kind, namespace and name. The version is left
/// out on purpose: the same object may be served at several versions.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjectKey {
    pub group: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectKey {
    /// `Kind` for the core group, `Kind.group` otherwise — the spelling kubectl uses for
    /// group-kinds and ApplySets use in `contains-group-kinds`.
    pub fn group_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }
}

impl ObjectKey {
    /// A compact, unambiguous string form: `group/Kind/namespace/name` (empty parts stay
    /// empty). No part of a key can hold a `/`.
    pub fn to_id(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            self.group,
            self.kind,
            self.namespace.as_deref().unwrap_or_default(),
            self.name
        )
    }

    pub fn from_id(id: &str) -> Option<ObjectKey> {
        let mut parts = id.splitn(4, '/');
        let (group, kind, namespace, name) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if kind.is_empty() || name.is_empty() {
            return None;
        }
        Some(ObjectKey {
            group: group.to_string(),
            kind: kind.to_string(),
            namespace: (!namespace.is_empty()).then(|| namespace.to_string()),
            name: name.to_string(),
        })
    }

    pub fn is_crd(&self) -> bool {
        self.group == "apiextensions.k8s.io" && self.kind == "CustomResourceDefinition"
    }

    pub fn is_namespace(&self) -> bool {
        self.group.is_empty() && self.kind == "Namespace"
    }

    pub fn is_volume_claim(&self) -> bool {
        self.group.is_empty() && self.kind == "PersistentVolumeClaim"
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.group_kind(), ns, self.name),
            None => write!(f, "{} {}", self.group_kind(), self.name),
        }
    }
}

/// A Kubernetes object (rendered or live).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Object(pub Value);

impl Object {
    pub fn new(value: Value) -> Self {
        Object(value)
    }

    pub fn api_version(&self) -> &str {
        self.0
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    pub fn kind(&self) -> &str {
        self.0
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// The API group: empty for the core group (`apiVersion: v1`).
    pub fn group(&self) -> &str {
        split_api_version(self.api_version()).0
    }

    pub fn version(&self) -> &str {
        split_api_version(self.api_version()).1
    }

    pub fn name(&self) -> &str {
        self.pointer_str("/metadata/name").unwrap_or_default()
    }

    pub fn namespace(&self) -> Option<&str> {
        self.pointer_str("/metadata/namespace")
            .filter(|ns| !ns.is_empty())
    }

    pub fn key(&self) -> ObjectKey {
        ObjectKey {
            group: self.group().to_string(),
            kind: self.kind().to_string(),
            namespace: self.namespace().map(str::to_string),
            name: self.name().to_string(),
        }
    }

    pub fn pointer(&self, pointer: &str) -> Option<&Value> {
        self.0.pointer(pointer)
    }

    pub fn pointer_str(&self, pointer: &str) -> Option<&str> {
        self.0.pointer(pointer).and_then(Value::as_str)
    }

    pub fn pointer_i64(&self, pointer: &str) -> Option<i64> {
        self.0.pointer(pointer).and_then(Value::as_i64)
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        self.0
            .pointer("/metadata/labels")
            .and_then(|l| l.get(key))
            .and_then(Value::as_str)
    }

    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.0
            .pointer("/metadata/annotations")
            .and_then(|l| l.get(key))
            .and_then(Value::as_str)
    }

    pub fn generation(&self) -> Option<i64> {
        self.pointer_i64("/metadata/generation")
    }

    pub fn uid(&self) -> Option<&str> {
        self.pointer_str("/metadata/uid")
    }

    pub fn resource_version(&self) -> Option<&str> {
        self.pointer_str("/metadata/resourceVersion")
    }

    pub fn is_terminating(&self) -> bool {
        self.0
            .pointer("/metadata/deletionTimestamp")
            .is_some_and(|v| !v.is_null())
    }

    /// The `status.conditions` entry of the given type.
    pub fn condition(&self, kind: &str) -> Option<Condition<'_>> {
        self.0
            .pointer("/status/conditions")
            .and_then(Value::as_array)?
            .iter()
            .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))
            .map(Condition)
    }

    fn metadata_mut(&mut self) -> &mut Map<String, Value> {
        let root = ensure_object(&mut self.0);
        ensure_object(
            root.entry("metadata")
                .or_insert_with(|| Value::Object(Map::new())),
        )
    }

    pub fn set_namespace(&mut self, namespace: &str) {
        self.metadata_mut()
            .insert("namespace".into(), Value::String(namespace.to_string()));
    }

    pub fn set_label(&mut self, key: &str, value: &str) {
        let meta = self.metadata_mut();
        let labels = ensure_object(
            meta.entry("labels")
                .or_insert_with(|| Value::Object(Map::new())),
        );
        labels.insert(key.to_string(), Value::String(value.to_string()));
    }

    pub fn set_annotation(&mut self, key: &str, value: &str) {
        let meta = self.metadata_mut();
        let annotations = ensure_object(
            meta.entry("annotations")
                .or_insert_with(|| Value::Object(Map::new())),
        );
        annotations.insert(key.to_string(), Value::String(value.to_string()));
    }

    /// The body of an apply: the object without the fields the server owns.
    pub fn apply_body(&self) -> Value {
        let mut body = self.0.clone();
        if let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut) {
            for field in [
                "managedFields",
                "resourceVersion",
                "uid",
                "creationTimestamp",
                "generation",
            ] {
                meta.remove(field);
            }
        }
        if let Some(map) = body.as_object_mut() {
            map.remove("status");
        }
        body
    }

    pub fn is_create_only(&self) -> bool {
        self.annotation(annotations::CREATE_ONLY) == Some("true")
    }

    pub fn is_crd(&self) -> bool {
        self.kind() == "CustomResourceDefinition" && self.group() == "apiextensions.k8s.io"
    }

    pub fn is_namespace(&self) -> bool {
        self.kind() == "Namespace" && self.group().is_empty()
    }

    pub fn is_secret(&self) -> bool {
        self.kind() == "Secret" && self.group().is_empty()
    }

    pub fn is_webhook_configuration(&self) -> bool {
        self.group() == "admissionregistration.k8s.io"
            && matches!(
                self.kind(),
                "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration"
            )
    }
}

/// A read-only view of one `status.conditions[]` entry.
#[derive(Clone, Copy, Debug)]
pub struct Condition<'a>(&'a Value);

impl<'a> Condition<'a> {
    pub fn status(&self) -> &'a str {
        self.field("status")
    }
    pub fn is_true(&self) -> bool {
        self.status() == "True"
    }
    pub fn reason(&self) -> &'a str {
        self.field("reason")
    }
    pub fn message(&self) -> &'a str {
        self.field("message")
    }
    pub fn observed_generation(&self) -> Option<i64> {
        self.0.get("observedGeneration").and_then(Value::as_i64)
    }
    fn field(&self, name: &str) -> &'a str {
        self.0.get(name).and_then(Value::as_str).unwrap_or_default()
    }
}

/// Splits `group/version` (or the core `v1`) into its parts.
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.rsplit_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    }
}

fn ensure_object(value: &mut Value) -> &mut Map<String, Value> {
    if !value.is_object() {
        *value = Value::Object(Map::new());
    }
    value.as_object_mut().expect("just made an object")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_and_group_kind() {
        let obj = Object(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop"}
        }));
        assert_eq!(obj.group(), "apps");
        assert_eq!(obj.version(), "v1");
        assert_eq!(obj.key().to_string(), "Deployment.apps shop/web");
        let core =
            Object(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}));
        assert_eq!(core.key().to_string(), "Namespace shop");
        assert!(core.is_namespace());
    }

    #[test]
    fn labels_are_added_without_touching_others() {
        let mut obj = Object(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "labels": {"app": "x"}}}));
        obj.set_label(labels::COMPONENT, "argocd");
        assert_eq!(obj.label("app"), Some("x"));
        assert_eq!(obj.label(labels::COMPONENT), Some("argocd"));
    }

    #[test]
    fn ids_round_trip() {
        for key in [
            ObjectKey {
                group: "".into(),
                kind: "ConfigMap".into(),
                namespace: Some("a".into()),
                name: "b".into(),
            },
            ObjectKey {
                group: "rbac.authorization.k8s.io".into(),
                kind: "ClusterRole".into(),
                namespace: None,
                name: "system:x".into(),
            },
        ] {
            assert_eq!(ObjectKey::from_id(&key.to_id()), Some(key));
        }
        assert_eq!(ObjectKey::from_id("nonsense"), None);
    }

    #[test]
    fn conditions_are_found_by_type() {
        let obj = Object(json!({"status": {"conditions": [
            {"type": "Ready", "status": "False", "reason": "Waiting", "message": "not yet"}
        ]}}));
        let ready = obj.condition("Ready").unwrap();
        assert!(!ready.is_true());
        assert_eq!(ready.reason(), "Waiting");
        assert!(obj.condition("Available").is_none());
    }
}
