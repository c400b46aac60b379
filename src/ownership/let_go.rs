//! Deciding, for the objects a stack lets go of (pruning, `down`), what goes and what
//! stays — the same reads and the same decisions for `diff`'s prediction and for the
//! deletion itself.

use std::collections::BTreeSet;

use futures::{StreamExt, TryStreamExt};

use super::facts::{ClaimSource, custom_resources, namespace_contents};
use super::{Decision, Facts, Flags, Subject, decide};
use crate::cluster::{Cluster, ClusterError};
use crate::inventory::Inventory;
use crate::k8s::{Object, ObjectKey};

/// The decisions for objects let go of, and the StatefulSets among them (read before any
/// is deleted) whose volume claims are landscape's data.
#[derive(Clone, Debug, Default)]
pub struct LetGo {
    pub verdicts: Vec<Verdict>,
    pub claim_sources: Vec<ClaimSource>,
}

/// One object let go of, decided.
#[derive(Clone, Debug)]
pub struct Verdict {
    pub key: ObjectKey,
    /// The component that owned it (None for retained objects).
    pub component: Option<String>,
    pub live: Option<Object>,
    pub decision: Decision,
}

/// Decides each of `keys` (with the component that owned it). Namespaces are decided
/// last, knowing what else goes with this run: a namespace goes only when everything it
/// holds goes too — the volume claims of the StatefulSets among `keys` included, which
/// are landscape's data though no label says so.
pub async fn let_go(
    cluster: &Cluster,
    inventory: &Inventory,
    keys: &[(Option<String>, ObjectKey)],
    flags: &Flags,
) -> Result<LetGo, ClusterError> {
    let lives: Vec<Option<Object>> = futures::stream::iter(keys)
        .map(|(_, k)| cluster.get_key(k))
        .buffered(16)
        .try_collect()
        .await?;
    let applyset = inventory.applyset();
    let owned = |k: &ObjectKey| inventory.membership(k) != crate::inventory::Membership::None;
    let mut verdicts = Vec::new();
    for ((component, key), live) in keys.iter().zip(lives) {
        let mut facts = Facts::default();
        if key.is_crd()
            && flags.delete_crds
            && let Some(live) = &live
        {
            facts.custom_resources = custom_resources(cluster, live, &owned).await?;
        }
        let decision = if key.is_namespace() {
            Decision::Forget // decided below
        } else {
            decide(
                &subject(key, live.as_ref(), inventory, &applyset),
                flags,
                &facts,
            )
        };
        verdicts.push(Verdict {
            key: key.clone(),
            component: component.clone(),
            live,
            decision,
        });
    }
    let mut claim_sources = claim_sources(verdicts.iter().filter_map(|v| v.live.as_ref()));
    claim_sources.extend(made_for(cluster, &verdicts).await?);
    let going: BTreeSet<ObjectKey> = verdicts
        .iter()
        .filter(|v| v.decision == Decision::Delete)
        .map(|v| v.key.clone())
        .collect();
    for v in verdicts.iter_mut().filter(|v| v.key.is_namespace()) {
        let mut facts = Facts::default();
        if v.live.is_some() {
            let contents = namespace_contents(cluster, &v.key.name, &claim_sources).await?;
            let claims_go = flags.delete_volumes;
            facts.namespace_holds = contents.holds_besides(&|k| {
                going.contains(k) || (claims_go && contents.claims.contains(k))
            });
        }
        v.decision = decide(
            &subject(&v.key, v.live.as_ref(), inventory, &applyset),
            flags,
            &facts,
        );
    }
    Ok(LetGo {
        verdicts,
        claim_sources,
    })
}

fn subject<'a>(
    key: &'a ObjectKey,
    live: Option<&'a Object>,
    inventory: &Inventory,
    applyset: &'a str,
) -> Subject<'a> {
    Subject {
        key,
        desired: None,
        live,
        membership: inventory.membership(key),
        applyset,
    }
}

/// The StatefulSets operators made for objects this run deletes (a Prometheus's, a Ceph
/// monitor's), read before any is deleted: their claims hold the stack's data as surely as
/// those of the stack's own StatefulSets, though no label of the stack's says so.
async fn made_for(
    cluster: &Cluster,
    verdicts: &[Verdict],
) -> Result<Vec<ClaimSource>, ClusterError> {
    let going = verdicts
        .iter()
        .filter(|v| v.decision == Decision::Delete)
        .filter_map(|v| v.live.as_ref());
    let mut uids = BTreeSet::new();
    let mut namespaces = BTreeSet::new();
    for live in going {
        if let Some(uid) = live.uid() {
            uids.insert(uid.to_string());
        }
        // Operators make their workloads beside the custom resource that asks for them.
        if let Some(ns) = live.namespace()
            && !matches!(
                live.group(),
                "" | "apps" | "batch" | "rbac.authorization.k8s.io"
            )
        {
            namespaces.insert(ns.to_string());
        }
    }
    let mut out = Vec::new();
    for ns in namespaces {
        for sts in cluster
            .list("apps/v1", "StatefulSet", Some(&ns), "")
            .await?
        {
            let owners = sts
                .pointer("/metadata/ownerReferences")
                .and_then(serde_json::Value::as_array)
                .into_iter()
                .flatten();
            let made_for_ours = owners
                .filter_map(|o| o.get("uid").and_then(serde_json::Value::as_str))
                .any(|uid| uids.contains(uid));
            if made_for_ours {
                out.push(ClaimSource::of(&sts));
            }
        }
    }
    Ok(out)
}

/// The StatefulSets among `objects`, as sources of volume claims.
pub fn claim_sources<'a>(objects: impl IntoIterator<Item = &'a Object>) -> Vec<ClaimSource> {
    objects
        .into_iter()
        .filter(|o| o.group() == "apps" && o.kind() == "StatefulSet")
        .map(ClaimSource::of)
        .collect()
}
