//! `landscape.lock`: what exactly a stack installs — every downloaded artifact with its
//! digest, every chart archive with its digest, every container image the rendered objects
//! reference. With `--locked`, anything missing from the lock or different from it is
//! refused before anything is written.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::SourceError;

pub const LOCK_FILE: &str = "landscape.lock";
const LOCK_VERSION: u32 = 1;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    pub version: u32,
    pub stack: String,
    #[serde(default)]
    pub artifacts: Vec<LockedArtifact>,
    #[serde(default)]
    pub charts: Vec<LockedChart>,
    /// Every image the rendered objects reference, sorted; `ref@sha256:…` when the lock
    /// was made with `--resolve-images`.
    #[serde(default)]
    pub images: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedArtifact {
    pub url: String,
    /// The components that use it.
    pub components: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub sha256: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedChart {
    pub repository: String,
    pub name: String,
    pub version: String,
    /// Where the archive is downloaded from (resolved through the repository index).
    pub url: String,
    /// The archive's sha256.
    pub digest: String,
}

impl Lock {
    pub fn new(stack: &str) -> Lock {
        Lock {
            version: LOCK_VERSION,
            stack: stack.to_string(),
            ..Default::default()
        }
    }

    pub fn artifact(&self, url: &str) -> Option<&LockedArtifact> {
        self.artifacts.iter().find(|a| a.url == url)
    }

    /// The digest `--locked` holds a URL source to: the lock's, which must exist and agree
    /// with the digest the stack itself pins, if any. `path` names the lock in errors.
    pub fn pinned_digest(
        &self,
        url: &str,
        own: Option<&str>,
        path: &Path,
    ) -> Result<&str, SourceError> {
        let entry = self.artifact(url).ok_or_else(|| SourceError::NotLocked {
            url: url.to_string(),
            lock: path.to_path_buf(),
        })?;
        if let Some(own) = own
            && !own.eq_ignore_ascii_case(&entry.sha256)
        {
            return Err(SourceError::Checksum {
                url: url.to_string(),
                expected: own.to_string(),
                actual: format!("{} (in the lock)", entry.sha256),
            });
        }
        Ok(&entry.sha256)
    }

    /// The lock's entry for an image reference: the reference itself, or the reference
    /// resolved to a digest (`ref@sha256:…`).
    pub fn image(&self, reference: &str) -> Option<&str> {
        self.images
            .iter()
            .find(|i| {
                *i == reference
                    || i.strip_prefix(reference)
                        .is_some_and(|rest| rest.starts_with("@sha256:"))
            })
            .map(String::as_str)
    }

    pub fn chart(&self, repository: &str, name: &str, version: &str) -> Option<&LockedChart> {
        self.charts.iter().find(|c| {
            c.repository.trim_end_matches('/') == repository.trim_end_matches('/')
                && c.name == name
                && c.version == version
        })
    }

    pub fn read(path: &Path) -> Result<Lock, SourceError> {
        let text = crate::files::read_text(path, crate::files::INPUT_LIMIT).map_err(|e| {
            SourceError::Lock {
                path: path.to_path_buf(),
                message: match e {
                    crate::files::ReadError::Io(io)
                        if io.kind() == std::io::ErrorKind::NotFound =>
                    {
                        "not found (hint: create it with `landscape lock`)".into()
                    }
                    other => other.to_string(),
                },
            }
        })?;
        let lock: Lock = crate::yaml::from_str(&text).map_err(|e| SourceError::Lock {
            path: path.to_path_buf(),
            message: match e.position {
                Some(p) => format!("{p}: {}", e.message),
                None => e.message,
            },
        })?;
        if lock.version != LOCK_VERSION {
            return Err(SourceError::Lock {
                path: path.to_path_buf(),
                message: format!(
                    "lock version {} is not supported (this landscape writes {LOCK_VERSION})",
                    lock.version
                ),
            });
        }
        Ok(lock)
    }

    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let mut text = String::from(
            "# landscape.lock: the exact artifacts, charts and images of this stack.\n# Written by `landscape lock`; commit it, and use --locked in CI.\n",
        );
        text.push_str(&crate::yaml::to_string(self));
        // Atomically: a lock half-written by a killed run would fail every later `--locked`.
        crate::files::write_atomic(path, text.as_bytes(), false)
    }
}

/// Where the lock of a stack lives: beside its stack file, else in the working directory.
pub fn lock_path(stack_file: Option<&Path>, working_dir: &Path) -> PathBuf {
    match stack_file.and_then(Path::parent) {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(LOCK_FILE),
        _ => working_dir.join(LOCK_FILE),
    }
}
