//! The offline half of every command: load the stack, plan it, check required values,
//! fetch its artifacts and render it. Everything here happens before the first write to a
//! cluster, so every mistake it finds leaves the cluster untouched.

use std::path::PathBuf;

use crate::plan::{self, Plan};
use crate::render::{self, Capabilities, RenderOptions, RenderedComponent};
use crate::source::{self, Artifacts, FetchOptions, Fetcher, Mirror};
use crate::stack::{self, Stack, StackError, StackRequest};

/// Where artifacts come from and how they are checked.
#[derive(Clone, Debug, Default)]
pub struct SourceSettings {
    /// `--mirror` / `LANDSCAPE_MIRROR`.
    pub mirror: Option<String>,
    pub cache_dir: Option<PathBuf>,
}

impl SourceSettings {
    pub fn fetcher(&self) -> Result<Fetcher, crate::Error> {
        let cache = self
            .cache_dir
            .clone()
            .unwrap_or_else(source::default_cache_dir);
        let mut opts = FetchOptions::new(cache);
        if let Some(m) = &self.mirror {
            opts.mirror = Some(Mirror::parse(m)?);
        }
        Ok(Fetcher::new(opts)?)
    }
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

/// Loads, plans, checks required values, fetches and renders.
pub async fn prepare(
    req: &StackRequest,
    sources: &SourceSettings,
    capabilities: Capabilities,
    image_registry: Option<String>,
) -> Result<Prepared, crate::Error> {
    let (stack, plan) = load(req)?;
    let missing = stack.missing_values();
    if !missing.is_empty() {
        return Err(StackError::MissingValues(missing).into());
    }
    let fetcher = sources.fetcher()?;
    let artifacts = source::fetch_stack(&stack, &fetcher).await?;
    let opts = RenderOptions {
        capabilities,
        image_registry,
        cache_dir: sources.cache_dir.clone(),
    };
    let rendered = render::render_stack(&stack, &artifacts, &opts)?;
    Ok(Prepared {
        stack,
        plan,
        artifacts,
        rendered,
    })
}
