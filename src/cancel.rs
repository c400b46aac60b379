//! Asking a run to stop: on a signal, or when the run loses its lock. A stopped run starts
//! nothing new, lets what is in flight finish (for a few seconds), records what it did,
//! and ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::watch;

/// Why a run was asked to stop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// A signal (its number: 2 for SIGINT, 15 for SIGTERM).
    Signal(i32),
    /// Another run took the stack's lock.
    LostLock(String),
}

impl StopReason {
    pub fn describe(&self) -> String {
        match self {
            StopReason::Signal(2) => "interrupted (SIGINT)".into(),
            StopReason::Signal(15) => "terminated (SIGTERM)".into(),
            StopReason::Signal(n) => format!("stopped by signal {n}"),
            StopReason::LostLock(why) => format!("lost the stack's lock: {why}"),
        }
    }
}

/// A cloneable stop flag with a way to wait for it.
#[derive(Clone, Debug)]
pub struct Cancel {
    tx: Arc<watch::Sender<Option<StopReason>>>,
    /// Set while a run can stop cleanly (it writes, and checks the flag); before that, a
    /// signal may end the process at once — nothing was written yet.
    armed: Arc<AtomicBool>,
}

impl Default for Cancel {
    fn default() -> Self {
        Cancel::new()
    }
}

impl Cancel {
    pub fn new() -> Cancel {
        Cancel {
            tx: Arc::new(watch::channel(None).0),
            armed: Arc::new(AtomicBool::new(false)),
        }
    }

    /// From now on a stop request is honoured by the run itself.
    pub fn arm(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }

    pub fn is_armed(&self) -> bool {
        self.armed.load(Ordering::SeqCst)
    }

    /// Asks to stop; the first reason given is kept.
    pub fn cancel(&self, reason: StopReason) {
        self.tx.send_if_modified(|r| {
            if r.is_none() {
                *r = Some(reason);
                true
            } else {
                false
            }
        });
    }

    pub fn reason(&self) -> Option<StopReason> {
        self.tx.borrow().clone()
    }

    pub fn is_cancelled(&self) -> bool {
        self.tx.borrow().is_some()
    }

    /// Resolves once a stop was asked for.
    pub async fn cancelled(&self) {
        let mut rx = self.tx.subscribe();
        let _ = rx.wait_for(Option::is_some).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_reason_wins_and_waiters_wake() {
        let c = Cancel::new();
        let waiter = {
            let c = c.clone();
            tokio::spawn(async move { c.cancelled().await })
        };
        assert!(!c.is_cancelled());
        c.cancel(StopReason::Signal(15));
        c.cancel(StopReason::Signal(2));
        waiter.await.unwrap();
        assert_eq!(c.reason(), Some(StopReason::Signal(15)));
    }
}
