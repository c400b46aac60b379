//! Keeping Secret values out of every output.
//!
//! A diff must still say *that* a Secret changed and which keys, so values are replaced
//! by markers, pair-wise as kubectl does: a key whose value is the same on both sides
//! shows `***` on both; a changed key shows `*** (before)` and `*** (after)`; an added or
//! removed key shows `***` on its side only. Annotations of a Secret that embed any of
//! its values (a last-applied copy, a checksum annotation with the raw value) are masked
//! too.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

pub const MASK: &str = "***";
pub const MASK_BEFORE: &str = "*** (before)";
pub const MASK_AFTER: &str = "*** (after)";
pub const MASK_ANNOTATION: &str = "*** (contains Secret data)";

fn is_secret(v: &Value) -> bool {
    v.get("kind").and_then(Value::as_str) == Some("Secret")
        && v.get("apiVersion").and_then(Value::as_str) == Some("v1")
}

/// The values a Secret holds: as stored (base64 `data`), decoded, and `stringData`.
pub fn secret_values(v: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if !is_secret(v) {
        return out;
    }
    for field in ["data", "stringData"] {
        for val in v
            .get(field)
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(Map::values)
        {
            if let Some(s) = val.as_str() {
                out.insert(s.to_string());
                if field == "data"
                    && let Some(decoded) = crate::k8s::base64::decode(s)
                    && let Ok(text) = String::from_utf8(decoded)
                {
                    out.insert(text);
                }
            }
        }
    }
    out
}

/// Masks a pair of normalised objects (either may be absent) for display.
pub fn mask_pair(before: Option<&mut Value>, after: Option<&mut Value>) {
    let secret =
        before.as_deref().is_some_and(is_secret) || after.as_deref().is_some_and(is_secret);
    if !secret {
        return;
    }
    let mut sensitive = BTreeSet::new();
    for v in [&before, &after].into_iter().flatten() {
        sensitive.extend(secret_values(v));
    }
    let snapshot = |v: &Option<&mut Value>| -> Map<String, Value> {
        let mut all = Map::new();
        for field in ["data", "stringData"] {
            if let Some(m) = v
                .as_deref()
                .and_then(|v| v.get(field))
                .and_then(Value::as_object)
            {
                for (k, val) in m {
                    all.insert(k.clone(), val.clone());
                }
            }
        }
        all
    };
    let (b, a) = (snapshot(&before), snapshot(&after));
    for (side, mine, other, changed) in [(before, &b, &a, MASK_BEFORE), (after, &a, &b, MASK_AFTER)]
    {
        let Some(v) = side else { continue };
        for field in ["data", "stringData"] {
            if let Some(m) = v.get_mut(field).and_then(Value::as_object_mut) {
                for (k, val) in m.iter_mut() {
                    let marker = match other.get(k) {
                        Some(o) if Some(o) == mine.get(k) => MASK,
                        Some(_) => changed,
                        None => MASK,
                    };
                    *val = Value::String(marker.to_string());
                }
            }
        }
        if let Some(ann) = v
            .pointer_mut("/metadata/annotations")
            .and_then(Value::as_object_mut)
        {
            for val in ann.values_mut() {
                let embeds = |s: &str, x: &String| {
                    // Short values would match innocent text: only whole values count.
                    if x.len() >= 4 {
                        s.contains(x.as_str())
                    } else {
                        s == x
                    }
                };
                if val
                    .as_str()
                    .is_some_and(|s| sensitive.iter().any(|x| embeds(s, x)))
                {
                    *val = Value::String(MASK_ANNOTATION.to_string());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secret(data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s",
            "annotations": {"copy": format!("password={}", "aHVudGVyMi1vbGQ="), "note": "harmless"}}, "data": data})
    }

    #[test]
    fn markers_tell_changed_added_removed_and_same() {
        let mut before =
            secret(json!({"password": "aHVudGVyMi1vbGQ=", "user": "YWRtaW4=", "gone": "eA=="}));
        let mut after =
            secret(json!({"password": "aHVudGVyMi1uZXc=", "user": "YWRtaW4=", "added": "eQ=="}));
        mask_pair(Some(&mut before), Some(&mut after));
        assert_eq!(
            before["data"],
            json!({"password": "*** (before)", "user": "***", "gone": "***"})
        );
        assert_eq!(
            after["data"],
            json!({"password": "*** (after)", "user": "***", "added": "***"})
        );
        assert_eq!(before["metadata"]["annotations"]["copy"], MASK_ANNOTATION);
        assert_eq!(before["metadata"]["annotations"]["note"], "harmless");
        let text = format!("{before}{after}");
        assert!(!text.contains("aHVudGVy") && !text.contains("hunter2"));
    }

    #[test]
    fn created_secrets_and_string_data_are_masked() {
        let mut created = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"token": "plain-text-token"}});
        mask_pair(None, Some(&mut created));
        assert_eq!(created["stringData"]["token"], MASK);
    }

    #[test]
    fn other_kinds_are_untouched() {
        let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"k": "v"}});
        mask_pair(Some(&mut cm.clone()), Some(&mut cm));
        assert_eq!(cm["data"]["k"], "v");
    }
}
