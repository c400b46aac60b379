//! The network already running against the one the stack installs. A cluster comes with
//! its network more often than not (EKS's VPC CNI, AKS's Azure CNI, GKE's netd or Dataplane
//! V2, k3s's built-in Flannel); installing a second one over it breaks every pod, so a
//! different network running is a failure with the fix — use the existing one — and the
//! same network installed by someone else is a conflict, both before any write.

use super::{Finding, Subject};
use crate::cluster::{Cluster, ClusterError};
use crate::k8s::Object;

const CHECK: &str = "network";

/// A cluster network, as landscape recognises it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Cni {
    AwsVpc,
    Azure,
    GkeDataplaneV2,
    GkeNetd,
    Calico,
    Canal,
    Cilium,
    Flannel,
    /// Flannel inside k3s: no DaemonSet, only node annotations.
    K3sFlannel,
    Weave,
    KubeRouter,
}

impl Cni {
    fn name(self) -> &'static str {
        match self {
            Cni::AwsVpc => "the AWS VPC CNI (aws-node)",
            Cni::Azure => "Azure CNI",
            Cni::GkeDataplaneV2 => "GKE Dataplane V2 (anetd)",
            Cni::GkeNetd => "GKE's network daemon (netd)",
            Cni::Calico => "Calico",
            Cni::Canal => "Canal (Calico + Flannel)",
            Cni::Cilium => "Cilium",
            Cni::Flannel => "Flannel",
            Cni::K3sFlannel => "k3s's built-in Flannel",
            Cni::Weave => "Weave Net",
            Cni::KubeRouter => "kube-router",
        }
    }

    /// The catalog component that installs this network, if there is one.
    fn component(self) -> Option<&'static str> {
        match self {
            Cni::Calico => Some("calico"),
            Cni::Cilium => Some("cilium"),
            Cni::Flannel => Some("flannel"),
            _ => None,
        }
    }
}

/// A network found running, and where.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Running {
    pub cni: Cni,
    /// The DaemonSet that runs it, if any.
    pub daemonset: Option<Object>,
    pub seen: String,
}

/// The networks `daemonsets` and `nodes` show to be running.
pub(super) fn identify(daemonsets: &[Object], nodes: &[Object]) -> Vec<Running> {
    let mut out: Vec<Running> = Vec::new();
    for ds in daemonsets {
        let name = ds.name();
        let cni = match name {
            "aws-node" => Cni::AwsVpc,
            "azure-cns" | "azure-cni" | "azure-cni-networkmonitor" => Cni::Azure,
            "anetd" => Cni::GkeDataplaneV2,
            "netd" => Cni::GkeNetd,
            "calico-node" => Cni::Calico,
            "canal" => Cni::Canal,
            "cilium" => Cni::Cilium,
            "weave-net" => Cni::Weave,
            "kube-router" => Cni::KubeRouter,
            n if n.starts_with("kube-flannel") => Cni::Flannel,
            _ => continue,
        };
        if !out.iter().any(|r| r.cni == cni) {
            out.push(Running {
                cni,
                daemonset: Some(ds.clone()),
                seen: format!("DaemonSet {}/{name}", ds.namespace().unwrap_or_default()),
            });
        }
    }
    let flannel_annotated = nodes.iter().any(|n| {
        n.pointer("/metadata/annotations")
            .and_then(|a| a.as_object())
            .is_some_and(|a| a.keys().any(|k| k.starts_with("flannel.alpha.coreos.com/")))
    });
    let k3s = nodes.iter().any(|n| {
        n.label("node.kubernetes.io/instance-type") == Some("k3s")
            || n.pointer("/metadata/annotations")
                .and_then(|a| a.as_object())
                .is_some_and(|a| a.keys().any(|k| k.starts_with("k3s.io/")))
    });
    if flannel_annotated && k3s && !out.iter().any(|r| r.cni == Cni::Flannel) {
        out.push(Running {
            cni: Cni::K3sFlannel,
            daemonset: None,
            seen: "flannel annotations on k3s nodes, and no Flannel DaemonSet".into(),
        });
    }
    out
}

pub(super) async fn check(s: &Subject<'_>, nodes: &[Object]) -> Result<Vec<Finding>, ClusterError> {
    let daemonsets = daemonsets(s.cluster).await?;
    let running = identify(&daemonsets, nodes);
    let ours = s.stack.components.iter().find(|c| c.cni);
    let ready = !nodes.is_empty()
        && nodes
            .iter()
            .all(|n| n.condition("Ready").is_some_and(|c| c.is_true()));
    Ok(vec![verdict(
        s,
        &running,
        ours.map(|c| c.name.as_str()),
        ready,
    )])
}

async fn daemonsets(cluster: &Cluster) -> Result<Vec<Object>, ClusterError> {
    cluster.list("apps/v1", "DaemonSet", None, "").await
}

fn verdict(s: &Subject<'_>, running: &[Running], ours: Option<&str>, nodes_ready: bool) -> Finding {
    let names = running
        .iter()
        .map(|r| format!("{} ({})", r.cni.name(), r.seen))
        .collect::<Vec<_>>()
        .join(", ");
    let Some(ours) = ours else {
        return if running.is_empty() && nodes_ready {
            // A kubelet reports Ready only once its network plugin is: some network runs.
            Finding::pass(
                CHECK,
                "the stack installs no network; every node is Ready, so one runs (not one landscape recognises)",
            )
        } else if running.is_empty() {
            Finding::warn(
                CHECK,
                "the stack installs no network, and no known one runs",
                "make sure the cluster has a working CNI, or add one to the stack",
            )
        } else {
            Finding::pass(
                CHECK,
                format!("the stack uses the network already running: {names}"),
            )
        };
    };
    if running.is_empty() {
        return Finding::pass(
            CHECK,
            format!("no network runs yet; the stack installs `{ours}`"),
        );
    }
    if let Some(same) = running.iter().find(|r| r.cni.component() == Some(ours))
        && running.len() == 1
    {
        if same.daemonset.as_ref().is_some_and(|ds| s.owns(ds)) {
            return Finding::pass(CHECK, format!("`{ours}` runs, installed by this stack"));
        }
        if s.flags.force_conflicts {
            return Finding::warn(
                CHECK,
                format!(
                    "{} already runs ({}), installed by someone else: --force-conflicts takes it over",
                    same.cni.name(),
                    same.seen
                ),
                format!("to leave it to its installer instead, `disable: [{ours}]`"),
            );
        }
        return Finding::fail(
            CHECK,
            format!(
                "{} already runs ({}), installed by someone else: the stack's `{ours}` would conflict with it",
                same.cni.name(),
                same.seen
            ),
            format!(
                "use it as it is with `disable: [{ours}]` in a stack that extends the profile, or take it over with --force-conflicts"
            ),
        );
    }
    Finding::fail(
        CHECK,
        format!(
            "the cluster already runs {names}; the stack would install `{ours}` over it, which breaks pod networking"
        ),
        format!(
            "keep the existing network: add `disable: [{ours}]` to a stack that extends the profile (or choose a profile whose network is the one running)"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ds(ns: &str, name: &str) -> Object {
        Object(
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name, "namespace": ns}}),
        )
    }

    #[test]
    fn networks_are_recognised_by_their_daemonsets_and_node_marks() {
        let found = identify(
            &[
                ds("kube-system", "aws-node"),
                ds("kube-system", "kube-proxy"),
            ],
            &[],
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].cni, Cni::AwsVpc);
        let found = identify(&[ds("kube-flannel", "kube-flannel-ds")], &[]);
        assert_eq!(found[0].cni, Cni::Flannel);
        let k3s = Object(
            json!({"kind": "Node", "metadata": {"name": "n", "labels": {"node.kubernetes.io/instance-type": "k3s"}, "annotations": {"flannel.alpha.coreos.com/backend-type": "vxlan"}}}),
        );
        let found = identify(&[], &[k3s]);
        assert_eq!(found[0].cni, Cni::K3sFlannel);
        assert!(identify(&[ds("kube-system", "kube-proxy")], &[]).is_empty());
    }
}
