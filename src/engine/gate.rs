//! Gating a component on health: read its objects until every one passes its rule, one
//! fails for good, or the deadline passes — and then say exactly what is not ready and why,
//! with the cluster's own warnings about it and its pods.
//!
//! The objects are read again whenever a watch on them says one changed (a controller
//! wrote its status), so a component is found healthy within moments of being so; a poll
//! that slows to every two seconds stays underneath, for what no watch covers (endpoints,
//! nodes) and for the moments a watch is down (an API server restarting). Reading with
//! `get` and assessing is the same either way. A read that fails for a transient reason is
//! tried again; one the API server refuses for good fails the component as an API error
//! (exit 4), not a gate failure.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::{StreamExt, stream};
use serde_json::Value;
use tokio::time::Instant;

use super::Ctx;
use crate::cluster::{Cluster, ClusterError};
use crate::health::{self, EndpointState, Health};
use crate::k8s::Object;
use crate::report::{Event, FailureClass, NotReady};
use crate::stack::Component;

/// Why a gate did not pass.
#[derive(Debug)]
pub struct GateFailure {
    pub class: FailureClass,
    pub error: String,
    pub not_ready: Vec<NotReady>,
}

const PARALLEL_READS: usize = 8;

/// Waits for the component's objects to be healthy.
pub async fn wait_healthy(
    ctx: &Ctx<'_>,
    component: &Component,
    applied: &[Object],
    deadline: Instant,
) -> Result<(), GateFailure> {
    let made = made_at_run_time(ctx.cluster, component);
    let gated: Vec<&Object> = applied
        .iter()
        .filter(|o| health::is_gated(o, &component.readiness))
        .chain(made.iter())
        .collect();
    let mut last_reason = String::new();
    let mut interval = Duration::from_millis(500);
    let mut changes = changes(ctx, &gated).await;
    loop {
        if ctx.cancel.is_cancelled() {
            return Err(GateFailure {
                class: FailureClass::Gate,
                error: "stopped while waiting".into(),
                not_ready: vec![],
            });
        }
        let (statuses, extra) = match check(ctx, component, &gated).await {
            Ok(s) => s,
            Err(e) if e.is_transient() && Instant::now() < deadline => {
                tokio::time::sleep(interval).await;
                continue;
            }
            Err(e) => return Err(unreadable(&e)),
        };
        let waiting: Vec<&(Object, Health)> =
            statuses.iter().filter(|(_, h)| !h.is_ready()).collect();
        if waiting.is_empty() && extra.is_none() {
            return Ok(());
        }
        if let Some(failed) = statuses.iter().find(|(_, h)| h.is_failed()) {
            return Err(failed_for_good(ctx.cluster, failed, &waiting).await);
        }
        if Instant::now() >= deadline {
            return Err(timed_out(ctx.cluster, component, &waiting, extra).await);
        }
        let reason = waiting_reason(&waiting, extra.as_deref());
        if reason != last_reason {
            ctx.sink.emit(&waiting_event(component, &reason, &waiting));
            last_reason = reason;
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            Some(()) = changes.next() => {
                // A status write often comes with others (a Deployment and its
                // ReplicaSet): let them land, then read once.
                tokio::time::sleep(SETTLE).await;
                while futures::FutureExt::now_or_never(changes.next()).flatten().is_some() {}
            }
            _ = ctx.cancel.cancelled() => {}
        }
        interval = (interval + Duration::from_millis(250)).min(Duration::from_secs(2));
    }
}

/// The objects an operator makes that the component waits for (`waitFor`), as references
/// to read: in the component's namespace unless they say otherwise or are cluster-scoped.
fn made_at_run_time(cluster: &Cluster, component: &Component) -> Vec<Object> {
    component
        .wait_for
        .iter()
        .map(|w| {
            let namespaced = cluster
                .resource(&w.api_version, &w.kind)
                .is_none_or(|r| r.namespaced);
            let namespace = w
                .namespace
                .clone()
                .or_else(|| namespaced.then(|| component.namespace.clone()));
            let mut metadata = serde_json::json!({"name": w.name});
            if let Some(ns) = namespace {
                metadata["namespace"] = Value::String(ns);
            }
            Object(serde_json::json!({"apiVersion": w.api_version, "kind": w.kind, "metadata": metadata}))
        })
        .collect()
}

/// How long a gate waits after a watch event before reading, to take in the writes that
/// come with it.
const SETTLE: Duration = Duration::from_millis(50);

/// One watch per kind and namespace of the gated objects (the stack's, by their ApplySet
/// label), merged into one stream of wake-up calls.
async fn changes(
    ctx: &Ctx<'_>,
    gated: &[&Object],
) -> futures::stream::SelectAll<futures::stream::BoxStream<'static, ()>> {
    let selector = format!(
        "{}={}",
        crate::k8s::labels::APPLYSET_PART_OF,
        ctx.inventory.lock().await.applyset()
    );
    let kinds: std::collections::BTreeSet<(&str, &str, Option<&str>)> = gated
        .iter()
        .map(|o| (o.api_version(), o.kind(), o.namespace()))
        .collect();
    futures::stream::select_all(
        kinds
            .into_iter()
            .filter_map(|(api, kind, ns)| ctx.cluster.changes(api, kind, ns, &selector)),
    )
}

/// The component's objects could not be read: an API error when the server refused for
/// good, a gate failure when it kept failing for a transient reason until the deadline.
fn unreadable(e: &ClusterError) -> GateFailure {
    let class = if e.is_transient() {
        FailureClass::Gate
    } else {
        FailureClass::Api
    };
    GateFailure {
        class,
        error: format!("cannot read the component's objects: {e}"),
        not_ready: vec![],
    }
}

/// An object failed for good (the first one that did): no point waiting for the rest,
/// which are diagnosed along with it.
async fn failed_for_good(
    cluster: &Cluster,
    failed: &(Object, Health),
    waiting: &[&(Object, Health)],
) -> GateFailure {
    let not_ready = diagnose(cluster, waiting).await;
    GateFailure {
        class: FailureClass::Gate,
        error: format!("{} failed: {}", failed.0.key(), failed.1.reason()),
        not_ready,
    }
}

/// The deadline passed: every object not ready, diagnosed, and the nodes when the cluster
/// network's own condition is what is missing.
async fn timed_out(
    cluster: &Cluster,
    component: &Component,
    waiting: &[&(Object, Health)],
    extra: Option<String>,
) -> GateFailure {
    let mut not_ready = diagnose(cluster, waiting).await;
    if let Some(reason) = extra {
        not_ready.push(NotReady {
            object: cluster_nodes_key(),
            reason,
            events: vec![],
            pods: vec![],
        });
    }
    let timeout = crate::duration::format(component.timeout);
    GateFailure {
        class: FailureClass::Gate,
        error: format!(
            "not healthy within the timeout ({timeout}); {} not ready",
            not_ready.len()
        ),
        not_ready,
    }
}

/// One line on what the gate waits for: the first object not ready (and how many more),
/// else the cluster network's condition.
fn waiting_reason(waiting: &[&(Object, Health)], extra: Option<&str>) -> String {
    match waiting.first() {
        Some((obj, h)) if waiting.len() > 1 => format!(
            "{}: {} (and {} more)",
            obj.key(),
            h.reason(),
            waiting.len() - 1
        ),
        Some((obj, h)) => format!("{}: {}", obj.key(), h.reason()),
        None => extra.map(str::to_string).unwrap_or_default(),
    }
}

/// The `waiting` event: the reason, and each object not ready with its own.
fn waiting_event(component: &Component, reason: &str, waiting: &[&(Object, Health)]) -> Event {
    Event::Waiting {
        component: component.name.clone(),
        reason: reason.to_string(),
        not_ready: waiting
            .iter()
            .map(|(o, h)| NotReady {
                object: o.key(),
                reason: h.reason().to_string(),
                events: vec![],
                pods: vec![],
            })
            .collect(),
    }
}

fn cluster_nodes_key() -> crate::k8s::ObjectKey {
    crate::k8s::ObjectKey {
        group: String::new(),
        kind: "Node".into(),
        namespace: None,
        name: "(all nodes)".into(),
    }
}

/// Reads every gated object and assesses it. The second value is the CNI condition (all
/// nodes Ready, agents on every node) when the component is the cluster network.
async fn check(
    ctx: &Ctx<'_>,
    component: &Component,
    gated: &[&Object],
) -> Result<(Vec<(Object, Health)>, Option<String>), ClusterError> {
    let lives: Vec<Result<Option<Object>, ClusterError>> = stream::iter(gated.iter().copied())
        .map(|o| ctx.cluster.get(o))
        .buffered(PARALLEL_READS)
        .collect()
        .await;
    let lives: Vec<(Object, Option<Object>)> = gated
        .iter()
        .zip(lives)
        .map(|(d, l)| l.map(|l| ((*d).clone(), l)))
        .collect::<Result<_, _>>()?;
    assess_live(
        ctx.cluster,
        lives,
        &component.readiness,
        component.cni,
        &ctx.opts.health,
    )
    .await
}

/// Assesses objects already read (`(desired, live)` pairs; a missing live object is not
/// ready). The second value is the CNI condition (all nodes Ready, agents on every node)
/// when `cni` is set. Shared by the gate and by `status`.
pub(crate) async fn assess_live(
    cluster: &Cluster,
    lives: Vec<(Object, Option<Object>)>,
    readiness: &[crate::health::ReadinessRule],
    cni: bool,
    opts: &crate::health::HealthOptions,
) -> Result<(Vec<(Object, Health)>, Option<String>), ClusterError> {
    let nodes = if cni {
        Some(cluster.list("v1", "Node", None, "").await?)
    } else {
        None
    };
    let mut statuses = Vec::new();
    for (desired, live) in lives {
        let Some(live) = live else {
            statuses.push((desired, Health::Progressing("does not exist".into())));
            continue;
        };
        let mut h = if live.is_webhook_configuration() {
            let mut states = BTreeMap::new();
            for (ns, svc) in health::webhook_services(&live) {
                let state = endpoint_state(cluster, &ns, &svc).await?;
                states.insert((ns, svc), state);
            }
            health::webhook_configuration(&live, &|ns, svc| {
                states
                    .get(&(ns.to_string(), svc.to_string()))
                    .cloned()
                    .unwrap_or(EndpointState::ServiceMissing)
            })
        } else {
            health::assess(&live, readiness, opts)
        };
        if let (Some(nodes), true, Health::Ready) = (&nodes, live.kind() == "DaemonSet", &h) {
            h = health::daemonset_on_every_node(&live, nodes);
        }
        statuses.push((live, h));
    }
    let extra = nodes.and_then(|n| match health::cni_nodes(&n) {
        Health::Ready => None,
        other => Some(other.reason().to_string()),
    });
    Ok((statuses, extra))
}

/// Whether a Service exists and has at least one ready endpoint.
async fn endpoint_state(
    cluster: &Cluster,
    namespace: &str,
    service: &str,
) -> Result<EndpointState, ClusterError> {
    let svc = Object(
        serde_json::json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": service, "namespace": namespace}}),
    );
    if cluster.get(&svc).await?.is_none() {
        return Ok(EndpointState::ServiceMissing);
    }
    let slices = cluster
        .list(
            "discovery.k8s.io/v1",
            "EndpointSlice",
            Some(namespace),
            &format!("kubernetes.io/service-name={service}"),
        )
        .await?;
    let ready = slices.iter().any(|s| {
        s.pointer("/endpoints")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|e| e.pointer("/conditions/ready").and_then(Value::as_bool) != Some(false))
    });
    Ok(if ready {
        EndpointState::Ready
    } else {
        EndpointState::NoReadyEndpoints
    })
}

/// For each object that is not ready: its rule's reason, its recent Warning events, and
/// for workloads the pods that are not ready with theirs.
async fn diagnose(cluster: &Cluster, waiting: &[&(Object, Health)]) -> Vec<NotReady> {
    let mut out = Vec::new();
    for (obj, h) in waiting {
        let mut events = warning_events(cluster, obj).await;
        let mut pods = Vec::new();
        if let Some(selector) = pod_selector(obj) {
            // A Deployment's pods are created by its ReplicaSets; when they cannot be
            // (quota, admission), the warnings are on the ReplicaSet.
            if obj.kind() == "Deployment" {
                let sets = cluster
                    .list("apps/v1", "ReplicaSet", obj.namespace(), &selector)
                    .await
                    .unwrap_or_default();
                for rs in sets
                    .iter()
                    .filter(|rs| rs.pointer_i64("/spec/replicas").unwrap_or(0) > 0)
                {
                    for e in warning_events(cluster, rs).await {
                        events.push(format!("replicaset {}: {e}", rs.name()));
                    }
                }
            }
            let found = cluster
                .list("v1", "Pod", obj.namespace(), &selector)
                .await
                .unwrap_or_default();
            for pod in found
                .iter()
                .filter(|p| !health::assess(p, &[], &Default::default()).is_ready())
                .take(5)
            {
                let ph = health::assess(pod, &[], &Default::default());
                pods.push(format!("{}: {}", pod.name(), ph.reason()));
                for e in warning_events(cluster, pod).await {
                    events.push(format!("pod {}: {e}", pod.name()));
                }
            }
        }
        events.truncate(6);
        out.push(NotReady {
            object: obj.key(),
            reason: h.reason().to_string(),
            events,
            pods,
        });
    }
    out
}

/// A label selector for a workload's pods (`a=b,c=d`), from `spec.selector.matchLabels`.
fn pod_selector(obj: &Object) -> Option<String> {
    let kinds = [
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "Job",
    ];
    if !kinds.contains(&obj.kind()) {
        return None;
    }
    let labels = obj.pointer("/spec/selector/matchLabels")?.as_object()?;
    let parts: Vec<String> = labels
        .iter()
        .filter_map(|(k, v)| v.as_str().map(|v| format!("{k}={v}")))
        .collect();
    (!parts.is_empty()).then(|| parts.join(","))
}

/// The three most recent Warning events about an object: "Reason: message".
async fn warning_events(cluster: &Cluster, obj: &Object) -> Vec<String> {
    let mut fields = format!(
        "involvedObject.name={},involvedObject.kind={}",
        obj.name(),
        obj.kind()
    );
    fields.push_str(",type=Warning");
    let Ok(mut events) = cluster
        .list_fields("v1", "Event", obj.namespace(), &fields)
        .await
    else {
        return Vec::new();
    };
    let stamp = |e: &Object| {
        e.pointer_str("/lastTimestamp")
            .or_else(|| e.pointer_str("/eventTime"))
            .or_else(|| e.pointer_str("/metadata/creationTimestamp"))
            .unwrap_or_default()
            .to_string()
    };
    events.sort_by_key(|e| std::cmp::Reverse(stamp(e)));
    events
        .iter()
        .take(3)
        .map(|e| {
            format!(
                "{}: {}",
                e.pointer_str("/reason").unwrap_or("Warning"),
                e.pointer_str("/message").unwrap_or_default().trim()
            )
        })
        .collect()
}
