//! What lets a converged run skip the API server: for every object it applied, the
//! inventory keeps a digest of the object as landscape sent it and a digest of landscape's
//! own managed-fields entry as the server returned it.
//!
//! An object is in sync — no dry run, no apply needed — when both digests still match:
//! the stack renders exactly what was applied, and nobody has taken a field landscape owns
//! since. Anyone who changes such a field (`kubectl edit`, `scale`, a forced apply by
//! another manager) moves it out of landscape's entry, so the entry's digest changes;
//! someone who deletes and re-creates the object leaves no entry of landscape's at all.
//! Fields others add (a label, a controller's annotation) are theirs and change nothing.
//!
//! One kind of field breaks that reasoning: a field the server does not store as sent. A
//! Secret's `stringData` is written into `data` and dropped, so landscape's entry owns a
//! field that no longer exists while someone may change the value in `data` unseen; such
//! objects always take the slow path.
//!
//! The digests are keyed (HMAC-SHA256 with a random key kept in the inventory Secret), so
//! the digest of a Secret tells nothing about its values.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::k8s::{Object, base64};

/// The manager landscape applies with.
const MANAGER: &str = crate::cluster::FIELD_MANAGER;

/// The digests of every object applied.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncRecord {
    /// The digests' key (base64): random per stack.
    #[serde(default)]
    key: String,
    /// Per object id: `<digest of what was sent>.<digest of landscape's managed fields>`.
    #[serde(default)]
    objects: BTreeMap<String, String>,
}

impl SyncRecord {
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    fn key(&mut self) -> Vec<u8> {
        if self.key.is_empty() {
            self.key = base64::encode(&random_key());
        }
        base64::decode(&self.key).unwrap_or_default()
    }

    /// Records `sent` as applied, and `returned` as what the server made of it.
    pub fn record(&mut self, sent: &Object, returned: &Object) {
        let key = self.key();
        match managed_entry(returned) {
            Some(entry) => {
                let value = format!(
                    "{}.{}",
                    digest_of(&key, &sent.apply_body()),
                    digest_of(&key, entry)
                );
                self.objects.insert(sent.key().to_id(), value);
            }
            None => {
                self.objects.remove(&sent.key().to_id());
            }
        }
    }

    /// Whether `live` is exactly what applying `desired` made it, as far as landscape's
    /// fields go: nothing to send.
    pub fn in_sync(&self, desired: &Object, live: &Object) -> bool {
        if desired.is_secret() && desired.pointer("/stringData").is_some() {
            return false;
        }
        let (Some(recorded), Some(entry), Some(key)) = (
            self.objects.get(&desired.key().to_id()),
            managed_entry(live),
            base64::decode(&self.key).filter(|k| !k.is_empty()),
        ) else {
            return false;
        };
        *recorded
            == format!(
                "{}.{}",
                digest_of(&key, &desired.apply_body()),
                digest_of(&key, entry)
            )
    }

    /// `value`'s digest under this stack's key, when it has one (a stack that was never
    /// applied has none): for saved plans, so that a digest of a Secret tells nothing of
    /// its values to whoever reads the plan.
    pub fn keyed_digest(&self, value: &Value) -> Option<String> {
        let key = base64::decode(&self.key).filter(|k| !k.is_empty())?;
        Some(digest_of(&key, value))
    }

    /// Forgets the digests of objects `keep` rejects (no longer members).
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.objects.retain(|id, _| keep(id));
    }
}

/// landscape's entry in an object's managed fields: its server-side applies (not its
/// updates, nor any subresource).
fn managed_entry(live: &Object) -> Option<&Value> {
    live.pointer("/metadata/managedFields")?
        .as_array()?
        .iter()
        .find(|e| {
            e.get("manager").and_then(Value::as_str) == Some(MANAGER)
                && e.get("operation").and_then(Value::as_str) == Some("Apply")
                && e.get("subresource")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .is_empty()
        })
}

fn digest_of(key: &[u8], value: &Value) -> String {
    let mut bytes = Vec::new();
    canonical(value, &mut bytes);
    base64::encode_url(&hmac_sha256(key, &bytes)[..16])
}

/// JSON with every object's keys sorted: the same value always gives the same bytes.
pub fn canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend(Value::String(k.clone()).to_string().as_bytes());
                out.push(b':');
                canonical(&map[k], out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical(v, out);
            }
            out.push(b']');
        }
        other => out.extend(other.to_string().as_bytes()),
    }
}

/// HMAC-SHA256 (RFC 2104).
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let inner_pad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let outer_pad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new()
        .chain_update(&inner_pad)
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(&outer_pad)
        .chain_update(inner)
        .finalize()
        .into()
}

/// 32 random bytes from the kernel; a time-derived key if it cannot give them (the key
/// protects secret values from guessing, it is not a password).
fn random_key() -> Vec<u8> {
    use std::io::Read;
    let mut key = vec![0u8; 32];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut key));
    if read.is_err() {
        let seed = format!("{:?}{}", std::time::SystemTime::now(), std::process::id());
        key = Sha256::digest(seed.as_bytes()).to_vec();
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hmac_matches_rfc_4231() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    fn with_entry(obj: &Object, fields: Value, manager: &str) -> Object {
        let mut live = obj.clone();
        live.0["metadata"]["managedFields"] = json!([
            {"manager": manager, "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": fields},
            {"manager": "kube-controller-manager", "operation": "Update", "fieldsV1": {"f:status": {}}},
        ]);
        live.0["metadata"]["resourceVersion"] = json!("7");
        live
    }

    #[test]
    fn in_sync_only_while_nothing_landscape_owns_changed() {
        let desired = Object(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}, "data": {"a": "1"}}),
        );
        let fields = json!({"f:data": {"f:a": {}}});
        let applied = with_entry(&desired, fields.clone(), MANAGER);
        let mut sync = SyncRecord::default();
        sync.record(&desired, &applied);
        assert!(sync.in_sync(&desired, &applied));
        // Someone else adds a label: their field, not landscape's.
        let mut labelled = applied.clone();
        labelled.0["metadata"]["labels"] = json!({"team": "x"});
        assert!(sync.in_sync(&desired, &labelled));
        // Someone takes `data.a`: landscape's entry changes.
        let taken = with_entry(&desired, json!({"f:data": {}}), MANAGER);
        assert!(!sync.in_sync(&desired, &taken));
        // Re-created by someone else: no entry of landscape's.
        assert!(!sync.in_sync(&desired, &with_entry(&desired, fields.clone(), "kubectl")));
        // The stack renders something else now.
        let mut changed = desired.clone();
        changed.0["data"]["a"] = json!("2");
        assert!(!sync.in_sync(&changed, &applied));
        // Key order does not matter; the digest is keyed.
        let reordered = Object(
            json!({"kind": "ConfigMap", "data": {"a": "1"}, "apiVersion": "v1", "metadata": {"namespace": "n", "name": "c"}}),
        );
        assert!(sync.in_sync(&reordered, &applied));
        let mut other_key = SyncRecord::default();
        other_key.record(&desired, &applied);
        assert_ne!(
            other_key.objects, sync.objects,
            "a digest under another key differs"
        );
        // A Secret's stringData is not stored as sent: never in sync by digest.
        let secret = Object(
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"p": "x"}}),
        );
        let applied_secret = with_entry(&secret, json!({"f:stringData": {"f:p": {}}}), MANAGER);
        sync.record(&secret, &applied_secret);
        assert!(!sync.in_sync(&secret, &applied_secret));
        sync.retain(|_| false);
        assert!(!sync.in_sync(&desired, &applied));
    }
}
