//! `landscape down`: uninstall a stack.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use clap::Args;

use landscape::ExitCode;
use landscape::cluster::Cluster;
use landscape::engine::{self, DownOptions};

use super::{GlobalArgs, KubeArgs, Output, StackArgs, installed, parse_duration, up::sink};

#[derive(Debug, Args)]
pub struct DownArgs {
    #[command(flatten)]
    pub output: GlobalArgs,
    #[command(flatten)]
    pub stack: StackArgs,
    #[command(flatten)]
    pub kube: KubeArgs,
    /// Do not ask for confirmation (required without a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// How long to wait for deletions (finalizers included).
    #[arg(long, value_parser = parse_duration, default_value = "10m", value_name = "DURATION")]
    pub timeout: Duration,
    /// Also delete CustomResourceDefinitions (and every custom resource of their kinds).
    #[arg(long)]
    pub delete_crds: bool,
    /// Also delete PersistentVolumeClaims (and their data).
    #[arg(long)]
    pub delete_volumes: bool,
}

pub async fn run(args: DownArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let cluster = Cluster::connect(&args.kube.cluster_args())
        .await
        .map_err(landscape::Error::from)?;
    let inv = installed::one(&args.stack, &cluster).await?;
    let objects: usize = inv.components.values().map(|c| c.objects.len()).sum();
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(landscape::Error::Usage(format!(
                "refusing to remove stack `{}` ({objects} objects) without confirmation (hint: pass --yes)",
                inv.stack
            ))
            .into());
        }
        eprint!(
            "Remove stack `{}` from {} — {} components, {objects} objects{}? [y/N] ",
            inv.stack,
            cluster.server(),
            inv.components.len(),
            if args.delete_crds || args.delete_volumes {
                ", including CRDs/volumes"
            } else {
                ""
            }
        );
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            eprintln!("nothing removed");
            return Ok(ExitCode::Success);
        }
    }
    let sink = sink(global);
    let opts = DownOptions {
        timeout: args.timeout,
        delete_crds: args.delete_crds,
        delete_volumes: args.delete_volumes,
    };
    let report = engine::down(&cluster, &inv.stack, sink.as_ref(), &opts)
        .await
        .map_err(landscape::Error::from)?;
    if global.output == Output::Text {
        println!(
            "Removed stack `{}`{}.",
            inv.stack,
            if report.retained.is_empty() {
                String::new()
            } else {
                format!(
                    "; kept {} objects (CRDs, volumes: --delete-crds, --delete-volumes to remove them)",
                    report.retained.len()
                )
            }
        );
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
