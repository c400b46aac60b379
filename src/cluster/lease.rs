//! One writer at a time: a `coordination.k8s.io/v1` Lease, taken before a run's first
//! write and renewed while it lasts, so that two pipelines never install or remove the
//! same stack at once.
//!
//! The Lease says who holds it (host, pid, start time) and until when. A holder that dies
//! — even by `kill -9` — stops renewing, and its Lease expires by itself after its
//! duration: nobody ever has to unlock by hand. Taking an expired Lease over is a write
//! with the `resourceVersion` that was read, so of two runs racing for it one wins and the
//! other sees the winner.

use std::time::Duration;

use serde_json::json;

use super::{Cluster, ClusterError};
use crate::k8s::Object;

/// How long a Lease holds without renewal. A run killed without a chance to release it
/// blocks the next one at most this long.
pub const LEASE_DURATION: Duration = Duration::from_secs(30);

/// Who holds (or wants) a Lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    pub host: String,
    pub pid: u32,
    /// RFC 3339.
    pub started: String,
    /// What it is doing (`up`, `down`).
    pub command: String,
}

impl Holder {
    /// This process.
    pub fn me(command: &str) -> Holder {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| "unknown-host".into());
        Holder {
            host,
            pid: std::process::id(),
            started: crate::report::now_rfc3339(),
            command: command.to_string(),
        }
    }

    /// `holderIdentity`: unique per process, readable by people.
    pub fn identity(&self) -> String {
        format!("{}/{}/{}", self.host, self.pid, self.started)
    }

    fn from_lease(lease: &Object) -> Option<Holder> {
        let identity = lease.pointer_str("/spec/holderIdentity")?;
        let mut parts = identity.splitn(3, '/');
        let host = parts.next()?.to_string();
        let pid = parts.next()?.parse().ok()?;
        let started = parts.next()?.to_string();
        Some(Holder {
            host,
            pid,
            started,
            command: lease
                .annotation(COMMAND_ANNOTATION)
                .unwrap_or_default()
                .to_string(),
        })
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let command = if self.command.is_empty() {
            String::new()
        } else {
            format!("`landscape {}` ", self.command)
        };
        write!(
            f,
            "{command}on host {} (pid {}), started {}",
            self.host, self.pid, self.started
        )
    }
}

const COMMAND_ANNOTATION: &str = "landscape.dev/command";

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error(
        "{what} is locked by another run: {holder}; its lease expires {expires} unless renewed (hint: wait for it to finish, or pass --wait-for-lock DURATION)"
    )]
    Held {
        what: String,
        holder: Holder,
        expires: String,
    },
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

/// A Lease this process holds.
pub struct Lease {
    namespace: String,
    name: String,
    holder: Holder,
    /// The Lease as last written, for the next write's optimistic concurrency.
    current: std::sync::Mutex<Object>,
}

/// What a renewal found.
#[derive(Debug, PartialEq, Eq)]
pub enum Renewal {
    Renewed,
    /// Someone else holds it now: this run must stop writing.
    Lost(String),
}

impl Lease {
    /// Takes the Lease `namespace/name`, waiting up to `wait` for another holder to
    /// release it or for its Lease to expire. `what` names what it protects, for messages.
    pub async fn acquire(
        cluster: &Cluster,
        namespace: &str,
        name: &str,
        holder: Holder,
        wait: Option<Duration>,
        what: &str,
    ) -> Result<Lease, LeaseError> {
        let give_up = tokio::time::Instant::now() + wait.unwrap_or_default();
        loop {
            match Self::try_acquire(cluster, namespace, name, &holder).await? {
                Attempt::Again => continue,
                Attempt::Taken(current) => {
                    return Ok(Lease {
                        namespace: namespace.to_string(),
                        name: name.to_string(),
                        holder,
                        current: std::sync::Mutex::new(current),
                    });
                }
                Attempt::Held(other, expires) => {
                    if tokio::time::Instant::now() >= give_up {
                        return Err(LeaseError::Held {
                            what: what.to_string(),
                            holder: other,
                            expires,
                        });
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// Who holds the Lease `namespace/name` now, if someone does and it has not expired:
    /// a read, never a write.
    pub async fn held(
        cluster: &Cluster,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Holder>, ClusterError> {
        let stub = lease_object(namespace, name, &Holder::me("read"), None);
        Ok(match cluster.get(&stub).await? {
            Some(live)
                if !live
                    .pointer_str("/spec/holderIdentity")
                    .unwrap_or_default()
                    .is_empty()
                    && !expired(&live) =>
            {
                Some(held_by(&live).0)
            }
            _ => None,
        })
    }

    /// One attempt at taking the Lease.
    async fn try_acquire(
        cluster: &Cluster,
        namespace: &str,
        name: &str,
        holder: &Holder,
    ) -> Result<Attempt, ClusterError> {
        let stub = lease_object(namespace, name, holder, None);
        let Some(live) = cluster.get(&stub).await? else {
            return match cluster.create(&stub).await {
                Ok(created) => Ok(Attempt::Taken(created)),
                // Another run created it first: look at who.
                Err(e) if e.is_conflict() => Ok(Attempt::Again),
                Err(e) => Err(e),
            };
        };
        let theirs = live.pointer_str("/spec/holderIdentity").unwrap_or_default();
        if !theirs.is_empty() && theirs != holder.identity() && !expired(&live) {
            let (other, expires) = held_by(&live);
            return Ok(Attempt::Held(other, expires));
        }
        let mut next = lease_object(namespace, name, holder, Some(&live));
        next.0["metadata"]["resourceVersion"] = live.0["metadata"]["resourceVersion"].clone();
        match cluster.replace(&next).await {
            Ok(written) => Ok(Attempt::Taken(written)),
            // Another run took it over first: look at who.
            Err(e) if e.is_conflict() => Ok(Attempt::Again),
            Err(e) => Err(e),
        }
    }

    /// Renews the Lease (a write with the resourceVersion last seen). Transient failures
    /// are the caller's to retry; a Lease someone else wrote is lost.
    pub async fn renew(&self, cluster: &Cluster) -> Result<Renewal, ClusterError> {
        let current = self.current.lock().expect("lock").clone();
        let mut next = current.clone();
        next.0["spec"]["renewTime"] = json!(micro_time_now());
        match cluster.replace(&next).await {
            Ok(written) => {
                *self.current.lock().expect("lock") = written;
                Ok(Renewal::Renewed)
            }
            Err(e) if e.is_conflict() || e.is_not_found() => {
                let live = cluster.get(&current).await?;
                let holder = live.as_ref().and_then(Holder::from_lease);
                Ok(Renewal::Lost(holder.map_or_else(
                    || "the lease was deleted".to_string(),
                    |h| format!("the lease is now held by {h}"),
                )))
            }
            Err(e) => Err(e),
        }
    }

    /// Runs `work` while renewing the Lease every third of its duration. When the Lease is
    /// lost, `on_lost` is called once (with why) and `work` goes on to its end, which is
    /// expected to stop writing.
    pub async fn hold<F: std::future::Future>(
        &self,
        cluster: &Cluster,
        on_lost: impl Fn(String),
        work: F,
    ) -> F::Output {
        tokio::pin!(work);
        let every = LEASE_DURATION / 3;
        let mut lost = false;
        loop {
            tokio::select! {
                out = &mut work => return out,
                _ = tokio::time::sleep(every), if !lost => {
                    match self.renew(cluster).await {
                        Ok(Renewal::Renewed) => {}
                        Ok(Renewal::Lost(why)) => {
                            lost = true;
                            on_lost(why);
                        }
                        // The API server may be restarting: renew again next time, well
                        // within the duration.
                        Err(e) => tracing::warn!("renewing the lock: {e}"),
                    }
                }
            }
        }
    }

    /// Gives the Lease up, so the next run need not wait for it to expire.
    pub async fn release(&self, cluster: &Cluster) -> Result<(), ClusterError> {
        let current = self.current.lock().expect("lock").clone();
        match current.uid() {
            Some(uid) => cluster.delete_if_uid(&current.key(), uid).await.map(|_| ()),
            None => Ok(()),
        }
        .or_else(|e| if e.is_conflict() { Ok(()) } else { Err(e) })
    }

    pub fn holder(&self) -> &Holder {
        &self.holder
    }

    pub fn name(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// The outcome of one attempt at taking a Lease.
enum Attempt {
    Taken(Object),
    /// Held by someone else, until the time given.
    Held(Holder, String),
    /// Lost a race: look again at once.
    Again,
}

fn held_by(lease: &Object) -> (Holder, String) {
    let holder = Holder::from_lease(lease).unwrap_or(Holder {
        host: "another run".into(),
        pid: 0,
        started: "just now".into(),
        command: String::new(),
    });
    let expires = expiry(lease).map_or_else(|| "soon".to_string(), |t| format!("at {t}"));
    (holder, expires)
}

/// The Lease's spec for `holder`, keeping the transitions count of the live one.
fn lease_object(namespace: &str, name: &str, holder: &Holder, live: Option<&Object>) -> Object {
    let transitions = live
        .and_then(|l| l.pointer_i64("/spec/leaseTransitions"))
        .unwrap_or(0)
        + i64::from(live.is_some());
    let now = micro_time_now();
    Object(json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {crate::k8s::labels::MANAGED_BY: crate::k8s::labels::MANAGED_BY_VALUE},
            "annotations": {COMMAND_ANNOTATION: holder.command},
        },
        "spec": {
            "holderIdentity": holder.identity(),
            "leaseDurationSeconds": LEASE_DURATION.as_secs(),
            "acquireTime": now,
            "renewTime": now,
            "leaseTransitions": transitions,
        },
    }))
}

/// When a Lease expires: its renewTime plus its duration.
fn expiry(lease: &Object) -> Option<jiff::Timestamp> {
    let renewed: jiff::Timestamp = lease.pointer_str("/spec/renewTime")?.parse().ok()?;
    let secs = lease.pointer_i64("/spec/leaseDurationSeconds")?;
    renewed
        .checked_add(jiff::SignedDuration::from_secs(secs))
        .ok()
}

fn expired(lease: &Object) -> bool {
    expiry(lease).is_none_or(|t| t < jiff::Timestamp::now())
}

/// `metav1.MicroTime`: RFC 3339 with microseconds.
fn micro_time_now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holders_round_trip_through_the_lease() {
        let me = Holder {
            host: "ci-runner-7".into(),
            pid: 4242,
            started: "2026-12-02T10:00:00.000Z".into(),
            command: "up".into(),
        };
        let lease = lease_object("kube-system", "landscape-small", &me, None);
        assert_eq!(Holder::from_lease(&lease), Some(me.clone()));
        assert!(!expired(&lease));
        assert_eq!(
            me.to_string(),
            "`landscape up` on host ci-runner-7 (pid 4242), started 2026-12-02T10:00:00.000Z"
        );
    }

    #[test]
    fn a_lease_not_renewed_for_its_duration_has_expired() {
        let me = Holder::me("up");
        let mut lease = lease_object("kube-system", "x", &me, None);
        lease.0["spec"]["renewTime"] = json!("2020-01-01T00:00:00.000000Z");
        assert!(expired(&lease));
        lease.0["spec"]["renewTime"] = json!(micro_time_now());
        assert!(!expired(&lease));
    }
}
