//! `landscape bundle -o DIR`: every artifact of the stack in the mirror layout, with the
//! lock and the image list, for `--mirror DIR` installs without network.

use std::path::PathBuf;

use clap::Args;

use landscape::ExitCode;
use landscape::k8s::Capabilities;

use super::args::{SourceArgs, StackArgs};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  landscape bundle --profile small -o bundle/
  landscape bundle --stack platform.yaml -o /media/usb/landscape --json
  landscape up --profile small --mirror bundle/   # on the machine with no network")]
pub struct BundleArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    #[command(flatten)]
    pub source: SourceArgs,
    /// The directory to write (created if missing).
    #[arg(short = 'o', long = "out", value_name = "DIR")]
    pub dir: PathBuf,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: BundleArgs) -> anyhow::Result<ExitCode> {
    let mut opts = args.source.options(Capabilities::default());
    opts.placeholders = true;
    let loaded = landscape::prepare::load(&args.stack.request())?;
    let prepared = landscape::prepare::prepare(loaded, &opts).await?;
    let lock = landscape::prepare::lock_of(&prepared);
    std::fs::create_dir_all(&args.dir).map_err(|e| landscape::Error::write(&args.dir, e))?;
    let report = landscape::source::bundle::write(&args.dir, &prepared.artifacts, &lock)
        .map_err(|e| landscape::Error::write(&args.dir, e))?;
    match args.json {
        true => println!(
            "{}",
            serde_json::json!({"dir": args.dir, "files": report.files, "bytes": report.bytes, "images": lock.images.len()})
        ),
        false => println!(
            "wrote {} files ({} bytes) to {}; install with --mirror {}",
            report.files,
            report.bytes,
            args.dir.display(),
            args.dir.display()
        ),
    }
    Ok(ExitCode::Success)
}
