//! Mirrors: where artifacts are read from instead of their upstream URLs (an HTTP server,
//! or a directory such as a bundle), and how an upstream URL maps into one.

use std::path::PathBuf;

use super::SourceError;

/// Where artifacts are read from instead of their upstream URLs. An artifact
/// `https://HOST/PATH` lives at `<mirror>/HOST/PATH`.
#[derive(Clone, Debug, PartialEq)]
pub enum Mirror {
    /// An HTTP(S) server.
    Http(String),
    /// A directory (a bundle written by `landscape bundle`, or a copy of one).
    Dir(PathBuf),
}

impl Mirror {
    /// `http(s)://…`, `file:///DIR` or a plain path.
    pub fn parse(text: &str) -> Result<Mirror, SourceError> {
        let err = |message: &str| SourceError::Mirror {
            mirror: text.to_string(),
            message: message.to_string(),
        };
        if text.is_empty() {
            return Err(err("empty"));
        }
        if text.starts_with("http://") || text.starts_with("https://") {
            return Ok(Mirror::Http(text.trim_end_matches('/').to_string()));
        }
        let path = match text.strip_prefix("file://") {
            Some(p) if p.starts_with('/') => PathBuf::from(p),
            Some(_) => return Err(err("a file URL needs an absolute path (file:///DIR)")),
            None if text.contains("://") => {
                return Err(err(
                    "use an http(s):// URL, file:///DIR or a directory path",
                ));
            }
            None => PathBuf::from(text),
        };
        if !path.is_dir() {
            return Err(err("no such directory"));
        }
        Ok(Mirror::Dir(path))
    }

    /// Where the mirror holds `url`: an URL for HTTP mirrors, a path for directories (never
    /// outside the directory: a URL with `..` or an empty segment has no place there).
    pub fn locate(&self, url: &str) -> Option<Location> {
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))?;
        Some(match self {
            Mirror::Http(base) => Location::Http(format!("{base}/{rest}")),
            Mirror::Dir(dir) => Location::File(super::bundle::mirror_path(dir, url)?),
        })
    }

    pub fn describe(&self) -> String {
        match self {
            Mirror::Http(u) => u.clone(),
            Mirror::Dir(p) => p.display().to_string(),
        }
    }
}

/// Where one artifact will be read from.
#[derive(Clone, Debug, PartialEq)]
pub enum Location {
    Http(String),
    File(PathBuf),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirrors_map_urls_to_host_and_path() {
        let m = Mirror::parse("http://127.0.0.1:8080/").unwrap();
        assert_eq!(
            m.locate("https://github.com/a/b/releases/download/v1/x.yaml"),
            Some(Location::Http(
                "http://127.0.0.1:8080/github.com/a/b/releases/download/v1/x.yaml".into()
            ))
        );
        let dir = tempfile::tempdir().unwrap();
        let m = Mirror::parse(&format!("file://{}", dir.path().display())).unwrap();
        assert_eq!(m.locate("https://h/../../etc/passwd"), None);
        assert_eq!(m.locate("https:///etc/passwd"), None);
        assert_eq!(
            m.locate("https://h/p"),
            Some(Location::File(dir.path().join("h/p")))
        );
        assert!(Mirror::parse("file://relative").is_err());
        assert!(Mirror::parse("ftp://x").is_err());
        assert!(Mirror::parse("/definitely/not/here").is_err());
    }
}
