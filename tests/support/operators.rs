//! Operators for the simulated pods: the real programs where they run outside a pod
//! (tests/testbed/operators.py), stand-ins for the rest (tests/testbed/stand-in.py).
//!
//! kwok simulates pods, not the programs in them. [`run`] starts the upstream programs
//! themselves — metrics-server behind the real API aggregation, the Prometheus Operator —
//! for the pods of their workloads. The others (Kyverno, Rook, Velero's storage, …) are
//! played by a stand-in that writes exactly the status the real operator would write once
//! its work is done; tests that use it say so in their names. The gates themselves are
//! never relaxed for tests.

use std::process::{Child, Command, Stdio};

use super::Testbed;

/// A running stand-in or set of operators; stops them when dropped.
pub struct StandIn(Child);

impl Drop for StandIn {
    /// SIGTERM first: operators.py then stops the programs it runs.
    fn drop(&mut self) {
        // SAFETY: signalling our own child by its pid.
        unsafe {
            libc::kill(self.0.id() as i32, libc::SIGTERM);
        }
        for _ in 0..100 {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The real operators `parts` (`metrics-server`, `prometheus-operator`), run for the pods
/// of their workloads until dropped; their logs go to the control plane's `logs/operators`.
pub fn run(tb: &Testbed, parts: &[&str]) -> StandIn {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin = std::env::var_os("LANDSCAPE_OPERATORS_BIN").unwrap_or_else(|| {
        let out = Command::new(repo.join("tests/testbed/build.sh"))
            .arg("--print")
            .output()
            .expect("build.sh prints where the binaries are");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .nth(4)
            .expect("the operators' directory")
            .into()
    });
    let logs = tb.state_dir.join("logs/operators");
    std::fs::create_dir_all(&logs).expect("the operators' log directory");
    let child = Command::new("python3")
        .arg(repo.join("tests/testbed/operators.py"))
        .args(parts)
        .env("KUBECONFIG", &tb.kubeconfig)
        .env("LANDSCAPE_OPERATORS_BIN", bin)
        .env("LANDSCAPE_OPERATORS_LOGS", &logs)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs the operators");
    StandIn(child)
}

/// Plays the given operators' parts (`prometheus-operator`, `kyverno`, `cert-manager`,
/// `gatekeeper`, `rook`, `velero`, `tigera`, `argocd`) until dropped.
pub fn play(tb: &Testbed, parts: &[&str]) -> StandIn {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testbed/stand-in.py");
    let child = Command::new("python3")
        .arg(script)
        .args(parts)
        .env("KUBECONFIG", &tb.kubeconfig)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs the stand-in");
    StandIn(child)
}
