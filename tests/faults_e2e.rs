//! Interrupted, concurrent and disturbed runs all end converged: `up` killed with SIGKILL
//! while applying, while waiting on a gate and while pruning, then run again; SIGTERM; an
//! API server restarted during `up` and during `down`; two runs on one stack at once; a
//! lock left behind by a killed run.
//!
//! "Converged" means: the next `up` exits 0, `diff` exits 0, the inventory's members are
//! exactly the objects the stack renders, and no object carrying the stack's ApplySet
//! label is missing from the inventory.

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use support::{Run, Testbed, run, testbed, unique};

/// A stack of three components in a chain; `app` has several kinds (so several apply
/// batches) and a Deployment whose pods become Ready after a delay (so its gate waits).
struct Project {
    dir: tempfile::TempDir,
    stack: String,
}

const SLOW: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: slow
spec:
  replicas: 2
  selector: {matchLabels: {app: slow}}
  template:
    metadata:
      labels: {app: slow}
      annotations: {testbed.landscape.dev/ready-after: "{{values.delay}}"}
    spec:
      containers:
        - {name: c, image: registry.example/slow:1}
"#;

impl Project {
    fn new(prefix: &str, delay: &str) -> Project {
        let dir = tempfile::tempdir().unwrap();
        let stack = unique(prefix);
        for c in ["base", "app", "extra"] {
            std::fs::create_dir_all(dir.path().join(c)).unwrap();
        }
        let cms = |prefix: &str, n: usize| -> String {
            (0..n)
                .map(|i| format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {prefix}-{i}}}\ndata: {{i: \"{i}\"}}\n"))
                .collect::<Vec<_>>()
                .join("---\n")
        };
        std::fs::write(dir.path().join("base/cm.yaml"), cms("base", 5)).unwrap();
        std::fs::write(dir.path().join("app/cm.yaml"), cms("app", 10)).unwrap();
        std::fs::write(
            dir.path().join("app/sa.yaml"),
            "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: app}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: app}\nspec: {ports: [{port: 80}], selector: {app: slow}}\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("app/slow.yaml.hbs"), SLOW).unwrap();
        std::fs::write(dir.path().join("extra/cm.yaml"), cms("extra", 5)).unwrap();
        std::fs::write(
            dir.path().join("landscape.yaml"),
            format!(
                "name: {stack}\ncomponents:\n  base:\n    category: delivery\n    namespace: {stack}\n    sources: [{{templateDir: ./base}}]\n  app:\n    category: delivery\n    namespace: {stack}\n    needs: [base]\n    sources: [{{templateDir: ./app}}]\n    values: {{delay: \"{delay}\"}}\n    timeout: 3m\n  extra:\n    category: delivery\n    namespace: {stack}-extra\n    needs: [app]\n    sources: [{{templateDir: ./extra}}]\n"
            ),
        )
        .unwrap();
        Project { dir, stack }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = testbed().landscape();
        cmd.current_dir(self.dir.path()).args(args);
        cmd
    }

    async fn landscape(&self, args: &[&str]) -> Run {
        let cmd = self.command(args);
        tokio::task::spawn_blocking(move || run(cmd)).await.unwrap()
    }

    /// Starts `landscape ARGS -o json` in the background, its events streamed.
    fn spawn(&self, args: &[&str]) -> Running {
        let mut cmd = self.command(args);
        cmd.args(["-o", "json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("landscape starts");
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Running {
            child,
            events: rx,
            seen: Vec::new(),
        }
    }

    /// The stack's next version: `extra` leaves the stack, `app` drops five ConfigMaps.
    fn shrink(&self) {
        let app = self.dir.path().join("app/cm.yaml");
        let text = std::fs::read_to_string(&app).unwrap();
        let kept: Vec<&str> = text.split("---\n").take(5).collect();
        std::fs::write(&app, kept.join("---\n")).unwrap();
        let stack_file = self.dir.path().join("landscape.yaml");
        let text = std::fs::read_to_string(&stack_file).unwrap();
        let cut = text.find("  extra:").unwrap();
        std::fs::write(&stack_file, &text[..cut]).unwrap();
    }
}

/// A run in the background.
struct Running {
    child: Child,
    events: mpsc::Receiver<String>,
    seen: Vec<Value>,
}

impl Running {
    /// Waits (up to 2 minutes) for an event matching `pred`.
    fn wait_for(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .events
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no {what} event; saw {:?}", self.seen));
            let event: Value = serde_json::from_str(&line).unwrap();
            self.seen.push(event.clone());
            if pred(&event) {
                return event;
            }
        }
    }

    fn signal(&self, sig: &str) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args([sig, &pid])
                .status()
                .unwrap()
                .success()
        );
    }

    fn wait(mut self) -> (i32, Vec<Value>) {
        let status = self.child.wait().unwrap();
        while let Ok(line) = self.events.recv_timeout(Duration::from_secs(2)) {
            if let Ok(e) = serde_json::from_str(&line) {
                self.seen.push(e);
            }
        }
        (status.code().unwrap_or(-1), self.seen)
    }
}

fn event_is(e: &Value, kind: &str, component: &str) -> bool {
    e["event"] == kind && (component.is_empty() || e["component"] == component)
}

/// Every key (`Kind/namespace/name`) `landscape render` gives for the project.
async fn rendered_keys(p: &Project) -> BTreeSet<String> {
    let out = p.landscape(&["render", "-o", "json"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    let items: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
    items
        .iter()
        .flat_map(|c| c["objects"].as_array().unwrap().iter())
        .map(|o| {
            format!(
                "{}/{}/{}",
                o["kind"].as_str().unwrap(),
                o["metadata"]["namespace"].as_str().unwrap_or_default(),
                o["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect()
}

/// `up` (waiting for a lock a killed run left) exits 0, `diff` exits 0, and the inventory
/// and the cluster agree with what the stack renders.
async fn assert_converges(tb: &Testbed, p: &Project) {
    let up = p.landscape(&["up", "--wait-for-lock", "90s"]).await;
    assert_eq!(up.code, 0, "the next up converges: {up:?}");
    let diff = p.landscape(&["diff"]).await;
    assert_eq!(diff.code, 0, "nothing left to change: {diff:?}");
    let inv = tb.inventory(&p.stack).await.expect("an inventory");
    let members: BTreeSet<String> = inv
        .members()
        .into_iter()
        .filter(|(c, _, _)| c.is_some())
        .map(|(_, k, _)| format!("{}/{}/{}", k.kind, k.namespace.unwrap_or_default(), k.name))
        .collect();
    assert_eq!(
        members,
        rendered_keys(p).await,
        "inventory members = rendered objects"
    );
    let labelled: BTreeSet<String> = tb
        .unowned_objects_with_labels(&format!(
            "applyset.kubernetes.io/part-of={}",
            landscape::inventory::applyset_id(&p.stack)
        ))
        .await
        .into_iter()
        .collect();
    let recorded: BTreeSet<String> = inv
        .members()
        .into_iter()
        .map(|(_, k, _)| format!("{}/{}/{}", k.kind, k.namespace.unwrap_or_default(), k.name))
        .collect();
    // Endpoints mirror their Service, labels included, without an owner reference.
    for o in labelled.iter().filter(|o| !o.starts_with("Endpoints/")) {
        assert!(
            recorded.contains(o),
            "{o} carries the stack's label but is not in its inventory"
        );
    }
}

#[tokio::test]
async fn killed_while_applying_then_up_converges() {
    let tb = testbed();
    let p = Project::new("kill-apply", "3s");
    let mut running = p.spawn(&["up"]);
    running.wait_for("an apply batch of app", |e| event_is(e, "applying", "app"));
    running.signal("-KILL");
    let (code, _) = running.wait();
    assert_eq!(code, -1, "killed");
    assert_converges(tb, &p).await;
}

#[tokio::test]
async fn killed_while_gating_then_up_converges() {
    let tb = testbed();
    let p = Project::new("kill-gate", "20s");
    let mut running = p.spawn(&["up"]);
    running.wait_for("app waiting", |e| event_is(e, "waiting", "app"));
    running.signal("-KILL");
    running.wait();
    assert_converges(tb, &p).await;
}

#[tokio::test]
async fn killed_while_pruning_then_up_converges() {
    let tb = testbed();
    let p = Project::new("kill-prune", "1s");
    assert_eq!(p.landscape(&["up"]).await.code, 0);
    p.shrink();
    let mut running = p.spawn(&["up"]);
    // `app` prunes its five ConfigMaps once healthy; `extra`, which left the stack, is
    // pruned at the very end: killed in between.
    running.wait_for("app pruned", |e| event_is(e, "pruned", "app"));
    running.signal("-KILL");
    running.wait();
    assert_converges(tb, &p).await;
    assert!(
        !tb.kubectl(&["get", "namespace", &format!("{}-extra", p.stack)])
            .status
            .success()
            || tb
                .kubectl(&[
                    "get",
                    "namespace",
                    &format!("{}-extra", p.stack),
                    "-o",
                    "jsonpath={.status.phase}"
                ])
                .stdout
                .starts_with(b"Terminating"),
        "the component that left the stack is gone"
    );
}

#[tokio::test]
async fn sigterm_stops_cleanly_with_143_and_the_next_up_resumes() {
    let tb = testbed();
    let p = Project::new("term", "20s");
    let mut running = p.spawn(&["up"]);
    running.wait_for("app waiting", |e| event_is(e, "waiting", "app"));
    running.signal("-TERM");
    let started = Instant::now();
    let (code, events) = running.wait();
    assert_eq!(code, 143, "{events:?}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "stops within seconds"
    );
    let last = events.last().unwrap();
    assert_eq!(last["event"], "interrupted", "{events:?}");
    assert_eq!(last["signal"], 15);
    assert!(
        last["hint"]
            .as_str()
            .unwrap()
            .contains("run the same command again")
    );
    let summary = events.iter().find(|e| e["event"] == "summary").unwrap();
    assert_eq!(summary["result"], "interrupted");
    assert!(
        !events
            .iter()
            .any(|e| event_is(e, "component_started", "extra")),
        "nothing new started after the signal"
    );
    // The lock was released: the next run does not wait for it.
    let up = p.landscape(&["up"]).await;
    assert_eq!(up.code, 0, "{up:?}");
    assert_converges(tb, &p).await;
}

#[tokio::test]
async fn a_second_run_on_the_same_stack_exits_4_naming_the_holder() {
    let tb = testbed();
    let p = Project::new("twice", "15s");
    let mut first = p.spawn(&["up"]);
    first.wait_for("app waiting", |e| event_is(e, "waiting", "app"));
    let second = p.landscape(&["up"]).await;
    assert_eq!(second.code, 4, "{second:?}");
    assert!(
        second.stderr.contains("locked by another run")
            && second.stderr.contains("landscape up")
            && second.stderr.contains(&format!("pid {}", first.child.id())),
        "{second:?}"
    );
    let down = p.landscape(&["down", "--yes"]).await;
    assert_eq!(down.code, 4, "down waits its turn too: {down:?}");
    let (code, _) = first.wait();
    assert_eq!(code, 0);
    assert_converges(tb, &p).await;
}

/// While another run holds the lock, objects it is creating look like ones the inventory
/// does not know (read before them): `up --wait-for-lock` decides again under the lock
/// instead of refusing them. Here a hand-made Lease stands in for the other run, and an
/// object labelled for the stack but not recorded for what it is creating; once "that run"
/// is done (the object resolved, the Lease released), the waiting run goes ahead.
#[tokio::test]
async fn conflicts_seen_while_another_run_holds_the_lock_are_decided_again_under_it() {
    let tb = testbed();
    let p = Project::new("recheck", "1s");
    assert_eq!(p.landscape(&["up"]).await.code, 0);
    std::fs::write(
        p.dir.path().join("base/late.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: late}\ndata: {a: b}\n",
    )
    .unwrap();
    let applyset = landscape::inventory::applyset_id(&p.stack);
    support::predict::kubectl_apply(
        tb,
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: late\n  namespace: {}\n  labels: {{applyset.kubernetes.io/part-of: {applyset}, app.kubernetes.io/managed-by: landscape, landscape.dev/stack: {}}}\ndata: {{a: other}}\n",
            p.stack, p.stack
        ),
    );
    let refused = p.landscape(&["up"]).await;
    assert_eq!(
        refused.code, 4,
        "with nobody holding the lock, a conflict: {refused:?}"
    );
    assert!(
        refused.stderr.contains("not in its inventory"),
        "{refused:?}"
    );

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let renewed = chrono_like(now);
    support::predict::kubectl_apply(
        tb,
        &format!(
            "apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {{name: landscape-{}, namespace: kube-system}}\nspec: {{holderIdentity: other-run, leaseDurationSeconds: 120, acquireTime: \"{renewed}\", renewTime: \"{renewed}\"}}\n",
            p.stack
        ),
    );
    let mut waiting = p.spawn(&["up", "--wait-for-lock", "2m"]);
    waiting.wait_for("waiting for the lock", |e| e["event"] == "waiting_for_lock");
    let cleared = tb.kubectl(&["delete", "configmap", "late", "-n", &p.stack]);
    assert!(cleared.status.success());
    let released = tb.kubectl(&[
        "delete",
        "lease",
        "-n",
        "kube-system",
        &format!("landscape-{}", p.stack),
    ]);
    assert!(released.status.success());
    let (code, _) = waiting.wait();
    assert_eq!(code, 0, "decided again under the lock, the run goes ahead");
    assert_converges(tb, &p).await;
}

/// `secs` since the epoch as a Lease's MicroTime.
fn chrono_like(secs: u64) -> String {
    let out = Command::new("date")
        .args([
            "-u",
            "-d",
            &format!("@{secs}"),
            "+%Y-%m-%dT%H:%M:%S.000000Z",
        ])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[tokio::test]
async fn a_lock_left_by_a_killed_run_expires_by_itself() {
    let tb = testbed();
    let p = Project::new("stale-lock", "20s");
    let mut running = p.spawn(&["up"]);
    running.wait_for("app waiting", |e| event_is(e, "waiting", "app"));
    running.signal("-KILL");
    running.wait();
    let at_once = p.landscape(&["up"]).await;
    assert_eq!(
        at_once.code, 4,
        "the dead run's lease still holds: {at_once:?}"
    );
    let started = Instant::now();
    let waited = p
        .landscape(&["up", "--wait-for-lock", "2m", "-o", "json"])
        .await;
    assert_eq!(waited.code, 0, "{waited:?}");
    assert!(
        waited
            .events()
            .iter()
            .any(|e| e["event"] == "waiting_for_lock")
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the lease expired by itself"
    );
    assert_converges(tb, &p).await;
}

/// Restarts the control plane's API server (blocking until it is back).
fn restart_apiserver(tb: &Testbed) {
    let out = Command::new(support::testbed_script())
        .args(["restart", "--name", &tb.name, "apiserver"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn an_api_server_restart_during_up_and_during_down_is_survived() {
    // A control plane of its own: the others' tests must not see its API server go.
    let tb = support::start_named(&unique("restart"), &[]);
    let p = Project::new("restart", "10s");
    let mut cmd = p.command(&["up", "-o", "json"]);
    cmd.env("KUBECONFIG", &tb.kubeconfig)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    std::thread::sleep(Duration::from_secs(3));
    restart_apiserver(&tb);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "up survives the restart: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut down = p.command(&["down", "--yes"]);
    down.env("KUBECONFIG", &tb.kubeconfig)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = down.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(700));
    restart_apiserver(&tb);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "down survives the restart: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        landscape::inventory::Inventory::load(&tb.cluster().await, &p.stack)
            .await
            .unwrap()
            .is_none(),
        "down finished: the inventory is gone"
    );
}
