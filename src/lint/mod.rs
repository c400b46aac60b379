//! `landscape lint`: the anti-patterns a platform's own admission policies forbid, found
//! in the objects before they reach the cluster — images without a tag or digest,
//! containers without requests, privileged pods and host namespaces, pods that may run as
//! root, `cluster-admin` granted to anyone but the system, LoadBalancers nobody asked
//! for, and replicated workloads without a PodDisruptionBudget or not spread over zones.
//!
//! Each rule is a pure function of the objects; a component of a stack may exempt its
//! objects from a rule with a reason (`lintExempt:`), for upstream manifests it cannot
//! change. [`sarif`] writes findings for code scanning.

mod rules;
pub mod sarif;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::k8s::{Object, ObjectKey};

/// The rules, by the names findings, exemptions and SARIF use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    ImageTag,
    ImageDigest,
    Requests,
    Privileged,
    HostNamespaces,
    RunAsRoot,
    ClusterAdmin,
    LoadBalancer,
    DisruptionBudget,
    ZoneSpread,
}

impl Rule {
    pub const ALL: [Rule; 10] = [
        Rule::ImageTag,
        Rule::ImageDigest,
        Rule::Requests,
        Rule::Privileged,
        Rule::HostNamespaces,
        Rule::RunAsRoot,
        Rule::ClusterAdmin,
        Rule::LoadBalancer,
        Rule::DisruptionBudget,
        Rule::ZoneSpread,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Rule::ImageTag => "image-tag",
            Rule::ImageDigest => "image-digest",
            Rule::Requests => "requests",
            Rule::Privileged => "privileged",
            Rule::HostNamespaces => "host-namespaces",
            Rule::RunAsRoot => "run-as-root",
            Rule::ClusterAdmin => "cluster-admin",
            Rule::LoadBalancer => "load-balancer",
            Rule::DisruptionBudget => "disruption-budget",
            Rule::ZoneSpread => "zone-spread",
        }
    }

    pub fn from_name(name: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.name() == name)
    }

    /// What the rule asks, in one line (SARIF's short description).
    pub fn summary(self) -> &'static str {
        match self {
            Rule::ImageTag => "Every image names a tag other than `latest`, or a digest",
            Rule::ImageDigest => "Every image is pinned by digest where the stack pins digests",
            Rule::Requests => "Every container requests CPU and memory",
            Rule::Privileged => "No container runs privileged",
            Rule::HostNamespaces => "No pod shares the node's network, PID or IPC namespace",
            Rule::RunAsRoot => "Every pod runs as a non-root user",
            Rule::ClusterAdmin => "cluster-admin is bound to system subjects only",
            Rule::LoadBalancer => "A LoadBalancer Service says it is meant to be one",
            Rule::DisruptionBudget => "A workload of several replicas has a PodDisruptionBudget",
            Rule::ZoneSpread => "A workload of several replicas is spread over zones",
        }
    }

    /// Whether a finding of this rule fails admission on a hardened cluster (error) or is
    /// advice (warning).
    pub fn is_error(self) -> bool {
        matches!(
            self,
            Rule::ImageTag | Rule::Privileged | Rule::HostNamespaces | Rule::ClusterAdmin
        )
    }
}

/// The annotation that says a LoadBalancer Service is meant to be one.
pub const LOAD_BALANCER_ANNOTATION: &str = "landscape.dev/load-balancer";

/// One thing lint found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: Rule,
    pub object: ObjectKey,
    /// The component that renders the object (stack objects only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// The file the object was read from (`-f`), and its document's first line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// What is wrong, naming the container where there is one.
    pub message: String,
    pub fix: String,
    /// Why the component is exempt from the rule (shown with `--show-exempt`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exempt: Option<String>,
}

/// An object to lint, with where it came from.
pub struct Subject<'a> {
    pub object: &'a Object,
    pub component: Option<&'a str>,
    pub file: Option<&'a str>,
    pub line: Option<usize>,
}

/// How to lint.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The stack pins images by digest (its lock holds digests): an image without one is a
    /// finding.
    pub require_digests: bool,
    /// Each component's exemptions: rule name → reason.
    pub exempt: BTreeMap<String, BTreeMap<String, String>>,
}

/// A rule name in an exemption that is no rule.
#[derive(Debug, thiserror::Error)]
#[error("component `{component}`: lintExempt names `{rule}`, which is no lint rule (hint: the rules are {})", Rule::ALL.map(Rule::name).join(", "))]
pub struct UnknownRule {
    pub component: String,
    pub rule: String,
}

/// Every finding in `subjects`, exempt ones marked, in object order then rule order.
pub fn lint(subjects: &[Subject<'_>], opts: &Options) -> Result<Vec<Finding>, UnknownRule> {
    for (component, rules) in &opts.exempt {
        if let Some(rule) = rules.keys().find(|r| Rule::from_name(r).is_none()) {
            return Err(UnknownRule {
                component: component.clone(),
                rule: rule.clone(),
            });
        }
    }
    let objects: Vec<&Object> = subjects.iter().map(|s| s.object).collect();
    let mut out = Vec::new();
    for s in subjects {
        for (rule, message, fix) in rules::check(s.object, &objects, opts) {
            let exempt = s
                .component
                .and_then(|c| opts.exempt.get(c))
                .and_then(|rules| rules.get(rule.name()))
                .cloned();
            out.push(Finding {
                rule,
                object: s.object.key(),
                component: s.component.map(str::to_string),
                file: s.file.map(str::to_string),
                line: s.line,
                message,
                fix,
                exempt,
            });
        }
    }
    Ok(out)
}
