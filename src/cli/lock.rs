//! `landscape lock`: write landscape.lock beside the stack file (or in the working directory).

use clap::Args;

use landscape::ExitCode;
use landscape::k8s::Capabilities;

use super::args::{SourceArgs, StackArgs};
use super::{GlobalArgs, Output};

#[derive(Debug, Args)]
pub struct LockArgs {
    #[command(flatten)]
    pub output: GlobalArgs,
    #[command(flatten)]
    pub stack: StackArgs,
    #[command(flatten)]
    pub source: SourceArgs,
}

pub async fn run(args: LockArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let request = args.stack.request();
    let mut opts = args.source.options(Capabilities::default());
    opts.placeholders = true;
    let loaded = landscape::prepare::load(&request)?;
    let path = loaded.lock_file.clone();
    let prepared = landscape::prepare::prepare(loaded, &opts).await?;
    let lock = landscape::prepare::lock_of(&prepared);
    lock.write(&path)
        .map_err(|e| landscape::Error::write(&path, e))?;
    match global.output {
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
