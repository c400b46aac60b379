//! `landscape profiles` and `landscape profiles show NAME`.

use clap::{Args, Subcommand};
use serde_json::json;

use landscape::ExitCode;
use landscape::stack::{self, Category, StackRequest};

use super::{GlobalArgs, Output};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  landscape profiles
  landscape profiles show medium
  landscape profiles -o json | jq -r '.[].name'")]
pub struct ProfilesArgs {
    #[command(flatten)]
    pub output: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<ProfilesCommand>,
}

#[derive(Debug, Subcommand)]
pub enum ProfilesCommand {
    /// Show a profile's components by category.
    Show {
        /// small, medium or large.
        name: String,
    },
    /// Print docs/profiles.md: the selection table and every component, from stacks/.
    #[command(hide = true)]
    Markdown,
}

pub fn run(args: ProfilesArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        None => list(global),
        Some(ProfilesCommand::Show { name }) => show(&name, global),
        Some(ProfilesCommand::Markdown) => {
            print!("{}", markdown()?);
            Ok(ExitCode::Success)
        }
    }
}

/// docs/profiles.md, generated from the built-in profiles so it cannot drift from them.
fn markdown() -> Result<String, landscape::Error> {
    let profiles: Vec<stack::Stack> = stack::profile_names()
        .iter()
        .map(|n| load(n))
        .collect::<Result<_, _>>()?;
    let mut out = String::from(
        "# Profiles\n\nGenerated from `stacks/` by `landscape profiles markdown`; a test fails when this file and the\nprofiles disagree.\n\n## Selection\n\n",
    );
    out.push_str("| profile |");
    for c in Category::ALL {
        out.push_str(&format!(" {} |", c.as_str()));
    }
    out.push_str("\n|---|");
    for _ in Category::ALL {
        out.push_str("---|");
    }
    out.push('\n');
    for p in &profiles {
        out.push_str(&format!("| {} |", p.name));
        for c in Category::ALL {
            let names: Vec<&str> = p
                .components
                .iter()
                .filter(|x| x.category == c)
                .map(|x| x.name.as_str())
                .collect();
            out.push_str(&format!(" {} |", names.join(", ")));
        }
        out.push('\n');
    }
    for p in &profiles {
        out.push_str(&format!(
            "\n## {}\n\n{}\n\n",
            p.name,
            p.description.clone().unwrap_or_default()
        ));
        for (title, items) in promise_sections(p.promises.as_ref()) {
            out.push_str(&format!("{title}:\n\n"));
            for item in items {
                out.push_str(&format!("- {item}\n"));
            }
            out.push('\n');
        }
        out.push_str("| component | category | version | namespace | needs | source |\n|---|---|---|---|---|---|\n");
        for c in &p.components {
            let sources: Vec<String> = c
                .sources
                .iter()
                .map(|s| match s {
                    stack::Source::Url { url, .. } => format!("manifest {url}"),
                    stack::Source::Chart(ch) => {
                        format!("chart {} {} ({})", ch.name, ch.version, ch.repository)
                    }
                    stack::Source::Template { name } => format!("landscape template `{name}`"),
                    stack::Source::TemplateDir { path } => format!("templates {}", path.display()),
                    stack::Source::File { path, .. } => format!("file {}", path.display()),
                })
                .collect();
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                c.name,
                c.category.as_str(),
                c.version.clone().unwrap_or_default(),
                c.namespace,
                if c.needs.is_empty() {
                    "-".to_string()
                } else {
                    c.needs.join(", ")
                },
                sources.join("<br>")
            ));
        }
        let plan = landscape::plan::build(p)?;
        out.push_str(&format!(
            "\nThe order `up` follows (`landscape plan --profile {} -o mermaid`): bold arrows are the critical\npath, dotted ones the implicit need of the cluster network.\n\n```mermaid\n{}```\n",
            p.name,
            landscape::plan::picture::mermaid(&plan)
        ));
    }
    Ok(out)
}

/// A stack's promises as titled lists, the empty ones left out.
fn promise_sections(
    promises: Option<&landscape::stack::model::Promises>,
) -> Vec<(&'static str, &[String])> {
    let Some(p) = promises else {
        return vec![];
    };
    [
        ("What it guarantees", p.guarantees.as_slice()),
        ("What it leaves to you", p.leaves_to_you.as_slice()),
    ]
    .into_iter()
    .filter(|(_, items)| !items.is_empty())
    .collect()
}

fn load(name: &str) -> Result<landscape::stack::Stack, landscape::Error> {
    Ok(stack::load(&StackRequest::profile(name))?)
}

fn list(global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let mut rows = vec![[
        "PROFILE".to_string(),
        "COMPONENTS".to_string(),
        "DESCRIPTION".to_string(),
    ]];
    let mut items = Vec::new();
    for name in stack::profile_names() {
        let s = load(&name)?;
        rows.push([
            name.clone(),
            s.components.len().to_string(),
            s.description.clone().unwrap_or_default(),
        ]);
        items.push(
            json!({"name": name, "description": s.description, "components": s.components.len()}),
        );
    }
    match global.output() {
        Output::Json => println!("{}", serde_json::to_string_pretty(&items)?),
        Output::Text => print!("{}", landscape::report::table(&rows)),
    }
    Ok(ExitCode::Success)
}

fn show(name: &str, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let s = load(name)?;
    let by_category = |cat: Category| -> Vec<&landscape::stack::Component> {
        s.components.iter().filter(|c| c.category == cat).collect()
    };
    match global.output() {
        Output::Json => {
            let categories: serde_json::Map<String, serde_json::Value> = Category::ALL
                .iter()
                .map(|cat| {
                    let items: Vec<_> = by_category(*cat)
                        .iter()
                        .map(|c| json!({"name": c.name, "version": c.version, "namespace": c.namespace, "description": c.description}))
                        .collect();
                    (cat.as_str().to_string(), json!(items))
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(
                    &json!({"name": s.name, "description": s.description, "categories": categories, "promises": s.promises})
                )?
            );
        }
        Output::Text => {
            println!(
                "Profile {}: {}\n",
                s.name,
                s.description.clone().unwrap_or_default()
            );
            let mut rows = vec![[
                "CATEGORY".to_string(),
                "COMPONENT".to_string(),
                "VERSION".to_string(),
                "NAMESPACE".to_string(),
            ]];
            for cat in Category::ALL {
                for (i, c) in by_category(cat).iter().enumerate() {
                    rows.push([
                        if i == 0 {
                            cat.as_str().to_string()
                        } else {
                            String::new()
                        },
                        c.name.clone(),
                        c.version.clone().unwrap_or_default(),
                        c.namespace.clone(),
                    ]);
                }
            }
            print!("{}", landscape::report::table(&rows));
            for (title, items) in promise_sections(s.promises.as_ref()) {
                println!("\n{title}:");
                for item in items {
                    println!("  - {item}");
                }
            }
        }
    }
    Ok(ExitCode::Success)
}
