//! Resolving image tags to digests, for `landscape lock --resolve-images`: asks each image's
//! registry (the OCI distribution API) which manifest a tag points at now, so that the lock
//! — and `up --locked` after it — runs exactly that manifest, whatever the tag points at
//! later.
//!
//! Anonymous pulls only: registries answer a first request with `401` and a
//! `WWW-Authenticate: Bearer realm=…,service=…,scope=…` challenge; the token endpoint gives
//! a pull token for public images. Registries on `localhost` or `127.0.0.1` are asked over
//! plain http, as container runtimes do.

use std::time::Duration;

use crate::k8s::image::ImageRef;

/// What a manifest may be, newest first: the Accept header of the request.
const MANIFEST_TYPES: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

#[derive(Debug, thiserror::Error)]
#[error(
    "cannot resolve image {image}: {message} (hint: lock without --resolve-images where registries cannot be reached)"
)]
pub struct ResolveError {
    pub image: String,
    pub message: String,
}

/// Asks registries for digests.
pub struct Resolver {
    client: reqwest::Client,
}

impl Resolver {
    pub fn new() -> Result<Resolver, ResolveError> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("landscape/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(15))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| ResolveError {
                image: String::new(),
                message: e.to_string(),
            })?;
        Ok(Resolver { client })
    }

    /// The reference pinned to the digest its tag points at now: `ref@sha256:…`. A
    /// reference that already holds a digest is returned as it is.
    pub async fn resolve(&self, reference: &str) -> Result<String, ResolveError> {
        let fail = |message: String| ResolveError {
            image: reference.to_string(),
            message,
        };
        if reference.contains("@sha256:") {
            return Ok(reference.to_string());
        }
        let image =
            ImageRef::parse(reference).ok_or_else(|| fail("not an image reference".into()))?;
        let tag = image.suffix.strip_prefix(':').unwrap_or("latest");
        let url = format!(
            "{}/v2/{}/manifests/{tag}",
            registry_base(&image.registry),
            image.repository
        );
        let mut resp = self.head(&url, None).await.map_err(&fail)?;
        if resp.status() == reqwest::StatusCode::UNAUTHORIZED {
            let challenge = resp
                .headers()
                .get(reqwest::header::WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let token = self.token(&challenge).await.map_err(&fail)?;
            resp = self.head(&url, Some(&token)).await.map_err(&fail)?;
        }
        if !resp.status().is_success() {
            return Err(fail(format!("the registry answered {}", resp.status())));
        }
        let digest = resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .filter(|d| {
                d.strip_prefix("sha256:")
                    .is_some_and(crate::source::is_sha256)
            })
            .ok_or_else(|| fail("the registry gave no sha256 digest".into()))?;
        Ok(format!("{reference}@{digest}"))
    }

    async fn head(&self, url: &str, token: Option<&str>) -> Result<reqwest::Response, String> {
        let mut req = self
            .client
            .head(url)
            .header(reqwest::header::ACCEPT, MANIFEST_TYPES);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
            .await
            .map_err(|e| crate::report::redact::strip_userinfo(&e.to_string()))
    }

    /// An anonymous pull token from the realm a `WWW-Authenticate: Bearer` challenge names.
    async fn token(&self, challenge: &str) -> Result<String, String> {
        let params = bearer_params(challenge)
            .ok_or("the registry asks for an unknown kind of authentication")?;
        let realm = params
            .iter()
            .find(|(k, _)| k == "realm")
            .map(|(_, v)| v.clone())
            .ok_or("the registry's challenge names no realm")?;
        let mut url = reqwest::Url::parse(&realm).map_err(|e| e.to_string())?;
        url.query_pairs_mut()
            .extend_pairs(params.iter().filter(|(k, _)| k != "realm"));
        let bytes = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .bytes()
            .await
            .map_err(|e| e.to_string())?;
        let body: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| format!("the token endpoint: {e}"))?;
        body.get("token")
            .or_else(|| body.get("access_token"))
            .and_then(|t| t.as_str())
            .map(str::to_string)
            .ok_or_else(|| "the token endpoint gave no token".into())
    }
}

/// `https://host`, or `http://host` for registries on this machine.
fn registry_base(registry: &str) -> String {
    let host = if registry == "docker.io" {
        "registry-1.docker.io"
    } else {
        registry
    };
    let local = host.starts_with("localhost") || host.starts_with("127.0.0.1");
    format!("{}://{host}", if local { "http" } else { "https" })
}

/// The `key="value"` pairs of a `Bearer` challenge.
fn bearer_params(challenge: &str) -> Option<Vec<(String, String)>> {
    let rest = challenge.trim().strip_prefix("Bearer ")?;
    let mut out = Vec::new();
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        out.push((k.trim().to_string(), v.trim().trim_matches('"').to_string()));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_and_registries() {
        let p = bearer_params(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull""#,
        )
        .unwrap();
        assert_eq!(
            p[0],
            ("realm".into(), "https://auth.docker.io/token".into())
        );
        assert_eq!(p[2].1, "repository:library/nginx:pull");
        assert!(bearer_params("Basic realm=x").is_none());
        assert_eq!(registry_base("docker.io"), "https://registry-1.docker.io");
        assert_eq!(registry_base("127.0.0.1:5000"), "http://127.0.0.1:5000");
    }
}
