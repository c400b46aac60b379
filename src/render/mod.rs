//! Rendering: turns each component and its values into the list of objects to apply.
//!
//! Sources are rendered one by one (templates with handlebars, manifests as downloaded,
//! charts with `helm template`), parsed, checked (every object needs apiVersion, kind and
//! name; `parse.rs`), then finished for the whole stack at once (`finish.rs`): namespaces
//! filled in, landscape's labels added, a Namespace object added where a component's
//! namespace has none, images relocated when asked. The renderer never talks to the
//! cluster; what it needs to know of it (version, API list, scopes) comes in as plain data.

mod cache;
pub mod chart;
mod finish;
mod guard;
mod handlebars;
mod helm;
pub mod images;
pub mod parse;
mod patch;
mod relocate;
pub mod templates;

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Value, json};

use self::templates::TemplateFile;
use crate::k8s::Object;
use crate::source::Artifacts;
use crate::stack::{Component, Source, Stack};

pub use self::parse::parse_objects;
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
        "stack": {
            "name": stack.name,
            "profile": stack.profile,
            "namespaces": stack_namespaces(stack),
            "platformNamespaces": platform_namespaces(stack),
        },
        "capabilities": {
            "kubeVersion": caps.kube_version,
            "apiVersions": caps.api_versions,
        },
    })
}

/// The namespaces of every component, plus Kubernetes' own: what stack-wide policies must
/// leave alone.
fn stack_namespaces(stack: &Stack) -> Vec<String> {
    let mut all: BTreeSet<String> = platform_namespaces(stack).into_iter().collect();
    all.extend(crate::k8s::KUBERNETES_NAMESPACES.map(String::from));
    all.into_iter().collect()
}

/// The namespaces of the stack's components alone: what policies about the platform's own
/// workloads (its images' signatures) look at.
fn platform_namespaces(stack: &Stack) -> Vec<String> {
    let all: BTreeSet<String> = stack
        .components
        .iter()
        .map(|c| c.namespace.clone())
        .collect();
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
    let mut parsed = ParsedTexts::default();
    let mut rendered = render_sources(stack, artifacts, opts, &caps, &mut parsed)?;
    let extended = with_stack_crds(&caps, &rendered);
    if extended.api_versions.len() != caps.api_versions.len() {
        caps = extended;
        // The parsed texts are kept; the first pass's objects are not needed any more.
        drop(rendered);
        rendered = render_sources(stack, artifacts, opts, &caps, &mut parsed)?;
    }
    drop(parsed);
    finish::finish(stack, &mut rendered, opts)?;
    Ok(rendered)
}

/// `caps` plus every group/version and group/version/Kind the CRDs in `rendered` serve.
fn with_stack_crds(caps: &Capabilities, rendered: &[RenderedComponent]) -> Capabilities {
    let mut apis: BTreeSet<String> = caps.api_versions.iter().cloned().collect();
    for crd in rendered
        .iter()
        .flat_map(|r| r.objects.iter())
        .filter_map(crate::k8s::CrdInfo::of)
    {
        for version in &crd.served {
            apis.insert(format!("{}/{version}", crd.group));
            apis.insert(format!("{}/{version}/{}", crd.group, crd.kind));
        }
    }
    Capabilities {
        api_versions: apis.into_iter().collect(),
        ..caps.clone()
    }
}

/// Texts already parsed in this render, by (component, origin, hash of the text): the
/// second pass gets the same text from every manifest and most charts, and parsing YAML
/// is most of a warm render's time.
#[derive(Default)]
struct ParsedTexts(std::collections::HashMap<(String, String, u64), Vec<Object>>);

impl ParsedTexts {
    fn parse(
        &mut self,
        component: &str,
        origin: &str,
        text: &str,
        downloaded: bool,
    ) -> Result<Vec<Object>, RenderError> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        text.hash(&mut h);
        let key = (component.to_string(), origin.to_string(), h.finish());
        if let Some(objects) = self.0.get(&key) {
            return Ok(objects.clone());
        }
        let objects = parse_objects(component, origin, text, downloaded)?;
        self.0.insert(key, objects.clone());
        Ok(objects)
    }
}

/// Renders each component's sources into objects, before the stack-wide finishing.
fn render_sources(
    stack: &Stack,
    artifacts: &Artifacts,
    opts: &RenderOptions,
    caps: &Capabilities,
    parsed: &mut ParsedTexts,
) -> Result<Vec<RenderedComponent>, RenderError> {
    let charts = chart::render_all(stack, artifacts, opts, caps)?;
    let mut rendered = Vec::new();
    for component in &stack.components {
        let mut objects = Vec::new();
        for source in &component.sources {
            objects.extend(source_objects(
                stack, component, source, artifacts, &charts, caps, parsed,
            )?);
        }
        objects.retain(|o| !is_excluded(component, o));
        apply_patches(stack, component, caps, &mut objects)?;
        rendered.push(RenderedComponent {
            name: component.name.clone(),
            objects,
        });
    }
    Ok(rendered)
}

/// One source's objects, parsed and treated as the source asks: a chart's hooks that
/// landscape does not run dropped, a `setNamespace` manifest moved into the component's
/// namespace.
fn source_objects(
    stack: &Stack,
    component: &Component,
    source: &Source,
    artifacts: &Artifacts,
    charts: &chart::RenderedCharts,
    caps: &Capabilities,
    memo: &mut ParsedTexts,
) -> Result<Vec<Object>, RenderError> {
    let docs = source_texts(stack, component, source, artifacts, charts, caps)?;
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
    let mut objects = Vec::new();
    for (origin, text, downloaded) in docs {
        let mut parsed = memo.parse(&component.name, &origin, &text, downloaded)?;
        if from_chart {
            parsed.retain(|o| !chart::is_skipped_hook(o));
        }
        if set_namespace {
            relocate::into_namespace(&mut parsed, &component.namespace);
        }
        objects.extend(parsed);
    }
    Ok(objects)
}

/// The texts a source stands for, as (origin, text, downloaded): rendered templates, a
/// local or downloaded manifest, a chart's output (rendered beforehand, all charts at once).
fn source_texts(
    stack: &Stack,
    component: &Component,
    source: &Source,
    artifacts: &Artifacts,
    charts: &chart::RenderedCharts,
    caps: &Capabilities,
) -> Result<Vec<(String, String, bool)>, RenderError> {
    Ok(match source {
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
            let text = crate::files::read_text(&artifact.path, crate::files::MANIFEST_LIMIT)
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
    })
}

/// Whether one of the component's `exclude` entries drops this object.
fn is_excluded(component: &Component, obj: &Object) -> bool {
    component.exclude.iter().any(|x| {
        x.kind == obj.kind()
            && x.group.as_deref().is_none_or(|g| g == obj.group())
            && x.name.as_deref().is_none_or(|n| n == obj.name())
    })
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
