//! Jobs. Ready means complete: kstatus reports a running Job as current, which would let
//! a migration Job gate nothing.

use super::{Health, int};
use crate::k8s::Object;

pub fn health(obj: &Object) -> Health {
    if let Some(c) = obj.condition("Failed").filter(|c| c.is_true()) {
        return Health::failed(
            format!("job failed: {} {}", c.reason(), c.message())
                .trim()
                .to_string(),
        );
    }
    if obj.condition("Complete").is_some_and(|c| c.is_true()) {
        return Health::Ready;
    }
    if obj.pointer("/spec/suspend").and_then(|v| v.as_bool()) == Some(true) {
        return Health::progressing("suspended");
    }
    let completions = obj
        .pointer_i64("/spec/completions")
        .unwrap_or_else(|| int(obj, "/spec/parallelism", 1));
    let succeeded = int(obj, "/status/succeeded", 0);
    let active = int(obj, "/status/active", 0);
    let failed = int(obj, "/status/failed", 0);
    Health::progressing(format!(
        "not complete: {succeeded}/{completions} succeeded, {active} running, {failed} failed"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn running_jobs_are_not_ready() {
        let running = Object(
            json!({"kind": "Job", "spec": {"completions": 1}, "status": {"active": 1, "startTime": "x"}}),
        );
        assert!(!health(&running).is_ready());
        let done = Object(
            json!({"kind": "Job", "status": {"conditions": [{"type": "Complete", "status": "True"}]}}),
        );
        assert!(health(&done).is_ready());
        let failed = Object(
            json!({"kind": "Job", "status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]}}),
        );
        assert!(health(&failed).is_failed());
    }
}
