//! `landscape lock`: write landscape.lock beside the stack file (or in the working directory).

use clap::Args;

use landscape::ExitCode;
use landscape::k8s::Capabilities;

use super::args::{SourceArgs, StackArgs};
use super::{GlobalArgs, Output};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  landscape lock --profile medium                 # writes landscape.lock beside the stack
  landscape lock --stack platform.yaml && git add landscape.lock
  landscape up --stack platform.yaml --locked      # later: refuse anything the lock does not pin")]
pub struct LockArgs {
    #[command(flatten)]
    pub output: GlobalArgs,
    #[command(flatten)]
    pub stack: StackArgs,
    #[command(flatten)]
    pub source: SourceArgs,
    /// Also ask each image's registry which digest its tag points at, and lock images to
    /// those digests (`up --locked` then runs exactly them).
    #[arg(long)]
    pub resolve_images: bool,
}

pub async fn run(args: LockArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let request = args.stack.request();
    let mut opts = args.source.options(Capabilities::default());
    opts.placeholders = true;
    let loaded = landscape::prepare::load(&request)?;
    let path = loaded.lock_file.clone();
    let prepared = landscape::prepare::prepare(loaded, &opts).await?;
    let mut lock = landscape::prepare::lock_of(&prepared);
    if args.resolve_images {
        lock.images = resolve(&lock.images).await?;
    }
    lock.write(&path)
        .map_err(|e| landscape::Error::write(&path, e))?;
    match global.output() {
        Output::Json => println!("{}", serde_json::to_string_pretty(&lock)?),
        Output::Text => println!(
            "wrote {}: {} artifacts, {} charts, {} images",
            path.display(),
            lock.artifacts.len(),
            lock.charts.len(),
            lock.images.len()
        ),
    }
    Ok(ExitCode::Success)
}

/// Every image pinned to the digest its registry gives now.
async fn resolve(images: &[String]) -> Result<Vec<String>, landscape::Error> {
    use futures::{StreamExt, TryStreamExt};
    let resolver = landscape::source::registry::Resolver::new().map_err(artifact)?;
    let resolver = &resolver;
    futures::stream::iter(images)
        .map(|image| async move { resolver.resolve(image).await.map_err(artifact) })
        .buffered(8)
        .try_collect()
        .await
}

fn artifact(e: landscape::source::registry::ResolveError) -> landscape::Error {
    landscape::source::SourceError::Invalid {
        url: format!("image {}", e.image),
        message: e.message,
    }
    .into()
}
