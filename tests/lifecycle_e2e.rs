//! The life of an installed stack: diff, drift, pruning, ownership, secrets, status and
//! down — on the test control plane.

mod support;

use std::path::Path;

use serde_json::Value;

use support::{Run, Testbed, run, testbed, unique};

const WEB: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: {{values.replicas}}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: registry.example/web:1.0
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
data:
  mode: {{values.mode}}
{{#if values.extra}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-extra
data:
  feature: "on"
{{/if}}
---
apiVersion: v1
kind: Secret
metadata:
  name: web-credentials
stringData:
  password: {{quote values.password}}
"#;

const WIDGET_CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.lifecycle.landscape.test
spec:
  group: lifecycle.landscape.test
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
---
apiVersion: lifecycle.landscape.test/v1
kind: Widget
metadata:
  name: first
spec:
  size: 3
"#;

/// A stack with one component `web` (and optionally a CRD and a custom resource).
struct Project {
    dir: tempfile::TempDir,
    stack: String,
}

impl Project {
    fn new(prefix: &str, with_crd: bool) -> Project {
        let dir = tempfile::tempdir().unwrap();
        let stack = unique(prefix);
        std::fs::create_dir_all(dir.path().join("web")).unwrap();
        std::fs::write(dir.path().join("web/web.yaml.hbs"), WEB).unwrap();
        if with_crd {
            std::fs::write(dir.path().join("web/widgets.yaml"), WIDGET_CRD).unwrap();
        }
        std::fs::write(
            dir.path().join("landscape.yaml"),
            format!(
                "name: {stack}\ncomponents:\n  web:\n    category: delivery\n    namespace: {stack}\n    sources:\n      - templateDir: ./web\n    values:\n      replicas: 2\n      mode: normal\n      extra: true\n      password: \"\"\n    timeout: 2m\n"
            ),
        )
        .unwrap();
        Project { dir, stack }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    async fn landscape(&self, args: &[&str]) -> Run {
        let mut cmd = testbed().landscape();
        cmd.current_dir(self.path()).args(args);
        tokio::task::spawn_blocking(move || run(cmd)).await.unwrap()
    }
}

fn kubectl_json(tb: &Testbed, args: &[&str]) -> Value {
    let out = tb.kubectl(args);
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The JSON events of a run of one type.
fn events_named(run: &Run, event: &str) -> Vec<Value> {
    run.events()
        .into_iter()
        .filter(|e| e["event"] == event)
        .collect()
}

/// Whether the namespaced object `kind/name` exists.
fn exists(tb: &Testbed, kind: &str, name: &str, namespace: &str) -> bool {
    tb.kubectl(&["get", kind, name, "-n", namespace])
        .status
        .success()
}

const PASSWORD: &[&str] = &["--set", "web.password=initial-secret-value-0"];

#[tokio::test]
async fn drift_shows_in_diff_and_up_restores_it() {
    let tb = testbed();
    let p = Project::new("drift", false);
    let up = p.landscape(&["up", PASSWORD[0], PASSWORD[1]]).await;
    assert_eq!(up.code, 0, "{up:?}");

    let clean = p.landscape(&["diff", PASSWORD[0], PASSWORD[1]]).await;
    assert_eq!(clean.code, 0, "{clean:?}");
    assert!(
        clean
            .stdout
            .contains("0 to create, 0 to update, 0 to delete"),
        "{clean:?}"
    );

    // Drift, made with kubectl.
    let ns = p.stack.as_str();
    assert!(
        tb.kubectl(&["scale", "deployment/web", "-n", ns, "--replicas=5"])
            .status
            .success()
    );
    assert!(
        tb.kubectl(&[
            "patch",
            "configmap",
            "web-config",
            "-n",
            ns,
            "--type=merge",
            "-p",
            r#"{"data":{"mode":"debug"}}"#
        ])
        .status
        .success()
    );

    let drift = p
        .landscape(&["diff", "-o", "json", PASSWORD[0], PASSWORD[1]])
        .await;
    assert_eq!(drift.code, 1, "{drift:?}");
    let d: Value = serde_json::from_str(&drift.stdout).unwrap();
    let changes: Vec<(String, String, Vec<String>)> = d["components"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["changes"].as_array().unwrap().iter())
        .map(|ch| {
            (
                ch["object"]["name"].as_str().unwrap().to_string(),
                ch["action"].as_str().unwrap().to_string(),
                ch["changed_paths"]
                    .as_array()
                    .map(|a| a.iter().map(|p| p.as_str().unwrap().to_string()).collect())
                    .unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        vec![
            (
                "web".to_string(),
                "update".to_string(),
                vec!["spec.replicas".to_string()]
            ),
            (
                "web-config".to_string(),
                "update".to_string(),
                vec!["data.mode".to_string()]
            ),
        ],
        "exactly the two drifted fields"
    );
    let text = p.landscape(&["diff", PASSWORD[0], PASSWORD[1]]).await;
    assert_eq!(text.code, 1);
    assert!(
        text.stdout.contains("-  replicas: 5") && text.stdout.contains("+  replicas: 2"),
        "{text:?}"
    );
    assert!(
        text.stdout.contains("-  mode: debug") && text.stdout.contains("+  mode: normal"),
        "{text:?}"
    );
    assert!(
        !text.stdout.contains("managedFields") && !text.stdout.contains("resourceVersion"),
        "{text:?}"
    );

    let restore = p.landscape(&["up", PASSWORD[0], PASSWORD[1]]).await;
    assert_eq!(restore.code, 0, "{restore:?}");
    let dep = kubectl_json(tb, &["get", "deployment", "web", "-n", ns, "-o", "json"]);
    assert_eq!(dep["spec"]["replicas"], 2);
    let cm = kubectl_json(
        tb,
        &["get", "configmap", "web-config", "-n", ns, "-o", "json"],
    );
    assert_eq!(cm["data"]["mode"], "normal");
    let again = p.landscape(&["diff", PASSWORD[0], PASSWORD[1]]).await;
    assert_eq!(again.code, 0, "{again:?}");

    // With no flags and no landscape.yaml, diff uses what the last up recorded.
    let elsewhere = tempfile::tempdir().unwrap();
    let mut cmd = tb.landscape();
    cmd.current_dir(elsewhere.path())
        .args(["diff", "--stack"])
        .arg(p.path().join("landscape.yaml"))
        .args(PASSWORD);
    let named = tokio::task::spawn_blocking(move || run(cmd)).await.unwrap();
    assert_eq!(named.code, 0, "{named:?}");
}

#[tokio::test]
async fn with_no_flags_diff_rebuilds_a_user_stack_from_what_up_recorded() {
    // Its own control plane: with no flags, commands pick the only stack installed.
    let tb = tokio::task::spawn_blocking(|| {
        support::start_named(&format!("recorded-{}", std::process::id()), &[])
    })
    .await
    .unwrap();
    // No `name:`, a file not called landscape.yaml, a source path relative to the file.
    let project = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(project.path().join("web")).unwrap();
    std::fs::write(project.path().join("web/web.yaml.hbs"), WEB).unwrap();
    std::fs::write(
        project.path().join("platform.yaml"),
        "components:\n  web:\n    category: delivery\n    namespace: platform-web\n    sources:\n      - templateDir: ./web\n    values:\n      replicas: 1\n      mode: normal\n      extra: false\n      password: \"\"\n    timeout: 2m\n",
    )
    .unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let landscape = |dir: &Path, args: &[&str]| {
        let mut cmd = tb.landscape();
        cmd.current_dir(dir).args(args);
        run(cmd)
    };
    let up = landscape(
        project.path(),
        &["up", "--stack", "platform.yaml", PASSWORD[0], PASSWORD[1]],
    );
    assert_eq!(up.code, 0, "{up:?}");

    let diff = landscape(elsewhere.path(), &["diff"]);
    assert_eq!(diff.code, 0, "{diff:?}");
    assert!(
        diff.stdout
            .contains("Stack platform: 0 to create, 0 to update, 0 to delete"),
        "named after its file, sources found beside it: {diff:?}"
    );

    // A change to the template beside the original file shows up in the no-flags diff.
    std::fs::write(
        project.path().join("web/web.yaml.hbs"),
        WEB.replace("mode: {{values.mode}}", "mode: {{values.mode}}-changed"),
    )
    .unwrap();
    let changed = landscape(elsewhere.path(), &["diff"]);
    assert_eq!(changed.code, 1, "{changed:?}");
    assert!(
        changed.stdout.contains("+  mode: normal-changed"),
        "{changed:?}"
    );

    let down = landscape(elsewhere.path(), &["down", "--yes"]);
    assert_eq!(down.code, 0, "{down:?}");
    let status = landscape(elsewhere.path(), &["status"]);
    assert_eq!(status.code, 0, "{status:?}");
    assert!(status.stdout.contains("Nothing installed"), "{status:?}");
}

#[tokio::test]
async fn removed_objects_show_as_deletions_and_are_pruned() {
    let tb = testbed();
    let p = Project::new("prune", false);
    assert_eq!(p.landscape(&["up", PASSWORD[0], PASSWORD[1]]).await.code, 0);
    let ns = p.stack.as_str();
    assert!(exists(tb, "configmap", "web-extra", ns));

    // The stack no longer renders web-extra.
    let set = ["--set", "web.extra=false", PASSWORD[0], PASSWORD[1]];
    let diff = p
        .landscape(&[&["diff", "-o", "json"][..], &set[..]].concat())
        .await;
    assert_eq!(diff.code, 1, "{diff:?}");
    let d: Value = serde_json::from_str(&diff.stdout).unwrap();
    let web = &d["components"][0];
    assert_eq!(web["delete"], 1);
    assert_eq!(web["changes"][0]["action"], "delete");
    assert_eq!(web["changes"][0]["object"]["name"], "web-extra");

    let up = p
        .landscape(&[&["up", "-o", "json"][..], &set[..]].concat())
        .await;
    assert_eq!(up.code, 0, "{up:?}");
    let pruned = events_named(&up, "pruned");
    assert_eq!(pruned.len(), 1, "{up:?}");
    assert_eq!(pruned[0]["objects"][0]["name"], "web-extra");
    assert!(
        !exists(tb, "configmap", "web-extra", ns),
        "web-extra is gone"
    );
    assert_eq!(
        p.landscape(&[&["diff"][..], &set[..]].concat()).await.code,
        0
    );

    // --prune=false keeps what is no longer rendered.
    assert_eq!(p.landscape(&["up", PASSWORD[0], PASSWORD[1]]).await.code, 0);
    let keep = p
        .landscape(&[
            "up",
            "--prune=false",
            "--set",
            "web.extra=false",
            PASSWORD[0],
            PASSWORD[1],
        ])
        .await;
    assert_eq!(keep.code, 0, "{keep:?}");
    assert!(
        exists(tb, "configmap", "web-extra", ns),
        "kept with --prune=false"
    );
}

#[tokio::test]
async fn objects_outside_the_inventory_are_never_touched() {
    let tb = testbed();
    let p = Project::new("owner", false);
    assert_eq!(p.landscape(&["up", PASSWORD[0], PASSWORD[1]]).await.code, 0);
    let ns = p.stack.as_str();
    let applyset = landscape::inventory::applyset_id(&p.stack);

    // An impostor with every one of landscape's labels, made by someone else.
    let impostor = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: impostor\n  namespace: {ns}\n  labels:\n    app.kubernetes.io/managed-by: landscape\n    landscape.dev/stack: {ns}\n    landscape.dev/component: web\n    applyset.kubernetes.io/part-of: {applyset}\ndata:\n  owner: someone-else\n"
    );
    std::fs::write(p.path().join("impostor.yaml"), impostor).unwrap();
    assert!(
        tb.kubectl(&[
            "apply",
            "-f",
            p.path().join("impostor.yaml").to_str().unwrap()
        ])
        .status
        .success()
    );
    let before = kubectl_json(
        tb,
        &["get", "configmap", "impostor", "-n", ns, "-o", "json"],
    );

    assert_eq!(p.landscape(&["up", PASSWORD[0], PASSWORD[1]]).await.code, 0);
    let after = kubectl_json(
        tb,
        &["get", "configmap", "impostor", "-n", ns, "-o", "json"],
    );
    assert_eq!(
        before["metadata"]["resourceVersion"], after["metadata"]["resourceVersion"],
        "up left it alone"
    );

    // An object of the same name as one the stack renders is a conflict, not a takeover.
    replace_configmap(tb, ns, "web-config");
    let conflict = p.landscape(&["up", PASSWORD[0], PASSWORD[1]]).await;
    assert_eq!(conflict.code, 4, "{conflict:?}");
    assert!(
        conflict.stderr.contains("ConfigMap")
            && conflict.stderr.contains("web-config")
            && conflict.stderr.contains("--force-conflicts"),
        "{conflict:?}"
    );
    let theirs = kubectl_json(
        tb,
        &["get", "configmap", "web-config", "-n", ns, "-o", "json"],
    );
    assert_eq!(theirs["data"]["owner"], "someone-else", "not taken over");
    let diff = p
        .landscape(&["diff", "-o", "json", PASSWORD[0], PASSWORD[1]])
        .await;
    assert_eq!(diff.code, 4, "{diff:?}");
    let forced = p
        .landscape(&["up", "--force-conflicts", PASSWORD[0], PASSWORD[1]])
        .await;
    assert_eq!(forced.code, 0, "{forced:?}");
    let ours = kubectl_json(
        tb,
        &["get", "configmap", "web-config", "-n", ns, "-o", "json"],
    );
    assert_eq!(ours["data"]["mode"], "normal");

    // down removes what it owns, and only that: what it took over is released, and the
    // namespace holding the impostor stays.
    let down = p.landscape(&["down", "--yes"]).await;
    assert_eq!(down.code, 0, "{down:?}");
    assert!(
        down.stdout.contains("kept, it still holds") && down.stdout.contains("ConfigMap impostor"),
        "{down:?}"
    );
    assert!(down.stdout.contains("released 1 adopted"), "{down:?}");
    let released = kubectl_json(
        tb,
        &["get", "configmap", "web-config", "-n", ns, "-o", "json"],
    );
    assert!(
        released["metadata"]["labels"]
            .get(landscape::k8s::labels::APPLYSET_PART_OF)
            .is_none(),
        "released: no longer a member of the stack's ApplySet"
    );
    let still = kubectl_json(
        tb,
        &["get", "configmap", "impostor", "-n", ns, "-o", "json"],
    );
    assert_eq!(still["data"]["owner"], "someone-else");
    assert!(
        !exists(tb, "deployment", "web", ns),
        "its own objects are gone"
    );
}

/// Deletes landscape's ConfigMap `name` and creates someone else's under the same name.
fn replace_configmap(tb: &Testbed, ns: &str, name: &str) {
    assert!(
        tb.kubectl(&["delete", "configmap", name, "-n", ns])
            .status
            .success()
    );
    assert!(
        tb.kubectl(&[
            "create",
            "configmap",
            name,
            "-n",
            ns,
            "--from-literal=owner=someone-else"
        ])
        .status
        .success()
    );
}

#[tokio::test]
async fn members_replaced_by_someone_else_are_neither_pruned_nor_removed() {
    let tb = testbed();
    let p = Project::new("replaced", false);
    assert_eq!(p.landscape(&["up", PASSWORD[0], PASSWORD[1]]).await.code, 0);
    let ns = p.stack.as_str();

    // web-extra is in the inventory, but the object under that name is now someone else's.
    replace_configmap(tb, ns, "web-extra");
    let up = p
        .landscape(&[
            "up",
            "-o",
            "json",
            "--set",
            "web.extra=false",
            PASSWORD[0],
            PASSWORD[1],
        ])
        .await;
    assert_eq!(up.code, 0, "{up:?}");
    let pruned = events_named(&up, "pruned");
    assert_eq!(pruned.len(), 1, "{up:?}");
    assert_eq!(pruned[0]["objects"], serde_json::json!([]), "{up:?}");
    let why = pruned[0]["left_alone"][0].as_str().unwrap_or_default();
    assert!(
        why.contains("web-extra") && why.contains("no longer landscape's"),
        "{up:?}"
    );
    let theirs = kubectl_json(
        tb,
        &["get", "configmap", "web-extra", "-n", ns, "-o", "json"],
    );
    assert_eq!(theirs["data"]["owner"], "someone-else", "not pruned");

    // down: the same for a member replaced after the last run.
    replace_configmap(tb, ns, "web-config");
    let down = p.landscape(&["down", "--yes"]).await;
    assert_eq!(down.code, 0, "{down:?}");
    assert!(
        down.stdout.contains("ConfigMap")
            && down.stdout.contains("web-config: no longer landscape's"),
        "{down:?}"
    );
    for name in ["web-config", "web-extra"] {
        let theirs = kubectl_json(tb, &["get", "configmap", name, "-n", ns, "-o", "json"]);
        assert_eq!(
            theirs["data"]["owner"], "someone-else",
            "{name} survives down"
        );
    }
    assert!(
        !exists(tb, "deployment", "web", ns),
        "landscape's own objects are gone"
    );
}

#[tokio::test]
async fn a_namespace_of_someone_elses_is_never_taken_over_even_when_forced() {
    let tb = testbed();
    let p = Project::new("ns-theirs", false);
    let ns = p.stack.as_str();
    assert!(tb.kubectl(&["create", "namespace", ns]).status.success());
    let up = p
        .landscape(&["up", "--force-conflicts", PASSWORD[0], PASSWORD[1]])
        .await;
    assert_eq!(up.code, 0, "{up:?}");
    let namespace = kubectl_json(tb, &["get", "namespace", ns, "-o", "json"]);
    assert!(
        namespace["metadata"]["labels"]
            .get("applyset.kubernetes.io/part-of")
            .is_none(),
        "not taken over: {namespace}"
    );
    let down = p.landscape(&["down", "--yes"]).await;
    assert_eq!(down.code, 0, "{down:?}");
    let after = kubectl_json(tb, &["get", "namespace", ns, "-o", "json"]);
    assert_eq!(
        after["metadata"]["uid"], namespace["metadata"]["uid"],
        "down leaves it"
    );
    assert!(after["metadata"].get("deletionTimestamp").is_none());
}

#[tokio::test]
async fn a_namespace_left_behind_is_pruned_only_when_nothing_else_is_in_it() {
    let tb = testbed();
    let p = Project::new("ns-moved", false);
    assert_eq!(p.landscape(&["up", PASSWORD[0], PASSWORD[1]]).await.code, 0);
    let old = p.stack.clone();
    assert!(
        tb.kubectl(&["create", "configmap", "theirs", "-n", &old])
            .status
            .success()
    );
    // The component moves to another namespace: the old one is stale.
    let stack_file = p.path().join("landscape.yaml");
    let text = std::fs::read_to_string(&stack_file).unwrap();
    std::fs::write(
        &stack_file,
        text.replace(
            &format!("namespace: {old}\n"),
            &format!("namespace: {old}-b\n"),
        ),
    )
    .unwrap();
    let up = p
        .landscape(&["up", "-o", "json", PASSWORD[0], PASSWORD[1]])
        .await;
    assert_eq!(up.code, 0, "{up:?}");
    let pruned = events_named(&up, "pruned");
    assert_eq!(pruned.len(), 1, "{up:?}");
    let names: Vec<&str> = pruned[0]["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"web") && !names.contains(&old.as_str()),
        "{names:?}"
    );
    assert_eq!(pruned[0]["retained"][0]["name"], old.as_str(), "{up:?}");
    assert!(
        pruned[0]["left_alone"][0]
            .as_str()
            .unwrap_or_default()
            .contains("kept, it still holds ConfigMap theirs"),
        "{up:?}"
    );
    let theirs = kubectl_json(
        tb,
        &["get", "configmap", "theirs", "-n", &old, "-o", "json"],
    );
    assert!(theirs["metadata"].get("deletionTimestamp").is_none());
    assert!(
        !exists(tb, "deployment", "web", &old),
        "landscape's own objects there are pruned"
    );
    assert_eq!(p.landscape(&["down", "--yes"]).await.code, 0);
}

#[tokio::test]
async fn secret_values_appear_in_no_output() {
    let tb = testbed();
    let p = Project::new("secret", false);
    let old = "old-secret-value-4f1c";
    let new = "new-secret-value-9b2e";
    let b64 = |s: &str| landscape::k8s::base64::encode(s.as_bytes());
    let set_old = format!("web.password={old}");
    let set_new = format!("web.password={new}");
    let mut outputs: Vec<(String, Run)> = Vec::new();

    outputs.push(("up".into(), p.landscape(&["up", "--set", &set_old]).await));
    assert_eq!(outputs[0].1.code, 0, "{:?}", outputs[0].1);
    let secret = kubectl_json(
        tb,
        &[
            "get",
            "secret",
            "web-credentials",
            "-n",
            &p.stack,
            "-o",
            "json",
        ],
    );
    assert_eq!(
        secret["data"]["password"],
        b64(old),
        "the Secret really holds the value"
    );

    let diff = p.landscape(&["diff", "--set", &set_new]).await;
    assert_eq!(diff.code, 1, "{diff:?}");
    assert!(
        diff.stdout.contains("~ update Secret") && diff.stdout.contains("(data.password)"),
        "{diff:?}"
    );
    assert!(
        diff.stdout.contains("*** (before)") && diff.stdout.contains("*** (after)"),
        "{diff:?}"
    );
    outputs.push(("diff".into(), diff));
    let json = p
        .landscape(&["diff", "-o", "json", "--set", &set_new])
        .await;
    let d: Value = serde_json::from_str(&json.stdout).unwrap();
    let change = &d["components"][0]["changes"][0];
    assert_eq!(change["object"]["kind"], "Secret");
    assert_eq!(
        change["changed_paths"],
        serde_json::json!(["data.password"])
    );
    outputs.push(("diff -o json".into(), json));
    outputs.push((
        "render".into(),
        p.landscape(&["render", "--set", &set_new]).await,
    ));
    outputs.push((
        "up -o json".into(),
        p.landscape(&["up", "-o", "json", "--set", &set_new]).await,
    ));
    outputs.push((
        "status".into(),
        p.landscape(&["status", "-o", "json"]).await,
    ));
    outputs.push((
        "plan".into(),
        p.landscape(&["plan", "--set", &set_new]).await,
    ));

    for (what, out) in &outputs {
        for value in [old.to_string(), new.to_string(), b64(old), b64(new)] {
            assert!(
                !out.all().contains(&value),
                "{what} printed a secret value: {out:?}"
            );
        }
    }
    let secret = kubectl_json(
        tb,
        &[
            "get",
            "secret",
            "web-credentials",
            "-n",
            &p.stack,
            "-o",
            "json",
        ],
    );
    assert_eq!(
        secret["data"]["password"],
        b64(new),
        "up applied the new value"
    );
}

#[tokio::test]
async fn down_removes_everything_owned_keeps_crds_and_status_reports_nothing() {
    let tb = testbed();
    let p = Project::new("down", true);
    assert_eq!(p.landscape(&["up", PASSWORD[0], PASSWORD[1]]).await.code, 0);
    let status = p.landscape(&["status", "-o", "json"]).await;
    assert_eq!(status.code, 0, "{status:?}");
    let s: Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(s["stacks"][0]["components"][0]["health"], "healthy");
    assert!(s["stacks"][0]["components"][0]["objects"].as_u64().unwrap() >= 6);

    // The inventory is a real ApplySet kubectl can read.
    let parent = kubectl_json(
        tb,
        &[
            "get",
            "secret",
            "-n",
            "kube-system",
            &format!("landscape-{}", p.stack),
            "-o",
            "json",
        ],
    );
    let id = parent["metadata"]["labels"]["applyset.kubernetes.io/id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        parent["metadata"]["annotations"]["applyset.kubernetes.io/contains-group-kinds"]
            .as_str()
            .unwrap()
            .contains("Deployment.apps")
    );
    let members = kubectl_json(
        tb,
        &[
            "get",
            "configmaps",
            "-A",
            "-l",
            &format!("applyset.kubernetes.io/part-of={id}"),
            "-o",
            "json",
        ],
    );
    assert_eq!(members["items"].as_array().unwrap().len(), 2);

    // Without a terminal, down needs --yes.
    let refused = p.landscape(&["down"]).await;
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(refused.stderr.contains("--yes"));

    let down = p.landscape(&["down", "--yes", "-o", "json"]).await;
    assert_eq!(down.code, 0, "{down:?}");
    let ns = p.stack.as_str();
    for kind in [
        "deployment/web",
        "configmap/web-config",
        "secret/web-credentials",
        "widget.lifecycle.landscape.test/first",
    ] {
        assert!(
            !tb.kubectl(&["get", kind, "-n", ns]).status.success(),
            "{kind} is gone"
        );
    }
    assert!(
        !tb.kubectl(&["get", "namespace", ns]).status.success() || namespace_terminating(tb, ns),
        "namespace removed"
    );
    assert!(
        tb.kubectl(&["get", "crd", "widgets.lifecycle.landscape.test"])
            .status
            .success(),
        "the CRD is kept"
    );

    let status = p.landscape(&["status"]).await;
    assert_eq!(status.code, 0, "{status:?}");
    assert!(status.stdout.contains("Nothing installed"), "{status:?}");
}

fn namespace_terminating(tb: &Testbed, ns: &str) -> bool {
    let out = tb.kubectl(&["get", "namespace", ns, "-o", "jsonpath={.status.phase}"]);
    String::from_utf8_lossy(&out.stdout) == "Terminating"
}

#[tokio::test]
async fn diff_on_an_empty_cluster_shows_creations_marked_when_their_crd_is_pending() {
    let tb = testbed();
    let mut cmd = tb.landscape();
    cmd.args(["diff", "--profile", "small", "-o", "json", "--mirror"])
        .arg(support::upstream_dir())
        .args(support::BACKUP_VALUES);
    let out = tokio::task::spawn_blocking(move || run(cmd)).await.unwrap();
    assert_eq!(out.code, 1, "{out:?}");
    let d: Value = serde_json::from_str(&out.stdout).unwrap();
    let kps = d["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "kube-prometheus-stack")
        .unwrap();
    let changes = kps["changes"].as_array().unwrap();
    assert!(changes.iter().all(|c| c["action"] == "create"));
    let prometheus = changes
        .iter()
        .find(|c| c["object"]["kind"] == "Prometheus")
        .unwrap();
    assert_eq!(prometheus["crd_pending"], true);
    let deployment = changes
        .iter()
        .find(|c| c["object"]["kind"] == "Deployment")
        .unwrap();
    assert!(deployment.get("crd_pending").is_none());
    assert_eq!(kps["unchanged"], 0);
}

/// An aggregated ClusterRole and the roles it selects, named after the stack.
fn aggregated_roles(stack: &str) -> String {
    let mut out = format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: {stack}-view\naggregationRule:\n  clusterRoleSelectors:\n    - matchLabels: {{landscape.test/aggregate-to: {stack}}}\nrules: []\n"
    );
    for i in 0..6 {
        out.push_str(&format!(
            "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: {stack}-part-{i}\n  labels: {{landscape.test/aggregate-to: {stack}}}\nrules:\n  - apiGroups: [\"\"]\n    resources: [configmaps]\n    verbs: [get]\n    resourceNames: [part-{i}]\n"
        ));
    }
    out
}

#[tokio::test]
async fn down_does_not_let_the_aggregation_controller_recreate_cluster_roles() {
    let tb = testbed();
    let p = Project::new("aggregate", false);
    std::fs::write(p.path().join("web/roles.yaml"), aggregated_roles(&p.stack)).unwrap();
    let aggregated = format!("{}-view", p.stack);
    for round in 0..5 {
        let up = p.landscape(&["up", PASSWORD[0], PASSWORD[1]]).await;
        assert_eq!(up.code, 0, "round {round}: {up:?}");
        // Wait for the controller to fill the aggregated role, so it watches it.
        let mut filled = false;
        for _ in 0..100 {
            let role = kubectl_json(tb, &["get", "clusterrole", &aggregated, "-o", "json"]);
            if role["rules"].as_array().is_some_and(|r| r.len() == 6) {
                filled = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(filled, "the aggregation controller fills {aggregated}");

        let down = p.landscape(&["down", "--yes", "--timeout", "1m"]).await;
        assert_eq!(down.code, 0, "round {round}: {down:?}");
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let left =
            String::from_utf8(tb.kubectl(&["get", "clusterroles", "-o", "name"]).stdout).unwrap();
        let back: Vec<&str> = left.lines().filter(|l| l.contains(&p.stack)).collect();
        assert!(
            back.is_empty(),
            "round {round}: came back after down: {back:?}"
        );
    }
}

#[tokio::test]
async fn down_past_its_deadline_keeps_what_is_still_being_deleted_recorded() {
    let tb = testbed();
    let p = Project::new("held", false);
    std::fs::write(
        p.path().join("web/held.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held\n  finalizers: [landscape.test/hold]\ndata: {a: b}\n",
    )
    .unwrap();
    assert_eq!(p.landscape(&["up", PASSWORD[0], PASSWORD[1]]).await.code, 0);

    // The finalizer holds the ConfigMap past the deadline: the run fails, and the inventory
    // still records it, so that nothing labelled for the stack is left that it forgot.
    let down = p.landscape(&["down", "--yes", "--timeout", "3s"]).await;
    assert_eq!(down.code, 3, "{down:?}");
    assert!(down.stdout.contains("not gone yet: ConfigMap"), "{down:?}");
    let inventory = format!("landscape-{}", p.stack);
    let parent = kubectl_json(
        tb,
        &[
            "get",
            "secret",
            "-n",
            "kube-system",
            &inventory,
            "-o",
            "json",
        ],
    );
    assert!(parent["metadata"]["name"].is_string());
    let status = p.landscape(&["status", "-o", "json"]).await;
    let s: Value = serde_json::from_str(&status.stdout).unwrap();
    // The ConfigMap, and the namespace it holds in Terminating.
    assert_eq!(s["stacks"][0]["components"][0]["objects"], 2, "{s}");
    assert!(!exists(tb, "deployment", "web", &p.stack));

    // Once the finalizer goes, the next `down` finishes the job and the inventory goes.
    let held = tb.kubectl(&[
        "patch",
        "configmap",
        "held",
        "-n",
        &p.stack,
        "--type",
        "merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ]);
    assert!(held.status.success());
    let down = p.landscape(&["down", "--yes", "--timeout", "1m"]).await;
    assert_eq!(down.code, 0, "{down:?}");
    let gone = tb.kubectl(&["get", "secret", "-n", "kube-system", &inventory]);
    assert!(!gone.status.success());
}

/// How many deletions a `diff -o json` predicts.
fn deletions(diff: &Run) -> usize {
    let d: Value = serde_json::from_str(&diff.stdout).unwrap();
    d["components"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["changes"].as_array().unwrap())
        .filter(|ch| ch["action"] == "delete")
        .count()
}

/// A stack of three components: `a`, `b` (needs `a`) and `c`, each one ConfigMap.
fn three_components(dir: &Path, stack: &str, with_b: bool) {
    for c in ["a", "b", "c"] {
        std::fs::create_dir_all(dir.join(c)).unwrap();
        std::fs::write(
            dir.join(c).join("cm.yaml"),
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {c}}}\ndata: {{from: {c}}}\n"
            ),
        )
        .unwrap();
    }
    let component = |name: &str, needs: &str| {
        format!(
            "  {name}:\n    category: delivery\n    namespace: {stack}-{name}\n    sources: [{{templateDir: ./{name}}}]\n    needs: [{needs}]\n"
        )
    };
    let mut text = format!("name: {stack}\ncomponents:\n{}", component("a", ""));
    if with_b {
        text.push_str(&component("b", "a"));
    }
    text.push_str(&component("c", ""));
    std::fs::write(dir.join("landscape.yaml"), text).unwrap();
}

#[tokio::test]
async fn only_and_skip_select_components_and_leave_the_others_alone() {
    let tb = testbed();
    let p = Project::new("select", false);
    let stack = p.stack.clone();
    three_components(p.path(), &stack, true);
    let has = |c: &str| exists(tb, "configmap", c, &format!("{stack}-{c}"));

    // Unknown names are refused before anything, with a hint.
    let typo = p.landscape(&["up", "--only", "bb"]).await;
    assert_eq!(typo.code, 2, "{typo:?}");
    assert!(
        typo.stderr.contains("--only bb: no component `bb`")
            && typo.stderr.contains("did you mean `b`?"),
        "{typo:?}"
    );
    // --no-needs: what b needs must be healthy already; `a` is not installed.
    let early = p.landscape(&["up", "--only", "b", "--no-needs"]).await;
    assert_eq!(early.code, 3, "{early:?}");
    assert!(
        early.stderr.contains("`a` is needed and not installed"),
        "{early:?}"
    );
    assert!(!has("a") && !has("b"), "nothing was written");

    // --only b brings what b needs, and nothing else.
    let diff = p.landscape(&["diff", "--only", "b", "-o", "json"]).await;
    assert_eq!(diff.code, 1, "{diff:?}");
    let d: Value = serde_json::from_str(&diff.stdout).unwrap();
    let names: Vec<&str> = d["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "b"], "{d}");
    let up = p.landscape(&["up", "--only", "b"]).await;
    assert_eq!(up.code, 0, "{up:?}");
    assert!(has("a") && has("b") && !has("c"));
    let plan = p.landscape(&["plan", "--skip", "a", "-o", "json"]).await;
    let planned: Value = serde_json::from_str(&plan.stdout).unwrap();
    let names: Vec<&str> = planned["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["c", "b"], "{planned}");
    assert!(
        planned["components"][1]["needs"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // b leaves the stack; a partial run does not prune it, and diff says so.
    three_components(p.path(), &stack, false);
    let diff = p.landscape(&["diff", "--only", "c", "-o", "json"]).await;
    assert_eq!(
        deletions(&diff),
        0,
        "a partial diff predicts no deletion: {diff:?}"
    );
    let up = p.landscape(&["up", "--skip", "a"]).await;
    assert_eq!(up.code, 0, "{up:?}");
    assert!(has("c") && has("b"), "b stays: it was not selected");
    // --no-needs with a healthy need passes; status judges the selected alone.
    let only_c = p.landscape(&["up", "--only", "c", "--no-needs"]).await;
    assert_eq!(only_c.code, 0, "{only_c:?}");
    let status = p
        .landscape(&["status", "--only", "a,c", "-o", "json"])
        .await;
    assert_eq!(status.code, 0, "{status:?}");
    let s: Value = serde_json::from_str(&status.stdout).unwrap();
    let shown: Vec<&str> = s["stacks"][0]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(shown, ["a", "c"], "{s}");

    // The whole stack again: now b goes.
    let diff = p.landscape(&["diff", "-o", "json"]).await;
    assert_eq!(deletions(&diff), 2, "b's ConfigMap and namespace: {diff:?}");
    let up = p.landscape(&["up"]).await;
    assert_eq!(up.code, 0, "{up:?}");
    assert!(!has("b") && has("a") && has("c"));
    let down = p.landscape(&["down", "--yes"]).await;
    assert_eq!(down.code, 0, "{down:?}");
}

#[tokio::test]
async fn up_with_a_plan_applies_exactly_what_was_reviewed() {
    let tb = testbed();
    let p = Project::new("reviewed", false);
    let ns = p.stack.clone();
    let secret = "plan-secret-value-7";
    let pw = format!("web.password={secret}");
    assert_eq!(p.landscape(&["up", "--set", &pw]).await.code, 0);
    let plan_file = p.path().join("reviewed.plan");
    let plan_path = plan_file.to_str().unwrap();

    // Reviewed: three replicas. The plan holds no secret value and only its owner reads it.
    let plan = p
        .landscape(&[
            "plan",
            "--out",
            plan_path,
            "--set",
            &pw,
            "--set",
            "web.replicas=3",
        ])
        .await;
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(plan.stderr.contains("1 to update"), "{plan:?}");
    let text = std::fs::read_to_string(&plan_file).unwrap();
    let b64 = landscape::k8s::base64::encode(secret.as_bytes());
    assert!(!text.contains(secret) && !text.contains(&b64));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&plan_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let saved: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        saved["digests"], "stack-key",
        "the stack is installed: keyed digests"
    );
    // Applied unchanged: the Deployment's status moved meanwhile, which is no change.
    let up = p
        .landscape(&[
            "up",
            "--plan",
            plan_path,
            "--set",
            &pw,
            "--set",
            "web.replicas=3",
        ])
        .await;
    assert_eq!(up.code, 0, "{up:?}");
    let dep = kubectl_json(tb, &["get", "deployment", "web", "-n", &ns, "-o", "json"]);
    assert_eq!(dep["spec"]["replicas"], 3);

    // The inputs changed after the review: refused before anything is written.
    let plan = p
        .landscape(&[
            "plan",
            "--out",
            plan_path,
            "--set",
            &pw,
            "--set",
            "web.mode=fast",
        ])
        .await;
    assert_eq!(plan.code, 0, "{plan:?}");
    let refused = p
        .landscape(&[
            "up",
            "--plan",
            plan_path,
            "--set",
            &pw,
            "--set",
            "web.mode=slow",
        ])
        .await;
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(
        refused
            .stderr
            .contains(&format!("ConfigMap {ns}/web-config changed"))
            && refused.stderr.contains("plan --out"),
        "{refused:?}"
    );
    // A changed secret value is a change too, and is not printed.
    let refused = p
        .landscape(&[
            "up",
            "--plan",
            plan_path,
            "--set",
            "web.password=other",
            "--set",
            "web.mode=fast",
        ])
        .await;
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(refused.stderr.contains("Secret"), "{refused:?}");
    assert!(!refused.all().contains("other"), "{refused:?}");
    let cm = kubectl_json(
        tb,
        &["get", "configmap", "web-config", "-n", &ns, "-o", "json"],
    );
    assert_eq!(cm["data"]["mode"], "normal", "nothing was applied");

    // Someone changes a live object after the review: refused, naming it.
    assert!(
        tb.kubectl(&["label", "configmap", "web-config", "-n", &ns, "reviewed=no"])
            .status
            .success()
    );
    let refused = p
        .landscape(&[
            "up",
            "--plan",
            plan_path,
            "--set",
            &pw,
            "--set",
            "web.mode=fast",
        ])
        .await;
    assert_eq!(refused.code, 4, "{refused:?}");
    assert!(
        refused.stderr.contains(&format!(
            "the cluster changed since plan {plan_path} was made: ConfigMap {ns}/web-config"
        )),
        "{refused:?}"
    );
    // A plan that is not one is an input error.
    std::fs::write(&plan_file, "{}").unwrap();
    let bad = p
        .landscape(&["up", "--plan", plan_path, "--set", &pw])
        .await;
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(bad.stderr.contains("not a landscape plan"), "{bad:?}");
}
