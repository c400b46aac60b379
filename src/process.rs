//! Running a subprocess (helm) with bounds: it is killed when it runs past its time or
//! writes more than a limit, so no input — a chart that loops, a template that prints
//! gigabytes — can hang landscape or exhaust its memory.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a bounded run produced.
#[derive(Debug)]
pub struct Output {
    pub success: bool,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("cannot run it: {0}")]
    Spawn(std::io::Error),
    #[error("it did not finish within {} and was stopped", crate::duration::format(*.0))]
    Timeout(Duration),
    #[error("it wrote more than {0} bytes and was stopped")]
    TooMuchOutput(u64),
}

/// Runs `cmd` (stdin closed) for at most `timeout`, keeping at most `limit` bytes of each
/// output stream.
pub fn run_bounded(
    cmd: &mut Command,
    timeout: Duration,
    limit: u64,
) -> Result<Output, ProcessError> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(ProcessError::Spawn)?;
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut data = Vec::new();
            if let Some(pipe) = pipe {
                let _ = pipe.take(limit + 1).read_to_end(&mut data);
            }
            data
        })
    };
    let out = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ProcessError::Timeout(timeout));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(ProcessError::Spawn(e)),
        }
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    if stdout.len() as u64 > limit || stderr.len() as u64 > limit {
        return Err(ProcessError::TooMuchOutput(limit));
    }
    Ok(Output {
        success: status.success(),
        stdout,
        stderr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_and_chatty_programs_are_stopped() {
        let r = run_bounded(
            Command::new("sleep").arg("5"),
            Duration::from_millis(200),
            1024,
        );
        assert!(matches!(r, Err(ProcessError::Timeout(_))));
        let r = run_bounded(
            Command::new("head").args(["-c", "100000", "/dev/zero"]),
            Duration::from_secs(5),
            1024,
        );
        assert!(matches!(r, Err(ProcessError::TooMuchOutput(1024))));
        let ok = run_bounded(Command::new("echo").arg("hi"), Duration::from_secs(5), 1024).unwrap();
        assert!(ok.success);
        assert_eq!(ok.stdout, b"hi\n");
    }
}
