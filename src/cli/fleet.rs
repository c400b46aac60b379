//! `--context a --context b …` on `up`, `diff` and `status`: the same command once per
//! cluster, each a child process of this one with one `--context`, at most `--parallel` at
//! a time.
//!
//! A child process per member, rather than tasks in this one, keeps each member's run
//! exactly what the single-cluster command is — its own inventory, lock, cancellation and
//! exit code — and keeps one member's failure (or crash) from touching another. This
//! process only labels what the members print, forwards signals, and reduces their exit
//! codes to the worst.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;

use landscape::ExitCode;
use landscape::cancel::{Cancel, StopReason};

use super::Output;
use super::args::KubeArgs;

/// How many clusters at once.
#[derive(Debug, Args, Clone)]
pub struct FleetArgs {
    /// With several --context: run on at most N clusters at once (default: all of them).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub parallel: Option<u16>,
}

/// The members' contexts when the command names more than one cluster.
pub fn members(kube: &KubeArgs) -> Option<&[String]> {
    (kube.context.len() > 1).then_some(kube.context.as_slice())
}

/// What one member did.
struct Outcome {
    context: String,
    code: i32,
    duration: Duration,
    started: bool,
}

/// Each member context is in the kubeconfig, and named once: checked before anything runs.
pub fn check(kube: &KubeArgs) -> Result<(), landscape::Error> {
    let kubeconfig = landscape::fleet::kubeconfig(kube.kubeconfig.as_deref())
        .map_err(landscape::Error::Usage)?;
    landscape::fleet::check_members(&kubeconfig, &kube.context).map_err(landscape::Error::Usage)
}

/// Runs this process's command once per context (checked with [`check`]) and returns the
/// worst exit code. `hub_values`, when given, is a values file for the first member only.
pub async fn run(
    kube: &KubeArgs,
    fleet: &FleetArgs,
    output: Output,
    hub_values: Option<&HubValues>,
    cancel: Cancel,
) -> anyhow::Result<ExitCode> {
    let contexts = kube.context.clone();
    let exe = std::env::current_exe()
        .map_err(|e| anyhow::anyhow!("cannot find the landscape binary to run per cluster: {e}"))?;
    let base = without_fleet_flags(std::env::args_os().skip(1));
    let parallel = fleet
        .parallel
        .map_or(contexts.len(), usize::from)
        .min(contexts.len());
    let slots = Arc::new(tokio::sync::Semaphore::new(parallel));
    let print = Arc::new(Mutex::new(()));
    cancel.arm();

    let mut tasks = Vec::new();
    for (i, context) in contexts.iter().enumerate() {
        let mut args = base.clone();
        args.push("--context".into());
        args.push(context.into());
        if i == 0
            && let Some(values) = &hub_values
        {
            args.push("--values".into());
            args.push(values.path().into());
        }
        let member = Member {
            exe: exe.clone(),
            args,
            context: context.clone(),
            output,
            print: print.clone(),
        };
        let slots = slots.clone();
        let cancel = cancel.clone();
        tasks.push(tokio::spawn(async move {
            let _slot = slots.acquire_owned().await;
            if cancel.is_cancelled() {
                return Outcome {
                    context: member.context,
                    code: stop_code(&cancel),
                    duration: Duration::ZERO,
                    started: false,
                };
            }
            member.run(&cancel).await
        }));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await?);
    }
    let worst = landscape::fleet::worst(outcomes.iter().map(|o| o.code));
    report(&outcomes, worst, output);
    Ok(worst)
}

/// The component whose `clusters` value registers clusters with Argo CD.
const REGISTRY: &str = "argocd-clusters";

/// A private values file for the first member (the hub): the stack's `argocd-clusters`
/// entries plus one for each other member not named there already, built from the
/// kubeconfig. None when the stack has no such component. Removed when dropped, and on an
/// immediate exit: it holds credentials.
pub struct HubValues {
    file: tempfile::NamedTempFile,
    _tracked: landscape::cleanup::Tracked,
}

impl HubValues {
    pub fn path(&self) -> PathBuf {
        self.file.path().to_path_buf()
    }
}

pub fn hub_values(
    stack: &landscape::stack::Stack,
    kube: &KubeArgs,
) -> anyhow::Result<Option<HubValues>> {
    let Some(registry) = stack.components.iter().find(|c| c.name == REGISTRY) else {
        return Ok(None);
    };
    let kubeconfig = landscape::fleet::kubeconfig(kube.kubeconfig.as_deref())
        .map_err(landscape::Error::Usage)?;
    let mut clusters: Vec<Value> = registry
        .values
        .get("clusters")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for context in kube.context.iter().skip(1) {
        if clusters.iter().any(|c| c["name"].as_str() == Some(context)) {
            continue;
        }
        let entry = landscape::fleet::registration(&kubeconfig, context)
            .map_err(|e| landscape::Error::Usage(format!("{REGISTRY}: {e}")))?;
        clusters.push(entry);
    }
    let file = tempfile::Builder::new()
        .prefix("landscape-hub-")
        .suffix(".yaml")
        .tempfile()?;
    let tracked = landscape::cleanup::Tracked::new(file.path());
    // JSON is YAML; the file is created readable by its owner only.
    std::fs::write(
        file.path(),
        json!({ REGISTRY: { "clusters": clusters } }).to_string(),
    )?;
    Ok(Some(HubValues {
        file,
        _tracked: tracked,
    }))
}

/// The command line without `--context` and `--parallel`: each member gets its own context.
fn without_fleet_flags(args: impl Iterator<Item = OsString>) -> Vec<OsString> {
    let mut out = Vec::new();
    let mut skip_value = false;
    for a in args {
        if skip_value {
            skip_value = false;
            continue;
        }
        let text = a.to_string_lossy();
        if text == "--context" || text == "--parallel" {
            skip_value = true;
            continue;
        }
        if text.starts_with("--context=") || text.starts_with("--parallel=") {
            continue;
        }
        out.push(a);
    }
    out
}

fn stop_code(cancel: &Cancel) -> i32 {
    match cancel.reason() {
        Some(StopReason::Signal(n)) => 128 + n,
        _ => ExitCode::Cluster.code(),
    }
}

/// One member's child process.
struct Member {
    exe: PathBuf,
    args: Vec<OsString>,
    context: String,
    output: Output,
    print: Arc<Mutex<()>>,
}

impl Member {
    async fn run(self, cancel: &Cancel) -> Outcome {
        let start = Instant::now();
        let mut cmd = Command::new(&self.exe);
        cmd.args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group: a terminal's Ctrl-C reaches this process alone, which
            // passes it on once (a member seeing it twice would stop at once, unrecorded).
            .process_group(0);
        // SAFETY: prctl only sets this child's parent-death signal, between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                // Should this process die, the member is asked to stop cleanly.
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                self.line(&format!("cannot start: {e}"));
                return self.outcome(ExitCode::Local.code(), start, true);
            }
        };
        let pid = child.id();
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let out = self.read_stdout(stdout);
        let err = self.copy_stderr(stderr);
        let forward = async {
            cancel.cancelled().await;
            if let (Some(pid), Some(StopReason::Signal(n))) = (pid, cancel.reason()) {
                // SAFETY: signalling our own child, by the pid we were given for it.
                unsafe {
                    libc::kill(pid as i32, n);
                }
            }
            std::future::pending::<()>().await
        };
        let (status, text, ()) = tokio::select! {
            r = async { tokio::join!(child.wait(), out, err) } => r,
            _ = forward => unreachable!("forwarding never ends"),
        };
        let code = match status {
            Ok(s) => landscape::fleet::member_code(s),
            Err(_) => ExitCode::Local.code(),
        };
        if !text.is_empty() {
            let _guard = self.print.lock().expect("lock");
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "== {} (exit {code}) ==", self.context);
            let _ = stdout.write_all(text.as_bytes());
            let _ = stdout.flush();
        }
        self.outcome(code, start, true)
    }

    fn outcome(&self, code: i32, start: Instant, started: bool) -> Outcome {
        Outcome {
            context: self.context.clone(),
            code,
            duration: start.elapsed(),
            started,
        }
    }

    /// One line on stderr, labelled with the member.
    fn line(&self, text: &str) {
        let _guard = self.print.lock().expect("lock");
        let _ = writeln!(std::io::stderr().lock(), "[{}] {text}", self.context);
    }

    /// The member's progress and errors, each line labelled.
    async fn copy_stderr(&self, stderr: impl AsyncRead + Unpin) {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            self.line(&line);
        }
    }

    /// JSON: each document the member writes, passed on at once as one line with a
    /// `cluster` field. Text: kept, and printed as one block when the member ends (a diff
    /// or a table interleaved with another's would be unreadable); returned.
    async fn read_stdout(&self, stdout: impl AsyncRead + Unpin) -> String {
        let mut lines = BufReader::new(stdout).lines();
        let mut text = String::new();
        while let Ok(Some(line)) = lines.next_line().await {
            text.push_str(&line);
            text.push('\n');
            if self.output != Output::Json {
                continue;
            }
            // A document ends on a line of its own (`}`) when pretty, or is the line.
            let complete = line == "}" || line == "]" || text.len() == line.len() + 1;
            if !complete {
                continue;
            }
            match serde_json::from_str::<Value>(&text) {
                Ok(doc) => {
                    self.emit(doc);
                    text.clear();
                }
                Err(e) if e.is_eof() => {}
                Err(_) => {
                    for l in text.lines() {
                        self.line(l);
                    }
                    text.clear();
                }
            }
        }
        text
    }

    fn emit(&self, doc: Value) {
        let labelled = match doc {
            Value::Object(fields) => {
                let mut m = serde_json::Map::new();
                m.insert("cluster".into(), Value::String(self.context.clone()));
                m.extend(fields);
                Value::Object(m)
            }
            other => json!({"cluster": self.context, "result": other}),
        };
        let _guard = self.print.lock().expect("lock");
        let _ = writeln!(std::io::stdout().lock(), "{labelled}");
    }
}

/// The fleet's summary: a table (text) or a `fleet` event (JSON).
fn report(outcomes: &[Outcome], worst: ExitCode, output: Output) {
    let result = |o: &Outcome| {
        if o.started {
            meaning(o.code)
        } else {
            "not started (stopped)"
        }
    };
    match output {
        Output::Json => {
            let clusters: Vec<Value> = outcomes
                .iter()
                .map(|o| {
                    json!({
                        "cluster": o.context,
                        "exit": o.code,
                        "result": result(o),
                        "duration_ms": o.duration.as_millis() as u64,
                    })
                })
                .collect();
            println!(
                "{}",
                json!({
                    "time": landscape::report::now_rfc3339(),
                    "event": "fleet",
                    "clusters": clusters,
                    "exit": worst.code(),
                })
            );
        }
        Output::Text => {
            let mut rows = vec![[
                "CLUSTER".to_string(),
                "RESULT".to_string(),
                "EXIT".to_string(),
                "TIME".to_string(),
            ]];
            for o in outcomes {
                rows.push([
                    o.context.clone(),
                    result(o).to_string(),
                    o.code.to_string(),
                    landscape::duration::format(o.duration),
                ]);
            }
            print!("{}", landscape::report::table(&rows));
        }
    }
}

/// A word for each exit code (docs/cli.md).
fn meaning(code: i32) -> &'static str {
    match ExitCode::from_code(code) {
        ExitCode::Success => "ok",
        ExitCode::Differences => "differences",
        ExitCode::InvalidInput => "invalid input",
        ExitCode::GateFailed => "not healthy",
        ExitCode::Cluster => "cluster error",
        ExitCode::Artifact => "artifact error",
        ExitCode::Unfit => "cluster unfit",
        ExitCode::Local => "failed",
        ExitCode::Interrupted => "interrupted",
        ExitCode::Terminated => "terminated",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_get_the_command_line_without_the_fleet_flags() {
        let args = [
            "up",
            "--profile",
            "small",
            "--context",
            "a",
            "--context=b",
            "--parallel",
            "2",
            "--parallel=3",
            "-o",
            "json",
        ]
        .map(OsString::from);
        let kept: Vec<String> = without_fleet_flags(args.into_iter())
            .iter()
            .map(|a| a.to_string_lossy().to_string())
            .collect();
        assert_eq!(kept, ["up", "--profile", "small", "-o", "json"]);
    }
}
