//! `status`: the health of an installed stack, component by component, by the same gates
//! `up` waits on — read back from the inventory, no stack file needed.

use futures::StreamExt;
use serde::Serialize;

use super::gate;
use crate::cluster::{Cluster, ClusterError};
use crate::health::{self, Health, HealthOptions};
use crate::inventory::Inventory;
use crate::k8s::{Object, ObjectKey};
use crate::report::NotReady;

/// A component's health as `status` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthState {
    Healthy,
    Progressing,
    Failed,
}

impl std::fmt::Display for HealthState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HealthState::Healthy => "healthy",
            HealthState::Progressing => "progressing",
            HealthState::Failed => "failed",
        })
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct ComponentStatus {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub health: HealthState,
    /// Why it is not healthy: the first object that is not, and its rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub objects: usize,
    pub last_applied: String,
    /// Every object that is not ready, in the shape of the `up` events' `not_ready`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_ready: Vec<NotReady>,
}

#[derive(Clone, Debug, Serialize)]
pub struct StackStatus {
    pub stack: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    pub healthy: bool,
    pub updated: String,
    pub components: Vec<ComponentStatus>,
    /// Objects kept after pruning or `down` (CRDs, volumes).
    pub retained: usize,
}

/// Reads every member of the stack and assesses it.
pub async fn status(
    cluster: &Cluster,
    inv: &Inventory,
    opts: &HealthOptions,
) -> Result<StackStatus, ClusterError> {
    let mut order = inv.removal_order();
    order.reverse();
    let mut components = Vec::new();
    for name in order {
        let record = &inv.components[&name];
        let keys: Vec<ObjectKey> = inv.component_objects(&name);
        let lives: Vec<Result<Option<Object>, ClusterError>> = futures::stream::iter(keys.iter())
            .map(|k| cluster.get_key(k))
            .buffered(8)
            .collect()
            .await;
        let mut pairs = Vec::new();
        for (k, live) in keys.iter().zip(lives) {
            let live = live?;
            let stub = stub(k);
            let gated = live
                .as_ref()
                .is_none_or(|l| health::is_gated(l, &record.readiness));
            if gated {
                pairs.push((stub, live));
            }
        }
        let (statuses, extra) =
            gate::assess_live(cluster, pairs, &record.readiness, record.cni, opts).await?;
        let not_ready_object = |object: ObjectKey, reason: String| NotReady {
            object,
            reason,
            events: Vec::new(),
            pods: Vec::new(),
        };
        let mut not_ready: Vec<NotReady> = statuses
            .iter()
            .filter(|(_, h)| !h.is_ready())
            .map(|(o, h)| not_ready_object(o.key(), h.reason().to_string()))
            .collect();
        if let Some(reason) = extra {
            let nodes = ObjectKey {
                group: String::new(),
                kind: "Node".into(),
                namespace: None,
                name: "(all nodes)".into(),
            };
            not_ready.push(not_ready_object(nodes, reason));
        }
        let failed = statuses.iter().any(|(_, h)| matches!(h, Health::Failed(_)));
        let health = if not_ready.is_empty() {
            HealthState::Healthy
        } else if failed {
            HealthState::Failed
        } else {
            HealthState::Progressing
        };
        components.push(ComponentStatus {
            name,
            version: record.version.clone(),
            health,
            reason: not_ready
                .first()
                .map(|n| format!("{}: {}", n.object, n.reason)),
            objects: keys.len(),
            last_applied: record.last_applied.clone(),
            not_ready,
        });
    }
    Ok(StackStatus {
        stack: inv.stack().to_string(),
        profile: inv.identity.profile.clone(),
        healthy: components.iter().all(|c| c.health == HealthState::Healthy),
        updated: inv.updated.clone(),
        components,
        retained: inv.retained.len(),
    })
}

fn stub(k: &ObjectKey) -> Object {
    Object(serde_json::json!({
        "apiVersion": if k.group.is_empty() { "v1".to_string() } else { format!("{}/v1", k.group) },
        "kind": k.kind,
        "metadata": {"name": k.name, "namespace": k.namespace},
    }))
}
