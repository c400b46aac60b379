//! `landscape plan`: the dependency graph, its order and its critical path.

use clap::Args;
use serde_json::json;

use landscape::ExitCode;
use landscape::plan::Plan;
use landscape::stack::Stack;

use super::args::StackArgs;
use super::{GlobalArgs, Output};

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub output: GlobalArgs,
    #[command(flatten)]
    pub stack: StackArgs,
    /// Refuse artifacts that landscape.lock does not cover (no download is made).
    #[arg(long)]
    pub locked: bool,
}

pub fn run(args: PlanArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let request = args.stack.request();
    let landscape::prepare::Loaded {
        stack,
        plan,
        lock_file,
    } = landscape::prepare::load(&request)?;
    if args.locked {
        let lock = landscape::source::Lock::read(&lock_file).map_err(landscape::Error::from)?;
        landscape::prepare::check_lock_covers(&stack, &lock, &lock_file)?;
    }
    match global.output {
        Output::Json => print_json(&stack, &plan)?,
        Output::Text => print_text(&stack, &plan),
    }
    Ok(ExitCode::Success)
}

/// The plan as one JSON document: each component in order with its depth, version,
/// namespace and needs, and the critical path.
fn print_json(stack: &Stack, plan: &Plan) -> anyhow::Result<()> {
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
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "stack": stack.name,
            "profile": stack.profile,
            "components": components,
            "critical_path": plan.critical_path,
        }))?
    );
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
