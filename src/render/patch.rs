//! Patches on rendered objects: a JSON merge patch (RFC 7386) that also merges lists of
//! named items by name.
//!
//! A plain merge patch replaces lists whole, so changing one container's securityContext
//! would mean repeating the container. Kubernetes' strategic merge keys containers,
//! volumes, env and ports by `name`; patches here do the same for any list whose items
//! (in the object and in the patch) are all maps with a `name`, which is what people
//! writing a patch by hand expect. Other lists are replaced.

use serde_json::Value;

/// Merges `patch` into `target`: maps merge, `null` deletes a key, lists of named maps
/// merge item by item (new names are appended), everything else replaces.
pub fn apply(target: &mut Value, patch: Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (k, v) in patch {
                if v.is_null() {
                    target.remove(&k);
                } else if let Some(slot) = target.get_mut(&k) {
                    apply(slot, v);
                } else {
                    target.insert(k, v);
                }
            }
        }
        (Value::Array(target), Value::Array(patch)) if named(target) && named(&patch) => {
            for item in patch {
                let name = item["name"].clone();
                match target.iter_mut().find(|t| t["name"] == name) {
                    Some(slot) => apply(slot, item),
                    None => target.push(item),
                }
            }
        }
        (target, patch) => *target = patch,
    }
}

fn named(items: &[Value]) -> bool {
    !items.is_empty()
        && items
            .iter()
            .all(|i| i.get("name").is_some_and(Value::is_string))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn containers_merge_by_name_and_keep_what_the_patch_does_not_name() {
        let mut pod = json!({"containers": [
            {"name": "app", "image": "app:1", "args": ["--a"]},
            {"name": "sidecar", "image": "side:1"}
        ]});
        apply(
            &mut pod,
            json!({"containers": [
                {"name": "sidecar", "securityContext": {"runAsNonRoot": true}},
                {"name": "extra", "image": "extra:1"}
            ]}),
        );
        assert_eq!(
            pod,
            json!({"containers": [
                {"name": "app", "image": "app:1", "args": ["--a"]},
                {"name": "sidecar", "image": "side:1", "securityContext": {"runAsNonRoot": true}},
                {"name": "extra", "image": "extra:1"}
            ]})
        );
    }

    #[test]
    fn other_lists_are_replaced_and_null_deletes() {
        let mut obj =
            json!({"args": ["--a", "--b"], "tolerations": [{"key": "x"}], "keep": 1, "drop": 2});
        apply(
            &mut obj,
            json!({"args": ["--c"], "tolerations": [{"key": "y"}], "drop": null}),
        );
        assert_eq!(
            obj,
            json!({"args": ["--c"], "tolerations": [{"key": "y"}], "keep": 1})
        );
    }

    #[test]
    fn an_empty_list_in_the_patch_empties_the_list() {
        let mut obj = json!({"env": [{"name": "A", "value": "1"}]});
        apply(&mut obj, json!({"env": []}));
        assert_eq!(obj, json!({"env": []}));
    }
}
