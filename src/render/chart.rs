//! Helm charts, rendered with the real `helm template` — never `helm install`: landscape
//! applies and gates the result like any other source, and leaves no Helm release state.
//!
//! A chart's values are its source's `values` template (handlebars, with the component's
//! values in scope) with the component's `chart` value merged over it; they reach helm in a
//! private temporary file, never on the command line. Renders run in parallel and are
//! cached by chart digest, values, cluster capabilities and the helm binary, so a second
//! command does not start helm at all.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

use super::helm::{Helm, HelmBinary, MIN_HELM, Template};
use super::{Capabilities, RenderOptions, cache};
use crate::source::{Artifacts, ChartArtifact, ChartRef};
use crate::stack::values::{CHART_KEY, merge};
use crate::stack::{ChartSpec, Component, Source, Stack};

/// The Kubernetes version charts are rendered for when no cluster is known.
pub const OFFLINE_KUBE_VERSION: &str = "v1.33.0";

#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("helm is needed to render the charts of {} but was not found (hint: install helm {}.{} or newer on PATH, or set LANDSCAPE_HELM)", list(.components), MIN_HELM.0, MIN_HELM.1)]
    HelmMissing { components: Vec<String> },
    #[error("helm {found} is too old to render the charts of {} (hint: install helm {}.{} or newer, or set LANDSCAPE_HELM)", list(.components), MIN_HELM.0, MIN_HELM.1)]
    HelmTooOld {
        found: String,
        components: Vec<String>,
    },
    #[error("component `{component}`: chart {chart}: {message}")]
    Render {
        component: String,
        chart: String,
        message: String,
    },
    #[error("component `{component}`: chart values of {chart}: {message}")]
    Values {
        component: String,
        chart: String,
        message: String,
    },
}

fn list(components: &[String]) -> String {
    components
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl ChartError {
    pub fn exit_code(&self) -> crate::ExitCode {
        crate::ExitCode::InvalidInput
    }
}

/// Rendered chart text by (component, chart name).
pub type RenderedCharts = BTreeMap<(String, String), String>;

/// One chart to render.
struct Job<'a> {
    component: &'a Component,
    spec: &'a ChartSpec,
    chart: &'a ChartArtifact,
    values: String,
}

impl Job<'_> {
    /// The capabilities its output depends on: without the API versions when no template
    /// asks for them — so the second pass for the stack's own CRDs finds it rendered.
    fn capabilities(&self, caps: &Capabilities) -> Capabilities {
        if self.chart.uses_api_versions {
            caps.clone()
        } else {
            Capabilities {
                api_versions: vec![],
                ..caps.clone()
            }
        }
    }
}

/// Renders every chart source of the stack; keyed by (component, chart name).
pub fn render_all(
    stack: &Stack,
    artifacts: &Artifacts,
    opts: &RenderOptions,
    caps: &Capabilities,
) -> Result<RenderedCharts, ChartError> {
    let mut jobs = Vec::new();
    for component in &stack.components {
        for source in &component.sources {
            if let Source::Chart(spec) = source {
                let chart = artifacts
                    .chart(&ChartRef::new(&spec.repository, &spec.name, &spec.version))
                    .unwrap_or_else(|| panic!("chart {} was fetched before rendering", spec.name));
                let values = chart_values(stack, component, spec, caps)?;
                jobs.push(Job {
                    component,
                    spec,
                    chart,
                    values,
                });
            }
        }
    }
    if jobs.is_empty() {
        return Ok(BTreeMap::new());
    }
    let binary = HelmBinary::locate(&components_of(jobs.iter()))?;
    let mut rendered = BTreeMap::new();
    let mut pending = Vec::new();
    for job in &jobs {
        let caps = job.capabilities(caps);
        let cached = cache::path(&cache_dir(opts), &cache_key(&binary, job, &caps));
        match cache::read(&cached, &job.chart.archive.sha256) {
            Some(text) => {
                rendered.insert(job_key(job), text);
            }
            None => pending.push((job, cached)),
        }
    }
    if pending.is_empty() {
        return Ok(rendered);
    }
    let helm = Helm::start(&binary, components_of(pending.iter().map(|(job, _)| *job)))?;
    let results: Vec<Result<_, ChartError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = pending
            .iter()
            .map(|(job, cached)| {
                let helm = &helm;
                scope.spawn(move || {
                    let text = render_one(helm, job, &job.capabilities(caps))?;
                    cache::write(cached, &job.chart.archive.sha256, &text);
                    Ok((job_key(job), text))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a chart render thread panicked"))
            .collect()
    });
    for r in results {
        let (key, text) = r?;
        rendered.insert(key, text);
    }
    Ok(rendered)
}

/// The components the jobs render for, each once, for messages about helm.
fn components_of<'a>(jobs: impl Iterator<Item = &'a Job<'a>>) -> Vec<String> {
    let mut names: Vec<String> = jobs.map(|j| j.component.name.clone()).collect();
    names.dedup();
    names
}

fn job_key(job: &Job) -> (String, String) {
    (job.component.name.clone(), job.spec.name.clone())
}

/// The values handed to helm: the source's template rendered, then the component's raw
/// `chart` values merged over it.
fn chart_values(
    stack: &Stack,
    component: &Component,
    spec: &ChartSpec,
    caps: &Capabilities,
) -> Result<String, ChartError> {
    let err = |message: String| ChartError::Values {
        component: component.name.clone(),
        chart: spec.name.clone(),
        message,
    };
    let mut values = match &spec.values {
        Some(template) => {
            super::guard::check(&[("values", template)]).map_err(err)?;
            let data = super::template_context(stack, component, caps);
            let text = super::handlebars::engine()
                .render_template(template, &data)
                .map_err(|e| {
                    let at = match (e.line_no, e.column_no) {
                        (Some(l), Some(c)) => format!("line {l}, column {c}: "),
                        _ => String::new(),
                    };
                    err(format!("{at}{}", e.reason()))
                })?;
            let parsed: Value = crate::yaml::from_str(&text).map_err(|e| {
                let at = e
                    .position
                    .map(|p| format!("line {}, column {}: ", p.line, p.column))
                    .unwrap_or_default();
                err(format!(
                    "the rendered values are not valid YAML: {at}{}",
                    e.message
                ))
            })?;
            if parsed.is_null() {
                Value::Object(Default::default())
            } else {
                parsed
            }
        }
        None => Value::Object(Default::default()),
    };
    if let Some(raw) = component.values.get(CHART_KEY).filter(|v| !v.is_null()) {
        merge(&mut values, raw.clone());
    }
    Ok(crate::yaml::to_string(&values))
}

fn cache_key(helm: &HelmBinary, job: &Job, caps: &Capabilities) -> String {
    let mut apis = caps.api_versions.clone();
    apis.sort();
    let material = serde_json::json!({
        "helm": helm.identity,
        "digest": job.chart.archive.sha256,
        "release": release(job),
        "namespace": job.component.namespace,
        "values": job.values,
        "kube": caps.kube_version.as_deref().unwrap_or(OFFLINE_KUBE_VERSION),
        "apis": apis,
    });
    crate::source::sha256_hex(material.to_string().as_bytes())
}

fn release(job: &Job) -> String {
    job.spec
        .release
        .clone()
        .unwrap_or_else(|| job.component.name.clone())
}

fn cache_dir(opts: &RenderOptions) -> PathBuf {
    opts.cache_dir
        .clone()
        .unwrap_or_else(crate::source::default_cache_dir)
}

fn render_one(helm: &Helm, job: &Job, caps: &Capabilities) -> Result<String, ChartError> {
    let release = release(job);
    helm.template(&Template {
        release: &release,
        archive: &job.chart.archive.path,
        namespace: &job.component.namespace,
        values: &job.values,
        kube_version: caps.kube_version.as_deref().unwrap_or(OFFLINE_KUBE_VERSION),
        api_versions: &caps.api_versions,
    })
    .map_err(|message| ChartError::Render {
        component: job.component.name.clone(),
        chart: format!("{} {}", job.spec.name, job.spec.version),
        message,
    })
}

/// Helm hooks that are not part of installing. Every `up` is landscape's install, so an
/// object whose hooks include `pre-install` or `post-install` is applied like any other;
/// hooks only for upgrades, rollbacks, deletion or tests are left out.
pub fn is_skipped_hook(obj: &crate::k8s::Object) -> bool {
    obj.annotation("helm.sh/hook").is_some_and(|hooks| {
        !hooks
            .split(',')
            .map(str::trim)
            .any(|h| h == "pre-install" || h == "post-install")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hooks_for_tests_and_deletion_are_skipped() {
        let hook =
            |h: &str| crate::k8s::Object(json!({"metadata": {"annotations": {"helm.sh/hook": h}}}));
        assert!(is_skipped_hook(&hook("test")));
        assert!(is_skipped_hook(&hook("pre-delete")));
        assert!(is_skipped_hook(&hook("pre-upgrade")));
        assert!(!is_skipped_hook(&hook("post-install, post-delete")));
        assert!(!is_skipped_hook(&hook(
            "pre-install,pre-upgrade,pre-rollback"
        )));
    }
}
