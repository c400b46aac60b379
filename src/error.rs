//! Typed errors of the library and the exit codes they map to.
//!
//! Every failure a user can meet falls into one of four classes, and each class has one
//! exit code (docs/cli.md), so a CI pipeline can tell "fix your input" from "the cluster is
//! down" from "a component did not become healthy" without parsing messages.

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
    /// The cluster could not be reached or an API call failed.
    Cluster = 4,
    /// An artifact could not be downloaded, parsed or verified.
    Artifact = 5,
}

impl ExitCode {
    pub fn code(self) -> i32 {
        self as i32
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
    Run(#[from] engine::RunError),
    /// Wrong use of the command line that clap cannot catch (conflicting inputs, …).
    #[error("{0}")]
    Usage(String),
}

impl Error {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Stack(_) | Error::Plan(_) | Error::Usage(_) => ExitCode::InvalidInput,
            Error::Render(e) => e.exit_code(),
            Error::Source(e) => e.exit_code(),
            Error::Cluster(_) => ExitCode::Cluster,
            Error::Run(e) => e.exit_code(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
