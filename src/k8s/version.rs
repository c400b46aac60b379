//! Kubernetes versions and the ranges components declare (`>=1.29 <1.37`), and the
//! built-in API versions Kubernetes has removed — what a stack written for an older
//! cluster hits on a newer one.

/// A Kubernetes `major.minor.patch` (pre-release and build suffixes ignored).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u64, pub u64, pub u64);

impl Version {
    /// `v1.36.3`, `1.29`, `1.30.0-eks-1234`, `>=1.19.0-0`'s `1.19.0-0`.
    pub fn parse(s: &str) -> Option<Version> {
        let s = s.trim().trim_start_matches('v');
        let core = s.split(['-', '+']).next()?;
        let mut parts = core.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next().unwrap_or("0").parse().ok()?;
        let patch = parts.next().unwrap_or("0").parse().ok()?;
        parts
            .next()
            .is_none()
            .then_some(Version(major, minor, patch))
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// Where a version lies against a range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fit {
    Within,
    /// Older than a lower bound: what the component needs is missing.
    Below,
    /// Newer than an upper bound: not tested upstream (yet).
    Above,
}

/// Where `version` lies against `range`: below a lower bound (`>=`, `>`, `=`), above an
/// upper one (`<`, `<=`, `=`), or within. Helm's range syntax is understood too (charts
/// declare `kubeVersion` in it): `^1.10.0-0`, `~1.20`, `1.2.x`, and alternatives joined by
/// `||`, within when any alternative is. None when the range is not one.
pub fn fit(version: Version, range: &str) -> Option<Fit> {
    let mut first = None;
    for alternative in range.split("||") {
        let f = fit_all(version, alternative)?;
        if f == Fit::Within {
            return Some(f);
        }
        first.get_or_insert(f);
    }
    first
}

/// Where `version` lies against constraints that must all hold.
fn fit_all(version: Version, range: &str) -> Option<Fit> {
    let mut below = false;
    let mut above = false;
    for (op, bound) in constraints(range)? {
        let key = (bound.0, bound.1);
        match op {
            ">=" => below |= version < bound,
            ">" => below |= version <= bound,
            "<" => above |= version >= bound,
            "<=" => above |= version > bound,
            _ => {
                below |= (version.0, version.1) < key;
                above |= (version.0, version.1) > key;
            }
        }
    }
    Some(if below {
        Fit::Below
    } else if above {
        Fit::Above
    } else {
        Fit::Within
    })
}

/// The constraints of a range, each an operator and a version, with Helm's shorthands
/// (`^`, `~`, wildcards) spelled out as bounds; None when it has none or one is not a
/// version.
fn constraints(range: &str) -> Option<Vec<(&'static str, Version)>> {
    const OPS: [&str; 8] = ["~>", "<=", ">=", "<", ">", "=", "^", "~"];
    let mut glued = range.to_string();
    for op in OPS {
        while glued.contains(&format!("{op} ")) {
            glued = glued.replace(&format!("{op} "), op);
        }
    }
    let mut out = Vec::new();
    for c in glued
        .split([',', ' '])
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        let (op, rest) = OPS
            .iter()
            .find_map(|op| c.strip_prefix(op).map(|r| (*op, r)))
            .unwrap_or(("=", c));
        out.extend(expand(op, rest)?);
    }
    (!out.is_empty()).then_some(out)
}

/// One constraint as plain bounds.
fn expand(op: &'static str, text: &str) -> Option<Vec<(&'static str, Version)>> {
    // `1.2.x`, `1.*`: the versions that share the given parts.
    let core = text.trim_start_matches('v').split(['-', '+']).next()?;
    let parts: Vec<&str> = core.split('.').collect();
    if let Some(wild) = parts.iter().position(|p| matches!(*p, "x" | "X" | "*")) {
        let fixed: Vec<u64> = parts[..wild]
            .iter()
            .map(|p| p.parse().ok())
            .collect::<Option<_>>()?;
        let low = Version(
            fixed.first().copied().unwrap_or(0),
            fixed.get(1).copied().unwrap_or(0),
            0,
        );
        return Some(match (fixed.len(), op) {
            (0, _) => vec![(">=", Version(0, 0, 0))],
            (1, "<" | "<=" | ">" | ">=") | (2, "<" | "<=" | ">" | ">=") => vec![(op, low)],
            (1, _) => vec![(">=", low), ("<", Version(low.0 + 1, 0, 0))],
            _ => vec![(">=", low), ("<", Version(low.0, low.1 + 1, 0))],
        });
    }
    let v = Version::parse(text)?;
    Some(match op {
        "^" if v.0 > 0 => vec![(">=", v), ("<", Version(v.0 + 1, 0, 0))],
        "^" if v.1 > 0 => vec![(">=", v), ("<", Version(0, v.1 + 1, 0))],
        "^" => vec![(">=", v), ("<", Version(0, 0, v.2 + 1))],
        "~" | "~>" => vec![(">=", v), ("<", Version(v.0, v.1 + 1, 0))],
        op => vec![(op, v)],
    })
}

/// Whether `version` satisfies every constraint of `range` (`>=1.29 <1.37`, commas or
/// spaces between them; `>=`, `>`, `<=`, `<`, `=` or none). None when the range is not
/// one.
pub fn satisfies(version: Version, range: &str) -> Option<bool> {
    fit(version, range).map(|f| f == Fit::Within)
}

/// Built-in API versions Kubernetes has removed: (apiVersion, the release that removed
/// it, what to use instead). From the Kubernetes deprecated API migration guide.
const REMOVED: &[(&str, &str, &str)] = &[
    (
        "extensions/v1beta1",
        "1.22",
        "apps/v1 or networking.k8s.io/v1",
    ),
    ("apps/v1beta1", "1.16", "apps/v1"),
    ("apps/v1beta2", "1.16", "apps/v1"),
    ("networking.k8s.io/v1beta1", "1.22", "networking.k8s.io/v1"),
    (
        "rbac.authorization.k8s.io/v1beta1",
        "1.22",
        "rbac.authorization.k8s.io/v1",
    ),
    (
        "admissionregistration.k8s.io/v1beta1",
        "1.22",
        "admissionregistration.k8s.io/v1",
    ),
    (
        "apiextensions.k8s.io/v1beta1",
        "1.22",
        "apiextensions.k8s.io/v1",
    ),
    (
        "apiregistration.k8s.io/v1beta1",
        "1.22",
        "apiregistration.k8s.io/v1",
    ),
    (
        "certificates.k8s.io/v1beta1",
        "1.22",
        "certificates.k8s.io/v1",
    ),
    (
        "coordination.k8s.io/v1beta1",
        "1.22",
        "coordination.k8s.io/v1",
    ),
    ("scheduling.k8s.io/v1beta1", "1.22", "scheduling.k8s.io/v1"),
    ("batch/v1beta1", "1.25", "batch/v1"),
    (
        "policy/v1beta1",
        "1.25",
        "policy/v1 (PodSecurityPolicy has no successor: Pod Security Admission)",
    ),
    ("discovery.k8s.io/v1beta1", "1.25", "discovery.k8s.io/v1"),
    ("events.k8s.io/v1beta1", "1.25", "events.k8s.io/v1"),
    ("node.k8s.io/v1beta1", "1.25", "node.k8s.io/v1"),
    ("autoscaling/v2beta1", "1.25", "autoscaling/v2"),
    ("autoscaling/v2beta2", "1.26", "autoscaling/v2"),
    (
        "flowcontrol.apiserver.k8s.io/v1beta1",
        "1.26",
        "flowcontrol.apiserver.k8s.io/v1",
    ),
    (
        "flowcontrol.apiserver.k8s.io/v1beta2",
        "1.29",
        "flowcontrol.apiserver.k8s.io/v1",
    ),
    (
        "flowcontrol.apiserver.k8s.io/v1beta3",
        "1.32",
        "flowcontrol.apiserver.k8s.io/v1",
    ),
];

/// When Kubernetes removed a built-in API version, and what replaces it.
pub fn removed(api_version: &str) -> Option<(&'static str, &'static str)> {
    REMOVED
        .iter()
        .find(|(v, _, _)| *v == api_version)
        .map(|(_, release, instead)| (*release, *instead))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_ranges() {
        let v = Version::parse("v1.36.3").unwrap();
        assert_eq!(v, Version(1, 36, 3));
        assert_eq!(Version::parse("1.30.2-eks-1234"), Some(Version(1, 30, 2)));
        assert_eq!(Version::parse("nope"), None);
        assert_eq!(satisfies(v, ">=1.29 <1.37"), Some(true));
        assert_eq!(satisfies(v, ">=1.29.0-0, <1.36.0-0"), Some(false));
        assert_eq!(satisfies(v, ">= 1.25"), Some(true));
        assert_eq!(satisfies(v, "1.36"), Some(true));
        assert_eq!(satisfies(v, ""), None);
        assert_eq!(satisfies(v, ">=one"), None);
        assert_eq!(fit(v, ">=1.33 <1.36"), Some(Fit::Above));
        assert_eq!(fit(v, ">=1.37"), Some(Fit::Below));
        assert_eq!(fit(v, ">= 1.31, < 1.37"), Some(Fit::Within));
        assert_eq!(fit(v, "y"), None);
        assert_eq!(removed("batch/v1beta1").unwrap().0, "1.25");
    }

    #[test]
    fn helm_chart_ranges() {
        let v = Version::parse("v1.36.3").unwrap();
        // What the charts in the profiles declare.
        assert_eq!(fit(v, ">= 1.22.0-0"), Some(Fit::Within));
        assert_eq!(fit(v, "^1.10.0-0"), Some(Fit::Within));
        assert_eq!(fit(Version(2, 0, 0), "^1.10.0-0"), Some(Fit::Above));
        assert_eq!(fit(Version(1, 9, 0), "^1.10.0-0"), Some(Fit::Below));
        assert_eq!(fit(v, "~1.36.0"), Some(Fit::Within));
        assert_eq!(fit(v, "~1.35"), Some(Fit::Above));
        assert_eq!(fit(v, "1.36.x"), Some(Fit::Within));
        assert_eq!(fit(v, "1.35.x"), Some(Fit::Above));
        assert_eq!(fit(v, "1.x"), Some(Fit::Within));
        assert_eq!(fit(v, ">=1.20.0 <1.30.0 || >=1.35.0"), Some(Fit::Within));
        assert_eq!(fit(v, ">=1.20.0 <1.30.0 || >=1.37.0"), Some(Fit::Above));
        assert_eq!(fit(v, "^one"), None);
        assert_eq!(fit(v, "1.y.x"), None);
        assert!(removed("batch/v1").is_none());
    }
}
