//! `landscape down`: uninstall a stack.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use clap::Args;

use landscape::ExitCode;
use landscape::cancel::Cancel;
use landscape::cluster::Cluster;
use landscape::engine::{self, DownOptions};

use super::args::{InstalledArgs, KubeArgs, OwnershipArgs, StackArgs, parse_duration};
use super::{GlobalArgs, Output, installed, up::sink};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  landscape down --profile small --yes
  landscape down --yes --delete-volumes          # the only installed stack, data included
  landscape down --stack platform.yaml --yes --delete-crds --wait-for-lock 5m")]
pub struct DownArgs {
    #[command(flatten)]
    pub output: GlobalArgs,
    #[command(flatten)]
    pub stack: StackArgs,
    #[command(flatten)]
    pub installed: InstalledArgs,
    #[command(flatten)]
    pub kube: KubeArgs,
    #[command(flatten)]
    pub ownership: OwnershipArgs,
    /// Do not ask for confirmation (required without a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// How long to wait for deletions (finalizers included), and for the cluster to answer.
    #[arg(long, value_parser = parse_duration, default_value = "10m", value_name = "DURATION")]
    pub timeout: Duration,
    /// When another run holds the stack's lock, wait this long for it (default: exit 4 at once).
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub wait_for_lock: Option<Duration>,
}

pub async fn run(args: DownArgs, global: &GlobalArgs, cancel: Cancel) -> anyhow::Result<ExitCode> {
    let cluster = Cluster::connect(&args.kube.cluster_args(Some(args.timeout))?)
        .await
        .map_err(landscape::Error::from)?;
    let inv = installed::one(&args.stack, &args.installed, &cluster).await?;
    let objects: usize = inv.members().len();
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(landscape::Error::Usage(format!(
                "refusing to remove stack `{}` ({objects} objects) without confirmation (hint: pass --yes)",
                inv.stack()
            ))
            .into());
        }
        eprint!(
            "Remove stack `{}` from {} — {} components, {objects} objects{}? [y/N] ",
            inv.stack(),
            cluster.server(),
            inv.components.len(),
            if args.ownership.delete_crds || args.ownership.delete_volumes {
                ", including CRDs/volumes"
            } else {
                ""
            }
        );
        std::io::stderr()
            .flush()
            .map_err(|e| landscape::Error::write("standard error", e))?;
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .map_err(|e| landscape::Error::Usage(format!("cannot read standard input: {e}")))?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            eprintln!("nothing removed");
            return Ok(ExitCode::Success);
        }
    }
    let sink = sink(global);
    let opts = DownOptions {
        timeout: args.timeout,
        flags: args.ownership.flags(false),
        wait_for_lock: args.wait_for_lock,
    };
    cancel.arm();
    let report = engine::down(&cluster, inv.stack(), sink.as_ref(), &opts, &cancel)
        .await
        .map_err(landscape::Error::from)?;
    if global.output() == Output::Text {
        println!(
            "Removed stack `{}`{}.",
            inv.stack(),
            if report.retained.is_empty() {
                String::new()
            } else {
                format!(
                    "; kept {} objects (CRDs, volumes: --delete-crds, --delete-volumes to remove them)",
                    report.retained.len()
                )
            }
        );
        if !report.released.is_empty() {
            println!(
                "  released {} adopted objects (left in place; --delete-adopted to delete them)",
                report.released.len()
            );
        }
        for n in &report.notes {
            println!("  {n}");
        }
        for s in &report.stuck {
            println!("  not gone yet: {s}");
        }
    }
    Ok(if report.stuck.is_empty() {
        ExitCode::Success
    } else {
        ExitCode::GateFailed
    })
}
