//! `landscape plan`: the dependency graph, its order and its critical path.

use clap::Args;
use serde_json::json;

use landscape::ExitCode;
use landscape::diff::upgrade::ComponentUpgrade;
use landscape::plan::Plan;
use landscape::stack::Stack;

use super::args::{KubeArgs, SelectArgs, SourceArgs, StackArgs, parse_duration};
use super::{Format, GlobalArgs};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  landscape plan --profile medium
  landscape plan --stack platform.yaml --upgrade      # versions from -> to, against the cluster
  landscape plan -o json | jq '.critical_path'
  landscape plan --profile large -o dot | dot -Tsvg > large.svg
  landscape plan --stack platform.yaml --out reviewed.plan   # then: landscape up --plan reviewed.plan")]
pub struct PlanArgs {
    #[command(flatten)]
    pub output: GlobalArgs,
    #[command(flatten)]
    pub stack: StackArgs,
    /// With --locked: refuse artifacts that landscape.lock does not cover (no download is
    /// made without --upgrade).
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Compare with the stack installed in the cluster (its inventory): each component's
    /// version from -> to, components added, removed and renamed, and how many objects `up`
    /// would create, update, replace and delete (the stack is rendered and compared, as by
    /// `diff`).
    #[arg(long)]
    pub upgrade: bool,
    /// Render the stack, compare it with the cluster, and save the result to PLAN (each
    /// object's digest, the live object it was compared with, what pruning deletes, the
    /// summary; no secret value; mode 0600) for `up --plan PLAN` to apply exactly that.
    #[arg(long, value_name = "PLAN")]
    pub out: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub kube: KubeArgs,
    /// With --upgrade: give up (exit 4) when the cluster has not answered within this.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: Option<std::time::Duration>,
}

pub async fn run(args: PlanArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let request = args.stack.request();
    // --upgrade and --out render the stack, which needs every required value.
    let loaded = if args.upgrade || args.out.is_some() {
        landscape::prepare::load_complete(&request)?
    } else {
        landscape::prepare::load(&request)?
    };
    let selected = args.select.select(&loaded.plan, &loaded.stack.name)?;
    let partial = selected.is_some();
    let loaded = loaded.select(selected.as_ref());
    if args.source.locked {
        let lock =
            landscape::source::Lock::read(&loaded.lock_file).map_err(landscape::Error::from)?;
        landscape::prepare::check_lock_covers(&loaded.stack, &lock, &loaded.lock_file)?;
    }
    if let Some(out) = &args.out {
        return save(&args, out, loaded, partial).await;
    }
    let (stack, plan, upgrade) = if args.upgrade {
        let (stack, plan, upgrade) = installed_against(&args, loaded, partial).await?;
        (stack, plan, Some(upgrade))
    } else {
        (loaded.stack, loaded.plan, None)
    };
    match global.format {
        Format::Json => print_json(&stack, &plan, upgrade.as_ref())?,
        Format::Dot => print!("{}", landscape::plan::picture::dot(&plan, &stack.name)),
        Format::Mermaid => print!("{}", landscape::plan::picture::mermaid(&plan)),
        Format::Text | Format::Sarif => {
            if let Some(upgrade) = &upgrade {
                print_upgrade(&stack, upgrade.as_deref());
            }
            print_text(&stack, &plan)
        }
    }
    Ok(ExitCode::Success)
}

/// `--out`: the stack rendered and compared with the cluster, saved for `up --plan`.
async fn save(
    args: &PlanArgs,
    out: &std::path::Path,
    loaded: landscape::prepare::Loaded,
    partial: bool,
) -> anyhow::Result<ExitCode> {
    let cluster = landscape::cluster::Cluster::connect(&args.kube.cluster_args(args.timeout)?)
        .await
        .map_err(landscape::Error::from)?;
    let (prepared, diff) = compared(args, loaded, partial, &cluster).await?;
    let saved =
        landscape::review::record(&prepared.stack.name, &prepared.rendered, &diff, &cluster)
            .await
            .map_err(landscape::Error::from)?;
    landscape::review::write(&saved, out)?;
    let counts: Vec<String> = ["create", "update", "replace", "delete", "unchanged"]
        .iter()
        .map(|k| format!("{} to {k}", saved.summary.get(*k).copied().unwrap_or(0)))
        .collect();
    eprintln!(
        "Plan for stack {} written to {}: {} (apply it with `landscape up --plan {}`)",
        saved.stack,
        out.display(),
        counts.join(", ").replace("to unchanged", "unchanged"),
        out.display()
    );
    Ok(if diff.has_errors() {
        ExitCode::Cluster
    } else {
        ExitCode::Success
    })
}

/// The stack rendered for the cluster and compared with it as `diff` (and `up` with its
/// default flags) would.
async fn compared(
    args: &PlanArgs,
    loaded: landscape::prepare::Loaded,
    partial: bool,
    cluster: &landscape::cluster::Cluster,
) -> Result<(landscape::prepare::Prepared, landscape::diff::StackDiff), landscape::Error> {
    let prepared =
        landscape::prepare::prepare(loaded, &args.source.options(cluster.capabilities())).await?;
    let opts = landscape::diff::DiffOptions {
        prune: true,
        fast_path: true,
        partial,
        ..Default::default()
    };
    let diff = landscape::diff::diff(&prepared.stack, &prepared.rendered, cluster, &opts).await?;
    Ok((prepared, diff))
}

/// The upgrade summary against what the cluster has installed (None: nothing differs),
/// with each component's object counts from comparing the rendered stack with the cluster.
async fn installed_against(
    args: &PlanArgs,
    loaded: landscape::prepare::Loaded,
    partial: bool,
) -> Result<(Stack, Plan, Option<Vec<ComponentUpgrade>>), landscape::Error> {
    let cluster =
        landscape::cluster::Cluster::connect(&args.kube.cluster_args(args.timeout)?).await?;
    let installed = landscape::inventory::Inventory::load(&cluster, &loaded.stack.name)
        .await?
        .unwrap_or_else(|| {
            landscape::inventory::Inventory::new(landscape::prepare::identity(&loaded.stack))
        });
    let upgrade = landscape::diff::upgrade::compare(&installed, &loaded.stack)
        .map(|u| landscape::diff::upgrade::selected(u, &loaded.stack, partial))
        .filter(|u| !u.is_empty());
    let Some(upgrade) = upgrade else {
        return Ok((loaded.stack, loaded.plan, None));
    };
    let (prepared, diff) = compared(args, loaded, partial, &cluster).await?;
    let counted = landscape::diff::upgrade::with_counts(upgrade, &diff.components);
    Ok((prepared.stack, prepared.plan, Some(counted)))
}

fn print_upgrade(stack: &Stack, upgrade: Option<&[ComponentUpgrade]>) {
    match upgrade {
        None => println!(
            "Stack {}: the same components and versions as installed\n",
            stack.name
        ),
        Some(u) => {
            println!("Upgrade of stack {} from what is installed:", stack.name);
            println!("{}", landscape::diff::upgrade::text(u));
        }
    }
}

/// The plan as one JSON document: each component in order with its depth, version,
/// namespace and needs, and the critical path.
fn print_json(
    stack: &Stack,
    plan: &Plan,
    upgrade: Option<&Option<Vec<ComponentUpgrade>>>,
) -> anyhow::Result<()> {
    let components: Vec<_> = plan
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let c = stack
                .component(&s.component)
                .expect("planned from the stack");
            json!({
                "name": s.component,
                "order": i + 1,
                "depth": s.depth,
                "category": s.category,
                "version": c.version,
                "namespace": c.namespace,
                "needs": s.needs,
                "implicit_needs": s.implicit_needs,
            })
        })
        .collect();
    let mut doc = json!({
        "stack": stack.name,
        "profile": stack.profile,
        "components": components,
        "critical_path": plan.critical_path,
    });
    if let Some(upgrade) = upgrade {
        // With --upgrade: the components that differ from what is installed, [] if none.
        doc["upgrade"] = serde_json::to_value(upgrade.clone().unwrap_or_default())?;
    }
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(())
}

/// The plan as a table, implicit needs starred, then the critical path.
fn print_text(stack: &Stack, plan: &Plan) {
    println!("Stack {} ({} components)\n", stack.name, plan.steps.len());
    let mut rows = vec![[
        "ORDER".to_string(),
        "COMPONENT".to_string(),
        "CATEGORY".to_string(),
        "DEPTH".to_string(),
        "NEEDS".to_string(),
    ]];
    for (i, s) in plan.steps.iter().enumerate() {
        let needs: Vec<String> = s
            .needs
            .iter()
            .map(|n| {
                if s.implicit_needs.contains(n) {
                    format!("{n}*")
                } else {
                    n.clone()
                }
            })
            .collect();
        rows.push([
            (i + 1).to_string(),
            s.component.clone(),
            s.category.as_str().to_string(),
            s.depth.to_string(),
            if needs.is_empty() {
                "-".into()
            } else {
                needs.join(", ")
            },
        ]);
    }
    print!("{}", landscape::report::table(&rows));
    println!("\n* implicit: every component needs the cluster network (CNI).");
    println!("Critical path: {}", plan.critical_path.join(" -> "));
}
