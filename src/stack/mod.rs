//! Stacks: what to install, with which values.
//!
//! A [`Stack`] is resolved from up to three layers of stack files — the component catalog,
//! a built-in profile, the user's `landscape.yaml` — plus values files and `--set`. This
//! module knows nothing of clusters or HTTP; it turns files into plain, validated data.
//! Loading goes in phases ([`load`]): find and read the files, lay the components over
//! each other, apply values, check the needs, finish each component.

mod builtin;
mod draft;
mod error;
mod layers;
pub mod model;
pub mod tree;
pub mod values;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

pub use crate::health::ReadinessRule;
pub use builtin::{catalog_names, profile_names};
pub use error::{MissingValue, StackError, did_you_mean};
pub use layers::find_stack_file;
pub use model::{
    Category, ChartSpec, ObjectSelector, Patch, PatchTarget, PodSecurity, RequiredValue,
};

use draft::{Draft, check_needs};
use error::invalid;

/// How long a component may take to apply and become healthy when its definition is silent.
pub const DEFAULT_COMPONENT_TIMEOUT: Duration = Duration::from_secs(600);

/// The name looked for in the working directory when no `--stack` is given.
pub const DEFAULT_STACK_FILE: &str = "landscape.yaml";

/// A file the stack is read from: on disk, or as an earlier run recorded it.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    Path(PathBuf),
    /// Text recorded by an earlier run. `path` is where the file was: relative paths in a
    /// stack file still point beside it.
    Recorded {
        label: String,
        path: PathBuf,
        text: String,
    },
}

impl Input {
    pub fn path(&self) -> &Path {
        match self {
            Input::Path(p) => p,
            Input::Recorded { path, .. } => path,
        }
    }
}

/// A profile asked for, and whether it came from `LANDSCAPE_PROFILE` rather than a flag.
#[derive(Clone, Debug, PartialEq)]
pub struct ProfileChoice {
    pub name: String,
    pub from_env: bool,
}

/// What the user asked for on the command line (or what an earlier run recorded).
#[derive(Clone, Debug, Default)]
pub struct StackRequest {
    pub profile: Option<ProfileChoice>,
    pub stack_file: Option<Input>,
    pub values: Vec<Input>,
    /// `--set` arguments: values typed as Helm types them.
    pub set: Vec<String>,
    /// `--set-string` arguments: every value a string.
    pub set_string: Vec<String>,
    /// `--set-file` arguments (`component.path=FILE`): each value a file's text, read
    /// relative to `working_dir`.
    pub set_file: Vec<String>,
    /// Where to look for `landscape.yaml` when no stack file is named.
    pub working_dir: PathBuf,
}

impl StackRequest {
    /// A request for a built-in profile alone.
    pub fn profile(name: &str) -> StackRequest {
        StackRequest {
            profile: Some(ProfileChoice {
                name: name.to_string(),
                from_env: false,
            }),
            ..Default::default()
        }
    }
}

/// A resolved stack: every component with its final values.
#[derive(Clone, Debug)]
pub struct Stack {
    pub name: String,
    /// The built-in profile it is based on, if any.
    pub profile: Option<String>,
    pub description: Option<String>,
    /// The user's stack file (where it is), if one was used.
    pub file: Option<PathBuf>,
    /// The stack file's text, as read.
    pub file_text: Option<String>,
    /// The name the stack file declares itself (`name:`), if any.
    pub declared_name: Option<String>,
    pub components: Vec<Component>,
    /// What the whole stack assumes of the cluster.
    pub requires: model::Requirements,
    /// What the stack promises once installed, and what it leaves to its user.
    pub promises: Option<model::Promises>,
}

/// One unit of installation, fully resolved.
#[derive(Clone, Debug)]
pub struct Component {
    pub name: String,
    pub category: Category,
    pub version: Option<String>,
    pub namespace: String,
    pub description: Option<String>,
    pub needs: Vec<String>,
    pub cni: bool,
    pub sources: Vec<Source>,
    pub values: Value,
    pub required: Vec<RequiredValue>,
    pub readiness: Vec<ReadinessRule>,
    /// Objects an operator makes that the gate waits for too.
    pub wait_for: Vec<model::WaitFor>,
    pub timeout: Duration,
    pub patches: Vec<Patch>,
    pub pod_security: Option<PodSecurity>,
    /// Annotations for the namespaces its objects live in.
    pub namespace_annotations: std::collections::BTreeMap<String, String>,
    pub exclude: Vec<ObjectSelector>,
    /// Value path patterns that hold credentials (besides required values marked secret).
    pub secrets: Vec<String>,
    /// `replace: allow`: objects whose change the API refuses are replaced without
    /// `--allow-replace`.
    pub replace_allowed: bool,
    /// The name this component had before (`replaces:`): its installed objects are its own.
    pub replaces: Option<String>,
    /// What it assumes of the cluster.
    pub requires: model::Requirements,
    /// Lint rules its objects are exempt from, with the reason for each.
    pub lint_exempt: std::collections::BTreeMap<String, String>,
}

impl Component {
    /// Every value path pattern of this component that holds a credential.
    pub fn secret_patterns(&self) -> impl Iterator<Item = &str> {
        self.required
            .iter()
            .filter(|r| r.secret)
            .map(|r| r.path.as_str())
            .chain(self.secrets.iter().map(String::as_str))
    }
}

/// Where a component's objects come from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// A manifest at a URL; `sha256` pins its content.
    Url {
        url: String,
        sha256: Option<String>,
        set_namespace: bool,
    },
    /// A local manifest file.
    File { path: PathBuf, set_namespace: bool },
    /// A template folder built into landscape.
    Template { name: String },
    /// A local folder of handlebars templates.
    TemplateDir { path: PathBuf },
    /// A Helm chart.
    Chart(ChartSpec),
}

impl Stack {
    pub fn component(&self, name: &str) -> Option<&Component> {
        self.components.iter().find(|c| c.name == name)
    }

    /// Values the user must give and did not, across the whole stack.
    pub fn missing_values(&self) -> Vec<MissingValue> {
        let mut missing = Vec::new();
        for c in &self.components {
            for r in &c.required {
                if is_empty(values::get_path(&c.values, &r.path)) {
                    missing.push(MissingValue {
                        path: format!("{}.{}", c.name, r.path),
                        description: r.description.clone(),
                    });
                }
            }
        }
        missing
    }

    /// Every value the stack marks secret that was given, by concrete path
    /// (`component.path`).
    pub fn secret_values(&self) -> Vec<(String, &Value)> {
        let mut out = Vec::new();
        for c in &self.components {
            for pattern in c.secret_patterns() {
                for (path, v) in values::find(&c.values, pattern) {
                    if !is_empty(Some(v)) {
                        out.push((format!("{}.{path}", c.name), v));
                    }
                }
            }
        }
        out
    }

    /// Every secret value path pattern, prefixed by its component
    /// (`argocd-clusters.clusters.*.bearerToken`).
    pub fn secret_patterns(&self) -> Vec<String> {
        self.components
            .iter()
            .flat_map(|c| c.secret_patterns().map(move |p| format!("{}.{p}", c.name)))
            .collect()
    }
}

fn is_empty(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(_) => false,
    }
}

/// Resolves the stack the request describes, in phases.
pub fn load(req: &StackRequest) -> Result<Stack, StackError> {
    // 1. The files: the user's stack file, and the profile it (or --profile) names.
    let user = layers::user_file(req)?;
    let profile = layers::profile_layer(req, user.as_ref())?;
    if user.is_none() && profile.is_none() {
        return Err(StackError::NoStack {
            profiles: profile_names().join(", "),
        });
    }
    let profile_name = profile.as_ref().map(|(name, _)| name.clone());
    let declared_name = user
        .as_ref()
        .and_then(|u| u.layer.file.name.as_ref().map(|n| n.value.clone()));
    let (path, text, user_layer) = match user {
        Some(u) => (Some(u.path), Some(u.text), Some(u.layer)),
        None => (None, None, None),
    };
    let files = profile
        .map(|(_, l)| l)
        .into_iter()
        .chain(user_layer)
        .collect();

    // 2. Their components, laid over the catalog and each other.
    let (mut drafts, overall) = layers::components(files)?;

    // 3. Values files, then --set.
    for input in &req.values {
        let (label, text) = layers::read_input(input)?;
        layers::apply_values_file(&label, &text, &mut drafts)?;
    }
    // In Helm's order: --set, then --set-string, then --set-file.
    for arg in &req.set {
        layers::apply_set(arg, values::SetKind::Typed, &req.working_dir, &mut drafts)?;
    }
    for arg in &req.set_string {
        layers::apply_set(arg, values::SetKind::String, &req.working_dir, &mut drafts)?;
    }
    for arg in &req.set_file {
        layers::apply_set(arg, values::SetKind::File, &req.working_dir, &mut drafts)?;
    }

    // 4. Needs, then each component finished.
    let names: Vec<String> = drafts.iter().map(|d| d.name.clone()).collect();
    for draft in &drafts {
        check_needs(draft, &names, &overall.disabled)?;
    }
    draft::check_replaces(&drafts)?;
    let label = path.as_ref().map(|p| p.display().to_string());
    let components = drafts
        .into_iter()
        .map(Draft::finish)
        .collect::<Result<Vec<_>, _>>()?;
    if components.is_empty() {
        return Err(invalid(
            label.unwrap_or_else(|| "--profile".into()),
            "the stack has no components",
            Some("add components, or extend a profile with `extends:`".into()),
        ));
    }
    Ok(Stack {
        name: stack_name(overall.name, profile_name.as_deref(), path.as_deref()),
        profile: profile_name,
        description: overall.description,
        file: path,
        file_text: text,
        declared_name,
        components,
        requires: overall.requires,
        promises: overall.promises,
    })
}

/// The stack's name: the one a stack file declares, else its profile's, else the stack
/// file's own name (`platform.yaml` → `platform`).
fn stack_name(declared: Option<String>, profile: Option<&str>, path: Option<&Path>) -> String {
    declared
        .or_else(|| profile.map(str::to_string))
        .or_else(|| {
            path.and_then(|p| p.file_stem())
                .map(|s| s.to_string_lossy().to_ascii_lowercase())
                .filter(|s| crate::k8s::names::is_dns1123_label(s))
        })
        .unwrap_or_else(|| "landscape".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_dir(dir: &Path) -> StackRequest {
        StackRequest {
            working_dir: dir.to_path_buf(),
            ..Default::default()
        }
    }

    #[test]
    fn a_stack_files_patches_add_to_the_components_own() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("landscape.yaml"),
            "name: t\nextends: large\ncomponents:\n  thanos:\n    patches:\n      - target: {kind: Service, name: thanos-query}\n        patch: |\n          metadata: {annotations: {a: b}}\n    exclude:\n      - {kind: ServiceMonitor}\n",
        )
        .unwrap();
        let stack = load(&in_dir(dir.path())).unwrap();
        let thanos = stack.component("thanos").unwrap();
        let targets: Vec<&str> = thanos
            .patches
            .iter()
            .map(|p| p.target.name.as_str())
            .collect();
        assert_eq!(
            targets,
            [
                "thanos-query",
                "thanos-store",
                "thanos-compact",
                "thanos-query"
            ],
            "the component's three patches, then the stack file's"
        );
        assert!(thanos.exclude.iter().any(|e| e.kind == "ServiceMonitor"));
        assert_eq!(stack.declared_name.as_deref(), Some("t"));
    }

    #[test]
    fn a_profile_from_the_environment_beside_a_stack_file_is_ambiguous() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("landscape.yaml"), "extends: small\n").unwrap();
        let mut req = in_dir(dir.path());
        req.profile = Some(ProfileChoice {
            name: "medium".into(),
            from_env: true,
        });
        assert!(matches!(load(&req), Err(StackError::Ambiguous { .. })));
        req.profile = Some(ProfileChoice {
            name: "medium".into(),
            from_env: false,
        });
        assert_eq!(
            load(&req).unwrap().name,
            "medium",
            "an explicit --profile wins"
        );
    }

    #[test]
    fn recorded_inputs_need_no_files() {
        let req = StackRequest {
            stack_file: Some(Input::Recorded {
                label: "recorded landscape.yaml".into(),
                path: PathBuf::from("/nowhere/landscape.yaml"),
                text: "name: rec\nextends: small\n".into(),
            }),
            values: vec![Input::Recorded {
                label: "recorded values".into(),
                path: PathBuf::from("/nowhere/values.yaml"),
                text: "velero: {backup: {bucket: b}}\n".into(),
            }],
            ..Default::default()
        };
        let stack = load(&req).unwrap();
        assert_eq!(stack.name, "rec");
        assert_eq!(
            stack.component("velero").unwrap().values["backup"]["bucket"],
            "b"
        );
    }
}
