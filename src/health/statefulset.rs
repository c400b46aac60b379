//! StatefulSets (kstatus `stsConditions`). With the default partition of 0 the rollout is
//! done when every replica is updated and ready.

use super::{Health, generic, int};
use crate::k8s::Object;

pub fn health(obj: &Object) -> Health {
    if let Some(h) = generic::observed(obj, true) {
        return h;
    }
    if obj.pointer_str("/spec/updateStrategy/type") == Some("OnDelete") {
        return Health::Ready;
    }
    let spec = int(obj, "/spec/replicas", 1);
    let replicas = int(obj, "/status/replicas", 0);
    let ready = int(obj, "/status/readyReplicas", 0);
    let updated = int(obj, "/status/updatedReplicas", 0);
    let partition = int(obj, "/spec/updateStrategy/rollingUpdate/partition", 0);
    if spec > replicas {
        return Health::progressing(format!("{replicas}/{spec} replicas created"));
    }
    if spec > ready {
        return Health::progressing(format!("{ready}/{spec} replicas ready"));
    }
    if replicas > spec {
        return Health::progressing(format!(
            "{} extra replicas pending termination",
            replicas - spec
        ));
    }
    if updated < spec - partition {
        return Health::progressing(format!("{updated}/{} replicas updated", spec - partition));
    }
    Health::Ready
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn waits_for_ready_replicas() {
        let sts = Object(
            json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s", "generation": 1},
            "spec": {"replicas": 2}, "status": {"observedGeneration": 1, "replicas": 2, "readyReplicas": 1, "updatedReplicas": 2}}),
        );
        assert_eq!(
            health(&sts),
            Health::Progressing("1/2 replicas ready".into())
        );
    }
}
