//! `doctor`: knowing the cluster before touching it. Each check reads the cluster (never
//! writes), compares it with what the stack will ask of it, and says pass, warn or fail —
//! what it saw, and the fix. `up` runs the same checks before its first write and stops on
//! a failure (exit 6) unless the check is skipped by name.
//!
//! The checks, one module each: the Kubernetes version and removed APIs (`version`), the
//! network already running (`network`), nodes, zones and regions (`topology`), storage
//! classes and the claims the stack makes (`storage`), CPU and memory against what is
//! allocatable (`capacity`), what other installers already own (`installs`), the caller's
//! rights (`rights`), and admission webhooks and Pod Security levels (`admission`).

mod admission;
mod capacity;
mod installs;
mod network;
mod rights;
mod storage;
mod topology;
mod version;

use serde::Serialize;

use crate::cluster::{Cluster, ClusterError};
use crate::inventory::Inventory;
use crate::k8s::Object;
use crate::ownership::Flags;
use crate::render::RenderedComponent;
use crate::stack::Stack;

/// The checks, by the names `--skip-checks` takes, in the order they run.
pub const CHECKS: [&str; 8] = [
    "kubernetes-version",
    "network",
    "topology",
    "storage",
    "capacity",
    "existing-installs",
    "rights",
    "admission",
];

/// How a finding bears on installing the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    /// Worth knowing; does not stop `up`.
    Warn,
    /// The cluster cannot take the stack as it is: `up` stops (exit 6).
    Fail,
}

/// One thing a check saw.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The check's name (one of [`CHECKS`]).
    pub check: &'static str,
    pub status: Status,
    /// What the check saw.
    pub saw: String,
    /// How to fix it (for warnings and failures).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Finding {
    pub fn pass(check: &'static str, saw: impl Into<String>) -> Finding {
        Finding {
            check,
            status: Status::Pass,
            saw: saw.into(),
            fix: None,
        }
    }

    pub fn warn(check: &'static str, saw: impl Into<String>, fix: impl Into<String>) -> Finding {
        Finding {
            check,
            status: Status::Warn,
            saw: saw.into(),
            fix: Some(fix.into()),
        }
    }

    pub fn fail(check: &'static str, saw: impl Into<String>, fix: impl Into<String>) -> Finding {
        Finding {
            check,
            status: Status::Fail,
            saw: saw.into(),
            fix: Some(fix.into()),
        }
    }
}

/// Everything the checks found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub findings: Vec<Finding>,
    /// Checks not run (`--skip-checks`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
}

impl Report {
    /// The worst status found (Pass when nothing was found).
    pub fn worst(&self) -> Status {
        self.findings
            .iter()
            .map(|f| f.status)
            .max()
            .unwrap_or(Status::Pass)
    }

    pub fn failures(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.status == Status::Fail)
    }
}

/// What the checks look at.
pub struct Subject<'a> {
    pub cluster: &'a Cluster,
    pub stack: &'a Stack,
    pub rendered: &'a [RenderedComponent],
    /// The stack's inventory, when it is installed: what is already its own.
    pub inventory: Option<&'a Inventory>,
    /// The flags `up` runs with (`--force-conflicts` turns takeovers into warnings).
    pub flags: Flags,
    /// Charts that do not support the cluster's version (see
    /// [`crate::prepare::Options::report_unfit_charts`]).
    pub unfit_charts: &'a [crate::prepare::UnfitChart],
}

impl Subject<'_> {
    /// Every rendered object with its component's name.
    fn objects(&self) -> impl Iterator<Item = (&str, &Object)> {
        self.rendered
            .iter()
            .flat_map(|r| r.objects.iter().map(move |o| (r.name.as_str(), o)))
    }

    /// Whether the stack owns `live` already (so it is not someone else's).
    fn owns(&self, live: &Object) -> bool {
        self.inventory.is_some_and(|inv| inv.owns_live(live))
    }
}

/// A `--skip-checks` name that is not a check's.
#[derive(Debug, thiserror::Error)]
#[error("--skip-checks: unknown check `{name}` (hint: the checks are {})", CHECKS.join(", "))]
pub struct UnknownCheck {
    pub name: String,
}

/// Checks that the names given to `--skip-checks` are checks.
pub fn check_names(skip: &[String]) -> Result<(), UnknownCheck> {
    match skip.iter().find(|s| !CHECKS.contains(&s.as_str())) {
        Some(unknown) => Err(UnknownCheck {
            name: unknown.clone(),
        }),
        None => Ok(()),
    }
}

/// Runs every check not in `skip`, in order. A check the caller has not the rights to
/// make (a read answered 403) is a warning saying so, not an error: `doctor` is most
/// useful exactly when rights are short, and the rights check lists what is missing.
pub async fn examine(subject: &Subject<'_>, skip: &[String]) -> Result<Report, ClusterError> {
    let nodes = forbidden_as_none(subject.cluster.list("v1", "Node", None, "").await)?;
    let mut report = Report {
        skipped: skip.to_vec(),
        ..Report::default()
    };
    for check in CHECKS {
        if skip.iter().any(|s| s == check) {
            continue;
        }
        let found = match (check, &nodes) {
            ("kubernetes-version", _) => Ok(version::check(subject)),
            ("storage", _) => storage::check(subject).await,
            ("existing-installs", _) => installs::check(subject).await,
            ("rights", _) => rights::check(subject).await,
            ("admission", _) => admission::check(subject).await,
            (_, None) => Err(forbidden("list nodes")),
            ("network", Some(nodes)) => network::check(subject, nodes).await,
            ("topology", Some(nodes)) => Ok(topology::check(subject, nodes)),
            ("capacity", Some(nodes)) => capacity::check(subject, nodes).await,
            _ => unreachable!("every check is matched"),
        };
        match found {
            Ok(found) => report.findings.extend(found),
            Err(e) if e.code() == 403 => report.findings.push(Finding::warn(
                check,
                format!("cannot tell: the caller may not read what this check needs ({e})"),
                "run doctor with a kubeconfig that may read the cluster (the rights check lists what `up` needs)",
            )),
            Err(e) => return Err(e),
        }
    }
    Ok(report)
}

fn forbidden_as_none<T>(r: Result<T, ClusterError>) -> Result<Option<T>, ClusterError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.code() == 403 => Ok(None),
        Err(e) => Err(e),
    }
}

/// The 403 a check gets when a read it needs was refused before.
fn forbidden(what: &str) -> ClusterError {
    ClusterError::Api {
        action: "read",
        object: what.to_string(),
        status: Box::new(crate::cluster::error::ApiStatus {
            code: 403,
            reason: "Forbidden".into(),
            message: format!("{what}: forbidden"),
            ..Default::default()
        }),
    }
}
