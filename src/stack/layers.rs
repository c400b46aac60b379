//! The phases of loading a stack: which files make it (a built-in profile, a stack file),
//! how their components are laid over the catalog and each other, and how values files
//! and `--set` go on top.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::draft::{Draft, merge_schema, unknown_value_error};
use super::error::{StackError, at, at_spanned, did_you_mean, invalid};
use super::model::{ComponentEntry, StackFile};
use super::tree::{self, Positions};
use super::{DEFAULT_STACK_FILE, Input, StackRequest, builtin, profile_names, values};
use crate::files::{INPUT_LIMIT, read_text};

/// One stack file of the stack (the profile, then the user's), parsed.
pub(super) struct Layer {
    /// The file's name in messages.
    pub label: String,
    pub file: StackFile,
    /// Where its relative paths point (None for built-in files).
    pub base_dir: Option<PathBuf>,
}

/// The user's stack file, read.
pub(super) struct UserFile {
    pub layer: Layer,
    /// Where it is (for the stack's identity, its default name and its lock).
    pub path: PathBuf,
    pub text: String,
}

/// Finds the stack file to use: `--stack`, else `landscape.yaml` in the working directory
/// (unless `--profile` alone is given).
pub fn find_stack_file(req: &StackRequest) -> Option<Input> {
    if let Some(input) = &req.stack_file {
        return Some(input.clone());
    }
    let candidate = req.working_dir.join(DEFAULT_STACK_FILE);
    candidate.is_file().then_some(Input::Path(candidate))
}

/// Reads an input: a file, or text recorded by an earlier run.
pub(super) fn read_input(input: &Input) -> Result<(String, String), StackError> {
    match input {
        Input::Path(path) => {
            let text = read_text(path, INPUT_LIMIT).map_err(|source| StackError::Read {
                path: path.clone(),
                source,
            })?;
            Ok((path.display().to_string(), text))
        }
        Input::Recorded { label, text, .. } => Ok((label.clone(), text.clone())),
    }
}

/// The user's stack file, if the request names one (or finds `landscape.yaml`). A profile
/// given by `--profile` wins over a `landscape.yaml` lying around; one given only by
/// `LANDSCAPE_PROFILE` does not silently: that is ambiguous.
pub(super) fn user_file(req: &StackRequest) -> Result<Option<UserFile>, StackError> {
    let found = find_stack_file(req);
    let input = match (&req.profile, &req.stack_file, found) {
        (Some(p), None, Some(Input::Path(file))) if p.from_env => {
            return Err(StackError::Ambiguous {
                profile: p.name.clone(),
                file,
            });
        }
        (Some(_), None, Some(_)) => return Ok(None),
        (_, _, None) => return Ok(None),
        (_, _, Some(input)) => input,
    };
    let (label, text) = read_input(&input)?;
    let file = parse_stack_file(&label, &text)?;
    let path = input.path().to_path_buf();
    let base_dir = path.parent().map(Path::to_path_buf);
    Ok(Some(UserFile {
        layer: Layer {
            label,
            file,
            base_dir,
        },
        path,
        text,
    }))
}

/// The built-in profile the stack is based on: the stack file's `extends`, else
/// `--profile`.
pub(super) fn profile_layer(
    req: &StackRequest,
    user: Option<&UserFile>,
) -> Result<Option<(String, Layer)>, StackError> {
    let extends = user.and_then(|u| {
        u.layer
            .file
            .extends
            .as_ref()
            .map(|e| (e.value.clone(), at_spanned(&u.layer.label, e)))
    });
    let (name, location) = match (extends, &req.profile) {
        (Some((name, location)), _) => (name, location),
        (None, Some(p)) => (p.name.clone(), "--profile".to_string()),
        (None, None) => return Ok(None),
    };
    let file = builtin::profile(&name).ok_or_else(|| {
        let names = profile_names();
        invalid(
            location,
            format!("unknown profile `{name}`"),
            Some(did_you_mean(&name, names.iter().map(String::as_str))),
        )
    })?;
    let parsed = parse_stack_file(&file.path, &file.text)?;
    Ok(Some((
        name,
        Layer {
            label: file.path,
            file: parsed,
            base_dir: None,
        },
    )))
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

/// What the layers make of the stack besides its components.
#[derive(Default)]
pub(super) struct Overall {
    pub name: Option<String>,
    pub description: Option<String>,
    pub disabled: BTreeSet<String>,
    pub requires: super::model::Requirements,
    pub promises: Option<super::model::Promises>,
}

/// Lays the layers' components one over the other (each new component over its catalog
/// definition, if it has one) and applies their `disable` lists.
pub(super) fn components(layers: Vec<Layer>) -> Result<(Vec<Draft>, Overall), StackError> {
    let mut drafts: Vec<Draft> = Vec::new();
    let mut overall = Overall::default();
    for layer in layers {
        let Layer {
            label,
            file,
            base_dir,
        } = layer;
        if let Some(d) = file.description {
            overall.description = Some(d);
        }
        if let Some(r) = file.requires {
            overall.requires.overlay(r);
        }
        if let Some(p) = file.promises {
            overall.promises = Some(p);
        }
        if let Some(n) = file.name {
            if !crate::k8s::names::is_dns1123_label(&n.value) {
                return Err(invalid(
                    at_spanned(&label, &n),
                    format!("stack name `{}` is not valid", n.value),
                    Some("use at most 63 lowercase letters, digits and dashes".into()),
                ));
            }
            overall.name = Some(n.value);
        }
        for d in &file.disable {
            let known: Vec<&str> = drafts.iter().map(|d| d.name.as_str()).collect();
            if !known.contains(&d.value.as_str()) {
                return Err(invalid(
                    at_spanned(&label, d),
                    format!(
                        "cannot disable `{}`: no such component in the profile",
                        d.value
                    ),
                    Some(did_you_mean(&d.value, known)),
                ));
            }
            overall.disabled.insert(d.value.clone());
            drafts.retain(|x| x.name != d.value);
        }
        for (key, entry) in file.components.0 {
            let where_ = at_spanned(&label, &key);
            let name = key.value;
            if !crate::k8s::names::is_dns1123_label(&name) {
                return Err(invalid(
                    where_,
                    format!("component name `{name}` is not valid"),
                    Some("use at most 63 lowercase letters, digits and dashes".into()),
                ));
            }
            if overall.disabled.contains(&name) {
                return Err(invalid(
                    where_,
                    format!("component `{name}` is both disabled and configured"),
                    Some("remove it from `disable` or drop its entry".into()),
                ));
            }
            match drafts.iter_mut().find(|d| d.name == name) {
                Some(draft) => draft.overlay(&label, entry, base_dir.as_deref(), true)?,
                None => drafts.push(new_draft(
                    &name,
                    &where_,
                    &label,
                    entry,
                    base_dir.as_deref(),
                )?),
            }
        }
    }
    Ok((drafts, overall))
}

/// A component first declared in `label`: over its catalog definition, if there is one.
fn new_draft(
    name: &str,
    declared_at: &str,
    label: &str,
    entry: ComponentEntry,
    base_dir: Option<&Path>,
) -> Result<Draft, StackError> {
    let mut draft = Draft::new(name, declared_at, base_dir.map(Path::to_path_buf));
    let from_catalog = match builtin::catalog_component(name) {
        Some(cat) => {
            let base = parse_catalog_entry(&cat.path, &cat.text)?;
            draft.overlay(&cat.path, base, None, false)?;
            true
        }
        None => false,
    };
    draft.overlay(label, entry, base_dir, from_catalog)?;
    Ok(draft)
}

/// Merges a values file into the components' values; a key no layer below knows is a
/// typo, reported with its line and column.
pub(super) fn apply_values_file(
    label: &str,
    text: &str,
    drafts: &mut [Draft],
) -> Result<(), StackError> {
    let tree: tree::Tree =
        crate::yaml::from_str(text).map_err(|e| invalid(at(label, e.position), e.message, None))?;
    let mut positions = Positions::new();
    let value = tree.into_value("", &mut positions);
    let map = match value {
        Value::Null => return Ok(()),
        Value::Object(m) => m,
        _ => {
            return Err(invalid(
                label,
                "a values file must be a map of component names to values",
                Some("for example `velero: {backup: {bucket: my-bucket}}`".into()),
            ));
        }
    };
    for (component, v) in map {
        let names: Vec<String> = drafts.iter().map(|d| d.name.clone()).collect();
        let Some(draft) = drafts.iter_mut().find(|d| d.name == component) else {
            return Err(invalid(
                at(label, positions.get(&component).cloned()),
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
            return Err(unknown_value_error(label, &prefixed, &component, u));
        }
        draft.add_values(v);
    }
    Ok(())
}

/// Applies one `--set`, `--set-string` or `--set-file` argument. Errors name the keys
/// only: a value may be a secret.
pub(super) fn apply_set(
    arg: &str,
    kind: values::SetKind,
    working_dir: &std::path::Path,
    drafts: &mut [Draft],
) -> Result<(), StackError> {
    let flag = kind.flag();
    let mut assignments = values::parse_set_as(arg, kind)
        .map_err(|msg| invalid(format!("{flag} {}", values::keys_of(arg)), msg, None))?;
    if kind == values::SetKind::File {
        for a in &mut assignments {
            let file = working_dir.join(a.value.as_str().unwrap_or_default());
            let text = crate::files::read_text(&file, crate::files::INPUT_LIMIT).map_err(|e| {
                invalid(
                    format!("{flag} {}", a.key),
                    format!("cannot read {}: {e}", file.display()),
                    Some("give a readable text file: --set-file component.path=FILE".into()),
                )
            })?;
            a.value = serde_json::Value::String(text);
        }
    }
    for a in assignments {
        let location = format!("{flag} {}", a.key);
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
