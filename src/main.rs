//! The `landscape` binary: parse the command line, run, map the outcome to an exit code.

mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    init_tracing();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the async runtime starts");
    let code = match runtime.block_on(cli::run(cli)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!(
                "error: {}",
                landscape::report::redact::redact(&one_line(&err))
            );
            err.downcast_ref::<landscape::Error>().map_or(
                landscape::ExitCode::InvalidInput,
                landscape::Error::exit_code,
            )
        }
    };
    std::process::ExitCode::from(code.code() as u8)
}

/// Errors are reported on one line: the message and its causes, joined.
fn one_line(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string().replace('\n', " ");
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

/// Logs go to stderr, redacted like every other output, off unless LANDSCAPE_LOG (e.g.
/// `debug`) asks for them.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LANDSCAPE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| landscape::report::redact::RedactingStderr)
        .with_target(false)
        .init();
}
