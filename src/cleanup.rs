//! Temporary files to remove if the process has to exit at once (a second signal): the
//! files' own destructors do not run on `exit`, and a private values file left behind
//! could hold credentials.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

static TRACKED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Remembers a temporary file or directory.
pub fn track(path: &Path) {
    TRACKED.lock().expect("lock").push(path.to_path_buf());
}

/// Forgets one (it was removed, or persisted).
pub fn untrack(path: &Path) {
    TRACKED.lock().expect("lock").retain(|p| p != path);
}

/// Removes everything still tracked. Called just before an immediate exit.
pub fn remove_all() {
    let paths = std::mem::take(&mut *TRACKED.lock().unwrap_or_else(|e| e.into_inner()));
    for p in paths {
        if p.is_dir() {
            let _ = std::fs::remove_dir_all(&p);
        } else {
            let _ = std::fs::remove_file(&p);
        }
    }
}

/// A tracked temporary path, untracked when dropped (its owner removes it then).
pub struct Tracked(PathBuf);

impl Tracked {
    pub fn new(path: &Path) -> Tracked {
        track(path);
        Tracked(path.to_path_buf())
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        untrack(&self.0);
    }
}
