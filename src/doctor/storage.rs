//! Storage: the claims the stack will make (its own PersistentVolumeClaims and its
//! StatefulSets' claim templates, with sizes), the StorageClass each lands in — the named
//! one, or the default — and the CSI driver behind it.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Finding, Subject};
use crate::cluster::ClusterError;
use crate::k8s::Object;
use crate::k8s::quantity::{format_bytes, parse_milli};

const CHECK: &str = "storage";
const DEFAULT_CLASS: &str = "storageclass.kubernetes.io/is-default-class";

/// One claim the stack makes.
#[derive(Debug)]
pub(super) struct Claim {
    pub component: String,
    pub what: String,
    /// Its StorageClass; None for the default one.
    pub class: Option<String>,
    pub size: u128,
}

/// The claims the stack's objects make.
pub(super) fn claims(s: &Subject<'_>) -> Vec<Claim> {
    let mut out = Vec::new();
    let claim = |component: &str, what: String, spec: &Value| Claim {
        component: component.to_string(),
        what,
        class: spec
            .get("storageClassName")
            .and_then(Value::as_str)
            .map(str::to_string),
        size: spec
            .pointer("/resources/requests/storage")
            .and_then(Value::as_str)
            .and_then(parse_milli)
            .unwrap_or(0),
    };
    for (component, o) in s.objects() {
        match (o.group(), o.kind()) {
            ("", "PersistentVolumeClaim") => {
                if let Some(spec) = o.pointer("/spec") {
                    out.push(claim(component, o.key().to_string(), spec));
                }
            }
            ("apps", "StatefulSet") => {
                let replicas = o
                    .pointer("/spec/replicas")
                    .and_then(Value::as_u64)
                    .unwrap_or(1);
                for t in o
                    .pointer("/spec/volumeClaimTemplates")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let name = t
                        .pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .unwrap_or("?");
                    if let Some(spec) = t.get("spec") {
                        for i in 0..replicas {
                            out.push(claim(
                                component,
                                format!("{name}-{}-{i} ({})", o.name(), o.key()),
                                spec,
                            ));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Whether a provisioner is named like a CSI driver (`ebs.csi.aws.com`,
/// `disk.csi.azure.com`), as opposed to in-tree (`kubernetes.io/…`) or an external
/// provisioner (`rancher.io/local-path`) that registers no CSIDriver.
fn is_csi(provisioner: &str) -> bool {
    provisioner.split('.').any(|p| p == "csi") || provisioner.ends_with("-csi")
}

pub(super) async fn check(s: &Subject<'_>) -> Result<Vec<Finding>, ClusterError> {
    let claims = claims(s);
    let classes = s
        .cluster
        .list("storage.k8s.io/v1", "StorageClass", None, "")
        .await?;
    let own: Vec<&Object> = s
        .objects()
        .map(|(_, o)| o)
        .filter(|o| o.kind() == "StorageClass")
        .collect();
    let all: BTreeMap<String, &Object> = classes
        .iter()
        .chain(own.iter().copied())
        .map(|c| (c.name().to_string(), c))
        .collect();
    let default = all
        .values()
        .find(|c| c.annotation(DEFAULT_CLASS) == Some("true"))
        .map(|c| c.name().to_string());
    let drivers: Vec<String> = s
        .cluster
        .list("storage.k8s.io/v1", "CSIDriver", None, "")
        .await?
        .iter()
        .map(|d| d.name().to_string())
        .collect();
    let mut out = Vec::new();
    let total: u128 = claims.iter().map(|c| c.size).sum();
    let mut used: BTreeMap<String, Vec<&Claim>> = BTreeMap::new();
    for c in &claims {
        match c.class.as_deref().or(default.as_deref()) {
            Some(class) if all.contains_key(class) => used.entry(class.to_string()).or_default().push(c),
            Some(class) => out.push(Finding::fail(
                CHECK,
                format!("component `{}`: {} asks for StorageClass `{class}`, which does not exist", c.component, c.what),
                format!("create StorageClass `{class}`, or set the claim's storageClassName to one of: {}", all.keys().cloned().collect::<Vec<_>>().join(", ")),
            )),
            None => out.push(Finding::fail(
                CHECK,
                format!("component `{}`: {} names no StorageClass, and the cluster has no default one", c.component, c.what),
                format!("mark a StorageClass as default (annotation {DEFAULT_CLASS}: \"true\"), or add one to the stack (the `cloud-storage` component)"),
            )),
        }
    }
    for (class, users) in &used {
        let provisioner = all[class].pointer_str("/provisioner").unwrap_or_default();
        if is_csi(provisioner) && !drivers.iter().any(|d| d == provisioner) {
            out.push(Finding::fail(
                CHECK,
                format!("StorageClass `{class}` ({} claims) is provisioned by {provisioner}, but no CSIDriver `{provisioner}` is installed: its claims would never bind", users.len()),
                format!("install the {provisioner} CSI driver (on EKS: the aws-ebs-csi-driver add-on), or use another StorageClass"),
            ));
        }
    }
    out.extend(growing(s, &all).await?);
    if out.is_empty() {
        let summary = used
            .iter()
            .map(|(class, users)| {
                format!(
                    "{} in `{class}` ({})",
                    users.len(),
                    format_bytes(users.iter().map(|c| c.size).sum())
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        out.push(Finding::pass(
            CHECK,
            if claims.is_empty() {
                format!(
                    "the stack makes no volume claims; default StorageClass: {}",
                    default.as_deref().unwrap_or("none")
                )
            } else {
                format!(
                    "{} volume claims, {} in all: {summary}",
                    claims.len(),
                    format_bytes(total)
                )
            },
        ));
    }
    Ok(out)
}

/// Claims the stack grows (a larger request than the live claim's) in a StorageClass that
/// does not allow volume expansion: the API refuses the change.
async fn growing(
    s: &Subject<'_>,
    classes: &BTreeMap<String, &Object>,
) -> Result<Vec<Finding>, ClusterError> {
    let mut out = Vec::new();
    let size = |o: &Object| {
        o.pointer_str("/spec/resources/requests/storage")
            .and_then(parse_milli)
            .unwrap_or(0)
    };
    for (component, o) in s.objects().filter(|(_, o)| o.key().is_volume_claim()) {
        let Some(live) = s.cluster.get(o).await? else {
            continue;
        };
        if size(o) <= size(&live) {
            continue;
        }
        let class = live
            .pointer_str("/spec/storageClassName")
            .unwrap_or_default();
        let expands = classes
            .get(class)
            .and_then(|c| c.pointer("/allowVolumeExpansion"))
            .and_then(Value::as_bool)
            == Some(true);
        if !expands {
            out.push(Finding::fail(
                CHECK,
                format!(
                    "component `{component}` grows {} from {} to {}, but StorageClass `{class}` does not allow volume expansion",
                    o.key(),
                    format_bytes(size(&live)),
                    format_bytes(size(o))
                ),
                format!("set allowVolumeExpansion: true on StorageClass `{class}` (if its driver can expand), or keep the claim's size"),
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csi_drivers_are_told_from_other_provisioners() {
        assert!(is_csi("ebs.csi.aws.com"));
        assert!(is_csi("disk.csi.azure.com"));
        assert!(is_csi("pd.csi.storage.gke.io"));
        assert!(!is_csi("rancher.io/local-path"));
        assert!(!is_csi("kubernetes.io/aws-ebs"));
        assert!(!is_csi("kwok.x-k8s.io/volume"));
    }
}
