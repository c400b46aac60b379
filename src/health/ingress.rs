//! Ingresses, like LoadBalancer Services: ready when the ingress controller has published
//! an address — gated only with load-balancer gating on, since a cluster without an
//! ingress controller never publishes one (Argo CD waits for the address always).

use serde_json::Value;

use super::{Health, HealthOptions};
use crate::k8s::Object;

pub fn health(obj: &Object, opts: &HealthOptions) -> Health {
    if !opts.load_balancers {
        return Health::Ready;
    }
    let has_address = obj
        .pointer("/status/loadBalancer/ingress")
        .and_then(Value::as_array)
        .is_some_and(|items| {
            items
                .iter()
                .any(|i| i.get("ip").is_some() || i.get("hostname").is_some())
        });
    if has_address {
        Health::Ready
    } else {
        Health::progressing("waiting for the ingress controller to publish an address")
    }
}
