//! Container images referenced by rendered objects: listing them (for mirroring into a
//! private registry) and relocating them to that registry.
//!
//! Images appear as `image:` fields — in pod templates, but also in custom resources such
//! as a Prometheus — and as flags some operators take to know which image to inject into
//! the pods they create (`--prometheus-config-reloader=quay.io/…:v0.93.0`). Both are
//! found; an image missed here would be pulled from the internet by an air-gapped cluster.

use serde_json::Value;

use crate::k8s::Object;
use crate::k8s::image::ImageRef;

/// Every image an object references, as written.
pub fn images(obj: &Object) -> Vec<String> {
    let mut found = Vec::new();
    visit(&obj.0, &mut |s, _| found.push(s.to_string()));
    found
}

/// Points every image of `obj` at `target` (`HOST[/PREFIX]`).
pub fn relocate(obj: &mut Object, target: &str) {
    rewrite(obj, &|image| {
        ImageRef::parse(image).map(|r| r.relocated(target))
    });
}

/// Replaces every image of `obj` by what `f` maps it to (left as it is for None).
pub fn rewrite(obj: &mut Object, f: &dyn Fn(&str) -> Option<String>) {
    visit_mut(&mut obj.0, f);
}

/// Calls `f(image, is_flag)` for each image found below `value`, skipping metadata (labels
/// and annotations hold image-like strings that are not pulled).
fn visit(value: &Value, f: &mut dyn FnMut(&str, bool)) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "metadata" {
                    continue;
                }
                match (k.as_str(), v) {
                    ("image", Value::String(s)) if ImageRef::parse(s).is_some() => f(s, false),
                    ("args" | "command", Value::Array(items)) => {
                        for item in items {
                            if let Some(image) = item.as_str().and_then(flag_image) {
                                f(image, true);
                            }
                        }
                    }
                    _ => visit(v, f),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| visit(v, f)),
        _ => {}
    }
}

fn visit_mut(value: &mut Value, f: &dyn Fn(&str) -> Option<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if k == "metadata" {
                    continue;
                }
                match (k.as_str(), &mut *v) {
                    ("image", Value::String(s)) => {
                        if ImageRef::parse(s).is_some()
                            && let Some(new) = f(s)
                        {
                            *s = new;
                        }
                    }
                    ("args" | "command", Value::Array(items)) => {
                        for item in items.iter_mut() {
                            let Some(text) = item.as_str() else { continue };
                            if let Some(image) = flag_image(text)
                                && let Some(new) = f(image)
                            {
                                let flag = &text[..text.len() - image.len()];
                                *item = Value::String(format!("{flag}{new}"));
                            }
                        }
                    }
                    _ => visit_mut(v, f),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| visit_mut(v, f)),
        _ => {}
    }
}

/// The image in a `--flag=registry/repo:tag` argument, if it holds one.
fn flag_image(arg: &str) -> Option<&str> {
    let (flag, value) = arg.strip_prefix("--")?.split_once('=')?;
    let flag = flag.to_ascii_lowercase();
    let named_for_images = flag.contains("image") || flag.contains("reloader");
    (named_for_images && ImageRef::is_explicit(value) && ImageRef::parse(value).is_some())
        .then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn relocates_fields_and_operator_flags_but_not_metadata() {
        let mut obj = Object(json!({
            "metadata": {"annotations": {"image": "quay.io/x/y:1"}},
            "spec": {"template": {"spec": {
                "containers": [{"name": "op", "image": "quay.io/prometheus-operator/prometheus-operator:v0.93.0",
                    "args": ["--prometheus-config-reloader=quay.io/prometheus-operator/prometheus-config-reloader:v0.93.0", "--log-level=info"]}],
                "initContainers": [{"name": "init", "image": "busybox:1.36"}]
            }}}
        }));
        assert_eq!(images(&obj).len(), 3);
        relocate(&mut obj, "registry.local:5000/mirror");
        let spec = &obj.0["spec"]["template"]["spec"];
        assert_eq!(
            spec["containers"][0]["image"],
            "registry.local:5000/mirror/prometheus-operator/prometheus-operator:v0.93.0"
        );
        assert_eq!(
            spec["containers"][0]["args"][0],
            "--prometheus-config-reloader=registry.local:5000/mirror/prometheus-operator/prometheus-config-reloader:v0.93.0"
        );
        assert_eq!(spec["containers"][0]["args"][1], "--log-level=info");
        assert_eq!(
            spec["initContainers"][0]["image"],
            "registry.local:5000/mirror/library/busybox:1.36"
        );
        assert_eq!(obj.0["metadata"]["annotations"]["image"], "quay.io/x/y:1");
    }
}
