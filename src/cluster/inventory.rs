//! What landscape owns in a cluster: one inventory per installed stack, stored as an
//! ApplySet parent (KEP-3659) so that kubectl can read it too.
//!
//! The parent is a Secret `landscape-<stack>` in `kube-system` (a Secret because it
//! records the values the stack was installed with, which may hold credentials). It
//! carries the standard `applyset.kubernetes.io/*` label and annotations; every member
//! carries `applyset.kubernetes.io/part-of: <id>`. Its data lists the members by
//! component, with each component's version, when it was last applied, and what the
//! health gates need to re-check it (`status`).
//!
//! Ownership is membership: an object that is not in the inventory is never modified or
//! deleted, whatever labels it carries.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{ApplyOptions, Cluster, ClusterError};
use crate::object::{Object, ObjectKey, labels};
use crate::stack::ReadinessRule;

/// Where inventories live.
pub const NAMESPACE: &str = "kube-system";
/// Marks inventory parents, to find them all.
pub const INVENTORY_LABEL: &str = "landscape.dev/inventory";
const TOOLING: &str = concat!("landscape/", env!("CARGO_PKG_VERSION"));

/// The parent's name for a stack.
pub fn parent_name(stack: &str) -> String {
    format!("landscape-{stack}")
}

/// The ApplySet ID: `applyset-` + base64url(sha256(`<name>.<namespace>.Secret.`)) + `-v1`,
/// exactly as kubectl computes it.
pub fn applyset_id(stack: &str) -> String {
    use sha2::Digest;
    let digest =
        sha2::Sha256::digest(format!("{}.{NAMESPACE}.Secret.", parent_name(stack)).as_bytes());
    format!("applyset-{}-v1", base64url(&digest))
}

fn base64url(bytes: &[u8]) -> String {
    crate::render::base64_encode(bytes)
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_")
}

/// One component's record.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// RFC 3339; empty until the component was first healthy.
    #[serde(default)]
    pub last_applied: String,
    #[serde(default)]
    pub cni: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub readiness: Vec<ReadinessRule>,
    /// Member ids (`group/Kind/namespace/name`).
    #[serde(default)]
    pub objects: BTreeSet<String>,
}

/// What the stack was installed from, so `diff` can rebuild it with no flags.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Inputs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// The stack file's text, when one was used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_file: Option<String>,
    /// Where that file was (absolute): its name may give the stack its name, and its
    /// relative source paths point beside it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_path: Option<String>,
    /// Each `-f` file's content, in order.
    #[serde(default)]
    pub values_files: Vec<String>,
    #[serde(default)]
    pub set: Vec<String>,
}

/// A stack's inventory.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Inventory {
    pub stack: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// sha256 of every component's final values.
    #[serde(default)]
    pub values_digest: String,
    /// Components in install order; removal goes the other way.
    #[serde(default)]
    pub order: Vec<String>,
    #[serde(default)]
    pub components: BTreeMap<String, ComponentRecord>,
    /// Objects no longer part of any component but kept on purpose (CRDs, volumes):
    /// still landscape's, so a later install or an opted-in prune may use them.
    #[serde(default)]
    pub retained: BTreeSet<String>,
    #[serde(default)]
    pub inputs: Inputs,
    #[serde(default)]
    pub updated: String,
}

impl Inventory {
    pub fn new(stack: &str) -> Inventory {
        Inventory {
            stack: stack.to_string(),
            ..Default::default()
        }
    }

    /// Whether landscape owns `key` in this stack.
    pub fn owns(&self, key: &ObjectKey) -> bool {
        let id = key.to_id();
        self.retained.contains(&id) || self.components.values().any(|c| c.objects.contains(&id))
    }

    /// Whether landscape owns this live object: it is a member, and it still carries the
    /// stack's ApplySet label — an object someone deleted and re-created under the same
    /// name is theirs, not ours.
    pub fn owns_live(&self, live: &Object) -> bool {
        self.owns(&live.key())
            && live.label(labels::APPLYSET_PART_OF) == Some(applyset_id(&self.stack).as_str())
    }

    /// Every member, with the component it belongs to (retained objects under `None`).
    pub fn members(&self) -> Vec<(Option<&str>, ObjectKey)> {
        let mut out = Vec::new();
        for (name, c) in &self.components {
            for id in &c.objects {
                if let Some(k) = ObjectKey::from_id(id) {
                    out.push((Some(name.as_str()), k));
                }
            }
        }
        for id in &self.retained {
            if let Some(k) = ObjectKey::from_id(id) {
                out.push((None, k));
            }
        }
        out
    }

    /// Adds members to a component (before they are created, so a crash never orphans
    /// them); a retained object that is rendered again becomes a member again.
    pub fn add(&mut self, component: &str, keys: impl IntoIterator<Item = ObjectKey>) {
        let record = self.components.entry(component.to_string()).or_default();
        for k in keys {
            let id = k.to_id();
            self.retained.remove(&id);
            record.objects.insert(id);
        }
    }

    pub fn component_objects(&self, component: &str) -> Vec<ObjectKey> {
        self.components
            .get(component)
            .map(|c| {
                c.objects
                    .iter()
                    .filter_map(|id| ObjectKey::from_id(id))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Reads a stack's inventory, if the stack is installed.
    pub async fn load(cluster: &Cluster, stack: &str) -> Result<Option<Inventory>, ClusterError> {
        let parent = cluster.get(&parent_stub(stack)).await?;
        parent.map(|p| decode(&p)).transpose()
    }

    /// Every inventory in the cluster (every installed stack).
    pub async fn list(cluster: &Cluster) -> Result<Vec<Inventory>, ClusterError> {
        let parents = cluster
            .list(
                "v1",
                "Secret",
                Some(NAMESPACE),
                &format!("{INVENTORY_LABEL}=true"),
            )
            .await?;
        parents.iter().map(decode).collect()
    }

    /// Writes the parent (server-side apply, landscape's field manager).
    pub async fn save(&self, cluster: &Cluster) -> Result<(), ClusterError> {
        cluster
            .apply(
                &self.to_parent(),
                ApplyOptions {
                    dry_run: false,
                    force: true,
                },
            )
            .await
            .map(|_| ())
    }

    pub async fn delete(cluster: &Cluster, stack: &str) -> Result<(), ClusterError> {
        cluster.delete(&parent_stub(stack).key()).await.map(|_| ())
    }

    /// The parent object: the ApplySet label and annotations, and the inventory as data.
    pub fn to_parent(&self) -> Object {
        let members = self.members();
        let group_kinds: BTreeSet<String> = members.iter().map(|(_, k)| k.group_kind()).collect();
        let namespaces: BTreeSet<String> = members
            .iter()
            .filter_map(|(_, k)| k.namespace.clone())
            .filter(|ns| ns != NAMESPACE)
            .collect();
        let inventory = serde_json::to_string(self).expect("inventories serialise");
        Object(json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": parent_name(&self.stack),
                "namespace": NAMESPACE,
                "labels": {
                    "applyset.kubernetes.io/id": applyset_id(&self.stack),
                    INVENTORY_LABEL: "true",
                    labels::MANAGED_BY: labels::MANAGED_BY_VALUE,
                    labels::STACK: self.stack,
                },
                "annotations": {
                    "applyset.kubernetes.io/tooling": TOOLING,
                    "applyset.kubernetes.io/contains-group-kinds": group_kinds.into_iter().collect::<Vec<_>>().join(","),
                    "applyset.kubernetes.io/additional-namespaces": namespaces.into_iter().collect::<Vec<_>>().join(","),
                },
            },
            "type": "landscape.dev/inventory",
            "data": {"inventory": crate::render::base64_encode(inventory.as_bytes())},
        }))
    }
}

fn parent_stub(stack: &str) -> Object {
    Object(json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": parent_name(stack), "namespace": NAMESPACE}}))
}

fn decode(parent: &Object) -> Result<Inventory, ClusterError> {
    let bad = |why: &str| {
        ClusterError::Other(format!(
            "the inventory {} is unreadable: {why}",
            parent.key()
        ))
    };
    let data = parent
        .pointer_str("/data/inventory")
        .ok_or_else(|| bad("no `inventory` key"))?;
    let bytes = base64_decode(data).ok_or_else(|| bad("not base64"))?;
    serde_json::from_slice(&bytes).map_err(|e| bad(&e.to_string()))
}

/// Standard base64 (with or without padding).
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut buf = 0u32;
    let mut bits = 0;
    for c in text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
    {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        buf = (buf << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// sha256 of a JSON value in canonical (sorted-key) form.
pub fn digest(value: &Value) -> String {
    fn canonical(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let sorted: BTreeMap<&String, Value> =
                    m.iter().map(|(k, v)| (k, canonical(v))).collect();
                serde_json::to_value(sorted).expect("maps serialise")
            }
            Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
            other => other.clone(),
        }
    }
    crate::source::sha256_hex(canonical(value).to_string().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applyset_ids_match_kubectl() {
        // kubectl's test vector: Secret `my-set` in `test` → applyset-0eFHV8ySqp7XoShsGvyWFQD3s96yqwHmzc4e0HR1dsY-v1.
        use sha2::Digest;
        let digest = sha2::Sha256::digest(b"my-set.test.Secret.");
        assert_eq!(
            format!("applyset-{}-v1", base64url(&digest)),
            "applyset-0eFHV8ySqp7XoShsGvyWFQD3s96yqwHmzc4e0HR1dsY-v1"
        );
        assert!(applyset_id("small").starts_with("applyset-"));
    }

    #[test]
    fn base64_round_trips() {
        for s in ["", "a", "ab", "abc", "hello, world"] {
            assert_eq!(
                base64_decode(&crate::render::base64_encode(s.as_bytes())).unwrap(),
                s.as_bytes()
            );
        }
    }

    #[test]
    fn parents_carry_the_applyset_metadata_and_decode_again() {
        let mut inv = Inventory::new("small");
        let cm = ObjectKey {
            group: "".into(),
            kind: "ConfigMap".into(),
            namespace: Some("argocd".into()),
            name: "c".into(),
        };
        let crd = ObjectKey {
            group: "apiextensions.k8s.io".into(),
            kind: "CustomResourceDefinition".into(),
            namespace: None,
            name: "x.y".into(),
        };
        inv.add("argocd", [cm.clone(), crd.clone()]);
        assert!(inv.owns(&cm));
        let parent = inv.to_parent();
        assert_eq!(
            parent.annotation("applyset.kubernetes.io/contains-group-kinds"),
            Some("ConfigMap,CustomResourceDefinition.apiextensions.k8s.io")
        );
        assert_eq!(
            parent.annotation("applyset.kubernetes.io/additional-namespaces"),
            Some("argocd")
        );
        assert_eq!(
            parent.label("applyset.kubernetes.io/id"),
            Some(applyset_id("small").as_str())
        );
        assert_eq!(decode(&parent).unwrap(), inv);
    }

    #[test]
    fn digests_ignore_key_order() {
        assert_eq!(
            digest(&json!({"a": 1, "b": {"c": 2, "d": 3}})),
            digest(&json!({"b": {"d": 3, "c": 2}, "a": 1}))
        );
    }
}
