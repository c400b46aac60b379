//! The command line: clap types, shared flags ([`args`]), and one small module per
//! subcommand that turns flags into a library call and the result into output and an exit
//! code.

mod args;
mod bundle;
mod check;
mod completion;
mod diff;
mod doctor;
mod down;
mod fleet;
mod images;
mod installed;
mod lint;
mod lock;
mod migrate;
mod plan;
mod profiles;
mod render;
mod status;
mod up;

use std::time::Duration;

use clap::{Parser, Subcommand};

use landscape::ExitCode;
use landscape::cancel::Cancel;
use landscape::cluster::ClusterError;

pub use args::{Format, GlobalArgs, Output};

/// Takes a bare Kubernetes cluster to a production-grade platform in one command.
#[derive(Debug, Parser)]
#[command(
    name = "landscape",
    version,
    about,
    max_term_width = 100,
    after_help = "Exit codes: 0 success; 1 differences found (diff) or findings (lint); 2 invalid \
                  input or usage; 3 a health gate failed or timed out, or an object is not \
                  ready (check, wait); 4 cluster or API error, or the stack is \
                  locked by another run; 5 artifact error; 6 the cluster cannot take the stack \
                  (doctor's checks); 7 a local failure (a file landscape \
                  must write); 130/143 interrupted by SIGINT/SIGTERM (run again to resume)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the built-in profiles, or show one.
    Profiles(profiles::ProfilesArgs),
    /// Show the dependency graph: order, needs and the critical path.
    Plan(plan::PlanArgs),
    /// Render every object the stack would apply (multi-document YAML, or one folder per component).
    Render(render::RenderArgs),
    /// Install the stack: apply each component in dependency order, gated on health.
    Up(up::UpArgs),
    /// Show what `up` would change: per component, create, update (with a diff), delete.
    Diff(diff::DiffArgs),
    /// Check the cluster before installing: version, network, topology, storage, capacity,
    /// existing installs, rights and admission — pass, warn or fail, with the fix.
    Doctor(doctor::DoctorArgs),
    /// Show the health of installed stacks, component by component.
    Status(status::StatusArgs),
    /// Uninstall a stack: everything it owns, dependents first, namespaces last.
    Down(down::DownArgs),
    /// Write landscape.lock: every artifact and chart with its digest, every image.
    Lock(lock::LockArgs),
    /// Write every artifact of the stack into a directory, for installing with no network.
    Bundle(bundle::BundleArgs),
    /// List every container image the stack uses.
    Images(images::ImagesArgs),
    /// Rewrite a CRD's custom resources at its storage version, then trim storedVersions.
    MigrateStorage(migrate::MigrateArgs),
    /// Assess manifests as written (status included) by the health rules: ready,
    /// progressing or failed per object, no cluster; exit 3 unless all are ready.
    Check(check::CheckArgs),
    /// Wait until the objects of manifests are healthy in the cluster, with `up`'s
    /// diagnostics (after your own `kubectl apply`).
    Wait(check::WaitArgs),
    /// Check the stack's objects (or manifests, with -f) against the anti-patterns
    /// platform policies forbid: exit 1 on findings; -o sarif for code scanning.
    Lint(lint::LintArgs),
    /// Print the shell completion script for bash, zsh, fish or PowerShell.
    Completion(completion::CompletionArgs),
    /// Print the man page (or write one per subcommand with --out DIR).
    Man(completion::ManArgs),
}

/// Refuses an `-o` format the command does not write, before it runs.
fn check_format(command: &Command) -> Result<(), landscape::Error> {
    let (name, global, extra): (&str, &GlobalArgs, &[Format]) = match command {
        Command::Plan(a) => ("plan", &a.output, &[Format::Dot, Format::Mermaid]),
        Command::Lint(a) => ("lint", &a.output, &[Format::Sarif]),
        Command::Check(a) => ("check", &a.output, &[]),
        Command::Wait(a) => ("wait", &a.output, &[]),
        Command::Profiles(a) => ("profiles", &a.output, &[]),
        Command::Render(a) => ("render", &a.output, &[]),
        Command::Up(a) => ("up", &a.output, &[]),
        Command::Diff(a) => ("diff", &a.output, &[]),
        Command::Doctor(a) => ("doctor", &a.output, &[]),
        Command::Status(a) => ("status", &a.output, &[]),
        Command::Down(a) => ("down", &a.output, &[]),
        Command::Lock(a) => ("lock", &a.output, &[]),
        Command::Images(a) => ("images", &a.output, &[]),
        Command::MigrateStorage(a) => ("migrate-storage", &a.output, &[]),
        Command::Bundle(_) | Command::Completion(_) | Command::Man(_) => return Ok(()),
    };
    global.format.check(name, extra)
}

/// Runs a command that only reads the cluster within `limit`, if one is given: past it, the
/// command ends with a cluster error (exit 4), as a cluster that does not answer is one.
async fn within(
    limit: Option<Duration>,
    command: &str,
    run: impl std::future::Future<Output = anyhow::Result<ExitCode>>,
) -> anyhow::Result<ExitCode> {
    let Some(limit) = limit else {
        return run.await;
    };
    tokio::time::timeout(limit, run).await.unwrap_or_else(|_| {
        Err(landscape::Error::Cluster(ClusterError::Deadline {
            what: command.to_string(),
            limit,
        })
        .into())
    })
}

/// Runs a command; returns the exit code for successful runs (diff may return 1). `cancel`
/// is set when a signal asks the run to stop.
pub async fn run(cli: Cli, cancel: Cancel) -> anyhow::Result<ExitCode> {
    check_format(&cli.command)?;
    match cli.command {
        Command::Profiles(args) => {
            let out = args.output.clone();
            profiles::run(args, &out)
        }
        Command::Plan(args) => {
            let out = args.output.clone();
            plan::run(args, &out).await
        }
        Command::Render(args) => {
            let out = args.output.clone();
            render::run(args, &out).await
        }
        Command::Up(args) => {
            let out = args.output.clone();
            up::run(args, &out, cancel).await
        }
        Command::Lock(args) => {
            let out = args.output.clone();
            lock::run(args, &out).await
        }
        Command::Bundle(args) => bundle::run(args).await,
        Command::Diff(args) => {
            let out = args.output.clone();
            // A fleet's members bound themselves; the fleet waits for the last of them.
            let limit = args
                .timeout
                .filter(|_| fleet::members(&args.kube).is_none());
            within(limit, "diff", diff::run(args, &out)).await
        }
        Command::Doctor(args) => {
            let out = args.output.clone();
            within(args.timeout, "doctor", doctor::run(args, &out)).await
        }
        Command::Status(args) => {
            let out = args.output.clone();
            let limit = args
                .timeout
                .filter(|_| fleet::members(&args.kube).is_none());
            within(limit, "status", status::run(args, &out)).await
        }
        Command::Down(args) => {
            let out = args.output.clone();
            down::run(args, &out, cancel).await
        }
        Command::Images(args) => {
            let out = args.output.clone();
            images::run(args, &out).await
        }
        Command::MigrateStorage(args) => {
            let out = args.output.clone();
            within(args.timeout, "migrate-storage", migrate::run(args, &out)).await
        }
        Command::Check(args) => {
            let out = args.output.clone();
            check::check(&args, &out)
        }
        Command::Wait(args) => {
            let out = args.output.clone();
            check::wait(args, &out, cancel).await
        }
        Command::Lint(args) => {
            let out = args.output.clone();
            lint::run(args, &out).await
        }
        Command::Completion(args) => completion::completion(&args),
        Command::Man(args) => completion::man(&args),
    }
}
