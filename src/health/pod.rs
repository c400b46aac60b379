//! Pods. A Pod in phase `Failed` is a failure (kstatus calls it current), and so is a
//! container stuck in a back-off or an image/config error (Argo CD's rule).

use serde_json::Value;

use super::Health;
use crate::k8s::Object;

pub fn health(obj: &Object) -> Health {
    match obj.pointer_str("/status/phase").unwrap_or_default() {
        "Succeeded" => Health::Ready,
        "Failed" => Health::failed(format!(
            "pod failed: {}",
            container_problem(obj).unwrap_or_else(|| obj
                .pointer_str("/status/reason")
                .unwrap_or("phase Failed")
                .to_string())
        )),
        "Running" => {
            if obj.condition("Ready").is_some_and(|c| c.is_true()) {
                return Health::Ready;
            }
            match container_problem(obj) {
                Some(p) if p.contains("BackOff") || p.starts_with("Err") || p.contains("Error") => {
                    Health::failed(p)
                }
                Some(p) => Health::progressing(p),
                None => Health::progressing(super::generic::describe_condition(obj, "Ready")),
            }
        }
        "Pending" => {
            if let Some(c) = obj
                .condition("PodScheduled")
                .filter(|c| !c.is_true() && c.reason() == "Unschedulable")
            {
                return Health::progressing(format!("unschedulable: {}", c.message()));
            }
            match container_problem(obj) {
                Some(p) if p.contains("BackOff") || p.starts_with("Err") => Health::failed(p),
                Some(p) => Health::progressing(p),
                None => Health::progressing("pending"),
            }
        }
        "" => Health::progressing("not scheduled yet"),
        other => Health::progressing(format!("phase {other}")),
    }
}

/// The first container that is waiting or terminated with a reason, described.
pub fn container_problem(obj: &Object) -> Option<String> {
    for list in ["/status/initContainerStatuses", "/status/containerStatuses"] {
        for c in obj
            .pointer(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = c.get("name").and_then(Value::as_str).unwrap_or("?");
            if c.get("ready").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            for state in ["waiting", "terminated"] {
                if let Some(s) = c.pointer(&format!("/state/{state}")) {
                    let reason = s.get("reason").and_then(Value::as_str).unwrap_or(state);
                    if state == "terminated" && reason == "Completed" {
                        continue;
                    }
                    let message = s.get("message").and_then(Value::as_str).unwrap_or_default();
                    let mut out = format!("{reason} (container {name})");
                    if !message.is_empty() {
                        out.push_str(&format!(": {message}"));
                    }
                    return Some(out);
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn failed_phase_and_backoff_are_failures() {
        let failed = Object(json!({"kind": "Pod", "status": {"phase": "Failed"}}));
        assert!(health(&failed).is_failed());
        let crash = Object(
            json!({"kind": "Pod", "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
            "containerStatuses": [{"name": "app", "ready": false, "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m"}}}]}}),
        );
        assert_eq!(
            health(&crash),
            Health::Failed("CrashLoopBackOff (container app): back-off 5m".into())
        );
    }

    #[test]
    fn running_but_not_ready_is_progressing() {
        let p = Object(
            json!({"kind": "Pod", "status": {"phase": "Running", "conditions": [
            {"type": "Ready", "status": "False", "reason": "ContainersNotReady", "message": "containers with unready status: [app]"}],
            "containerStatuses": [{"name": "app", "ready": false, "state": {"running": {}}}]}}),
        );
        assert_eq!(
            health(&p),
            Health::Progressing(
                "condition Ready=False: ContainersNotReady, containers with unready status: [app]"
                    .into()
            )
        );
    }
}
