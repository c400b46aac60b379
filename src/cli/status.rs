//! `landscape status`: the health of installed stacks, by the same gates `up` uses.

use clap::Args;

use landscape::ExitCode;
use landscape::cancel::Cancel;
use landscape::cluster::Cluster;
use landscape::health::HealthOptions;

use super::args::{InstalledArgs, KubeArgs, SelectArgs, StackArgs, parse_duration};
use super::fleet::{self, FleetArgs};
use super::{GlobalArgs, Output, installed};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  landscape status                     # every installed stack
  landscape status --profile small -o json
  landscape status --timeout 30s || echo 'not healthy (3) or not reachable (4)'
  landscape status --only argocd,grafana   # those components alone decide the exit code
  landscape status --context eu --context us   # a line per cluster, the worst exit code")]
pub struct StatusArgs {
    #[command(flatten)]
    pub output: GlobalArgs,
    #[command(flatten)]
    pub stack: StackArgs,
    #[command(flatten)]
    pub installed: InstalledArgs,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub kube: KubeArgs,
    #[command(flatten)]
    pub fleet: FleetArgs,
    /// Give up (exit 4) when the cluster has not answered everything within this, e.g. 2m.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: Option<std::time::Duration>,
    /// Also require LoadBalancer Services to have an address.
    #[arg(long)]
    pub wait_for_load_balancers: bool,
}

pub async fn run(args: StatusArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    if fleet::members(&args.kube).is_some() {
        fleet::check(&args.kube)?;
        return fleet::run(
            &args.kube,
            &args.fleet,
            global.output(),
            None,
            Cancel::new(),
        )
        .await;
    }
    let cluster = Cluster::connect(&args.kube.cluster_args(args.timeout)?)
        .await
        .map_err(landscape::Error::from)?;
    let named = args.installed.installed.is_some() || args.stack.names_a_stack();
    let inventories = installed::inventories(&args.stack, &args.installed, &cluster).await?;
    let opts = HealthOptions {
        load_balancers: args.wait_for_load_balancers,
    };
    let mut stacks = Vec::new();
    for inv in inventories.iter().filter(|i| !i.components.is_empty()) {
        stacks.push(
            landscape::engine::status(&cluster, inv, &opts)
                .await
                .map_err(landscape::Error::from)?,
        );
    }
    select(&mut stacks, &args.select.selection())?;
    // Nothing installed is nothing unhealthy.
    let healthy = stacks.iter().all(|s| s.healthy);
    match global.output() {
        Output::Json => println!(
            "{}",
            serde_json::json!({"stacks": stacks, "healthy": healthy})
        ),
        Output::Text => {
            if stacks.is_empty() {
                println!(
                    "Nothing installed: no landscape stack{} in this cluster.",
                    if named { " by that name" } else { "" }
                );
            }
            for s in &stacks {
                println!(
                    "Stack {}{}: {}",
                    s.stack,
                    s.profile
                        .as_ref()
                        .map(|p| format!(" (profile {p})"))
                        .unwrap_or_default(),
                    if s.healthy { "healthy" } else { "NOT healthy" }
                );
                let mut rows = vec![[
                    "COMPONENT".to_string(),
                    "VERSION".to_string(),
                    "HEALTH".to_string(),
                    "OBJECTS".to_string(),
                    "LAST APPLIED".to_string(),
                ]];
                for c in &s.components {
                    rows.push([
                        c.name.clone(),
                        c.version.clone().unwrap_or_default(),
                        match &c.reason {
                            Some(r) => format!("{}: {r}", c.health),
                            None => c.health.to_string(),
                        },
                        c.objects.to_string(),
                        c.last_applied.clone(),
                    ]);
                }
                print!("{}", landscape::report::table(&rows));
                if s.retained > 0 {
                    println!(
                        "{} objects kept from earlier runs (CRDs, volumes).",
                        s.retained
                    );
                }
                println!();
            }
        }
    }
    Ok(if healthy {
        ExitCode::Success
    } else {
        ExitCode::GateFailed
    })
}

/// Keeps the components `--only` and `--skip` name (exactly those: status adds no needs),
/// and judges each stack's health on them alone.
fn select(
    stacks: &mut [landscape::engine::StackStatus],
    selection: &landscape::plan::Selection,
) -> Result<(), landscape::Error> {
    if !selection.is_partial() {
        return Ok(());
    }
    let known: Vec<&str> = stacks
        .iter()
        .flat_map(|s| s.components.iter().map(|c| c.name.as_str()))
        .collect();
    for (flag, names) in [("--only", &selection.only), ("--skip", &selection.skip)] {
        if let Some(unknown) = names.iter().find(|n| !known.contains(&n.as_str())) {
            return Err(landscape::Error::Usage(format!(
                "{flag} {unknown}: no installed component `{unknown}` (hint: {})",
                landscape::stack::did_you_mean(unknown, known.iter().copied())
            )));
        }
    }
    for s in stacks {
        s.components.retain(|c| {
            (selection.only.is_empty() || selection.only.contains(&c.name))
                && !selection.skip.contains(&c.name)
        });
        s.healthy = s
            .components
            .iter()
            .all(|c| c.health == landscape::engine::HealthState::Healthy);
    }
    Ok(())
}
