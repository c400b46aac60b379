//! `landscape up` end to end on the test control plane, artifacts from the loopback mirror.

mod support;

use std::path::Path;

use serde_json::Value;

use support::operators;
use support::{BACKUP_VALUES, Run, run, testbed, unique};

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, text).unwrap();
}

fn events_of<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event"] == kind).collect()
}

fn position(events: &[Value], kind: &str, component: &str) -> usize {
    events
        .iter()
        .position(|e| e["event"] == kind && e["component"] == component)
        .unwrap_or_else(|| panic!("no {kind} event for {component}"))
}

#[tokio::test]
async fn small_profile_up_playing_prometheus_operator_kyverno_and_velero() {
    let tb = testbed();
    let _stand_in = operators::play(tb, &["prometheus-operator", "kyverno", "velero"]);
    // metrics-server itself: its APIService is gated on the API server reaching it.
    let _metrics = operators::run(tb, &["metrics-server"]);

    let mut cmd = tb.landscape();
    cmd.args(["up", "--profile", "small", "-o", "json", "--timeout", "8m"])
        .args(BACKUP_VALUES);
    let first = tokio::task::spawn_blocking(move || run(cmd)).await.unwrap();
    assert_eq!(first.code, 0, "{first:?}");
    let events = first.events();
    let summary = events.last().unwrap();
    assert_eq!(summary["event"], "summary");
    assert_eq!(summary["result"], "success");
    assert_eq!(summary["changed"], true);
    let healthy: Vec<&str> = events_of(&events, "healthy")
        .iter()
        .map(|e| e["component"].as_str().unwrap())
        .collect();
    for c in [
        "flannel",
        "argocd",
        "kube-prometheus-stack",
        "loki",
        "alloy",
        "trivy-operator",
        "kyverno",
        "kyverno-policies",
        "platform-monitoring",
        "velero",
    ] {
        assert!(healthy.contains(&c), "{c} healthy: {healthy:?}");
    }
    // Progress: each component reports applying n/m until all its objects are applied.
    for started in events_of(&events, "component_started") {
        let c = started["component"].as_str().unwrap();
        let progress: Vec<(u64, u64)> = events
            .iter()
            .filter(|e| e["event"] == "applying" && e["component"] == c)
            .map(|e| (e["applied"].as_u64().unwrap(), e["total"].as_u64().unwrap()))
            .collect();
        let total = started["objects"].as_u64().unwrap();
        assert_eq!(progress.last(), Some(&(total, total)), "{c}: {progress:?}");
        assert!(
            progress.windows(2).all(|w| w[0].0 < w[1].0),
            "{c} progresses: {progress:?}"
        );
        assert!(position(&events, "applying", c) < position(&events, "objects_applied", c));
    }
    // The stack observes itself: Kyverno's controllers are scraped too.
    let kyverno_monitor = tb.kubectl(&["get", "servicemonitor", "-n", "monitoring", "kyverno"]);
    assert!(kyverno_monitor.status.success(), "{kyverno_monitor:?}");
    // The CNI is gated before anything else starts.
    let flannel_healthy = position(&events, "healthy", "flannel");
    for c in ["argocd", "kyverno", "kube-prometheus-stack"] {
        assert!(position(&events, "component_started", c) > flannel_healthy);
    }
    // Objects carry landscape's labels and the workloads really run.
    let deploy = tb.kubectl(&[
        "get",
        "deployment",
        "-n",
        "argocd",
        "argocd-server",
        "-o",
        "json",
    ]);
    let deploy: Value = serde_json::from_slice(&deploy.stdout).unwrap();
    assert_eq!(
        deploy["metadata"]["labels"]["landscape.dev/component"],
        "argocd"
    );
    assert_eq!(
        deploy["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "landscape"
    );
    assert_eq!(deploy["status"]["availableReplicas"], 1);

    // A second run on the converged cluster changes nothing, and says so.
    // The daily backup of `prod`, and the Grafana data source for Loki, are in place.
    let schedule = tb.kubectl(&["get", "schedules.velero.io", "-n", "velero", "-o", "json"]);
    let schedule: Value = serde_json::from_slice(&schedule.stdout).unwrap();
    assert_eq!(schedule["items"][0]["spec"]["schedule"], "0 2 * * *");
    assert_eq!(
        schedule["items"][0]["spec"]["template"]["includedNamespaces"],
        serde_json::json!(["prod"])
    );
    let datasource = tb.kubectl(&[
        "get",
        "configmap",
        "-n",
        "monitoring",
        "loki-datasource",
        "-o",
        "json",
    ]);
    let datasource: Value = serde_json::from_slice(&datasource.stdout).unwrap();
    assert_eq!(datasource["metadata"]["labels"]["grafana_datasource"], "1");
    assert!(
        datasource["data"]["loki-datasource.yaml"]
            .as_str()
            .unwrap()
            .contains("http://loki.logging.svc")
    );

    let mut cmd = tb.landscape();
    cmd.args(["up", "--profile", "small", "--timeout", "5m"])
        .args(BACKUP_VALUES);
    let second = tokio::task::spawn_blocking(move || run(cmd)).await.unwrap();
    assert_eq!(second.code, 0, "{second:?}");
    assert!(second.stdout.contains("No changes"), "{second:?}");
    let mut cmd = tb.landscape();
    cmd.args(["up", "--profile", "small", "-o", "json"])
        .args(BACKUP_VALUES);
    let third = tokio::task::spawn_blocking(move || run(cmd)).await.unwrap();
    let events = third.events();
    let summary = events.last().unwrap();
    assert_eq!(summary["changed"], false, "{third:?}");
    for c in summary["components"].as_array().unwrap() {
        assert_eq!(c["created"], 0, "{c}");
        assert_eq!(c["configured"], 0, "{c}");
    }
}

const HEALTHY_DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{component.name}}
spec:
  replicas: 2
  selector: {matchLabels: {app: {{component.name}}}}
  template:
    metadata:
      labels:
        app: {{component.name}}
{{#if values.neverReady}}
        testbed.landscape.dev/never-ready: "true"
{{/if}}
    spec:
      containers:
        - name: app
          image: registry.example/app:1.0
"#;

fn chain_component(
    name: &str,
    ns: &str,
    needs: &[&str],
    never_ready: bool,
    timeout: &str,
) -> String {
    format!(
        "  {name}:\n    category: delivery\n    namespace: {ns}\n    needs: [{}]\n    timeout: {timeout}\n    sources:\n      - templateDir: ./app\n    values:\n      neverReady: {never_ready}\n",
        needs.join(", ")
    )
}

#[tokio::test]
async fn a_failing_chain_skips_its_dependents_while_the_other_chain_finishes() {
    let tb = testbed();
    let stack = unique("chains");
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "app/deployment.yaml.hbs", HEALTHY_DEPLOYMENT);
    let mut text = format!("name: {stack}\ncomponents:\n");
    text += &chain_component("base-a", &format!("{stack}-a"), &[], false, "2m");
    text += &chain_component("app-a", &format!("{stack}-a2"), &["base-a"], false, "2m");
    text += &chain_component("base-b", &format!("{stack}-b"), &[], true, "20s");
    text += &chain_component("app-b", &format!("{stack}-b2"), &["base-b"], false, "2m");
    write(dir.path(), "landscape.yaml", &text);

    let mut cmd = tb.landscape();
    cmd.current_dir(dir.path()).args(["up", "-o", "json"]);
    let out = tokio::task::spawn_blocking(move || run(cmd)).await.unwrap();
    assert_eq!(out.code, 3, "{out:?}");
    let events = out.events();

    // The other chain is healthy, and its second component started before base-b failed.
    assert!(position(&events, "healthy", "app-a") > 0);
    assert!(
        position(&events, "component_started", "app-a") < position(&events, "failed", "base-b")
    );

    // The diagnosis names the pods that are not ready and why.
    let failed = &events[position(&events, "failed", "base-b")];
    assert_eq!(failed["class"], "gate");
    let not_ready = failed["not_ready"].as_array().unwrap();
    let deployment = not_ready
        .iter()
        .find(|n| n["object"]["kind"] == "Deployment")
        .expect("the Deployment is named");
    assert_eq!(deployment["reason"], "0/2 replicas available");
    let pods = deployment["pods"].as_array().unwrap();
    assert_eq!(pods.len(), 2, "{failed}");
    for p in pods {
        let p = p.as_str().unwrap();
        assert!(p.starts_with("base-b-"), "{p}");
        assert!(p.contains("Ready=False"), "{p}");
    }

    // Its dependent is skipped and was never applied.
    let skipped = &events[position(&events, "skipped", "app-b")];
    assert_eq!(skipped["because"], serde_json::json!(["base-b"]));
    assert!(
        !events
            .iter()
            .any(|e| e["event"] == "component_started" && e["component"] == "app-b")
    );
    let applied = tb
        .objects_with_labels(&format!(
            "landscape.dev/stack={stack},landscape.dev/component=app-b"
        ))
        .await;
    assert!(applied.is_empty(), "{applied:?}");
    let summary = events.last().unwrap();
    assert_eq!(summary["result"], "failed");
}

/// A stack file, values and expected outcome for one kind of bad input.
struct Bad {
    what: &'static str,
    files: Vec<(&'static str, String)>,
    args: Vec<String>,
    code: i32,
    message: Vec<&'static str>,
}

fn good_component(stack: &str) -> String {
    format!(
        "name: {stack}\ncomponents:\n  web:\n    category: delivery\n    namespace: {stack}\n    sources:\n      - templateDir: ./app\n    values:\n      neverReady: false\n"
    )
}

#[tokio::test]
async fn invalid_inputs_exit_with_their_code_and_write_nothing() {
    let tb = testbed();
    let mut cases = Vec::new();
    let s = unique("bad-yaml");
    cases.push((
        s.clone(),
        Bad {
            what: "malformed YAML",
            files: vec![(
                "landscape.yaml",
                format!("name: {s}\ncomponents:\n  web: [unclosed\n"),
            )],
            args: vec![],
            code: 2,
            message: vec!["landscape.yaml:3:"],
        },
    ));
    let s = unique("bad-field");
    cases.push((
        s.clone(),
        Bad {
            what: "unknown field",
            files: vec![(
                "landscape.yaml",
                good_component(&s).replace(
                    "    category: delivery\n",
                    "    category: delivery\n    replicas: 3\n",
                ),
            )],
            args: vec![],
            code: 2,
            message: vec!["landscape.yaml:5:5", "unknown field `replicas`"],
        },
    ));
    let s = unique("bad-cycle");
    cases.push((s.clone(), Bad {
        what: "cycle",
        files: vec![("landscape.yaml", format!(
            "name: {s}\ncomponents:\n  a: {{category: delivery, needs: [b], sources: [{{templateDir: ./app}}], values: {{neverReady: false}}}}\n  b: {{category: delivery, needs: [c], sources: [{{templateDir: ./app}}], values: {{neverReady: false}}}}\n  c: {{category: delivery, needs: [a], sources: [{{templateDir: ./app}}], values: {{neverReady: false}}}}\n"
        ))],
        args: vec![],
        code: 2,
        message: vec!["dependency cycle: a -> b -> c -> a"],
    }));
    let s = unique("bad-need");
    cases.push((
        s.clone(),
        Bad {
            what: "unknown component in needs",
            files: vec![(
                "landscape.yaml",
                good_component(&s).replace(
                    "    category: delivery\n",
                    "    category: delivery\n    needs: [databse]\n",
                ),
            )],
            args: vec![],
            code: 2,
            message: vec![
                "landscape.yaml:5:13",
                "needs `databse`, which is not in the stack",
            ],
        },
    ));
    let s = unique("bad-template");
    cases.push((s.clone(), Bad {
        what: "template error",
        files: vec![
            ("landscape.yaml", good_component(&s)),
            ("app/extra.yaml.hbs", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  port: \"{{values.port}}\"\n".into()),
        ],
        args: vec![],
        code: 2,
        message: vec!["extra.yaml.hbs:6:", "`values.port` is not defined", "--set web.port"],
    }));
    let s = unique("bad-url");
    cases.push((s.clone(), Bad {
        what: "404 URL",
        files: vec![("landscape.yaml", good_component(&s).replace(
            "      - templateDir: ./app\n",
            "      - templateDir: ./app\n      - url: https://example.invalid/releases/v9.9.9/missing.yaml\n",
        ))],
        args: vec![],
        code: 5,
        message: vec!["https://example.invalid/releases/v9.9.9/missing.yaml", "HTTP 404"],
    }));
    let s = unique("bad-cluster");
    cases.push((s.clone(), Bad {
        what: "unreachable cluster",
        files: vec![
            ("landscape.yaml", good_component(&s)),
            ("dead-kubeconfig", "apiVersion: v1\nkind: Config\nclusters: [{name: dead, cluster: {server: \"https://127.0.0.1:1\", insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: dead, context: {cluster: dead, user: u}}]\ncurrent-context: dead\n".into()),
        ],
        args: vec!["--kubeconfig".into(), "dead-kubeconfig".into()],
        code: 4,
        message: vec!["cannot reach the cluster at https://127.0.0.1:1"],
    }));
    let s = unique("bad-missing");
    cases.push((s.clone(), Bad {
        what: "missing required value, and an unreachable cluster: the input error comes first",
        files: vec![
            ("landscape.yaml", good_component(&s).replace(
                "    category: delivery\n",
                "    category: delivery\n    required:\n      - {path: storage.bucket, description: the bucket}\n",
            )),
            ("dead-kubeconfig", "apiVersion: v1\nkind: Config\nclusters: [{name: dead, cluster: {server: \"https://127.0.0.1:1\", insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: dead, context: {cluster: dead, user: u}}]\ncurrent-context: dead\n".into()),
        ],
        args: vec!["--kubeconfig".into(), "dead-kubeconfig".into()],
        code: 2,
        message: vec!["missing required values: web.storage.bucket (the bucket)"],
    }));

    for (stack, case) in cases {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "app/deployment.yaml.hbs", HEALTHY_DEPLOYMENT);
        for (name, text) in &case.files {
            write(dir.path(), name, text);
        }
        let mut cmd = tb.landscape();
        cmd.current_dir(dir.path()).arg("up").args(&case.args);
        let out: Run = tokio::task::spawn_blocking(move || run(cmd)).await.unwrap();
        assert_eq!(out.code, case.code, "{}: {out:?}", case.what);
        let line = out
            .stderr
            .lines()
            .find(|l| l.starts_with("error: "))
            .unwrap_or_else(|| panic!("{}: no error line: {out:?}", case.what));
        for m in &case.message {
            assert!(line.contains(m), "{}: `{m}` not in `{line}`", case.what);
        }
        assert_eq!(
            out.stderr
                .lines()
                .filter(|l| l.starts_with("error"))
                .count(),
            1,
            "{}: one error line",
            case.what
        );
        let created = tb
            .objects_with_labels(&format!("landscape.dev/stack={stack}"))
            .await;
        assert!(
            created.is_empty(),
            "{}: objects were created: {created:?}",
            case.what
        );
        let ns = tb.kubectl(&["get", "namespace", &stack]);
        assert!(
            !ns.status.success(),
            "{}: namespace {stack} was created",
            case.what
        );
    }
}

#[tokio::test]
async fn a_timed_out_gate_reports_the_warning_events_behind_it() {
    let tb = testbed();
    let stack = unique("quota");
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "app/deployment.yaml.hbs", HEALTHY_DEPLOYMENT);
    // No pod may be created in this namespace: the ReplicaSet's attempts are rejected,
    // and the cluster says so in Warning events.
    write(
        dir.path(),
        "app/quota.yaml",
        "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: no-pods\nspec:\n  hard:\n    pods: \"0\"\n",
    );
    write(
        dir.path(),
        "landscape.yaml",
        &format!(
            "name: {stack}\ncomponents:\n{}",
            chain_component("web", &stack, &[], false, "12s")
        ),
    );
    let mut cmd = tb.landscape();
    cmd.current_dir(dir.path()).args(["up", "-o", "json"]);
    let out = tokio::task::spawn_blocking(move || run(cmd)).await.unwrap();
    assert_eq!(out.code, 3, "{out:?}");
    let events = out.events();
    let failed = &events[position(&events, "failed", "web")];
    let deployment = failed["not_ready"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["object"]["kind"] == "Deployment")
        .unwrap();
    assert_eq!(deployment["reason"], "0/2 replicas created");
    let warnings: Vec<&str> = deployment["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("FailedCreate") && w.contains("exceeded quota")),
        "{warnings:?}"
    );
}
