//! Reading local files that come from users (stack files, values, templates, manifests, a
//! lock): only regular files, and never more than a limit. Such files arrive in pull
//! requests; a path to `/dev/zero`, a FIFO or a huge file must fail with a message, not
//! hang or exhaust memory.

use std::io::Read;
use std::path::Path;

/// The most a stack file, values file, template or lock may hold.
pub const INPUT_LIMIT: u64 = 16 * 1024 * 1024;
/// The most a manifest may hold (upstream release manifests run to a few megabytes).
pub const MANIFEST_LIMIT: u64 = 512 * 1024 * 1024;

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("not a regular file")]
    NotAFile,
    #[error("larger than the limit of {0} bytes")]
    TooLarge(u64),
    #[error("not UTF-8 text")]
    NotText,
}

/// Reads a regular file of at most `limit` bytes. The file is opened first and checked
/// through the open handle, so a symlink swapped for a device in between changes nothing;
/// the read itself stops past the limit whatever the file claims its size is.
pub fn read_bytes(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(ReadError::NotAFile);
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge(limit));
    }
    let mut data = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1).read_to_end(&mut data)?;
    if data.len() as u64 > limit {
        return Err(ReadError::TooLarge(limit));
    }
    Ok(data)
}

/// Reads a regular text file of at most `limit` bytes.
pub fn read_text(path: &Path, limit: u64) -> Result<String, ReadError> {
    String::from_utf8(read_bytes(path, limit)?).map_err(|_| ReadError::NotText)
}

/// Writes a file atomically: a temporary file beside it, renamed into place, so a reader
/// (or a run killed half-way) never sees half a file. `private` makes it readable by its
/// owner only.
pub fn write_atomic(path: &Path, data: &[u8], private: bool) -> std::io::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(data)?;
    tmp.as_file().sync_all()?;
    if !private {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_fifos_and_large_files_are_refused() {
        assert!(matches!(
            read_bytes(Path::new("/dev/zero"), 10),
            Err(ReadError::NotAFile)
        ));
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'a'; 100]).unwrap();
        assert!(matches!(read_bytes(&big, 10), Err(ReadError::TooLarge(10))));
        assert_eq!(read_bytes(&big, 100).unwrap().len(), 100);
        assert!(matches!(
            read_bytes(dir.path(), 10),
            Err(ReadError::NotAFile)
        ));
    }

    #[test]
    fn atomic_writes_replace_whole_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("lock");
        write_atomic(&p, b"one", false).unwrap();
        write_atomic(&p, b"two", false).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
    }
}
