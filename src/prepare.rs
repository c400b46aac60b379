//! The offline half of every command: load the stack, plan it, check required values,
//! fetch its artifacts (against the lock, with `--locked`) and render it. Everything here
//! happens before the first write to a cluster, so every mistake it finds leaves the
//! cluster untouched.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::cluster::inventory::{self, Inputs};
use crate::object::labels;
use crate::plan::{self, Plan};
use crate::render::{self, Capabilities, RenderOptions, RenderedComponent};
use crate::source::{self, Artifacts, FetchOptions, Fetcher, Lock, Locked, Mirror, SourceError};
use crate::stack::{self, Source, Stack, StackError, StackRequest};

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
}

/// A stack ready to apply: planned, fetched and rendered.
pub struct Prepared {
    pub stack: Stack,
    pub plan: Plan,
    pub artifacts: Artifacts,
    pub rendered: Vec<RenderedComponent>,
}

/// Loads and plans a stack (no network).
pub fn load(req: &StackRequest) -> Result<(Stack, Plan), crate::Error> {
    let stack = stack::load(req)?;
    let plan = plan::build(&stack)?;
    Ok((stack, plan))
}

/// Where the stack's lock lives.
pub fn lock_path(stack: &Stack, req: &StackRequest) -> PathBuf {
    match &req.sources_dir {
        Some(dir) => dir.join(source::lock::LOCK_FILE),
        None => source::lock_path(stack.file.as_deref(), &req.working_dir),
    }
}

/// With `--locked`, checks without any download that the lock covers every artifact the
/// stack declares and agrees with every digest the stack pins (what `plan --locked` does).
pub fn check_lock_covers(stack: &Stack, lock: &Lock, path: &Path) -> Result<(), crate::Error> {
    for c in &stack.components {
        for s in &c.sources {
            match s {
                Source::Url { url, sha256, .. } => {
                    lock.pinned_digest(url, sha256.as_deref(), path)?;
                }
                Source::Chart(spec)
                    if lock
                        .chart(&spec.repository, &spec.name, &spec.version)
                        .is_none() =>
                {
                    return Err(SourceError::NotLocked {
                        url: format!(
                            "chart {} {} from {}",
                            spec.name, spec.version, spec.repository
                        ),
                        lock: path.to_path_buf(),
                    }
                    .into());
                }
                _ => {}
            }
        }
    }
    Ok(())
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

/// Loads and plans a stack and checks that every required value is given: every input
/// error that can be found without the network or a cluster, so a command that is about to
/// connect reports those first.
pub fn load_complete(req: &StackRequest) -> Result<(Stack, Plan), crate::Error> {
    let (stack, plan) = load(req)?;
    let missing = stack.missing_values();
    if !missing.is_empty() {
        return Err(StackError::MissingValues(missing).into());
    }
    Ok((stack, plan))
}

/// Loads, plans, checks required values, fetches and renders.
pub async fn prepare(req: &StackRequest, opts: &Options) -> Result<Prepared, crate::Error> {
    let (stack, plan) = if opts.placeholders {
        let (mut stack, plan) = load(req)?;
        fill_placeholders(&mut stack);
        (stack, plan)
    } else {
        load_complete(req)?
    };
    let fetcher = opts.sources.fetcher()?;
    let lock_file = lock_path(&stack, req);
    let lock = if opts.sources.locked {
        Some(Lock::read(&lock_file)?)
    } else {
        None
    };
    let locked = lock.as_ref().map(|lock| Locked {
        lock,
        path: &lock_file,
    });
    let artifacts = source::fetch_stack(&stack, &fetcher, locked.as_ref()).await?;
    let render_opts = RenderOptions {
        capabilities: opts.capabilities.clone(),
        image_registry: opts.image_registry.clone(),
        cache_dir: Some(opts.sources.cache_dir()),
    };
    let mut rendered = render::render_stack(&stack, &artifacts, &render_opts)?;
    // Secret values are registered before anything can print them.
    for obj in rendered.iter().flat_map(|r| r.objects.iter()) {
        crate::report::redact::register(crate::diff::mask::secret_values(&obj.0));
    }
    // Every object is a member of the stack's ApplySet.
    let applyset = inventory::applyset_id(&stack.name);
    for obj in rendered.iter_mut().flat_map(|r| r.objects.iter_mut()) {
        obj.set_label(labels::APPLYSET_PART_OF, &applyset);
    }
    Ok(Prepared {
        stack,
        plan,
        artifacts,
        rendered,
    })
}

/// The lock describing a prepared stack.
pub fn lock_of(prepared: &Prepared) -> Lock {
    let mut lock = Lock::new(&prepared.stack.name);
    for a in prepared.artifacts.manifests() {
        let components: Vec<&stack::Component> = prepared
            .stack
            .components
            .iter()
            .filter(|c| {
                c.sources
                    .iter()
                    .any(|s| matches!(s, Source::Url { url, .. } if *url == a.url))
            })
            .collect();
        lock.artifacts.push(source::lock::LockedArtifact {
            url: a.url.clone(),
            components: components.iter().map(|c| c.name.clone()).collect(),
            version: components.first().and_then(|c| c.version.clone()),
            sha256: a.sha256.clone(),
        });
    }
    for c in prepared.artifacts.charts() {
        lock.charts.push(source::lock::LockedChart {
            repository: c.repository.clone(),
            name: c.name.clone(),
            version: c.version.clone(),
            url: c.url.clone(),
            digest: c.archive.sha256.clone(),
        });
    }
    lock.images = images(&prepared.rendered)
        .into_iter()
        .map(|(image, _)| image)
        .collect();
    lock
}

/// Every image of the rendered stack with the components that use it, sorted.
pub fn images(rendered: &[RenderedComponent]) -> Vec<(String, Vec<String>)> {
    let mut by_image: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for r in rendered {
        for obj in &r.objects {
            for image in render::images::images(obj) {
                let users = by_image.entry(image).or_default();
                if !users.contains(&r.name) {
                    users.push(r.name.clone());
                }
            }
        }
    }
    by_image.into_iter().collect()
}

/// What a stack was built from, to record in its inventory (so `diff` can rebuild it).
pub fn inputs(req: &StackRequest, stack: &Stack) -> Inputs {
    Inputs {
        profile: stack.profile.clone(),
        stack_file: stack
            .file
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok()),
        stack_path: stack
            .file
            .as_ref()
            .and_then(|p| std::path::absolute(p).ok())
            .map(|p| p.display().to_string()),
        values_files: req
            .values_files
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .collect(),
        set: req.set.clone(),
    }
}
