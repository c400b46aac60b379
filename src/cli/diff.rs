//! `landscape diff`: what `up` would change, per component and object.

use std::io::IsTerminal;

use clap::Args;
use console::style;

use landscape::ExitCode;
use landscape::cancel::Cancel;
use landscape::cluster::Cluster;
use landscape::diff::{Action, DiffOptions, StackDiff};

use super::args::{
    InstalledArgs, KubeArgs, OwnershipArgs, SelectArgs, SourceArgs, StackArgs, UpgradeArgs,
    parse_duration,
};
use super::fleet::{self, FleetArgs};
use super::{GlobalArgs, Output};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  landscape diff --profile small -f values.yaml
  landscape diff                       # the stack in landscape.yaml, or the one installed
  landscape diff -o json --prune=false | jq '.components[].changes[]'
  landscape diff --only argocd         # argocd and what it needs; nothing else is pruned
  landscape diff --context eu --context us -o json   # one document per cluster")]
pub struct DiffArgs {
    #[command(flatten)]
    pub output: GlobalArgs,
    #[command(flatten)]
    pub stack: StackArgs,
    #[command(flatten)]
    pub installed: InstalledArgs,
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
    /// Give up (exit 4) when the cluster has not answered everything within this, e.g. 2m.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: Option<std::time::Duration>,
    /// Show what pruning would delete (--prune=false to leave it out, as `up --prune=false`).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub prune: bool,
    /// Compare as `up --force-conflicts` would apply: objects of others are taken over.
    #[arg(long)]
    pub force_conflicts: bool,
    /// Dry-run every object, even those in sync with what was last applied.
    #[arg(long)]
    pub no_fast_path: bool,
}

pub async fn run(args: DiffArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    // Input errors come before cluster errors: a stack named by the flags is checked first.
    let named = if super::installed::names_stack_files(&args.stack, &args.installed) {
        Some(landscape::prepare::load_complete(&args.stack.request())?)
    } else {
        None
    };
    if fleet::members(&args.kube).is_some() {
        fleet::check(&args.kube)?;
        let hub = match &named {
            Some(loaded) => {
                let selected = args.select.select(&loaded.plan, &loaded.stack.name)?;
                let mut stack = loaded.stack.clone();
                if let Some(s) = &selected {
                    stack.components.retain(|c| s.components.contains(&c.name));
                }
                fleet::hub_values(&stack, &args.kube)?
            }
            None => None,
        };
        return fleet::run(
            &args.kube,
            &args.fleet,
            global.output(),
            hub.as_ref(),
            Cancel::new(),
        )
        .await;
    }
    let cluster = Cluster::connect(&args.kube.cluster_args(args.timeout)?)
        .await
        .map_err(landscape::Error::from)?;
    let loaded = match named {
        Some(loaded) => loaded,
        // No stack named: what the last `up` recorded in the cluster.
        None => {
            let (request, recorded) =
                super::installed::request_or_recorded(&args.stack, &args.installed, &cluster)
                    .await?;
            let loaded = landscape::prepare::load(&request)?;
            if let Some(inv) = &recorded {
                landscape::prepare::replay::check_secrets_given_again(&loaded.stack, inv)
                    .map_err(landscape::Error::from)?;
            }
            loaded
        }
    };
    let selected = args.select.select(&loaded.plan, &loaded.stack.name)?;
    let loaded = loaded.select(selected.as_ref());
    let prepared =
        landscape::prepare::prepare(loaded, &args.source.options(cluster.capabilities())).await?;
    let opts = DiffOptions {
        partial: selected.is_some(),
        prune: args.prune,
        flags: args
            .upgrade
            .widen(args.ownership.flags(args.force_conflicts)),
        fast_path: !args.no_fast_path,
    };
    let diff = landscape::diff::diff(&prepared.stack, &prepared.rendered, &cluster, &opts)
        .await
        .map_err(landscape::Error::from)?;
    match global.output() {
        Output::Json => println!("{}", serde_json::to_string_pretty(&diff)?),
        Output::Text => {
            let color = global.color(std::io::stdout().is_terminal());
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
    for (n, what) in [
        (sum(|c| c.replace), "to replace"),
        (sum(|c| c.adopt), "to take over"),
        (sum(|c| c.release), "to release"),
        (sum(|c| c.keep), "kept"),
    ] {
        if n > 0 {
            out.push_str(&format!(", {n} {what}"));
        }
    }
    let problems = sum(|c| c.conflicts + c.errors);
    if problems > 0 {
        out.push_str(&format!(", {problems} that up would refuse or fail"));
    }
    out.push('\n');
    if let Some(upgrade) = &diff.upgrade {
        out.push_str("\nUpgrade from the installed stack:\n");
        out.push_str(&landscape::diff::upgrade::text(upgrade));
    }
    for c in &diff.components {
        if !c.changes.iter().any(|ch| ch.action.is_change()) && c.keep == 0 {
            out.push_str(&format!(
                "\n{}: no changes ({} unchanged)\n",
                c.name, c.unchanged
            ));
            continue;
        }
        let replace = if c.replace > 0 {
            format!(", {} to replace", c.replace)
        } else {
            String::new()
        };
        out.push_str(&format!(
            "\n{}: {} to create, {} to update{replace}, {} to delete, {} unchanged\n",
            c.name, c.create, c.update, c.delete, c.unchanged
        ));
        for ch in &c.changes {
            out.push_str(&change_line(ch));
            if let (Some(d), Action::Update | Action::Adopt) = (&ch.diff, ch.action) {
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

/// One object's line: what `up` would do to it, the paths that change, and why.
fn change_line(ch: &landscape::diff::ObjectChange) -> String {
    let (mark, verb) = match ch.action {
        Action::Create => ("+", "create"),
        Action::Update => ("~", "update"),
        Action::Replace => ("±", "replace"),
        Action::Delete => ("-", "delete"),
        Action::Adopt => ("~", "take over"),
        Action::Release => ("-", "release"),
        Action::Keep => (" ", "keep"),
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
    line.push('\n');
    line
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
