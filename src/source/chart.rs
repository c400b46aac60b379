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
    /// The Kubernetes versions the chart declares it runs on (its Chart.yaml `kubeVersion`,
    /// a Helm semver range): `helm template` refuses any other, so landscape checks it
    /// first and says which component and cluster version clash.
    pub kube_version: Option<String>,
    /// Whether any of its templates asks what the cluster serves
    /// (`.Capabilities.APIVersions`): a chart that does not renders the same whatever the
    /// API versions, so it is rendered once, not again for the stack's own CRDs.
    pub uses_api_versions: bool,
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
    let bytes = crate::files::read_bytes(&archive.path, fetcher.max_size()).unwrap_or_default();
    let facts = check_archive(&bytes, &spec.name).map_err(|message| SourceError::Invalid {
        url: url.to_string(),
        message,
    })?;
    Ok(ChartArtifact {
        repository: spec.repository.clone(),
        name: spec.name.clone(),
        version: spec.version.clone(),
        url: url.to_string(),
        digest: digest
            .map(str::to_string)
            .unwrap_or_else(|| archive.sha256.clone()),
        archive,
        kube_version: facts.kube_version,
        uses_api_versions: facts.uses_api_versions,
    })
}

/// What landscape reads from a chart's own Chart.yaml.
#[derive(Debug, Default, PartialEq)]
struct ChartFacts {
    kube_version: Option<String>,
    uses_api_versions: bool,
}

/// The Chart.yaml fields landscape needs; everything else is helm's business.
#[derive(Deserialize)]
struct ChartYaml {
    #[serde(default, rename = "kubeVersion")]
    kube_version: Option<String>,
}

/// A Chart.yaml is a few kilobytes; more is not one.
const MAX_CHART_YAML: u64 = 1024 * 1024;

/// The most a chart archive may inflate to, and by how much: a chart is kilobytes of
/// text, while a gzip bomb turns a small download into gigabytes.
const MAX_INFLATED: u64 = 256 * 1024 * 1024;
const MAX_RATIO: u64 = 200;

/// Checks that `bytes` is a whole gzip-compressed tar archive of one chart: inflated within
/// bounds, every entry a plain file or folder under the chart's own folder (no absolute
/// paths, no `..`, no links or devices), with a `Chart.yaml` that names the chart. A
/// repository without digests in its index gives no other way to notice a truncated or
/// substituted download, and helm must never be handed an archive crafted against it.
fn check_archive(bytes: &[u8], name: &str) -> Result<ChartFacts, String> {
    use std::io::Read;
    if bytes.get(..2) != Some(&[0x1f, 0x8b][..]) {
        return Err(
            "not a chart archive (expected a gzip file; got an error page, or a truncated download?)"
                .into(),
        );
    }
    let limit = MAX_INFLATED.min(
        (bytes.len() as u64)
            .saturating_mul(MAX_RATIO)
            .max(1024 * 1024),
    );
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(limit + 1)
        .read_to_end(&mut tar)
        .map_err(|e| format!("the chart archive is damaged or truncated ({e})"))?;
    if tar.len() as u64 > limit {
        return Err(format!(
            "the chart archive inflates to more than {limit} bytes (a chart is text; this looks like a decompression bomb)"
        ));
    }
    // A tar header's magic sits at offset 257: "ustar".
    if tar.get(257..262) != Some(&b"ustar"[..]) {
        return Err("the chart archive is gzip-compressed but not a tar archive".into());
    }
    check_entries(&tar, name)
}

/// Walks the tar headers (512-byte blocks: name at 0, size in octal at 124, type at 156,
/// the ustar prefix at 345).
fn check_entries(tar: &[u8], name: &str) -> Result<ChartFacts, String> {
    let mut at = 0usize;
    let mut chart_yaml: Option<&[u8]> = None;
    let mut uses_api_versions = false;
    let mut long_name: Option<String> = None;
    while at + 512 <= tar.len() {
        let header = &tar[at..at + 512];
        if header.iter().all(|b| *b == 0) {
            break;
        }
        let field = |from: usize, len: usize| {
            let raw = &header[from..from + len];
            let end = raw.iter().position(|b| *b == 0).unwrap_or(len);
            String::from_utf8_lossy(&raw[..end]).into_owned()
        };
        let size = u64::from_str_radix(field(124, 12).trim(), 8)
            .map_err(|_| "the chart archive has a damaged entry".to_string())?;
        let kind = header[156];
        let path = match long_name.take() {
            Some(long) => long,
            None if field(345, 155).is_empty() => field(0, 100),
            None => format!("{}/{}", field(345, 155), field(0, 100)),
        };
        let data = at + 512;
        let next = data + (size as usize).div_ceil(512) * 512;
        match kind {
            // GNU long name: the next entry's name is this entry's data.
            b'L' => {
                let raw = tar.get(data..data + size as usize).unwrap_or_default();
                long_name = Some(
                    String::from_utf8_lossy(raw)
                        .trim_end_matches('\0')
                        .to_string(),
                );
            }
            // Pax headers carry metadata only.
            b'x' | b'g' => {}
            b'0' | 0 | b'5' => {
                check_path(&path, name)?;
                if path == format!("{name}/Chart.yaml") && kind != b'5' {
                    if size > MAX_CHART_YAML {
                        return Err(format!(
                            "the chart's Chart.yaml is larger than {MAX_CHART_YAML} bytes"
                        ));
                    }
                    chart_yaml = tar.get(data..data + size as usize);
                }
                // A subchart packed as an archive hides its templates: assume it asks.
                let content = tar.get(data..data + size as usize).unwrap_or_default();
                uses_api_versions |= path.ends_with(".tgz")
                    || (path.contains("/templates/")
                        && content.windows(11).any(|w| w == b"APIVersions"));
            }
            other => {
                return Err(format!(
                    "the chart archive holds `{path}`, which is not a plain file or folder (type `{}`)",
                    other as char
                ));
            }
        }
        at = next;
    }
    let Some(chart_yaml) = chart_yaml else {
        return Err(format!("the chart archive has no {name}/Chart.yaml"));
    };
    let text = String::from_utf8_lossy(chart_yaml);
    let meta: ChartYaml = crate::yaml::from_str(&text)
        .map_err(|e| format!("the chart's Chart.yaml is not valid YAML ({e})"))?;
    Ok(ChartFacts {
        kube_version: meta
            .kube_version
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty()),
        uses_api_versions,
    })
}

fn check_path(path: &str, name: &str) -> Result<(), String> {
    let inside = path == name || path.starts_with(&format!("{name}/"));
    if path.starts_with('/') || path.split('/').any(|p| p == "..") || !inside {
        return Err(format!(
            "the chart archive holds `{path}`, outside the chart's folder `{name}/`"
        ));
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

    const CHART_YAML: &str = "apiVersion: v2\nname: x\nversion: 1.0.0\n";

    /// A tar archive of `(path, type, size)` entries with zero-filled data, but for a
    /// Chart.yaml, which holds [`CHART_YAML`].
    fn tar(entries: &[(&str, u8, usize)]) -> Vec<u8> {
        let with: Vec<(&str, u8, Vec<u8>)> = entries
            .iter()
            .map(|(path, kind, size)| {
                let data = if path.ends_with("Chart.yaml") {
                    CHART_YAML.as_bytes().to_vec()
                } else {
                    vec![0u8; *size]
                };
                (*path, *kind, data)
            })
            .collect();
        tar_of(&with)
    }

    fn tar_of(entries: &[(&str, u8, Vec<u8>)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (path, kind, data) in entries {
            let mut h = vec![0u8; 512];
            h[..path.len()].copy_from_slice(path.as_bytes());
            h[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
            h[156] = *kind;
            h[257..262].copy_from_slice(b"ustar");
            out.extend(h);
            let mut block = data.clone();
            block.resize(data.len().div_ceil(512) * 512, 0);
            out.extend(block);
        }
        out.extend(vec![0u8; 1024]);
        out
    }

    #[test]
    fn damaged_chart_archives_are_refused() {
        let whole = gzip(&tar(&[
            ("x/Chart.yaml", b'0', 10),
            ("x/templates/a.yaml", b'0', 3),
        ]));
        assert_eq!(check_archive(&whole, "x"), Ok(ChartFacts::default()));
        let truncated = &whole[..whole.len() - 10];
        assert!(
            check_archive(truncated, "x")
                .unwrap_err()
                .contains("truncated")
        );
        assert!(
            check_archive(b"<html>", "x")
                .unwrap_err()
                .contains("not a chart archive")
        );
        assert!(
            check_archive(&gzip(b"just text"), "x")
                .unwrap_err()
                .contains("not a tar")
        );
        assert!(check_archive(&whole, "y").unwrap_err().contains("outside"));
    }

    #[test]
    fn crafted_archives_are_refused() {
        let escape = gzip(&tar(&[
            ("x/Chart.yaml", b'0', 1),
            ("x/../../etc/passwd", b'0', 1),
        ]));
        assert!(check_archive(&escape, "x").unwrap_err().contains("outside"));
        let link = gzip(&tar(&[("x/Chart.yaml", b'0', 1), ("x/l", b'2', 0)]));
        assert!(
            check_archive(&link, "x")
                .unwrap_err()
                .contains("not a plain file")
        );
        let no_chart = gzip(&tar(&[("x/values.yaml", b'0', 1)]));
        assert!(
            check_archive(&no_chart, "x")
                .unwrap_err()
                .contains("Chart.yaml")
        );
        // A bomb: megabytes of zeros compress to almost nothing.
        let bomb = gzip(&tar(&[
            ("x/Chart.yaml", b'0', 1),
            ("x/big", b'0', 64 * 1024 * 1024),
        ]));
        assert!(bomb.len() < 200 * 1024);
        assert!(check_archive(&bomb, "x").unwrap_err().contains("bomb"));
    }

    #[test]
    fn the_charts_kubernetes_range_is_read_from_its_chart_yaml() {
        let chart = |yaml: &str| {
            gzip(&tar_of(&[
                ("x/Chart.yaml", b'0', yaml.as_bytes().to_vec()),
                ("x/values.yaml", b'0', vec![]),
            ]))
        };
        let facts = check_archive(
            &chart("apiVersion: v2\nname: x\nversion: 1.0.0\nkubeVersion: '>= 1.22.0-0'\n"),
            "x",
        )
        .unwrap();
        assert_eq!(facts.kube_version.as_deref(), Some(">= 1.22.0-0"));
        let none = check_archive(&chart(CHART_YAML), "x").unwrap();
        assert_eq!(none.kube_version, None);
        assert!(!none.uses_api_versions);
        let asks = gzip(&tar_of(&[
            ("x/Chart.yaml", b'0', CHART_YAML.as_bytes().to_vec()),
            (
                "x/templates/monitor.yaml",
                b'0',
                b"{{- if .Capabilities.APIVersions.Has \"monitoring.coreos.com/v1\" }}".to_vec(),
            ),
        ]));
        assert!(check_archive(&asks, "x").unwrap().uses_api_versions);
        assert!(
            check_archive(&chart("name: [x\n"), "x")
                .unwrap_err()
                .contains("Chart.yaml")
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
