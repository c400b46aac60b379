//! How an inventory is kept in the cluster: as an ApplySet parent (KEP-3659), so kubectl
//! can read it too.
//!
//! The parent is a Secret `landscape-<stack>` in `kube-system` (a Secret because it holds
//! the inputs of the run), carrying the standard `applyset.kubernetes.io/*` label and
//! annotations; every member carries `applyset.kubernetes.io/part-of: <id>`. The inventory
//! itself is JSON, gzip-compressed, in the parent's data. However large the values grow,
//! the parent stays within the API's object size limit: a payload too large for one Secret
//! is split into parts, Secrets named after the payload's digest and written before the
//! parent that points at them, so a run killed between two writes never leaves a parent
//! pointing at parts that do not match it.
//!
//! Saves are conditional on the resourceVersion last read (optimistic concurrency, never a
//! blind overwrite) and retried on transient errors within a deadline.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::Inventory;
use crate::cluster::retry::{Backoff, deadline_in};
use crate::cluster::{Cluster, ClusterError};
use crate::k8s::{Object, ObjectKey, base64, labels};

/// Where inventories live.
pub const NAMESPACE: &str = "kube-system";
/// Marks inventory parents, to find them all.
pub const INVENTORY_LABEL: &str = "landscape.dev/inventory";
/// Marks the parts of a large inventory, with the stack's name.
const PART_LABEL: &str = "landscape.dev/inventory-part";
const TOOLING: &str = concat!("landscape/", env!("CARGO_PKG_VERSION"));
/// The most payload one Secret carries: well under the 1 MiB an object may hold in etcd,
/// leaving room for metadata and base64.
const PART_LIMIT: usize = 512 * 1024;
/// How long a save keeps retrying transient errors.
const SAVE_DEADLINE: Duration = Duration::from_secs(120);

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
    format!("applyset-{}-v1", base64::encode_url(&digest))
}

fn parent_stub(stack: &str) -> Object {
    secret(&parent_name(stack), json!({}), json!({}), json!({}))
}

fn secret(name: &str, labels: Value, annotations: Value, data: Value) -> Object {
    Object(json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels, "annotations": annotations},
        "type": "landscape.dev/inventory",
        "data": data,
    }))
}

fn part_name(stack: &str, digest: &str, index: usize) -> String {
    format!("{}-part-{}-{index}", parent_name(stack), &digest[..12])
}

fn unreadable(parent: &Object, why: &str) -> ClusterError {
    ClusterError::Invalid(format!(
        "the inventory {} is unreadable: {why} (hint: it was changed by hand, or written by a newer landscape)",
        parent.key()
    ))
}

impl Inventory {
    /// Reads a stack's inventory, if the stack is installed.
    pub async fn load(cluster: &Cluster, stack: &str) -> Result<Option<Inventory>, ClusterError> {
        match cluster.get(&parent_stub(stack)).await? {
            Some(parent) => decode(cluster, &parent).await.map(Some),
            None => Ok(None),
        }
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
        let mut out = Vec::new();
        for p in &parents {
            out.push(decode(cluster, p).await?);
        }
        Ok(out)
    }

    /// Writes the inventory, conditional on the version last read (or created, the first
    /// time), retrying transient errors.
    pub async fn save(&mut self, cluster: &Cluster) -> Result<(), ClusterError> {
        self.updated = crate::report::now_rfc3339();
        let payload = encode_payload(self);
        let digest = crate::source::sha256_hex(&payload);
        let deadline = deadline_in(SAVE_DEADLINE);
        let chunks: Vec<&[u8]> = payload.chunks(PART_LIMIT).collect();
        for (i, chunk) in chunks.iter().enumerate().skip(1) {
            let part = secret(
                &part_name(self.stack(), &digest, i),
                json!({PART_LABEL: self.stack()}),
                json!({}),
                json!({"part": base64::encode(chunk)}),
            );
            with_retries(deadline, || async {
                match cluster.create(&part).await {
                    Err(e) if e.is_conflict() => Ok(()),
                    other => other.map(|_| ()),
                }
            })
            .await?;
        }
        let parent = self.to_parent(
            chunks.first().copied().unwrap_or_default(),
            &digest,
            chunks.len(),
        );
        let written = self
            .write_parent(cluster, parent, &digest, deadline)
            .await?;
        self.resource_version = written.resource_version().map(str::to_string);
        remove_stale_parts(cluster, self.stack(), &digest).await;
        Ok(())
    }

    /// Writes the parent: created the first time, else replaced at the version last read.
    /// A conflict right after a transient error may be this very write having landed; the
    /// parent's digest tells.
    async fn write_parent(
        &self,
        cluster: &Cluster,
        mut parent: Object,
        digest: &str,
        deadline: Instant,
    ) -> Result<Object, ClusterError> {
        let mut backoff = Backoff::default();
        let mut retried = false;
        loop {
            let result = match &self.resource_version {
                None => cluster.create(&parent).await,
                Some(rv) => {
                    parent.0["metadata"]["resourceVersion"] = json!(rv);
                    cluster.replace(&parent).await
                }
            };
            match result {
                Ok(written) => return Ok(written),
                Err(e) if e.is_conflict() && retried => {
                    if let Some(live) = cluster.get(&parent).await?
                        && live.annotation(DIGEST_ANNOTATION) == Some(digest)
                    {
                        return Ok(live);
                    }
                    return Err(changed_underneath(self.stack()));
                }
                Err(e) if e.is_conflict() => return Err(changed_underneath(self.stack())),
                Err(e) if e.is_transient() && Instant::now() < deadline => {
                    retried = true;
                    tokio::time::sleep(backoff.pause(e.retry_after())).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Removes the inventory (parent and parts).
    pub async fn delete(&self, cluster: &Cluster) -> Result<(), ClusterError> {
        let deadline = deadline_in(SAVE_DEADLINE);
        with_retries(deadline, || async {
            cluster
                .delete(&parent_stub(self.stack()).key())
                .await
                .map(|_| ())
        })
        .await?;
        remove_stale_parts(cluster, self.stack(), "").await;
        Ok(())
    }

    /// The parent object: the ApplySet label and annotations, and the first part of the
    /// payload.
    fn to_parent(&self, first: &[u8], digest: &str, parts: usize) -> Object {
        let members = self.members();
        let group_kinds: BTreeSet<String> =
            members.iter().map(|(_, k, _)| k.group_kind()).collect();
        let namespaces: BTreeSet<String> = members
            .iter()
            .filter_map(|(_, k, _)| k.namespace.clone())
            .filter(|ns| ns != NAMESPACE)
            .collect();
        let join = |s: BTreeSet<String>| s.into_iter().collect::<Vec<_>>().join(",");
        secret(
            &parent_name(self.stack()),
            json!({
                "applyset.kubernetes.io/id": self.applyset(),
                INVENTORY_LABEL: "true",
                labels::MANAGED_BY: labels::MANAGED_BY_VALUE,
                labels::STACK: self.stack(),
            }),
            json!({
                "applyset.kubernetes.io/tooling": TOOLING,
                "applyset.kubernetes.io/contains-group-kinds": join(group_kinds),
                "applyset.kubernetes.io/additional-namespaces": join(namespaces),
                DIGEST_ANNOTATION: digest,
                PARTS_ANNOTATION: parts.to_string(),
            }),
            json!({FORMAT_KEY: base64::encode(first)}),
        )
    }
}

const DIGEST_ANNOTATION: &str = "landscape.dev/inventory-digest";
const PARTS_ANNOTATION: &str = "landscape.dev/inventory-parts";
/// The data key of the compressed payload (format 2).
const FORMAT_KEY: &str = "inventory.json.gz";
/// The data key of format 1: plain JSON of an older layout.
const LEGACY_KEY: &str = "inventory";

fn changed_underneath(stack: &str) -> ClusterError {
    ClusterError::Invalid(format!(
        "the inventory of stack `{stack}` was changed by someone else during this run (hint: is another landscape running on this stack without the lock? run again)"
    ))
}

async fn with_retries<F, Fut>(deadline: Instant, call: F) -> Result<(), ClusterError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), ClusterError>>,
{
    crate::cluster::retry::retrying(deadline, async |_| {}, call).await
}

/// Deletes the parts of a stack's inventory that belong to another payload than `digest`
/// (all of them for an empty digest). Best effort: a leftover part is harmless.
async fn remove_stale_parts(cluster: &Cluster, stack: &str, digest: &str) {
    let Ok(parts) = cluster
        .list(
            "v1",
            "Secret",
            Some(NAMESPACE),
            &format!("{PART_LABEL}={stack}"),
        )
        .await
    else {
        return;
    };
    for p in parts {
        let current = !digest.is_empty() && p.name().contains(&digest[..12]);
        if !current {
            let _ = cluster.delete(&p.key()).await;
        }
    }
}

fn encode_payload(inv: &Inventory) -> Vec<u8> {
    let json = serde_json::to_vec(inv).expect("inventories serialise");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&json).expect("writing to memory");
    gz.finish().expect("writing to memory")
}

/// The most an inventory may inflate to: far above any real one, far below a bomb.
const MAX_INFLATED: u64 = 256 * 1024 * 1024;

async fn decode(cluster: &Cluster, parent: &Object) -> Result<Inventory, ClusterError> {
    if let Some(legacy) = parent.pointer_str(&format!("/data/{LEGACY_KEY}")) {
        let bytes = base64::decode(legacy).ok_or_else(|| unreadable(parent, "not base64"))?;
        return super::legacy::read(&bytes).map_err(|e| unreadable(parent, &e));
    }
    let first = parent
        .pointer_str(&format!("/data/{FORMAT_KEY}"))
        .ok_or_else(|| unreadable(parent, "no inventory data"))?;
    let stack = parent.label(labels::STACK).unwrap_or_default();
    let mut payload = base64::decode(first).ok_or_else(|| unreadable(parent, "not base64"))?;
    let digest = parent.annotation(DIGEST_ANNOTATION).unwrap_or_default();
    let parts: usize = parent
        .annotation(PARTS_ANNOTATION)
        .and_then(|p| p.parse().ok())
        .unwrap_or(1);
    for i in 1..parts {
        if digest.len() < 12 {
            return Err(unreadable(parent, "parts without a digest"));
        }
        let key = ObjectKey {
            group: String::new(),
            kind: "Secret".into(),
            namespace: Some(NAMESPACE.into()),
            name: part_name(stack, digest, i),
        };
        let part = cluster
            .get_key(&key)
            .await?
            .ok_or_else(|| unreadable(parent, &format!("part {i} is missing")))?;
        let text = part
            .0
            .pointer("/data/part")
            .and_then(Value::as_str)
            .ok_or_else(|| unreadable(parent, &format!("part {i} is empty")))?;
        payload.extend(base64::decode(text).ok_or_else(|| unreadable(parent, "not base64"))?);
    }
    if !digest.is_empty() && crate::source::sha256_hex(&payload) != digest {
        return Err(unreadable(parent, "its parts do not match its digest"));
    }
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(payload.as_slice())
        .take(MAX_INFLATED)
        .read_to_end(&mut json)
        .map_err(|e| unreadable(parent, &format!("not gzip: {e}")))?;
    let mut inv: Inventory =
        serde_json::from_slice(&json).map_err(|e| unreadable(parent, &e.to_string()))?;
    inv.resource_version = parent.resource_version().map(str::to_string);
    Ok(inv)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{Membership, Origin, StackIdentity};

    #[test]
    fn applyset_ids_match_kubectl() {
        // kubectl's test vector: Secret `my-set` in `test` → applyset-0eFHV8ySqp7XoShsGvyWFQD3s96yqwHmzc4e0HR1dsY-v1.
        use sha2::Digest;
        let digest = sha2::Sha256::digest(b"my-set.test.Secret.");
        assert_eq!(
            format!("applyset-{}-v1", base64::encode_url(&digest)),
            "applyset-0eFHV8ySqp7XoShsGvyWFQD3s96yqwHmzc4e0HR1dsY-v1"
        );
        assert!(applyset_id("small").starts_with("applyset-"));
    }

    #[test]
    fn parents_carry_the_applyset_metadata() {
        let mut inv = Inventory::new(StackIdentity {
            name: "small".into(),
            origin: Origin::Profile {
                profile: "small".into(),
            },
            profile: Some("small".into()),
        });
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
        inv.add(
            "argocd",
            &[(cm, Membership::Member), (crd, Membership::Member)],
        );
        let payload = encode_payload(&inv);
        let parent = inv.to_parent(&payload, "d", 1);
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
        let mut json = Vec::new();
        flate2::read::GzDecoder::new(payload.as_slice())
            .read_to_end(&mut json)
            .unwrap();
        let back: Inventory = serde_json::from_slice(&json).unwrap();
        assert_eq!(back, inv);
    }
}
