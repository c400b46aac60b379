//! Upgrades: a stack moves from one version to the next, and `diff` says exactly how.
//!
//! Synthetic v1 → v2 components hit every change the API refuses on an existing object
//! (a Job's template, a StatefulSet's serviceName, a binding's roleRef, an immutable
//! ConfigMap, a Deployment's selector, a Service's clusterIP, a claim's access modes), a
//! CRD that drops a stored version, a renamed and a removed component, and a rollback;
//! each step checks what `diff` predicted against what `up` then did. Real upstream
//! releases — the previous version of Argo CD, Flannel, Gatekeeper, Trivy Operator and
//! Rook in the mirror — are upgraded to the pinned one, gated healthy, `diff` clean after.

mod support;

use std::collections::BTreeMap;

use serde_json::Value;

use support::predict::{Key, Project, diff_then_up, k, kubectl_apply, predicted};
use support::{Run, Testbed, run, testbed, unique};

fn uid(tb: &Testbed, kind: &str, ns: &str, name: &str) -> String {
    let out = tb.kubectl(&[
        "get",
        kind,
        name,
        "-n",
        ns,
        "-o",
        "jsonpath={.metadata.uid}",
    ]);
    assert!(
        out.status.success(),
        "{kind} {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn set_version(p: &Project, version: &str) {
    let file = p.dir.path().join("landscape.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    let text: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("version:"))
        .map(|l| {
            if l.trim_start().starts_with("category:") {
                format!("{l}\n    version: {version}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(file, text + "\n").unwrap();
}

/// The objects of the immutable-fields stack at `v` (1 or 2). Between versions: the Job's
/// image, the StatefulSet's serviceName (nothing else: its pods are adopted as they are),
/// the binding's role, the immutable ConfigMap's data, the Deployment's selector, the
/// Service's clusterIP and the claim's access modes.
fn immutables(v: u8, ns: &str) -> Vec<(&'static str, String)> {
    let two = v == 2;
    vec![
        (
            "job.yaml",
            format!(
                "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: migrate}}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{{name: m, image: \"registry.example/migrate:{v}\"}}]\n"
            ),
        ),
        (
            "sts.yaml",
            format!(
                "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {{name: db}}\nspec:\n  replicas: 2\n  serviceName: {}\n  selector: {{matchLabels: {{app: db}}}}\n  template:\n    metadata: {{labels: {{app: db}}}}\n    spec: {{containers: [{{name: c, image: \"registry.example/db:1\"}}]}}\n  volumeClaimTemplates:\n    - metadata: {{name: data}}\n      spec: {{accessModes: [ReadWriteOnce], resources: {{requests: {{storage: 1Gi}}}}}}\n",
                if two { "db-headless" } else { "db" }
            ),
        ),
        (
            "binding.yaml",
            format!(
                "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: reader}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {}}}\nsubjects: [{{kind: ServiceAccount, name: default, namespace: {ns}}}]\n",
                if two { "edit" } else { "view" }
            ),
        ),
        (
            "settings.yaml",
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings}}\nimmutable: true\ndata: {{release: \"{v}\"}}\n"
            ),
        ),
        (
            "web.yaml",
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web}}\nspec:\n  replicas: 1\n  selector: {{matchLabels: {{app: web{v}}}}}\n  template:\n    metadata: {{labels: {{app: web{v}}}}}\n    spec: {{containers: [{{name: c, image: \"registry.example/web:1\"}}]}}\n"
            ),
        ),
        (
            "service.yaml",
            format!(
                "apiVersion: v1\nkind: Service\nmetadata: {{name: api}}\nspec:\n  clusterIP: 10.96.231.{}\n  selector: {{app: web{v}}}\n  ports: [{{port: 80}}]\n",
                10 + v
            ),
        ),
        (
            "claim.yaml",
            format!(
                "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: cache}}\nspec:\n  accessModes: [{}]\n  resources: {{requests: {{storage: 1Gi}}}}\n",
                if two {
                    "ReadWriteMany"
                } else {
                    "ReadWriteOnce"
                }
            ),
        ),
    ]
}

fn render(p: &Project, files: Vec<(&'static str, String)>) {
    let files: Vec<(&str, String)> = files.into_iter().collect();
    p.render(&files);
}

#[tokio::test]
async fn changes_the_api_refuses_are_replaced_as_diff_predicts() {
    let tb = testbed();
    let p = Project::new("immutable");
    let ns = p.ns.clone();
    set_version(&p, "v1");
    render(&p, immutables(1, &ns));
    let up = p.landscape(&["up"]).await;
    assert_eq!(up.code, 0, "{up:?}");
    let pods = [uid(tb, "pod", &ns, "db-0"), uid(tb, "pod", &ns, "db-1")];
    let claims = [
        uid(tb, "pvc", &ns, "data-db-0"),
        uid(tb, "pvc", &ns, "data-db-1"),
    ];
    let job = uid(tb, "job", &ns, "migrate");
    let sts = uid(tb, "statefulset", &ns, "db");

    // v2 without flags: diff names what up replaces by itself and what it refuses.
    set_version(&p, "v2");
    render(&p, immutables(2, &ns));
    let diff = p.landscape(&["diff", "-o", "json"]).await;
    assert_eq!(diff.code, 4, "refusals ahead: {diff:?}");
    let prediction = predicted(&diff);
    for (kind, name) in [
        ("Job", "migrate"),
        ("StatefulSet", "db"),
        ("RoleBinding", "reader"),
        ("ConfigMap", "settings"),
    ] {
        assert_eq!(
            prediction[&k(kind, &ns, name)],
            "replace",
            "{kind} {name}: {diff:?}"
        );
    }
    for (kind, name) in [
        ("Deployment", "web"),
        ("Service", "api"),
        ("PersistentVolumeClaim", "cache"),
    ] {
        assert_eq!(
            prediction[&k(kind, &ns, name)],
            "error",
            "{kind} {name}: {diff:?}"
        );
    }
    let d: Value = serde_json::from_str(&diff.stdout).unwrap();
    let upgrade = &d["upgrade"][0];
    assert_eq!(
        (
            upgrade["change"].as_str(),
            upgrade["from"].as_str(),
            upgrade["to"].as_str()
        ),
        (Some("changed"), Some("v1"), Some("v2")),
        "{}",
        d["upgrade"]
    );
    assert_eq!(upgrade["objects"]["replace"], 4, "{}", d["upgrade"]);
    // `plan --upgrade` opens with the same summary, counts included.
    let plan = p.landscape(&["plan", "--upgrade", "-o", "json"]).await;
    assert_eq!(plan.code, 0, "{plan:?}");
    let planned: Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(planned["upgrade"], d["upgrade"], "{plan:?}");
    let plan = p.landscape(&["plan", "--upgrade"]).await;
    assert!(
        plan.stdout.contains("v1 -> v2") && plan.stdout.contains("4 replace"),
        "{plan:?}"
    );

    // up refuses before writing anything, naming each object and the flag it needs.
    let refused = p.landscape(&["up"]).await;
    assert_eq!(refused.code, 2, "{refused:?}");
    for needle in [
        "Deployment.apps",
        "web",
        "Service",
        "api",
        "--allow-replace",
        "cache",
        "--delete-volumes",
    ] {
        assert!(refused.stderr.contains(needle), "{needle}: {refused:?}");
    }
    assert_eq!(uid(tb, "job", &ns, "migrate"), job, "nothing was written");

    // With both flags, up does exactly what diff predicted with them.
    let flags = ["--allow-replace", "--delete-volumes"];
    let done = diff_then_up(&p, &flags, 1).await;
    let replaced: Vec<&Key> = done
        .iter()
        .filter(|(_, a)| *a == "replace")
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        replaced.len(),
        7,
        "every object whose change the API refuses: {done:?}"
    );
    assert_ne!(uid(tb, "job", &ns, "migrate"), job, "the Job ran again");
    assert_ne!(
        uid(tb, "statefulset", &ns, "db"),
        sts,
        "the StatefulSet is a new object"
    );
    assert_eq!(
        [uid(tb, "pod", &ns, "db-0"), uid(tb, "pod", &ns, "db-1")],
        pods,
        "its pods were orphaned and adopted, not restarted"
    );
    assert_eq!(
        [
            uid(tb, "pvc", &ns, "data-db-0"),
            uid(tb, "pvc", &ns, "data-db-1")
        ],
        claims,
        "its claims were kept"
    );
    let ip = tb.kubectl(&[
        "get",
        "service",
        "api",
        "-n",
        &ns,
        "-o",
        "jsonpath={.spec.clusterIP}",
    ]);
    assert_eq!(String::from_utf8_lossy(&ip.stdout), "10.96.231.12");
    let clean = p.landscape(&["diff"]).await;
    assert_eq!(clean.code, 0, "converged: {clean:?}");

    // Rollback is `up` with the previous stack.
    set_version(&p, "v1");
    render(&p, immutables(1, &ns));
    let back = diff_then_up(&p, &flags, 1).await;
    assert!(
        back.values().all(|a| a == "replace" || a == "update"),
        "{back:?}"
    );
    let clean = p.landscape(&["diff", "--allow-replace"]).await;
    assert_eq!(clean.code, 0, "rolled back: {clean:?}");
    let role = tb.kubectl(&[
        "get",
        "rolebinding",
        "reader",
        "-n",
        &ns,
        "-o",
        "jsonpath={.roleRef.name}",
    ]);
    assert_eq!(String::from_utf8_lossy(&role.stdout), "view");
}

#[tokio::test]
async fn a_component_may_allow_replacing_its_own_objects() {
    let tb = testbed();
    let p = Project::new("allow");
    let ns = p.ns.clone();
    let deployment = |v: u8| {
        vec![(
            "web.yaml",
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web}}\nspec:\n  replicas: 1\n  selector: {{matchLabels: {{app: web{v}}}}}\n  template:\n    metadata: {{labels: {{app: web{v}}}}}\n    spec: {{containers: [{{name: c, image: \"registry.example/web:1\"}}]}}\n"
            ),
        )]
    };
    render(&p, deployment(1));
    assert_eq!(p.landscape(&["up"]).await.code, 0);
    let before = uid(tb, "deployment", &ns, "web");
    let file = p.dir.path().join("landscape.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace("    timeout: 2m\n", "    timeout: 2m\n    replace: allow\n"),
    )
    .unwrap();
    render(&p, deployment(2));
    let done = diff_then_up(&p, &[], 1).await;
    assert_eq!(done[&k("Deployment", &ns, "web")], "replace");
    assert_ne!(uid(tb, "deployment", &ns, "web"), before);
}

fn crd(versions: &[(&str, bool, bool)]) -> String {
    let mut text = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.upgrades.landscape.test}\nspec:\n  group: upgrades.landscape.test\n  scope: Namespaced\n  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}\n  versions:\n".to_string();
    for (name, served, storage) in versions {
        text.push_str(&format!(
            "    - name: {name}\n      served: {served}\n      storage: {storage}\n      schema: {{openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}}}\n"
        ));
    }
    text
}

fn stored_versions(tb: &Testbed) -> String {
    let out = tb.kubectl(&[
        "get",
        "crd",
        "widgets.upgrades.landscape.test",
        "-o",
        "jsonpath={.status.storedVersions}",
    ]);
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn a_crd_that_drops_a_stored_version_is_refused_until_migrated() {
    let tb = testbed();
    let p = Project::new("crdversions");
    let name = "widgets.upgrades.landscape.test";
    let key = k("CustomResourceDefinition", "", name);
    p.render(&[("crd.yaml", crd(&[("v1", true, true)]))]);
    assert_eq!(p.landscape(&["up"]).await.code, 0);
    kubectl_apply(
        tb,
        "apiVersion: upgrades.landscape.test/v1\nkind: Widget\nmetadata: {name: w, namespace: default}\nspec: {size: 1}\n",
    );
    // v2 becomes the storage version; v1 is still served.
    p.render(&[("crd.yaml", crd(&[("v1", true, false), ("v2", true, true)]))]);
    assert_eq!(diff_then_up(&p, &[], 1).await[&key], "update");
    assert_eq!(stored_versions(tb), r#"["v1","v2"]"#);

    // Dropping v1 while the widget is stored at it: refused, with how to migrate.
    p.render(&[("crd.yaml", crd(&[("v2", true, true)]))]);
    let diff = p.landscape(&["diff", "-o", "json"]).await;
    assert_eq!(diff.code, 4, "{diff:?}");
    assert_eq!(predicted(&diff)[&key], "error");
    assert!(
        diff.stdout
            .contains("landscape migrate-storage widgets.upgrades.landscape.test"),
        "{diff:?}"
    );
    let refused = p.landscape(&["up"]).await;
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(
        refused.stderr.contains("drops version v1") && refused.stderr.contains("storedVersions"),
        "{refused:?}"
    );

    // migrate-storage rewrites the widget at v2 and trims storedVersions.
    let mut migrate = tb.landscape();
    migrate.args(["migrate-storage", name, "-o", "json"]);
    let migrated = tokio::task::spawn_blocking(move || run(migrate))
        .await
        .unwrap();
    assert_eq!(migrated.code, 0, "{migrated:?}");
    let m: Value = serde_json::from_str(&migrated.stdout).unwrap();
    assert_eq!(m["rewritten"], 1, "{m}");
    assert_eq!(stored_versions(tb), r#"["v2"]"#);

    // v1 is no longer stored, but still served while a widget exists: its clients would
    // break, so that needs its own flag.
    let unserved = p.landscape(&["up"]).await;
    assert_eq!(unserved.code, 2, "{unserved:?}");
    assert!(
        unserved.stderr.contains("--allow-crd-version-removal"),
        "{unserved:?}"
    );
    let done = diff_then_up(&p, &["--allow-crd-version-removal"], 1).await;
    assert_eq!(done[&key], "update");
    let widget = tb.kubectl(&[
        "get",
        "widgets.v2.upgrades.landscape.test",
        "w",
        "-n",
        "default",
        "-o",
        "jsonpath={.spec.size}",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&widget.stdout),
        "1",
        "the widget survived"
    );
}

#[tokio::test]
async fn a_renamed_component_keeps_its_objects_and_a_removed_one_is_pruned() {
    let tb = testbed();
    let dir = tempfile::tempdir().unwrap();
    let stack = unique("rename");
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    let cm = |name: &str| {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\ndata: {{a: b}}\n")
    };
    write("old/alpha.yaml", &cm("alpha"));
    write("old/bravo.yaml", &cm("bravo"));
    write("extra/charlie.yaml", &cm("charlie"));
    // Each component its own namespace: a namespace belongs to one component.
    let component = |name: &str, folder: &str, ns: &str, more: &str| {
        format!(
            "  {name}:\n    category: delivery\n    version: v1\n    namespace: {ns}\n    sources: [{{templateDir: ./{folder}}}]\n{more}"
        )
    };
    let extra_ns = format!("{stack}-extra");
    write(
        "landscape.yaml",
        &format!(
            "name: {stack}\ncomponents:\n{}{}",
            component("old", "old", &stack, ""),
            component("extra", "extra", &extra_ns, "")
        ),
    );
    let landscape = |args: &'static [&'static str]| {
        let mut cmd = tb.landscape();
        cmd.current_dir(dir.path()).args(args);
        tokio::task::spawn_blocking(move || run(cmd))
    };
    let first = landscape(&["up"]).await.unwrap();
    assert_eq!(first.code, 0, "{first:?}");
    let alpha = uid(tb, "configmap", &stack, "alpha");

    // `new` replaces `old` and renders only alpha; `extra` leaves the stack.
    write("new/alpha.yaml", &cm("alpha"));
    write(
        "landscape.yaml",
        &format!(
            "name: {stack}\ncomponents:\n{}",
            component("new", "new", &stack, "    replaces: old\n")
        ),
    );
    let diff: Run = landscape(&["diff", "-o", "json"]).await.unwrap();
    assert_eq!(diff.code, 1, "{diff:?}");
    let d: Value = serde_json::from_str(&diff.stdout).unwrap();
    let upgrade: BTreeMap<String, Value> = d["upgrade"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["name"].as_str().unwrap().to_string(), u.clone()))
        .collect();
    assert_eq!(upgrade["new"]["change"], "renamed", "{upgrade:?}");
    assert_eq!(upgrade["new"]["renamed_from"], "old");
    assert_eq!(upgrade["extra"]["change"], "removed");
    assert!(
        !upgrade.contains_key("old"),
        "a renamed component is not also removed"
    );
    let prediction = predicted(&diff);
    // alpha stays where it is; only its component label changes.
    assert_eq!(prediction[&k("ConfigMap", &stack, "alpha")], "update");
    assert_eq!(prediction[&k("ConfigMap", &stack, "bravo")], "delete");
    assert_eq!(prediction[&k("ConfigMap", &extra_ns, "charlie")], "delete");

    let up = landscape(&["up", "-o", "json"]).await.unwrap();
    assert_eq!(up.code, 0, "{up:?}");
    assert_eq!(
        uid(tb, "configmap", &stack, "alpha"),
        alpha,
        "moved in place, not re-created"
    );
    let label = tb.kubectl(&[
        "get",
        "configmap",
        "alpha",
        "-n",
        &stack,
        "-o",
        "jsonpath={.metadata.labels.landscape\\.dev/component}",
    ]);
    assert_eq!(String::from_utf8_lossy(&label.stdout), "new");
    for (gone, ns) in [("bravo", &stack), ("charlie", &extra_ns)] {
        let out = tb.kubectl(&["get", "configmap", gone, "-n", ns, "-o", "json"]);
        let deleted = !out.status.success()
            || serde_json::from_slice::<Value>(&out.stdout).unwrap()["metadata"]
                .get("deletionTimestamp")
                .is_some();
        assert!(deleted, "{gone} was pruned");
    }
    let inv = tb.inventory(&stack).await.unwrap();
    assert_eq!(inv.components.keys().collect::<Vec<_>>(), ["new"]);
    assert_eq!(landscape(&["diff"]).await.unwrap().code, 0);
}

/// A real upstream release in the mirror, one version before the pinned one.
struct Previous {
    component: &'static str,
    version: &'static str,
    sources: &'static [(&'static str, &'static str)],
    /// Operators' parts a stand-in plays (see tests/support/operators.rs).
    stand_ins: &'static [&'static str],
}

const PREVIOUS: &[Previous] = &[
    Previous {
        component: "argocd",
        version: "v3.4.7",
        sources: &[(
            "https://raw.githubusercontent.com/argoproj/argo-cd/v3.4.7/manifests/install.yaml",
            "11016889371e4b1e3754b7ba2494b36ab1111338bd2362d499abe3ff2f63c906",
        )],
        stand_ins: &[],
    },
    Previous {
        component: "flannel",
        version: "v0.28.8",
        sources: &[(
            "https://github.com/flannel-io/flannel/releases/download/v0.28.8/kube-flannel.yml",
            "d5ec6500c8050667ef5e6c4dc59b750075db8cf32f45b12961349208c5f326da",
        )],
        stand_ins: &[],
    },
    Previous {
        component: "gatekeeper",
        version: "v3.22.2",
        sources: &[(
            "https://raw.githubusercontent.com/open-policy-agent/gatekeeper/v3.22.2/deploy/gatekeeper.yaml",
            "72683f57fdfa4c34d4a892e5e6f457a5a7e533eba0293d781d53d08dd6614a5a",
        )],
        stand_ins: &["webhook-certs"],
    },
    Previous {
        component: "trivy-operator",
        version: "v0.31.2",
        sources: &[(
            "https://raw.githubusercontent.com/aquasecurity/trivy-operator/v0.31.2/deploy/static/trivy-operator.yaml",
            "fc11c1754eab6a3c4fe2314895548b0e17b348d93f8ca52136ef3087750f4ca1",
        )],
        stand_ins: &[],
    },
    Previous {
        component: "rook-ceph",
        version: "v1.19.10",
        sources: &[
            (
                "https://raw.githubusercontent.com/rook/rook/v1.19.10/deploy/examples/crds.yaml",
                "10e754b7c6f1e4a228ae794594ae0af8d33f3d6620ab392df68b2171a97b2263",
            ),
            (
                "https://raw.githubusercontent.com/rook/rook/v1.19.10/deploy/examples/common.yaml",
                "116a76f01d2e4078dc132756d021c1610a3c6814601b4b83a3faf3962bff8a04",
            ),
            (
                "https://raw.githubusercontent.com/rook/rook/v1.19.10/deploy/examples/operator.yaml",
                "13d3aa95c9d4635a213e95baff5d9d7822f2a325a0702acb17c77bb6f53d7579",
            ),
        ],
        stand_ins: &[],
    },
];

/// Installs the previous release of a catalog component, then the pinned one: both gate
/// healthy, `diff` shows the version change first, and is clean afterwards.
async fn upgrade_from_previous(component: &str) {
    let tb = testbed();
    let prev = PREVIOUS.iter().find(|p| p.component == component).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let stack = unique("real");
    let file = dir.path().join("landscape.yaml");
    let sources: String = prev
        .sources
        .iter()
        .map(|(url, sha)| format!("      - {{url: \"{url}\", sha256: {sha}}}\n"))
        .collect();
    std::fs::write(
        &file,
        format!(
            "name: {stack}\ncomponents:\n  {component}:\n    version: {}\n    sources:\n{sources}",
            prev.version
        ),
    )
    .unwrap();
    let landscape = |args: &[&str]| {
        let mut cmd = tb.landscape();
        cmd.current_dir(dir.path()).args(args);
        run(cmd)
    };
    // Gatekeeper's own certificate controller fills its webhooks' caBundle; simulated
    // pods run no controller, so a stand-in plays that part (tests/support/operators.rs).
    let _stand_in =
        (!prev.stand_ins.is_empty()).then(|| support::operators::play(tb, prev.stand_ins));
    let first = tokio::task::block_in_place(|| landscape(&["up"]));
    assert_eq!(first.code, 0, "{component} {}: {first:?}", prev.version);

    // The pinned release: the catalog's own definition.
    std::fs::write(
        &file,
        format!("name: {stack}\ncomponents:\n  {component}: {{}}\n"),
    )
    .unwrap();
    let diff = tokio::task::block_in_place(|| landscape(&["diff", "-o", "json"]));
    assert_eq!(diff.code, 1, "{component}: {diff:?}");
    let d: Value = serde_json::from_str(&diff.stdout).unwrap();
    let upgrade = &d["upgrade"][0];
    assert_eq!(upgrade["change"], "changed", "{}", d["upgrade"]);
    assert_eq!(upgrade["from"], prev.version);
    let up = tokio::task::block_in_place(|| landscape(&["up", "-o", "json"]));
    assert_eq!(up.code, 0, "{component} upgrade: {up:?}");
    let after = tokio::task::block_in_place(|| landscape(&["diff"]));
    assert_eq!(after.code, 0, "{component} converged: {after:?}");
    let inv = tb.inventory(&stack).await.unwrap();
    assert_ne!(
        inv.components[component].version.as_deref(),
        Some(prev.version)
    );
    let down = tokio::task::block_in_place(|| {
        landscape(&[
            "down",
            "--yes",
            "--delete-crds",
            "--delete-custom-resources",
        ])
    });
    assert_eq!(down.code, 0, "{down:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn argocd_upgrades_from_the_previous_release() {
    upgrade_from_previous("argocd").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn flannel_upgrades_from_the_previous_release() {
    upgrade_from_previous("flannel").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn gatekeeper_upgrades_from_the_previous_release_with_its_cert_controller_stood_in() {
    upgrade_from_previous("gatekeeper").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn trivy_operator_upgrades_from_the_previous_release() {
    upgrade_from_previous("trivy-operator").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rook_upgrades_from_the_previous_release() {
    upgrade_from_previous("rook-ceph").await;
}
