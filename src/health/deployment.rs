//! Deployments (kstatus `deploymentConditions`, made strict about observedGeneration).

use super::{Health, generic, int};
use crate::k8s::Object;

pub fn health(obj: &Object) -> Health {
    if let Some(h) = generic::observed(obj, true) {
        return h;
    }
    if let Some(c) = obj.condition("Progressing")
        && c.reason() == "ProgressDeadlineExceeded"
    {
        return Health::failed(format!("progress deadline exceeded: {}", c.message()));
    }
    // A paused Deployment does not roll out by design; waiting for it would never end.
    if obj.pointer("/spec/paused").and_then(|v| v.as_bool()) == Some(true) {
        return Health::Ready;
    }
    let spec = int(obj, "/spec/replicas", 1);
    let replicas = int(obj, "/status/replicas", 0);
    let updated = int(obj, "/status/updatedReplicas", 0);
    let ready = int(obj, "/status/readyReplicas", 0);
    let available = int(obj, "/status/availableReplicas", 0);
    if spec > replicas {
        return Health::progressing(format!("{replicas}/{spec} replicas created"));
    }
    if spec > updated {
        return Health::progressing(format!("{updated}/{spec} replicas updated"));
    }
    if replicas > spec {
        return Health::progressing(format!(
            "{} old replicas pending termination",
            replicas - spec
        ));
    }
    if spec > available {
        return Health::progressing(format!("{available}/{spec} replicas available"));
    }
    if spec > ready {
        return Health::progressing(format!("{ready}/{spec} replicas ready"));
    }
    if spec > 0 && !obj.condition("Available").is_some_and(|c| c.is_true()) {
        return Health::progressing(generic::describe_condition(obj, "Available"));
    }
    Health::Ready
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dep(status: serde_json::Value) -> Object {
        Object(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "generation": 2}, "spec": {"replicas": 3}, "status": status}))
    }

    #[test]
    fn counts_available_replicas() {
        let h = health(&dep(
            json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3,
            "readyReplicas": 2, "availableReplicas": 2}),
        ));
        assert_eq!(h, Health::Progressing("2/3 replicas available".into()));
    }

    #[test]
    fn stale_status_is_not_trusted() {
        let h = health(&dep(
            json!({"observedGeneration": 1, "replicas": 3, "updatedReplicas": 3,
            "readyReplicas": 3, "availableReplicas": 3, "conditions": [{"type": "Available", "status": "True"}]}),
        ));
        assert!(matches!(h, Health::Progressing(r) if r.contains("generation 2, observed 1")));
        assert!(matches!(health(&dep(json!({}))), Health::Progressing(_)));
    }

    #[test]
    fn ready_when_all_counters_and_available() {
        let h = health(&dep(
            json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3,
            "readyReplicas": 3, "availableReplicas": 3, "conditions": [{"type": "Available", "status": "True"}]}),
        ));
        assert_eq!(h, Health::Ready);
    }

    #[test]
    fn deadline_exceeded_fails() {
        let h = health(&dep(json!({"observedGeneration": 2, "conditions": [
            {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "ReplicaSet \"d-1\" has timed out progressing."}]})));
        assert!(h.is_failed());
    }
}
