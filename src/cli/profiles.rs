//! `landscape profiles` and `landscape profiles show NAME`.

use clap::{Args, Subcommand};
use serde_json::json;

use landscape::ExitCode;
use landscape::stack::{self, Category, StackRequest};

use super::{GlobalArgs, Output};

#[derive(Debug, Args)]
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
}

pub fn run(args: ProfilesArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        None => list(global),
        Some(ProfilesCommand::Show { name }) => show(&name, global),
    }
}

fn load(name: &str) -> Result<landscape::stack::Stack, landscape::Error> {
    Ok(stack::load(&StackRequest {
        profile: Some(name.to_string()),
        ..Default::default()
    })?)
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
    match global.output {
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
    match global.output {
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
                    &json!({"name": s.name, "description": s.description, "categories": categories})
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
        }
    }
    Ok(ExitCode::Success)
}
