//! Rendering: turns each component and its values into the list of objects to apply.
//!
//! Sources are rendered one by one (templates with handlebars, manifests as downloaded,
//! charts with `helm template`), parsed, checked (every object needs apiVersion, kind and
//! name), then finished for the whole stack at once: namespaces filled in, landscape's
//! labels added, a Namespace object added where a component's namespace has none, images
//! relocated when asked. The renderer never talks to the cluster; what it needs to know of
//! it (version, API list, scopes) comes in as plain data.

mod cache;
pub mod chart;
mod guard;
mod handlebars;
mod helm;
pub mod images;
mod patch;
mod relocate;
pub mod templates;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{Value, json};

use self::templates::TemplateFile;
use crate::k8s::scope::Scopes;
use crate::k8s::{Object, ObjectKey, labels};
use crate::source::Artifacts;
use crate::stack::{Component, Source, Stack};

pub use crate::k8s::Capabilities;

#[derive(Clone, Debug, Default)]
pub struct RenderOptions {
    pub capabilities: Capabilities,
    /// Relocate every image to this registry (`HOST[/PREFIX]`).
    pub image_registry: Option<String>,
    /// Where rendered charts are cached.
    pub cache_dir: Option<std::path::PathBuf>,
}

/// A component's objects, in the order they were rendered.
#[derive(Clone, Debug)]
pub struct RenderedComponent {
    pub name: String,
    pub objects: Vec<Object>,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A template could not be parsed or rendered.
    #[error("{location}: component `{component}`: {message} (hint: {hint})")]
    Template {
        component: String,
        location: String,
        message: String,
        hint: String,
    },
    /// A rendered or downloaded document is not a valid object.
    #[error("{origin}{}: component `{component}`: {message}", if *.index > 0 { format!(", document {index}") } else { String::new() })]
    Document {
        component: String,
        origin: String,
        index: usize,
        message: String,
        /// True when the document came from a download: the artifact is bad, not the input.
        downloaded: bool,
    },
    #[error(
        "{key} is rendered twice, by `{first}` and by `{second}` (hint: each object must belong to one component)"
    )]
    Duplicate {
        key: String,
        first: String,
        second: String,
    },
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error(transparent)]
    Chart(#[from] chart::ChartError),
}

impl RenderError {
    pub fn exit_code(&self) -> crate::ExitCode {
        match self {
            RenderError::Document {
                downloaded: true, ..
            } => crate::ExitCode::Artifact,
            RenderError::Chart(e) => e.exit_code(),
            _ => crate::ExitCode::InvalidInput,
        }
    }
}

/// The data templates see.
pub fn template_context(stack: &Stack, component: &Component, caps: &Capabilities) -> Value {
    json!({
        "values": component.values,
        "component": {
            "name": component.name,
            "namespace": component.namespace,
            "version": component.version,
            "category": component.category,
        },
        "stack": {"name": stack.name, "profile": stack.profile, "namespaces": stack_namespaces(stack)},
        "capabilities": {
            "kubeVersion": caps.kube_version,
            "apiVersions": caps.api_versions,
        },
    })
}

/// The namespaces of every component, plus Kubernetes' own: what stack-wide policies must
/// leave alone.
fn stack_namespaces(stack: &Stack) -> Vec<String> {
    let mut all: BTreeSet<String> = stack
        .components
        .iter()
        .map(|c| c.namespace.clone())
        .collect();
    all.extend(["kube-system", "kube-public", "kube-node-lease"].map(String::from));
    all.into_iter().collect()
}

/// Renders every component of the stack.
///
/// Charts often render optional objects only when the cluster serves their kind
/// (`.Capabilities.APIVersions.Has "monitoring.coreos.com/v1/ServiceMonitor"`). On a fresh
/// cluster those kinds arrive with the stack itself, so the API versions the stack's own
/// CRDs serve are added to the cluster's — in a second pass when the first one found new
/// CRDs — and the first `up` renders exactly what later ones will.
pub fn render_stack(
    stack: &Stack,
    artifacts: &Artifacts,
    opts: &RenderOptions,
) -> Result<Vec<RenderedComponent>, RenderError> {
    let mut caps = opts.capabilities.clone();
    let mut rendered = render_sources(stack, artifacts, opts, &caps)?;
    let extended = with_stack_crds(&caps, &rendered);
    if extended.api_versions.len() != caps.api_versions.len() {
        caps = extended;
        rendered = render_sources(stack, artifacts, opts, &caps)?;
    }
    finish(stack, &mut rendered, opts)?;
    Ok(rendered)
}

/// `caps` plus every group/version and group/version/Kind the CRDs in `rendered` serve.
fn with_stack_crds(caps: &Capabilities, rendered: &[RenderedComponent]) -> Capabilities {
    let mut apis: BTreeSet<String> = caps.api_versions.iter().cloned().collect();
    for obj in rendered
        .iter()
        .flat_map(|r| r.objects.iter())
        .filter(|o| o.is_crd())
    {
        let group = obj.pointer_str("/spec/group").unwrap_or_default();
        let kind = obj.pointer_str("/spec/names/kind").unwrap_or_default();
        for v in obj
            .pointer("/spec/versions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if v.get("served").and_then(Value::as_bool) == Some(false) {
                continue;
            }
            if let Some(version) = v.get("name").and_then(Value::as_str) {
                apis.insert(format!("{group}/{version}"));
                apis.insert(format!("{group}/{version}/{kind}"));
            }
        }
    }
    Capabilities {
        api_versions: apis.into_iter().collect(),
        ..caps.clone()
    }
}

/// Renders each component's sources into objects, before the stack-wide finishing.
fn render_sources(
    stack: &Stack,
    artifacts: &Artifacts,
    opts: &RenderOptions,
    caps: &Capabilities,
) -> Result<Vec<RenderedComponent>, RenderError> {
    let charts = chart::render_all(stack, artifacts, opts, caps)?;
    let mut rendered = Vec::new();
    for component in &stack.components {
        let mut objects = Vec::new();
        for source in &component.sources {
            let docs = match source {
                Source::Template { name } => {
                    render_templates(stack, component, &templates::builtin(name), caps)?
                }
                Source::TemplateDir { path } => {
                    let files = templates::local(path).map_err(|e| RenderError::Read {
                        path: path.display().to_string(),
                        message: e.to_string(),
                    })?;
                    if files.is_empty() {
                        return Err(RenderError::Read {
                            path: path.display().to_string(),
                            message: "no .hbs or .yaml files in this folder".into(),
                        });
                    }
                    render_templates(stack, component, &files, caps)?
                }
                Source::File { path, .. } => vec![(path.display().to_string(), read(path)?, false)],
                Source::Url { url, .. } => {
                    let artifact = artifacts
                        .manifest(url)
                        .unwrap_or_else(|| panic!("artifact {url} was fetched before rendering"));
                    let text =
                        crate::files::read_text(&artifact.path, crate::files::MANIFEST_LIMIT)
                            .map_err(|e| RenderError::Document {
                                component: component.name.clone(),
                                origin: url.clone(),
                                index: 0,
                                message: e.to_string(),
                                downloaded: true,
                            })?;
                    vec![(url.clone(), text, true)]
                }
                Source::Chart(spec) => {
                    let text = charts
                        .get(&(component.name.clone(), spec.name.clone()))
                        .expect("charts rendered above")
                        .clone();
                    vec![(format!("chart {} {}", spec.name, spec.version), text, false)]
                }
            };
            let set_namespace = matches!(
                source,
                Source::Url {
                    set_namespace: true,
                    ..
                } | Source::File {
                    set_namespace: true,
                    ..
                }
            );
            let from_chart = matches!(source, Source::Chart(_));
            for (origin, text, downloaded) in docs {
                let mut parsed = parse_objects(&component.name, &origin, &text, downloaded)?;
                if from_chart {
                    parsed.retain(|o| !chart::is_skipped_hook(o));
                }
                if set_namespace {
                    relocate::into_namespace(&mut parsed, &component.namespace);
                }
                objects.extend(parsed);
            }
        }
        objects.retain(|o| {
            !component.exclude.iter().any(|x| {
                x.kind == o.kind()
                    && x.group.as_deref().is_none_or(|g| g == o.group())
                    && x.name.as_deref().is_none_or(|n| n == o.name())
            })
        });
        apply_patches(stack, component, caps, &mut objects)?;
        rendered.push(RenderedComponent {
            name: component.name.clone(),
            objects,
        });
    }
    Ok(rendered)
}

/// Applies the component's patches (see [`patch`]); a patch that matches nothing is an error (a
/// typo, or an upstream change that moved the object).
fn apply_patches(
    stack: &Stack,
    component: &Component,
    caps: &Capabilities,
    objects: &mut [Object],
) -> Result<(), RenderError> {
    for (i, patch) in component.patches.iter().enumerate() {
        let location = format!(
            "component `{}` patch {} ({} {})",
            component.name,
            i + 1,
            patch.target.kind,
            patch.target.name
        );
        guard::check(&[(&location, &patch.patch)]).map_err(|message| RenderError::Template {
            component: component.name.clone(),
            location: location.clone(),
            message,
            hint: "simplify the patch".into(),
        })?;
        let data = template_context(stack, component, caps);
        let text = handlebars::engine()
            .render_template(&patch.patch, &data)
            .map_err(|e| RenderError::Template {
                component: component.name.clone(),
                location: location.clone(),
                message: e.reason().to_string(),
                hint: "check the values the patch uses".into(),
            })?;
        let patch_value: Value =
            crate::yaml::from_str(&text).map_err(|e| RenderError::Template {
                component: component.name.clone(),
                location: location.clone(),
                message: format!("the patch is not valid YAML: {}", e.message),
                hint: "a patch is a YAML map merged into the object".into(),
            })?;
        let t = &patch.target;
        let mut matched = false;
        for obj in objects.iter_mut() {
            let hit = obj.kind() == t.kind
                && obj.name() == t.name
                && t.group.as_deref().is_none_or(|g| g == obj.group())
                && t.namespace
                    .as_deref()
                    .is_none_or(|ns| Some(ns) == obj.namespace());
            if hit {
                patch::apply(&mut obj.0, patch_value.clone());
                matched = true;
            }
        }
        if !matched {
            return Err(RenderError::Template {
                component: component.name.clone(),
                location,
                message: "the patch target matches no rendered object".into(),
                hint: "check the target's kind and name against `landscape render`".into(),
            });
        }
    }
    Ok(())
}

/// A local manifest: a regular file of bounded size (a `file:` source of `/dev/zero` must
/// fail, not read forever).
fn read(path: &Path) -> Result<String, RenderError> {
    crate::files::read_text(path, crate::files::MANIFEST_LIMIT).map_err(|e| RenderError::Read {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Renders template files; returns (origin, text, downloaded) per file.
fn render_templates(
    stack: &Stack,
    component: &Component,
    files: &[TemplateFile],
    caps: &Capabilities,
) -> Result<Vec<(String, String, bool)>, RenderError> {
    let texts: Vec<(&str, &str)> = files
        .iter()
        .map(|f| (f.name.as_str(), f.text.as_str()))
        .collect();
    guard::check(&texts).map_err(|message| RenderError::Template {
        component: component.name.clone(),
        location: files.first().map(|f| f.name.clone()).unwrap_or_default(),
        message,
        hint: "simplify the template".into(),
    })?;
    let mut hb = handlebars::engine();
    let data = template_context(stack, component, caps);
    let mut out = Vec::new();
    for file in files {
        hb.register_template_string(&file.name, &file.text)
            .map_err(|e| {
                let location = match e.pos() {
                    Some((l, c)) => format!("{}:{l}:{c}", file.name),
                    None => file.name.clone(),
                };
                RenderError::Template {
                    component: component.name.clone(),
                    location,
                    message: format!("template syntax: {}", e.reason()),
                    hint: "check the {{ }} tags near that position".into(),
                }
            })?;
        let text = hb.render(&file.name, &data).map_err(|e| {
            let location = match (e.line_no, e.column_no) {
                (Some(l), Some(c)) => format!("{}:{l}:{c}", file.name),
                _ => file.name.clone(),
            };
            let (message, hint) = match e.reason() {
                ::handlebars::RenderErrorReason::MissingVariable(None) => (
                    "a value passed to a helper is not defined".to_string(),
                    "check the values the helpers on that line use".to_string(),
                ),
                ::handlebars::RenderErrorReason::MissingVariable(Some(path)) => (
                    format!("`{path}` is not defined"),
                    format!(
                        "give it with --set {}.{} or in a values file, or guard it with {{{{#if}}}}",
                        component.name,
                        path.strip_prefix("values.").unwrap_or(path)
                    ),
                ),
                other => (other.to_string(), "check the template and the values it uses".into()),
            };
            RenderError::Template {
                component: component.name.clone(),
                location,
                message,
                hint,
            }
        })?;
        out.push((file.name.clone(), text, false));
    }
    Ok(out)
}

/// Parses a multi-document stream into objects, flattening `kind: List`.
pub fn parse_objects(
    component: &str,
    origin: &str,
    text: &str,
    downloaded: bool,
) -> Result<Vec<Object>, RenderError> {
    let doc_error = |index: usize, message: String| RenderError::Document {
        component: component.to_string(),
        origin: origin.to_string(),
        index,
        message,
        downloaded,
    };
    let head = text
        .trim_start()
        .get(..15)
        .unwrap_or_default()
        .to_ascii_lowercase();
    if head.starts_with("<!doctype") || head.starts_with("<html") {
        return Err(doc_error(
            1,
            "got an HTML page, not YAML (wrong URL, or a login or error page)".into(),
        ));
    }
    let docs: Vec<Value> = crate::yaml::from_str_multi(text).map_err(|e| {
        let at = e
            .position
            .map(|p| format!(" at line {}, column {}", p.line, p.column))
            .unwrap_or_default();
        doc_error(0, format!("invalid YAML{at}: {}", e.message))
    })?;
    let mut objects = Vec::new();
    for (i, doc) in docs.into_iter().enumerate() {
        let index = i + 1;
        if doc.is_null() {
            continue;
        }
        if !doc.is_object() {
            return Err(doc_error(
                index,
                "not a YAML map; every document must be a Kubernetes object".into(),
            ));
        }
        let obj = Object(doc);
        if obj.kind().ends_with("List") && obj.pointer("/items").is_some_and(Value::is_array) {
            let items = obj.0["items"].as_array().cloned().unwrap_or_default();
            for item in items {
                objects.push(check_object(Object(item)).map_err(|m| doc_error(index, m))?);
            }
            continue;
        }
        objects.push(check_object(obj).map_err(|m| doc_error(index, m))?);
    }
    Ok(objects)
}

fn check_object(obj: Object) -> Result<Object, String> {
    let missing: Vec<&str> = [
        ("apiVersion", obj.api_version().is_empty()),
        ("kind", obj.kind().is_empty()),
        ("metadata.name", obj.name().is_empty()),
    ]
    .iter()
    .filter(|(_, m)| *m)
    .map(|(f, _)| *f)
    .collect();
    if !missing.is_empty() {
        let what = if obj.kind().is_empty() {
            "object".to_string()
        } else {
            format!("{} object", obj.kind())
        };
        return Err(format!("{what} has no {}", missing.join(", no ")));
    }
    if obj.0.pointer("/metadata/generateName").is_some() {
        return Err(format!(
            "{} uses generateName, which cannot be applied idempotently",
            obj.key()
        ));
    }
    Ok(obj)
}

/// Labels a namespace for Pod Security Admission: enforced, and audited and warned at the
/// same level — unless the namespace already says what it enforces (upstream, or a
/// patch), which knows that namespace better than a component-wide level does.
fn set_pod_security(ns: &mut Object, level: crate::stack::PodSecurity) {
    if ns
        .pointer("/metadata/labels/pod-security.kubernetes.io~1enforce")
        .is_some()
    {
        return;
    }
    for mode in ["enforce", "audit", "warn"] {
        ns.set_label(
            &format!("pod-security.kubernetes.io/{mode}"),
            level.as_str(),
        );
    }
}

/// Stack-wide finishing: namespaces, labels, Namespace objects, images, duplicates.
fn finish(
    stack: &Stack,
    rendered: &mut [RenderedComponent],
    opts: &RenderOptions,
) -> Result<(), RenderError> {
    let mut scopes = Scopes::new(rendered.iter().flat_map(|r| r.objects.iter()));
    for (group, kind, namespaced) in &opts.capabilities.resources {
        scopes.learn(group, kind, *namespaced);
    }
    let declared_namespaces: BTreeSet<String> = rendered
        .iter()
        .flat_map(|r| r.objects.iter())
        .filter(|o| o.is_namespace())
        .map(|o| o.name().to_string())
        .collect();

    // Namespaces landscape creates for components: one Namespace object per namespace,
    // applied by every component that uses it (so each finds it in place whichever runs
    // first), labelled with the first of them in stack order so the copies are identical.
    let mut used: Vec<BTreeSet<String>> = Vec::new();
    for r in rendered.iter_mut() {
        let component = stack.component(&r.name).expect("rendered from the stack");
        let mut namespaces = BTreeSet::new();
        for obj in &mut r.objects {
            if scopes.is_namespaced(obj.group(), obj.kind()) {
                if obj.namespace().is_none() {
                    obj.set_namespace(&component.namespace);
                }
                namespaces.insert(obj.namespace().unwrap_or_default().to_string());
            } else if obj.namespace().is_some() {
                // kubectl ignores a namespace on cluster-scoped objects; so do we, so that the
                // object's identity matches what the server will report.
                if let Some(meta) = obj.0.get_mut("metadata").and_then(Value::as_object_mut) {
                    meta.remove("namespace");
                }
            }
        }
        used.push(namespaces);
    }
    // A namespace's Pod Security level: the most permissive any component in it asks for,
    // so every copy of a shared namespace is the same and no component is locked out.
    let mut pod_security: BTreeMap<String, crate::stack::PodSecurity> = BTreeMap::new();
    for (r, namespaces) in rendered.iter().zip(&used) {
        let component = stack.component(&r.name).expect("rendered from the stack");
        let Some(level) = component.pod_security else {
            continue;
        };
        let declared = r
            .objects
            .iter()
            .filter(|o| o.is_namespace())
            .map(|o| o.name().to_string());
        for ns in namespaces.iter().cloned().chain(declared) {
            let slot = pod_security.entry(ns).or_insert(level);
            *slot = (*slot).max(level);
        }
    }
    let mut first_user: BTreeMap<String, String> = BTreeMap::new();
    for (r, namespaces) in rendered.iter().zip(&used) {
        for ns in namespaces {
            first_user
                .entry(ns.clone())
                .or_insert_with(|| r.name.clone());
        }
    }

    let mut owners: BTreeMap<ObjectKey, (String, Object)> = BTreeMap::new();
    for (r, namespaces) in rendered.iter_mut().zip(&used) {
        for obj in &mut r.objects {
            obj.set_label(labels::MANAGED_BY, labels::MANAGED_BY_VALUE);
            obj.set_label(labels::STACK, &stack.name);
            obj.set_label(labels::COMPONENT, &r.name);
            if let Some(registry) = &opts.image_registry {
                images::relocate(obj, registry);
            }
        }
        let mut generated = Vec::new();
        for ns in namespaces.iter().rev() {
            if declared_namespaces.contains(ns) || crate::k8s::is_system_namespace(ns) {
                continue;
            }
            let mut obj =
                Object(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}));
            obj.set_label(labels::MANAGED_BY, labels::MANAGED_BY_VALUE);
            obj.set_label(labels::STACK, &stack.name);
            obj.set_label(labels::COMPONENT, &first_user[ns]);
            if let Some(level) = pod_security.get(ns) {
                set_pod_security(&mut obj, *level);
            }
            generated.push(obj);
        }
        for obj in r.objects.iter_mut().filter(|o| o.is_namespace()) {
            if let Some(level) = pod_security.get(obj.name()).copied() {
                set_pod_security(obj, level);
            }
        }
        for obj in generated {
            r.objects.insert(0, obj);
        }
        for obj in &r.objects {
            match owners.get(&obj.key()) {
                // A namespace shared by components: identical copies are expected.
                Some((_, first)) if first == obj && obj.is_namespace() => {}
                Some((first, _)) => {
                    return Err(RenderError::Duplicate {
                        key: obj.key().to_string(),
                        first: first.clone(),
                        second: r.name.clone(),
                    });
                }
                None => {
                    owners.insert(obj.key(), (r.name.clone(), obj.clone()));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_need_kind_api_version_and_name() {
        let err = parse_objects(
            "c",
            "f.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n",
            false,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "f.yaml, document 1: component `c`: ConfigMap object has no metadata.name"
        );
        let err = parse_objects("c", "f.yaml", "---\nfoo: 1\n", false).unwrap_err();
        assert!(
            err.to_string()
                .contains("object has no apiVersion, no kind, no metadata.name"),
            "{err}"
        );
    }

    #[test]
    fn lists_are_flattened_and_html_is_refused() {
        let objs = parse_objects(
            "c",
            "x",
            "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n",
            false,
        )
        .unwrap();
        assert_eq!(objs.len(), 2);
        let err = parse_objects("c", "https://x", "<!DOCTYPE html><html>", true).unwrap_err();
        assert_eq!(err.exit_code(), crate::ExitCode::Artifact);
    }
}
