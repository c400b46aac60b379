//! `landscape doctor`: the checks `up` runs before its first write, on their own — what
//! the cluster is, against what the stack will ask of it.

use clap::Args;
use serde_json::json;

use landscape::ExitCode;
use landscape::cluster::Cluster;
use landscape::doctor::{Report, Status};

use super::args::{KubeArgs, SourceArgs, StackArgs, parse_duration};
use super::{GlobalArgs, Output};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  landscape doctor --profile medium
  landscape doctor --stack platform.yaml -f values.yaml -o json | jq '.checks[] | select(.status != \"pass\")'
  landscape doctor --profile small --skip-checks capacity")]
pub struct DoctorArgs {
    #[command(flatten)]
    pub output: GlobalArgs,
    #[command(flatten)]
    pub stack: StackArgs,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub kube: KubeArgs,
    /// Checks not to run (comma-separated names).
    #[arg(long, value_delimiter = ',', value_name = "NAME,…")]
    pub skip_checks: Vec<String>,
    /// Judge as `up --force-conflicts` would run: objects of other installers are taken over.
    #[arg(long)]
    pub force_conflicts: bool,
    /// Give up (exit 4) when the cluster has not answered everything within this.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: Option<std::time::Duration>,
}

pub async fn run(args: DoctorArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    landscape::doctor::check_names(&args.skip_checks)
        .map_err(|e| landscape::Error::Usage(e.to_string()))?;
    let loaded = landscape::prepare::load_complete(&args.stack.request())?;
    let cluster = Cluster::connect(&args.kube.cluster_args(args.timeout)?)
        .await
        .map_err(landscape::Error::from)?;
    let options = landscape::prepare::Options {
        report_unfit_charts: true,
        ..args.source.options(cluster.capabilities())
    };
    let prepared = landscape::prepare::prepare(loaded, &options).await?;
    // Without the right to read it, the stack counts as not installed: the rights check
    // says what is missing.
    let inventory =
        match landscape::inventory::Inventory::load(&cluster, &prepared.stack.name).await {
            Ok(inventory) => inventory,
            Err(e) if e.code() == 403 => None,
            Err(e) => return Err(landscape::Error::from(e).into()),
        };
    let subject = landscape::doctor::Subject {
        cluster: &cluster,
        stack: &prepared.stack,
        rendered: &prepared.rendered,
        inventory: inventory.as_ref(),
        flags: landscape::ownership::Flags {
            force_conflicts: args.force_conflicts,
            ..Default::default()
        },
        unfit_charts: &prepared.unfit_charts,
    };
    let report = landscape::doctor::examine(&subject, &args.skip_checks)
        .await
        .map_err(landscape::Error::from)?;
    match global.output() {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "stack": prepared.stack.name,
                "kubernetes": cluster.version(),
                "ok": report.worst() != Status::Fail,
                "checks": report.findings,
                "skipped": report.skipped,
            }))?
        ),
        Output::Text => print!("{}", text(&prepared.stack.name, cluster.version(), &report)),
    }
    Ok(if report.worst() == Status::Fail {
        ExitCode::Unfit
    } else {
        ExitCode::Success
    })
}

fn text(stack: &str, version: &str, report: &Report) -> String {
    let mut out = format!("Checks of this cluster (Kubernetes {version}) for stack {stack}:\n\n");
    for f in &report.findings {
        let status = match f.status {
            Status::Pass => "PASS",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        };
        out.push_str(&format!(
            "{status}  {:<18}  {}\n",
            f.check,
            landscape::report::redact::redact(&f.saw)
        ));
        if let Some(fix) = &f.fix {
            out.push_str(&format!("      {:<18}  fix: {fix}\n", ""));
        }
    }
    if !report.skipped.is_empty() {
        out.push_str(&format!("\nSkipped: {}\n", report.skipped.join(", ")));
    }
    let verdict = match report.worst() {
        Status::Fail => {
            "The cluster cannot take this stack as it is: fix what failed (or skip a check with --skip-checks NAME)."
        }
        Status::Warn => "The cluster can take this stack; read the warnings.",
        Status::Pass => "The cluster can take this stack.",
    };
    out.push('\n');
    out.push_str(verdict);
    out.push('\n');
    out
}
