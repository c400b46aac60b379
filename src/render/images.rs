//! Container images referenced by rendered objects: listing them (for mirroring into a
//! private registry) and relocating them to that registry.
//!
//! Images appear as `image:` fields — in pod templates, but also in custom resources such
//! as a Prometheus — and as flags some operators take to know which image to inject into
//! the pods they create (`--prometheus-config-reloader=quay.io/…:v0.93.0`). Both are
//! found; an image missed here would be pulled from the internet by an air-gapped cluster.

use serde_json::Value;

use crate::k8s::Object;

/// An image reference split into registry, repository path and tag/digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef {
    pub registry: String,
    pub repository: String,
    /// `:tag`, `@sha256:…`, both, or empty.
    pub suffix: String,
}

impl ImageRef {
    /// Parses `[registry/]repository[:tag][@digest]`; Docker Hub names are expanded as
    /// container runtimes do (`nginx` → `docker.io/library/nginx`).
    pub fn parse(reference: &str) -> Option<ImageRef> {
        let reference = reference.trim();
        if reference.is_empty()
            || reference.contains(char::is_whitespace)
            || reference.starts_with('-')
        {
            return None;
        }
        let (name, digest) = match reference.split_once('@') {
            Some((n, d)) => (n, format!("@{d}")),
            None => (reference, String::new()),
        };
        // A tag is a colon after the last slash (a colon before it is a registry port).
        let last_slash = name.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name[last_slash..].rfind(':') {
            Some(i) => (&name[..last_slash + i], name[last_slash + i..].to_string()),
            None => (name, String::new()),
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-/:".contains(c))
        {
            return None;
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_string(), rest.to_string())
            }
            Some(_) => ("docker.io".to_string(), name.to_string()),
            None => ("docker.io".to_string(), format!("library/{name}")),
        };
        if repository.is_empty() || repository.split('/').any(str::is_empty) {
            return None;
        }
        Some(ImageRef {
            registry,
            repository,
            suffix: format!("{tag}{digest}"),
        })
    }

    /// True when the reference names its registry explicitly: only such strings are taken
    /// for images when they appear in flags rather than `image:` fields.
    fn is_explicit(reference: &str) -> bool {
        reference
            .split_once('/')
            .is_some_and(|(first, _)| first.contains('.') || first.contains(':'))
            && (reference.contains(':') || reference.contains('@'))
    }

    pub fn full(&self) -> String {
        format!("{}/{}{}", self.registry, self.repository, self.suffix)
    }

    /// The same image in `target` (`HOST[/PREFIX]`), keeping the repository path.
    pub fn relocated(&self, target: &str) -> String {
        format!(
            "{}/{}{}",
            target.trim_end_matches('/'),
            self.repository,
            self.suffix
        )
    }
}

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
    fn parses_references() {
        let r = ImageRef::parse("quay.io/prometheus/prometheus:v3.5.0").unwrap();
        assert_eq!(
            (
                r.registry.as_str(),
                r.repository.as_str(),
                r.suffix.as_str()
            ),
            ("quay.io", "prometheus/prometheus", ":v3.5.0")
        );
        let hub = ImageRef::parse("nginx:1.27").unwrap();
        assert_eq!(hub.full(), "docker.io/library/nginx:1.27");
        let port = ImageRef::parse("localhost:5000/team/app@sha256:abc").unwrap();
        assert_eq!(port.registry, "localhost:5000");
        assert_eq!(port.suffix, "@sha256:abc");
        assert!(ImageRef::parse("").is_none());
        assert!(ImageRef::parse("not an image").is_none());
    }

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
