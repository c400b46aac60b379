//! The command line without a cluster: help, profiles, plan, render, and input errors.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn landscape(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_landscape"));
    cmd.current_dir(dir)
        .env_remove("LANDSCAPE_MIRROR")
        .env_remove("LANDSCAPE_PROFILE")
        .env("LANDSCAPE_CACHE_DIR", dir.join(".cache"))
        .env("NO_COLOR", "1");
    cmd
}

const BACKUP: [&str; 6] = [
    "--set",
    "velero.backup.provider=aws",
    "--set",
    "velero.backup.bucket=b",
    "--set",
    "velero.backup.region=r",
];

fn upstream() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/upstream")
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(cmd: &mut Command) -> Out {
    let o = cmd.output().unwrap();
    Out {
        code: o.status.code().unwrap(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

#[test]
fn help_and_version() {
    let dir = tempfile::tempdir().unwrap();
    let help = run(landscape(dir.path()).arg("--help"));
    assert_eq!(help.code, 0);
    for cmd in ["profiles", "plan", "render", "up"] {
        assert!(help.stdout.contains(cmd), "{cmd} in help");
    }
    assert!(help.stdout.contains("Exit codes"));
    let version = run(landscape(dir.path()).arg("--version"));
    assert_eq!(
        version.stdout.trim(),
        format!("landscape {}", env!("CARGO_PKG_VERSION"))
    );
    let bad = run(landscape(dir.path()).arg("frobnicate"));
    assert_eq!(bad.code, 2);
}

#[test]
fn profiles_list_and_show() {
    let dir = tempfile::tempdir().unwrap();
    let list = run(landscape(dir.path()).args(["profiles", "-o", "json"]));
    assert_eq!(list.code, 0, "{}", list.stderr);
    let v: Value = serde_json::from_str(&list.stdout).unwrap();
    assert_eq!(v[0]["name"], "small");
    let show = run(landscape(dir.path()).args(["profiles", "show", "small", "-o", "json"]));
    let v: Value = serde_json::from_str(&show.stdout).unwrap();
    assert_eq!(v["categories"]["networking"][0]["name"], "flannel");
    assert_eq!(v["categories"]["networking"][0]["version"], "v0.28.9");
    let text = run(landscape(dir.path()).args(["profiles", "show", "small"]));
    assert!(text.stdout.contains("networking") && text.stdout.contains("flannel"));
    // Each profile says what it guarantees and what it leaves to its user; small says
    // it is single-replica.
    for profile in ["small", "medium", "large"] {
        let show = run(landscape(dir.path()).args(["profiles", "show", profile, "-o", "json"]));
        let v: Value = serde_json::from_str(&show.stdout).unwrap();
        for key in ["guarantees", "leavesToYou"] {
            assert!(
                !v["promises"][key].as_array().unwrap().is_empty(),
                "{profile} {key}"
            );
        }
    }
    assert!(
        text.stdout.contains("What it guarantees")
            && text.stdout.contains("one replica of everything"),
        "{}",
        text.stdout
    );
    let unknown = run(landscape(dir.path()).args(["profiles", "show", "smal"]));
    assert_eq!(unknown.code, 2);
    assert!(
        unknown.stderr.contains("did you mean `small`"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn plan_json_has_order_needs_and_critical_path() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(landscape(dir.path()).args(["plan", "--profile", "small", "-o", "json"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let comps = v["components"].as_array().unwrap();
    assert_eq!(comps[0]["name"], "flannel");
    assert_eq!(comps[0]["order"], 1);
    let loki = comps.iter().find(|c| c["name"] == "loki").unwrap();
    assert_eq!(
        loki["needs"],
        serde_json::json!(["flannel", "kube-prometheus-stack"])
    );
    assert_eq!(loki["implicit_needs"], serde_json::json!(["flannel"]));
    assert_eq!(
        v["critical_path"],
        serde_json::json!(["flannel", "kube-prometheus-stack", "loki", "alloy"])
    );
}

#[test]
fn no_stack_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(landscape(dir.path()).arg("plan"));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.starts_with("error: no stack given"),
        "{}",
        out.stderr
    );
}

#[test]
fn typos_in_values_files_and_set_are_located() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("values.yaml"),
        "kyverno-policies:\n  validationFailureAction: Audit\n  excludeNamespace: [legacy]\n",
    )
    .unwrap();
    let out = run(landscape(dir.path()).args(["plan", "--profile", "small", "-f", "values.yaml"]));
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr.trim(),
        "error: values.yaml:3:3: unknown value `kyverno-policies.excludeNamespace` (hint: did you mean `excludeNamespaces`?; raw Helm values go under `kyverno-policies.chart`)"
    );
    std::fs::write(dir.path().join("values.yaml"), "kyvern-policies: {}\n").unwrap();
    let out = run(landscape(dir.path()).args(["plan", "--profile", "small", "-f", "values.yaml"]));
    assert!(out.stderr.contains("values.yaml:1:1: unknown component `kyvern-policies` (hint: did you mean `kyverno-policies`?)"), "{}", out.stderr);
    let out = run(landscape(dir.path()).args([
        "plan",
        "--profile",
        "small",
        "--set",
        "argocd.replicas=2",
    ]));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("--set argocd.replicas: unknown value `argocd.replicas`"),
        "{}",
        out.stderr
    );
    // The key is named, never the value: a value may be a secret.
    assert!(!out.stderr.contains("=2"), "{}", out.stderr);
}

#[test]
fn render_fills_namespaces_labels_and_relocates_images() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = upstream();
    let out = run(landscape(dir.path())
        .args([
            "render",
            "--profile",
            "small",
            "-o",
            "json",
            "--image-registry",
            "registry.local/mirror",
        ])
        .args(BACKUP)
        .arg("--mirror")
        .arg(&mirror));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let argocd = v
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["component"] == "argocd")
        .unwrap();
    let objects = argocd["objects"].as_array().unwrap();
    let server = objects
        .iter()
        .find(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == "argocd-server")
        .unwrap();
    assert_eq!(
        server["metadata"]["namespace"], "argocd",
        "namespace filled in"
    );
    assert_eq!(server["metadata"]["labels"]["landscape.dev/stack"], "small");
    let image = server["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap();
    assert!(
        image.starts_with("registry.local/mirror/argoproj/argocd:"),
        "{image}"
    );
    let ns = &objects[0];
    assert_eq!(
        (ns["kind"].as_str(), ns["metadata"]["name"].as_str()),
        (Some("Namespace"), Some("argocd"))
    );
    // Cluster-scoped objects have no namespace.
    let crd = objects
        .iter()
        .find(|o| o["kind"] == "CustomResourceDefinition")
        .unwrap();
    assert!(crd["metadata"].get("namespace").is_none());
    // Chart objects land in the component's namespace and carry the same labels.
    let kps = v
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["component"] == "kube-prometheus-stack")
        .unwrap();
    let operator = kps["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| {
            o["kind"] == "Deployment" && o["metadata"]["name"] == "kube-prometheus-stack-operator"
        })
        .unwrap();
    assert_eq!(operator["metadata"]["namespace"], "monitoring");
    assert_eq!(
        operator["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "landscape"
    );
}

#[test]
fn render_to_a_folder_per_component_round_trips_through_yaml() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(landscape(dir.path())
        .args(["render", "--profile", "small", "--out", "rendered"])
        .args(BACKUP)
        .arg("--mirror")
        .arg(upstream()));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let folder = dir.path().join("rendered/kyverno-policies");
    let mut files: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 3);
    let text = std::fs::read_to_string(&files[0]).unwrap();
    let obj: Value = landscape::yaml::from_str(&text).unwrap();
    assert_eq!(obj["kind"], "ClusterPolicy");
    let excluded = obj
        .pointer("/spec/rules/0/exclude/any/0/resources/namespaces")
        .unwrap();
    for ns in [
        "kube-system",
        "kyverno",
        "argocd",
        "monitoring",
        "kube-flannel",
        "trivy-system",
    ] {
        assert!(
            excluded.as_array().unwrap().iter().any(|n| n == ns),
            "{ns} excluded"
        );
    }
    assert!(
        !excluded.as_array().unwrap().iter().any(|n| n == "default"),
        "user workloads in default are checked"
    );
}

#[test]
fn docs_profiles_md_matches_the_profiles() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(landscape(dir.path()).args(["profiles", "markdown"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/profiles.md"))
            .unwrap();
    assert!(
        doc == out.stdout,
        "docs/profiles.md is out of date: run `landscape profiles markdown > docs/profiles.md`"
    );
}

#[test]
fn plan_for_large_shows_the_whole_graph_and_its_critical_path() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(landscape(dir.path()).args(["plan", "--profile", "large", "-o", "json"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let comps = v["components"].as_array().unwrap();
    assert_eq!(comps.len(), 30);
    assert_eq!(comps[0]["name"], "cilium", "the CNI first");
    // Every component comes after everything it needs.
    let order: std::collections::BTreeMap<&str, u64> = comps
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["order"].as_u64().unwrap()))
        .collect();
    for c in comps {
        for n in c["needs"].as_array().unwrap() {
            assert!(
                order[n.as_str().unwrap()] < order[c["name"].as_str().unwrap()],
                "{c}"
            );
        }
    }
    let linkerd = comps.iter().find(|c| c["name"] == "linkerd").unwrap();
    assert_eq!(
        linkerd["needs"],
        serde_json::json!([
            "cert-manager",
            "cilium",
            "kube-prometheus-stack",
            "linkerd-crds",
            "linkerd-identity"
        ])
    );
    assert_eq!(
        v["critical_path"],
        serde_json::json!([
            "cilium",
            "thanos-objstore",
            "kube-prometheus-stack",
            "cert-manager",
            "linkerd-identity",
            "linkerd",
            "velero"
        ])
    );
    let text = run(landscape(dir.path()).args(["plan", "--profile", "large"]));
    assert!(text.stdout.contains("Critical path: cilium -> thanos-objstore -> kube-prometheus-stack -> cert-manager -> linkerd-identity -> linkerd -> velero"));
}

/// Every object of a profile, rendered with the demo's values (tests/testbed/demo).
fn render_demo(profile: &str) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let values =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/testbed/demo/{profile}.yaml"));
    let out = run(landscape(dir.path())
        .args(["render", "--profile", profile, "-o", "json", "-f"])
        .arg(&values)
        .arg("--mirror")
        .arg(upstream()));
    assert_eq!(out.code, 0, "{profile}: {}", out.stderr);
    let rendered: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
    rendered
        .into_iter()
        .flat_map(|mut c| match c["objects"].take() {
            Value::Array(objects) => objects,
            _ => Vec::new(),
        })
        .collect()
}

/// Whether a pod spec needs more than the `baseline` Pod Security level allows: host
/// namespaces, host paths or ports, privileged containers, or capabilities baseline lacks.
fn needs_host_access(pod: &Value) -> bool {
    const BASELINE_CAPS: &[&str] = &[
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    ];
    if ["hostNetwork", "hostPID", "hostIPC"]
        .iter()
        .any(|k| pod[k] == true)
    {
        return true;
    }
    let volumes = pod["volumes"].as_array().into_iter().flatten();
    if volumes.into_iter().any(|v| v.get("hostPath").is_some()) {
        return true;
    }
    let containers = ["containers", "initContainers"]
        .iter()
        .flat_map(|k| pod[k].as_array().into_iter().flatten());
    containers.into_iter().any(|c| {
        let sc = &c["securityContext"];
        sc["privileged"] == true
            || c["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p.get("hostPort").is_some())
            || sc["capabilities"]["add"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|cap| !BASELINE_CAPS.contains(&cap.as_str().unwrap_or_default()))
    })
}

/// The object of `kind` named `name` in a render.
fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in the render"))
}

/// A `http://host:port` address names a Service the render has (`name.namespace.svc…`).
fn names_a_rendered_service(objects: &[Value], url: &str) {
    let host = url.trim_start_matches("http://").split(':').next().unwrap();
    let mut parts = host.split('.');
    let (name, ns) = (parts.next().unwrap(), parts.next().unwrap());
    assert!(
        objects.iter().any(|o| o["kind"] == "Service"
            && o["metadata"]["name"] == name
            && o["metadata"]["namespace"] == ns),
        "{url} names no rendered Service"
    );
}

#[test]
fn medium_and_large_keep_their_production_promises_in_what_they_render() {
    for profile in ["medium", "large"] {
        let objects = render_demo(profile);
        // Falco's alerts go to Alertmanager and Loki, through a ConfigMap (no Secret whose
        // every word would be masked), at addresses of Services the stack runs.
        assert!(
            !objects
                .iter()
                .any(|o| o["kind"] == "Secret" && o["metadata"]["name"] == "falco-falcosidekick"),
            "{profile}"
        );
        let config = &find(&objects, "ConfigMap", "falcosidekick-config")["data"];
        for key in ["ALERTMANAGER_HOSTPORT", "LOKI_HOSTPORT"] {
            names_a_rendered_service(&objects, config[key].as_str().unwrap());
        }
        let sidekick = find(&objects, "Deployment", "falco-falcosidekick");
        assert_eq!(
            sidekick["spec"]["template"]["spec"]["containers"][0]["envFrom"][0]["configMapRef"]["name"],
            "falcosidekick-config"
        );
        // Unsigned images of the platform's own namespaces are reported, never refused.
        let policy = find(&objects, "ClusterPolicy", "platform-images-signed");
        let rule = &policy["spec"]["rules"][0];
        assert_eq!(rule["verifyImages"][0]["failureAction"], "Audit");
        let namespaces = rule["match"]["any"][0]["resources"]["namespaces"]
            .as_array()
            .unwrap();
        assert!(namespaces.contains(&Value::from("argocd")), "{profile}");
        assert!(
            !namespaces.contains(&Value::from("kube-public")),
            "{profile}"
        );
        // The resource metrics API, replicated, with a budget.
        let api = find(&objects, "APIService", "v1beta1.metrics.k8s.io");
        assert_eq!(api["spec"]["service"]["name"], "metrics-server");
        assert_eq!(
            find(&objects, "Deployment", "metrics-server")["spec"]["replicas"],
            2
        );
        find(&objects, "PodDisruptionBudget", "metrics-server");
        let grafana = find(&objects, "Deployment", "kube-prometheus-stack-grafana");
        assert_eq!(grafana["spec"]["replicas"], 2, "{profile}");
        let alertmanager = find(
            &objects,
            "Alertmanager",
            "kube-prometheus-stack-alertmanager",
        );
        assert_eq!(alertmanager["spec"]["replicas"], 3, "{profile}");
        find(
            &objects,
            "PodDisruptionBudget",
            "kube-prometheus-stack-alertmanager",
        );
        find(
            &objects,
            "PodDisruptionBudget",
            "kube-prometheus-stack-prometheus",
        );
    }

    let large = render_demo("large");
    // Loki's scalable mode on the bucket: three of each path.
    for path in ["loki-read", "loki-write", "loki-backend"] {
        let workload = large
            .iter()
            .find(|o| o["metadata"]["name"] == path && o["spec"]["replicas"].is_number())
            .unwrap_or_else(|| panic!("no {path}"));
        assert_eq!(workload["spec"]["replicas"], 3, "{path}");
    }
    let loki = find(&large, "ConfigMap", "loki")["data"]["config.yaml"]
        .as_str()
        .unwrap();
    assert!(loki.contains("bucketnames: landscape-demo-logs"), "{loki}");
    let tempo = find(&large, "ConfigMap", "tempo")["data"]["tempo.yaml"]
        .as_str()
        .unwrap();
    assert!(
        tempo.contains("backend: s3") && tempo.contains("bucket: landscape-demo-traces"),
        "{tempo}"
    );
    // SPIRE's servers share a database; the password comes from a Secret.
    let spire = find(&large, "StatefulSet", "spire-server");
    assert_eq!(spire["spec"]["replicas"], 3);
    let env = spire["spec"]["template"]["spec"]["containers"][0]["env"].to_string();
    assert!(env.contains("spire-database"), "{env}");
    assert_eq!(
        find(&large, "StatefulSet", "thanos-store")["spec"]["replicas"],
        2
    );
    find(&large, "PodDisruptionBudget", "thanos-store");
}

#[test]
fn large_meshes_where_pod_security_allows_and_encrypts_all_traffic_between_nodes() {
    let objects = render_demo("large");
    let meshed: Vec<&Value> = objects
        .iter()
        .filter(|o| o["kind"] == "Namespace")
        .filter(|o| o["metadata"]["annotations"]["linkerd.io/inject"] == "enabled")
        .collect();
    let names: Vec<&str> = meshed
        .iter()
        .map(|n| n["metadata"]["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"velero"), "{names:?}");
    // Linkerd's init container needs NET_ADMIN: only a privileged namespace admits it.
    for ns in &meshed {
        assert_eq!(
            ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"], "privileged",
            "{ns}"
        );
    }
    let cilium = objects
        .iter()
        .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == "cilium-config")
        .expect("cilium-config");
    assert_eq!(cilium["data"]["enable-wireguard"], "true");
}

#[test]
fn large_labels_every_namespace_and_is_privileged_only_where_host_access_is_needed() {
    let objects = render_demo("large");
    let objects: Vec<&Value> = objects.iter().collect();
    let mut levels = std::collections::BTreeMap::new();
    for ns in objects.iter().filter(|o| o["kind"] == "Namespace") {
        let name = ns["metadata"]["name"].as_str().unwrap();
        let labels = &ns["metadata"]["labels"];
        let level = labels["pod-security.kubernetes.io/enforce"]
            .as_str()
            .unwrap_or_else(|| panic!("namespace {name} has no Pod Security level"));
        assert_eq!(labels["pod-security.kubernetes.io/warn"], level, "{name}");
        levels.insert(name.to_string(), level.to_string());
    }
    assert!(levels.len() >= 10, "{levels:?}");
    for (ns, level) in &levels {
        let pods: Vec<&Value> = objects
            .iter()
            .filter(|o| o["metadata"]["namespace"] == ns.as_str())
            .filter_map(|o| match o["kind"].as_str() {
                Some("CronJob") => Some(&o["spec"]["jobTemplate"]["spec"]["template"]["spec"]),
                Some("Pod") => Some(&o["spec"]),
                _ => o["spec"]["template"].get("spec"),
            })
            .collect();
        let host = pods.iter().any(|p| needs_host_access(p));
        match level.as_str() {
            // Here host access is in the pods the operators create at run time: Ceph's
            // daemons, and Trivy's node-collector jobs.
            "privileged" if ["rook-ceph", "trivy-system"].contains(&ns.as_str()) => {}
            "privileged" => assert!(
                host,
                "{ns} is privileged but nothing in it needs host access"
            ),
            "restricted" => assert!(
                !host,
                "{ns} is restricted but a workload in it needs host access"
            ),
            other => panic!("{ns}: {other}: only restricted or privileged are expected"),
        }
    }
    // The environments' namespaces, created by Argo CD, are restricted too.
    let appset = objects
        .iter()
        .find(|o| o["kind"] == "ApplicationSet")
        .unwrap();
    assert_eq!(
        appset["spec"]["template"]["spec"]["syncPolicy"]["managedNamespaceMetadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "restricted"
    );
}

#[test]
fn status_and_diff_give_up_on_a_silent_cluster_after_their_timeout() {
    let dir = tempfile::tempdir().unwrap();
    // Accepts connections (the kernel does, into the backlog) and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    std::fs::write(
        dir.path().join("kubeconfig"),
        format!(
            "apiVersion: v1\nkind: Config\nclusters: [{{name: silent, cluster: {{server: \"https://127.0.0.1:{port}\", insecure-skip-tls-verify: true}}}}]\nusers: [{{name: u, user: {{token: t}}}}]\ncontexts: [{{name: silent, context: {{cluster: silent, user: u}}}}]\ncurrent-context: silent\n"
        ),
    )
    .unwrap();
    for command in ["status", "diff"] {
        let out = run(landscape(dir.path())
            .args([
                command,
                "--profile",
                "small",
                "--timeout",
                "2s",
                "--kubeconfig",
                "kubeconfig",
            ])
            .args(BACKUP));
        assert_eq!(out.code, 4, "{command}: {}", out.stderr);
        assert!(
            out.stderr.contains("did not finish within 2s"),
            "{command}: {}",
            out.stderr
        );
    }
    drop(silent);
}

/// The namespaces a ServiceMonitor or PodMonitor looks in.
fn monitored_namespaces(monitor: &Value) -> Option<Vec<String>> {
    let selector = &monitor["spec"]["namespaceSelector"];
    if selector["any"] == true {
        return None;
    }
    Some(match selector["matchNames"].as_array() {
        Some(names) => names
            .iter()
            .map(|n| n.as_str().unwrap().to_string())
            .collect(),
        None => vec![
            monitor["metadata"]["namespace"]
                .as_str()
                .unwrap()
                .to_string(),
        ],
    })
}

#[test]
fn every_profile_scrapes_every_metrics_port_it_installs() {
    for profile in ["small", "medium", "large"] {
        let objects = render_demo(profile);
        // Cluster-wide monitors (Linkerd's, for the proxies in every pod) pick containers,
        // not namespaces: they do not count here.
        let watched: std::collections::BTreeSet<String> = objects
            .iter()
            .filter(|o| o["kind"] == "ServiceMonitor" || o["kind"] == "PodMonitor")
            .filter_map(monitored_namespaces)
            .flatten()
            .collect();
        let unwatched: Vec<String> = objects
            .iter()
            .filter(|o| o["kind"] == "Service")
            .filter(|s| {
                s["spec"]["ports"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|p| p["name"].as_str().unwrap_or_default().contains("metrics"))
            })
            .map(|s| {
                format!(
                    "{}/{}",
                    s["metadata"]["namespace"].as_str().unwrap_or_default(),
                    s["metadata"]["name"].as_str().unwrap()
                )
            })
            .filter(|id| !watched.contains(id.split('/').next().unwrap()))
            .collect();
        assert!(
            unwatched.is_empty(),
            "{profile}: metrics Services no monitor looks at: {unwatched:?}"
        );
    }
}

#[test]
fn set_string_and_set_file_set_values_as_helm_does() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("app")).unwrap();
    std::fs::write(
        dir.path().join("landscape.yaml"),
        "name: values\ncomponents:\n  app:\n    category: delivery\n    namespace: app\n    sources: [{templateDir: ./app}]\n    values: {code: '', port: 0, cert: ''}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("app/cm.yaml.hbs"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata:\n  code: {{toJson values.code}}\n  port: {{toJson values.port}}\n  cert: {{toJson values.cert}}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("ca.pem"), "-----BEGIN CERT-----\nabc,def\n").unwrap();
    let data = |args: &[&str]| -> Value {
        let mut all = vec!["render", "-o", "json"];
        all.extend(args);
        let out = run(landscape(dir.path()).args(&all));
        assert_eq!(out.code, 0, "{}", out.stderr);
        let components: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
        components[0]["objects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["kind"] == "ConfigMap")
            .unwrap()["data"]
            .clone()
    };
    // --set types `007` as text (a leading zero) but `8080` as a number, which a
    // ConfigMap would refuse; --set-string keeps it text; --set-file reads a file.
    let d = data(&[
        "--set",
        "app.code=007",
        "--set-string",
        "app.port=8080",
        "--set-file",
        "app.cert=ca.pem",
    ]);
    assert_eq!(d["code"], "007");
    assert_eq!(d["port"], "8080");
    assert_eq!(d["cert"], "-----BEGIN CERT-----\nabc,def\n");
    // Helm's order: --set-string wins over --set for the same key.
    let d = data(&["--set-string", "app.code=x", "--set", "app.code=y"]);
    assert_eq!(d["code"], "x");

    let out = run(landscape(dir.path()).args(["render", "--set-file", "app.cert=missing.pem"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("--set-file app.cert: cannot read")
            && out.stderr.contains("missing.pem")
            && out.stderr.contains("hint:"),
        "{}",
        out.stderr
    );
    let out = run(landscape(dir.path()).args(["render", "--set-string", "app.nope=1"]));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("--set-string app.nope: unknown value `app.nope`"),
        "{}",
        out.stderr
    );
}

#[test]
fn completions_and_man_pages_come_from_the_command_line_itself() {
    let dir = tempfile::tempdir().unwrap();
    for (shell, needle) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef landscape"),
        ("fish", "complete -c landscape"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = run(landscape(dir.path()).args(["completion", shell]));
        assert_eq!(out.code, 0, "{shell}: {}", out.stderr);
        assert!(out.stdout.contains(needle), "{shell}");
        // Every subcommand and a flag of one is completed.
        assert!(out.stdout.contains("migrate-storage"), "{shell}");
        assert!(out.stdout.contains("wait-for-lock"), "{shell}");
    }
    let bad = run(landscape(dir.path()).args(["completion", "tcsh"]));
    assert_eq!(bad.code, 2);

    let man = run(landscape(dir.path()).arg("man"));
    assert_eq!(man.code, 0, "{}", man.stderr);
    assert!(
        man.stdout.starts_with(".ie") || man.stdout.contains(".TH landscape 1"),
        "{}",
        &man.stdout[..200.min(man.stdout.len())]
    );
    let pages = dir.path().join("man1");
    let out = run(landscape(dir.path()).args(["man", "--out"]).arg(&pages));
    assert_eq!(out.code, 0, "{}", out.stderr);
    for page in [
        "landscape.1",
        "landscape-up.1",
        "landscape-diff.1",
        "landscape-completion.1",
    ] {
        let text =
            std::fs::read_to_string(pages.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page}");
    }
    let up = std::fs::read_to_string(pages.join("landscape-up.1")).unwrap();
    assert!(
        up.contains("wait\\-for\\-lock"),
        "up's flags are on its page"
    );
}

#[test]
fn plan_draws_the_graph_as_dot_and_mermaid() {
    let dir = tempfile::tempdir().unwrap();
    let dot = run(landscape(dir.path()).args(["plan", "--profile", "medium", "-o", "dot"]));
    assert_eq!(dot.code, 0, "{}", dot.stderr);
    assert!(
        dot.stdout.starts_with("digraph \"medium\" {"),
        "{}",
        dot.stdout
    );
    let json = run(landscape(dir.path()).args(["plan", "--profile", "medium", "-o", "json"]));
    let plan: Value = serde_json::from_str(&json.stdout).unwrap();
    // One arrow per need.
    let needs: usize = plan["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["needs"].as_array().unwrap().len())
        .sum();
    assert_eq!(dot.stdout.matches(" -> ").count(), needs);
    let path: Vec<&str> = plan["critical_path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for w in path.windows(2) {
        assert!(
            dot.stdout
                .contains(&format!("\"{}\" -> \"{}\" [", w[0], w[1]))
                && dot
                    .stdout
                    .lines()
                    .any(|l| l.contains(&format!("\"{}\" -> \"{}\"", w[0], w[1]))
                        && l.contains("penwidth=2")),
            "critical edge {} -> {} is bold",
            w[0],
            w[1]
        );
    }
    let mermaid = run(landscape(dir.path()).args(["plan", "--profile", "medium", "-o", "mermaid"]));
    assert_eq!(mermaid.code, 0);
    assert!(mermaid.stdout.starts_with("flowchart LR\n"));
    assert_eq!(mermaid.stdout.matches("==>").count(), path.len() - 1);
    // Other commands refuse a format they do not write, before doing anything.
    let refused = run(landscape(dir.path()).args(["profiles", "-o", "dot"]));
    assert_eq!(refused.code, 2);
    assert!(
        refused
            .stderr
            .contains("-o dot: `profiles` does not write that format")
            && refused.stderr.contains("hint: it writes text, json"),
        "{}",
        refused.stderr
    );
}

#[test]
fn every_subcommand_help_ends_with_examples() {
    let dir = tempfile::tempdir().unwrap();
    let help = run(landscape(dir.path()).arg("--help"));
    // The subcommands, as the top-level help lists them.
    let commands: Vec<String> = help
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        // Wrapped descriptions are indented further than the names.
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect();
    assert!(commands.len() >= 14, "{commands:?}");
    for c in commands {
        let out = run(landscape(dir.path()).args([c.as_str(), "--help"]));
        assert_eq!(out.code, 0, "{c}");
        let examples: Vec<&str> = out
            .stdout
            .lines()
            .skip_while(|l| l.trim() != "Examples:")
            .skip(1)
            .filter(|l| l.trim_start().starts_with("landscape "))
            .collect();
        assert!(
            examples.len() >= 2,
            "`{c} --help` has {} examples",
            examples.len()
        );
    }
}

#[test]
fn lint_finds_anti_patterns_in_manifests_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("deploy");
    std::fs::create_dir_all(&manifests).unwrap();
    std::fs::write(
        manifests.join("web.yaml"),
        "# the web tier\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  replicas: 3\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      hostNetwork: true\n      containers:\n        - name: web\n          image: nginx\n          securityContext: {privileged: true}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {type: LoadBalancer, ports: [{port: 80}]}\n",
    )
    .unwrap();
    std::fs::write(
        manifests.join("good.yml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\ndata: {a: b}\n",
    )
    .unwrap();
    let out = run(landscape(dir.path()).args(["lint", "-f", "deploy"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    for needle in [
        "deploy/web.yaml:2: image-tag Deployment.apps shop/web: container `web` image `nginx` has no tag",
        "deploy/web.yaml:2: requests",
        "deploy/web.yaml:2: privileged",
        "deploy/web.yaml:2: host-namespaces",
        "deploy/web.yaml:2: run-as-root",
        "deploy/web.yaml:2: disruption-budget",
        "deploy/web.yaml:2: zone-spread",
        "deploy/web.yaml:17: load-balancer Service shop/web",
        "fix: ",
        "8 finding(s).",
    ] {
        assert!(out.stdout.contains(needle), "{needle}:\n{}", out.stdout);
    }
    let json = run(landscape(dir.path()).args(["lint", "-f", "deploy", "-o", "json"]));
    let findings: Vec<Value> = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(findings.len(), 8);
    assert_eq!(findings[0]["object"]["kind"], "Deployment");
    assert_eq!(findings[0]["file"], "deploy/web.yaml");
    assert_eq!(findings[0]["line"], 2);

    let sarif = run(landscape(dir.path()).args(["lint", "-f", "deploy", "-o", "sarif"]));
    assert_eq!(sarif.code, 1);
    let log: Value = serde_json::from_str(&sarif.stdout).unwrap();
    assert_eq!(log["version"], "2.1.0");
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 8);
    let rules: Vec<&str> = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    for r in results {
        assert!(rules.contains(&r["ruleId"].as_str().unwrap()));
        assert_eq!(
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "deploy/web.yaml"
        );
    }
    // A clean file is exit 0; formats lint does not write are refused.
    let clean = run(landscape(dir.path()).args(["lint", "-f", "deploy/good.yml"]));
    assert_eq!((clean.code, clean.stdout.trim()), (0, "No findings."));
    let refused = run(landscape(dir.path()).args(["lint", "-f", "deploy", "-o", "dot"]));
    assert_eq!(refused.code, 2);
}

#[test]
fn lint_of_the_profiles_passes_with_documented_exemptions() {
    let dir = tempfile::tempdir().unwrap();
    for profile in ["small", "medium", "large"] {
        let out = run(landscape(dir.path())
            .args(["lint", "--profile", profile, "--mirror"])
            .arg(upstream()));
        assert_eq!(out.code, 0, "{profile}: {}{}", out.stdout, out.stderr);
    }
    let out = run(landscape(dir.path())
        .args([
            "lint",
            "--profile",
            "small",
            "--show-exempt",
            "-o",
            "json",
            "--mirror",
        ])
        .arg(upstream()));
    assert_eq!(out.code, 0);
    let findings: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
    let flannel = findings
        .iter()
        .find(|f| f["component"] == "flannel" && f["rule"] == "host-namespaces")
        .expect("flannel shares the host network, exempt with its reason");
    assert!(
        flannel["exempt"]
            .as_str()
            .unwrap()
            .contains("programs the node's network")
    );
    // A user stack's exemption of a rule that does not exist is an input error.
    std::fs::create_dir_all(dir.path().join("app")).unwrap();
    std::fs::write(
        dir.path().join("app/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("landscape.yaml"),
        "name: s\ncomponents:\n  app:\n    category: delivery\n    namespace: app\n    sources: [{templateDir: ./app}]\n    lintExempt: {priviledged: oops}\n",
    )
    .unwrap();
    let out = run(landscape(dir.path()).arg("lint"));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("component `app`: lintExempt names `priviledged`, which is no lint rule"),
        "{}",
        out.stderr
    );
}

#[test]
fn every_health_rule_agrees_with_its_status_snapshots() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/health");
    let mut seen = std::collections::BTreeSet::new();
    for (file, extra) in [
        ("workloads.yaml", None),
        ("api.yaml", None),
        ("platform.yaml", None),
        ("networking.yaml", None),
        ("load-balancers.yaml", Some("--wait-for-load-balancers")),
    ] {
        let path = dir.join(file);
        let mut cmd = landscape(&dir);
        cmd.args(["check", "-o", "json", "-f"]).arg(&path);
        if let Some(flag) = extra {
            cmd.arg(flag);
        }
        let out = run(&mut cmd);
        // Every file holds objects that are not ready.
        assert_eq!(out.code, 3, "{file}: {}", out.stderr);
        let assessed: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
        assert_eq!(assessed.len(), docs.len(), "{file}");
        for (doc, got) in docs.iter().zip(&assessed) {
            let expect = doc["metadata"]["annotations"]["landscape.test/expect"]
                .as_str()
                .unwrap();
            assert_eq!(
                got["state"], expect,
                "{file}: {} {}: {}",
                doc["kind"], doc["metadata"]["name"], got["reason"]
            );
            seen.insert((
                doc["kind"].as_str().unwrap().to_string(),
                expect.to_string(),
            ));
        }
    }
    // Every rule has a ready and a not-ready snapshot.
    for kind in [
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "Pod",
        "Job",
        "CronJob",
        "HorizontalPodAutoscaler",
        "PersistentVolumeClaim",
        "Service",
        "Ingress",
        "CustomResourceDefinition",
        "APIService",
        "Gateway",
        "HTTPRoute",
        "Certificate",
        "ClusterPolicy",
        "ConstraintTemplate",
        "K8sRequiredLabels",
        "CephCluster",
        "CephBlockPool",
        "BackupStorageLocation",
        "Schedule",
        "Application",
        "ApplicationSet",
        "OpenTelemetryCollector",
        "Widget",
    ] {
        assert!(
            seen.contains(&(kind.to_string(), "ready".to_string())),
            "{kind} ready"
        );
        assert!(
            seen.iter().any(|(k, s)| k == kind && s != "ready"),
            "{kind} not ready"
        );
    }
    // Text output: one line per object, its state and reason.
    let text = run(landscape(&dir).args(["check", "-f", "workloads.yaml"]));
    assert!(
        text.stdout
            .contains("failed      Deployment.apps a/stuck: progress deadline exceeded"),
        "{}",
        text.stdout
    );
    let ready = run(landscape(&dir)
        .args(["check", "-f", "-"])
        .stdin(std::process::Stdio::null()));
    assert_eq!(
        ready.code, 0,
        "nothing to check is nothing unready: {}",
        ready.stderr
    );
}

#[test]
fn check_takes_a_stacks_readiness_rules() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("pools.yaml"),
        "apiVersion: ceph.rook.io/v1\nkind: CephBlockPool\nmetadata: {name: p, namespace: rook-ceph}\nstatus: {phase: Failure}\n",
    )
    .unwrap();
    // Without a stack, the built-in rule; with medium's, its own rule (same verdict here,
    // through the rule's `failed` list).
    let plain = run(landscape(dir.path()).args(["check", "-f", "pools.yaml", "-o", "json"]));
    let with = run(landscape(dir.path()).args([
        "check",
        "-f",
        "pools.yaml",
        "--profile",
        "medium",
        "-o",
        "json",
    ]));
    assert_eq!(
        (plain.code, with.code),
        (3, 3),
        "{}{}",
        plain.stderr,
        with.stderr
    );
    let with: Vec<Value> = serde_json::from_str(&with.stdout).unwrap();
    assert_eq!(with[0]["state"], "failed");
    assert_eq!(with[0]["reason"], "status.phase is `Failure`");
}
