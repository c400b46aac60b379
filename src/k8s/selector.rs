//! Label selectors (`matchLabels` and `matchExpressions`), as the API server evaluates them.

use serde_json::Value;

/// Whether a label selector (matchLabels and matchExpressions) selects `labels`. An
/// empty selector selects everything (a PodDisruptionBudget's of policy/v1, a webhook's
/// namespaceSelector).
pub fn selects(selector: &Value, labels: &Value) -> bool {
    let label = |k: &str| labels.get(k).and_then(Value::as_str);
    let match_labels = selector
        .get("matchLabels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .all(|(k, v)| label(k) == v.as_str());
    let expressions = selector
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .all(|e| {
            let key = e.get("key").and_then(Value::as_str).unwrap_or("");
            let values: Vec<&str> = e
                .get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            match e.get("operator").and_then(Value::as_str) {
                Some("In") => label(key).is_some_and(|v| values.contains(&v)),
                Some("NotIn") => label(key).is_none_or(|v| !values.contains(&v)),
                Some("Exists") => label(key).is_some(),
                Some("DoesNotExist") => label(key).is_none(),
                _ => false,
            }
        });
    match_labels && expressions
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn labels_and_expressions_must_all_hold() {
        let labels = json!({"team": "a", "tier": "front"});
        assert!(selects(&json!({}), &labels));
        assert!(selects(&json!({"matchLabels": {"team": "a"}}), &labels));
        assert!(!selects(&json!({"matchLabels": {"team": "b"}}), &labels));
        let exp = |op: &str, values: Value| json!({"matchExpressions": [{"key": "tier", "operator": op, "values": values}]});
        assert!(selects(&exp("In", json!(["front", "back"])), &labels));
        assert!(!selects(&exp("NotIn", json!(["front"])), &labels));
        assert!(selects(&exp("Exists", json!([])), &labels));
        assert!(!selects(&exp("DoesNotExist", json!([])), &labels));
        assert!(!selects(&exp("Bogus", json!([])), &labels));
    }
}
