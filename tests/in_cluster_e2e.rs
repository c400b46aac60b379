//! landscape in a cluster's own pipelines. As a Job: with no kubeconfig, it uses the pod's
//! service account — the address from `KUBERNETES_SERVICE_HOST`/`_PORT`, the token and CA
//! from /var/run/secrets/kubernetes.io/serviceaccount (the test plays the pod: a private
//! mount namespace gets its own /run with a real service-account token in that place).
//! After a job's own `kubectl apply`: `landscape wait` gates the objects as `up` would.

mod support;

use std::path::Path;
use std::process::Command;

use support::{Testbed, testbed, unique};

/// The API server's address from the kubeconfig: (host, port).
fn server(tb: &Testbed) -> (String, String) {
    let text = std::fs::read_to_string(&tb.kubeconfig).unwrap();
    let url = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .expect("a server in the kubeconfig");
    let hostport = url.trim_start_matches("https://");
    let (host, port) = hostport.rsplit_once(':').unwrap();
    (host.to_string(), port.to_string())
}

/// Runs landscape `args` as the service account `sa` of `ns` would in a pod: no kubeconfig,
/// no home, the token mounted where Kubernetes mounts it.
fn as_pod(tb: &Testbed, ns: &str, sa: &str, dir: &Path, args: &[&str]) -> support::Run {
    let token = tb.kubectl(&["create", "token", sa, "-n", ns]);
    assert!(token.status.success(), "{token:?}");
    let secrets = dir.join("serviceaccount");
    std::fs::create_dir_all(&secrets).unwrap();
    std::fs::write(secrets.join("token"), &token.stdout).unwrap();
    std::fs::copy(tb.state_dir.join("pki/ca.crt"), secrets.join("ca.crt")).unwrap();
    std::fs::write(secrets.join("namespace"), ns).unwrap();
    let (host, port) = server(tb);
    // /var/run is /run on most systems: mount a private tmpfs on whichever it is.
    let script = r#"set -e
run=$(readlink -f /var/run)
mount -t tmpfs tmpfs "$run"
mkdir -p "$run/secrets/kubernetes.io"
cp -r "$SECRETS" "$run/secrets/kubernetes.io/serviceaccount"
exec "$LANDSCAPE" "$@""#;
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "--propagation", "private", "sh", "-c", script, "sh"])
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("NO_COLOR", "1")
        .env("SECRETS", &secrets)
        .env("LANDSCAPE", env!("CARGO_BIN_EXE_landscape"))
        .env("LANDSCAPE_CACHE_DIR", dir.join("cache"))
        .env("KUBERNETES_SERVICE_HOST", host)
        .env("KUBERNETES_SERVICE_PORT", port);
    support::run(cmd)
}

#[test]
fn with_no_kubeconfig_landscape_runs_as_the_pods_service_account() {
    let tb = testbed();
    let name = unique("incluster");
    let dir = tempfile::tempdir().unwrap();
    assert!(tb.kubectl(&["create", "namespace", &name]).status.success());
    assert!(
        tb.kubectl(&["create", "serviceaccount", "landscape", "-n", &name])
            .status
            .success()
    );
    std::fs::create_dir_all(dir.path().join("app")).unwrap();
    std::fs::write(
        dir.path().join("app/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("landscape.yaml"),
        format!("name: {name}\ncomponents:\n  app:\n    category: delivery\n    namespace: {name}-app\n    sources: [{{templateDir: ./app}}]\n"),
    )
    .unwrap();

    // Before it is bound to a role, the API server names who is asking: the service
    // account, so the in-cluster configuration was used.
    let denied = as_pod(
        tb,
        &name,
        "landscape",
        dir.path(),
        &["status", "--installed", &name],
    );
    assert_eq!(denied.code, 4, "{denied:?}");
    assert!(
        denied
            .stderr
            .contains(&format!("system:serviceaccount:{name}:landscape")),
        "{denied:?}"
    );

    // Bound as docs/ci-guide.md says, it installs the stack.
    assert!(
        tb.kubectl(&[
            "create",
            "clusterrolebinding",
            &name,
            "--clusterrole=cluster-admin",
            &format!("--serviceaccount={name}:landscape"),
        ])
        .status
        .success()
    );
    let up = as_pod(tb, &name, "landscape", dir.path(), &["up"]);
    assert_eq!(up.code, 0, "{up:?}");
    let cm = tb.kubectl(&["get", "configmap", "settings", "-n", &format!("{name}-app")]);
    assert!(cm.status.success(), "{cm:?}");
    let status = as_pod(
        tb,
        &name,
        "landscape",
        dir.path(),
        &["status", "--installed", &name],
    );
    assert_eq!(status.code, 0, "{status:?}");
}

/// A Deployment of `replicas`, its pods labelled never-ready when asked.
fn deployment(name: &str, ns: &str, never_ready: bool) -> String {
    let label = if never_ready {
        ", testbed.landscape.dev/never-ready: \"true\""
    } else {
        ""
    };
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  replicas: 2\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}{label}}}}}\n    spec: {{containers: [{{name: c, image: registry.example/{name}:1}}]}}\n"
    )
}

#[test]
fn wait_gates_any_manifest_after_kubectl_apply() {
    let tb = testbed();
    let ns = unique("wait");
    let dir = tempfile::tempdir().unwrap();
    assert!(tb.kubectl(&["create", "namespace", &ns]).status.success());
    let good = dir.path().join("good.yaml");
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&good, deployment("web", &ns, false)).unwrap();
    std::fs::write(&bad, deployment("stuck", &ns, true)).unwrap();
    for f in [&good, &bad] {
        let applied = tb.kubectl(&["apply", "-f", f.to_str().unwrap()]);
        assert!(applied.status.success(), "{applied:?}");
    }
    let wait = |file: &Path, timeout: &str, json: bool| {
        let mut cmd = tb.landscape();
        cmd.args(["wait", "-f"])
            .arg(file)
            .args(["--timeout", timeout]);
        if json {
            cmd.args(["-o", "json"]);
        }
        support::run(cmd)
    };
    let ok = wait(&good, "2m", false);
    assert_eq!(ok.code, 0, "{ok:?}");
    let stuck = wait(&bad, "5s", false);
    assert_eq!(stuck.code, 3, "{stuck:?}");
    assert!(
        stuck
            .stderr
            .contains(&format!("not ready: Deployment.apps {ns}/stuck"))
            && stuck.stderr.contains("pod stuck-"),
        "the gate's diagnostics, pods named: {stuck:?}"
    );
    let json = wait(&bad, "3s", true);
    assert_eq!(json.code, 3);
    let last: serde_json::Value =
        serde_json::from_str(json.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "failed");
    assert_eq!(last["not_ready"][0]["object"]["name"], "stuck");
    // The same files, assessed offline as written (no status): not ready.
    let mut cmd = tb.landscape();
    cmd.args(["check", "-f"]).arg(&good);
    assert_eq!(support::run(cmd).code, 3);
}
