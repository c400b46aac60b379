//! A fleet: one stack on two test control planes side by side, with one command.
//!
//! Both planes run in this test's network namespace, each with its own API server, and are
//! named in one kubeconfig (`KUBECONFIG=a:b`), as a platform team's kubeconfig names its
//! regions. The stack has a component of its own and `argocd-clusters`, which the first
//! cluster (the hub) fills with the others.

mod support;

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use support::{Run, Testbed, run, start_named, unique};

/// A stack with a ConfigMap component and the Argo CD cluster registry.
fn write_stack(dir: &Path, stack: &str, extra_object: bool) {
    let app = dir.join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(
        app.join("settings.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  region: '{{values.region}}'\n",
    )
    .unwrap();
    let taken = app.join("taken.yaml");
    if extra_object {
        std::fs::write(
            &taken,
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: taken\ndata:\n  owner: landscape\n",
        )
        .unwrap();
    } else {
        let _ = std::fs::remove_file(&taken);
    }
    std::fs::write(
        dir.join("landscape.yaml"),
        format!(
            "name: {stack}
components:
  app:
    category: delivery
    namespace: {stack}
    sources:
      - templateDir: ./app
    values:
      region: any
    timeout: 2m
  argocd-clusters:       # the built-in component, without the Argo CD it would need
    needs: []
    namespace: {stack}-argocd
"
        ),
    )
    .unwrap();
}

/// landscape in `dir`, with both planes in its kubeconfig, on both.
fn fleet(a: &Testbed, b: &Testbed, dir: &Path, args: &[&str]) -> Run {
    fleet_of(a, b, dir, args, &[&a.name, &b.name])
}

/// landscape in `dir`, with both planes in its kubeconfig, on the contexts given.
fn fleet_of(a: &Testbed, b: &Testbed, dir: &Path, args: &[&str], contexts: &[&str]) -> Run {
    let mut cmd = a.landscape();
    cmd.env(
        "KUBECONFIG",
        format!("{}:{}", a.kubeconfig.display(), b.kubeconfig.display()),
    )
    .current_dir(dir)
    .args(args);
    for c in contexts {
        cmd.args(["--context", c]);
    }
    run(cmd)
}

fn kubectl(tb: &Testbed, args: &[&str]) -> String {
    let out = tb.kubectl(args);
    assert!(out.status.success(), "kubectl {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `fleet` event: each cluster's exit code, by name.
fn fleet_exits(run: &Run) -> Vec<(String, i64)> {
    let events = run.events();
    let last = events.last().expect("a fleet event");
    assert_eq!(last["event"], "fleet", "{run:?}");
    last["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["cluster"].as_str().unwrap().to_string(),
                c["exit"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn one_command_converges_two_clusters_and_the_worst_exit_code_wins() {
    let a = start_named(&unique("fleet-a"), &[]);
    let b = start_named(&unique("fleet-b"), &[]);
    let dir = tempfile::tempdir().unwrap();
    let stack = unique("fleet");
    write_stack(dir.path(), &stack, false);

    // An unknown member is refused before anything runs.
    let bad = fleet_of(
        &a,
        &b,
        dir.path(),
        &["up", "-o", "json"],
        &[&a.name, "nowhere"],
    );
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(
        bad.stderr.contains("--context nowhere: no such context"),
        "{bad:?}"
    );
    assert!(a.kubectl(&["get", "namespace", &stack]).status.code() != Some(0));

    // diff: one document per cluster, each labelled; both would change.
    let diff = fleet(&a, &b, dir.path(), &["diff", "-o", "json"]);
    assert_eq!(diff.code, 1, "{diff:?}");
    let docs = diff.events();
    for tb in [&a, &b] {
        let doc = docs
            .iter()
            .find(|d| d["cluster"] == tb.name.as_str() && d.get("components").is_some())
            .unwrap_or_else(|| panic!("no diff for {}: {diff:?}", tb.name));
        assert!(doc.to_string().contains("\"settings\""), "{doc}");
    }
    assert_eq!(
        fleet_exits(&diff),
        vec![(a.name.clone(), 1), (b.name.clone(), 1)]
    );

    // up: both converge; every event names its cluster; each has its own summary.
    let up = fleet(&a, &b, dir.path(), &["up", "-o", "json", "--parallel", "2"]);
    assert_eq!(up.code, 0, "{up:?}");
    let events = up.events();
    for e in &events[..events.len() - 1] {
        assert!(
            e["cluster"].is_string(),
            "an event without its cluster: {e}"
        );
    }
    for tb in [&a, &b] {
        assert!(
            events
                .iter()
                .any(|e| e["event"] == "summary" && e["cluster"] == tb.name.as_str()),
            "no summary for {}: {up:?}",
            tb.name
        );
        assert_eq!(
            kubectl(
                tb,
                &[
                    "get",
                    "configmap",
                    "settings",
                    "-n",
                    &stack,
                    "-o",
                    "jsonpath={.data.region}"
                ]
            ),
            "any"
        );
    }
    assert_eq!(
        fleet_exits(&up),
        vec![(a.name.clone(), 0), (b.name.clone(), 0)]
    );

    // The hub's Argo CD knows the other cluster, with the credentials of the kubeconfig;
    // the other cluster registers nobody.
    let ns = format!("{stack}-argocd");
    let secret = format!("cluster-{}", b.name);
    let server = kubectl(
        &a,
        &[
            "get",
            "secret",
            &secret,
            "-n",
            &ns,
            "-o",
            "jsonpath={.data.server}",
        ],
    );
    let server = String::from_utf8(landscape::k8s::base64::decode(&server).unwrap()).unwrap();
    let b_config = std::fs::read_to_string(&b.kubeconfig).unwrap();
    assert!(b_config.contains(&format!("server: {server}")), "{server}");
    let label = kubectl(
        &a,
        &[
            "get",
            "secret",
            &secret,
            "-n",
            &ns,
            "-o",
            "jsonpath={.metadata.labels.argocd\\.argoproj\\.io/secret-type}",
        ],
    );
    assert_eq!(label, "cluster");
    let config = kubectl(
        &a,
        &[
            "get",
            "secret",
            &secret,
            "-n",
            &ns,
            "-o",
            "jsonpath={.data.config}",
        ],
    );
    let config: Value =
        serde_json::from_slice(&landscape::k8s::base64::decode(&config).unwrap()).unwrap();
    let key = std::fs::read(b.state_dir.join("pki/admin.key")).unwrap();
    let key_data = landscape::k8s::base64::encode(&key);
    assert_eq!(config["tlsClientConfig"]["keyData"], key_data.as_str());
    assert!(
        !up.all().contains(&key_data),
        "the member's key was printed"
    );
    let none = kubectl(&b, &["get", "secrets", "-n", &ns, "-o", "name"]);
    assert!(!none.contains("cluster-"), "{none}");

    // status: a block per cluster and a line each in the fleet's table.
    let status = fleet(&a, &b, dir.path(), &["status", "--stack", "landscape.yaml"]);
    assert_eq!(status.code, 0, "{status:?}");
    for tb in [&a, &b] {
        assert!(
            status
                .stdout
                .contains(&format!("== {} (exit 0) ==", tb.name)),
            "{status:?}"
        );
        let line = status
            .stdout
            .lines()
            .find(|l| l.starts_with(tb.name.as_str()))
            .unwrap_or_else(|| panic!("no line for {}: {status:?}", tb.name));
        assert!(line.contains(" ok "), "{line}");
    }

    // One cluster that cannot take the change fails the run; the other still converges.
    let foreign = Command::new("kubectl")
        .env("KUBECONFIG", &b.kubeconfig)
        .args([
            "create",
            "configmap",
            "taken",
            "-n",
            &stack,
            "--from-literal=owner=someone",
        ])
        .output()
        .unwrap();
    assert!(foreign.status.success(), "{foreign:?}");
    write_stack(dir.path(), &stack, true);
    let up = fleet(&a, &b, dir.path(), &["up", "-o", "json"]);
    assert_eq!(up.code, 4, "{up:?}");
    assert_eq!(
        fleet_exits(&up),
        vec![(a.name.clone(), 0), (b.name.clone(), 4)]
    );
    assert_eq!(
        kubectl(
            &a,
            &[
                "get",
                "configmap",
                "taken",
                "-n",
                &stack,
                "-o",
                "jsonpath={.data.owner}"
            ]
        ),
        "landscape"
    );
    assert_eq!(
        kubectl(
            &b,
            &[
                "get",
                "configmap",
                "taken",
                "-n",
                &stack,
                "-o",
                "jsonpath={.data.owner}"
            ]
        ),
        "someone"
    );

    // Text: progress lines carry their cluster, and the table says which one failed.
    let text = fleet(&a, &b, dir.path(), &["up"]);
    assert_eq!(text.code, 4, "{text:?}");
    assert!(
        text.stderr
            .lines()
            .any(|l| l.starts_with(&format!("[{}] ", b.name)) && l.contains("taken")),
        "{text:?}"
    );
    let failed = text
        .stdout
        .lines()
        .find(|l| l.starts_with(b.name.as_str()))
        .unwrap_or_else(|| panic!("no line for {}: {text:?}", b.name));
    assert!(
        failed.contains("cluster error") && failed.contains(" 4 "),
        "{failed}"
    );
}
