//! What a run records of its inputs, and how a later command rebuilds the stack from that
//! record with no files: `diff`, `status` and `down` work with no flags, as Helm's do.
//!
//! Values the stack marks secret are never recorded. They are taken out of the recorded
//! stack file, values files and `--set` arguments; the record says only that they were
//! given, and a replay that needs them asks for them again, by name.

use std::path::PathBuf;

use serde_json::Value;

use crate::inventory::{Inputs, Inventory, Origin, RecordedFile, StackIdentity};
use crate::stack::{Input, Stack, StackError, StackRequest, values};

/// Who the stack is: its name and where it came from.
pub fn identity(stack: &Stack) -> StackIdentity {
    let origin = match &stack.file {
        Some(path) => Origin::File {
            path: absolute(path),
            declared_name: stack.declared_name.clone(),
        },
        None => Origin::Profile {
            profile: stack.profile.clone().unwrap_or_else(|| stack.name.clone()),
        },
    };
    StackIdentity {
        name: stack.name.clone(),
        origin,
        profile: stack.profile.clone(),
    }
}

fn absolute(path: &std::path::Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

/// What the stack was built from, with its secret values taken out.
pub fn inputs(req: &StackRequest, stack: &Stack) -> Inputs {
    let secret = stack.secret_patterns();
    let given: Vec<String> = stack
        .secret_values()
        .into_iter()
        .map(|(path, _)| path)
        .collect();
    let stack_file = match (&stack.file, &stack.file_text) {
        (Some(path), Some(text)) => Some(RecordedFile {
            label: absolute(path),
            text: scrub_stack_file(text, &secret),
        }),
        _ => None,
    };
    let values_files = req
        .values
        .iter()
        .filter_map(|input| {
            let (label, text) = match input {
                Input::Path(p) => (
                    absolute(p),
                    crate::files::read_text(p, crate::files::INPUT_LIMIT).ok()?,
                ),
                Input::Recorded { label, text, .. } => (label.clone(), text.clone()),
            };
            Some(RecordedFile {
                label,
                text: scrub_values(&text, &secret),
            })
        })
        .collect();
    let recorded = |args: &[String]| -> Vec<String> {
        args.iter()
            .flat_map(|arg| values::split_assignments(arg))
            .filter(|(key, _)| !is_secret(key, &secret))
            .map(|(key, raw)| format!("{key}={}", raw.replace(',', "\\,")))
            .collect()
    };
    // A --set-file value is recorded as the text it set, so a later run needs no file.
    let file_texts: Vec<String> = req
        .set_file
        .iter()
        .flat_map(|arg| values::split_assignments(arg))
        .filter_map(|(key, path)| {
            let text =
                crate::files::read_text(&req.working_dir.join(path), crate::files::INPUT_LIMIT)
                    .ok()?;
            Some(format!("{key}={}", text.replace(',', "\\,")))
        })
        .collect();
    Inputs {
        stack_file,
        values_files,
        set: recorded(&req.set),
        set_string: recorded(&[req.set_string.clone(), file_texts].concat()),
        secrets_given: given,
    }
}

/// Whether a `--set` key (`c.list[0].token`) names a secret value (or a map holding one).
fn is_secret(key: &str, patterns: &[String]) -> bool {
    let path = key.replace('[', ".").replace(']', "");
    patterns.iter().any(|p| {
        values::path_matches(&path, p) || {
            // A key above a secret (`c.list[0]={…}` cannot be given, but `c.list` as a
            // whole can in a values file) holds it.
            let depth = path.split('.').count();
            let head: Vec<&str> = p.split('.').take(depth).collect();
            depth < p.split('.').count() && values::path_matches(&path, &head.join("."))
        }
    })
}

/// A values file without the secret values (the text as it was when it holds none).
fn scrub_values(text: &str, secret: &[String]) -> String {
    let Ok(mut tree) = crate::yaml::from_str::<Value>(text) else {
        return text.to_string();
    };
    let mut removed = false;
    for p in secret {
        // Every pattern, even after one matched: `any` would stop at the first.
        removed |= values::remove(&mut tree, p);
    }
    if removed {
        crate::yaml::to_string(&tree)
    } else {
        text.to_string()
    }
}

/// A stack file without the secret values under `components.<name>.values` (their keys
/// stay, blank, so that the values a replay is given again are still declared).
fn scrub_stack_file(text: &str, secret: &[String]) -> String {
    let Ok(mut tree) = crate::yaml::from_str::<Value>(text) else {
        return text.to_string();
    };
    let mut removed = false;
    if let Some(components) = tree.get_mut("components").and_then(Value::as_object_mut) {
        for (name, entry) in components.iter_mut() {
            if let Some(values) = entry.get_mut("values") {
                let prefix = format!("{name}.");
                for p in secret.iter().filter_map(|p| p.strip_prefix(&prefix)) {
                    removed |= values::blank(values, p);
                }
            }
        }
    }
    if removed {
        crate::yaml::to_string(&tree)
    } else {
        text.to_string()
    }
}

/// The request that rebuilds an installed stack from its record, with any values given
/// now on top (the secret ones the record left out, say).
pub fn request_from(inv: &Inventory, values: Vec<Input>, set: Vec<String>) -> StackRequest {
    // `--set-string` and `--set-file` given now are added by the caller.
    let recorded = |f: &RecordedFile| Input::Recorded {
        label: format!("{} (as recorded by the last run)", f.label),
        path: PathBuf::from(&f.label),
        text: f.text.clone(),
    };
    let profile = match (&inv.inputs.stack_file, &inv.identity.origin) {
        (None, Origin::Profile { profile }) => Some(crate::stack::ProfileChoice {
            name: profile.clone(),
            from_env: false,
        }),
        _ => None,
    };
    StackRequest {
        profile,
        stack_file: inv.inputs.stack_file.as_ref().map(recorded),
        values: inv
            .inputs
            .values_files
            .iter()
            .map(recorded)
            .chain(values)
            .collect(),
        set: inv.inputs.set.iter().cloned().chain(set).collect(),
        set_string: inv.inputs.set_string.clone(),
        set_file: vec![],
        working_dir: std::env::temp_dir(),
    }
}

/// A replayed stack must have the secret values the record left out given again.
pub fn check_secrets_given_again(stack: &Stack, inv: &Inventory) -> Result<(), StackError> {
    let missing: Vec<String> = stack
        .missing_values()
        .into_iter()
        .map(|m| m.path)
        .filter(|p| inv.inputs.secrets_given.contains(p))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(StackError::SecretsNotRecorded(missing))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_values_are_taken_out_of_recorded_files() {
        let secret = vec!["grafana.admin.password".to_string()];
        let values = "grafana:\n  admin:\n    password: hunter2-long\n    user: admin\n";
        let scrubbed = scrub_values(values, &secret);
        assert!(!scrubbed.contains("hunter2"), "{scrubbed}");
        assert!(scrubbed.contains("user: admin"));
        let clusters = "argocd-clusters:\n  clusters:\n    - {name: b, bearerToken: tok-123456}\n";
        let pattern = vec!["argocd-clusters.clusters.*.bearerToken".to_string()];
        let scrubbed = scrub_values(clusters, &pattern);
        assert!(
            !scrubbed.contains("tok-123456") && scrubbed.contains("name: b"),
            "{scrubbed}"
        );
        assert!(is_secret(
            "argocd-clusters.clusters[0].bearerToken",
            &pattern
        ));
        assert!(is_secret("argocd-clusters.clusters", &pattern));
        assert!(!is_secret("argocd-clusters.clusters[0].name", &pattern));
        let untouched = "velero: {backup: {bucket: b}}\n";
        assert_eq!(scrub_values(untouched, &secret), untouched);
        let file = "name: s\ncomponents:\n  grafana:\n    values:\n      admin: {password: hunter2-long}\n";
        let scrubbed = scrub_stack_file(file, &secret);
        assert!(!scrubbed.contains("hunter2"), "{scrubbed}");
        let tree: Value = crate::yaml::from_str(&scrubbed).unwrap();
        assert!(
            tree["components"]["grafana"]["values"]["admin"]
                .as_object()
                .unwrap()
                .contains_key("password"),
            "the key stays declared: {scrubbed}"
        );
    }
}
