//! Retrying transient failures: capped exponential backoff with jitter, within a deadline,
//! honouring the server's Retry-After. What is transient is [`ClusterError::is_transient`]'s
//! call; everything else fails at once.

use std::time::Duration;

use tokio::time::Instant;

use super::ClusterError;

/// The growing pause between attempts.
#[derive(Clone, Debug)]
pub struct Backoff {
    next: Duration,
    max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(Duration::from_millis(200), Duration::from_secs(5))
    }
}

impl Backoff {
    pub fn new(first: Duration, max: Duration) -> Backoff {
        Backoff { next: first, max }
    }

    /// The next pause: the current step with ±25% jitter (so that many clients a restart
    /// disconnected at once do not come back at once), at least what the server asked.
    pub fn pause(&mut self, asked: Option<Duration>) -> Duration {
        let base = self.next;
        self.next = (self.next * 2).min(self.max);
        let jittered = base.mul_f64(0.75 + 0.5 * unit_random());
        asked.map_or(jittered, |a| a.max(jittered))
    }
}

/// A number in [0, 1) that differs between calls and processes; enough for jitter.
fn unit_random() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Runs `call` until it succeeds, fails for good, or the next attempt would start past
/// `deadline`. `before_retry` runs before each new attempt (to refresh discovery, say).
pub async fn retrying<T, F, Fut>(
    deadline: Instant,
    mut before_retry: impl AsyncFnMut(&ClusterError),
    mut call: F,
) -> Result<T, ClusterError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ClusterError>>,
{
    let mut backoff = Backoff::default();
    loop {
        match call().await {
            Ok(v) => return Ok(v),
            Err(e) if e.is_transient() => {
                let pause = backoff.pause(e.retry_after());
                if Instant::now() + pause >= deadline {
                    return Err(e);
                }
                tracing::debug!("retrying in {pause:?}: {e}");
                tokio::time::sleep(pause).await;
                before_retry(&e).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// The deadline `limit` from now, or far away when there is none (a run without
/// `--timeout` is bounded by each component's own).
pub fn deadline_in(limit: Duration) -> Instant {
    Instant::now()
        .checked_add(limit)
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(86400 * 365))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_grow_to_the_cap_and_respect_retry_after() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(400));
        let pauses: Vec<Duration> = (0..5).map(|_| b.pause(None)).collect();
        assert!(pauses[0] >= Duration::from_millis(75) && pauses[0] <= Duration::from_millis(125));
        assert!(pauses[4] <= Duration::from_millis(500));
        assert!(pauses[4] >= Duration::from_millis(300));
        assert_eq!(
            b.pause(Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
    }

    #[tokio::test]
    async fn permanent_errors_are_not_retried() {
        let mut calls = 0;
        let r: Result<(), _> = retrying(
            deadline_in(Duration::from_secs(5)),
            async |_| {},
            || {
                calls += 1;
                async { Err(ClusterError::Invalid("no".into())) }
            },
        )
        .await;
        assert!(r.is_err());
        assert_eq!(calls, 1);
    }

    #[tokio::test]
    async fn transient_errors_are_retried_until_they_pass() {
        let mut calls = 0;
        let r = retrying(
            deadline_in(Duration::from_secs(30)),
            async |_| {},
            || {
                calls += 1;
                let fail = calls < 3;
                async move {
                    if fail {
                        Err(ClusterError::Transport {
                            action: "get",
                            object: "x".into(),
                            kind: super::super::TransportKind::Refused,
                            message: "refused".into(),
                        })
                    } else {
                        Ok(7)
                    }
                }
            },
        )
        .await;
        assert_eq!(r.unwrap(), 7);
        assert_eq!(calls, 3);
    }
}
