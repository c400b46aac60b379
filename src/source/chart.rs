//! Helm charts as artifacts: found through their repository's index.yaml, downloaded (via
//! the mirror when set) and verified against the index's digest.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Artifact, Fetcher, SourceError};
use crate::stack::ChartSpec;

/// A chart archive, resolved and verified.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartArtifact {
    pub repository: String,
    pub name: String,
    pub version: String,
    /// The archive's upstream URL (from the index, made absolute).
    pub url: String,
    /// The sha256 the index (or the lock) promises for the archive.
    pub digest: String,
    pub archive: Artifact,
}

/// Identifies a chart: repository, name, version.
pub type ChartKey = (String, String, String);

pub fn key(spec: &ChartSpec) -> ChartKey {
    (
        spec.repository.trim_end_matches('/').to_string(),
        spec.name.clone(),
        spec.version.clone(),
    )
}

#[derive(Deserialize)]
struct Index {
    #[serde(default)]
    entries: BTreeMap<String, Vec<Entry>>,
}

#[derive(Deserialize)]
struct Entry {
    version: String,
    #[serde(default)]
    urls: Vec<String>,
    #[serde(default)]
    digest: Option<String>,
}

pub fn index_url(repository: &str) -> String {
    format!("{}/index.yaml", repository.trim_end_matches('/'))
}

/// Finds `spec` in its repository's index: the archive URL and its digest.
pub async fn locate(
    fetcher: &Fetcher,
    spec: &ChartSpec,
) -> Result<(String, Option<String>), SourceError> {
    let index = index_url(&spec.repository);
    // A cached index may predate the version asked for: look again with a fresh copy.
    for fresh in [false, true] {
        let artifact = if fresh {
            fetcher.fetch_fresh(&index).await?
        } else {
            fetcher.fetch(&index, None).await?
        };
        let text = std::fs::read_to_string(&artifact.path).map_err(|e| SourceError::Invalid {
            url: index.clone(),
            message: format!("not text: {e}"),
        })?;
        let parsed: Index = crate::yaml::from_str(&text).map_err(|e| SourceError::Invalid {
            url: index.clone(),
            message: format!("not a Helm repository index: {e}"),
        })?;
        let versions = parsed.entries.get(&spec.name);
        if let Some(entry) = versions.and_then(|v| v.iter().find(|e| e.version == spec.version)) {
            let url = entry.urls.first().ok_or_else(|| SourceError::Invalid {
                url: index.clone(),
                message: format!("chart {} {} has no download URL", spec.name, spec.version),
            })?;
            return Ok((absolute(&spec.repository, url), entry.digest.clone()));
        }
        if fresh {
            let known: Vec<&str> = versions
                .into_iter()
                .flatten()
                .map(|e| e.version.as_str())
                .take(10)
                .collect();
            return Err(SourceError::Invalid {
                url: index,
                message: if known.is_empty() {
                    format!("no chart named `{}` in this repository", spec.name)
                } else {
                    format!(
                        "chart `{}` has no version {} (it has {})",
                        spec.name,
                        spec.version,
                        known.join(", ")
                    )
                },
            });
        }
    }
    unreachable!("the second pass returns")
}

/// Index URLs may be relative to the repository.
fn absolute(repository: &str, url: &str) -> String {
    if url.contains("://") {
        url.to_string()
    } else {
        format!(
            "{}/{}",
            repository.trim_end_matches('/'),
            url.trim_start_matches('/')
        )
    }
}

/// Downloads and verifies a chart archive whose URL and digest are known.
pub async fn download(
    fetcher: &Fetcher,
    spec: &ChartSpec,
    url: &str,
    digest: Option<&str>,
) -> Result<ChartArtifact, SourceError> {
    let archive = fetcher.fetch(url, digest).await?;
    let head = std::fs::read(&archive.path)
        .map(|b| b.get(..2).map(<[u8]>::to_vec).unwrap_or_default())
        .unwrap_or_default();
    if head != [0x1f, 0x8b] {
        return Err(SourceError::Invalid {
            url: url.to_string(),
            message: "not a chart archive (expected a gzip file; got an error page, or a truncated download?)".into(),
        });
    }
    Ok(ChartArtifact {
        repository: spec.repository.trim_end_matches('/').to_string(),
        name: spec.name.clone(),
        version: spec.version.clone(),
        url: url.to_string(),
        digest: digest
            .map(str::to_string)
            .unwrap_or_else(|| archive.sha256.clone()),
        archive,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_chart_urls_resolve_against_the_repository() {
        assert_eq!(
            absolute("https://charts.example/stable/", "x-1.0.tgz"),
            "https://charts.example/stable/x-1.0.tgz"
        );
        assert_eq!(absolute("https://a", "https://b/x.tgz"), "https://b/x.tgz");
    }
}
