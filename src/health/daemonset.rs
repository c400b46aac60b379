//! DaemonSets (kstatus `daemonsetConditions`): every node the set targets runs an updated,
//! available, ready pod.

use super::{Health, generic, int};
use crate::k8s::Object;

pub fn health(obj: &Object) -> Health {
    if let Some(h) = generic::observed(obj, true) {
        return h;
    }
    let Some(desired) = obj.pointer_i64("/status/desiredNumberScheduled") else {
        return Health::progressing("the controller has not counted the target nodes yet");
    };
    if obj.pointer_str("/spec/updateStrategy/type") == Some("OnDelete") {
        return Health::Ready;
    }
    let current = int(obj, "/status/currentNumberScheduled", 0);
    let updated = int(obj, "/status/updatedNumberScheduled", 0);
    let available = int(obj, "/status/numberAvailable", 0);
    let ready = int(obj, "/status/numberReady", 0);
    if desired > current {
        return Health::progressing(format!("{current}/{desired} pods scheduled"));
    }
    if desired > updated {
        return Health::progressing(format!("{updated}/{desired} pods updated"));
    }
    if desired > available {
        return Health::progressing(format!("{available}/{desired} pods available"));
    }
    if desired > ready {
        return Health::progressing(format!("{ready}/{desired} pods ready"));
    }
    Health::Ready
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn needs_every_scheduled_pod_available() {
        let ds = Object(
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "d", "generation": 1},
            "status": {"observedGeneration": 1, "desiredNumberScheduled": 3, "currentNumberScheduled": 3,
                "updatedNumberScheduled": 3, "numberAvailable": 2, "numberReady": 2}}),
        );
        assert_eq!(
            health(&ds),
            Health::Progressing("2/3 pods available".into())
        );
        let fresh = Object(
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "d", "generation": 1}}),
        );
        assert!(!health(&fresh).is_ready());
    }
}
