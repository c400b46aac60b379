//! Helm charts, rendered with the real `helm template` — never `helm install`: landscape
//! applies and gates the result like any other source, and leaves no Helm release state.
//!
//! A chart's values are its source's `values` template (handlebars, with the component's
//! values in scope) with the component's `chart` value merged over it; they reach helm in a
//! private temporary file, never on the command line. Renders run in parallel and are
//! cached by chart digest, values, cluster capabilities and the helm binary, so a second
//! command does not start helm at all.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::{Capabilities, RenderOptions};
use crate::source::{Artifacts, ChartArtifact, ChartRef};
use crate::stack::values::{CHART_KEY, merge};
use crate::stack::{ChartSpec, Component, Source, Stack};

/// The oldest helm whose `template` behaves as landscape expects.
const MIN_HELM: (u64, u64) = (3, 12);
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

/// The helm binary to use: `LANDSCAPE_HELM`, else `helm` on PATH.
fn find_helm() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("LANDSCAPE_HELM").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("helm"))
        .find(|p| p.is_file())
}

/// `v3.22.0` → (3, 22).
fn parse_version(v: &str) -> Option<(u64, u64)> {
    let mut parts = v.trim().trim_start_matches('v').split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// The helm binary that would render, identified without running it: its path, size and
/// modification time. Render cache keys carry this identity, so replacing helm invalidates
/// the cache while a fully cached render never starts helm at all.
struct HelmBinary {
    path: PathBuf,
    identity: String,
}

impl HelmBinary {
    fn locate(components: &[String]) -> Result<HelmBinary, ChartError> {
        let missing = || ChartError::HelmMissing {
            components: components.to_vec(),
        };
        let path = find_helm().ok_or_else(missing)?;
        let meta = std::fs::metadata(&path).map_err(|_| missing())?;
        if !meta.is_file() {
            return Err(missing());
        }
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        let identity = format!("{}:{}:{modified}", path.display(), meta.len());
        Ok(HelmBinary { path, identity })
    }
}

struct Helm {
    path: PathBuf,
    /// Private HELM_*_HOME directories: helm reads no user configuration and writes no
    /// state anywhere else.
    home: tempfile::TempDir,
}

impl Helm {
    /// Checks that `binary` runs and is recent enough, for the `components` whose charts
    /// it is about to render.
    fn start(binary: &HelmBinary, components: Vec<String>) -> Result<Helm, ChartError> {
        let home = tempfile::tempdir().map_err(|e| ChartError::Render {
            component: components.join(","),
            chart: String::new(),
            message: format!("cannot create a temporary directory: {e}"),
        })?;
        let helm = Helm {
            path: binary.path.clone(),
            home,
        };
        let out = helm
            .command()
            .args(["version", "--template", "{{.Version}}"])
            .output()
            .map_err(|_| ChartError::HelmMissing {
                components: components.clone(),
            })?;
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        match parse_version(&version) {
            Some(v) if v >= MIN_HELM => Ok(helm),
            _ => Err(ChartError::HelmTooOld {
                found: if version.is_empty() {
                    "(unknown version)".into()
                } else {
                    version
                },
                components,
            }),
        }
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.path);
        for (var, dir) in [
            ("HELM_CACHE_HOME", "cache"),
            ("HELM_CONFIG_HOME", "config"),
            ("HELM_DATA_HOME", "data"),
        ] {
            cmd.env(var, self.home.path().join(dir));
        }
        cmd.env_remove("KUBECONFIG").env("HELM_KUBECONTEXT", "");
        cmd
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
        let cached = cache_file(opts, &cache_key(&binary, job, caps));
        match std::fs::read_to_string(&cached) {
            Ok(text) => {
                rendered.insert(job_key(job), text);
            }
            Err(_) => pending.push((job, cached)),
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
                    let text = render_one(helm, job, caps)?;
                    write_cache(cached, &text);
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

fn cache_file(opts: &RenderOptions, key: &str) -> PathBuf {
    opts.cache_dir
        .clone()
        .unwrap_or_else(crate::source::default_cache_dir)
        .join("renders")
        .join(format!("{key}.yaml"))
}

fn render_one(helm: &Helm, job: &Job, caps: &Capabilities) -> Result<String, ChartError> {
    let fail = |message: String| ChartError::Render {
        component: job.component.name.clone(),
        chart: format!("{} {}", job.spec.name, job.spec.version),
        message,
    };
    // A private file (mode 0600, removed when dropped): values may hold credentials.
    let values_file = tempfile::Builder::new()
        .prefix("landscape-values-")
        .suffix(".yaml")
        .tempfile()
        .map_err(|e| fail(format!("cannot write the values file: {e}")))?;
    std::fs::write(values_file.path(), &job.values)
        .map_err(|e| fail(format!("cannot write the values file: {e}")))?;
    let mut cmd = helm.command();
    cmd.arg("template")
        .arg(release(job))
        .arg(&job.chart.archive.path)
        .args(["--namespace", &job.component.namespace])
        .arg("--include-crds")
        .arg("--values")
        .arg(values_file.path())
        .args([
            "--kube-version",
            caps.kube_version.as_deref().unwrap_or(OFFLINE_KUBE_VERSION),
        ]);
    for api in &caps.api_versions {
        cmd.args(["--api-versions", api]);
    }
    let out = cmd
        .output()
        .map_err(|e| fail(format!("cannot run {}: {e}", helm.path.display())))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let message: Vec<&str> = stderr
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        return Err(fail(format!("helm template failed: {}", message.join(" "))));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn write_cache(path: &Path, text: &str) {
    if let Some(dir) = path.parent()
        && std::fs::create_dir_all(dir).is_ok()
        && let Ok(tmp) = tempfile::NamedTempFile::new_in(dir)
        && std::fs::write(tmp.path(), text).is_ok()
    {
        let _ = tmp.persist(path);
    }
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
    fn versions_parse() {
        assert_eq!(parse_version("v3.22.0"), Some((3, 22)));
        assert_eq!(parse_version("v4.3.1"), Some((4, 3)));
        assert!(parse_version("nope").is_none());
        assert!((3, 9) < MIN_HELM);
    }

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
