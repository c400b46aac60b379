//! Getting artifacts: upstream manifests (and chart archives) by URL, through a mirror
//! when one is set, cached on disk, verified against pinned digests.
//!
//! Downloads are bounded — size, time, redirects — and TLS is always verified. Whatever
//! goes wrong here is an artifact error (exit code 5), never a crash.

pub mod bundle;
pub mod chart;
mod fetch;
pub mod lock;
mod mirror;
pub mod registry;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use futures::{StreamExt, TryStreamExt};

pub use chart::{ChartArtifact, ChartRef};
pub use fetch::{FetchOptions, Fetcher};
pub use lock::{Lock, lock_path};
pub use mirror::Mirror;

/// A downloaded (or mirrored) file, verified and on disk.
#[derive(Clone, Debug, PartialEq)]
pub struct Artifact {
    /// The upstream URL (what stack files and the lock name).
    pub url: String,
    /// Where it was actually read from (a mirror URL or path, or the URL itself).
    pub fetched_from: String,
    pub sha256: String,
    pub size: u64,
    /// The verified content on disk.
    pub path: PathBuf,
}

impl Artifact {
    pub fn read(&self) -> std::io::Result<Vec<u8>> {
        std::fs::read(&self.path)
    }
}

/// Every artifact a stack needs: manifests by upstream URL, charts by repository, name
/// and version.
#[derive(Clone, Debug, Default)]
pub struct Artifacts {
    files: BTreeMap<String, Artifact>,
    charts: BTreeMap<ChartRef, ChartArtifact>,
}

impl Artifacts {
    pub fn manifest(&self, url: &str) -> Option<&Artifact> {
        self.files.get(url)
    }

    pub fn chart(&self, chart: &ChartRef) -> Option<&ChartArtifact> {
        self.charts.get(chart)
    }

    pub fn manifests(&self) -> impl Iterator<Item = &Artifact> {
        self.files.values()
    }

    pub fn charts(&self) -> impl Iterator<Item = &ChartArtifact> {
        self.charts.values()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("download of {} failed{}: {} (hint: check the URL and the network, or set --mirror)", clean(.url), via(.url, .fetched_from), clean(.message))]
    Download {
        url: String,
        fetched_from: String,
        message: String,
    },
    #[error("download of {} failed{}: HTTP {status} (hint: check the URL and the version; a mirror must hold the file at HOST/PATH)", clean(.url), via(.url, .fetched_from))]
    Status {
        url: String,
        fetched_from: String,
        status: u16,
    },
    #[error(
        "{}: sha256 mismatch: expected {expected}, got {actual} (hint: the artifact changed upstream or in the mirror; do not install it unless you trust the new content)", clean(.url)
    )]
    Checksum {
        url: String,
        expected: String,
        actual: String,
    },
    #[error(
        "{}: larger than the limit of {limit} bytes (hint: raise LANDSCAPE_MAX_DOWNLOAD if the artifact is genuine)", clean(.url)
    )]
    TooLarge { url: String, limit: u64 },
    #[error("{}: {message}", clean(.url))]
    Invalid { url: String, message: String },
    #[error("cannot use the download cache at {path}: {message}")]
    Cache { path: PathBuf, message: String },
    #[error("invalid mirror `{}`: {message}", clean(.mirror))]
    Mirror { mirror: String, message: String },
    #[error("{} is not in the lock {} (hint: run `landscape lock` to add it, and review the change)", clean(.url), .lock.display())]
    NotLocked { url: String, lock: PathBuf },
    #[error("{path}: {message}", path = .path.display())]
    Lock { path: PathBuf, message: String },
}

impl SourceError {
    pub fn exit_code(&self) -> crate::ExitCode {
        match self {
            SourceError::Mirror { .. } => crate::ExitCode::InvalidInput,
            _ => crate::ExitCode::Artifact,
        }
    }
}

fn via(url: &str, fetched_from: &str) -> String {
    if url == fetched_from {
        String::new()
    } else {
        format!(" (from {})", clean(fetched_from))
    }
}

/// A URL (or a message quoting URLs) as it may be printed: without credentials.
fn clean(text: &str) -> String {
    text.split(' ')
        .map(crate::report::redact::strip_userinfo)
        .collect::<Vec<_>>()
        .join(" ")
}

/// How many downloads run at once.
const PARALLEL_DOWNLOADS: usize = 8;

/// The lock an operation must respect (`--locked`), and where it was read from.
pub struct Locked<'a> {
    pub lock: &'a Lock,
    pub path: &'a Path,
}

/// What a stack needs fetched: manifests by URL (with the digest the stack pins, if any)
/// and charts.
#[derive(Clone, Debug, Default)]
pub struct Wanted {
    pub manifests: BTreeMap<String, Option<String>>,
    pub charts: std::collections::BTreeSet<ChartRef>,
}

/// Fetches every manifest and chart, concurrently. With a lock, every artifact must be in
/// it and match its digest; charts are then fetched from the locked URL without
/// consulting the repository index.
pub async fn fetch_all(
    wanted: &Wanted,
    fetcher: &Fetcher,
    locked: Option<&Locked<'_>>,
) -> Result<Artifacts, SourceError> {
    let mut urls: Vec<(&str, Option<String>)> = Vec::new();
    for (url, sha256) in &wanted.manifests {
        let pin = match locked {
            None => sha256.clone(),
            Some(l) => Some(
                l.lock
                    .pinned_digest(url, sha256.as_deref(), l.path)?
                    .to_string(),
            ),
        };
        urls.push((url, pin));
    }
    let files: Vec<Artifact> = futures::stream::iter(urls)
        .map(|(url, pin)| async move { fetcher.fetch(url, pin.as_deref()).await })
        .buffer_unordered(PARALLEL_DOWNLOADS)
        .try_collect()
        .await?;
    let resolved: Vec<ChartArtifact> = futures::stream::iter(&wanted.charts)
        .map(|chart| async move {
            match locked {
                Some(l) => {
                    let entry = l
                        .lock
                        .chart(&chart.repository, &chart.name, &chart.version)
                        .ok_or_else(|| SourceError::NotLocked {
                            url: chart.to_string(),
                            lock: l.path.to_path_buf(),
                        })?;
                    chart::download(fetcher, chart, &entry.url, Some(&entry.digest)).await
                }
                None => {
                    let (url, digest) = chart::locate(fetcher, chart).await?;
                    chart::download(fetcher, chart, &url, digest.as_deref()).await
                }
            }
        })
        .buffer_unordered(PARALLEL_DOWNLOADS)
        .try_collect()
        .await?;
    Ok(Artifacts {
        files: files.into_iter().map(|a| (a.url.clone(), a)).collect(),
        charts: resolved
            .into_iter()
            .map(|c| (ChartRef::new(&c.repository, &c.name, &c.version), c))
            .collect(),
    })
}

/// The default cache directory: `LANDSCAPE_CACHE_DIR`, else the XDG cache, else ~/.cache.
pub fn default_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("LANDSCAPE_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return Path::new(&dir).join("landscape");
    }
    match std::env::var_os("HOME") {
        Some(home) => Path::new(&home).join(".cache").join("landscape"),
        None => std::env::temp_dir().join("landscape-cache"),
    }
}

/// Lowercase hex of a sha256 digest.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `text` is a sha256 digest in hex: 64 lowercase hex digits.
pub fn is_sha256(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(data))
}
