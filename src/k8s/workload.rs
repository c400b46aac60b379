//! The pods a rendered object asks for: how many (replicas, one per node, a Job's
//! parallelism), and the CPU and memory each requests — as the scheduler counts them.

use serde_json::Value;

use super::Object;
use super::quantity::parse_milli;

/// How many pods a workload runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Count {
    Replicas(u64),
    /// A DaemonSet: one on every node it targets.
    PerNode,
}

/// One workload's pods.
#[derive(Clone, Debug)]
pub struct Pods<'a> {
    pub count: Count,
    /// The pod spec (`spec.template.spec`, or a Pod's `spec`).
    pub spec: &'a Value,
}

/// The pods `obj` runs, if it is a workload (CronJobs run later, and are not counted).
pub fn pods(obj: &Object) -> Option<Pods<'_>> {
    let replicas = |default: u64| {
        obj.pointer("/spec/replicas")
            .and_then(Value::as_u64)
            .unwrap_or(default)
    };
    let (count, spec) = match (obj.group(), obj.kind()) {
        ("apps", "Deployment" | "StatefulSet" | "ReplicaSet") => (
            Count::Replicas(replicas(1)),
            obj.pointer("/spec/template/spec")?,
        ),
        ("apps", "DaemonSet") => (Count::PerNode, obj.pointer("/spec/template/spec")?),
        ("batch", "Job") => {
            let parallelism = obj
                .pointer("/spec/parallelism")
                .and_then(Value::as_u64)
                .unwrap_or(1);
            (
                Count::Replicas(parallelism),
                obj.pointer("/spec/template/spec")?,
            )
        }
        ("", "Pod") => (Count::Replicas(1), obj.pointer("/spec")?),
        _ => return None,
    };
    Some(Pods { count, spec })
}

/// What one pod requests: (CPU millicores, memory in millibytes). A container without a
/// request but with a limit requests its limit, as the API defaults it; an init container
/// runs alone, so the pod needs the larger of it and the sum of the others.
pub fn requests(spec: &Value) -> (u128, u128) {
    let of = |c: &Value, resource: &str| {
        ["requests", "limits"]
            .iter()
            .find_map(|k| {
                c.pointer(&format!("/resources/{k}/{resource}"))
                    .and_then(Value::as_str)
                    .and_then(parse_milli)
            })
            .unwrap_or(0)
    };
    let list = |key: &str| {
        spec.get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let containers = list("containers");
    let inits = list("initContainers");
    let sum = |r: &str| containers.iter().map(|c| of(c, r)).sum::<u128>();
    let init = |r: &str| inits.iter().map(|c| of(c, r)).max().unwrap_or(0);
    (
        sum("cpu").max(init("cpu")),
        sum("memory").max(init("memory")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_count_as_the_scheduler_counts_them() {
        let spec = json!({
            "containers": [
                {"resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}},
                {"resources": {"limits": {"cpu": "1", "memory": "1Gi"}}},
            ],
            "initContainers": [{"resources": {"requests": {"cpu": "2"}}}],
        });
        let (cpu, mem) = requests(&spec);
        assert_eq!(
            cpu, 2000,
            "the init container needs more than the others together"
        );
        assert_eq!(mem, (64 + 1024) * 1024 * 1024 * 1000);
        let ds = Object(
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "d"}, "spec": {"template": {"spec": spec}}}),
        );
        assert_eq!(pods(&ds).unwrap().count, Count::PerNode);
        let dep = Object(
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"replicas": 3, "template": {"spec": {}}}}),
        );
        assert_eq!(pods(&dep).unwrap().count, Count::Replicas(3));
        let cm =
            Object(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}));
        assert!(pods(&cm).is_none());
    }
}
