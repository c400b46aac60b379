//! Services. A LoadBalancer Service is ready when it has an address (kstatus only checks
//! the ClusterIP) — but only when load-balancer gating is on: a cluster without a
//! load-balancer controller never assigns one.

use serde_json::Value;

use super::{Health, HealthOptions};
use crate::k8s::Object;

pub fn health(obj: &Object, opts: &HealthOptions) -> Health {
    if obj.pointer_str("/spec/type") != Some("LoadBalancer") || !opts.load_balancers {
        return Health::Ready;
    }
    if obj
        .pointer("/spec/externalIPs")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
    {
        return Health::Ready;
    }
    if has_published_address(obj) {
        Health::Ready
    } else {
        Health::progressing("waiting for a load-balancer address")
    }
}

/// Whether a controller published an address in `status.loadBalancer.ingress` (the same
/// field on Services and Ingresses).
pub(super) fn has_published_address(obj: &Object) -> bool {
    obj.pointer("/status/loadBalancer/ingress")
        .and_then(Value::as_array)
        .is_some_and(|items| {
            items
                .iter()
                .any(|i| i.get("ip").is_some() || i.get("hostname").is_some())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn load_balancers_gate_only_when_asked() {
        let svc = Object(
            json!({"kind": "Service", "spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.5"}}),
        );
        assert!(health(&svc, &HealthOptions::default()).is_ready());
        assert!(
            !health(
                &svc,
                &HealthOptions {
                    load_balancers: true
                }
            )
            .is_ready()
        );
    }
}
