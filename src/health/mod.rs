//! Readiness: when is an object usable?
//!
//! Each rule is a pure function from an object (and, where needed, the related objects the
//! engine looked up) to a [`Health`]. The rules follow kstatus (the model Helm 4 and Flux
//! use) and fix its known gaps, each noted where it is fixed: a running Job is not done, a
//! failed Pod is not healthy, a LoadBalancer Service without an address is not ready, an
//! APIService must be Available, and an admission webhook must be able to answer.
//!
//! Kinds without a rule (ConfigMaps, RBAC, …) are ready as soon as they exist.

mod apiservice;
mod autoscaler;
mod crd;
mod cronjob;
mod custom;
mod daemonset;
mod deployment;
mod gateway;
mod generic;
mod ingress;
mod job;
mod nodes;
mod pod;
mod pvc;
mod replicaset;
mod rule;
mod service;
mod statefulset;
mod webhook;

use serde::Serialize;

pub use nodes::{cni_nodes, daemonset_on_every_node};
pub use rule::ReadinessRule;
pub use webhook::{EndpointState, webhook_configuration, webhook_services};

use crate::k8s::Object;

/// The health of one object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "reason", rename_all = "lowercase")]
pub enum Health {
    /// Usable.
    Ready,
    /// Not yet; the reason says what is missing ("2/3 replicas available").
    Progressing(String),
    /// Will not become ready without a change; the reason says why.
    Failed(String),
}

impl Health {
    pub fn is_ready(&self) -> bool {
        matches!(self, Health::Ready)
    }

    pub fn is_failed(&self) -> bool {
        matches!(self, Health::Failed(_))
    }

    pub fn reason(&self) -> &str {
        match self {
            Health::Ready => "ready",
            Health::Progressing(r) | Health::Failed(r) => r,
        }
    }

    fn progressing(reason: impl Into<String>) -> Health {
        Health::Progressing(reason.into())
    }

    fn failed(reason: impl Into<String>) -> Health {
        Health::Failed(reason.into())
    }
}

/// Options that change what "ready" means for a whole run.
#[derive(Clone, Debug, Default)]
pub struct HealthOptions {
    /// Wait for LoadBalancer Services to get an address. Off by default: on clusters
    /// without a load-balancer controller they never would.
    pub load_balancers: bool,
}

/// Whether an object of this kind is ever waited for. Objects that are not are ready the
/// moment the apply succeeds; polling them would only cost API calls.
pub fn is_gated(obj: &Object, rules: &[ReadinessRule]) -> bool {
    if custom::matching_rule(obj, rules).is_some() {
        return true;
    }
    match (obj.group(), obj.kind()) {
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet")
        | ("", "Pod" | "PersistentVolumeClaim" | "Service")
        | ("batch", "Job" | "CronJob")
        | ("autoscaling", "HorizontalPodAutoscaler")
        | ("networking.k8s.io", "Ingress")
        | ("apiextensions.k8s.io", "CustomResourceDefinition")
        | ("apiregistration.k8s.io", "APIService")
        | (
            "admissionregistration.k8s.io",
            "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration",
        ) => true,
        // Other built-in kinds are configuration: ready as soon as they exist.
        (group, _) if crate::k8s::is_builtin_group(group) => false,
        // Custom resources: wait when their controller reports status.
        _ => true,
    }
}

/// The health of one object by its kind's rule. Webhook configurations need related
/// objects and are assessed by [`webhook_configuration`] instead.
pub fn assess(obj: &Object, rules: &[ReadinessRule], opts: &HealthOptions) -> Health {
    if obj.is_terminating() {
        return Health::progressing("being deleted");
    }
    if let Some(rule) = custom::matching_rule(obj, rules) {
        return custom::by_rule(obj, rule);
    }
    match (obj.group(), obj.kind()) {
        ("apps", "Deployment") => deployment::health(obj),
        ("apps", "StatefulSet") => statefulset::health(obj),
        ("apps", "DaemonSet") => daemonset::health(obj),
        ("apps", "ReplicaSet") => replicaset::health(obj),
        ("", "Pod") => pod::health(obj),
        ("batch", "Job") => job::health(obj),
        ("batch", "CronJob") => cronjob::health(obj),
        ("autoscaling", "HorizontalPodAutoscaler") => autoscaler::health(obj),
        ("networking.k8s.io", "Ingress") => ingress::health(obj, opts),
        ("gateway.networking.k8s.io", "Gateway") => gateway::gateway(obj),
        (
            "gateway.networking.k8s.io",
            "HTTPRoute" | "GRPCRoute" | "TLSRoute" | "TCPRoute" | "UDPRoute",
        ) => gateway::route(obj),
        ("", "PersistentVolumeClaim") => pvc::health(obj),
        ("", "Service") => service::health(obj, opts),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => crd::health(obj),
        ("apiregistration.k8s.io", "APIService") => apiservice::health(obj),
        _ if is_gated(obj, rules) => custom::known_or_generic(obj),
        _ => Health::Ready,
    }
}

/// Shorthand for rules: an integer field with a default.
fn int(obj: &Object, pointer: &str, default: i64) -> i64 {
    obj.pointer_i64(pointer).unwrap_or(default)
}
