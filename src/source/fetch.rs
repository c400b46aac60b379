//! The downloader: the on-disk cache, limits and retries, reading through a mirror
//! (`mirror.rs`) when one is set.

use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use sha2::Digest;

use super::mirror::{Location, Mirror};
use super::{Artifact, SourceError, hex};

#[derive(Clone, Debug)]
pub struct FetchOptions {
    pub mirror: Option<Mirror>,
    pub cache_dir: PathBuf,
    /// The largest artifact accepted.
    pub max_size: u64,
    /// How long one download may take, retries excluded.
    pub timeout: Duration,
    /// Use cached copies of unpinned URLs; pinned ones are always served from the cache
    /// when their digest is there.
    pub reuse_unpinned: bool,
}

impl FetchOptions {
    pub fn new(cache_dir: PathBuf) -> FetchOptions {
        let max_size = std::env::var("LANDSCAPE_MAX_DOWNLOAD")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(512 * 1024 * 1024);
        FetchOptions {
            mirror: None,
            cache_dir,
            max_size,
            timeout: Duration::from_secs(180),
            reuse_unpinned: true,
        }
    }
}

/// Downloads and caches artifacts.
pub struct Fetcher {
    /// Refuses redirects from https to http: what comes back could not be trusted.
    client: reqwest::Client,
    /// Follows them: for artifacts pinned by a digest, which is checked whatever the path.
    pinned_client: reqwest::Client,
    opts: FetchOptions,
}

/// Follows up to five redirects; with `downgrade: false`, none from https to http.
fn redirects(downgrade: bool) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        match redirect_refusal(attempt.previous(), attempt.url(), downgrade) {
            Some(why) => attempt.error(why),
            None => attempt.follow(),
        }
    })
}

/// Why a redirect to `next`, after `previous` (the first request included), is not
/// followed — or None when it is.
fn redirect_refusal(
    previous: &[reqwest::Url],
    next: &reqwest::Url,
    downgrade: bool,
) -> Option<&'static str> {
    let from_https = previous.iter().any(|u| u.scheme() == "https");
    if previous.len() > 5 {
        Some("more than 5 redirects")
    } else if !downgrade && from_https && next.scheme() != "https" {
        Some("redirected from https to plain http (pin the artifact with sha256 to allow it)")
    } else {
        None
    }
}

/// A failed attempt, and whether trying again could help.
struct Attempt {
    error: SourceError,
    transient: bool,
}

impl Attempt {
    /// A download that broke off (the connection, the stream, writing the cache).
    fn failed(url: &str, from: &str, message: String, transient: bool) -> Attempt {
        Attempt {
            error: SourceError::Download {
                url: url.to_string(),
                fetched_from: from.to_string(),
                message,
            },
            transient,
        }
    }

    /// An artifact over the size limit: trying again would bring the same bytes.
    fn too_large(url: &str, limit: u64) -> Attempt {
        Attempt {
            error: SourceError::TooLarge {
                url: url.to_string(),
                limit,
            },
            transient: false,
        }
    }

    /// The cache folder cannot be written: a local problem no retry fixes.
    fn cache(dir: &Path, e: &std::io::Error) -> Attempt {
        Attempt {
            error: SourceError::Cache {
                path: dir.to_path_buf(),
                message: e.to_string(),
            },
            transient: false,
        }
    }
}

impl Fetcher {
    pub fn new(opts: FetchOptions) -> Result<Fetcher, SourceError> {
        let client = |downgrade: bool| {
            reqwest::Client::builder()
                .user_agent(concat!("landscape/", env!("CARGO_PKG_VERSION")))
                .redirect(redirects(downgrade))
                .connect_timeout(Duration::from_secs(15))
                .timeout(opts.timeout)
                .build()
                .map_err(|e| SourceError::Download {
                    url: String::new(),
                    fetched_from: String::new(),
                    message: format!("cannot set up the HTTP client: {e}"),
                })
        };
        Ok(Fetcher {
            client: client(false)?,
            pinned_client: client(true)?,
            opts,
        })
    }

    pub fn mirror(&self) -> Option<&Mirror> {
        self.opts.mirror.as_ref()
    }

    /// The largest artifact accepted.
    pub fn max_size(&self) -> u64 {
        self.opts.max_size
    }

    fn objects_dir(&self) -> PathBuf {
        self.opts.cache_dir.join("artifacts")
    }

    fn index_path(&self, url: &str) -> PathBuf {
        self.opts
            .cache_dir
            .join("urls")
            .join(super::sha256_hex(url.as_bytes()))
    }

    /// The artifact at `url`, verified against `pin` when given.
    pub async fn fetch(&self, url: &str, pin: Option<&str>) -> Result<Artifact, SourceError> {
        self.fetch_with(url, pin, true).await
    }

    /// Like [`Fetcher::fetch`] for an unpinned URL, but never from the cache: for files that
    /// change upstream (a chart repository's index).
    pub async fn fetch_fresh(&self, url: &str) -> Result<Artifact, SourceError> {
        self.fetch_with(url, None, false).await
    }

    async fn fetch_with(
        &self,
        url: &str,
        pin: Option<&str>,
        use_cache: bool,
    ) -> Result<Artifact, SourceError> {
        let location = match &self.opts.mirror {
            Some(m) => m.locate(url).ok_or_else(|| SourceError::Invalid {
                url: url.to_string(),
                message: "only http(s) URLs without `..` or empty path segments can be mirrored"
                    .into(),
            })?,
            None => Location::Http(url.to_string()),
        };
        if let Location::File(path) = &location {
            return self.read_local(url, path, pin);
        }
        if let Some(hit) = self.cached(url, pin, use_cache) {
            return Ok(hit);
        }
        let Location::Http(from) = location else {
            unreachable!()
        };
        let attempt = || self.download(url, &from, pin.is_some());
        let (sha, size, path) = attempt
            .retry(
                ExponentialBuilder::default()
                    .with_min_delay(Duration::from_millis(300))
                    .with_max_delay(Duration::from_secs(5))
                    .with_max_times(4)
                    .with_jitter(),
            )
            .when(|a: &Attempt| a.transient)
            .notify(|a: &Attempt, wait| tracing::warn!("{}; retrying in {:?}", a.error, wait))
            .await
            .map_err(|a| a.error)?;
        verify(url, pin, &sha)?;
        self.record(url, &sha);
        Ok(Artifact {
            url: url.to_string(),
            fetched_from: from,
            sha256: sha,
            size,
            path,
        })
    }

    fn cached(&self, url: &str, pin: Option<&str>, use_cache: bool) -> Option<Artifact> {
        let sha = match pin {
            Some(p) => p.to_string(),
            None if use_cache && self.opts.reuse_unpinned => {
                std::fs::read_to_string(self.index_path(url))
                    .ok()?
                    .trim()
                    .to_string()
            }
            None => return None,
        };
        // Digests come from indexes and locks, files from disk: neither is trusted to be a
        // plain file name, or to be unchanged since it was written.
        if !super::is_sha256(&sha) {
            return None;
        }
        let path = self.objects_dir().join(&sha);
        let bytes = std::fs::read(&path).ok()?;
        if super::sha256_hex(&bytes) != sha {
            return None;
        }
        let size = bytes.len() as u64;
        Some(Artifact {
            url: url.to_string(),
            fetched_from: format!("cache {}", path.display()),
            sha256: sha,
            size,
            path,
        })
    }

    fn record(&self, url: &str, sha: &str) {
        let index = self.index_path(url);
        if let Some(dir) = index.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = std::fs::write(index, sha);
    }

    fn read_local(
        &self,
        url: &str,
        path: &Path,
        pin: Option<&str>,
    ) -> Result<Artifact, SourceError> {
        let from = path.display().to_string();
        let data = crate::files::read_bytes(path, self.opts.max_size).map_err(|e| match e {
            crate::files::ReadError::TooLarge(limit) => SourceError::TooLarge {
                url: url.to_string(),
                limit,
            },
            other => SourceError::Download {
                url: url.to_string(),
                fetched_from: from.clone(),
                message: other.to_string(),
            },
        })?;
        let sha = super::sha256_hex(&data);
        verify(url, pin, &sha)?;
        Ok(Artifact {
            url: url.to_string(),
            fetched_from: from,
            sha256: sha,
            size: data.len() as u64,
            path: path.to_path_buf(),
        })
    }

    /// One download attempt: streams into a temporary file while hashing, then moves it to
    /// its content address.
    async fn download(
        &self,
        url: &str,
        from: &str,
        pinned: bool,
    ) -> Result<(String, u64, PathBuf), Attempt> {
        let fail = |message: String| Attempt::failed(url, from, message, false);
        let resp = self.request(url, from, pinned).await?;
        let announced = resp.content_length();
        let dir = self.objects_dir();
        std::fs::create_dir_all(&dir).map_err(|e| Attempt::cache(&dir, &e))?;
        let tmp = tempfile::NamedTempFile::new_in(&dir).map_err(|e| Attempt::cache(&dir, &e))?;
        let (file, sha, size) = self.stream_into(resp, tmp, url, from).await?;
        if let Some(expected) = announced
            && expected != size
        {
            return Err(Attempt::failed(
                url,
                from,
                format!("truncated: got {size} of {expected} bytes"),
                true,
            ));
        }
        let tmp = file
            .into_inner()
            .map_err(|e| fail(format!("writing the cache: {e}")))?;
        let path = dir.join(&sha);
        tmp.persist(&path)
            .map_err(|e| fail(format!("writing the cache: {e}")))?;
        Ok((sha, size, path))
    }

    /// Sends the request and checks the answer before anything is written: a status other
    /// than success, or an announced size over the limit, ends the attempt.
    async fn request(
        &self,
        url: &str,
        from: &str,
        pinned: bool,
    ) -> Result<reqwest::Response, Attempt> {
        let client = if pinned {
            &self.pinned_client
        } else {
            &self.client
        };
        let resp = client.get(from).send().await.map_err(|e| {
            let transient =
                (e.is_timeout() || e.is_connect() || e.is_request()) && !e.is_redirect();
            Attempt::failed(url, from, describe_reqwest(&e), transient)
        })?;
        let status = resp.status();
        if !status.is_success() {
            return Err(Attempt {
                error: SourceError::Status {
                    url: url.to_string(),
                    fetched_from: from.to_string(),
                    status: status.as_u16(),
                },
                transient: status.is_server_error() || status.as_u16() == 429,
            });
        }
        if resp
            .content_length()
            .is_some_and(|n| n > self.opts.max_size)
        {
            return Err(Attempt::too_large(url, self.opts.max_size));
        }
        Ok(resp)
    }

    /// Streams the body into `tmp`, hashing as it goes and stopping at the size limit (a
    /// server may send more than it announced). Returns the still-buffered file, the
    /// digest and the size.
    async fn stream_into(
        &self,
        mut resp: reqwest::Response,
        tmp: tempfile::NamedTempFile,
        url: &str,
        from: &str,
    ) -> Result<(BufWriter<tempfile::NamedTempFile>, String, u64), Attempt> {
        let limit = self.opts.max_size;
        let mut file = BufWriter::new(tmp);
        let mut hasher = sha2::Sha256::new();
        let mut size: u64 = 0;
        loop {
            let chunk = resp
                .chunk()
                .await
                .map_err(|e| Attempt::failed(url, from, describe_reqwest(&e), true))?;
            let Some(chunk) = chunk else { break };
            size += chunk.len() as u64;
            if size > limit {
                return Err(Attempt::too_large(url, limit));
            }
            hasher.update(&chunk);
            std::io::Write::write_all(&mut file, &chunk).map_err(|e| {
                Attempt::failed(url, from, format!("writing the cache: {e}"), false)
            })?;
        }
        Ok((file, hex(&hasher.finalize()), size))
    }
}

fn verify(url: &str, pin: Option<&str>, actual: &str) -> Result<(), SourceError> {
    match pin {
        Some(expected) if !expected.eq_ignore_ascii_case(actual) => Err(SourceError::Checksum {
            url: url.to_string(),
            expected: expected.to_string(),
            actual: actual.to_string(),
        }),
        _ => Ok(()),
    }
}

/// reqwest's errors nest their cause; show the innermost message, which names the problem
/// ("connection refused", "certificate is not valid"…).
fn describe_reqwest(e: &reqwest::Error) -> String {
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg = s.to_string();
        source = s.source();
    }
    if e.is_timeout() {
        format!("timed out ({msg})")
    } else {
        msg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_never_downgrade_unless_the_artifact_is_pinned() {
        let url = |s: &str| reqwest::Url::parse(s).unwrap();
        let https = [url("https://example.com/a.yaml")];
        let refusal = redirect_refusal(&https, &url("http://example.com/a.yaml"), false);
        assert!(refusal.is_some_and(|r| r.contains("plain http")));
        // Any https hop earlier in the chain counts, not only the last one.
        let chain = [url("https://example.com/a"), url("https://cdn.example/b")];
        assert!(redirect_refusal(&chain, &url("http://cdn.example/c"), false).is_some());
        assert_eq!(
            redirect_refusal(&https, &url("http://example.com/a"), true),
            None
        );
        assert_eq!(
            redirect_refusal(&https, &url("https://cdn.example/a"), false),
            None
        );
        // A mirror the operator gave over http may redirect within http.
        let http = [url("http://mirror.local/a")];
        assert_eq!(
            redirect_refusal(&http, &url("http://mirror.local/b"), false),
            None
        );
        let six: Vec<_> = (0..6)
            .map(|i| url(&format!("https://example.com/{i}")))
            .collect();
        assert_eq!(
            redirect_refusal(&six, &url("https://example.com/7"), true),
            Some("more than 5 redirects")
        );
    }

    #[tokio::test]
    async fn directory_mirrors_verify_pins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("example.com")).unwrap();
        std::fs::write(dir.path().join("example.com/m.yaml"), "a: 1\n").unwrap();
        let mut opts = FetchOptions::new(dir.path().join("cache"));
        opts.mirror = Some(Mirror::Dir(dir.path().to_path_buf()));
        let f = Fetcher::new(opts).unwrap();
        let ok = f.fetch("https://example.com/m.yaml", None).await.unwrap();
        assert_eq!(ok.sha256, super::super::sha256_hex(b"a: 1\n"));
        let bad = f
            .fetch("https://example.com/m.yaml", Some(&"0".repeat(64)))
            .await
            .unwrap_err();
        assert!(matches!(bad, SourceError::Checksum { .. }));
        let missing = f
            .fetch("https://example.com/nope.yaml", None)
            .await
            .unwrap_err();
        assert_eq!(missing.exit_code(), crate::ExitCode::Artifact);
    }
}
