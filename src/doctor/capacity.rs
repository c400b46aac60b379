//! CPU and memory: what the stack's pods request against what the nodes can still
//! allocate, placed as the scheduler would — a DaemonSet's pod on every node, the other
//! pods wherever there is room. A pod larger than any node's free room never schedules.
//! Operators' own workloads (a Prometheus, a Ceph cluster) are created at run time and are
//! not counted: the figures are a floor.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Finding, Subject};
use crate::cluster::ClusterError;
use crate::k8s::Object;
use crate::k8s::quantity::{format_bytes, format_cpu, parse_milli};
use crate::k8s::workload::{Count, pods, requests};

const CHECK: &str = "capacity";

/// CPU (millicores) and memory (millibytes).
type Amount = (u128, u128);

/// What each node can still allocate: its allocatable less what its pods request.
pub(super) fn free(nodes: &[Object], running: &[Object]) -> BTreeMap<String, Amount> {
    let mut free: BTreeMap<String, Amount> = nodes
        .iter()
        .filter(|n| n.pointer("/spec/unschedulable").and_then(Value::as_bool) != Some(true))
        .map(|n| {
            let of = |r: &str| {
                n.pointer(&format!("/status/allocatable/{r}"))
                    .and_then(Value::as_str)
                    .and_then(parse_milli)
                    .unwrap_or(0)
            };
            (n.name().to_string(), (of("cpu"), of("memory")))
        })
        .collect();
    for pod in running {
        let phase = pod.pointer_str("/status/phase").unwrap_or_default();
        let (Some(node), false) = (
            pod.pointer_str("/spec/nodeName"),
            matches!(phase, "Succeeded" | "Failed"),
        ) else {
            continue;
        };
        if let (Some(slot), Some(spec)) = (free.get_mut(node), pod.pointer("/spec")) {
            let (cpu, mem) = requests(spec);
            slot.0 = slot.0.saturating_sub(cpu);
            slot.1 = slot.1.saturating_sub(mem);
        }
    }
    free
}

/// Places the stack's pods on `free` nodes; returns what does not fit.
pub(super) fn place(s: &Subject<'_>, mut free: BTreeMap<String, Amount>) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut others: Vec<(String, Amount)> = Vec::new();
    for (component, o) in s.objects() {
        let Some(p) = pods(o) else { continue };
        let need = requests(p.spec);
        if need == (0, 0) {
            continue;
        }
        match p.count {
            Count::PerNode => {
                let short: Vec<&String> = free
                    .iter()
                    .filter(|(_, f)| f.0 < need.0 || f.1 < need.1)
                    .map(|(n, _)| n)
                    .collect();
                if !short.is_empty() {
                    out.push(Finding::fail(
                        CHECK,
                        format!("component `{component}`: {} runs a pod on every node requesting {} CPU and {}; nodes {} cannot hold it", o.key(), format_cpu(need.0), format_bytes(need.1), short.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")),
                        "use larger nodes, free room on them, or lower the component's requests in its values",
                    ));
                }
                for f in free.values_mut() {
                    f.0 = f.0.saturating_sub(need.0);
                    f.1 = f.1.saturating_sub(need.1);
                }
            }
            Count::Replicas(n) => {
                for i in 0..n {
                    others.push((
                        format!(
                            "component `{component}`: {} (pod {} of {n})",
                            o.key(),
                            i + 1
                        ),
                        need,
                    ));
                }
            }
        }
    }
    // Largest first, each on the node with the most room: a fair picture of the scheduler.
    others.sort_by_key(|(_, need)| std::cmp::Reverse(*need));
    for (what, need) in others {
        let best = free
            .iter_mut()
            .filter(|(_, f)| f.0 >= need.0 && f.1 >= need.1)
            .max_by_key(|(_, f)| **f);
        match best {
            Some((_, f)) => {
                f.0 -= need.0;
                f.1 -= need.1;
            }
            None => out.push(Finding::fail(
                CHECK,
                format!("{what} requests {} CPU and {}: no node has that much room left", format_cpu(need.0), format_bytes(need.1)),
                "add nodes or larger ones, or lower the component's requests or replicas in its values",
            )),
        }
    }
    out
}

pub(super) async fn check(s: &Subject<'_>, nodes: &[Object]) -> Result<Vec<Finding>, ClusterError> {
    let running = s.cluster.list("v1", "Pod", None, "").await?;
    let free = free(nodes, &running);
    let room: Amount = free.values().fold((0, 0), |a, f| (a.0 + f.0, a.1 + f.1));
    let mut out = place(s, free);
    if out.len() > 5 {
        let more = out.len() - 5;
        out.truncate(5);
        out.push(Finding::fail(
            CHECK,
            format!("and {more} more pods that do not fit"),
            "see above",
        ));
    }
    if out.is_empty() {
        let total = s
            .objects()
            .filter_map(|(_, o)| pods(o))
            .fold((0u128, 0u128), |a, p| {
                let (c, m) = requests(p.spec);
                let n = match p.count {
                    Count::PerNode => nodes.len() as u128,
                    Count::Replicas(n) => n as u128,
                };
                (a.0 + c * n, a.1 + m * n)
            });
        out.push(Finding::pass(
            CHECK,
            format!(
                "the stack's pods request {} CPU and {} of memory; the nodes have {} CPU and {} free",
                format_cpu(total.0),
                format_bytes(total.1),
                format_cpu(room.0),
                format_bytes(room.1)
            ),
        ));
    }
    Ok(out)
}
