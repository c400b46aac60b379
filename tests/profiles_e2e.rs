//! Every profile end to end, each on a control plane of its own: `up` with every component
//! healthy, then `diff` with nothing to change, then `down` leaving nothing owned but the
//! CRDs it keeps on purpose.
//!
//! Simulated pods do not run programs. The Prometheus Operator, Gatekeeper and
//! metrics-server run for real (tests/testbed/operators.py); the other operators whose work
//! the gates check are played by the testbed's stand-in (tests/testbed/stand-in.py):
//! Kyverno, Velero, cert-manager (CA injection and certificates), Rook (Ceph status),
//! Tigera (Calico's installation), Argo CD and the webhook certificate controllers. The
//! gates themselves are the real ones.

mod support;

use std::path::PathBuf;

use support::{Run, Testbed, operators, run, start_named};

fn demo_values(profile: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/testbed/demo/{profile}.yaml"))
}

async fn landscape(tb: &Testbed, args: Vec<String>) -> Run {
    let mut cmd = tb.landscape();
    cmd.args(args);
    tokio::task::spawn_blocking(move || run(cmd)).await.unwrap()
}

fn args(profile: &str, rest: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = rest.iter().map(|s| s.to_string()).collect();
    a.extend([
        "--profile".to_string(),
        profile.to_string(),
        "-f".to_string(),
    ]);
    a.push(demo_values(profile).display().to_string());
    a
}

async fn lifecycle(profile: &str, expected_components: usize) {
    let tb = start_named(&format!("{profile}-{}", std::process::id()), &[]);
    // These run for real: metrics-server's APIService is Available only once the API server
    // has reached it on its pod's address; the Prometheus Operator creates the StatefulSets
    // of Prometheus and Alertmanager and sets their conditions itself; Gatekeeper generates
    // the constraint CRDs from the templates and reports the constraints it enforces.
    let _real = operators::run(
        &tb,
        &["metrics-server", "prometheus-operator", "gatekeeper"],
    );
    let _stand_in = operators::play(
        &tb,
        &[
            "kyverno",
            "velero",
            "cert-manager",
            "rook",
            "tigera",
            "webhook-certs",
            "argocd",
        ],
    );

    let up = landscape(
        &tb,
        args(profile, &["up", "-o", "json", "--timeout", "15m"]),
    )
    .await;
    assert_eq!(up.code, 0, "{up:?}");
    let events = up.events();
    let summary = events.last().unwrap();
    let components = summary["components"].as_array().unwrap();
    assert_eq!(components.len(), expected_components);
    for c in components {
        assert_eq!(c["state"], "healthy", "{c}");
    }

    // The real operators did their part: the Prometheus Operator made Prometheus's
    // StatefulSet (owned by the Prometheus, not by landscape), and the API server reached
    // metrics-server on its pod's address.
    let owner = tb.kubectl(&[
        "get",
        "statefulset",
        "prometheus-kube-prometheus-stack-prometheus",
        "-n",
        "monitoring",
        "-o",
        "jsonpath={.metadata.ownerReferences[0].kind}",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&owner.stdout),
        "Prometheus",
        "{owner:?}"
    );
    let metrics = tb.kubectl(&["get", "--raw", "/apis/metrics.k8s.io/v1beta1"]);
    assert!(
        String::from_utf8_lossy(&metrics.stdout).contains("PodMetrics"),
        "{metrics:?}"
    );

    if profile != "small" {
        ceph_block_is_usable(&tb);
    }

    let diff = landscape(&tb, args(profile, &["diff"])).await;
    assert_eq!(diff.code, 0, "nothing to change after up: {diff:?}");

    let status = landscape(&tb, vec!["status".into(), "-o".into(), "json".into()]).await;
    assert_eq!(status.code, 0, "{status:?}");

    let owned_roles: Vec<String> = tb
        .objects_with_labels(&format!("landscape.dev/stack={profile}"))
        .await
        .into_iter()
        .filter_map(|o| o.strip_prefix("ClusterRole//").map(str::to_string))
        .collect();
    assert!(!owned_roles.is_empty());
    let down = landscape(
        &tb,
        args(
            profile,
            &["down", "--yes", "--delete-volumes", "--timeout", "5m"],
        ),
    )
    .await;
    assert_eq!(down.code, 0, "{down:?}");
    // Nothing that was deleted came back under the same name: Kubernetes' aggregation
    // controller re-creates an aggregated ClusterRole deleted together with the roles it
    // selects, unlabelled (see engine::remove::aggregated_roles_first).
    let cluster_roles =
        String::from_utf8(tb.kubectl(&["get", "clusterroles", "-o", "name"]).stdout).unwrap();
    let back: Vec<&String> = owned_roles
        .iter()
        .filter(|r| {
            cluster_roles.lines().any(|l| {
                l.strip_prefix("clusterrole.rbac.authorization.k8s.io/") == Some(r.as_str())
            })
        })
        .collect();
    assert!(back.is_empty(), "deleted ClusterRoles came back: {back:?}");
    let left: Vec<String> = tb
        .objects_with_labels(&format!("landscape.dev/stack={profile}"))
        .await
        .into_iter()
        .filter(|o| !o.starts_with("CustomResourceDefinition/"))
        .filter(|o| o != &format!("Secret/kube-system/landscape-{profile}"))
        .collect();
    assert!(left.is_empty(), "down left owned objects behind: {left:?}");
    let status = landscape(&tb, vec!["status".into()]).await;
    assert!(status.stdout.contains("Nothing installed"), "{status:?}");
    // What is kept is recorded as such: only CRDs.
    let inventory = tb
        .inventory(profile)
        .await
        .expect("kept CRDs keep the inventory");
    assert!(inventory.components.is_empty());
    for key in inventory.retained.iter() {
        assert!(key.is_crd(), "{key}");
    }
}

/// Every object the real RBD provisioner needs for `ceph-block` is in place once `up` says
/// Rook is healthy: the StorageClass names a registered CSI driver, whose controller plugin
/// runs and whose node plugin runs on every node, and the pool is Ready. (ceph-csi-operator's
/// part is played: it makes the driver's objects from the Driver resources.)
fn ceph_block_is_usable(tb: &Testbed) {
    let get = |args: &[&str]| {
        let out = tb.kubectl(args);
        assert!(out.status.success(), "kubectl {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let driver = get(&[
        "get",
        "storageclass",
        "ceph-block",
        "-o",
        "jsonpath={.provisioner}",
    ]);
    assert_eq!(driver, "rook-ceph.rbd.csi.ceph.com");
    get(&["get", "csidriver", &driver]);
    let available = get(&[
        "get",
        "deployment",
        &format!("{driver}-ctrlplugin"),
        "-n",
        "rook-ceph",
        "-o",
        "jsonpath={.status.availableReplicas}",
    ]);
    assert!(available.parse::<u32>().unwrap_or(0) >= 1, "{available}");
    let nodes = get(&["get", "nodes", "-o", "name"]).lines().count();
    let ready = get(&[
        "get",
        "daemonset",
        &format!("{driver}-nodeplugin"),
        "-n",
        "rook-ceph",
        "-o",
        "jsonpath={.status.numberReady}",
    ]);
    assert_eq!(ready, nodes.to_string());
    let pool = get(&[
        "get",
        "cephblockpools",
        "-n",
        "rook-ceph",
        "-o",
        "jsonpath={.items[*].status.phase}",
    ]);
    assert!(
        pool.split_whitespace().all(|p| p == "Ready") && !pool.is_empty(),
        "{pool}"
    );
}

#[tokio::test]
async fn small_profile_up_diff_down_playing_operators() {
    lifecycle("small", 12).await;
}

#[tokio::test]
async fn medium_profile_up_diff_down_playing_operators() {
    lifecycle("medium", 22).await;
}

#[tokio::test]
async fn large_profile_up_diff_down_playing_operators() {
    lifecycle("large", 30).await;
}
