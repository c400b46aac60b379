//! `landscape diff`: what `up` would change, per component and object.

use std::io::IsTerminal;

use clap::Args;
use console::style;

use landscape::ExitCode;
use landscape::cluster::Cluster;
use landscape::diff::{Action, DiffOptions, StackDiff};

use super::{GlobalArgs, KubeArgs, Output, SourceArgs, StackArgs, installed};

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub output: GlobalArgs,
    #[command(flatten)]
    pub stack: StackArgs,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub kube: KubeArgs,
    /// Give up (exit 4) when the cluster has not answered everything within this, e.g. 2m.
    #[arg(long, value_parser = super::parse_duration, value_name = "DURATION")]
    pub timeout: Option<std::time::Duration>,
    /// Show what pruning would delete (--prune=false to leave it out, as `up --prune=false`).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub prune: bool,
    /// Include CustomResourceDefinitions in pruning, as `up --delete-crds` would.
    #[arg(long)]
    pub delete_crds: bool,
    /// Include PersistentVolumeClaims in pruning, as `up --delete-volumes` would.
    #[arg(long)]
    pub delete_volumes: bool,
    /// Compare as `up --force-conflicts` would apply: objects of others are taken over.
    #[arg(long)]
    pub force_conflicts: bool,
}

pub async fn run(args: DiffArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    if installed::names_a_stack(&args.stack) {
        // Input errors come before cluster errors.
        landscape::prepare::load_complete(&args.stack.request())?;
    }
    let cluster = Cluster::connect(&args.kube.cluster_args())
        .await
        .map_err(landscape::Error::from)?;
    // No stack named: landscape.yaml, else what the last `up` recorded in the cluster.
    let (request, _recorded) = installed::request_or_recorded(&args.stack, &cluster).await?;
    let prepared =
        landscape::prepare::prepare(&request, &args.source.options(cluster.capabilities())).await?;
    let opts = DiffOptions {
        prune: args.prune,
        delete_crds: args.delete_crds,
        delete_volumes: args.delete_volumes,
        force_conflicts: args.force_conflicts,
    };
    let diff = landscape::diff::diff(&prepared.stack.name, &prepared.rendered, &cluster, &opts)
        .await
        .map_err(landscape::Error::from)?;
    match global.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&diff)?),
        Output::Text => {
            let color = !global.no_color
                && std::env::var_os("NO_COLOR").is_none()
                && std::io::stdout().is_terminal();
            print!("{}", text(&diff, color));
        }
    }
    Ok(if diff.has_errors() {
        ExitCode::Cluster
    } else if diff.changes {
        ExitCode::Differences
    } else {
        ExitCode::Success
    })
}

fn text(diff: &StackDiff, color: bool) -> String {
    let sum = |f: fn(&landscape::diff::ComponentDiff) -> usize| {
        diff.components.iter().map(f).sum::<usize>()
    };
    let mut out = format!(
        "Stack {}: {} to create, {} to update, {} to delete, {} unchanged",
        diff.stack,
        sum(|c| c.create),
        sum(|c| c.update),
        sum(|c| c.delete),
        sum(|c| c.unchanged)
    );
    let problems = sum(|c| c.conflicts + c.errors);
    if problems > 0 {
        out.push_str(&format!(", {problems} that up would refuse or fail"));
    }
    out.push('\n');
    for c in &diff.components {
        if c.changes.is_empty() {
            out.push_str(&format!(
                "\n{}: no changes ({} unchanged)\n",
                c.name, c.unchanged
            ));
            continue;
        }
        out.push_str(&format!(
            "\n{}: {} to create, {} to update, {} to delete, {} unchanged\n",
            c.name, c.create, c.update, c.delete, c.unchanged
        ));
        for ch in &c.changes {
            let (mark, verb) = match ch.action {
                Action::Create => ("+", "create"),
                Action::Update => ("~", "update"),
                Action::Delete => ("-", "delete"),
                Action::Conflict => ("!", "conflict"),
                Action::Error => ("!", "error"),
                Action::Unchanged => (" ", "unchanged"),
            };
            let mut line = format!("  {mark} {verb} {}", ch.object);
            if ch.crd_pending {
                line.push_str(" (CRD pending)");
            }
            if !ch.changed_paths.is_empty() {
                line.push_str(&format!(" ({})", ch.changed_paths.join(", ")));
            }
            if let Some(note) = &ch.note
                && !matches!(ch.action, Action::Create)
            {
                line.push_str(&format!(": {note}"));
            }
            out.push_str(&line);
            out.push('\n');
            if let (Some(d), Action::Update) = (&ch.diff, ch.action) {
                for l in d.lines() {
                    out.push_str("      ");
                    out.push_str(&paint(l, color));
                    out.push('\n');
                }
            }
        }
    }
    out
}

fn paint(line: &str, color: bool) -> String {
    if !color {
        return line.to_string();
    }
    if line.starts_with("+++") || line.starts_with("---") {
        style(line).bold().to_string()
    } else if line.starts_with('+') {
        style(line).green().to_string()
    } else if line.starts_with('-') {
        style(line).red().to_string()
    } else if line.starts_with("@@") {
        style(line).cyan().to_string()
    } else {
        line.to_string()
    }
}
