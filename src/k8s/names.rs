//! The name rules of the Kubernetes API (apimachinery's validation): checked before the
//! first write, so a bad name fails the whole run up front instead of half-way through.

/// A DNS-1123 label: at most 63 lowercase letters, digits and dashes, starting and ending
/// with a letter or digit. Namespaces, and most things called "a name" in a stack.
pub fn is_dns1123_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A DNS-1035 label: a DNS-1123 label that starts with a letter (Service names).
pub fn is_dns1035_label(s: &str) -> bool {
    is_dns1123_label(s) && s.as_bytes()[0].is_ascii_lowercase()
}

/// A DNS-1123 subdomain: at most 253 characters of dot-separated labels (most objects).
pub fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !part.starts_with('-')
                && !part.ends_with('-')
        })
}

/// A path segment name (RBAC objects, which use `system:` names): not `.` or `..`, no `/`
/// or `%`.
pub fn is_path_segment(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains('/') && !s.contains('%')
}

/// Checks an object's name (and namespace) the way the API server will, naming the rule a
/// bad name breaks.
pub fn check_object(
    group: &str,
    kind: &str,
    name: &str,
    namespace: Option<&str>,
) -> Result<(), String> {
    if let Some(ns) = namespace
        && !is_dns1123_label(ns)
    {
        return Err(format!(
            "namespace `{ns}` is not a valid namespace name (at most 63 lowercase letters, digits and dashes)"
        ));
    }
    let (ok, rule) = match (group, kind) {
        ("", "Namespace") => (
            is_dns1123_label(name),
            "at most 63 lowercase letters, digits and dashes",
        ),
        ("", "Service") => (
            is_dns1035_label(name),
            "at most 63 lowercase letters, digits and dashes, starting with a letter",
        ),
        (
            "rbac.authorization.k8s.io",
            "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding",
        ) => (is_path_segment(name), "no `/` or `%`, and not `.` or `..`"),
        _ => (
            is_dns1123_subdomain(name),
            "at most 253 lowercase letters, digits, dashes and dots",
        ),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("name `{name}` is not valid for a {kind} ({rule})"))
    }
}

/// A Helm release name: a DNS-1123 label of at most 53 characters (Helm appends suffixes
/// to release names, and starts no release with anything a flag parser could take for a
/// flag).
pub fn is_helm_release(s: &str) -> bool {
    is_dns1123_label(s) && s.len() <= 53
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_subdomains_and_segments() {
        assert!(is_dns1123_label("kube-system"));
        assert!(!is_dns1123_label("Kube"));
        assert!(!is_dns1123_label("-a"));
        assert!(!is_dns1123_label(&"a".repeat(64)));
        assert!(is_dns1123_subdomain("widgets.example.io"));
        assert!(!is_dns1123_subdomain("a..b"));
        assert!(is_path_segment("system:aggregate-to-admin"));
        assert!(!is_path_segment("a/b"));
        assert!(!is_dns1035_label("1abc"));
    }

    #[test]
    fn objects_are_checked_by_kind() {
        assert!(check_object("", "ConfigMap", "a.b-c", Some("ns")).is_ok());
        assert!(check_object("", "ConfigMap", "A", Some("ns")).is_err());
        assert!(check_object("", "ConfigMap", "a", Some("Bad_NS")).is_err());
        assert!(check_object("rbac.authorization.k8s.io", "ClusterRole", "system:x", None).is_ok());
        assert!(check_object("", "Service", "9lives", Some("ns")).is_err());
        assert!(!is_helm_release("--post-renderer=x"));
        assert!(is_helm_release("kube-prometheus-stack"));
    }
}
