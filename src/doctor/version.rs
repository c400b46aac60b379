//! The Kubernetes version against the range each component (and the stack) supports, and
//! the built-in API versions the stack's objects use that this cluster no longer serves.

use std::collections::BTreeSet;

use super::{Finding, Subject};
use crate::k8s::version::{Fit, Version, fit, removed};
use crate::k8s::{CrdInfo, is_builtin_group};

const CHECK: &str = "kubernetes-version";

pub(super) fn check(s: &Subject<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(version) = Version::parse(s.cluster.version()) else {
        return vec![Finding::warn(
            CHECK,
            format!(
                "the API server reports version `{}`, which is not one landscape can read",
                s.cluster.version()
            ),
            "check the ranges in the stack's components by hand",
        )];
    };
    let ranges = std::iter::once(("the stack", s.stack.requires.kubernetes.as_deref()))
        .chain(
            s.stack
                .components
                .iter()
                .map(|c| (c.name.as_str(), c.requires.kubernetes.as_deref())),
        )
        .filter_map(|(who, range)| Some((who, range?)));
    let mut checked = Vec::new();
    for (who, range) in ranges {
        match fit(version, range) {
            Some(Fit::Within) => checked.push(who.to_string()),
            Some(Fit::Below) => out.push(Finding::fail(
                CHECK,
                format!("Kubernetes {version}: {who} needs {range}"),
                format!("upgrade the cluster, or pin a release of {who} that supports {version}"),
            )),
            // An upper bound is what upstream has tested so far, not what breaks.
            Some(Fit::Above) => out.push(Finding::warn(
                CHECK,
                format!("Kubernetes {version} is newer than {who} is tested on upstream ({range})"),
                format!("watch {who} closely after upgrading, or pin a release of it tested on {version}"),
            )),
            None => out.push(Finding::warn(
                CHECK,
                format!("{who} declares the range `{range}`, which is not a version range"),
                "write it as `>=1.29 <1.37`",
            )),
        }
    }
    for chart in s.unfit_charts {
        out.push(Finding::fail(
            CHECK,
            format!(
                "Kubernetes {version}: component {} uses chart {} {}, which declares kubeVersion `{}`",
                chart.component, chart.chart, chart.version, chart.range
            ),
            format!(
                "upgrade the cluster, or pin a release of chart {} that supports {version}",
                chart.chart
            ),
        ));
    }
    out.extend(removed_apis(s, version));
    if out.is_empty() {
        out.push(Finding::pass(
            CHECK,
            if checked.is_empty() {
                format!("Kubernetes {version}; no component declares a supported range")
            } else {
                format!(
                    "Kubernetes {version} is in the supported range of {}",
                    checked.join(", ")
                )
            },
        ));
    }
    out
}

/// Objects of built-in API versions this cluster does not serve (removed ones named with
/// the release that removed them).
fn removed_apis(s: &Subject<'_>, version: Version) -> Vec<Finding> {
    let from_stack: BTreeSet<String> = s
        .objects()
        .filter_map(|(_, o)| CrdInfo::of(o))
        .map(|c| c.group)
        .collect();
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (component, o) in s.objects() {
        let group = o.group();
        if !is_builtin_group(group)
            || from_stack.contains(group)
            || s.cluster.resource(o.api_version(), o.kind()).is_some()
            || !seen.insert((
                component.to_string(),
                o.api_version().to_string(),
                o.kind().to_string(),
            ))
        {
            continue;
        }
        let (saw, fix) = match removed(o.api_version()) {
            Some((release, instead)) => (
                format!(
                    "component `{component}` writes {} {} (e.g. {}), removed in Kubernetes {release}; this cluster runs {version}",
                    o.api_version(),
                    o.kind(),
                    o.key()
                ),
                format!("use a release of `{component}` written for {instead}"),
            ),
            None => (
                format!(
                    "component `{component}` writes {} {}, which this cluster ({version}) does not serve",
                    o.api_version(),
                    o.kind()
                ),
                "use a release of the component written for this Kubernetes version".to_string(),
            ),
        };
        out.push(Finding::fail(CHECK, saw, fix));
    }
    out
}
