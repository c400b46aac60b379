//! The test control plane from Rust: one per test binary, started on first use and stopped
//! when the binary exits, or an existing one named by `LANDSCAPE_TESTBED`.
//!
//! Tests must run inside the loopback-only network namespace
//! (`tests/testbed/testbed isolate -- cargo test`); the helper refuses to start otherwise,
//! so no test can ever dial outside the machine.
#![allow(dead_code)]

pub mod audit;
pub mod operators;
pub mod predict;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use kube::api::{Api, DynamicObject, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::discovery::{Discovery, verbs};

/// A running control plane.
pub struct Testbed {
    pub name: String,
    pub state_dir: PathBuf,
    pub kubeconfig: PathBuf,
    pub mirror: Option<String>,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn testbed_script() -> PathBuf {
    repo().join("tests/testbed/testbed")
}

/// True when this process can only reach loopback.
fn isolated() -> bool {
    let out = Command::new("ip")
        .args(["-o", "link", "show"])
        .output()
        .expect("the `ip` command runs");
    let text = String::from_utf8_lossy(&out.stdout);
    // Fails closed: no answer, or no interface listed, is not proof of isolation.
    out.status.success()
        && text.lines().count() > 0
        && text
            .lines()
            .all(|l| l.split(':').nth(1).map(str::trim) == Some("lo"))
}

static TESTBED: OnceLock<Testbed> = OnceLock::new();

/// The control plane of this test binary.
pub fn testbed() -> &'static Testbed {
    testbed_with(&[])
}

/// The control plane of this test binary, started with extra `testbed up` flags (for
/// example `--no-mirror`) when this binary starts its own. The first call decides.
pub fn testbed_with(flags: &[&str]) -> &'static Testbed {
    TESTBED.get_or_init(|| {
        assert!(
            isolated(),
            "tests that use the control plane must run in the loopback-only network namespace: \
             tests/testbed/testbed isolate -- cargo test"
        );
        match std::env::var("LANDSCAPE_TESTBED") {
            Ok(name) if !name.is_empty() => attach(&name),
            _ => start(flags),
        }
    })
}

fn state_root() -> PathBuf {
    std::env::var_os("LANDSCAPE_TESTBED_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/landscape-testbed"))
}

fn attach(name: &str) -> Testbed {
    let dir = state_root().join(name);
    assert!(
        dir.join("ready").exists(),
        "LANDSCAPE_TESTBED={name}: no running control plane at {}",
        dir.display()
    );
    from_state(name, &dir)
}

fn from_state(name: &str, dir: &Path) -> Testbed {
    let mirror = std::fs::read_to_string(dir.join("mirror-url"))
        .ok()
        .map(|s| s.trim().to_string());
    Testbed {
        name: name.to_string(),
        state_dir: dir.to_path_buf(),
        kubeconfig: dir.join("kubeconfig"),
        mirror,
    }
}

fn start(flags: &[&str]) -> Testbed {
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().to_string()))
        .unwrap_or_else(|| "tests".into());
    let stem: String = binary
        .split('-')
        .next()
        .unwrap_or("t")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let name = format!("t-{}-{}", stem.trim_matches('-'), std::process::id());
    start_named(&name, flags)
}

/// Starts another control plane (for multi-cluster tests), stopped with this process.
pub fn start_named(name: &str, extra: &[&str]) -> Testbed {
    assert!(
        isolated(),
        "tests that use the control plane must run in the loopback-only network namespace: \
         tests/testbed/testbed isolate -- cargo test"
    );
    let out = Command::new(testbed_script())
        .args([
            "up",
            "--name",
            name,
            "--owner-pid",
            &std::process::id().to_string(),
        ])
        .args(extra)
        .output()
        .expect("the testbed script runs");
    assert!(
        out.status.success(),
        "testbed up failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = String::from_utf8_lossy(&out.stdout)
        .trim()
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    from_state(name, Path::new(&dir))
}

impl Testbed {
    /// A fresh client (each test has its own async runtime, so clients are not shared).
    pub async fn client(&self) -> kube::Client {
        let kc = Kubeconfig::read_from(&self.kubeconfig).expect("kubeconfig");
        let cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
            .await
            .expect("config");
        kube::Client::try_from(cfg).expect("client")
    }

    /// The landscape binary, pointed at this control plane and its mirror, with a private
    /// download cache and no terminal.
    pub fn landscape(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_landscape"));
        cmd.env("KUBECONFIG", &self.kubeconfig)
            .env("LANDSCAPE_CACHE_DIR", cache_dir())
            .env_remove("LANDSCAPE_PROFILE")
            .env("NO_COLOR", "1");
        match &self.mirror {
            Some(m) => cmd.env("LANDSCAPE_MIRROR", m),
            None => cmd.env_remove("LANDSCAPE_MIRROR"),
        };
        cmd
    }

    /// Runs kubectl against this control plane.
    pub fn kubectl(&self, args: &[&str]) -> std::process::Output {
        Command::new("kubectl")
            .env("KUBECONFIG", &self.kubeconfig)
            .args(args)
            .output()
            .expect("kubectl runs (the testbed puts it on PATH)")
    }

    /// The library's view of this control plane.
    pub async fn cluster(&self) -> landscape::cluster::Cluster {
        landscape::cluster::Cluster::connect(&landscape::cluster::ClusterArgs {
            kubeconfig: Some(self.kubeconfig.clone()),
            ..Default::default()
        })
        .await
        .expect("connect")
    }

    /// A stack's inventory, as landscape reads it.
    pub async fn inventory(&self, stack: &str) -> Option<landscape::inventory::Inventory> {
        landscape::inventory::Inventory::load(&self.cluster().await, stack)
            .await
            .expect("the inventory is readable")
    }

    /// Every object carrying a label selector that no other object owns (controllers copy
    /// labels onto what they make: an EndpointSlice carries its Service's) and that is not
    /// being deleted.
    pub async fn unowned_objects_with_labels(&self, selector: &str) -> Vec<String> {
        self.objects_with_labels_where(selector, true).await
    }

    /// Every object in the cluster carrying a label selector, across all listable kinds.
    pub async fn objects_with_labels(&self, selector: &str) -> Vec<String> {
        self.objects_with_labels_where(selector, false).await
    }

    async fn objects_with_labels_where(&self, selector: &str, unowned: bool) -> Vec<String> {
        let client = self.client().await;
        let discovery = Discovery::new(client.clone())
            .run_aggregated()
            .await
            .expect("discovery");
        let mut found = Vec::new();
        for group in discovery.groups() {
            for (ar, caps) in group.recommended_resources() {
                if !caps.supports_operation(verbs::LIST) {
                    continue;
                }
                let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
                if let Ok(list) = api.list(&ListParams::default().labels(selector)).await {
                    for o in list.items {
                        let owned = o
                            .metadata
                            .owner_references
                            .as_ref()
                            .is_some_and(|r| !r.is_empty());
                        if unowned && (owned || o.metadata.deletion_timestamp.is_some()) {
                            continue;
                        }
                        found.push(format!(
                            "{}/{}/{}",
                            ar.kind,
                            o.metadata.namespace.clone().unwrap_or_default(),
                            o.metadata.name.clone().unwrap_or_default()
                        ));
                    }
                }
            }
        }
        found
    }
}

/// The upstream artifacts as a mirror directory (`../shared/upstream`).
pub fn upstream_dir() -> PathBuf {
    repo().join("../shared/upstream")
}

/// Values for the small profile's required backup settings.
pub const BACKUP_VALUES: [&str; 6] = [
    "--set",
    "velero.backup.provider=aws",
    "--set",
    "velero.backup.bucket=landscape-backups",
    "--set",
    "velero.backup.region=eu-west-1",
];

/// A download cache shared by the tests of one binary, so the big manifests are fetched once.
pub fn cache_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("landscape-test-cache-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("cache dir");
        dir
    })
    .clone()
}

/// A name unique to this test run, for stacks and namespaces.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id() % 100000,
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// Output of a finished command, as text.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Every line of stdout parsed as JSON (for `-o json` runs).
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l}"))
            })
            .collect()
    }

    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

pub fn run(mut cmd: Command) -> Run {
    let out = cmd.output().expect("the command runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Polls `f` until it returns Some or the timeout passes.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
