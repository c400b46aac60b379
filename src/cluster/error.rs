//! What can go wrong talking to the API server, and whether trying again can help.
//!
//! Transience is decided from the error's type and the API's structured status — the HTTP
//! code, the `reason`, the `details` — never by matching message text: messages change
//! between Kubernetes versions and are translated by some distributions, and a wrong guess
//! either retries a permanent error until the deadline or gives up on a restart.

use std::time::Duration;

use crate::k8s::ObjectKey;

/// The API server answered, with a failure status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApiStatus {
    pub code: u16,
    /// `NotFound`, `Conflict`, `Invalid`, `InternalError`, …
    pub reason: String,
    pub message: String,
    /// `details.kind`: the resource the status is about (`namespaces` for a missing one).
    pub details_kind: String,
    /// `details.causes`: which fields were refused, and why.
    pub causes: Vec<Cause>,
    /// `details.retryAfterSeconds` (throttling).
    pub retry_after: Option<Duration>,
}

/// One refused field of an API error (`details.causes[]`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cause {
    /// `FieldValueInvalid`, `FieldValueForbidden`, `FieldValueTypeInvalid`, …
    pub reason: String,
    /// The field's path (`spec.selector`).
    pub field: String,
    pub message: String,
}

impl Cause {
    /// Whether the field may not change on an existing object. The API has no reason of
    /// its own for this — validation reports `FieldValueInvalid` or `FieldValueForbidden`
    /// with one of a few fixed messages — so the message is what tells.
    pub fn is_immutable(&self) -> bool {
        const SAYINGS: [&str; 5] = [
            "immutable",
            "may not change once set",
            "cannot change roleRef",
            "updates to statefulset spec for fields other than",
            "pod updates may not change fields",
        ];
        SAYINGS.iter().any(|s| self.message.contains(s))
    }
}

/// Why a request got no answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportKind {
    /// Nothing listens (the API server is restarting).
    Refused,
    /// The connection broke: reset, closed, or ended mid-message (EOF).
    Broken,
    /// No answer in time.
    TimedOut,
    /// Anything else (name resolution, a proxy, a malformed response).
    Other,
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cannot load the kubeconfig{}: {message} (hint: pass --kubeconfig PATH or set KUBECONFIG)", path.as_ref().map(|p| format!(" {}", p.display())).unwrap_or_default())]
    Kubeconfig {
        path: Option<std::path::PathBuf>,
        message: String,
    },
    #[error(
        "cannot reach the cluster at {server}: {message} (hint: check --kubeconfig and --context, and that the API server is running)"
    )]
    Unreachable {
        server: String,
        message: String,
        kind: TransportKind,
    },
    /// The API server refused a request.
    #[error("{action} {object}: {}", .status.message)]
    Api {
        action: &'static str,
        object: String,
        status: Box<ApiStatus>,
    },
    /// A request got no answer.
    #[error("{action} {object}: {message}")]
    Transport {
        action: &'static str,
        object: String,
        kind: TransportKind,
        message: String,
    },
    /// The server does not serve this kind (yet: its CRD may be on its way).
    #[error(
        "{object}: the server does not serve {api_version} {kind} (no matches for kind; its CRD is not installed)"
    )]
    NotServed {
        object: String,
        api_version: String,
        kind: String,
    },
    /// The cluster did not answer within the limit the command was given.
    #[error("{what} did not finish within {} (hint: a slow or unreachable cluster; raise --timeout)", crate::duration::format(*.limit))]
    Deadline { what: String, limit: Duration },
    /// Something the cluster holds is not what landscape wrote (an unreadable inventory).
    #[error("{0}")]
    Invalid(String),
}

impl ClusterError {
    /// The HTTP status of an API error (0 when there was no answer).
    pub fn code(&self) -> u16 {
        match self {
            ClusterError::Api { status, .. } => status.code,
            _ => 0,
        }
    }

    pub fn status(&self) -> Option<&ApiStatus> {
        match self {
            ClusterError::Api { status, .. } => Some(status),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.code() == 404
    }

    /// A write lost a race on `resourceVersion` (optimistic concurrency).
    pub fn is_conflict(&self) -> bool {
        self.code() == 409
    }

    /// Errors worth retrying within a deadline: no answer (the API server restarting),
    /// throttling, the server's own transient failures, a namespace another component is
    /// creating a moment later, and kinds that are not served yet right after their CRD.
    /// Permanent refusals — 400, 403, 404 meaning absent, 409, 422, and the 500 server-side
    /// apply gives for a field of the wrong type — fail at once.
    pub fn is_transient(&self) -> bool {
        match self {
            ClusterError::Unreachable { kind, .. } | ClusterError::Transport { kind, .. } => {
                *kind != TransportKind::Other
            }
            ClusterError::NotServed { .. } => true,
            ClusterError::Api { status, .. } => status_is_transient(status),
            ClusterError::Kubeconfig { .. }
            | ClusterError::Deadline { .. }
            | ClusterError::Invalid(_) => false,
        }
    }

    /// How long the server asked the client to wait before trying again.
    pub fn retry_after(&self) -> Option<Duration> {
        self.status().and_then(|s| s.retry_after)
    }

    /// When the API refused an update only because it changes fields that cannot change
    /// on an existing object: those fields (a change that needs the object replaced).
    /// None for any other error, including a 422 that also refuses something else.
    pub fn immutable_fields(&self) -> Option<Vec<String>> {
        let s = self.status()?;
        let all_immutable =
            s.code == 422 && !s.causes.is_empty() && s.causes.iter().all(Cause::is_immutable);
        all_immutable.then(|| {
            let mut fields: Vec<String> = s.causes.iter().map(|c| c.field.clone()).collect();
            fields.dedup();
            fields
        })
    }
}

/// A cause the API server gives a field of the wrong type.
const TYPED_PATCH_CAUSE: &str = "FieldValueTypeInvalid";

fn status_is_transient(s: &ApiStatus) -> bool {
    match s.code {
        429 | 502 | 503 | 504 => true,
        500 => !is_permanent_internal(s),
        // A namespace another component creates a moment later.
        404 => s.details_kind == "namespaces",
        _ => false,
    }
}

/// A 500 that describes the request, not the server. The server's own failures come
/// classified — `InternalError` (a webhook it could not call, storage trouble),
/// `ServerTimeout`, `Timeout` — while an error it could not classify at all (reason
/// `Unknown`, sent as no reason) is one raised from the request itself: server-side apply
/// answers a body that does not fit the object's type (a number where a string belongs)
/// that way, and trying again never changes the answer.
fn is_permanent_internal(s: &ApiStatus) -> bool {
    s.reason.is_empty()
        || s.reason == "BadRequest"
        || s.causes.iter().any(|c| c.reason == TYPED_PATCH_CAUSE)
}

/// Turns a kube error into a ClusterError, classifying what it can.
pub fn from_kube(action: &'static str, key: &ObjectKey, e: kube::Error) -> ClusterError {
    let object = key.to_string();
    match e {
        kube::Error::Api(status) => ClusterError::Api {
            action,
            object,
            status: Box::new(api_status(&status)),
        },
        other => ClusterError::Transport {
            action,
            object,
            kind: transport_kind(&other),
            message: error_chain(&other),
        },
    }
}

pub fn api_status(status: &kube::core::Status) -> ApiStatus {
    let details = status.details.as_ref();
    ApiStatus {
        code: status.code,
        reason: status.reason.clone(),
        message: status.message.clone(),
        details_kind: details.map(|d| d.kind.clone()).unwrap_or_default(),
        causes: details
            .map(|d| {
                d.causes
                    .iter()
                    .map(|c| Cause {
                        reason: c.reason.clone(),
                        field: c.field.clone(),
                        message: c.message.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        retry_after: details
            .map(|d| d.retry_after_seconds)
            .filter(|s| *s > 0)
            .map(|s| Duration::from_secs(u64::from(s))),
    }
}

/// Why a request got no answer, from the types in the error's source chain: an I/O error's
/// kind, hyper's connection state, a timeout.
pub fn transport_kind(e: &(dyn std::error::Error + 'static)) -> TransportKind {
    use std::io::ErrorKind;
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            match io.kind() {
                ErrorKind::ConnectionRefused => return TransportKind::Refused,
                ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted
                | ErrorKind::BrokenPipe
                | ErrorKind::UnexpectedEof
                | ErrorKind::NotConnected => return TransportKind::Broken,
                ErrorKind::TimedOut | ErrorKind::WouldBlock => return TransportKind::TimedOut,
                _ => {}
            }
        }
        if let Some(h) = err.downcast_ref::<hyper::Error>() {
            if h.is_timeout() {
                return TransportKind::TimedOut;
            }
            if h.is_incomplete_message() || h.is_closed() || h.is_canceled() {
                return TransportKind::Broken;
            }
        }
        if let Some(h) = err.downcast_ref::<hyper_util::client::legacy::Error>()
            && h.is_connect()
            && cur_is_refused(err)
        {
            return TransportKind::Refused;
        }
        if err.downcast_ref::<tokio::time::error::Elapsed>().is_some() {
            return TransportKind::TimedOut;
        }
        cur = err.source();
    }
    TransportKind::Other
}

/// Whether anything below a connect error is a refused connection.
fn cur_is_refused(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = e.source();
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return io.kind() == std::io::ErrorKind::ConnectionRefused;
        }
        cur = err.source();
    }
    false
}

/// An error and its causes on one line: "a: b: c".
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: u16, reason: &str, kind: &str, causes: &[&str]) -> ClusterError {
        ClusterError::Api {
            action: "apply",
            object: "x".into(),
            status: Box::new(ApiStatus {
                code,
                reason: reason.into(),
                message: "m".into(),
                details_kind: kind.into(),
                causes: causes
                    .iter()
                    .map(|c| Cause {
                        reason: c.to_string(),
                        ..Cause::default()
                    })
                    .collect(),
                retry_after: None,
            }),
        }
    }

    #[test]
    fn transience_follows_the_status_not_the_message() {
        assert!(api(429, "TooManyRequests", "", &[]).is_transient());
        assert!(api(503, "ServiceUnavailable", "", &[]).is_transient());
        assert!(api(500, "InternalError", "", &[]).is_transient());
        assert!(api(500, "ServerTimeout", "", &[]).is_transient());
        // Server-side apply's answer to a field of the wrong type: 500, reason Unknown.
        assert!(!api(500, "", "", &[]).is_transient());
        assert!(!api(500, "InternalError", "", &["FieldValueTypeInvalid"]).is_transient());
        assert!(api(404, "NotFound", "namespaces", &[]).is_transient());
        assert!(!api(404, "NotFound", "configmaps", &[]).is_transient());
        for code in [400, 403, 409, 422] {
            assert!(!api(code, "", "", &[]).is_transient(), "{code}");
        }
    }

    #[test]
    fn an_update_refused_only_for_immutable_fields_is_told_apart() {
        let refused = |causes: Vec<(&str, &str, &str)>| ClusterError::Api {
            action: "apply",
            object: "x".into(),
            status: Box::new(ApiStatus {
                code: 422,
                reason: "Invalid".into(),
                causes: causes
                    .into_iter()
                    .map(|(reason, field, message)| Cause {
                        reason: reason.into(),
                        field: field.into(),
                        message: message.into(),
                    })
                    .collect(),
                ..ApiStatus::default()
            }),
        };
        let selector = refused(vec![(
            "FieldValueInvalid",
            "spec.selector",
            "Invalid value: {\"app\":\"b\"}: field is immutable",
        )]);
        assert_eq!(
            selector.immutable_fields(),
            Some(vec!["spec.selector".into()])
        );
        let sts = refused(vec![(
            "FieldValueForbidden",
            "spec",
            "Forbidden: updates to statefulset spec for fields other than 'replicas' are forbidden",
        )]);
        assert_eq!(sts.immutable_fields(), Some(vec!["spec".into()]));
        let role = refused(vec![(
            "FieldValueInvalid",
            "roleRef",
            "cannot change roleRef",
        )]);
        assert!(role.immutable_fields().is_some());
        // Also refused for another reason: not a matter of replacing the object.
        let mixed = refused(vec![
            ("FieldValueInvalid", "spec.selector", "field is immutable"),
            (
                "FieldValueRequired",
                "spec.template.spec.containers",
                "Required value",
            ),
        ]);
        assert_eq!(mixed.immutable_fields(), None);
        assert_eq!(refused(vec![]).immutable_fields(), None);
        assert_eq!(api(409, "Conflict", "", &[]).immutable_fields(), None);
    }

    #[test]
    fn refused_and_reset_connections_are_transient() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(transport_kind(&refused), TransportKind::Refused);
        let eof = std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
        assert_eq!(transport_kind(&eof), TransportKind::Broken);
        let other = std::io::Error::other("name resolution failed");
        assert_eq!(transport_kind(&other), TransportKind::Other);
        let t = ClusterError::Transport {
            action: "get",
            object: "x".into(),
            kind: TransportKind::Refused,
            message: "Connection refused".into(),
        };
        assert!(t.is_transient());
    }
}
