//! The render cache: a chart rendered with the same archive, values, capabilities and helm
//! is not rendered again, so a second command does not start helm at all.
//!
//! An entry records the archive digest it was rendered from and a digest of its own text,
//! and is used only when both still hold — under `--locked` the archive digest is the one
//! the lock pins, so a cache entry can never smuggle in a render of another chart. A render
//! that holds a Secret is never cached (its values would sit on disk in clear), and entries
//! expire.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How long an entry is used.
const LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

#[derive(Serialize, Deserialize)]
struct Entry {
    /// The sha256 of the chart archive rendered.
    archive: String,
    /// The sha256 of `text`.
    text_sha256: String,
    text: String,
}

/// Where the entry for `key` lives.
pub fn path(cache_dir: &Path, key: &str) -> PathBuf {
    cache_dir.join("renders").join(format!("{key}.json"))
}

/// The cached render, if there is one made from `archive` that is intact and fresh; a
/// stale or damaged entry is removed.
pub fn read(path: &Path, archive: &str) -> Option<String> {
    let fresh = std::fs::metadata(path)
        .ok()?
        .modified()
        .ok()?
        .elapsed()
        .is_ok_and(|age| age < LIFETIME);
    let entry = fresh
        .then(|| crate::files::read_bytes(path, 512 * 1024 * 1024).ok())
        .flatten()
        .and_then(|bytes| serde_json::from_slice::<Entry>(&bytes).ok())
        .filter(|e| e.archive == archive)
        .filter(|e| crate::source::sha256_hex(e.text.as_bytes()) == e.text_sha256);
    if entry.is_none() {
        let _ = std::fs::remove_file(path);
    }
    entry.map(|e| e.text)
}

/// Caches a render, unless it holds a Secret. Best effort: a render that cannot be cached
/// is rendered again next time.
pub fn write(path: &Path, archive: &str, text: &str) {
    if holds_secret(text) {
        return;
    }
    let entry = Entry {
        archive: archive.to_string(),
        text_sha256: crate::source::sha256_hex(text.as_bytes()),
        text: text.to_string(),
    };
    let Ok(data) = serde_json::to_vec(&entry) else {
        return;
    };
    if let Some(dir) = path.parent()
        && std::fs::create_dir_all(dir).is_ok()
    {
        let _ = crate::files::write_atomic(path, &data, true);
    }
}

/// Whether rendered text holds a Secret (or cannot be read well enough to tell).
fn holds_secret(text: &str) -> bool {
    match crate::yaml::from_str_multi::<Value>(text) {
        Ok(docs) => docs.iter().any(|d| {
            d.get("kind").and_then(Value::as_str) == Some("Secret")
                || d.get("items")
                    .and_then(Value::as_array)
                    .is_some_and(|items| {
                        items
                            .iter()
                            .any(|i| i.get("kind").and_then(Value::as_str) == Some("Secret"))
                    })
        }),
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_hold_for_their_archive_and_never_hold_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let p = path(dir.path(), "k");
        write(&p, "aaa", "kind: ConfigMap\nmetadata: {name: c}\n");
        assert!(read(&p, "aaa").is_some());
        assert!(read(&p, "bbb").is_none(), "another archive");
        assert!(!p.exists(), "the mismatching entry is gone");
        write(
            &p,
            "aaa",
            "kind: Secret\nmetadata: {name: s}\nstringData: {p: x}\n",
        );
        assert!(!p.exists(), "renders with Secrets are not cached");
        write(&p, "aaa", "kind: ConfigMap\n");
        let mut e: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        e["text"] = "kind: ConfigMap\ndata: {tampered: yes}\n".into();
        std::fs::write(&p, e.to_string()).unwrap();
        assert!(read(&p, "aaa").is_none(), "a changed text is refused");
    }
}
