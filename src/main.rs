//! The `landscape` binary: parse the command line, run, map the outcome to an exit code.
//!
//! Signals: the first SIGINT or SIGTERM asks a run that writes (`up`, `down`) to stop
//! cleanly — it starts nothing new, records what it did and exits 130 or 143; before such
//! a run has started, or on a second signal, the process exits at once with that code,
//! after removing its temporary files.

mod cli;

use std::time::Duration;

use clap::Parser;

use landscape::ExitCode;
use landscape::cancel::{Cancel, StopReason};

fn main() -> std::process::ExitCode {
    // Output piped into `head` ends the process quietly, as for every Unix tool, instead
    // of failing a write to stdout (which would panic).
    // SAFETY: setting a signal's disposition to its default, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    limit_malloc_arenas();
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Room for deeply nested (but bounded) inputs: YAML, JSON and templates are
        // parsed recursively.
        .thread_stack_size(16 * 1024 * 1024)
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::from(ExitCode::Local.code() as u8);
        }
    };
    let cancel = Cancel::new();
    let code = runtime.block_on(async {
        watch_signals(cancel.clone());
        match cli::run(cli, cancel).await {
            Ok(code) => code,
            Err(err) => {
                eprintln!(
                    "error: {}",
                    landscape::report::redact::redact(&one_line(&err))
                );
                err.downcast_ref::<landscape::Error>()
                    .map_or(ExitCode::Local, landscape::Error::exit_code)
            }
        }
    });
    // A blocked thread (a kubeconfig exec plugin that hangs) must not keep the process.
    runtime.shutdown_timeout(Duration::from_millis(500));
    std::process::ExitCode::from(code.code() as u8)
}

/// glibc gives each thread that allocates its own arena (up to eight per core), and
/// memory freed in one is not reused by another: the helm threads and the runtime's
/// workers each keep their peak. Two arenas are plenty for a process that mostly waits on
/// the network, and keep its peak memory down.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a tunable, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Help and version go out as clap writes them; a usage error on one line, like every
/// other error, with exit 2.
fn usage_error(e: clap::Error) -> std::process::ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit();
    }
    // The first paragraph, on one line: clap lists missing arguments on lines of their own.
    let text = e.to_string();
    let first: Vec<&str> = text
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let first = first.join(" ");
    let first = first.strip_prefix("error: ").unwrap_or(&first);
    eprintln!("error: {first} (hint: see `landscape --help`)");
    std::process::ExitCode::from(ExitCode::InvalidInput.code() as u8)
}

/// Listens for SIGINT and SIGTERM for the life of the process.
fn watch_signals(cancel: Cancel) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return;
    };
    tokio::spawn(async move {
        loop {
            let n = tokio::select! {
                _ = int.recv() => 2,
                _ = term.recv() => 15,
            };
            if cancel.is_armed() && !cancel.is_cancelled() {
                eprintln!(
                    "landscape: {} received: finishing what is in flight, then stopping (send it again to stop at once)",
                    if n == 2 { "SIGINT" } else { "SIGTERM" }
                );
                cancel.cancel(StopReason::Signal(n));
                continue;
            }
            landscape::cleanup::remove_all();
            std::process::exit(128 + n);
        }
    });
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
