//! `landscape up`: install the stack, gated on health.

use std::io::IsTerminal;
use std::time::Duration;

use clap::Args;

use landscape::ExitCode;
use landscape::cluster::Cluster;
use landscape::engine::{self, RunOptions};
use landscape::health::HealthOptions;
use landscape::report::{self, JsonSink, PlainSink, Sink, TerminalSink};

use super::{GlobalArgs, KubeArgs, Output, SourceArgs, StackArgs, parse_duration};

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub output: GlobalArgs,
    #[command(flatten)]
    pub stack: StackArgs,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub kube: KubeArgs,
    /// Bound the whole run (each component also has its own timeout), e.g. 30m.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: Option<Duration>,
    /// Take over objects that exist but are owned by another tool or stack.
    #[arg(long)]
    pub force_conflicts: bool,
    /// Also wait for LoadBalancer Services to get an address.
    #[arg(long)]
    pub wait_for_load_balancers: bool,
    /// Delete objects a component no longer renders, once it is healthy (--prune=false to keep them).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub prune: bool,
    /// Let pruning delete CustomResourceDefinitions (and every custom resource of their kinds).
    #[arg(long)]
    pub delete_crds: bool,
    /// Let pruning delete PersistentVolumeClaims (and their data).
    #[arg(long)]
    pub delete_volumes: bool,
}

/// The sink for the chosen output: NDJSON, live terminal lines, or plain CI lines.
pub fn sink(global: &GlobalArgs) -> Box<dyn Sink> {
    match global.output {
        Output::Json => Box::new(JsonSink::stdout()),
        Output::Text if std::io::stderr().is_terminal() => Box::new(TerminalSink::new(
            !global.no_color && std::env::var_os("NO_COLOR").is_none(),
        )),
        Output::Text => Box::new(PlainSink::stderr()),
    }
}

pub async fn run(args: UpArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let request = args.stack.request();
    // Input errors come before cluster errors: check the stack before connecting.
    landscape::prepare::load_complete(&request)?;
    let cluster = Cluster::connect(&args.kube.cluster_args())
        .await
        .map_err(landscape::Error::from)?;
    let prepared =
        landscape::prepare::prepare(&request, &args.source.options(cluster.capabilities())).await?;
    let opts = RunOptions {
        timeout: args.timeout,
        health: HealthOptions {
            load_balancers: args.wait_for_load_balancers,
        },
        force_conflicts: args.force_conflicts,
        prune: args.prune,
        delete_crds: args.delete_crds,
        delete_volumes: args.delete_volumes,
        inputs: landscape::prepare::inputs(&request, &prepared.stack),
    };
    engine::preflight(
        &prepared.stack,
        &prepared.plan,
        &prepared.rendered,
        &cluster,
        &opts,
    )
    .await
    .map_err(landscape::Error::from)?;
    let sink = sink(global);
    let result = engine::up(
        &prepared.stack,
        &prepared.plan,
        &prepared.rendered,
        &cluster,
        sink.as_ref(),
        &opts,
    )
    .await;
    if let Ok(summary) | Err(engine::RunError::Failed { summary, .. }) = &result
        && global.output == Output::Text
    {
        print!("{}", report::summary_table(summary));
    }
    result.map_err(landscape::Error::from)?;
    Ok(ExitCode::Success)
}
