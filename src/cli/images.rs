//! `landscape images`: every container image the stack's objects reference.

use clap::Args;

use landscape::ExitCode;
use landscape::k8s::Capabilities;

use super::args::{SourceArgs, StackArgs};
use super::{GlobalArgs, Output};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  landscape images --profile medium
  landscape images --profile large -o json | jq -r '.[].image' | xargs -n1 crane copy …
  landscape up --profile large --image-registry registry.internal/mirror")]
pub struct ImagesArgs {
    #[command(flatten)]
    pub output: GlobalArgs,
    #[command(flatten)]
    pub stack: StackArgs,
    #[command(flatten)]
    pub source: SourceArgs,
}

pub async fn run(args: ImagesArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let mut opts = args.source.options(Capabilities::default());
    opts.placeholders = true;
    let loaded = landscape::prepare::load(&args.stack.request())?;
    let prepared = landscape::prepare::prepare(loaded, &opts).await?;
    let images = landscape::prepare::images(&prepared.rendered);
    match global.output() {
        Output::Json => {
            let items: Vec<_> = images
                .iter()
                .map(|(image, components)| serde_json::json!({"image": image, "components": components}))
                .collect();
            println!("{}", serde_json::to_string_pretty(&items)?);
        }
        Output::Text => {
            for (image, _) in &images {
                println!("{image}");
            }
        }
    }
    Ok(ExitCode::Success)
}
