//! The test API server's audit log: what landscape wrote, to prove it wrote nothing.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::Testbed;

/// The audit log of a control plane started with `--audit`.
pub fn log(tb: &Testbed) -> PathBuf {
    PathBuf::from(
        std::fs::read_to_string(tb.state_dir.join("audit-log"))
            .expect("the control plane's audit log (start it with --audit)")
            .trim(),
    )
}

/// Write requests from landscape in the audit log after line `from`.
pub fn writes_since(audit: &Path, from: usize) -> Vec<String> {
    let text = std::fs::read_to_string(audit).unwrap_or_default();
    text.lines()
        .skip(from)
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| {
            e["userAgent"]
                .as_str()
                .is_some_and(|ua| ua.starts_with("landscape/"))
        })
        .filter(|e| {
            matches!(
                e["verb"].as_str(),
                Some("create" | "update" | "patch" | "delete" | "deletecollection")
            )
        })
        .filter(|e| {
            // Dry runs and access reviews persist nothing.
            let uri = e["requestURI"].as_str().unwrap_or_default();
            !uri.contains("dryRun=All") && !uri.contains("selfsubjectaccessreviews")
        })
        .map(|e| format!("{} {}", e["verb"], e["requestURI"]))
        .collect()
}

pub fn lines(audit: &Path) -> usize {
    std::fs::read_to_string(audit).map_or(0, |t| t.lines().count())
}
