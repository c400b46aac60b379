//! Offline bundles: every artifact of a stack in the mirror layout (`HOST/PATH`), so that
//! `--mirror file:///DIR` (or the plain path) installs with no network at all.
//!
//! Chart repositories get an index.yaml of their own holding just the bundled versions,
//! so the same resolution path (index, then archive) works from the bundle.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::{Artifacts, Lock, chart};

/// Where a URL lives inside a mirror directory.
pub fn mirror_path(dir: &Path, url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    if rest.split('/').any(|part| part == ".." || part.is_empty()) {
        return None;
    }
    Some(dir.join(rest))
}

/// What a bundle holds.
#[derive(Debug, Default)]
pub struct BundleReport {
    pub files: usize,
    pub bytes: u64,
}

/// Writes the artifacts, chart indexes, the lock and the image list into `dir`.
pub fn write(dir: &Path, artifacts: &Artifacts, lock: &Lock) -> std::io::Result<BundleReport> {
    let mut report = BundleReport::default();
    let mut copy = |url: &str, from: &Path| -> std::io::Result<()> {
        let to = mirror_path(dir, url).ok_or_else(|| {
            std::io::Error::other(format!("{url} cannot be laid out as HOST/PATH"))
        })?;
        std::fs::create_dir_all(to.parent().expect("HOST/PATH has a parent"))?;
        report.bytes += std::fs::copy(from, &to)?;
        report.files += 1;
        Ok(())
    };
    for a in artifacts.manifests() {
        copy(&a.url, &a.path)?;
    }
    let mut repos: BTreeMap<String, Vec<&chart::ChartArtifact>> = BTreeMap::new();
    for c in artifacts.charts() {
        copy(&c.url, &c.archive.path)?;
        repos.entry(c.repository.clone()).or_default().push(c);
    }
    for (repo, charts) in repos {
        let mut entries: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
        for c in charts {
            entries.entry(c.name.clone()).or_default().push(json!({
                "apiVersion": "v2",
                "name": c.name,
                "version": c.version,
                "urls": [c.url],
                "digest": c.archive.sha256,
            }));
        }
        let index =
            json!({"apiVersion": "v1", "entries": entries, "generated": "landscape bundle"});
        let path = mirror_path(dir, &chart::index_url(&repo)).ok_or_else(|| {
            std::io::Error::other(format!("{repo} cannot be laid out as HOST/PATH"))
        })?;
        std::fs::create_dir_all(path.parent().expect("has a parent"))?;
        std::fs::write(&path, crate::yaml::to_string(&index))?;
        report.files += 1;
    }
    lock.write(&dir.join(super::lock::LOCK_FILE))?;
    let mut images = lock.images.join("\n");
    images.push('\n');
    std::fs::write(dir.join("images.txt"), images)?;
    report.files += 2;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_map_to_host_and_path_without_escaping_the_directory() {
        let d = Path::new("/b");
        assert_eq!(
            mirror_path(d, "https://h.io/a/b.yaml"),
            Some(PathBuf::from("/b/h.io/a/b.yaml"))
        );
        assert_eq!(mirror_path(d, "https://h.io/../../etc/passwd"), None);
        assert_eq!(mirror_path(d, "ftp://h/x"), None);
    }
}
