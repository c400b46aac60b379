//! `migrate-storage`: rewrites every custom resource of a CRD at its current storage
//! version, then trims `status.storedVersions` to that version — what
//! kube-storage-version-migrator does, for one CRD, on demand. Afterwards a new definition
//! may drop the versions objects used to be stored at.
//!
//! Rewriting is an update that changes nothing: the API server skips the write of an
//! object whose encoding is unchanged, but an object stored at an older version encodes
//! differently at the storage version, so exactly those are written again. New writes
//! always use the storage version, so once every object has been rewritten the older
//! versions can leave `storedVersions`.

use serde::Serialize;
use serde_json::json;

use crate::cluster::{Cluster, ClusterError};
use crate::k8s::{CrdInfo, ObjectKey, crd};

/// What a migration did.
#[derive(Clone, Debug, Serialize)]
pub struct Migration {
    pub crd: String,
    pub storage_version: String,
    /// Custom resources rewritten (all of them: the API server writes only those stored
    /// at another version).
    pub rewritten: usize,
    pub stored_versions_before: Vec<String>,
    pub stored_versions_after: Vec<String>,
}

/// Why a migration could not run.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(
        "no CustomResourceDefinition `{0}` in the cluster (hint: `kubectl get crd` lists them)"
    )]
    NoSuchCrd(String),
    #[error("CustomResourceDefinition `{0}` has no storage version")]
    NoStorageVersion(String),
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

/// How often an object written by someone else meanwhile is read and rewritten again.
const CONFLICT_RETRIES: usize = 5;

pub async fn migrate_storage(cluster: &Cluster, name: &str) -> Result<Migration, MigrateError> {
    let key = ObjectKey {
        group: "apiextensions.k8s.io".into(),
        kind: "CustomResourceDefinition".into(),
        namespace: None,
        name: name.to_string(),
    };
    let live = cluster
        .get_key(&key)
        .await?
        .ok_or_else(|| MigrateError::NoSuchCrd(name.to_string()))?;
    let storage =
        crd::storage_version(&live).ok_or_else(|| MigrateError::NoStorageVersion(name.into()))?;
    let before = crd::stored_versions(&live);
    let info = CrdInfo::of(&live).ok_or_else(|| MigrateError::NoSuchCrd(name.to_string()))?;
    cluster.refresh_discovery().await?;
    let api_version = format!("{}/{storage}", info.group);
    let items = cluster.list(&api_version, &info.kind, None, "").await?;
    let mut rewritten = 0;
    for item in items {
        if rewrite(cluster, item).await? {
            rewritten += 1;
        }
    }
    let after = vec![storage.clone()];
    if before != after {
        cluster
            .merge_patch_status(&key, &json!({"status": {"storedVersions": after}}))
            .await?;
    }
    Ok(Migration {
        crd: name.to_string(),
        storage_version: storage,
        rewritten,
        stored_versions_before: before,
        stored_versions_after: after,
    })
}

/// Writes one object back unchanged; reads it again when someone else wrote it meanwhile.
/// Returns false when it was deleted meanwhile.
async fn rewrite(cluster: &Cluster, mut item: crate::k8s::Object) -> Result<bool, ClusterError> {
    let key = item.key();
    for _ in 0..CONFLICT_RETRIES {
        match cluster.replace(&item).await {
            Ok(_) => return Ok(true),
            Err(e) if e.is_not_found() => return Ok(false),
            Err(e) if e.is_conflict() => match cluster.get_key(&key).await? {
                Some(fresh) => item = fresh,
                None => return Ok(false),
            },
            Err(e) => return Err(e),
        }
    }
    Err(ClusterError::Invalid(format!(
        "{key}: written by another client {CONFLICT_RETRIES} times while landscape was rewriting it; run migrate-storage again"
    )))
}
