//! Custom resources: the component's own readiness rules, a catalog of rules for the
//! custom resources of the platform's components, and a generic fallback.
//!
//! The catalog matters because kstatus' fallback reports a custom resource ready as soon
//! as it exists when its controller has not written a `Ready` condition yet — so a gate
//! on a Certificate or a CephCluster would pass before the thing is usable.

use serde_json::Value;

use super::ReadinessRule;
use super::{Health, generic};
use crate::k8s::Object;

/// The first rule that applies to `obj`.
pub fn matching_rule<'a>(obj: &Object, rules: &'a [ReadinessRule]) -> Option<&'a ReadinessRule> {
    rules.iter().find(|r| {
        r.kind == obj.kind()
            && r.group.as_deref().is_none_or(|g| g == obj.group())
            && r.name.as_deref().is_none_or(|n| n == obj.name())
    })
}

/// Applies a component's readiness rule.
pub fn by_rule(obj: &Object, rule: &ReadinessRule) -> Health {
    if rule.ignore {
        return Health::Ready;
    }
    if let Some(h) = generic::observed(obj, false) {
        return h;
    }
    if let Some(kind) = &rule.condition {
        match obj.condition(kind) {
            Some(c) if c.is_true() && fresh(obj, c.observed_generation()) => {}
            Some(c) if c.is_true() => {
                return Health::progressing(format!(
                    "condition {kind}=True describes an older generation"
                ));
            }
            _ => return Health::progressing(generic::describe_condition(obj, kind)),
        }
    }
    if let Some(field) = &rule.field {
        let pointer = format!("/{}", field.trim_start_matches('.').replace('.', "/"));
        let actual = obj.pointer(&pointer).cloned().unwrap_or(Value::Null);
        if rule.failed.contains(&actual) {
            return Health::failed(format!("{field} is {}", show(&actual)));
        }
        if let Some(expected) = &rule.equals
            && &actual != expected
        {
            return Health::progressing(format!(
                "{field} is {}, waiting for {}",
                show(&actual),
                show(expected)
            ));
        }
    }
    Health::Ready
}

fn show(v: &Value) -> String {
    match v {
        Value::Null => "not set".into(),
        Value::String(s) => format!("`{s}`"),
        other => other.to_string(),
    }
}

/// A condition's own observedGeneration (metav1.Condition) must not be behind.
fn fresh(obj: &Object, observed: Option<i64>) -> bool {
    match (obj.generation(), observed) {
        (Some(g), Some(o)) => o >= g,
        _ => true,
    }
}

/// A condition that must exist and be True, current for this generation.
fn require(obj: &Object, kind: &str) -> Option<Health> {
    match obj.condition(kind) {
        Some(c) if c.is_true() && fresh(obj, c.observed_generation()) => None,
        Some(c) if c.is_true() => Some(Health::progressing(format!(
            "condition {kind}=True describes an older generation"
        ))),
        _ => Some(Health::progressing(generic::describe_condition(obj, kind))),
    }
}

/// Rules for the custom resources landscape's profiles install, then the generic rule.
pub fn known_or_generic(obj: &Object) -> Health {
    if let Some(h) = generic::observed(obj, false) {
        return h;
    }
    if let Some(h) = generic::stalled_or_reconciling(obj) {
        return h;
    }
    match (obj.group(), obj.kind()) {
        // cert-manager: a Certificate being (re)issued is not ready even if Ready is True.
        ("cert-manager.io", "Certificate") => {
            if obj.condition("Issuing").is_some_and(|c| c.is_true()) {
                return Health::progressing("certificate is being issued");
            }
            require(obj, "Ready").unwrap_or(Health::Ready)
        }
        ("cert-manager.io", "Issuer" | "ClusterIssuer") => {
            require(obj, "Ready").unwrap_or(Health::Ready)
        }
        // prometheus-operator writes Available and Reconciled with their own generations.
        (
            "monitoring.coreos.com",
            "Prometheus" | "Alertmanager" | "ThanosRuler" | "PrometheusAgent",
        ) => {
            if let Some(c) = obj
                .condition("Reconciled")
                .filter(|c| c.status() == "False")
            {
                return Health::failed(
                    format!("not reconciled: {} {}", c.reason(), c.message())
                        .trim()
                        .to_string(),
                );
            }
            require(obj, "Available")
                .or_else(|| require(obj, "Reconciled"))
                .unwrap_or(Health::Ready)
        }
        // Kyverno writes Ready once the policy is compiled and its webhooks are configured.
        ("kyverno.io", "ClusterPolicy" | "Policy") | ("policies.kyverno.io", _) => {
            require(obj, "Ready").unwrap_or(Health::Ready)
        }
        ("templates.gatekeeper.sh", "ConstraintTemplate") => {
            match obj.pointer("/status/created").and_then(Value::as_bool) {
                Some(true) => {
                    let errors: Vec<&Value> = obj
                        .pointer("/status/byPod")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|p| p.get("errors").and_then(Value::as_array))
                        .flatten()
                        .collect();
                    let text = |errors: &[&Value]| {
                        errors
                            .iter()
                            .map(|e| e.to_string())
                            .collect::<Vec<_>>()
                            .join("; ")
                    };
                    // Each Gatekeeper pod reports its own errors. Creating or updating the
                    // constraint CRD can race between pods ("already exists") and is
                    // retried; any other error (the Rego does not compile) is for good.
                    let retried = |e: &&Value| {
                        matches!(
                            e.get("code").and_then(Value::as_str),
                            Some("create_error" | "update_error")
                        )
                    };
                    let (passing, lasting): (Vec<&Value>, Vec<&Value>) =
                        errors.into_iter().partition(retried);
                    if !lasting.is_empty() {
                        Health::failed(format!("template errors: {}", text(&lasting)))
                    } else if !passing.is_empty() {
                        Health::progressing(format!("Gatekeeper retries: {}", text(&passing)))
                    } else {
                        Health::Ready
                    }
                }
                _ => Health::progressing(
                    "the constraint kind has not been created yet (status.created)",
                ),
            }
        }
        ("ceph.rook.io", "CephCluster") => match obj.pointer_str("/status/phase") {
            Some("Ready") => Health::Ready,
            Some("Failure") => Health::failed(format!(
                "Ceph cluster failed: {}",
                obj.pointer_str("/status/message").unwrap_or_default()
            )),
            Some(phase) => Health::progressing(format!(
                "phase {phase}: {}",
                obj.pointer_str("/status/message").unwrap_or_default()
            )),
            None => Health::progressing("the Rook operator has not reported status yet"),
        },
        ("velero.io", "BackupStorageLocation") => match obj.pointer_str("/status/phase") {
            Some("Available") => Health::Ready,
            Some(phase) => Health::progressing(format!(
                "phase {phase}: {}",
                obj.pointer_str("/status/message").unwrap_or_default()
            )),
            None => Health::progressing("Velero has not validated the location yet"),
        },
        ("argoproj.io", "ApplicationSet") => application_set(obj),
        ("opentelemetry.io", "OpenTelemetryCollector") => otel_collector(obj),
        ("ceph.rook.io", "CephBlockPool" | "CephObjectStore" | "CephFilesystem") => ceph_part(obj),
        ("velero.io", "Schedule") => velero_schedule(obj),
        ("constraints.gatekeeper.sh", _) => gatekeeper_constraint(obj),
        ("argoproj.io", "Application") => {
            let health = obj
                .pointer_str("/status/health/status")
                .unwrap_or("Unknown");
            let sync = obj.pointer_str("/status/sync/status").unwrap_or("Unknown");
            match (health, sync) {
                ("Healthy", "Synced") => Health::Ready,
                ("Degraded", _) => Health::failed("application is Degraded"),
                _ => Health::progressing(format!("health {health}, sync {sync}")),
            }
        }
        _ => generic_ready(obj),
    }
}

/// ApplicationSet controller: ErrorOccurred is a generator or template it cannot use;
/// ResourcesUpToDate says every Application it generates is written.
fn application_set(obj: &Object) -> Health {
    if obj.condition("ErrorOccurred").is_some_and(|c| c.is_true()) {
        return Health::failed(generic::describe_condition(obj, "ErrorOccurred"));
    }
    require(obj, "ResourcesUpToDate").unwrap_or(Health::Ready)
}

/// OpenTelemetry operator: `status.scale.statusReplicas` is "ready/desired" for the
/// collector's workload (a sidecar collector has none: it lives in other pods).
fn otel_collector(obj: &Object) -> Health {
    if obj.pointer_str("/spec/mode") == Some("sidecar") {
        return Health::Ready;
    }
    match obj
        .pointer_str("/status/scale/statusReplicas")
        .and_then(|s| s.split_once('/'))
    {
        Some((ready, desired)) if ready == desired && desired != "0" => Health::Ready,
        Some((ready, desired)) => {
            Health::progressing(format!("{ready}/{desired} collector replicas ready"))
        }
        None => Health::progressing("the OpenTelemetry operator has not reported yet"),
    }
}

/// Rook's pools, object stores and filesystems report a phase like the cluster's.
fn ceph_part(obj: &Object) -> Health {
    match obj.pointer_str("/status/phase") {
        Some("Ready" | "Connected") => Health::Ready,
        Some("Failure") => Health::failed(format!(
            "{} failed: {}",
            obj.kind(),
            obj.pointer_str("/status/info/reason")
                .or_else(|| obj.pointer_str("/status/message"))
                .unwrap_or_default()
        )),
        Some(phase) => Health::progressing(format!("phase {phase}")),
        None => Health::progressing("the Rook operator has not reported status yet"),
    }
}

/// Velero validates a Schedule once: Enabled, or FailedValidation with the errors.
fn velero_schedule(obj: &Object) -> Health {
    match obj.pointer_str("/status/phase") {
        Some("Enabled") => Health::Ready,
        Some("FailedValidation") => Health::failed(format!(
            "invalid schedule: {}",
            obj.pointer("/status/validationErrors")
                .map(|v| v.to_string())
                .unwrap_or_default()
        )),
        Some(phase) => Health::progressing(format!("phase {phase}")),
        None => Health::progressing("Velero has not validated the schedule yet"),
    }
}

/// Gatekeeper constraints: every audit and webhook pod reports the constraint enforced,
/// or the errors it found.
fn gatekeeper_constraint(obj: &Object) -> Health {
    let pods = obj
        .pointer("/status/byPod")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let errors: Vec<String> = pods
        .iter()
        .filter_map(|p| p.get("errors"))
        .filter(|e| e.as_array().is_some_and(|a| !a.is_empty()))
        .map(|e| e.to_string())
        .collect();
    if !errors.is_empty() {
        Health::failed(format!("constraint errors: {}", errors.join("; ")))
    } else if pods.is_empty() {
        Health::progressing("no Gatekeeper pod has reported the constraint yet")
    } else if let Some(p) = pods
        .iter()
        .find(|p| p.get("enforced").and_then(Value::as_bool) != Some(true))
    {
        Health::progressing(format!(
            "not enforced yet by {}",
            p.get("id")
                .and_then(Value::as_str)
                .unwrap_or("a Gatekeeper pod")
        ))
    } else {
        Health::Ready
    }
}

/// Unknown kinds: a `Ready` (or `Available`) condition decides when present; without
/// conditions there is nothing to wait for.
fn generic_ready(obj: &Object) -> Health {
    for kind in ["Ready", "Available"] {
        if let Some(c) = obj.condition(kind) {
            return if c.is_true() {
                Health::Ready
            } else {
                Health::progressing(generic::describe_condition(obj, kind))
            };
        }
    }
    Health::Ready
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn component_rules_check_fields_and_failures() {
        let rule = ReadinessRule {
            kind: "Widget".into(),
            field: Some("status.phase".into()),
            equals: Some(json!("Ready")),
            failed: vec![json!("Broken")],
            ..Default::default()
        };
        let w = |phase: &str| {
            Object(
                json!({"apiVersion": "x.io/v1", "kind": "Widget", "metadata": {"name": "w"}, "status": {"phase": phase}}),
            )
        };
        assert!(by_rule(&w("Ready"), &rule).is_ready());
        assert_eq!(
            by_rule(&w("Pending"), &rule),
            Health::Progressing("status.phase is `Pending`, waiting for `Ready`".into())
        );
        assert!(by_rule(&w("Broken"), &rule).is_failed());
        assert!(matching_rule(&w("x"), std::slice::from_ref(&rule)).is_some());
    }

    #[test]
    fn certificates_need_ready_and_not_issuing() {
        let cert = |conds: Value| {
            Object(
                json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "c"}, "status": {"conditions": conds}}),
            )
        };
        assert!(!known_or_generic(&cert(json!([]))).is_ready());
        assert!(known_or_generic(&cert(json!([{"type": "Ready", "status": "True"}]))).is_ready());
        assert!(
            !known_or_generic(&cert(
                json!([{"type": "Ready", "status": "True"}, {"type": "Issuing", "status": "True"}])
            ))
            .is_ready()
        );
    }

    #[test]
    fn prometheus_needs_available_and_reconciled() {
        let p = Object(
            json!({"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus", "metadata": {"name": "p", "generation": 2},
            "status": {"conditions": [{"type": "Available", "status": "True", "observedGeneration": 1}, {"type": "Reconciled", "status": "True", "observedGeneration": 2}]}}),
        );
        assert!(
            matches!(known_or_generic(&p), Health::Progressing(r) if r.contains("older generation"))
        );
    }

    #[test]
    fn unknown_kinds_follow_ready_then_stalled() {
        let stalled = Object(
            json!({"apiVersion": "x.io/v1", "kind": "Thing", "metadata": {"name": "t"},
            "status": {"conditions": [{"type": "Stalled", "status": "True", "reason": "Broken"}]}}),
        );
        assert!(known_or_generic(&stalled).is_failed());
        let plain =
            Object(json!({"apiVersion": "x.io/v1", "kind": "Thing", "metadata": {"name": "t"}}));
        assert!(known_or_generic(&plain).is_ready());
    }
}
