//! One stack on several clusters: the members of a fleet (kubeconfig contexts), the outcome
//! of the whole run, and how the first member's Argo CD learns of the others.
//!
//! Each member is an independent run with its own inventory, lock and exit code; a fleet
//! only chooses the members, and reduces their exit codes to one.

mod register;

pub use register::{RegisterError, registration};

use kube::config::Kubeconfig;

use crate::ExitCode;

/// The contexts of a fleet, checked against the kubeconfig before any member starts: each
/// named once, each present.
pub fn check_members(kubeconfig: &Kubeconfig, contexts: &[String]) -> Result<(), String> {
    for (i, c) in contexts.iter().enumerate() {
        if contexts[..i].contains(c) {
            return Err(format!(
                "--context {c} is given twice (hint: name each cluster once)"
            ));
        }
        if !kubeconfig.contexts.iter().any(|n| &n.name == c) {
            let known: Vec<&str> = kubeconfig
                .contexts
                .iter()
                .map(|n| n.name.as_str())
                .collect();
            return Err(format!(
                "--context {c}: no such context in the kubeconfig (hint: it has {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ));
        }
    }
    Ok(())
}

/// The kubeconfig the members are named in: the one given, else `KUBECONFIG` (its files
/// merged) or `~/.kube/config`, as for a single cluster.
pub fn kubeconfig(path: Option<&std::path::Path>) -> Result<Kubeconfig, String> {
    match path {
        Some(p) => Kubeconfig::read_from(p).map_err(|e| format!("{}: {e}", p.display())),
        None => Kubeconfig::read().map_err(|e| format!("the kubeconfig: {e}")),
    }
}

/// The exit code of a member process: its own, or 128 + the signal that ended it (as a
/// shell reports it).
pub fn member_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(ExitCode::Local.code())
}

/// The outcome of the fleet: the worst of its members. Exit codes grow with severity
/// (differences < input < gate < cluster < artifact < unfit < local < signals), so the
/// worst is the largest.
pub fn worst(codes: impl IntoIterator<Item = i32>) -> ExitCode {
    codes
        .into_iter()
        .max()
        .map(ExitCode::from_code)
        .unwrap_or(ExitCode::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kubeconfig(contexts: &[&str]) -> Kubeconfig {
        let text = format!(
            "apiVersion: v1\nkind: Config\ncontexts:\n{}",
            contexts
                .iter()
                .map(|c| format!("- name: {c}\n  context: {{cluster: {c}, user: {c}}}\n"))
                .collect::<String>()
        );
        Kubeconfig::from_yaml(&text).unwrap()
    }

    #[test]
    fn members_must_exist_and_be_named_once() {
        let k = kubeconfig(&["eu", "us"]);
        let ok =
            |c: &[&str]| check_members(&k, &c.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert!(ok(&["eu", "us"]).is_ok());
        let twice = ok(&["eu", "eu"]).unwrap_err();
        assert!(twice.contains("--context eu is given twice"), "{twice}");
        let missing = ok(&["eu", "ap"]).unwrap_err();
        assert!(
            missing.contains("--context ap: no such context"),
            "{missing}"
        );
        assert!(missing.contains("it has eu, us"), "{missing}");
    }

    #[test]
    fn the_worst_member_decides() {
        assert_eq!(worst([0, 0]), ExitCode::Success);
        assert_eq!(worst([0, 1]), ExitCode::Differences);
        assert_eq!(worst([3, 0, 4]), ExitCode::Cluster);
        assert_eq!(worst([4, 130]), ExitCode::Interrupted);
        assert_eq!(worst([]), ExitCode::Success);
        // A member killed by a signal nobody expects is a local failure, not success.
        assert_eq!(worst([0, 137]), ExitCode::Local);
    }
}
