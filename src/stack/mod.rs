//! Stacks: what to install, with which values.
//!
//! A [`Stack`] is resolved from up to three layers of stack files — the component catalog,
//! a built-in profile, the user's `landscape.yaml` — plus values files and `--set`. This
//! module knows nothing of clusters or HTTP; it turns files into plain, validated data.

mod builtin;
pub mod model;
pub mod tree;
pub mod values;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use serde_saphyr::Spanned;

pub use builtin::{catalog_names, profile_names};
pub use model::{
    Category, ChartSpec, ObjectSelector, Patch, PatchTarget, PodSecurity, ReadinessRule,
    RequiredValue,
};
use model::{ComponentEntry, SourceSpec, StackFile};
use tree::Positions;
use values::{UnknownKey, merge};

use crate::yaml::Position;

/// How long a component may take to apply and become healthy when its definition is silent.
pub const DEFAULT_COMPONENT_TIMEOUT: Duration = Duration::from_secs(600);

/// The name looked for in the working directory when no `--stack` is given.
pub const DEFAULT_STACK_FILE: &str = "landscape.yaml";

/// What the user asked for on the command line.
#[derive(Clone, Debug, Default)]
pub struct StackRequest {
    pub profile: Option<String>,
    pub stack_file: Option<PathBuf>,
    pub values_files: Vec<PathBuf>,
    pub set: Vec<String>,
    /// Where to look for `landscape.yaml` when no stack file is named.
    pub working_dir: PathBuf,
    /// Where the stack file's relative paths (sources, the lock) point, when not beside the
    /// file: a stack rebuilt from what the cluster recorded is written to a temporary
    /// directory, while its local sources are still where the user keeps them.
    pub sources_dir: Option<PathBuf>,
}

/// A resolved stack: every component with its final values.
#[derive(Clone, Debug)]
pub struct Stack {
    pub name: String,
    /// The built-in profile it is based on, if any.
    pub profile: Option<String>,
    pub description: Option<String>,
    /// The user's stack file, if one was used.
    pub file: Option<PathBuf>,
    pub components: Vec<Component>,
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
    pub timeout: Duration,
    pub patches: Vec<Patch>,
    pub pod_security: Option<PodSecurity>,
    pub exclude: Vec<ObjectSelector>,
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
                let given = values::get_path(&c.values, &r.path);
                let empty = match given {
                    None | Some(Value::Null) => true,
                    Some(Value::String(s)) => s.trim().is_empty(),
                    Some(_) => false,
                };
                if empty {
                    missing.push(MissingValue {
                        path: format!("{}.{}", c.name, r.path),
                        description: r.description.clone(),
                    });
                }
            }
        }
        missing
    }
}

/// A required value that nobody gave.
#[derive(Clone, Debug, PartialEq)]
pub struct MissingValue {
    pub path: String,
    pub description: String,
}

/// A mistake in a stack file, a values file or a `--set`.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error("{location}: {message}{}", hint_suffix(hint))]
    Invalid {
        /// `file:line:col`, `file`, or `--set a.b=c`.
        location: String,
        message: String,
        hint: Option<String>,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "no stack given (hint: pass --profile NAME with one of: {profiles}, or --stack FILE, or create {DEFAULT_STACK_FILE} in the working directory)"
    )]
    NoStack { profiles: String },
    #[error("missing required values: {} (hint: give them with -f values.yaml or --set component.path=value)", format_missing(.0))]
    MissingValues(Vec<MissingValue>),
}

fn hint_suffix(hint: &Option<String>) -> String {
    hint.as_ref()
        .map(|h| format!(" (hint: {h})"))
        .unwrap_or_default()
}

fn format_missing(missing: &[MissingValue]) -> String {
    missing
        .iter()
        .map(|m| format!("{} ({})", m.path, m.description))
        .collect::<Vec<_>>()
        .join(", ")
}

fn invalid(
    location: impl Into<String>,
    message: impl Into<String>,
    hint: Option<String>,
) -> StackError {
    StackError::Invalid {
        location: location.into(),
        message: message.into(),
        hint,
    }
}

/// A file name plus a position, rendered `file:line:col`.
fn at(file: &str, pos: Option<Position>) -> String {
    match pos {
        Some(p) => format!("{file}:{p}"),
        None => file.to_string(),
    }
}

fn at_spanned<T>(file: &str, s: &Spanned<T>) -> String {
    at(file, Position::from_location(s.referenced))
}

fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min()
        .map(|(_, c)| c.to_string())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str> + Clone) -> String {
    match closest(word, candidates.clone()) {
        Some(c) => format!("did you mean `{c}`?"),
        None => {
            let all: Vec<&str> = candidates.into_iter().collect();
            if all.is_empty() {
                "there are none".to_string()
            } else {
                format!("known: {}", all.join(", "))
            }
        }
    }
}

/// Parses a stack file's text, reporting errors as `file:line:col: message`.
fn parse_stack_file(file: &str, text: &str) -> Result<StackFile, StackError> {
    crate::yaml::from_str::<StackFile>(text).map_err(|e| {
        invalid(
            at(file, e.position),
            e.message,
            Some("see docs/stack-file.md for the stack file format".into()),
        )
    })
}

fn parse_catalog_entry(file: &str, text: &str) -> Result<ComponentEntry, StackError> {
    crate::yaml::from_str::<ComponentEntry>(text)
        .map_err(|e| invalid(at(file, e.position), e.message, None))
}

/// A component being resolved: its layers, lowest first.
struct Draft {
    name: String,
    /// Where the component was first declared, for messages.
    declared_in: String,
    entry: ComponentEntry,
    /// Where each layer came from, and where its `needs` and values were written.
    needs_file: String,
    values: Value,
    /// Keys known so far, including those whose value is null (required values).
    schema: Value,
    base_dir: Option<PathBuf>,
}

impl Draft {
    fn new(name: &str, declared_in: &str, base_dir: Option<PathBuf>) -> Draft {
        Draft {
            name: name.to_string(),
            declared_in: declared_in.to_string(),
            entry: ComponentEntry::default(),
            needs_file: declared_in.to_string(),
            values: Value::Object(Default::default()),
            schema: Value::Object(Default::default()),
            base_dir,
        }
    }

    /// Lays `over` on top of what the draft holds. Scalar fields and lists replace, values
    /// merge. `check_values` rejects value keys the lower layers do not know.
    fn overlay(
        &mut self,
        file: &str,
        over: ComponentEntry,
        base_dir: Option<&Path>,
        check_values: bool,
    ) -> Result<(), StackError> {
        let ComponentEntry {
            category,
            version,
            namespace,
            description,
            needs,
            cni,
            sources,
            values,
            required,
            readiness,
            timeout,
            patches,
            pod_security,
            exclude,
        } = over;
        if let Some(v) = values {
            let mut positions = Positions::new();
            let v = v.into_value("", &mut positions);
            if check_values {
                reject_unknown(file, &positions, &self.name, &self.schema, &v)?;
            }
            self.add_values(v);
        }
        let e = &mut self.entry;
        if category.is_some() {
            e.category = category;
        }
        if version.is_some() {
            e.version = version;
        }
        if namespace.is_some() {
            e.namespace = namespace;
        }
        if description.is_some() {
            e.description = description;
        }
        if needs.is_some() {
            e.needs = needs;
            self.needs_file = file.to_string();
        }
        if cni.is_some() {
            e.cni = cni;
        }
        if sources.is_some() {
            e.sources = sources;
            self.base_dir = base_dir.map(Path::to_path_buf);
        }
        if required.is_some() {
            e.required = required;
        }
        if readiness.is_some() {
            e.readiness = readiness;
        }
        if timeout.is_some() {
            e.timeout = timeout;
        }
        // Patches and exclusions add up: a stack file's patch must not silently drop the
        // ones a component needs to work.
        if let Some(more) = patches {
            e.patches.get_or_insert_with(Vec::new).extend(more);
        }
        if pod_security.is_some() {
            e.pod_security = pod_security;
        }
        if let Some(more) = exclude {
            e.exclude.get_or_insert_with(Vec::new).extend(more);
        }
        Ok(())
    }

    fn add_values(&mut self, v: Value) {
        merge_schema(&mut self.schema, &v);
        merge(&mut self.values, v);
    }

    fn finish(self, file_of_stack: Option<&str>) -> Result<Component, StackError> {
        let e = self.entry;
        let file = &self.declared_in;
        let category = e.category.ok_or_else(|| {
            invalid(
                file.clone(),
                format!("component `{}` has no category", self.name),
                Some(format!(
                    "add `category:` with one of {} (or use a catalog component: {})",
                    Category::ALL.map(Category::as_str).join(", "),
                    catalog_names().join(", ")
                )),
            )
        })?;
        let specs = e.sources.unwrap_or_default();
        if specs.is_empty() {
            return Err(invalid(
                file.clone(),
                format!("component `{}` has no sources", self.name),
                Some("add `sources:` with a `url`, `file`, `templateDir` or `chart`".into()),
            ));
        }
        let mut sources = Vec::new();
        for spec in specs {
            sources.push(resolve_source(file, &spec, self.base_dir.as_deref())?);
        }
        let timeout = match e.timeout {
            None => DEFAULT_COMPONENT_TIMEOUT,
            Some(t) => crate::duration::parse(&t.value)
                .map_err(|msg| invalid(at_spanned(file_of_stack.unwrap_or(file), &t), msg, None))?,
        };
        let namespace = e.namespace.unwrap_or_else(|| self.name.clone());
        if !is_dns_label(&namespace) {
            return Err(invalid(
                file.clone(),
                format!(
                    "component `{}`: namespace `{namespace}` is not a valid namespace name",
                    self.name
                ),
                Some("use lowercase letters, digits and dashes".into()),
            ));
        }
        Ok(Component {
            name: self.name,
            category,
            version: e.version,
            namespace,
            description: e.description,
            needs: e
                .needs
                .unwrap_or_default()
                .into_iter()
                .map(|s| s.value)
                .collect(),
            cni: e.cni.unwrap_or(false),
            sources,
            values: self.values,
            required: e.required.unwrap_or_default(),
            readiness: e.readiness.unwrap_or_default(),
            timeout,
            patches: e
                .patches
                .unwrap_or_default()
                .into_iter()
                .map(|p| p.value)
                .collect(),
            pod_security: e.pod_security,
            exclude: e.exclude.unwrap_or_default(),
        })
    }
}

/// Like [`merge`], but keeps keys whose value is null: the set of keys values may use.
fn merge_schema(schema: &mut Value, over: &Value) {
    match (schema, over) {
        (Value::Object(s), Value::Object(o)) => {
            for (k, v) in o {
                match s.get_mut(k) {
                    Some(slot) if slot.is_object() && v.is_object() => merge_schema(slot, v),
                    Some(slot) if v.is_null() => {
                        let _ = slot;
                    }
                    _ => {
                        s.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (s, o) => *s = o.clone(),
    }
}

fn reject_unknown(
    file: &str,
    positions: &Positions,
    component: &str,
    schema: &Value,
    given: &Value,
) -> Result<(), StackError> {
    let unknown = values::unknown_keys(schema, given);
    let Some(first) = unknown.first() else {
        return Ok(());
    };
    Err(unknown_value_error(file, positions, component, first))
}

fn unknown_value_error(
    file: &str,
    positions: &Positions,
    component: &str,
    u: &UnknownKey,
) -> StackError {
    let key = u.path.rsplit('.').next().unwrap_or(&u.path);
    let hint = did_you_mean(key, u.known.iter().map(String::as_str));
    invalid(
        at(file, positions.get(&u.path).cloned()),
        format!("unknown value `{component}.{}`", u.path),
        Some(format!(
            "{hint}; raw Helm values go under `{component}.{}`",
            values::CHART_KEY
        )),
    )
}

fn resolve_source(
    file: &str,
    spec: &Spanned<SourceSpec>,
    base_dir: Option<&Path>,
) -> Result<Source, StackError> {
    let s = &spec.value;
    let set = [
        s.url.is_some(),
        s.file.is_some(),
        s.template.is_some(),
        s.template_dir.is_some(),
        s.chart.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    let where_ = at_spanned(file, spec);
    if set != 1 {
        return Err(invalid(
            where_,
            "a source needs exactly one of `url`, `file`, `template`, `templateDir` or `chart`",
            None,
        ));
    }
    if s.sha256.is_some() && s.url.is_none() {
        return Err(invalid(where_, "`sha256` pins a `url` source only", None));
    }
    if s.set_namespace && s.url.is_none() && s.file.is_none() {
        return Err(invalid(
            where_,
            "`setNamespace` applies to `url` and `file` manifests only",
            None,
        ));
    }
    let local = |p: &PathBuf| match base_dir {
        Some(dir) if p.is_relative() => dir.join(p),
        _ => p.clone(),
    };
    Ok(if let Some(url) = &s.url {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(invalid(
                where_,
                format!("`{url}` is not an http(s) URL"),
                Some("use `file:` for local manifests".into()),
            ));
        }
        if let Some(sum) = &s.sha256
            && (sum.len() != 64 || !sum.chars().all(|c| c.is_ascii_hexdigit()))
        {
            return Err(invalid(
                where_,
                format!("`{sum}` is not a sha256 (64 hex digits)"),
                None,
            ));
        }
        Source::Url {
            url: url.clone(),
            sha256: s.sha256.as_ref().map(|x| x.to_ascii_lowercase()),
            set_namespace: s.set_namespace,
        }
    } else if let Some(p) = &s.file {
        Source::File {
            path: local(p),
            set_namespace: s.set_namespace,
        }
    } else if let Some(name) = &s.template {
        if !crate::render::templates::has_builtin(name) {
            return Err(invalid(
                where_,
                format!("no built-in template folder `{name}`"),
                Some("use `templateDir:` for a local folder".into()),
            ));
        }
        Source::Template { name: name.clone() }
    } else if let Some(p) = &s.template_dir {
        Source::TemplateDir { path: local(p) }
    } else {
        let chart = s.chart.clone().expect("counted above");
        if chart.repository.is_empty() || chart.name.is_empty() || chart.version.is_empty() {
            return Err(invalid(
                where_,
                "a chart needs `repository`, `name` and `version`",
                None,
            ));
        }
        Source::Chart(chart)
    })
}

/// True for names Kubernetes accepts as label values and namespace names.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Finds the stack file to use: `--stack`, else `landscape.yaml` in the working directory.
pub fn find_stack_file(req: &StackRequest) -> Option<PathBuf> {
    if let Some(p) = &req.stack_file {
        return Some(p.clone());
    }
    let candidate = req.working_dir.join(DEFAULT_STACK_FILE);
    candidate.is_file().then_some(candidate)
}

/// Resolves the stack the request describes.
pub fn load(req: &StackRequest) -> Result<Stack, StackError> {
    let user_path = find_stack_file(req);
    // `--profile` alone ignores a landscape.yaml lying around only if the user asked for a
    // profile and no stack file: an explicit --stack always wins.
    let user_path = match (&req.profile, &req.stack_file, user_path) {
        (Some(_), None, Some(_)) => None,
        (_, _, p) => p,
    };
    let user = match &user_path {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| StackError::Read {
                path: path.clone(),
                source,
            })?;
            let label = path.display().to_string();
            let parsed = parse_stack_file(&label, &text)?;
            let base_dir = req
                .sources_dir
                .clone()
                .or_else(|| path.parent().map(Path::to_path_buf));
            Some((label, parsed, base_dir))
        }
        None => None,
    };

    // The profile: the stack file's `extends`, else --profile.
    let extends = user.as_ref().and_then(|(file, f, _)| {
        f.extends
            .as_ref()
            .map(|e| (e.value.clone(), at_spanned(file, e)))
    });
    let profile_name = match (&extends, &req.profile) {
        (Some((name, _)), _) => Some(name.clone()),
        (None, Some(p)) => Some(p.clone()),
        (None, None) => None,
    };
    if user.is_none() && profile_name.is_none() {
        return Err(StackError::NoStack {
            profiles: profile_names().join(", "),
        });
    }
    let profile = match &profile_name {
        None => None,
        Some(name) => {
            let file = builtin::profile(name).ok_or_else(|| {
                let location = extends
                    .as_ref()
                    .map(|(_, l)| l.clone())
                    .unwrap_or_else(|| "--profile".into());
                let names = profile_names();
                invalid(
                    location,
                    format!("unknown profile `{name}`"),
                    Some(did_you_mean(name, names.iter().map(String::as_str))),
                )
            })?;
            Some((file.path.clone(), parse_stack_file(&file.path, &file.text)?))
        }
    };

    let layers: Vec<Layer> = profile
        .map(|(file, stack)| Layer {
            file,
            stack,
            base_dir: None,
        })
        .into_iter()
        .chain(user.map(|(file, stack, base_dir)| Layer {
            file,
            stack,
            base_dir,
        }))
        .collect();

    let mut drafts: Vec<Draft> = Vec::new();
    let mut disabled: BTreeSet<String> = BTreeSet::new();
    let mut description = None;
    let mut stack_name = profile_name.clone();
    for layer in layers {
        let Layer {
            file,
            stack,
            base_dir,
        } = layer;
        if let Some(d) = stack.description {
            description = Some(d);
        }
        if let Some(n) = stack.name {
            if !is_dns_label(&n.value) {
                return Err(invalid(
                    at_spanned(&file, &n),
                    format!("stack name `{}` is not valid", n.value),
                    Some("use at most 63 lowercase letters, digits and dashes".into()),
                ));
            }
            stack_name = Some(n.value);
        }
        for d in &stack.disable {
            let known: Vec<&str> = drafts.iter().map(|d| d.name.as_str()).collect();
            if !known.contains(&d.value.as_str()) {
                return Err(invalid(
                    at_spanned(&file, d),
                    format!(
                        "cannot disable `{}`: no such component in the profile",
                        d.value
                    ),
                    Some(did_you_mean(&d.value, known)),
                ));
            }
            disabled.insert(d.value.clone());
            drafts.retain(|x| x.name != d.value);
        }
        for (key, entry) in stack.components.0 {
            let name = key.value.clone();
            let where_ = at_spanned(&file, &key);
            if !is_dns_label(&name) {
                return Err(invalid(
                    where_,
                    format!("component name `{name}` is not valid"),
                    Some("use at most 63 lowercase letters, digits and dashes".into()),
                ));
            }
            if disabled.contains(&name) {
                return Err(invalid(
                    where_,
                    format!("component `{name}` is both disabled and configured"),
                    Some("remove it from `disable` or drop its entry".into()),
                ));
            }
            match drafts.iter_mut().find(|d| d.name == name) {
                Some(draft) => draft.overlay(&file, entry, base_dir.as_deref(), true)?,
                None => {
                    let mut draft = Draft::new(&name, &where_, base_dir.clone());
                    let from_catalog = match builtin::catalog_component(&name) {
                        Some(cat) => {
                            let base = parse_catalog_entry(&cat.path, &cat.text)?;
                            draft.overlay(&cat.path, base, None, false)?;
                            true
                        }
                        None => false,
                    };
                    draft.overlay(&file, entry, base_dir.as_deref(), from_catalog)?;
                    drafts.push(draft);
                }
            }
        }
    }

    for path in &req.values_files {
        apply_values_file(path, &mut drafts)?;
    }
    for arg in &req.set {
        apply_set(arg, &mut drafts)?;
    }

    let names: Vec<String> = drafts.iter().map(|d| d.name.clone()).collect();
    for draft in &drafts {
        check_needs(draft, &names, &disabled)?;
    }
    let stack_file_label = user_path.as_ref().map(|p| p.display().to_string());
    let components = drafts
        .into_iter()
        .map(|d| d.finish(stack_file_label.as_deref()))
        .collect::<Result<Vec<_>, _>>()?;
    if components.is_empty() {
        return Err(invalid(
            stack_file_label.unwrap_or_else(|| "--profile".into()),
            "the stack has no components",
            Some("add components, or extend a profile with `extends:`".into()),
        ));
    }
    let name = match stack_name {
        Some(n) => n,
        None => user_path
            .as_ref()
            .and_then(|p| p.file_stem())
            .map(|s| s.to_string_lossy().to_ascii_lowercase())
            .filter(|s| is_dns_label(s))
            .unwrap_or_else(|| "landscape".into()),
    };
    Ok(Stack {
        name,
        profile: profile_name,
        description,
        file: user_path,
        components,
    })
}

struct Layer {
    file: String,
    stack: StackFile,
    base_dir: Option<PathBuf>,
}

fn check_needs(
    draft: &Draft,
    names: &[String],
    disabled: &BTreeSet<String>,
) -> Result<(), StackError> {
    for need in draft.entry.needs.iter().flatten() {
        let where_ = at_spanned(&draft.needs_file, need);
        if need.value == draft.name {
            return Err(invalid(
                where_,
                format!("component `{}` needs itself", draft.name),
                None,
            ));
        }
        if disabled.contains(&need.value) {
            return Err(invalid(
                where_,
                format!(
                    "component `{}` needs `{}`, which is disabled",
                    draft.name, need.value
                ),
                Some(format!("enable `{}` again or remove the need", need.value)),
            ));
        }
        if !names.contains(&need.value) {
            return Err(invalid(
                where_,
                format!(
                    "component `{}` needs `{}`, which is not in the stack",
                    draft.name, need.value
                ),
                Some(did_you_mean(&need.value, names.iter().map(String::as_str))),
            ));
        }
    }
    Ok(())
}

fn apply_values_file(path: &Path, drafts: &mut [Draft]) -> Result<(), StackError> {
    let text = std::fs::read_to_string(path).map_err(|source| StackError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let file = path.display().to_string();
    let tree: tree::Tree = crate::yaml::from_str(&text)
        .map_err(|e| invalid(at(&file, e.position), e.message, None))?;
    let mut positions = Positions::new();
    let value = tree.into_value("", &mut positions);
    let map = match value {
        Value::Null => return Ok(()),
        Value::Object(m) => m,
        _ => {
            return Err(invalid(
                file,
                "a values file must be a map of component names to values",
                Some("for example `velero: {backup: {bucket: my-bucket}}`".into()),
            ));
        }
    };
    for (component, v) in map {
        let names: Vec<String> = drafts.iter().map(|d| d.name.clone()).collect();
        let Some(draft) = drafts.iter_mut().find(|d| d.name == component) else {
            return Err(invalid(
                at(&file, positions.get(&component).cloned()),
                format!("unknown component `{component}`"),
                Some(did_you_mean(&component, names.iter().map(String::as_str))),
            ));
        };
        if let Some(u) = values::unknown_keys(&draft.schema, &v).first() {
            let prefixed: Positions = positions
                .iter()
                .filter_map(|(k, p)| {
                    k.strip_prefix(&format!("{component}."))
                        .map(|r| (r.to_string(), p.clone()))
                })
                .collect();
            return Err(unknown_value_error(&file, &prefixed, &component, u));
        }
        draft.add_values(v);
    }
    Ok(())
}

fn apply_set(arg: &str, drafts: &mut [Draft]) -> Result<(), StackError> {
    let assignments =
        values::parse_set(arg).map_err(|msg| invalid(format!("--set {arg}"), msg, None))?;
    for a in assignments {
        let location = format!("--set {}", a.text);
        let component = a.component().unwrap_or_default().to_string();
        let names: Vec<String> = drafts.iter().map(|d| d.name.clone()).collect();
        let Some(draft) = drafts.iter_mut().find(|d| d.name == component) else {
            return Err(invalid(
                location,
                format!("unknown component `{component}`"),
                Some(did_you_mean(&component, names.iter().map(String::as_str))),
            ));
        };
        if let Some(u) = values::unknown_keys(&draft.schema, &a.to_tree()).first() {
            let key = u.path.rsplit('.').next().unwrap_or(&u.path);
            return Err(invalid(
                location,
                format!("unknown value `{component}.{}`", u.path),
                Some(did_you_mean(key, u.known.iter().map(String::as_str))),
            ));
        }
        merge_schema(&mut draft.schema, &a.to_tree());
        values::assign(&mut draft.values, &a.path[1..], a.value.clone());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stack_files_patches_add_to_the_components_own() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("landscape.yaml"),
            "name: t\nextends: large\ncomponents:\n  thanos:\n    patches:\n      - target: {kind: Service, name: thanos-query}\n        patch: |\n          metadata: {annotations: {a: b}}\n    exclude:\n      - {kind: ServiceMonitor}\n",
        )
        .unwrap();
        let stack = load(&StackRequest {
            profile: None,
            stack_file: None,
            values_files: Vec::new(),
            set: Vec::new(),
            working_dir: dir.path().to_path_buf(),
            sources_dir: None,
        })
        .unwrap();
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
    }
}
