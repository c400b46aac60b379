//! ReplicaSets. `ReplicaFailure=True` (pods cannot be created: quota, admission) is a
//! failure here; kstatus only calls it in progress and would wait until the timeout.

use super::{Health, generic, int};
use crate::k8s::Object;

pub fn health(obj: &Object) -> Health {
    if let Some(h) = generic::observed(obj, true) {
        return h;
    }
    if let Some(c) = obj.condition("ReplicaFailure").filter(|c| c.is_true()) {
        return Health::failed(
            format!("cannot create pods: {} {}", c.reason(), c.message())
                .trim()
                .to_string(),
        );
    }
    let spec = int(obj, "/spec/replicas", 1);
    let available = int(obj, "/status/availableReplicas", 0);
    let ready = int(obj, "/status/readyReplicas", 0);
    if spec > available {
        return Health::progressing(format!("{available}/{spec} replicas available"));
    }
    if spec > ready {
        return Health::progressing(format!("{ready}/{spec} replicas ready"));
    }
    Health::Ready
}
