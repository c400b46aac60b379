//! Stand-ins for operators that simulated pods cannot run (tests/testbed/stand-in.py).
//!
//! kwok simulates pods, not the programs in them, so no Prometheus Operator or Kyverno
//! controller ever writes the status their custom resources are gated on. Tests that
//! install those components start a stand-in that writes exactly that status — what the
//! real operator would write once its work is done — and say so in their names. The gates
//! themselves are never relaxed for tests.

use std::process::{Child, Command, Stdio};

use super::Testbed;

/// A running stand-in; stops when dropped.
pub struct StandIn(Child);

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
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
