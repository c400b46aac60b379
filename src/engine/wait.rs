//! `landscape wait`: the gate `up` puts on a component, on any objects — what a CI job
//! needs after its own `kubectl apply`. The objects are read live, assessed by the same
//! rules (plus a stack's readiness rules), and waited for until ready, failed for good or
//! past the deadline, with the same diagnostics.

use tokio::time::Instant;

use super::gate::{GateFailure, wait_healthy};
use super::{Ctx, RunOptions};
use crate::cancel::Cancel;
use crate::cluster::Cluster;
use crate::health::{HealthOptions, ReadinessRule};
use crate::inventory::{Inventory, Origin, StackIdentity};
use crate::k8s::Object;
use crate::report::Sink;
use crate::stack::{Category, Component};

/// Waits for `objects` (namespaced ones without a namespace are read in `default`, as
/// kubectl does) to be healthy by `deadline`.
pub async fn wait(
    cluster: &Cluster,
    sink: &dyn Sink,
    objects: &[Object],
    readiness: Vec<ReadinessRule>,
    health: HealthOptions,
    timeout: std::time::Duration,
    cancel: &Cancel,
) -> Result<(), GateFailure> {
    let objects: Vec<Object> = objects
        .iter()
        .map(|o| {
            let mut o = o.clone();
            let namespaced = cluster
                .resource(o.api_version(), o.kind())
                .is_some_and(|r| r.namespaced);
            if namespaced && o.namespace().is_none() {
                o.set_namespace("default");
            }
            o
        })
        .collect();
    // No inventory: nothing carries a stack's ApplySet label, so the gate polls.
    let inventory = tokio::sync::Mutex::new(Inventory::new(StackIdentity {
        name: "wait".into(),
        origin: Origin::Profile {
            profile: "wait".into(),
        },
        profile: None,
    }));
    let opts = RunOptions {
        health,
        ..Default::default()
    };
    let ctx = Ctx {
        cluster,
        sink,
        opts: &opts,
        inventory: &inventory,
        cancel,
    };
    let component = Component {
        name: "wait".into(),
        category: Category::Delivery,
        version: None,
        namespace: "default".into(),
        description: None,
        needs: vec![],
        cni: false,
        sources: vec![],
        values: serde_json::Value::Null,
        required: vec![],
        readiness,
        timeout,
        patches: vec![],
        pod_security: None,
        exclude: vec![],
        secrets: vec![],
        namespace_annotations: Default::default(),
        wait_for: Vec::new(),
        replace_allowed: false,
        replaces: None,
        requires: Default::default(),
        lint_exempt: Default::default(),
    };
    let deadline = Instant::now() + timeout;
    wait_healthy(&ctx, &component, &objects, deadline).await
}
