//! The stack file format: what users write in `landscape.yaml`, and what the built-in
//! profiles and component catalog under `stacks/` are written in.
//!
//! One format serves all three so that anything a built-in profile does, a user stack can
//! do too. Every struct denies unknown fields: a typo is an error with file, line and
//! column, never a silently ignored setting.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::tree::{OrderedMap, Tree};
use crate::health::ReadinessRule;

/// A stack file: a built-in profile, or a user's `landscape.yaml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StackFile {
    /// The stack's name: labels every object it installs. Defaults to the profile's name.
    pub name: Option<Spanned<String>>,
    pub description: Option<String>,
    /// A built-in profile this stack starts from.
    pub extends: Option<Spanned<String>>,
    /// Components of the base profile to leave out.
    #[serde(default)]
    pub disable: Vec<Spanned<String>>,
    /// Components: catalog components (by name, with overrides) or new ones.
    #[serde(default)]
    pub components: OrderedMap<ComponentEntry>,
    /// What the whole stack assumes of the cluster (a profile's zones), checked by
    /// `doctor` and before `up` writes anything.
    pub requires: Option<Requirements>,
    /// What the stack promises once installed, and what it leaves to its user: shown by
    /// `profiles show` and in docs/profiles.md. A layer that gives it replaces it.
    pub promises: Option<Promises>,
}

/// What a stack guarantees (replicas, zones, retention, encryption, recovery) and what it
/// leaves to the people who run it, in plain sentences.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Promises {
    #[serde(default)]
    pub guarantees: Vec<String>,
    #[serde(default)]
    pub leaves_to_you: Vec<String>,
}

/// One component as written in a stack file or the catalog. Every field is optional: an
/// entry for a catalog component only states what it changes.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ComponentEntry {
    pub category: Option<Category>,
    /// The upstream version this component installs (informational; shown by `profiles`).
    pub version: Option<String>,
    /// The namespace its namespaced objects go to when they name none.
    pub namespace: Option<String>,
    pub description: Option<String>,
    /// Other components that must be healthy before this one starts.
    pub needs: Option<Vec<Spanned<String>>>,
    /// Marks the cluster network (CNI): every other component needs it, and its gate waits
    /// for its DaemonSets on every node and every node Ready.
    pub cni: Option<bool>,
    pub sources: Option<Vec<Spanned<SourceSpec>>>,
    /// Values for the component's templates and charts (deep-merged over the defaults).
    pub values: Option<Tree>,
    /// Dotted value paths the user must give (bucket names, Git URLs…).
    pub required: Option<Vec<RequiredValue>>,
    /// Readiness rules for this component's own custom resources.
    pub readiness: Option<Vec<ReadinessSpec>>,
    /// Objects an operator makes at run time that the component is not usable without (a
    /// CSI driver's registration and plugins): the gate waits for each to exist and pass
    /// its kind's rule, as it does for the component's own objects.
    pub wait_for: Option<Vec<WaitFor>>,
    /// How long the component may take to apply and become healthy, e.g. `5m`.
    pub timeout: Option<Spanned<String>>,
    /// Merge patches applied to rendered objects (like kustomize's patches), for upstream
    /// manifests that expose no setting for what the stack needs.
    pub patches: Option<Vec<Spanned<Patch>>>,
    /// The Pod Security Admission level for the namespaces this component creates.
    pub pod_security: Option<PodSecurity>,
    /// Annotations for the namespaces the component's objects live in (`linkerd.io/inject:
    /// enabled` to mesh them). Layers add up; components sharing a namespace add up too.
    pub namespace_annotations: Option<std::collections::BTreeMap<String, String>>,
    /// Rendered objects to leave out (by kind, and optionally group and name): parts of an
    /// upstream manifest the stack does not want.
    pub exclude: Option<Vec<ObjectSelector>>,
    /// Value paths that hold credentials, beyond required values marked `secret` (`*`
    /// matches any key or list item: `clusters.*.bearerToken`). Such values are never
    /// printed and never recorded in the inventory.
    pub secrets: Option<Vec<String>>,
    /// `allow`: objects whose change the API refuses (a Deployment's selector, a Service's
    /// type) are replaced — deleted and created again — without `--allow-replace`.
    pub replace: Option<ReplaceSetting>,
    /// The component this one used to be called: its installed objects move to this one,
    /// in place, instead of being deleted and created again.
    pub replaces: Option<Spanned<String>>,
    /// What the component assumes of the cluster: checked by `doctor` and before `up`.
    pub requires: Option<Requirements>,
    /// `landscape lint` rules this component's objects are exempt from, each with the
    /// reason (an upstream manifest that needs host access, say). Layers add up.
    pub lint_exempt: Option<std::collections::BTreeMap<String, String>>,
}

/// What a component or a stack assumes of the cluster it is installed in. A layer's field
/// replaces the one below it.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Requirements {
    /// The Kubernetes versions it supports: `>=1.29`, `>=1.29 <1.37` (from the upstream
    /// project's support matrix).
    pub kubernetes: Option<String>,
    /// At least this many nodes (Ceph's monitors want three, one per node).
    pub nodes: Option<u32>,
    /// At least this many zones (`topology.kubernetes.io/zone`) to spread over.
    pub zones: Option<u32>,
    /// Value paths naming a region that must not be the cluster's own (a disaster-recovery
    /// location).
    pub other_region: Option<Vec<String>>,
}

impl Requirements {
    /// `over` laid on `self`, field by field.
    pub fn overlay(&mut self, over: Requirements) {
        let Requirements {
            kubernetes,
            nodes,
            zones,
            other_region,
        } = over;
        if kubernetes.is_some() {
            self.kubernetes = kubernetes;
        }
        if nodes.is_some() {
            self.nodes = nodes;
        }
        if zones.is_some() {
            self.zones = zones;
        }
        if other_region.is_some() {
            self.other_region = other_region;
        }
    }
}

/// Whether a component's objects may be replaced when the API refuses a change.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ReplaceSetting {
    /// Only with `--allow-replace` (the default).
    #[default]
    Ask,
    /// Always, for this component.
    Allow,
}

/// Selects rendered objects by kind, and optionally group and name.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ObjectSelector {
    pub kind: String,
    pub group: Option<String>,
    pub name: Option<String>,
}

/// A merge patch on the rendered objects a target selects (see `render::patch`).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Patch {
    pub target: PatchTarget,
    /// A handlebars template producing the patch as YAML; the component's values are in
    /// scope. Maps merge, `null` deletes, lists of named items (containers, volumes, env)
    /// merge by name, everything else replaces.
    pub patch: String,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PatchTarget {
    pub kind: String,
    pub name: String,
    pub group: Option<String>,
    pub namespace: Option<String>,
}

/// Pod Security Admission levels, most restrictive first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PodSecurity {
    Restricted,
    Baseline,
    Privileged,
}

impl PodSecurity {
    pub fn as_str(self) -> &'static str {
        match self {
            PodSecurity::Restricted => "restricted",
            PodSecurity::Baseline => "baseline",
            PodSecurity::Privileged => "privileged",
        }
    }
}

/// What a component is for; the columns of the profile table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Networking,
    Delivery,
    Observability,
    Security,
    Storage,
    Backup,
}

impl Category {
    pub const ALL: [Category; 6] = [
        Category::Networking,
        Category::Delivery,
        Category::Observability,
        Category::Security,
        Category::Storage,
        Category::Backup,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Networking => "networking",
            Category::Delivery => "delivery",
            Category::Observability => "observability",
            Category::Security => "security",
            Category::Storage => "storage",
            Category::Backup => "backup",
        }
    }
}

/// Where a component's objects come from. Exactly one of the kinds is set.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SourceSpec {
    /// A manifest downloaded from a URL (through the mirror when one is set).
    pub url: Option<String>,
    /// The expected sha256 of the downloaded manifest.
    pub sha256: Option<String>,
    /// A local manifest file, relative to the stack file.
    pub file: Option<PathBuf>,
    /// A template folder embedded in landscape (`templates/<name>`).
    pub template: Option<String>,
    /// A local folder of handlebars templates, relative to the stack file.
    pub template_dir: Option<PathBuf>,
    /// A Helm chart, rendered with `helm template`.
    pub chart: Option<ChartSpec>,
    /// Move every namespaced object of a `url` or `file` manifest into the component's
    /// namespace, and the references to the old one with them (ServiceAccount subjects of
    /// role bindings, webhook and APIService services) — what kustomize's `namespace:` does.
    /// For upstream manifests that hard-code a namespace.
    #[serde(default)]
    pub set_namespace: bool,
}

/// A Helm chart source.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ChartSpec {
    /// The chart repository (the folder holding index.yaml).
    pub repository: String,
    pub name: String,
    pub version: String,
    /// The release name (defaults to the component's name).
    pub release: Option<String>,
    /// Helm values as a handlebars template producing YAML; the component's values are in
    /// scope. The component's `chart` value is merged over the result.
    pub values: Option<String>,
}

/// An object made at run time that a component's gate waits for.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WaitFor {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    /// Its namespace; the component's when left out (and none for cluster-scoped kinds).
    pub namespace: Option<String>,
}

/// A value the user must supply, with a hint on what it is.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RequiredValue {
    pub path: String,
    pub description: String,
    /// A credential (a password, a token): never printed, never recorded in the inventory,
    /// asked for again when a later command replays the stack.
    #[serde(default)]
    pub secret: bool,
}

/// How to tell that a custom resource is ready, when its kind follows no convention
/// landscape knows (the stack file's spelling of `health::ReadinessRule`).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReadinessSpec {
    pub kind: String,
    /// The API group; any group when left out.
    pub group: Option<String>,
    /// One object only; every object of the kind when left out.
    pub name: Option<String>,
    /// A condition type that must be `True`.
    pub condition: Option<String>,
    /// A field, as a dotted path (`status.phase`), that must equal `equals`.
    pub field: Option<String>,
    pub equals: Option<serde_json::Value>,
    /// Values of `field` that mean the object failed (stop waiting).
    #[serde(default)]
    pub failed: Vec<serde_json::Value>,
    /// Do not wait for these objects at all (ready by existing).
    #[serde(default)]
    pub ignore: bool,
}

impl From<ReadinessSpec> for ReadinessRule {
    fn from(s: ReadinessSpec) -> ReadinessRule {
        ReadinessRule {
            kind: s.kind,
            group: s.group,
            name: s.name,
            condition: s.condition,
            field: s.field,
            equals: s.equals,
            failed: s.failed,
            ignore: s.ignore,
        }
    }
}
