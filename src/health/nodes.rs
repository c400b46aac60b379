//! The cluster network's gate: a CNI is working when its agent runs on every node it should
//! and every node reports Ready without the not-ready or network-unavailable taints (the
//! kubelet reports NotReady until a CNI configuration exists).

use serde_json::Value;

use super::Health;
use crate::k8s::Object;

const BLOCKING_TAINTS: &[&str] = &[
    "node.kubernetes.io/not-ready",
    "node.kubernetes.io/network-unavailable",
    "node.cilium.io/agent-not-ready",
];

/// Every node Ready and free of network taints.
pub fn cni_nodes(nodes: &[Object]) -> Health {
    if nodes.is_empty() {
        return Health::progressing("the cluster has no nodes");
    }
    let mut not_ready = Vec::new();
    for n in nodes {
        if !n.condition("Ready").is_some_and(|c| c.is_true()) {
            not_ready.push(format!("{} (not Ready)", n.name()));
            continue;
        }
        let taints: Vec<&str> = n
            .pointer("/spec/taints")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| t.get("key").and_then(Value::as_str))
            .filter(|k| BLOCKING_TAINTS.contains(k))
            .collect();
        if let Some(t) = taints.first() {
            not_ready.push(format!("{} (taint {t})", n.name()));
        }
    }
    if not_ready.is_empty() {
        Health::Ready
    } else {
        Health::progressing(format!(
            "{}/{} nodes ready; waiting for {}",
            nodes.len() - not_ready.len(),
            nodes.len(),
            not_ready.join(", ")
        ))
    }
}

/// A CNI DaemonSet must run a ready pod on every node its node selector admits.
pub fn daemonset_on_every_node(ds: &Object, nodes: &[Object]) -> Health {
    let selector = ds
        .pointer("/spec/template/spec/nodeSelector")
        .and_then(Value::as_object);
    let targeted = nodes
        .iter()
        .filter(|n| selector.is_none_or(|sel| sel.iter().all(|(k, v)| n.label(k) == v.as_str())))
        .count() as i64;
    let ready = ds.pointer_i64("/status/numberReady").unwrap_or(0);
    if ready >= targeted {
        Health::Ready
    } else {
        Health::progressing(format!("ready on {ready} of {targeted} nodes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(name: &str, ready: &str, taint: Option<&str>) -> Object {
        let taints: Vec<Value> = taint
            .into_iter()
            .map(|t| json!({"key": t, "effect": "NoSchedule"}))
            .collect();
        Object(
            json!({"kind": "Node", "metadata": {"name": name, "labels": {"kubernetes.io/os": "linux"}},
            "spec": {"taints": taints}, "status": {"conditions": [{"type": "Ready", "status": ready}]}}),
        )
    }

    #[test]
    fn every_node_must_be_ready_and_untainted() {
        assert!(cni_nodes(&[node("a", "True", None), node("b", "True", None)]).is_ready());
        let h = cni_nodes(&[
            node("a", "True", None),
            node("b", "False", None),
            node("c", "True", Some("node.kubernetes.io/network-unavailable")),
        ]);
        assert_eq!(h, Health::Progressing("1/3 nodes ready; waiting for b (not Ready), c (taint node.kubernetes.io/network-unavailable)".into()));
    }

    #[test]
    fn daemonset_covers_targeted_nodes() {
        let ds = Object(
            json!({"kind": "DaemonSet", "spec": {"template": {"spec": {"nodeSelector": {"kubernetes.io/os": "linux"}}}}, "status": {"numberReady": 2}}),
        );
        let nodes = [
            node("a", "True", None),
            node("b", "True", None),
            node("c", "True", None),
        ];
        assert_eq!(
            daemonset_on_every_node(&ds, &nodes),
            Health::Progressing("ready on 2 of 3 nodes".into())
        );
    }
}
