//! Helm charts as artifacts: found through their repository's index.yaml, downloaded (via
//! the mirror when set) and verified against the index's digest.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Artifact, Fetcher, SourceError};

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

/// Identifies a chart: its repository (the folder holding index.yaml, without a trailing
/// slash), name and version.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChartRef {
    pub repository: String,
    pub name: String,
    pub version: String,
}

impl ChartRef {
    pub fn new(repository: &str, name: &str, version: &str) -> ChartRef {
        ChartRef {
            repository: repository.trim_end_matches('/').to_string(),
            name: name.to_string(),
            version: version.to_string(),
        }
    }
}

impl std::fmt::Display for ChartRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "chart {} {} from {}",
            self.name, self.version, self.repository
        )
    }
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
    spec: &ChartRef,
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
    spec: &ChartRef,
    url: &str,
    digest: Option<&str>,
) -> Result<ChartArtifact, SourceError> {
    let archive = fetcher.fetch(url, digest).await?;
    let bytes = std::fs::read(&archive.path).unwrap_or_default();
    if let Err(message) = check_archive(&bytes) {
        return Err(SourceError::Invalid {
            url: url.to_string(),
            message,
        });
    }
    Ok(ChartArtifact {
        repository: spec.repository.clone(),
        name: spec.name.clone(),
        version: spec.version.clone(),
        url: url.to_string(),
        digest: digest
            .map(str::to_string)
            .unwrap_or_else(|| archive.sha256.clone()),
        archive,
    })
}

/// Checks that `bytes` is a whole gzip-compressed tar archive. A repository without digests
/// in its index gives no other way to notice a truncated or substituted download, and helm
/// would otherwise fail later with a message that names neither the URL nor the cause.
fn check_archive(bytes: &[u8]) -> Result<(), String> {
    use std::io::Read;
    if bytes.get(..2) != Some(&[0x1f, 0x8b][..]) {
        return Err(
            "not a chart archive (expected a gzip file; got an error page, or a truncated download?)"
                .into(),
        );
    }
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut tar)
        .map_err(|e| format!("the chart archive is damaged or truncated ({e})"))?;
    // A tar header's magic sits at offset 257: "ustar".
    if tar.get(257..262) != Some(&b"ustar"[..]) {
        return Err("the chart archive is gzip-compressed but not a tar archive".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn damaged_chart_archives_are_refused() {
        let mut header = vec![0u8; 512];
        header[..8].copy_from_slice(b"x/Chart.");
        header[257..262].copy_from_slice(b"ustar");
        let mut tar = header.clone();
        tar.extend(vec![0u8; 4096]);
        let whole = gzip(&tar);
        assert_eq!(check_archive(&whole), Ok(()));
        let truncated = &whole[..whole.len() - 10];
        assert!(check_archive(truncated).unwrap_err().contains("truncated"));
        assert!(
            check_archive(b"<html>")
                .unwrap_err()
                .contains("not a chart archive")
        );
        assert!(
            check_archive(&gzip(b"just text"))
                .unwrap_err()
                .contains("not a tar")
        );
    }

    #[test]
    fn relative_chart_urls_resolve_against_the_repository() {
        assert_eq!(
            absolute("https://charts.example/stable/", "x-1.0.tgz"),
            "https://charts.example/stable/x-1.0.tgz"
        );
        assert_eq!(absolute("https://a", "https://b/x.tgz"), "https://b/x.tgz");
    }
}
