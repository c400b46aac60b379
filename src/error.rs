//! Typed errors of the library and the exit codes they map to.
//!
//! Every failure a user can meet falls into a class, and each class has one exit code
//! (docs/cli.md), so a CI pipeline can tell "fix your input" from "the cluster is down"
//! from "a component did not become healthy" without parsing messages.

use std::path::PathBuf;

use crate::{cluster, engine, plan, render, source, stack};

/// The exit codes of the `landscape` binary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitCode {
    /// Everything worked (and, for `diff`, nothing would change).
    Success = 0,
    /// `diff` only: differences were found.
    Differences = 1,
    /// Invalid input or usage: stack and values files, flags, templates, the graph.
    InvalidInput = 2,
    /// A health gate failed or timed out.
    GateFailed = 3,
    /// The cluster could not be reached, an API call failed, or the stack is locked.
    Cluster = 4,
    /// An artifact could not be downloaded, parsed or verified.
    Artifact = 5,
    /// The cluster cannot take this stack: a check of `doctor` (and of `up`) failed.
    Unfit = 6,
    /// landscape could not do its own part: a file it had to write, or an internal error.
    Local = 7,
    /// Interrupted by SIGINT (128 + 2), after recording what was done.
    Interrupted = 130,
    /// Terminated by SIGTERM (128 + 15), after recording what was done.
    Terminated = 143,
}

impl ExitCode {
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The exit code a landscape process returned (a fleet member's); any other number —
    /// a crash, a signal nobody sent on purpose — is a local failure.
    pub fn from_code(code: i32) -> ExitCode {
        [
            ExitCode::Success,
            ExitCode::Differences,
            ExitCode::InvalidInput,
            ExitCode::GateFailed,
            ExitCode::Cluster,
            ExitCode::Artifact,
            ExitCode::Unfit,
            ExitCode::Local,
            ExitCode::Interrupted,
            ExitCode::Terminated,
        ]
        .into_iter()
        .find(|c| c.code() == code)
        .unwrap_or(ExitCode::Local)
    }
}

/// Any error the library returns.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Stack(#[from] stack::StackError),
    #[error(transparent)]
    Plan(#[from] plan::PlanError),
    #[error(transparent)]
    Source(#[from] source::SourceError),
    #[error(transparent)]
    Render(#[from] render::RenderError),
    #[error(transparent)]
    Cluster(#[from] cluster::ClusterError),
    #[error(transparent)]
    Run(Box<engine::RunError>),
    #[error(transparent)]
    Migrate(#[from] engine::migrate::MigrateError),
    /// A saved plan that cannot be read, or that the run no longer matches.
    #[error(transparent)]
    Review(#[from] crate::review::ReviewError),
    /// `--only` or `--skip` names no component.
    #[error(transparent)]
    Select(#[from] crate::plan::UnknownComponent),
    /// A chart does not support the cluster's Kubernetes version.
    #[error(transparent)]
    UnfitChart(#[from] crate::prepare::UnfitChart),
    /// Wrong use of the command line that clap cannot catch (conflicting inputs, …).
    #[error("{0}")]
    Usage(String),
    /// A stack a command names is not installed in the cluster.
    #[error("{}", not_installed(.0))]
    NotInstalled(String),
    /// A file landscape had to write (or a directory it had to create).
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl From<engine::RunError> for Error {
    fn from(e: engine::RunError) -> Self {
        Error::Run(Box::new(e))
    }
}

/// The one message for a stack that is not installed, whatever the command.
pub fn not_installed(stack: &str) -> String {
    format!(
        "stack `{stack}` is not installed in this cluster (hint: `landscape status` lists the installed stacks)"
    )
}

impl Error {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Stack(_) | Error::Plan(_) | Error::Usage(_) | Error::NotInstalled(_) => {
                ExitCode::InvalidInput
            }
            Error::Render(e) => e.exit_code(),
            Error::Source(e) => e.exit_code(),
            Error::Cluster(_) => ExitCode::Cluster,
            Error::Run(e) => e.exit_code(),
            Error::Migrate(engine::migrate::MigrateError::Cluster(_)) => ExitCode::Cluster,
            Error::Migrate(_) => ExitCode::InvalidInput,
            Error::Write { .. } => ExitCode::Local,
            Error::UnfitChart(_) => ExitCode::Unfit,
            Error::Select(_) => ExitCode::InvalidInput,
            Error::Review(e) => e.exit_code(),
        }
    }

    /// A write error naming its path.
    pub fn write(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Write {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
