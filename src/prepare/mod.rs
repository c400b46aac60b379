//! The offline half of every command: load the stack, plan it, check required values,
//! fetch its artifacts (against the lock, with `--locked`) and render it. Everything here
//! happens before the first write to a cluster, so every mistake it finds leaves the
//! cluster untouched. [`replay`] rebuilds a stack from what a run recorded; [`lock`] says
//! what a stack pins.

pub mod lock;
pub mod replay;

use std::path::PathBuf;

use serde_json::Value;

use crate::k8s::{Capabilities, labels};
use crate::plan::{self, Plan};
use crate::render::{self, RenderOptions, RenderedComponent};
use crate::source::{self, Artifacts, FetchOptions, Fetcher, Lock, Locked, Mirror};
use crate::stack::{self, Source, Stack, StackError, StackRequest};

pub use lock::{check_lock_covers, images, lock_of, lock_path};
pub use replay::{identity, inputs, request_from};

/// Where artifacts come from and how they are checked.
#[derive(Clone, Debug, Default)]
pub struct SourceSettings {
    /// `--mirror` / `LANDSCAPE_MIRROR`.
    pub mirror: Option<String>,
    pub cache_dir: Option<PathBuf>,
    /// `--locked`: every artifact must be in the lock, with the same digest.
    pub locked: bool,
}

impl SourceSettings {
    pub fn fetcher(&self) -> Result<Fetcher, crate::Error> {
        let mut opts = FetchOptions::new(self.cache_dir());
        if let Some(m) = &self.mirror {
            opts.mirror = Some(Mirror::parse(m)?);
        }
        Ok(Fetcher::new(opts)?)
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.cache_dir
            .clone()
            .unwrap_or_else(source::default_cache_dir)
    }
}

/// How to prepare.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub sources: SourceSettings,
    pub capabilities: Capabilities,
    pub image_registry: Option<String>,
    /// Render even when required values are missing, with placeholders in their place —
    /// for commands that only inspect what a stack contains (`lock`, `images`, `bundle`).
    pub placeholders: bool,
    /// Charts whose declared Kubernetes range leaves out the cluster's version are
    /// reported in [`Prepared::unfit_charts`] instead of failing the run, and their
    /// components left out of the render (helm would refuse them): for `doctor`, which
    /// reports every check on the rest.
    pub report_unfit_charts: bool,
}

/// A stack ready to apply: planned, fetched and rendered.
pub struct Prepared {
    pub stack: Stack,
    pub plan: Plan,
    pub artifacts: Artifacts,
    pub rendered: Vec<RenderedComponent>,
    /// With [`Options::report_unfit_charts`]: the charts that do not support the cluster's
    /// Kubernetes version.
    pub unfit_charts: Vec<UnfitChart>,
}

/// A chart whose `kubeVersion` leaves out the cluster's Kubernetes version: `helm
/// template` would refuse it, with a message that names neither the component nor a fix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "component `{component}`: chart {chart} {version} supports Kubernetes `{range}`, and this cluster runs {kubernetes} (hint: upgrade the cluster, or pin a release of the chart that supports {kubernetes}; `landscape doctor` runs every check)"
)]
pub struct UnfitChart {
    pub component: String,
    pub chart: String,
    pub version: String,
    /// The chart's `kubeVersion`.
    pub range: String,
    /// The cluster's version.
    pub kubernetes: String,
}

/// The stack's charts whose declared range leaves out `kubernetes` (a range landscape
/// cannot read is left to helm).
pub fn unfit_charts(stack: &Stack, artifacts: &Artifacts, kubernetes: &str) -> Vec<UnfitChart> {
    let Some(version) = crate::k8s::version::Version::parse(kubernetes) else {
        return vec![];
    };
    let mut out = Vec::new();
    for c in &stack.components {
        for s in &c.sources {
            let Source::Chart(spec) = s else { continue };
            let chart = artifacts.chart(&source::ChartRef::new(
                &spec.repository,
                &spec.name,
                &spec.version,
            ));
            let Some(range) = chart.and_then(|a| a.kube_version.as_deref()) else {
                continue;
            };
            let fits = crate::k8s::version::fit(version, range);
            if fits.is_some_and(|f| f != crate::k8s::version::Fit::Within) {
                out.push(UnfitChart {
                    component: c.name.clone(),
                    chart: spec.name.clone(),
                    version: spec.version.clone(),
                    range: range.to_string(),
                    kubernetes: kubernetes.to_string(),
                });
            }
        }
    }
    out
}

/// A stack loaded and planned (no network).
pub struct Loaded {
    pub stack: Stack,
    pub plan: Plan,
    /// Where the stack's lock is.
    pub lock_file: PathBuf,
}

impl Loaded {
    /// The stack cut to the selected components (`--only`, `--skip`): only they are
    /// fetched, rendered and planned. Commands that write or predict pruning must then be
    /// told the run is partial, so that the components left out are not taken as removed.
    pub fn select(mut self, selected: Option<&crate::plan::Selected>) -> Loaded {
        if let Some(selected) = selected {
            self.stack
                .components
                .retain(|c| selected.components.contains(&c.name));
            self.plan = self.plan.only(&selected.components);
        }
        self
    }
}

/// Loads and plans a stack (no network). Every value the stack marks secret is registered
/// for redaction at once, before anything could print it.
pub fn load(req: &StackRequest) -> Result<Loaded, crate::Error> {
    let stack = stack::load(req)?;
    register_secrets(&stack);
    let plan = plan::build(&stack)?;
    let lock_file = lock_path(&stack, req);
    Ok(Loaded {
        stack,
        plan,
        lock_file,
    })
}

/// Loads and plans a stack and checks that every required value is given: every input
/// error that can be found without the network or a cluster, so a command that is about to
/// connect reports those first.
pub fn load_complete(req: &StackRequest) -> Result<Loaded, crate::Error> {
    let loaded = load(req)?;
    let missing = loaded.stack.missing_values();
    if !missing.is_empty() {
        return Err(StackError::MissingValues(missing).into());
    }
    Ok(loaded)
}

fn register_secrets(stack: &Stack) {
    let mut values = Vec::new();
    for (_, v) in stack.secret_values() {
        collect_strings(v, &mut values);
    }
    crate::report::redact::register_whole(values);
}

fn collect_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Array(items) => items.iter().for_each(|i| collect_strings(i, out)),
        Value::Object(map) => map.values().for_each(|i| collect_strings(i, out)),
        _ => {}
    }
}

/// Puts a visible placeholder where a required value is missing.
fn fill_placeholders(stack: &mut Stack) {
    for c in &mut stack.components {
        for r in c.required.clone() {
            let path: Vec<&str> = r.path.split('.').collect();
            let mut slot = &mut c.values;
            for key in &path {
                if !slot.is_object() {
                    *slot = Value::Object(Default::default());
                }
                slot = slot
                    .as_object_mut()
                    .expect("object")
                    .entry(key.to_string())
                    .or_insert(Value::Null);
            }
            if slot.is_null() || slot.as_str().is_some_and(|s| s.trim().is_empty()) {
                *slot = Value::String(format!("REQUIRED-{}.{}", c.name, r.path));
            }
        }
    }
}

/// Fetches and renders a loaded stack (checking required values first, unless
/// placeholders are asked for).
pub async fn prepare(loaded: Loaded, opts: &Options) -> Result<Prepared, crate::Error> {
    let Loaded {
        mut stack,
        plan,
        lock_file,
    } = loaded;
    if opts.placeholders {
        fill_placeholders(&mut stack);
    } else {
        let missing = stack.missing_values();
        if !missing.is_empty() {
            return Err(StackError::MissingValues(missing).into());
        }
    }
    let fetcher = opts.sources.fetcher()?;
    let lock = if opts.sources.locked {
        Some(Lock::read(&lock_file)?)
    } else {
        None
    };
    let locked = lock.as_ref().map(|lock| Locked {
        lock,
        path: &lock_file,
    });
    let artifacts = source::fetch_all(&wanted(&stack), &fetcher, locked.as_ref()).await?;
    let unfit = match &opts.capabilities.kube_version {
        Some(kubernetes) => unfit_charts(&stack, &artifacts, kubernetes),
        None => vec![],
    };
    if let Some(first) = unfit.first() {
        if !opts.report_unfit_charts {
            return Err(first.clone().into());
        }
        stack
            .components
            .retain(|c| !unfit.iter().any(|u| u.component == c.name));
    }
    let render_opts = RenderOptions {
        capabilities: opts.capabilities.clone(),
        image_registry: opts.image_registry.clone(),
        cache_dir: Some(opts.sources.cache_dir()),
    };
    let mut rendered = render::render_stack(&stack, &artifacts, &render_opts)?;
    if let Some(lock) = &lock {
        lock::pin_images(&mut rendered, lock, &lock_file)?;
    }
    // Secret values are registered before anything can print them.
    for obj in rendered.iter().flat_map(|r| r.objects.iter()) {
        crate::report::redact::register(crate::diff::mask::secret_values(&obj.0));
    }
    // Every object is a member of the stack's ApplySet.
    let applyset = crate::inventory::applyset_id(&stack.name);
    for obj in rendered.iter_mut().flat_map(|r| r.objects.iter_mut()) {
        obj.set_label(labels::APPLYSET_PART_OF, &applyset);
    }
    Ok(Prepared {
        stack,
        plan,
        artifacts,
        rendered,
        unfit_charts: unfit,
    })
}

/// Every artifact the stack's sources name.
pub fn wanted(stack: &Stack) -> source::Wanted {
    let mut wanted = source::Wanted::default();
    for s in stack.components.iter().flat_map(|c| &c.sources) {
        match s {
            Source::Url { url, sha256, .. } => {
                wanted.manifests.insert(url.clone(), sha256.clone());
            }
            Source::Chart(spec) => {
                wanted.charts.insert(source::ChartRef::new(
                    &spec.repository,
                    &spec.name,
                    &spec.version,
                ));
            }
            _ => {}
        }
    }
    wanted
}
