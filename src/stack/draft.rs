//! A component being resolved: the layers of its definition (catalog, profile, stack file)
//! laid one over the other, its values merged, then checked and turned into a
//! [`Component`].

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;
use serde_saphyr::Spanned;

use super::error::{StackError, at, at_spanned, did_you_mean, invalid};
use super::model::{ComponentEntry, SourceSpec};
use super::tree::{Positions, Tree};
use super::values::{self, UnknownKey, merge};
use super::{Category, Component, DEFAULT_COMPONENT_TIMEOUT, ReadinessRule, Source, catalog_names};

/// A component being resolved: its layers, lowest first.
pub(super) struct Draft {
    pub name: String,
    /// Where the component was first declared, for messages.
    declared_in: String,
    pub entry: ComponentEntry,
    /// Where each layer came from, and where its `needs` and values were written.
    pub needs_file: String,
    /// The files the sources and the timeout were written in (their positions are theirs).
    sources_file: String,
    timeout_file: String,
    replaces_file: String,
    pub values: Value,
    /// Keys known so far, including those whose value is null (required values).
    pub schema: Value,
    base_dir: Option<PathBuf>,
}

impl Draft {
    pub fn new(name: &str, declared_in: &str, base_dir: Option<PathBuf>) -> Draft {
        Draft {
            name: name.to_string(),
            declared_in: declared_in.to_string(),
            entry: ComponentEntry::default(),
            needs_file: declared_in.to_string(),
            sources_file: declared_in.to_string(),
            timeout_file: declared_in.to_string(),
            replaces_file: declared_in.to_string(),
            values: Value::Object(Default::default()),
            schema: Value::Object(Default::default()),
            base_dir,
        }
    }

    /// Lays `over` on top of what the draft holds. Scalar fields and lists replace, values
    /// merge. `check_values` rejects value keys the lower layers do not know.
    pub fn overlay(
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
            wait_for,
            timeout,
            patches,
            pod_security,
            namespace_annotations,
            exclude,
            secrets,
            replace: replace_setting,
            replaces,
            requires,
            lint_exempt,
        } = over;
        if let Some(v) = values {
            self.overlay_values(file, v, check_values)?;
        }
        let e = &mut self.entry;
        replace(&mut e.category, category);
        replace(&mut e.version, version);
        replace(&mut e.namespace, namespace);
        replace(&mut e.description, description);
        if replace(&mut e.needs, needs) {
            self.needs_file = file.to_string();
        }
        replace(&mut e.cni, cni);
        if replace(&mut e.sources, sources) {
            self.sources_file = file.to_string();
            self.base_dir = base_dir.map(Path::to_path_buf);
        }
        replace(&mut e.required, required);
        replace(&mut e.readiness, readiness);
        replace(&mut e.wait_for, wait_for);
        if replace(&mut e.timeout, timeout) {
            self.timeout_file = file.to_string();
        }
        // Patches and exclusions add up: a stack file's patch must not silently drop the
        // ones a component needs to work.
        add_up(&mut e.patches, patches);
        replace(&mut e.pod_security, pod_security);
        if let Some(a) = namespace_annotations {
            e.namespace_annotations
                .get_or_insert_with(Default::default)
                .extend(a);
        }
        add_up(&mut e.exclude, exclude);
        // Secret paths add up too: a layer never makes a credential printable again.
        add_up(&mut e.secrets, secrets);
        replace(&mut e.replace, replace_setting);
        if let Some(r) = requires {
            e.requires.get_or_insert_with(Default::default).overlay(r);
        }
        if let Some(exempt) = lint_exempt {
            e.lint_exempt
                .get_or_insert_with(Default::default)
                .extend(exempt);
        }
        if replace(&mut e.replaces, replaces) {
            self.replaces_file = file.to_string();
        }
        Ok(())
    }

    /// Merges a layer's values over the draft's; with `check_values`, a key no lower layer
    /// knows is an error (a typo would otherwise be ignored without a word).
    fn overlay_values(
        &mut self,
        file: &str,
        values: Tree,
        check_values: bool,
    ) -> Result<(), StackError> {
        let mut positions = Positions::new();
        let v = values.into_value("", &mut positions);
        if check_values {
            reject_unknown(file, &positions, &self.name, &self.schema, &v)?;
        }
        self.add_values(v);
        Ok(())
    }

    pub fn add_values(&mut self, v: Value) {
        merge_schema(&mut self.schema, &v);
        merge(&mut self.values, v);
    }

    /// The component's sources, resolved against the folder of the file that gave them.
    fn sources(&self, specs: Vec<Spanned<SourceSpec>>) -> Result<Vec<Source>, StackError> {
        if specs.is_empty() {
            return Err(invalid(
                self.declared_in.clone(),
                format!("component `{}` has no sources", self.name),
                Some("add `sources:` with a `url`, `file`, `templateDir` or `chart`".into()),
            ));
        }
        specs
            .iter()
            .map(|spec| resolve_source(&self.sources_file, spec, self.base_dir.as_deref()))
            .collect()
    }

    pub fn finish(mut self) -> Result<Component, StackError> {
        let specs = self.entry.sources.take().unwrap_or_default();
        let sources = self.sources(specs)?;
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
        let timeout = match e.timeout {
            None => DEFAULT_COMPONENT_TIMEOUT,
            Some(t) => crate::duration::parse(&t.value)
                .map_err(|msg| invalid(at_spanned(&self.timeout_file, &t), msg, None))?,
        };
        let namespace = e.namespace.unwrap_or_else(|| self.name.clone());
        if !crate::k8s::names::is_dns1123_label(&namespace) {
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
            readiness: e
                .readiness
                .unwrap_or_default()
                .into_iter()
                .map(ReadinessRule::from)
                .collect(),
            wait_for: e.wait_for.unwrap_or_default(),
            timeout,
            patches: e
                .patches
                .unwrap_or_default()
                .into_iter()
                .map(|p| p.value)
                .collect(),
            pod_security: e.pod_security,
            namespace_annotations: e.namespace_annotations.unwrap_or_default(),
            exclude: e.exclude.unwrap_or_default(),
            secrets: e.secrets.unwrap_or_default(),
            replace_allowed: e.replace == Some(super::model::ReplaceSetting::Allow),
            replaces: e.replaces.map(|r| r.value),
            requires: e.requires.unwrap_or_default(),
            lint_exempt: e.lint_exempt.unwrap_or_default(),
        })
    }
}

/// A layer's field replaces the lower layers' when the layer sets it; says whether it did.
fn replace<T>(slot: &mut Option<T>, over: Option<T>) -> bool {
    match over {
        Some(value) => {
            *slot = Some(value);
            true
        }
        None => false,
    }
}

/// A layer's list adds to the lower layers' instead of replacing it.
fn add_up<T>(slot: &mut Option<Vec<T>>, more: Option<Vec<T>>) {
    if let Some(more) = more {
        slot.get_or_insert_with(Vec::new).extend(more);
    }
}

/// Like [`merge`], but keeps keys whose value is null: the set of keys values may use.
pub(super) fn merge_schema(schema: &mut Value, over: &Value) {
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

pub(super) fn unknown_value_error(
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

/// One `sources:` entry, checked and resolved: local paths made relative to the file that
/// names them.
fn resolve_source(
    file: &str,
    spec: &Spanned<SourceSpec>,
    base_dir: Option<&Path>,
) -> Result<Source, StackError> {
    let s = &spec.value;
    let where_ = at_spanned(file, spec);
    check_source_fields(&where_, s)?;
    let local = |p: &PathBuf| match base_dir {
        Some(dir) if p.is_relative() => dir.join(p),
        _ => p.clone(),
    };
    Ok(if let Some(url) = &s.url {
        url_source(&where_, s, url)?
    } else if let Some(p) = &s.file {
        Source::File {
            path: local(p),
            set_namespace: s.set_namespace,
        }
    } else if let Some(name) = &s.template {
        if !crate::assets::has_template_folder(name) {
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
        check_chart(&where_, &chart)?;
        Source::Chart(chart)
    })
}

/// A source is exactly one kind of source, and its options belong to that kind.
fn check_source_fields(where_: &str, s: &SourceSpec) -> Result<(), StackError> {
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
    Ok(())
}

/// A `url` source: http(s) only, plain http only when pinned, the pin a real sha256.
fn url_source(where_: &str, s: &SourceSpec, url: &str) -> Result<Source, StackError> {
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(invalid(
            where_,
            format!("`{url}` is not an http(s) URL"),
            Some("use `file:` for local manifests".into()),
        ));
    }
    if url.starts_with("http://") && s.sha256.is_none() {
        return Err(invalid(
            where_,
            format!("`{url}` is fetched over plain http with nothing to verify it by"),
            Some("use https, or pin its content with `sha256:`".into()),
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
    Ok(Source::Url {
        url: url.to_string(),
        sha256: s.sha256.as_ref().map(|x| x.to_ascii_lowercase()),
        set_namespace: s.set_namespace,
    })
}

/// Checks the strings of a chart source that reach helm or a URL: the repository (https,
/// no spaces), the chart's name and version (letters, digits, `.`, `-`, `_`, `+`; not
/// starting with `-`), the release name (a Helm release name).
fn check_chart(where_: &str, chart: &super::ChartSpec) -> Result<(), StackError> {
    let word = |s: &str| {
        !s.is_empty()
            && s.len() <= 128
            && !s.starts_with('-')
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'+'))
    };
    let repo = &chart.repository;
    if !repo.starts_with("https://") || repo.len() > 2048 || repo.contains(char::is_whitespace) {
        return Err(invalid(
            where_,
            format!("chart repository `{repo}` is not an https URL"),
            Some(
                "chart repositories are read over https (a mirror may serve them otherwise)".into(),
            ),
        ));
    }
    if !word(&chart.name) || !word(&chart.version) {
        return Err(invalid(
            where_,
            format!(
                "chart `{}` version `{}`: names and versions are letters, digits, `.`, `-`, `_` and `+`",
                chart.name, chart.version
            ),
            None,
        ));
    }
    if let Some(release) = &chart.release
        && !crate::k8s::names::is_helm_release(release)
    {
        return Err(invalid(
            where_,
            format!("release name `{release}` is not valid"),
            Some("at most 53 lowercase letters, digits and dashes".into()),
        ));
    }
    Ok(())
}

/// Every need names a component of the stack, not itself and not a disabled one.
pub(super) fn check_needs(
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

/// A component's `replaces:` names the component it used to be: not itself, not one still
/// in the stack, and not one another component already replaces.
pub(super) fn check_replaces(drafts: &[Draft]) -> Result<(), StackError> {
    let mut taken: BTreeSet<&str> = BTreeSet::new();
    for draft in drafts {
        let Some(old) = &draft.entry.replaces else {
            continue;
        };
        let where_ = at_spanned(&draft.replaces_file, old);
        let problem = if old.value == draft.name {
            Some(format!("component `{}` replaces itself", draft.name))
        } else if drafts.iter().any(|d| d.name == old.value) {
            Some(format!(
                "component `{}` replaces `{}`, which is still in the stack",
                draft.name, old.value
            ))
        } else if !taken.insert(&old.value) {
            Some(format!(
                "component `{}` replaces `{}`, which another component already replaces",
                draft.name, old.value
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(invalid(
                where_,
                problem,
                Some(
                    "`replaces:` names the component's old name, once it is gone from the stack"
                        .into(),
                ),
            ));
        }
    }
    Ok(())
}
