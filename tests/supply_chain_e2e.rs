//! Charts, the lock, bundles and images, end to end. This binary's control plane runs
//! without the HTTP mirror: every artifact comes from directories, so a passing install
//! proves no network was needed.

mod support;

use std::path::Path;

use serde_json::Value;

use support::operators;
use support::{BACKUP_VALUES, Run, run, testbed_with, unique, upstream_dir};

fn testbed() -> &'static support::Testbed {
    testbed_with(&["--no-mirror"])
}

fn stack_file(dir: &Path, name: &str) {
    std::fs::write(
        dir.join("landscape.yaml"),
        format!("name: {name}\nextends: small\n"),
    )
    .unwrap();
}

/// Copies a directory tree (the mirror, to tamper with it).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

async fn landscape(dir: &Path, cache: &Path, args: Vec<String>) -> Run {
    let mut cmd = testbed().landscape();
    cmd.current_dir(dir)
        .env("LANDSCAPE_CACHE_DIR", cache)
        .env_remove("LANDSCAPE_MIRROR")
        .args(args);
    tokio::task::spawn_blocking(move || run(cmd)).await.unwrap()
}

fn args(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn small_profile_installs_from_a_bundle_directory_playing_prometheus_operator_kyverno_and_velero()
 {
    let tb = testbed();
    assert!(
        tb.mirror.is_none(),
        "this binary's control plane has no HTTP mirror"
    );
    let work = tempfile::tempdir().unwrap();
    let bundle = work.path().join("bundle");
    let mirror = upstream_dir();

    let mut a = args(&["bundle", "--profile", "small", "-o"]);
    a.push(bundle.display().to_string());
    a.push("--mirror".into());
    a.push(mirror.display().to_string());
    let out = landscape(work.path(), &work.path().join("cache-1"), a).await;
    assert_eq!(out.code, 0, "{out:?}");
    for file in [
        "github.com/flannel-io/flannel/releases/download/v0.28.9/kube-flannel.yml",
        "prometheus-community.github.io/helm-charts/index.yaml",
        "github.com/prometheus-community/helm-charts/releases/download/kube-prometheus-stack-88.5.3/kube-prometheus-stack-88.5.3.tgz",
        "github.com/vmware-tanzu/helm-charts/releases/download/velero-12.1.0/velero-12.1.0.tgz",
        "landscape.lock",
        "images.txt",
    ] {
        assert!(bundle.join(file).is_file(), "{file} in the bundle");
    }
    let images = std::fs::read_to_string(bundle.join("images.txt")).unwrap();
    assert!(
        images.lines().any(|l| l.contains("prometheus/prometheus:")),
        "{images}"
    );

    // Install from the bundle alone: a fresh cache, the bundle as a file:// mirror.
    let _stand_in = operators::play(tb, &["prometheus-operator", "kyverno", "velero"]);
    let _metrics = operators::run(tb, &["metrics-server"]);
    let mut a = args(&[
        "up",
        "--profile",
        "small",
        "-o",
        "json",
        "--timeout",
        "8m",
        "--mirror",
    ]);
    a.push(format!("file://{}", bundle.display()));
    a.extend(BACKUP_VALUES.iter().map(|s| s.to_string()));
    let out = landscape(work.path(), &work.path().join("cache-2"), a).await;
    assert_eq!(out.code, 0, "{out:?}");
    let events = out.events();
    let summary = events.last().unwrap();
    assert_eq!(summary["result"], "success");
    assert_eq!(summary["components"].as_array().unwrap().len(), 12);
    assert!(
        summary["components"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["state"] == "healthy")
    );
}

#[tokio::test]
async fn tampering_with_a_mirrored_file_fails_a_locked_up_with_exit_5() {
    let tb = testbed();
    let work = tempfile::tempdir().unwrap();
    let stack = unique("tamper");
    stack_file(work.path(), &stack);

    // Lock against the genuine artifacts.
    let mut a = args(&["lock", "--mirror"]);
    a.push(upstream_dir().display().to_string());
    let out = landscape(work.path(), &work.path().join("cache-1"), a).await;
    assert_eq!(out.code, 0, "{out:?}");
    let lock: Value = landscape::yaml::from_str(
        &std::fs::read_to_string(work.path().join("landscape.lock")).unwrap(),
    )
    .unwrap();
    let chart = lock["charts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "kube-prometheus-stack")
        .unwrap();
    let genuine = chart["digest"].as_str().unwrap().to_string();
    assert_eq!(lock["stack"], stack.as_str());

    // One byte changed in a mirrored chart archive.
    let tampered = work.path().join("tampered");
    copy_tree(&upstream_dir(), &tampered);
    let archive = tampered.join(
        "github.com/prometheus-community/helm-charts/releases/download/kube-prometheus-stack-88.5.3/kube-prometheus-stack-88.5.3.tgz",
    );
    let mut bytes = std::fs::read(&archive).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&archive, bytes).unwrap();

    let mut a = args(&["up", "--locked", "--mirror"]);
    a.push(tampered.display().to_string());
    a.extend(BACKUP_VALUES.iter().map(|s| s.to_string()));
    let out = landscape(work.path(), &work.path().join("cache-2"), a).await;
    assert_eq!(out.code, 5, "{out:?}");
    let error = out
        .stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap();
    assert!(
        error.contains("kube-prometheus-stack-88.5.3.tgz"),
        "{error}"
    );
    assert!(error.contains(&format!("expected {genuine}")), "{error}");
    assert!(error.contains("got "), "{error}");
    assert!(
        tb.objects_with_labels(&format!("landscape.dev/stack={stack}"))
            .await
            .is_empty()
    );

    // An artifact the lock does not know is refused as well.
    std::fs::write(
        work.path().join("landscape.yaml"),
        format!(
            "name: {stack}\nextends: small\ncomponents:\n  extra:\n    category: delivery\n    sources:\n      - url: https://raw.githubusercontent.com/open-policy-agent/gatekeeper/v3.23.0/deploy/gatekeeper.yaml\n"
        ),
    )
    .unwrap();
    let mut a = args(&["render", "--locked", "--mirror"]);
    a.push(upstream_dir().display().to_string());
    a.extend(BACKUP_VALUES.iter().map(|s| s.to_string()));
    let out = landscape(work.path(), &work.path().join("cache-2"), a).await;
    assert_eq!(out.code, 5, "{out:?}");
    assert!(
        out.stderr.contains("gatekeeper.yaml is not in the lock"),
        "{out:?}"
    );
    let out = landscape(
        work.path(),
        &work.path().join("cache-2"),
        args(&["plan", "--locked"]),
    )
    .await;
    assert_eq!(out.code, 5, "{out:?}");
}

#[tokio::test]
async fn missing_backup_values_are_all_named_and_nothing_is_created() {
    let tb = testbed();
    let work = tempfile::tempdir().unwrap();
    let stack = unique("nobackup");
    stack_file(work.path(), &stack);
    let mut a = args(&["up", "--mirror"]);
    a.push(upstream_dir().display().to_string());
    let out = landscape(work.path(), &work.path().join("cache"), a).await;
    assert_eq!(out.code, 2, "{out:?}");
    let error = out
        .stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap();
    for value in [
        "velero.backup.provider",
        "velero.backup.bucket",
        "velero.backup.region",
    ] {
        assert!(error.contains(value), "{value} in {error}");
    }
    assert_eq!(
        out.stderr
            .lines()
            .filter(|l| l.starts_with("error"))
            .count(),
        1
    );
    assert!(
        tb.objects_with_labels(&format!("landscape.dev/stack={stack}"))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn images_lists_the_workload_images_and_relocates_every_one() {
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    let mut a = args(&["images", "--profile", "small", "-o", "json", "--mirror"]);
    a.push(upstream_dir().display().to_string());
    let out = landscape(work.path(), &cache, a.clone()).await;
    assert_eq!(out.code, 0, "{out:?}");
    let list: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
    let kps: Vec<&str> = list
        .iter()
        .filter(|i| {
            i["components"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c == "kube-prometheus-stack")
        })
        .map(|i| i["image"].as_str().unwrap())
        .collect();
    for expected in [
        "quay.io/prometheus-operator/prometheus-operator:",
        "quay.io/prometheus-operator/prometheus-config-reloader:",
        "quay.io/prometheus/prometheus:",
        "quay.io/prometheus/alertmanager:",
        "quay.io/prometheus/node-exporter:",
        "registry.k8s.io/kube-state-metrics/kube-state-metrics:",
        "grafana/grafana:",
    ] {
        assert!(
            kps.iter().any(|i| i.contains(expected)),
            "{expected} in {kps:?}"
        );
    }

    a.extend([
        "--image-registry".to_string(),
        "registry.internal:5000/platform".to_string(),
    ]);
    let out = landscape(work.path(), &cache, a).await;
    assert_eq!(out.code, 0, "{out:?}");
    let relocated: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(relocated.len(), list.len());
    for i in &relocated {
        let image = i["image"].as_str().unwrap();
        assert!(
            image.starts_with("registry.internal:5000/platform/"),
            "{image} not relocated"
        );
    }
}

#[test]
fn a_second_render_does_not_call_helm_again() {
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    let log = work.path().join("helm-calls");
    let wrapper = work.path().join("helm");
    let real = which("helm");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho \"$1\" >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            real.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();

    let render = || {
        let mut cmd = testbed().landscape();
        cmd.current_dir(work.path())
            .env("LANDSCAPE_CACHE_DIR", &cache)
            .env("LANDSCAPE_HELM", &wrapper)
            .args(["render", "--profile", "small", "--mirror"])
            .arg(upstream_dir())
            .args(BACKUP_VALUES);
        run(cmd)
    };
    let first = render();
    assert_eq!(first.code, 0, "{first:?}");
    let templates = |text: &str| text.lines().filter(|l| *l == "template").count();
    let calls = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        templates(&calls),
        5 * 2,
        "5 charts, rendered in two passes (stack CRDs): {calls}"
    );
    let second = render();
    assert_eq!(second.code, 0);
    assert_eq!(
        second
            .stdout
            .lines()
            .filter(|l| l.starts_with("kind:"))
            .count(),
        first
            .stdout
            .lines()
            .filter(|l| l.starts_with("kind:"))
            .count()
    );
    let calls_after = std::fs::read_to_string(&log).unwrap();
    let second_calls = &calls_after[calls.len()..];
    // Renders holding a Secret are never cached (their values would sit on disk in
    // clear): the one chart of the profile that renders one goes through helm again, in
    // both passes; the other four do not start helm at all.
    assert_eq!(
        templates(second_calls),
        2,
        "only the chart rendering a Secret is rendered again: {second_calls}"
    );
    let mut entries = 0;
    for entry in std::fs::read_dir(cache.join("renders")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(
            !text.contains("kind: Secret"),
            "a cached render holds a Secret"
        );
        entries += 1;
    }
    assert!(
        entries >= 4 * 2,
        "the other charts' renders are cached: {entries}"
    );

    // A missing helm is named with the components that need it.
    let mut cmd = testbed().landscape();
    cmd.current_dir(work.path())
        .env("LANDSCAPE_CACHE_DIR", work.path().join("cold"))
        .env("LANDSCAPE_HELM", work.path().join("no-such-helm"))
        .args(["render", "--profile", "small", "--mirror"])
        .arg(upstream_dir())
        .args(BACKUP_VALUES);
    let out = run(cmd);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("helm is needed to render the charts of `metrics-server`, `kube-prometheus-stack`, `loki`, `alloy`, `velero`"), "{out:?}");
}

fn which(program: &str) -> std::path::PathBuf {
    let path = std::env::var_os("PATH").unwrap();
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{program} on PATH"))
}
