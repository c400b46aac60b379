//! `landscape up`: install the stack, gated on health.

use std::io::IsTerminal;
use std::time::Duration;

use clap::Args;

use landscape::ExitCode;
use landscape::cancel::Cancel;
use landscape::cluster::Cluster;
use landscape::engine::{self, Install, RunOptions};
use landscape::health::HealthOptions;
use landscape::report::{self, JsonSink, PlainSink, Sink, TerminalSink};

use super::args::{
    KubeArgs, OwnershipArgs, SelectArgs, SourceArgs, StackArgs, UpgradeArgs, parse_duration,
};
use super::fleet::{self, FleetArgs};
use super::{GlobalArgs, Output};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  landscape up --profile small -f values.yaml
  landscape up --stack platform.yaml --locked -o json > events.ndjson
  landscape up --profile medium --timeout 30m --wait-for-lock 10m
  landscape up --only grafana --no-needs          # grafana alone; what it needs must be healthy
  landscape up --stack platform.yaml --plan reviewed.plan   # exactly what was reviewed
  landscape up --profile large --context eu --context us --parallel 2   # a fleet")]
pub struct UpArgs {
    #[command(flatten)]
    pub output: GlobalArgs,
    #[command(flatten)]
    pub stack: StackArgs,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub kube: KubeArgs,
    #[command(flatten)]
    pub fleet: FleetArgs,
    #[command(flatten)]
    pub ownership: OwnershipArgs,
    #[command(flatten)]
    pub upgrade: UpgradeArgs,
    /// Bound the whole run, connecting included (each component also has its own
    /// timeout), e.g. 30m.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: Option<Duration>,
    /// Take over objects that exist but are owned by another tool or stack (recorded as
    /// adopted: released, not deleted, when the stack lets go of them).
    #[arg(long)]
    pub force_conflicts: bool,
    /// Install even though the stack of this name in the cluster came from another stack
    /// file or profile (it is replaced).
    #[arg(long)]
    pub take_over_stack: bool,
    /// When another run holds the stack's lock, wait this long for it (default: exit 4 at once).
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub wait_for_lock: Option<Duration>,
    /// Also wait for LoadBalancer Services to get an address.
    #[arg(long)]
    pub wait_for_load_balancers: bool,
    /// Send every object, even those in sync with what was last applied (the fast path
    /// skips them: one LIST per kind instead of a request per object).
    #[arg(long)]
    pub no_fast_path: bool,
    /// Do not run these checks of the cluster before the first write (comma-separated
    /// names, as `landscape doctor` prints them).
    #[arg(long, value_delimiter = ',', value_name = "NAME,…")]
    pub skip_checks: Vec<String>,
    /// Apply only what `plan --out PLAN` recorded: refuse (exit 2) when the stack renders
    /// anything else, or (exit 4) when a live object changed since.
    #[arg(long, value_name = "PLAN")]
    pub plan: Option<std::path::PathBuf>,
    /// Delete objects a component no longer renders, once it is healthy (--prune=false to keep them).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub prune: bool,
}

/// The sink for the chosen output: NDJSON, live terminal lines, or plain CI lines.
pub fn sink(global: &GlobalArgs) -> Box<dyn Sink> {
    match global.output() {
        Output::Json => Box::new(JsonSink::stdout()),
        Output::Text if std::io::stderr().is_terminal() => {
            Box::new(TerminalSink::new(global.color(true)))
        }
        Output::Text => Box::new(PlainSink::stderr()),
    }
}

pub async fn run(args: UpArgs, global: &GlobalArgs, cancel: Cancel) -> anyhow::Result<ExitCode> {
    let request = args.stack.request();
    landscape::doctor::check_names(&args.skip_checks)
        .map_err(|e| landscape::Error::Usage(e.to_string()))?;
    // Input errors come before cluster errors: the stack is checked before connecting.
    let loaded = landscape::prepare::load_complete(&request)?;
    let inputs = landscape::prepare::inputs(&request, &loaded.stack);
    let identity = landscape::prepare::identity(&loaded.stack);
    let selected = args.select.select(&loaded.plan, &loaded.stack.name)?;
    let loaded = loaded.select(selected.as_ref());
    if fleet::members(&args.kube).is_some() {
        if args.plan.is_some() {
            return Err(landscape::Error::Usage(
                "--plan records one cluster's objects and cannot be given with several --context (hint: plan and apply each cluster on its own)".into(),
            )
            .into());
        }
        fleet::check(&args.kube)?;
        let hub = fleet::hub_values(&loaded.stack, &args.kube)?;
        return fleet::run(
            &args.kube,
            &args.fleet,
            global.output(),
            hub.as_ref(),
            cancel,
        )
        .await;
    }
    let cluster = Cluster::connect(&args.kube.cluster_args(args.timeout)?)
        .await
        .map_err(landscape::Error::from)?;
    let prepared =
        landscape::prepare::prepare(loaded, &args.source.options(cluster.capabilities())).await?;
    if let Some(path) = &args.plan {
        let saved = landscape::review::read(path).map_err(landscape::Error::from)?;
        landscape::review::verify(
            &saved,
            path,
            &prepared.stack.name,
            &prepared.rendered,
            &cluster,
        )
        .await
        .map_err(landscape::Error::from)?;
    }
    let opts = RunOptions {
        timeout: args.timeout,
        health: HealthOptions {
            load_balancers: args.wait_for_load_balancers,
        },
        flags: args
            .upgrade
            .widen(args.ownership.flags(args.force_conflicts)),
        prune: args.prune,
        identity: Some(identity),
        take_over_stack: args.take_over_stack,
        inputs,
        wait_for_lock: args.wait_for_lock,
        skip_checks: args.skip_checks,
        fast_path: !args.no_fast_path,
        partial: selected.is_some(),
        healthy_needs: selected
            .map(|s| s.outside_needs.into_iter().collect())
            .unwrap_or_default(),
    };
    let sink = sink(global);
    cancel.arm();
    let result = engine::up(&Install {
        stack: &prepared.stack,
        plan: &prepared.plan,
        rendered: &prepared.rendered,
        cluster: &cluster,
        sink: sink.as_ref(),
        opts: &opts,
        cancel: &cancel,
    })
    .await;
    let summary = match &result {
        Ok(s) => Some(s),
        Err(e) => e.summary(),
    };
    if let (Some(summary), Output::Text) = (summary, global.output()) {
        print!("{}", report::summary_table(summary));
    }
    result.map_err(landscape::Error::from)?;
    Ok(ExitCode::Success)
}
