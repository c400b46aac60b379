//! `landscape lock`: write landscape.lock beside the stack file (or in the working directory).

use clap::Args;

use landscape::ExitCode;
use landscape::render::Capabilities;

use super::{GlobalArgs, Output, SourceArgs, StackArgs};

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
    let prepared = landscape::prepare::prepare(&request, &opts).await?;
    let lock = landscape::prepare::lock_of(&prepared);
    let path = landscape::prepare::lock_path(&prepared.stack, &request);
    lock.write(&path)?;
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
