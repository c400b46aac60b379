//! How the stack asked for differs from the one installed, component by component: its
//! version from → to, whether it is added, removed or renamed (`replaces:`), and how many
//! objects `up` would create, update, replace and delete (from `diff`'s comparison, which
//! `plan --upgrade` runs too).

use serde::Serialize;

use crate::inventory::Inventory;
use crate::stack::Stack;

/// What happens to a component.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ComponentChange {
    /// New in the stack.
    Added,
    /// Installed, and no longer in the stack: its objects are pruned.
    Removed,
    /// Installed under another name, which it `replaces:`: its objects move in place.
    Renamed,
    /// Its version changes.
    Changed,
    /// Same version (its objects may still change: values, templates).
    Unchanged,
}

/// Objects `up` would write, by action.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ObjectCounts {
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub delete: usize,
}

/// One component, installed against asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ComponentUpgrade {
    pub name: String,
    pub change: ComponentChange,
    /// The version installed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The version asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// The name it is installed under, when renamed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
    /// What `up` would write (from `diff`'s dry runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objects: Option<ObjectCounts>,
}

/// Every component of `stack` and of the installed stack, compared; None when nothing
/// differs (same components, same names, same versions).
pub fn compare(installed: &Inventory, stack: &Stack) -> Option<Vec<ComponentUpgrade>> {
    let mut out = Vec::new();
    for c in &stack.components {
        let renamed_from = c
            .replaces
            .clone()
            .filter(|old| installed.components.contains_key(old));
        let record = installed.components.get(&c.name).or_else(|| {
            renamed_from
                .as_ref()
                .and_then(|old| installed.components.get(old))
        });
        let from = record.and_then(|r| r.version.clone());
        let change = match (record, &renamed_from) {
            (None, _) => ComponentChange::Added,
            (Some(_), Some(_)) => ComponentChange::Renamed,
            (Some(_), None) if from != c.version => ComponentChange::Changed,
            (Some(_), None) => ComponentChange::Unchanged,
        };
        out.push(ComponentUpgrade {
            name: c.name.clone(),
            change,
            from,
            to: c.version.clone(),
            renamed_from,
            objects: None,
        });
    }
    let renamed: Vec<String> = out.iter().filter_map(|u| u.renamed_from.clone()).collect();
    for (name, record) in &installed.components {
        if stack.component(name).is_none() && !renamed.contains(name) {
            out.push(ComponentUpgrade {
                name: name.clone(),
                change: ComponentChange::Removed,
                from: record.version.clone(),
                to: None,
                renamed_from: None,
                objects: None,
            });
        }
    }
    out.iter()
        .any(|u| u.change != ComponentChange::Unchanged)
        .then_some(out)
}

/// The upgrade summary with each component's object counts from the diff.
pub fn with_counts(
    mut upgrade: Vec<ComponentUpgrade>,
    components: &[super::ComponentDiff],
) -> Vec<ComponentUpgrade> {
    for u in &mut upgrade {
        let counts = components
            .iter()
            .filter(|c| c.name == u.name || u.renamed_from.as_deref() == Some(c.name.as_str()))
            .fold(ObjectCounts::default(), |acc, c| ObjectCounts {
                create: acc.create + c.create,
                update: acc.update + c.update + c.adopt,
                replace: acc.replace + c.replace,
                delete: acc.delete + c.delete,
            });
        u.objects = Some(counts);
    }
    upgrade
}

/// In a partial run (`--only`, `--skip`), the components left out are not removed: the
/// summary keeps only the selected ones, and is empty when none of them changes.
pub fn selected(
    upgrade: Vec<ComponentUpgrade>,
    stack: &Stack,
    partial: bool,
) -> Vec<ComponentUpgrade> {
    if !partial {
        return upgrade;
    }
    let kept: Vec<ComponentUpgrade> = upgrade
        .into_iter()
        .filter(|u| stack.component(&u.name).is_some())
        .collect();
    if kept.iter().all(|u| u.change == ComponentChange::Unchanged) {
        vec![]
    } else {
        kept
    }
}

/// The summary as text: one line per component.
pub fn text(upgrade: &[ComponentUpgrade]) -> String {
    let mut rows = vec![[
        "COMPONENT".to_string(),
        "CHANGE".to_string(),
        "VERSION".to_string(),
        "OBJECTS".to_string(),
    ]];
    for u in upgrade {
        let version = match (&u.from, &u.to) {
            (Some(a), Some(b)) if a != b => format!("{a} -> {b}"),
            (Some(a), _) | (None, Some(a)) => a.clone(),
            (None, None) => "-".into(),
        };
        let change = match (&u.change, &u.renamed_from) {
            (ComponentChange::Renamed, Some(old)) => format!("renamed from {old}"),
            (change, _) => serde_json::to_value(change)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
        };
        let objects = u.objects.map_or("-".to_string(), |o| {
            format!(
                "{} create, {} update, {} replace, {} delete",
                o.create, o.update, o.replace, o.delete
            )
        });
        rows.push([u.name.clone(), change, version, objects]);
    }
    crate::report::table(&rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{Origin, StackIdentity};

    fn installed(components: &[(&str, &str)]) -> Inventory {
        let mut inv = Inventory::new(StackIdentity {
            name: "s".into(),
            origin: Origin::Profile {
                profile: "s".into(),
            },
            profile: None,
        });
        for (name, version) in components {
            inv.components.entry(name.to_string()).or_default().version = Some(version.to_string());
        }
        inv
    }

    fn stack(yaml: &str) -> Stack {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        std::fs::write(&path, yaml).unwrap();
        crate::stack::load(&crate::stack::StackRequest {
            profile: None,
            stack_file: Some(crate::stack::Input::Path(path)),
            values: vec![],
            set: vec![],
            set_string: vec![],
            set_file: vec![],
            working_dir: dir.path().to_path_buf(),
        })
        .unwrap()
    }

    #[test]
    fn versions_additions_removals_and_renames_are_told() {
        let inv = installed(&[("a", "v1"), ("old", "v1"), ("gone", "v3"), ("same", "v2")]);
        let s = stack(
            "components:\n  a: {category: delivery, version: v2, sources: [{url: https://x.example/a.yaml}]}\n  new: {category: delivery, version: v1, replaces: old, sources: [{url: https://x.example/n.yaml}]}\n  same: {category: delivery, version: v2, sources: [{url: https://x.example/s.yaml}]}\n  fresh: {category: delivery, version: v1, sources: [{url: https://x.example/f.yaml}]}\n",
        );
        let up = compare(&inv, &s).expect("differs");
        let by = |n: &str| up.iter().find(|u| u.name == n).unwrap();
        assert_eq!(by("a").change, ComponentChange::Changed);
        assert_eq!(
            (by("a").from.as_deref(), by("a").to.as_deref()),
            (Some("v1"), Some("v2"))
        );
        assert_eq!(by("new").change, ComponentChange::Renamed);
        assert_eq!(by("new").renamed_from.as_deref(), Some("old"));
        assert_eq!(by("same").change, ComponentChange::Unchanged);
        assert_eq!(by("fresh").change, ComponentChange::Added);
        assert_eq!(by("gone").change, ComponentChange::Removed);
        assert!(
            up.iter().all(|u| u.name != "old"),
            "a renamed component is not also removed"
        );
        let text = text(&up);
        assert!(
            text.contains("v1 -> v2") && text.contains("renamed from old"),
            "{text}"
        );

        let same = installed(&[("same", "v2")]);
        let s = stack(
            "components:\n  same: {category: delivery, version: v2, sources: [{url: https://x.example/s.yaml}]}\n",
        );
        assert_eq!(compare(&same, &s), None, "nothing differs");
    }
}
