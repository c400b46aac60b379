//! CronJobs. The controller records when it last scheduled a run and when a run last
//! succeeded; a scheduled run that is no longer active and never succeeded failed. A
//! suspended CronJob runs nothing (Argo CD calls it Suspended, not Healthy).

use serde_json::Value;

use super::Health;
use crate::k8s::Object;

pub fn health(obj: &Object) -> Health {
    if obj.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true) {
        return Health::progressing("suspended: it starts no runs");
    }
    let Some(scheduled) = obj.pointer_str("/status/lastScheduleTime") else {
        return Health::Ready;
    };
    let active = obj
        .pointer("/status/active")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    let succeeded = obj.pointer_str("/status/lastSuccessfulTime");
    match succeeded {
        _ if active => Health::Ready,
        // RFC 3339 times as the API server writes them (UTC, fixed width) compare as text.
        Some(s) if s >= scheduled => Health::Ready,
        _ => Health::failed(format!(
            "the run scheduled at {scheduled} did not succeed{}",
            succeeded
                .map(|s| format!(" (last success {s})"))
                .unwrap_or_default()
        )),
    }
}
