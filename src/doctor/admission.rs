//! Admission: webhooks that would block the stack's writes, and Pod Security levels that
//! would refuse its pods.
//!
//! A webhook whose `failurePolicy` is `Fail` and whose service has no ready endpoint makes
//! the API server refuse every request it matches — an operator uninstalled without its
//! webhook configuration blocks a whole cluster that way. Only webhooks that match one of
//! the stack's own writes count: by their rules (group, resource, scope) and their
//! namespace and object selectors, as the API server matches them. An existing namespace the stack
//! puts pods into, enforcing a Pod Security level its pods do not meet, refuses them.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Finding, Subject};
use crate::cluster::ClusterError;
use crate::k8s::Object;
use crate::k8s::pod_security::{Level, allowed_level};
use crate::k8s::selector::selects;
use crate::k8s::workload::pods;

const CHECK: &str = "admission";
const ENFORCE: &str = "pod-security.kubernetes.io/enforce";

pub(super) async fn check(s: &Subject<'_>) -> Result<Vec<Finding>, ClusterError> {
    let mut out = webhooks(s).await?;
    out.extend(pod_security(s).await?);
    if out.is_empty() {
        out.push(Finding::pass(
            CHECK,
            "no webhook without endpoints blocks writes, and the namespaces in use admit the stack's pods",
        ));
    }
    Ok(out)
}

async fn webhooks(s: &Subject<'_>) -> Result<Vec<Finding>, ClusterError> {
    let mut out = Vec::new();
    let namespaces = namespace_labels(s).await?;
    for kind in [
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
    ] {
        for config in s
            .cluster
            .list("admissionregistration.k8s.io/v1", kind, None, "")
            .await?
        {
            // The stack's own webhooks are applied last and gated; `down` removes them first.
            if s.owns(&config) {
                continue;
            }
            for hook in config
                .pointer("/webhooks")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if !intercepts(s, hook, &namespaces) {
                    continue;
                }
                if let Some(finding) = blocking(s, kind, &config, hook).await? {
                    out.push(finding);
                }
            }
        }
    }
    Ok(out)
}

/// The labels of every namespace the stack writes into: as the stack renders its
/// Namespace, else as the cluster has it (a namespace neither renders nor has is created
/// bare, with no labels).
async fn namespace_labels(s: &Subject<'_>) -> Result<BTreeMap<String, Value>, ClusterError> {
    let mut out = BTreeMap::new();
    for (_, o) in s.objects().filter(|(_, o)| o.is_namespace()) {
        out.insert(
            o.name().to_string(),
            o.pointer("/metadata/labels")
                .cloned()
                .unwrap_or(Value::Null),
        );
    }
    let used: std::collections::BTreeSet<String> = s
        .objects()
        .filter_map(|(_, o)| o.namespace().map(str::to_string))
        .collect();
    for ns in used {
        if out.contains_key(&ns) {
            continue;
        }
        let key = crate::k8s::ObjectKey {
            group: String::new(),
            kind: "Namespace".into(),
            namespace: None,
            name: ns.clone(),
        };
        let labels = s
            .cluster
            .get_key(&key)
            .await?
            .and_then(|live| live.pointer("/metadata/labels").cloned())
            .unwrap_or(Value::Null);
        out.insert(ns, labels);
    }
    Ok(out)
}

/// Whether `hook` matches any of the stack's writes: a rule naming the object's group
/// and resource (and scope), with the namespace selector holding for its namespace (for a
/// Namespace, its own labels; cluster-scoped objects ignore it) and the object selector
/// for its labels.
fn intercepts(s: &Subject<'_>, hook: &Value, namespaces: &BTreeMap<String, Value>) -> bool {
    let empty = Value::Object(Default::default());
    let ns_selector = hook.get("namespaceSelector").unwrap_or(&empty);
    let obj_selector = hook.get("objectSelector").unwrap_or(&empty);
    let rules: Vec<&Value> = hook
        .get("rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    s.objects().any(|(_, o)| {
        let resource = s
            .cluster
            .resource_any_version(o.group(), o.kind())
            .map(|r| r.api.plural)
            .unwrap_or_else(|| format!("{}s", o.kind().to_lowercase()));
        let namespaced = o.namespace().is_some();
        let ruled = rules
            .iter()
            .any(|r| rule_names(r, o.group(), &resource, namespaced));
        let labels = o
            .pointer("/metadata/labels")
            .cloned()
            .unwrap_or(Value::Null);
        let in_selected_namespace = match (o.namespace(), o.is_namespace()) {
            (Some(ns), _) => selects(ns_selector, namespaces.get(ns).unwrap_or(&Value::Null)),
            (None, true) => selects(ns_selector, &labels),
            (None, false) => true,
        };
        ruled && in_selected_namespace && selects(obj_selector, &labels)
    })
}

/// Whether one of a webhook's rules names this group and resource (`*` for any; a
/// subresource rule never names the object itself) at this scope.
fn rule_names(rule: &Value, group: &str, resource: &str, namespaced: bool) -> bool {
    let has = |field: &str, want: &str| {
        rule.get(field)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .any(|v| v == "*" || v == want)
    };
    let scope = match rule.get("scope").and_then(Value::as_str).unwrap_or("*") {
        "Namespaced" => namespaced,
        "Cluster" => !namespaced,
        _ => true,
    };
    has("apiGroups", group) && has("resources", resource) && scope
}

/// A finding when `hook` fails closed and its service has no ready endpoint.
async fn blocking(
    s: &Subject<'_>,
    kind: &str,
    config: &Object,
    hook: &Value,
) -> Result<Option<Finding>, ClusterError> {
    let policy = hook
        .get("failurePolicy")
        .and_then(Value::as_str)
        .unwrap_or("Fail");
    let (Some(ns), Some(svc)) = (
        hook.pointer("/clientConfig/service/namespace")
            .and_then(Value::as_str),
        hook.pointer("/clientConfig/service/name")
            .and_then(Value::as_str),
    ) else {
        return Ok(None);
    };
    if policy != "Fail" {
        return Ok(None);
    }
    let slices = s
        .cluster
        .list(
            "discovery.k8s.io/v1",
            "EndpointSlice",
            Some(ns),
            &format!("kubernetes.io/service-name={svc}"),
        )
        .await?;
    let ready = slices.iter().any(|slice| {
        slice
            .pointer("/endpoints")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|e| e.pointer("/conditions/ready").and_then(Value::as_bool) != Some(false))
    });
    if ready {
        return Ok(None);
    }
    let name = hook.get("name").and_then(Value::as_str).unwrap_or("?");
    Ok(Some(Finding::fail(
        CHECK,
        format!(
            "{kind} {}: webhook {name} fails closed (failurePolicy: Fail) and its service {ns}/{svc} has no ready endpoint: the API server refuses every request it matches",
            config.name()
        ),
        format!(
            "start what serves {ns}/{svc}, or delete the leftover configuration (`kubectl delete {} {}`)",
            kind.to_lowercase(),
            config.name()
        ),
    )))
}

/// Existing namespaces that are not the stack's own and enforce a level its pods fail.
async fn pod_security(s: &Subject<'_>) -> Result<Vec<Finding>, ClusterError> {
    // The strictest level each namespace's pods pass, and a pod that sets it.
    let mut needs: BTreeMap<String, (Level, String, Vec<String>)> = BTreeMap::new();
    for (component, o) in s.objects() {
        let (Some(p), Some(ns)) = (pods(o), o.namespace()) else {
            continue;
        };
        let (level, why) = allowed_level(p.spec);
        let entry =
            needs
                .entry(ns.to_string())
                .or_insert((Level::Restricted, String::new(), vec![]));
        if level < entry.0 || entry.1.is_empty() {
            *entry = (
                level.min(entry.0),
                format!("component `{component}`: {}", o.key()),
                why,
            );
        }
    }
    let mut out = Vec::new();
    for (ns, (level, who, why)) in needs {
        let key = crate::k8s::ObjectKey {
            group: String::new(),
            kind: "Namespace".into(),
            namespace: None,
            name: ns.clone(),
        };
        let Some(live) = s.cluster.get_key(&key).await? else {
            continue;
        };
        let enforced = live
            .label(ENFORCE)
            .and_then(Level::parse)
            .unwrap_or(Level::Privileged);
        if s.owns(&live) || enforced <= level {
            continue;
        }
        out.push(Finding::fail(
            CHECK,
            format!("namespace {ns} enforces Pod Security `{}`, and {who} passes only `{}` ({})", enforced.as_str(), level.as_str(), why.join(", ")),
            format!("label the namespace {ENFORCE}={} (or set the component's `podSecurity`), or install the component elsewhere", level.as_str()),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_rule_names_group_resource_and_scope() {
        let rule = json!({"apiGroups": [""], "resources": ["configmaps"], "scope": "Namespaced"});
        assert!(rule_names(&rule, "", "configmaps", true));
        assert!(!rule_names(&rule, "", "configmaps", false));
        assert!(!rule_names(&rule, "", "secrets", true));
        assert!(!rule_names(&rule, "apps", "configmaps", true));
        let any = json!({"apiGroups": ["*"], "resources": ["*"]});
        assert!(rule_names(&any, "apps", "deployments", true));
        assert!(rule_names(
            &any,
            "rbac.authorization.k8s.io",
            "clusterroles",
            false
        ));
        // A subresource rule does not name the object.
        let status = json!({"apiGroups": ["*"], "resources": ["pods/status"]});
        assert!(!rule_names(&status, "", "pods", true));
    }
}
