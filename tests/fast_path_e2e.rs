//! The fast path never hides drift: after every kind of change a person or a controller
//! makes to the stack's objects, `diff` predicts exactly what it predicts with the fast path
//! off (`--no-fast-path`), and `up` then does exactly that — and a converged stack is left
//! converged both ways.

mod support;

use serde_json::Value;

use support::predict::{Project, done, k, predicted};
use support::{Testbed, testbed_with};

/// The control plane, with its audit log (to count requests).
fn testbed() -> &'static Testbed {
    testbed_with(&["--audit"])
}

const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: c, image: registry.example/web:1}]}\n";

fn files(value: &str) -> Vec<(&'static str, String)> {
    vec![
        ("web.yaml", DEPLOYMENT.to_string()),
        (
            "settings.yaml",
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings}}\ndata: {{mode: \"{value}\"}}\n"),
        ),
        (
            "creds.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\nstringData: {password: s3cret-fast-path}\n".to_string(),
        ),
        (
            "token.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata: {name: token}\ndata: {token: dG9rZW4tZmFzdC1wYXRo}\n".to_string(),
        ),
    ]
}

fn kubectl(tb: &Testbed, args: &[&str]) {
    let out = tb.kubectl(args);
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `diff` with and without the fast path agree; `up` does what they predicted; after it,
/// both say nothing differs.
async fn agree(p: &Project, what: &str, expect: &[(&str, &str)]) {
    let fast = p.landscape(&["diff", "-o", "json"]).await;
    let slow = p.landscape(&["diff", "-o", "json", "--no-fast-path"]).await;
    assert_eq!(
        fast.code, slow.code,
        "{what}: exit codes differ\nfast {fast:?}\nslow {slow:?}"
    );
    let prediction = predicted(&slow);
    assert_eq!(
        predicted(&fast),
        prediction,
        "{what}: the fast path sees something else"
    );
    for (kind, action) in expect {
        let hit = prediction
            .iter()
            .any(|((kd, _, _), a)| kd == kind && a == action);
        assert!(hit, "{what}: expected {kind} {action}: {prediction:?}");
    }
    if expect.is_empty() {
        assert!(
            prediction.is_empty(),
            "{what}: no change expected: {prediction:?}"
        );
    }
    if prediction.values().any(|a| a == "conflict") {
        return;
    }
    let up = p.landscape(&["up", "-o", "json"]).await;
    assert_eq!(up.code, 0, "{what}: {up:?}");
    assert_eq!(done(&up), prediction, "{what}: up did something else");
    for flags in [vec!["diff"], vec!["diff", "--no-fast-path"]] {
        let after = p.landscape(&flags).await;
        assert_eq!(
            after.code, 0,
            "{what}: not converged ({flags:?}): {after:?}"
        );
    }
}

#[tokio::test]
async fn every_kind_of_drift_is_seen_with_the_fast_path_as_without() {
    let tb = testbed();
    let p = Project::new("drift");
    let ns = p.ns.clone();
    p.render(&files("a"));
    let first = p.landscape(&["up"]).await;
    assert_eq!(first.code, 0, "{first:?}");
    agree(&p, "converged", &[]).await;

    kubectl(
        tb,
        &["scale", "deployment", "web", "-n", &ns, "--replicas=3"],
    );
    agree(&p, "scaled", &[("Deployment", "update")]).await;

    kubectl(
        tb,
        &[
            "patch",
            "configmap",
            "settings",
            "-n",
            &ns,
            "--type=merge",
            "-p",
            r#"{"data":{"mode":"edited"}}"#,
        ],
    );
    agree(
        &p,
        "a field landscape set, edited",
        &[("ConfigMap", "update")],
    )
    .await;

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cm.yaml");
    std::fs::write(&file, format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings, namespace: {ns}}}\ndata: {{mode: taken}}\n")).unwrap();
    kubectl(
        tb,
        &[
            "apply",
            "--server-side",
            "--force-conflicts",
            "--field-manager=someone-else",
            "-f",
            file.to_str().unwrap(),
        ],
    );
    agree(
        &p,
        "a forced apply by another manager",
        &[("ConfigMap", "update")],
    )
    .await;

    kubectl(
        tb,
        &["label", "configmap", "settings", "-n", &ns, "team=platform"],
    );
    kubectl(
        tb,
        &["annotate", "deployment", "web", "-n", &ns, "note=hello"],
    );
    agree(&p, "a label and an annotation added by others", &[]).await;

    kubectl(
        tb,
        &[
            "patch",
            "secret",
            "creds",
            "-n",
            &ns,
            "--type=merge",
            "-p",
            r#"{"stringData":{"password":"changed-behind-its-back"}}"#,
        ],
    );
    agree(
        &p,
        "a Secret value given as stringData changed",
        &[("Secret", "update")],
    )
    .await;

    kubectl(
        tb,
        &[
            "patch",
            "secret",
            "token",
            "-n",
            &ns,
            "--type=merge",
            "-p",
            r#"{"data":{"token":"b3RoZXI="}}"#,
        ],
    );
    agree(
        &p,
        "a Secret value given as data changed",
        &[("Secret", "update")],
    )
    .await;

    kubectl(tb, &["delete", "configmap", "settings", "-n", &ns]);
    agree(&p, "deleted", &[("ConfigMap", "create")]).await;

    p.render(&files("b"));
    agree(&p, "the desired object changed", &[("ConfigMap", "update")]).await;

    // Deleted and created again by someone else: theirs now, a conflict both ways.
    kubectl(tb, &["delete", "configmap", "settings", "-n", &ns]);
    kubectl(
        tb,
        &[
            "create",
            "configmap",
            "settings",
            "-n",
            &ns,
            "--from-literal=mode=theirs",
        ],
    );
    agree(
        &p,
        "re-created by someone else",
        &[("ConfigMap", "conflict")],
    )
    .await;
    let d = p.landscape(&["diff", "-o", "json"]).await;
    let v: Value = serde_json::from_str(&d.stdout).unwrap();
    assert!(v.to_string().contains("conflict"), "{v}");
    assert_eq!(predicted(&d)[&k("ConfigMap", &ns, "settings")], "conflict");
}

#[tokio::test]
async fn a_converged_run_sends_no_request_per_object() {
    let tb = testbed();
    let p = Project::new("quiet");
    let mut all = files("a");
    for i in 0..20 {
        all.push((
            Box::leak(format!("cm-{i}.yaml").into_boxed_str()),
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{i}}}\ndata: {{i: \"{i}\"}}\n"),
        ));
    }
    p.render(&all);
    assert_eq!(p.landscape(&["up"]).await.code, 0);
    let audit = support::audit::log(tb);
    let before = support::audit::lines(&audit);
    let again = p.landscape(&["up", "-o", "json"]).await;
    assert_eq!(again.code, 0, "{again:?}");
    let text = std::fs::read_to_string(&audit).unwrap();
    let requests: Vec<Value> = text
        .lines()
        .skip(before)
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|e: &Value| {
            e["userAgent"]
                .as_str()
                .is_some_and(|ua| ua.starts_with("landscape/"))
        })
        .filter(|e| e["stage"] == "ResponseComplete")
        .collect();
    let per_object = requests
        .iter()
        .filter(|e| {
            let uri = e["requestURI"].as_str().unwrap_or_default();
            matches!(e["verb"].as_str(), Some("patch" | "get")) && uri.contains("/configmaps/cm-")
        })
        .count();
    assert_eq!(
        per_object, 0,
        "a converged run reads with lists and sends nothing per object"
    );
    let summary = again
        .events()
        .into_iter()
        .find(|e| e["event"] == "summary")
        .unwrap();
    assert_eq!(summary["changed"], false, "{summary}");
}
