//! Getting artifacts: upstream manifests (and chart archives) by URL, through a mirror
//! when one is set, cached on disk, verified against pinned digests.
//!
//! Downloads are bounded — size, time, redirects — and TLS is always verified. Whatever
//! goes wrong here is an artifact error (exit code 5), never a crash.

mod fetch;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use futures::{StreamExt, TryStreamExt};

pub use fetch::{FetchOptions, Fetcher, Mirror};

use crate::stack::{Source, Stack};

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

/// Every artifact a stack needs, by upstream URL.
#[derive(Clone, Debug, Default)]
pub struct Artifacts {
    files: BTreeMap<String, Artifact>,
}

impl Artifacts {
    pub fn manifest(&self, url: &str) -> Option<&Artifact> {
        self.files.get(url)
    }

    pub fn insert(&mut self, artifact: Artifact) {
        self.files.insert(artifact.url.clone(), artifact);
    }

    pub fn iter(&self) -> impl Iterator<Item = &Artifact> {
        self.files.values()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("download of {url} failed{}: {message} (hint: check the URL and the network, or set --mirror)", via(.url, .fetched_from))]
    Download {
        url: String,
        fetched_from: String,
        message: String,
    },
    #[error("download of {url} failed{}: HTTP {status} (hint: check the URL and the version; a mirror must hold the file at HOST/PATH)", via(.url, .fetched_from))]
    Status {
        url: String,
        fetched_from: String,
        status: u16,
    },
    #[error(
        "{url}: sha256 mismatch: expected {expected}, got {actual} (hint: the artifact changed upstream or in the mirror; do not install it unless you trust the new content)"
    )]
    Checksum {
        url: String,
        expected: String,
        actual: String,
    },
    #[error(
        "{url}: larger than the limit of {limit} bytes (hint: raise LANDSCAPE_MAX_DOWNLOAD if the artifact is genuine)"
    )]
    TooLarge { url: String, limit: u64 },
    #[error("{url}: {message}")]
    Invalid { url: String, message: String },
    #[error("cannot use the download cache at {path}: {message}")]
    Cache { path: PathBuf, message: String },
    #[error("invalid mirror `{mirror}`: {message}")]
    Mirror { mirror: String, message: String },
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
        format!(" (from {fetched_from})")
    }
}

/// How many downloads run at once.
const PARALLEL_DOWNLOADS: usize = 8;

/// Fetches every URL source of the stack, concurrently.
pub async fn fetch_stack(stack: &Stack, fetcher: &Fetcher) -> Result<Artifacts, SourceError> {
    let mut wanted: BTreeMap<&str, Option<&str>> = BTreeMap::new();
    for c in &stack.components {
        for s in &c.sources {
            if let Source::Url { url, sha256, .. } = s {
                wanted.insert(url, sha256.as_deref());
            }
        }
    }
    let fetched: Vec<Artifact> = futures::stream::iter(wanted)
        .map(|(url, pin)| fetcher.fetch(url, pin))
        .buffer_unordered(PARALLEL_DOWNLOADS)
        .try_collect()
        .await?;
    let mut artifacts = Artifacts::default();
    for a in fetched {
        artifacts.insert(a);
    }
    Ok(artifacts)
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

pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(data))
}
