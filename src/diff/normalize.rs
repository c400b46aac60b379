//! Making live and predicted objects comparable: removing what the server maintains, so
//! that only what `up` would actually change shows.

use serde_json::{Map, Value};

use crate::k8s::Object;

/// Metadata the server owns.
const SERVER_METADATA: &[&str] = &[
    "managedFields",
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "selfLink",
    "deletionGracePeriodSeconds",
];

/// Annotations written by tools and controllers, never by the stack.
const NOISE_ANNOTATIONS: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    "deployment.kubernetes.io/revision",
    "meta.helm.sh/release-name",
    "meta.helm.sh/release-namespace",
];

/// The object without server-maintained fields and `status`, with keys sorted, so two
/// forms of the same object serialise identically.
pub fn normalize(obj: &Object) -> Value {
    let mut v = obj.0.clone();
    if let Some(map) = v.as_object_mut() {
        map.remove("status");
        if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            for f in SERVER_METADATA {
                meta.remove(*f);
            }
            if let Some(ann) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
                for a in NOISE_ANNOTATIONS {
                    ann.remove(*a);
                }
            }
            for key in ["annotations", "labels"] {
                if meta
                    .get(key)
                    .and_then(Value::as_object)
                    .is_some_and(Map::is_empty)
                {
                    meta.remove(key);
                }
            }
        }
    }
    sort_keys(&v)
}

/// A copy with every map's keys in sorted order.
pub fn sort_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                out.insert(k.clone(), sort_keys(&m[k]));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}

/// Dotted paths (`spec.replicas`, `spec.containers[0].image`) where two values differ.
pub fn changed_paths(before: &Value, after: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(before, after, String::new(), &mut out);
    out
}

fn walk(a: &Value, b: &Value, path: String, out: &mut Vec<String>) {
    if a == b {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    p,
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                walk(p, q, format!("{path}[{i}]"), out);
            }
        }
        _ => out.push(if path.is_empty() {
            "(object)".into()
        } else {
            path
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn server_fields_and_noise_are_removed() {
        let live = Object(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "n", "uid": "u", "resourceVersion": "7", "generation": 2,
                "creationTimestamp": "t", "managedFields": [{}],
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
            "data": {"b": "2", "a": "1"},
            "status": {"x": 1}
        }));
        let n = normalize(&live);
        assert_eq!(
            n,
            json!({"apiVersion": "v1", "data": {"a": "1", "b": "2"}, "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}})
        );
        assert_eq!(
            serde_json::to_string(&n).unwrap().find("\"a\""),
            serde_json::to_string(&n).unwrap().find("\"a\"")
        );
    }

    #[test]
    fn paths_name_what_changed() {
        let a = json!({"spec": {"replicas": 1, "template": {"containers": [{"image": "x:1"}]}}, "data": {"k": "v"}});
        let b = json!({"spec": {"replicas": 3, "template": {"containers": [{"image": "x:2"}]}}, "data": {"k": "v", "new": "n"}});
        assert_eq!(
            changed_paths(&a, &b),
            [
                "data.new",
                "spec.replicas",
                "spec.template.containers[0].image"
            ]
        );
    }
}
