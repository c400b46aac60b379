//! Helm charts, rendered with the real `helm template`.

use std::collections::BTreeMap;

use crate::source::Artifacts;
use crate::stack::{Source, Stack};

use super::RenderOptions;

#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("component `{component}`: chart {chart}: {message}")]
    Render {
        component: String,
        chart: String,
        message: String,
    },
}

impl ChartError {
    pub fn exit_code(&self) -> crate::ExitCode {
        crate::ExitCode::InvalidInput
    }
}

/// Renders every chart source of the stack; keyed by (component, chart name).
pub fn render_all(
    stack: &Stack,
    _artifacts: &Artifacts,
    _opts: &RenderOptions,
) -> Result<BTreeMap<(String, String), String>, ChartError> {
    for c in &stack.components {
        for s in &c.sources {
            if let Source::Chart(spec) = s {
                return Err(ChartError::Render {
                    component: c.name.clone(),
                    chart: spec.name.clone(),
                    message: "chart sources are not implemented yet".into(),
                });
            }
        }
    }
    Ok(BTreeMap::new())
}
