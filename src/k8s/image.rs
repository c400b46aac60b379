//! Container image references as container runtimes read them: registry, repository,
//! tag and digest, with Docker Hub's short names expanded.

/// An image reference split into registry, repository path and tag/digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef {
    pub registry: String,
    pub repository: String,
    /// `:tag`, `@sha256:…`, both, or empty.
    pub suffix: String,
}

impl ImageRef {
    /// Parses `[registry/]repository[:tag][@digest]`; Docker Hub names are expanded as
    /// container runtimes do (`nginx` → `docker.io/library/nginx`).
    pub fn parse(reference: &str) -> Option<ImageRef> {
        let reference = reference.trim();
        if reference.is_empty()
            || reference.contains(char::is_whitespace)
            || reference.starts_with('-')
        {
            return None;
        }
        let (name, digest) = match reference.split_once('@') {
            Some((n, d)) => (n, format!("@{d}")),
            None => (reference, String::new()),
        };
        // A tag is a colon after the last slash (a colon before it is a registry port).
        let last_slash = name.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name[last_slash..].rfind(':') {
            Some(i) => (&name[..last_slash + i], name[last_slash + i..].to_string()),
            None => (name, String::new()),
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-/:".contains(c))
        {
            return None;
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_string(), rest.to_string())
            }
            Some(_) => ("docker.io".to_string(), name.to_string()),
            None => ("docker.io".to_string(), format!("library/{name}")),
        };
        if repository.is_empty() || repository.split('/').any(str::is_empty) {
            return None;
        }
        Some(ImageRef {
            registry,
            repository,
            suffix: format!("{tag}{digest}"),
        })
    }

    /// True when the reference names its registry explicitly: only such strings are taken
    /// for images when they appear in flags rather than `image:` fields.
    pub fn is_explicit(reference: &str) -> bool {
        reference
            .split_once('/')
            .is_some_and(|(first, _)| first.contains('.') || first.contains(':'))
            && (reference.contains(':') || reference.contains('@'))
    }

    pub fn full(&self) -> String {
        format!("{}/{}{}", self.registry, self.repository, self.suffix)
    }

    /// The same image in `target` (`HOST[/PREFIX]`), keeping the repository path.
    pub fn relocated(&self, target: &str) -> String {
        format!(
            "{}/{}{}",
            target.trim_end_matches('/'),
            self.repository,
            self.suffix
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_references() {
        let r = ImageRef::parse("quay.io/prometheus/prometheus:v3.5.0").unwrap();
        assert_eq!(
            (
                r.registry.as_str(),
                r.repository.as_str(),
                r.suffix.as_str()
            ),
            ("quay.io", "prometheus/prometheus", ":v3.5.0")
        );
        let hub = ImageRef::parse("nginx:1.27").unwrap();
        assert_eq!(hub.full(), "docker.io/library/nginx:1.27");
        let port = ImageRef::parse("localhost:5000/team/app@sha256:abc").unwrap();
        assert_eq!(port.registry, "localhost:5000");
        assert_eq!(port.suffix, "@sha256:abc");
        assert!(ImageRef::parse("").is_none());
        assert!(ImageRef::parse("not an image").is_none());
    }
}
