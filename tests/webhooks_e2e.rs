//! Admission webhooks, with the API server's webhook plugins switched on: a webhook is
//! gated on being usable, and requests a broken webhook rejects are retried until the
//! timeout and then reported. The API server's call to the webhook's ClusterIP fails at
//! once inside the loopback-only namespace: nothing leaves the machine.

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use support::{run, testbed_with, unique};

fn testbed() -> &'static support::Testbed {
    testbed_with(&["--webhooks"])
}

/// A webhook guarding ConfigMaps in namespaces labelled `guarded=<stack>`, served by a
/// Deployment (when `backend`) behind a Service.
fn guard(stack: &str, backend: bool) -> String {
    // A real CA (the control plane's own), so the API server goes as far as dialling.
    let ca = std::fs::read(testbed().state_dir.join("pki/ca.crt")).expect("the testbed CA");
    let ca = landscape::k8s::base64::encode(&ca);
    let deployment = if backend {
        "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: guard\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: guard}}\n  template:\n    metadata: {labels: {app: guard}}\n    spec: {containers: [{name: guard, image: registry.example/guard:1.0}]}\n"
            .to_string()
    } else {
        String::new()
    };
    format!(
        r#"apiVersion: v1
kind: Service
metadata:
  name: guard
spec:
  selector: {{app: guard}}
  ports: [{{port: 443, targetPort: 8443}}]
{deployment}---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: guard-{stack}
webhooks:
  - name: guard.{stack}.landscape.test
    admissionReviewVersions: [v1]
    sideEffects: None
    failurePolicy: Fail
    timeoutSeconds: 2
    namespaceSelector:
      matchLabels: {{guarded: "{stack}"}}
    rules:
      - apiGroups: [""]
        apiVersions: [v1]
        operations: [CREATE, UPDATE]
        resources: [configmaps]
    clientConfig:
      caBundle: {ca}
      service: {{namespace: {stack}-guard, name: guard, path: /validate}}
"#
    )
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

async fn up(dir: &Path) -> support::Run {
    let mut cmd = testbed().landscape();
    cmd.current_dir(dir).args(["up", "-o", "json"]);
    tokio::task::spawn_blocking(move || run(cmd)).await.unwrap()
}

fn failed(events: &[Value], component: &str) -> Value {
    events
        .iter()
        .find(|e| e["event"] == "failed" && e["component"] == component)
        .unwrap_or_else(|| panic!("no failed event for {component}"))
        .clone()
}

#[tokio::test]
async fn a_webhook_without_ready_endpoints_is_not_healthy() {
    let stack = unique("nohook");
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "guard/guard.yaml", &guard(&stack, false));
    write(
        dir.path(),
        "landscape.yaml",
        &format!(
            "name: {stack}\ncomponents:\n  guard:\n    category: security\n    namespace: {stack}-guard\n    timeout: 8s\n    sources: [{{file: guard/guard.yaml}}]\n"
        ),
    );
    let out = up(dir.path()).await;
    assert_eq!(out.code, 3, "{out:?}");
    let f = failed(&out.events(), "guard");
    let webhook = f["not_ready"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["object"]["kind"] == "ValidatingWebhookConfiguration")
        .expect("the webhook configuration is named");
    assert_eq!(
        webhook["reason"],
        format!(
            "webhook guard.{stack}.landscape.test: service {stack}-guard/guard has no ready endpoints"
        )
    );
}

#[tokio::test]
async fn requests_a_failing_webhook_rejects_are_retried_then_reported() {
    let stack = unique("hook");
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "guard/guard.yaml", &guard(&stack, true));
    write(
        dir.path(),
        "victim/victim.yaml",
        &format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {stack}-victim\n  labels: {{guarded: \"{stack}\"}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: {stack}-victim\ndata: {{a: \"1\"}}\n"
        ),
    );
    write(
        dir.path(),
        "landscape.yaml",
        &format!(
            "name: {stack}\ncomponents:\n  guard:\n    category: security\n    namespace: {stack}-guard\n    timeout: 1m\n    sources: [{{file: guard/guard.yaml}}]\n  victim:\n    category: delivery\n    namespace: {stack}-victim\n    needs: [guard]\n    timeout: 10s\n    sources: [{{file: victim/victim.yaml}}]\n"
        ),
    );
    let started = std::time::Instant::now();
    let out = up(dir.path()).await;
    assert_eq!(out.code, 4, "{out:?}");
    let events = out.events();
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "healthy" && e["component"] == "guard"),
        "the webhook itself became usable: {out:?}"
    );
    let f = failed(&events, "victim");
    assert_eq!(f["class"], "api");
    let error = f["error"].as_str().unwrap();
    assert!(
        error.contains("failed calling webhook")
            && error.contains(&format!("guard.{stack}.landscape.test")),
        "{error}"
    );
    // The API server dialled the webhook's pod address (the testbed routes to endpoints),
    // where nothing listens: refused at once, inside the loopback-only namespace.
    assert!(error.contains("connection refused"), "{error}");
    // Retried until the component's timeout (10s), not given up at the first error.
    assert!(f["duration_ms"].as_u64().unwrap() >= 5000, "{f}");
    assert!(started.elapsed().as_secs() < 60);
}

/// Gatekeeper itself (tests/testbed/operators.py) behind its own webhook configuration: the
/// API server calls the real webhook on its pod's address, and the constraint landscape
/// installed refuses what it forbids. On a control plane of its own, since the constraint
/// applies to every new namespace.
#[tokio::test]
async fn gatekeepers_real_webhook_refuses_what_its_constraint_forbids() {
    let tb = support::start_named(&unique("gk-webhook"), &["--webhooks"]);
    let _gatekeeper = support::operators::run(&tb, &["gatekeeper"]);
    let stack = unique("gk");
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "landscape.yaml",
        &format!("name: {stack}\ncomponents:\n  gatekeeper: {{}}\n  gatekeeper-policies: {{}}\n"),
    );
    let mut cmd = tb.landscape();
    cmd.current_dir(dir.path())
        .args(["up", "-o", "json", "--timeout", "5m"]);
    let out = tokio::task::spawn_blocking(move || run(cmd)).await.unwrap();
    assert_eq!(out.code, 0, "{out:?}");

    // Gatekeeper's own certificate rotation filled the caBundle landscape's gate waited for.
    let ca = tb.kubectl(&[
        "get",
        "validatingwebhookconfiguration",
        "gatekeeper-validating-webhook-configuration",
        "-o",
        "jsonpath={.webhooks[0].clientConfig.caBundle}",
    ]);
    assert!(!ca.stdout.is_empty(), "{ca:?}");

    // kwok reports the pods Ready at once, before the webhook server in the process
    // listens (a kubelet would wait for the readiness probe): give it that moment.
    let unlabelled = format!("{stack}-unlabelled");
    let stderr = support::eventually(Duration::from_secs(60), "Gatekeeper answering", || {
        let out = tb.kubectl(&["create", "namespace", &unlabelled]);
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        let answered = !out.status.success() && stderr.contains("denied the request");
        async move { answered.then_some(stderr) }
    })
    .await;
    assert!(
        stderr.contains("validation.gatekeeper.sh") && stderr.contains("you must provide labels"),
        "{stderr}"
    );
    let labelled = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {stack}-labelled\n  labels: {{owner: me, team: platform}}\n"
    );
    let path = dir.path().join("ns.yaml");
    std::fs::write(&path, labelled).unwrap();
    support::eventually(
        Duration::from_secs(60),
        "a labelled namespace admitted",
        || {
            let ok = tb
                .kubectl(&["apply", "-f", path.to_str().unwrap()])
                .status
                .success();
            async move { ok.then_some(()) }
        },
    )
    .await;
}
