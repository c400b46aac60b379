//! Admission webhook configurations: registered is not enough; a webhook is usable when
//! the Service behind it has a ready endpoint and the configuration carries the CA bundle
//! the API server needs to trust it. Until then every request it matches fails (with the
//! default failurePolicy Fail), so the components after it would fail for no fault of
//! their own.

use serde_json::Value;

use super::Health;
use crate::k8s::Object;

/// What the engine found behind a webhook's Service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EndpointState {
    Ready,
    NoReadyEndpoints,
    ServiceMissing,
}

/// The (namespace, name) of every Service a configuration's webhooks call.
pub fn webhook_services(obj: &Object) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = webhooks(obj)
        .filter_map(|w| w.pointer("/clientConfig/service"))
        .filter_map(|s| {
            Some((
                s.get("namespace")?.as_str()?.to_string(),
                s.get("name")?.as_str()?.to_string(),
            ))
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn webhooks(obj: &Object) -> impl Iterator<Item = &Value> {
    obj.pointer("/webhooks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

pub fn webhook_configuration(
    obj: &Object,
    endpoints: &dyn Fn(&str, &str) -> EndpointState,
) -> Health {
    for w in webhooks(obj) {
        let name = w.get("name").and_then(Value::as_str).unwrap_or("?");
        let Some(service) = w.pointer("/clientConfig/service") else {
            continue; // a URL webhook outside the cluster: nothing here to check
        };
        let ns = service
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let svc = service
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        match endpoints(ns, svc) {
            EndpointState::Ready => {}
            EndpointState::NoReadyEndpoints => {
                return Health::progressing(format!(
                    "webhook {name}: service {ns}/{svc} has no ready endpoints"
                ));
            }
            EndpointState::ServiceMissing => {
                return Health::progressing(format!(
                    "webhook {name}: service {ns}/{svc} does not exist"
                ));
            }
        }
        let bundle = w
            .pointer("/clientConfig/caBundle")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if bundle.is_empty() {
            return Health::progressing(format!("webhook {name}: caBundle not injected yet"));
        }
    }
    Health::Ready
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(ca: &str) -> Object {
        Object(
            json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": "v"}, "webhooks": [{"name": "check.example.com",
            "clientConfig": {"service": {"namespace": "sys", "name": "hook"}, "caBundle": ca}}]}),
        )
    }

    #[test]
    fn needs_endpoints_and_ca_bundle() {
        assert_eq!(
            webhook_services(&config("")),
            [("sys".to_string(), "hook".to_string())]
        );
        let none = webhook_configuration(&config("Y2E="), &|_, _| EndpointState::NoReadyEndpoints);
        assert_eq!(
            none,
            Health::Progressing(
                "webhook check.example.com: service sys/hook has no ready endpoints".into()
            )
        );
        let no_ca = webhook_configuration(&config(""), &|_, _| EndpointState::Ready);
        assert_eq!(
            no_ca,
            Health::Progressing("webhook check.example.com: caBundle not injected yet".into())
        );
        assert!(webhook_configuration(&config("Y2E="), &|_, _| EndpointState::Ready).is_ready());
    }
}
