//! Nodes, zones and regions against what the stack assumes: a profile that spreads over
//! three zones, Ceph's monitors on three nodes, a disaster-recovery location in another
//! region than the cluster's.

use std::collections::BTreeSet;

use super::{Finding, Subject};
use crate::k8s::Object;

const CHECK: &str = "topology";
const ZONE: &str = "topology.kubernetes.io/zone";
const REGION: &str = "topology.kubernetes.io/region";

pub(super) fn check(s: &Subject<'_>, nodes: &[Object]) -> Vec<Finding> {
    let zones = labels(nodes, ZONE);
    let regions = labels(nodes, REGION);
    let saw = format!(
        "{} nodes in {} zones ({})",
        nodes.len(),
        zones.len(),
        if zones.is_empty() {
            "no zone labels".to_string()
        } else {
            zones.iter().cloned().collect::<Vec<_>>().join(", ")
        }
    );
    let mut out = Vec::new();
    let wants = std::iter::once(("the stack", &s.stack.requires)).chain(
        s.stack
            .components
            .iter()
            .map(|c| (c.name.as_str(), &c.requires)),
    );
    for (who, r) in wants {
        if let Some(n) = r.nodes.filter(|n| (nodes.len() as u32) < *n) {
            out.push(Finding::fail(
                CHECK,
                format!(
                    "{who} needs at least {n} nodes; the cluster has {}",
                    nodes.len()
                ),
                format!("add nodes, or leave {who} out of the stack (`disable:`)"),
            ));
        }
        if let Some(n) = r.zones.filter(|n| (zones.len() as u32) < *n) {
            out.push(Finding::fail(
                CHECK,
                format!("{who} spreads over at least {n} zones; {saw}"),
                format!("run nodes in {n} zones (label {ZONE}), or use a profile meant for one zone (small)"),
            ));
        }
    }
    out.extend(other_regions(s, &regions));
    if out.is_empty() {
        out.push(Finding::pass(CHECK, saw));
    }
    out
}

fn labels(nodes: &[Object], label: &str) -> BTreeSet<String> {
    nodes
        .iter()
        .filter_map(|n| n.label(label))
        .map(str::to_string)
        .collect()
}

/// Locations that must lie outside the cluster's own region(s).
fn other_regions(s: &Subject<'_>, regions: &BTreeSet<String>) -> Vec<Finding> {
    let mut out = Vec::new();
    for c in &s.stack.components {
        for path in c.requires.other_region.iter().flatten() {
            let Some(value) =
                crate::stack::values::get_path(&c.values, path).and_then(|v| v.as_str())
            else {
                continue;
            };
            if regions.is_empty() {
                out.push(Finding::warn(
                    CHECK,
                    format!("`{}.{path}` is {value}; the nodes carry no {REGION} label, so whether that is another region cannot be told", c.name),
                    format!("label the nodes with {REGION}, or make sure {value} is not the cluster's region"),
                ));
            } else if regions.contains(value) {
                out.push(Finding::fail(
                    CHECK,
                    format!("`{}.{path}` is {value}, the cluster's own region: a disaster there takes both", c.name),
                    format!("set `{}.{path}` to another region than {}", c.name, regions.iter().cloned().collect::<Vec<_>>().join(", ")),
                ));
            }
        }
    }
    out
}
