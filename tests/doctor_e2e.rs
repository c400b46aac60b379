//! `doctor`, and `up`'s checks before its first write: for each check, a cluster where it
//! passes and one where it fails — a network already running, one zone for a stack that
//! spreads over three, no default StorageClass, a CSI driver missing, requests larger than
//! the nodes, a Helm release where the stack installs, a user with namespace rights only,
//! a webhook that fails closed with no endpoint, a namespace enforcing `restricted`, a
//! Kubernetes version outside a component's range. Each failure asserts the message and
//! the exit code (6), and — from the API server's audit log — that `up` wrote nothing.
//!
//! The checks read cluster-wide state, and some tests change it: the tests on the shared
//! control plane take turns.

mod support;

use std::path::Path;
use std::sync::Mutex;

use serde_json::Value;

use support::{Run, Testbed, run, testbed_with, unique};

/// One test at a time changes cluster-wide state here.
static TURN: Mutex<()> = Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    TURN.lock().unwrap_or_else(|e| e.into_inner())
}

fn main_testbed() -> &'static Testbed {
    testbed_with(&["--audit"])
}

/// A stack named `name` with one component `app` (in namespace `ns`) rendering `app/`.
fn project(name: &str, ns: &str, extra: &str, files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("landscape.yaml"),
        format!("name: {name}\ncomponents:\n  app:\n    category: delivery\n    namespace: {ns}\n    sources: [{{templateDir: ./app}}]\n    timeout: 1m\n{extra}"),
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("app")).unwrap();
    for (file, text) in files {
        std::fs::write(dir.path().join("app").join(file), text).unwrap();
    }
    dir
}

fn landscape(tb: &Testbed, dir: &Path, args: &[&str]) -> Run {
    let mut cmd = tb.landscape();
    cmd.current_dir(dir).args(args);
    run(cmd)
}

/// `doctor -o json`: its exit code and findings as (check, status, saw + fix).
fn doctor(tb: &Testbed, dir: &Path, extra: &[&str]) -> (i32, Vec<(String, String, String)>) {
    let mut args = vec!["doctor", "-o", "json"];
    args.extend(extra);
    let out = landscape(tb, dir, &args);
    let v: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    let findings = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["check"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
                format!(
                    "{} {}",
                    c["saw"].as_str().unwrap(),
                    c["fix"].as_str().unwrap_or_default()
                ),
            )
        })
        .collect();
    (out.code, findings)
}

/// The check failed, saying each of `says`.
fn assert_fails(findings: &[(String, String, String)], check: &str, says: &[&str]) {
    let text: Vec<&String> = findings
        .iter()
        .filter(|(c, s, _)| c == check && s == "fail")
        .map(|(_, _, t)| t)
        .collect();
    assert!(!text.is_empty(), "{check} did not fail: {findings:#?}");
    for needle in says {
        assert!(
            text.iter().any(|t| t.contains(needle)),
            "{check} does not say `{needle}`: {text:#?}"
        );
    }
}

/// `up` stops with exit 6 on the check, and writes nothing.
fn assert_up_refuses(tb: &Testbed, dir: &Path, check: &str, says: &str) {
    let audit = support::audit::log(tb);
    let before = support::audit::lines(&audit);
    let up = landscape(tb, dir, &["up"]);
    assert_eq!(up.code, 6, "{up:?}");
    assert!(
        up.stderr.contains(check) && up.stderr.contains(says),
        "{up:?}"
    );
    let writes = support::audit::writes_since(&audit, before);
    assert!(writes.is_empty(), "up wrote: {writes:#?}");
}

const SMALL_DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: c, image: registry.example/web:1, resources: {requests: {cpu: 100m, memory: 64Mi}}}]}\n";

const CLAIM: &str = "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\nspec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 2Gi}}}\n";

#[test]
fn a_cluster_that_can_take_the_stack_passes_every_check() {
    let tb = main_testbed();
    let _turn = turn();
    let name = unique("fine");
    let dir = project(
        &name,
        &name,
        "    requires: {kubernetes: \">=1.30\", nodes: 3, zones: 3}\n",
        &[("web.yaml", SMALL_DEPLOYMENT), ("claim.yaml", CLAIM)],
    );
    let (code, findings) = doctor(tb, dir.path(), &[]);
    assert_eq!(code, 0, "{findings:#?}");
    let checks: Vec<&str> = findings.iter().map(|(c, _, _)| c.as_str()).collect();
    for check in [
        "kubernetes-version",
        "network",
        "topology",
        "storage",
        "capacity",
        "existing-installs",
        "rights",
        "admission",
    ] {
        assert!(checks.contains(&check), "{check} ran: {findings:#?}");
    }
    assert!(
        findings.iter().all(|(_, s, _)| s == "pass"),
        "{findings:#?}"
    );
    let storage = findings.iter().find(|(c, _, _)| c == "storage").unwrap();
    assert!(storage.2.contains("1 volume claims, 2Gi"), "{storage:?}");
    // And up goes ahead.
    let up = landscape(tb, dir.path(), &["up"]);
    assert_eq!(up.code, 0, "{up:?}");
    assert_eq!(
        landscape(tb, dir.path(), &["down", "--yes", "--delete-volumes"]).code,
        0
    );
}

#[test]
fn a_different_network_already_running_fails_the_network_check() {
    let tb = main_testbed();
    let _turn = turn();
    let name = unique("cni");
    // The stack's network component: a small stand-in marked `cni: true` named flannel.
    let dir = project(&name, &name, "", &[("web.yaml", SMALL_DEPLOYMENT)]);
    let file = dir.path().join("landscape.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text + &format!("  flannel:\n    category: networking\n    cni: true\n    namespace: {name}-net\n    sources: [{{templateDir: ./app}}]\n    timeout: 1m\n")).unwrap();
    let aws_node = "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: aws-node, namespace: kube-system}\nspec:\n  selector: {matchLabels: {k8s-app: aws-node}}\n  template:\n    metadata: {labels: {k8s-app: aws-node}}\n    spec: {containers: [{name: aws-node, image: registry.example/amazon-k8s-cni:v1}]}\n";
    apply(tb, aws_node);
    let (code, findings) = doctor(tb, dir.path(), &[]);
    let result = std::panic::catch_unwind(|| {
        assert_eq!(code, 6, "{findings:#?}");
        assert_fails(
            &findings,
            "network",
            &[
                "AWS VPC CNI",
                "DaemonSet kube-system/aws-node",
                "disable: [flannel]",
            ],
        );
        assert_up_refuses(tb, dir.path(), "network", "aws-node");
        // Skipped by name, the check is not run.
        let (code, findings) = doctor(tb, dir.path(), &["--skip-checks", "network"]);
        assert!(
            findings.iter().all(|(c, _, _)| c != "network"),
            "{findings:#?}"
        );
        assert_eq!(code, 0, "{findings:#?}");
    });
    delete(tb, "daemonset", "kube-system", "aws-node");
    result.unwrap();
}

#[test]
fn requests_larger_than_the_nodes_fail_the_capacity_check() {
    let tb = main_testbed();
    let _turn = turn();
    let name = unique("big");
    let huge = SMALL_DEPLOYMENT.replace("cpu: 100m", "cpu: \"5000\"");
    let dir = project(&name, &name, "", &[("web.yaml", &huge)]);
    let (code, findings) = doctor(tb, dir.path(), &[]);
    assert_eq!(code, 6);
    assert_fails(
        &findings,
        "capacity",
        &[
            "Deployment.apps",
            "web",
            "requests 5000 CPU",
            "no node has that much room",
        ],
    );
    assert_up_refuses(tb, dir.path(), "capacity", "5000 CPU");
}

#[test]
fn a_version_outside_a_components_range_and_removed_apis_fail() {
    let tb = main_testbed();
    let _turn = turn();
    let name = unique("old");
    let cron = "apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: nightly}\nspec: {schedule: \"@daily\", jobTemplate: {spec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: registry.example/c:1}]}}}}}\n";
    let dir = project(
        &name,
        &name,
        "    requires: {kubernetes: \">=1.99\"}\n",
        &[("cron.yaml", cron)],
    );
    let (code, findings) = doctor(tb, dir.path(), &[]);
    assert_eq!(code, 6);
    assert_fails(
        &findings,
        "kubernetes-version",
        &[
            "app needs >=1.99",
            "batch/v1beta1 CronJob",
            "removed in Kubernetes 1.25",
        ],
    );
    assert_up_refuses(
        tb,
        dir.path(),
        "kubernetes-version",
        "removed in Kubernetes 1.25",
    );
    // A range the cluster is newer than is a warning: upstream has not tested it yet.
    let dir = project(
        &name,
        &name,
        "    requires: {kubernetes: \">=1.20 <1.21\"}\n",
        &[("web.yaml", SMALL_DEPLOYMENT)],
    );
    let (code, findings) = doctor(tb, dir.path(), &[]);
    assert_eq!(code, 0, "{findings:#?}");
    assert!(
        findings.iter().any(|(c, s, t)| c == "kubernetes-version"
            && s == "warn"
            && t.contains("newer than app is tested")),
        "{findings:#?}"
    );
}

/// A chart repository in a mirror directory (`charts.landscape.test/` in `mirror`) holding
/// chart `gadget` at `version`, which declares `kubeVersion`.
fn chart_declaring(mirror: &Path, version: &str, kube_version: &str) {
    let repo = mirror.join("charts.landscape.test");
    let chart = tempfile::tempdir().unwrap();
    let root = chart.path().join("gadget");
    std::fs::create_dir_all(root.join("templates")).unwrap();
    std::fs::write(
        root.join("Chart.yaml"),
        format!(
            "apiVersion: v2\nname: gadget\nversion: {version}\nkubeVersion: '{kube_version}'\n"
        ),
    )
    .unwrap();
    std::fs::write(
        root.join("templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: gadget}\ndata: {a: b}\n",
    )
    .unwrap();
    std::fs::create_dir_all(&repo).unwrap();
    let tar = std::process::Command::new("tar")
        .arg("czf")
        .arg(repo.join(format!("gadget-{version}.tgz")))
        .arg("-C")
        .arg(chart.path())
        .arg("gadget")
        .status()
        .unwrap();
    assert!(tar.success());
    std::fs::write(
        repo.join("index.yaml"),
        format!("apiVersion: v1\nentries:\n  gadget:\n    - name: gadget\n      version: {version}\n      urls: [gadget-{version}.tgz]\n"),
    )
    .unwrap();
}

#[test]
fn a_chart_whose_kube_version_leaves_out_the_cluster_fails() {
    let tb = main_testbed();
    let _turn = turn();
    let name = unique("chartver");
    let dir = tempfile::tempdir().unwrap();
    let mirror = dir.path().join("mirror");
    let stack = |version: &str| {
        std::fs::write(
            dir.path().join("landscape.yaml"),
            format!("name: {name}\ncomponents:\n  gadget:\n    category: delivery\n    namespace: {name}\n    sources: [{{chart: {{repository: https://charts.landscape.test, name: gadget, version: {version}}}}}]\n"),
        )
        .unwrap();
    };
    stack("1.0.0");
    let mirror_flag = mirror.display().to_string();

    chart_declaring(&mirror, "1.0.0", ">= 1.99.0-0");
    let (code, findings) = doctor(tb, dir.path(), &["--mirror", &mirror_flag]);
    assert_eq!(code, 6, "{findings:#?}");
    assert_fails(
        &findings,
        "kubernetes-version",
        &["component gadget uses chart gadget 1.0.0", "`>= 1.99.0-0`"],
    );
    // The other checks still ran, on the chart rendered for a version it takes.
    assert!(
        findings.iter().any(|(c, _, _)| c == "existing-installs"),
        "{findings:#?}"
    );
    // `up` says which component and why, before helm is asked, and writes nothing.
    let audit = support::audit::log(tb);
    let before = support::audit::lines(&audit);
    let up = landscape(tb, dir.path(), &["up", "--mirror", &mirror_flag]);
    assert_eq!(up.code, 6, "{up:?}");
    assert!(
        up.stderr
            .contains("component `gadget`: chart gadget 1.0.0 supports Kubernetes `>= 1.99.0-0`")
            && up.stderr.contains("hint:"),
        "{up:?}"
    );
    assert_eq!(up.stderr.trim().lines().count(), 1, "{up:?}");
    let writes = support::audit::writes_since(&audit, before);
    assert!(writes.is_empty(), "up wrote: {writes:#?}");

    // A range in Helm's syntax that holds this cluster passes.
    std::fs::remove_dir_all(&mirror).unwrap();
    chart_declaring(&mirror, "1.0.1", ">=1.20.0-0 <1.21.0-0 || ^1.21.0-0");
    stack("1.0.1");
    let (code, findings) = doctor(tb, dir.path(), &["--mirror", &mirror_flag]);
    assert!(
        !findings
            .iter()
            .any(|(c, s, _)| c == "kubernetes-version" && s != "pass"),
        "{findings:#?}"
    );
    assert_eq!(code, 0, "{findings:#?}");
}

#[test]
fn a_helm_release_and_helm_objects_fail_the_existing_installs_check() {
    let tb = main_testbed();
    let _turn = turn();
    let name = unique("helm");
    let ns = format!("{name}-cm");
    let release = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n---\napiVersion: v1\nkind: Secret\ntype: helm.sh/release.v1\nmetadata:\n  name: sh.helm.release.v1.cert-manager.v1\n  namespace: {ns}\n  labels: {{owner: helm, name: cert-manager, status: deployed, version: \"1\"}}\ndata: {{release: SDRzSUFBQUFBQUFBLw==}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: {ns}\n  labels: {{app.kubernetes.io/managed-by: Helm}}\n  annotations: {{meta.helm.sh/release-name: cert-manager}}\ndata: {{a: b}}\n"
    );
    apply(tb, &release);
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: c}\n";
    let dir = project(&name, &ns, "", &[("settings.yaml", cm)]);
    let (code, findings) = doctor(tb, dir.path(), &[]);
    assert_eq!(code, 6, "{findings:#?}");
    assert_fails(
        &findings,
        "existing-installs",
        &[
            "Helm release `cert-manager` in namespace",
            "helm uninstall cert-manager",
            "belong to Helm release `cert-manager`",
            "--force-conflicts",
        ],
    );
    // Taken over, they are warnings.
    let (code, _) = doctor(tb, dir.path(), &["--force-conflicts"]);
    assert_eq!(code, 0);
    // up reports them and refuses the object as a conflict, before any write.
    let audit = support::audit::log(tb);
    let before = support::audit::lines(&audit);
    let up = landscape(tb, dir.path(), &["up"]);
    assert_eq!(up.code, 4, "{up:?}");
    assert!(
        up.stderr.contains("existing-installs") && up.stderr.contains("already exists"),
        "{up:?}"
    );
    assert!(support::audit::writes_since(&audit, before).is_empty());
}

#[test]
fn a_webhook_without_endpoints_and_a_strict_namespace_fail_the_admission_check() {
    let tb = main_testbed();
    let _turn = turn();
    let name = unique("adm");
    let strict = format!("{name}-strict");
    let webhook = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {strict}, labels: {{pod-security.kubernetes.io/enforce: restricted}}}}\n---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata: {{name: {name}-leftover}}\nwebhooks:\n  - name: check.{name}.example.com\n    failurePolicy: Fail\n    sideEffects: None\n    admissionReviewVersions: [v1]\n    clientConfig: {{service: {{namespace: {name}-gone, name: webhook}}}}\n    rules: [{{apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}}]\n---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata: {{name: {name}-elsewhere}}\nwebhooks:\n  - name: elsewhere.{name}.example.com\n    failurePolicy: Fail\n    sideEffects: None\n    admissionReviewVersions: [v1]\n    namespaceSelector: {{matchLabels: {{team: nobody}}}}\n    clientConfig: {{service: {{namespace: {name}-gone, name: webhook}}}}\n    rules: [{{apiGroups: [\"*\"], apiVersions: [\"*\"], operations: [CREATE], resources: [\"*\"], scope: Namespaced}}]\n"
    );
    apply(tb, &webhook);
    let dir = project(&name, &strict, "", &[("web.yaml", SMALL_DEPLOYMENT)]);
    let (code, findings) = doctor(tb, dir.path(), &[]);
    let result = std::panic::catch_unwind(|| {
        assert_eq!(code, 6, "{findings:#?}");
        assert_fails(
            &findings,
            "admission",
            &[
                &format!("{name}-leftover"),
                "failurePolicy: Fail",
                "no ready endpoint",
            ],
        );
        assert_fails(
            &findings,
            "admission",
            &[
                &format!("namespace {strict} enforces Pod Security `restricted`"),
                "passes only `baseline`",
                "runAsNonRoot",
            ],
        );
        // A webhook whose namespace selector leaves out every namespace of the stack
        // cannot block it, and is not named.
        assert!(
            !format!("{findings:?}").contains(&format!("{name}-elsewhere")),
            "{findings:#?}"
        );
        assert_up_refuses(tb, dir.path(), "admission", "no ready endpoint");
    });
    for leftover in ["leftover", "elsewhere"] {
        delete(
            tb,
            "validatingwebhookconfiguration",
            "",
            &format!("{name}-{leftover}"),
        );
    }
    result.unwrap();
}

#[test]
fn a_missing_csi_driver_fails_the_storage_check() {
    let tb = main_testbed();
    let _turn = turn();
    let name = unique("csi");
    let class = format!("{name}-gp3");
    apply(
        tb,
        &format!(
            "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {{name: {class}}}\nprovisioner: ebs.csi.aws.com\n"
        ),
    );
    let claim = CLAIM.replace("spec: {", &format!("spec: {{storageClassName: {class}, "));
    let dir = project(&name, &name, "", &[("claim.yaml", &claim)]);
    let (code, findings) = doctor(tb, dir.path(), &[]);
    assert_eq!(code, 6, "{findings:#?}");
    assert_fails(
        &findings,
        "storage",
        &[
            &format!("StorageClass `{class}`"),
            "no CSIDriver `ebs.csi.aws.com`",
        ],
    );
    assert_up_refuses(tb, dir.path(), "storage", "ebs.csi.aws.com");
}

#[test]
fn growing_a_claim_in_a_class_that_cannot_expand_fails_the_storage_check() {
    let tb = main_testbed();
    let _turn = turn();
    let name = unique("grow");
    // The claim lands in the default class (kwok-volume), which does not allow expansion.
    let dir = project(&name, &name, "", &[("claim.yaml", CLAIM)]);
    assert_eq!(landscape(tb, dir.path(), &["up"]).code, 0);
    std::fs::write(
        dir.path().join("app/claim.yaml"),
        CLAIM.replace("2Gi", "5Gi"),
    )
    .unwrap();
    let (code, findings) = doctor(tb, dir.path(), &[]);
    assert_eq!(code, 6, "{findings:#?}");
    assert_fails(
        &findings,
        "storage",
        &[
            "grows PersistentVolumeClaim",
            "from 2Gi to 5Gi",
            "StorageClass `kwok-volume` does not allow volume expansion",
            "allowVolumeExpansion: true",
        ],
    );
    assert_up_refuses(tb, dir.path(), "storage", "volume expansion");
}

#[test]
fn a_user_with_namespace_rights_only_fails_the_rights_check() {
    let tb = main_testbed();
    let _turn = turn();
    let name = unique("rights");
    let team = format!("{name}-team");
    let out = std::process::Command::new(support::testbed_script())
        .args([
            "kubeconfig-limited",
            "--name",
            &tb.name,
            "--namespace",
            &team,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let limited = String::from_utf8_lossy(&out.stdout)
        .trim()
        .lines()
        .last()
        .unwrap()
        .to_string();
    let role = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: reader}\nrules: [{apiGroups: [\"\"], resources: [pods], verbs: [get]}]\n";
    let dir = project(
        &name,
        &team,
        "",
        &[
            (
                "cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}\n",
            ),
            ("role.yaml", role),
        ],
    );
    let mut cmd = tb.landscape();
    cmd.current_dir(dir.path())
        .env("KUBECONFIG", &limited)
        .args(["doctor", "-o", "json"]);
    let out = run(cmd);
    assert_eq!(out.code, 6, "{out:?}");
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let rights = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "rights")
        .unwrap();
    assert_eq!(rights["status"], "fail");
    let saw = rights["saw"].as_str().unwrap();
    assert!(
        saw.contains("create clusterroles.rbac.authorization.k8s.io (cluster-wide)")
            && saw.contains("create secrets in kube-system"),
        "{saw}"
    );
    assert!(
        !saw.contains(&format!("configmaps in {team}")),
        "the namespace's own rights are there: {saw}"
    );
    // up refuses before writing anything.
    let audit = support::audit::log(tb);
    let before = support::audit::lines(&audit);
    let mut cmd = tb.landscape();
    cmd.current_dir(dir.path())
        .env("KUBECONFIG", &limited)
        .arg("up");
    let up = run(cmd);
    assert_eq!(up.code, 6, "{up:?}");
    assert!(
        up.stderr.contains("rights") && up.stderr.contains("create clusterroles"),
        "{up:?}"
    );
    assert!(support::audit::writes_since(&audit, before).is_empty());
    // Checks it may not read for are warnings that say so, not errors.
    let topology = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "topology")
        .unwrap();
    assert_eq!(topology["status"], "warn", "{topology}");
}

#[test]
fn one_zone_and_no_default_storage_class_fail_topology_and_storage() {
    let tb = support::start_named(
        &format!("doctor-small-{}", std::process::id()),
        &["--zones", "1", "--storage-class", "none", "--audit"],
    );
    let name = unique("zones");
    // A stack that spreads over three zones, like the medium profile, and makes a claim.
    let dir = project(
        &name,
        &name,
        "",
        &[("web.yaml", SMALL_DEPLOYMENT), ("claim.yaml", CLAIM)],
    );
    let file = dir.path().join("landscape.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace("components:", "requires: {zones: 3}\ncomponents:"),
    )
    .unwrap();
    let (code, findings) = doctor(&tb, dir.path(), &[]);
    assert_eq!(code, 6, "{findings:#?}");
    assert_fails(
        &findings,
        "topology",
        &[
            "the stack spreads over at least 3 zones",
            "in 1 zones (zone-a)",
        ],
    );
    assert_fails(
        &findings,
        "storage",
        &[
            "PersistentVolumeClaim",
            "no default one",
            "mark a StorageClass as default",
        ],
    );
    assert_up_refuses(&tb, dir.path(), "topology", "3 zones");
}

fn apply(tb: &Testbed, yaml: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("o.yaml");
    std::fs::write(&file, yaml).unwrap();
    let out = tb.kubectl(&["apply", "-f", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn delete(tb: &Testbed, kind: &str, ns: &str, name: &str) {
    let mut args = vec!["delete", kind, name, "--wait=false"];
    if !ns.is_empty() {
        args.extend(["-n", ns]);
    }
    let _ = tb.kubectl(&args);
}
