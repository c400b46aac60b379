//! Ingresses, like LoadBalancer Services: ready when the ingress controller has published
//! an address — gated only with load-balancer gating on, since a cluster without an
//! ingress controller never publishes one (Argo CD waits for the address always).

use super::service::has_published_address;
use super::{Health, HealthOptions};
use crate::k8s::Object;

pub fn health(obj: &Object, opts: &HealthOptions) -> Health {
    if !opts.load_balancers {
        return Health::Ready;
    }
    if has_published_address(obj) {
        Health::Ready
    } else {
        Health::progressing("waiting for the ingress controller to publish an address")
    }
}
