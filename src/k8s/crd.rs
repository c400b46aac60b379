//! How a CRD's versions change between the definition in the cluster and a new one, and
//! which changes lose data or break clients.
//!
//! The API server stores each custom resource at the version that was the storage version
//! when it was last written, and lists every such version in `status.storedVersions`. A
//! new definition that drops one of those versions leaves objects etcd holds in a form
//! nothing can read; the API server refuses it with a terse message, so landscape refuses
//! it first and says how to migrate. A version that stops being served while custom
//! resources exist breaks every client still using it: allowed, but only when asked.

use serde_json::Value;

use super::Object;

/// What changes in a CRD's versions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VersionChanges {
    /// Versions still in the live `status.storedVersions` that the new definition drops.
    pub dropped_stored: Vec<String>,
    /// Versions the live definition serves and the new one does not.
    pub unserved: Vec<String>,
}

/// The versions of a definition: `(name, served, storage)`.
pub fn versions(crd: &Object) -> Vec<(String, bool, bool)> {
    crd.pointer("/spec/versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| {
            Some((
                v.get("name")?.as_str()?.to_string(),
                v.get("served").and_then(Value::as_bool).unwrap_or(false),
                v.get("storage").and_then(Value::as_bool).unwrap_or(false),
            ))
        })
        .collect()
}

/// The version custom resources are written at.
pub fn storage_version(crd: &Object) -> Option<String> {
    versions(crd)
        .into_iter()
        .find(|(_, _, storage)| *storage)
        .map(|(name, _, _)| name)
}

/// The live `status.storedVersions`.
pub fn stored_versions(crd: &Object) -> Vec<String> {
    crd.pointer("/status/storedVersions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// Compares the live definition with the one about to be applied.
pub fn version_changes(live: &Object, desired: &Object) -> VersionChanges {
    let new = versions(desired);
    let defines = |name: &str| new.iter().any(|(n, _, _)| n == name);
    let serves = |name: &str| new.iter().any(|(n, served, _)| n == name && *served);
    VersionChanges {
        dropped_stored: stored_versions(live)
            .into_iter()
            .filter(|v| !defines(v))
            .collect(),
        unserved: versions(live)
            .into_iter()
            .filter(|(name, served, _)| *served && !serves(name))
            .map(|(name, _, _)| name)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn crd(versions: &[(&str, bool, bool)], stored: &[&str]) -> Object {
        let versions: Vec<_> = versions
            .iter()
            .map(|(n, served, storage)| json!({"name": n, "served": served, "storage": storage}))
            .collect();
        Object(json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"versions": versions},
            "status": {"storedVersions": stored},
        }))
    }

    #[test]
    fn dropping_a_stored_version_and_unserving_one_are_told_apart() {
        let live = crd(
            &[("v1alpha1", true, false), ("v1", true, true)],
            &["v1alpha1", "v1"],
        );
        let drops = crd(&[("v1", true, true)], &[]);
        assert_eq!(
            version_changes(&live, &drops),
            VersionChanges {
                dropped_stored: vec!["v1alpha1".into()],
                unserved: vec!["v1alpha1".into()],
            }
        );
        let unserves = crd(&[("v1alpha1", false, false), ("v1", true, true)], &[]);
        assert_eq!(
            version_changes(&live, &unserves),
            VersionChanges {
                dropped_stored: vec![],
                unserved: vec!["v1alpha1".into()],
            }
        );
        let adds = crd(
            &[
                ("v1alpha1", true, false),
                ("v1", true, true),
                ("v2", true, false),
            ],
            &[],
        );
        assert_eq!(version_changes(&live, &adds), VersionChanges::default());
        assert_eq!(storage_version(&live).as_deref(), Some("v1"));
    }
}
