//! Gateway API (gateway.networking.k8s.io). A Gateway is usable when its controller has
//! `Accepted` it and `Programmed` the data plane; a route when every parent Gateway it
//! names has `Accepted` it and its backends resolved (`ResolvedRefs`), each condition
//! written for the route's current generation. Accepted=False or ResolvedRefs=False are a
//! configuration the controller rejects: they do not fix themselves.

use serde_json::Value;

use super::{Health, generic};
use crate::k8s::Object;

pub fn gateway(obj: &Object) -> Health {
    if let Some(c) = obj.condition("Accepted")
        && c.status() == "False"
    {
        return Health::failed(generic::describe_condition(obj, "Accepted"));
    }
    for kind in ["Accepted", "Programmed"] {
        match obj.condition(kind) {
            Some(c) if c.is_true() && current(obj, c.observed_generation()) => {}
            _ => return Health::progressing(generic::describe_condition(obj, kind)),
        }
    }
    Health::Ready
}

pub fn route(obj: &Object) -> Health {
    let parents = obj
        .pointer("/status/parents")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if parents.is_empty() {
        return Health::progressing("no Gateway has reported on the route yet");
    }
    for p in &parents {
        let gateway = p
            .pointer("/parentRef/name")
            .and_then(Value::as_str)
            .unwrap_or("?");
        let condition = |kind: &str| {
            p.get("conditions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))
        };
        for kind in ["Accepted", "ResolvedRefs"] {
            let Some(c) = condition(kind) else {
                return Health::progressing(format!("Gateway {gateway}: no {kind} condition yet"));
            };
            let status = c.get("status").and_then(Value::as_str).unwrap_or("");
            let detail = c.get("message").and_then(Value::as_str).unwrap_or("");
            let reason = c.get("reason").and_then(Value::as_str).unwrap_or("");
            if status == "False" {
                return Health::failed(
                    format!("Gateway {gateway}: {kind}=False: {reason} {detail}")
                        .trim()
                        .to_string(),
                );
            }
            let observed = c.get("observedGeneration").and_then(Value::as_i64);
            if status != "True" || !current(obj, observed) {
                return Health::progressing(format!(
                    "Gateway {gateway}: {kind} not yet True for this generation"
                ));
            }
        }
    }
    Health::Ready
}

fn current(obj: &Object, observed: Option<i64>) -> bool {
    match (obj.generation(), observed) {
        (Some(g), Some(o)) => o >= g,
        _ => true,
    }
}
