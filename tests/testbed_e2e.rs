//! Proof that the test control plane is a real Kubernetes: workloads become available
//! through the real controllers on simulated nodes, the testbed's kwok stages shape pod
//! lifecycles, and garbage collection removes what a deleted Deployment owned.

mod support;

use std::time::Duration;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::json;

use support::{eventually, testbed, unique};

async fn namespace(client: &kube::Client, name: &str) {
    let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let ns = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    api.create(&PostParams::default(), &ns).await.unwrap();
}

#[tokio::test]
async fn nodes_are_ready_labelled_and_spread_over_three_zones() {
    let client = testbed().client().await;
    let nodes: Api<Node> = Api::all(client);
    let list = nodes.list(&ListParams::default()).await.unwrap();
    assert_eq!(list.items.len(), 3);
    let mut zones = std::collections::BTreeSet::new();
    for n in &list.items {
        let labels = n.metadata.labels.clone().unwrap_or_default();
        for key in [
            "kubernetes.io/os",
            "kubernetes.io/arch",
            "kubernetes.io/hostname",
            "topology.kubernetes.io/zone",
        ] {
            assert!(
                labels.contains_key(key),
                "node {:?} lacks {key}",
                n.metadata.name
            );
        }
        zones.insert(labels["topology.kubernetes.io/zone"].clone());
        assert!(
            n.spec
                .as_ref()
                .and_then(|s| s.taints.clone())
                .unwrap_or_default()
                .is_empty(),
            "nodes have no taints"
        );
        let ready = n
            .status
            .as_ref()
            .unwrap()
            .conditions
            .as_ref()
            .unwrap()
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True");
        assert!(ready);
    }
    assert_eq!(zones.len(), 3);
    let version = testbed().client().await.apiserver_version().await.unwrap();
    assert!(
        version.git_version.starts_with("v1.3"),
        "/version reports a real version: {}",
        version.git_version
    );
}

#[tokio::test]
async fn deployment_and_daemonset_become_available_and_gc_cleans_up() {
    let client = testbed().client().await;
    let ns = unique("proof");
    namespace(&client, &ns).await;

    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    let dep: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}
    }))
    .unwrap();
    deployments
        .create(&PostParams::default(), &dep)
        .await
        .unwrap();

    let daemonsets: Api<DaemonSet> = Api::namespaced(client.clone(), &ns);
    let ds: DaemonSet = serde_json::from_value(json!({
        "metadata": {"name": "agent"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}},
            "template": {"metadata": {"labels": {"app": "agent"}},
                "spec": {"containers": [{"name": "agent", "image": "busybox:1.36"}]}}}
    }))
    .unwrap();
    daemonsets
        .create(&PostParams::default(), &ds)
        .await
        .unwrap();

    eventually(
        Duration::from_secs(60),
        "3/3 replicas available",
        || async {
            let d = deployments.get("web").await.ok()?;
            (d.status?.available_replicas? == 3).then_some(())
        },
    )
    .await;
    eventually(
        Duration::from_secs(60),
        "the DaemonSet ready on all 3 nodes",
        || async {
            let d = daemonsets.get("agent").await.ok()?;
            let s = d.status?;
            (s.desired_number_scheduled == 3 && s.number_ready == 3).then_some(())
        },
    )
    .await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let agent_pods = pods
        .list(&ListParams::default().labels("app=agent"))
        .await
        .unwrap();
    let nodes: std::collections::BTreeSet<_> = agent_pods
        .items
        .iter()
        .filter_map(|p| p.spec.as_ref()?.node_name.clone())
        .collect();
    assert_eq!(nodes.len(), 3, "one agent pod per node");

    // A pod with the never-ready label runs but never becomes ready.
    let stuck: Pod = serde_json::from_value(json!({
        "metadata": {"name": "stuck", "labels": {"testbed.landscape.dev/never-ready": "true"}},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}
    }))
    .unwrap();
    pods.create(&PostParams::default(), &stuck).await.unwrap();
    eventually(
        Duration::from_secs(30),
        "the never-ready pod to run",
        || async {
            let p = pods.get("stuck").await.ok()?;
            (p.status?.phase.as_deref() == Some("Running")).then_some(())
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let p = pods.get("stuck").await.unwrap();
    let ready = p
        .status
        .unwrap()
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "Ready")
        .unwrap();
    assert_eq!(ready.status, "False", "never-ready pods stay not ready");

    // Deleting the Deployment garbage-collects its ReplicaSet and pods.
    let replicasets: Api<ReplicaSet> = Api::namespaced(client.clone(), &ns);
    assert!(
        !replicasets
            .list(&ListParams::default().labels("app=web"))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    deployments
        .delete("web", &DeleteParams::background())
        .await
        .unwrap();
    eventually(
        Duration::from_secs(90),
        "ReplicaSets and pods of the deleted Deployment to go",
        || async {
            let rs = replicasets
                .list(&ListParams::default().labels("app=web"))
                .await
                .ok()?;
            let ps = pods
                .list(&ListParams::default().labels("app=web"))
                .await
                .ok()?;
            (rs.items.is_empty() && ps.items.is_empty()).then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn slow_and_failing_pods_follow_their_stages() {
    let client = testbed().client().await;
    let ns = unique("stages");
    namespace(&client, &ns).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let slow: Pod = serde_json::from_value(json!({
        "metadata": {"name": "slow", "annotations": {"testbed.landscape.dev/ready-after": "4s"}},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}
    }))
    .unwrap();
    let failing: Pod = serde_json::from_value(json!({
        "metadata": {"name": "failing", "labels": {"testbed.landscape.dev/fail": "true"}},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox:1.36"}]}
    }))
    .unwrap();
    let created = std::time::Instant::now();
    pods.create(&PostParams::default(), &slow).await.unwrap();
    pods.create(&PostParams::default(), &failing).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let early = pods.get("slow").await.unwrap();
    assert_ne!(
        early.status.and_then(|s| s.phase).as_deref(),
        Some("Running"),
        "not ready before its delay"
    );
    eventually(
        Duration::from_secs(30),
        "the slow pod to become ready",
        || async {
            let p = pods.get("slow").await.ok()?;
            p.status?
                .conditions?
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
                .then_some(())
        },
    )
    .await;
    assert!(created.elapsed() >= Duration::from_secs(4));
    eventually(
        Duration::from_secs(30),
        "the failing pod to fail",
        || async {
            let p = pods.get("failing").await.ok()?;
            (p.status?.phase.as_deref() == Some("Failed")).then_some(())
        },
    )
    .await;
}
