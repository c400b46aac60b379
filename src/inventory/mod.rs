//! What landscape owns in a cluster, and what it needs to work on it again later: one
//! inventory per installed stack.
//!
//! The inventory names the stack and where it came from (its identity), lists every
//! member by component — objects landscape created apart from objects it adopted — and
//! records what a later `diff`, `status` or `down` needs without the user's files: the
//! inputs, the install order, each component's readiness rules. It is written before the
//! first object is created and again as members are added, so a run killed at any point
//! leaves an inventory the next run completes.
//!
//! Ownership is membership: an object that is not in the inventory is never modified or
//! deleted, whatever labels it carries. How it is stored is [`store`]'s business.

mod legacy;
mod members;
pub mod store;
pub mod sync;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use members::Members;
pub use store::{applyset_id, parent_name};

use crate::health::ReadinessRule;
use crate::k8s::{Object, ObjectKey, labels};

/// Where a stack came from: what makes two runs the same stack.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "camelCase")]
pub enum Origin {
    /// A built-in profile, on its own.
    Profile { profile: String },
    /// A stack file: its absolute path, and the name it declares (if any).
    File {
        path: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        declared_name: Option<String>,
    },
}

impl Origin {
    /// Whether a run from `other` is the same stack as one recorded from `self`. A stack
    /// file that declares its name is the same stack wherever the file lies (CI checks
    /// repositories out at paths that change); one that does not is known by its path.
    pub fn same_stack(&self, other: &Origin) -> bool {
        match (self, other) {
            (Origin::Profile { profile: a }, Origin::Profile { profile: b }) => a == b,
            (
                Origin::File {
                    declared_name: Some(a),
                    ..
                },
                Origin::File {
                    declared_name: Some(b),
                    ..
                },
            ) => a == b,
            (
                Origin::File {
                    path: a,
                    declared_name: None,
                },
                Origin::File {
                    path: b,
                    declared_name: None,
                },
            ) => a == b,
            _ => false,
        }
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Profile { profile } => write!(f, "the built-in profile `{profile}`"),
            Origin::File {
                path,
                declared_name: Some(n),
            } => write!(f, "the stack file {path} (name: {n})"),
            Origin::File {
                path,
                declared_name: None,
            } => write!(f, "the stack file {path} (no name: of its own)"),
        }
    }
}

/// A stack's name and origin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StackIdentity {
    pub name: String,
    pub origin: Origin,
    /// The built-in profile it extends, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

/// One `-f` values file as recorded: its name (for messages) and its text, with the values
/// the stack marks secret taken out.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedFile {
    pub label: String,
    pub text: String,
}

/// What the stack was installed from, so that `diff`, `status` and `down` can rebuild it
/// with no flags. Values the stack marks secret are never recorded: only that they were
/// given (`secrets_given`), so a replay can ask for them again by name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Inputs {
    /// The stack file, when one was used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_file: Option<RecordedFile>,
    #[serde(default)]
    pub values_files: Vec<RecordedFile>,
    #[serde(default)]
    pub set: Vec<String>,
    /// `--set-string` arguments, and `--set-file` ones as the text they set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub set_string: Vec<String>,
    /// Secret value paths (`component.path`) that were given and are not recorded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets_given: Vec<String>,
}

/// One component's record.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// RFC 3339; empty until the component was first healthy.
    #[serde(default)]
    pub last_applied: String,
    #[serde(default)]
    pub cni: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub readiness: Vec<ReadinessRule>,
    /// Objects landscape created (or took back): deleted by prune and `down`.
    #[serde(default)]
    pub objects: Members,
    /// Objects that existed before and were taken over with `--force-conflicts`: applied
    /// like members, but released rather than deleted unless asked.
    #[serde(default, skip_serializing_if = "Members::is_empty")]
    pub adopted: Members,
}

/// Whether a run completed. A run records the whole plan before its first write, as
/// `Installing`, and `Installed` at the end of a successful run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RunState {
    #[default]
    Installing,
    Installed,
    Failed,
}

/// A stack's inventory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Inventory {
    pub identity: StackIdentity,
    #[serde(default)]
    pub state: RunState,
    /// Components in install order; removal goes the other way.
    #[serde(default)]
    pub order: Vec<String>,
    #[serde(default)]
    pub components: BTreeMap<String, ComponentRecord>,
    /// Objects no longer part of any component but kept on purpose (CRDs, volumes,
    /// namespaces holding others' objects): still landscape's, so a later install or an
    /// opted-in prune may use them.
    #[serde(default)]
    pub retained: Members,
    #[serde(default)]
    pub inputs: Inputs,
    /// Digests of what was applied, for converged runs to skip what is in sync.
    #[serde(default, skip_serializing_if = "sync::SyncRecord::is_empty")]
    pub sync: sync::SyncRecord,
    #[serde(default)]
    pub updated: String,
    /// The stored parent's resourceVersion when read: the next save is conditional on it.
    #[serde(skip)]
    pub resource_version: Option<String>,
}

/// How an object relates to the stack's inventory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Membership {
    /// Not recorded at all.
    None,
    /// Created by landscape.
    Member,
    /// Existed before; taken over with `--force-conflicts`.
    Adopted,
    /// No longer rendered, kept on purpose.
    Retained,
}

impl Inventory {
    pub fn new(identity: StackIdentity) -> Inventory {
        Inventory {
            identity,
            state: RunState::Installing,
            order: Vec::new(),
            components: BTreeMap::new(),
            retained: Members::default(),
            inputs: Inputs::default(),
            sync: Default::default(),
            updated: String::new(),
            resource_version: None,
        }
    }

    pub fn stack(&self) -> &str {
        &self.identity.name
    }

    /// The stack's ApplySet id, which every member carries in its part-of label.
    pub fn applyset(&self) -> String {
        applyset_id(self.stack())
    }

    pub fn membership(&self, key: &ObjectKey) -> Membership {
        if self.components.values().any(|c| c.objects.contains(key)) {
            Membership::Member
        } else if self.components.values().any(|c| c.adopted.contains(key)) {
            Membership::Adopted
        } else if self.retained.contains(key) {
            Membership::Retained
        } else {
            Membership::None
        }
    }

    /// Whether landscape owns this live object: it is recorded, and it still carries the
    /// stack's ApplySet label — an object someone deleted and re-created under the same
    /// name is theirs, not ours.
    pub fn owns_live(&self, live: &Object) -> bool {
        self.membership(&live.key()) != Membership::None
            && live.label(labels::APPLYSET_PART_OF) == Some(self.applyset().as_str())
    }

    /// Every recorded object with the component it belongs to (retained ones under None).
    pub fn members(&self) -> Vec<(Option<&str>, ObjectKey, Membership)> {
        let mut out = Vec::new();
        for (name, c) in &self.components {
            for k in c.objects.iter() {
                out.push((Some(name.as_str()), k.clone(), Membership::Member));
            }
            for k in c.adopted.iter() {
                out.push((Some(name.as_str()), k.clone(), Membership::Adopted));
            }
        }
        for k in self.retained.iter() {
            out.push((None, k.clone(), Membership::Retained));
        }
        out
    }

    /// Adds objects to a component (before they are created or taken over, so that a
    /// crash never leaves one unrecorded); a retained object rendered again is a member
    /// again, and an object another component owned moves here (keeping whether it was
    /// adopted). Returns whether anything changed.
    pub fn add(&mut self, component: &str, keys: &[(ObjectKey, Membership)]) -> bool {
        let mut changed = false;
        for (k, how) in keys {
            changed |= self.retained.remove(k);
            let mut was_adopted = false;
            for (_, other) in self
                .components
                .iter_mut()
                .filter(|(name, _)| name.as_str() != component)
            {
                changed |= other.objects.remove(k);
                if other.adopted.remove(k) {
                    was_adopted = true;
                    changed = true;
                }
            }
            let record = self.components.entry(component.to_string()).or_default();
            // A taken-over object is adopted even under a name landscape once created: the
            // object there now is someone else's.
            changed |= match how {
                Membership::Adopted => record.objects.remove(k) | record.adopted.insert(k.clone()),
                _ if was_adopted || record.adopted.contains(k) => record.adopted.insert(k.clone()),
                _ => record.objects.insert(k.clone()),
            };
        }
        changed
    }

    /// Whether `component` records `key` (created or adopted).
    pub fn records(&self, component: &str, key: &ObjectKey) -> bool {
        self.components
            .get(component)
            .is_some_and(|c| c.objects.contains(key) || c.adopted.contains(key))
    }

    /// Moves everything component `old` owns to `new` (a component renamed with
    /// `replaces:`), and forgets `old`. Returns whether anything moved.
    pub fn rename_component(&mut self, old: &str, new: &str) -> bool {
        let Some(from) = self.components.remove(old) else {
            return false;
        };
        let to = self.components.entry(new.to_string()).or_default();
        to.objects.extend(from.objects);
        to.adopted.extend(from.adopted);
        if to.version.is_none() {
            to.version = from.version;
        }
        for name in self.order.iter_mut().filter(|n| n.as_str() == old) {
            *name = new.to_string();
        }
        true
    }

    /// Forgets objects of a component (deleted, or released).
    pub fn forget(&mut self, component: &str, keys: &[ObjectKey]) {
        if let Some(record) = self.components.get_mut(component) {
            for k in keys {
                record.objects.remove(k);
                record.adopted.remove(k);
            }
        }
    }

    /// Moves objects to the retained set (kept on purpose).
    pub fn retain(&mut self, keys: impl IntoIterator<Item = ObjectKey>) {
        for k in keys {
            for c in self.components.values_mut() {
                c.objects.remove(&k);
                c.adopted.remove(&k);
            }
            self.retained.insert(k);
        }
    }

    /// A component's objects, created and adopted.
    pub fn component_objects(&self, component: &str) -> Vec<ObjectKey> {
        self.components
            .get(component)
            .map(|c| c.objects.iter().chain(c.adopted.iter()).cloned().collect())
            .unwrap_or_default()
    }

    /// Components in removal order: dependents first (the install order reversed), then
    /// any recorded component the order does not name.
    pub fn removal_order(&self) -> Vec<String> {
        let mut order: Vec<String> = self
            .order
            .iter()
            .rev()
            .filter(|c| self.components.contains_key(*c))
            .cloned()
            .collect();
        for name in self.components.keys() {
            if !order.contains(name) {
                order.insert(0, name.clone());
            }
        }
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kind: &str, name: &str) -> ObjectKey {
        ObjectKey {
            group: String::new(),
            kind: kind.into(),
            namespace: Some("ns".into()),
            name: name.into(),
        }
    }

    fn identity() -> StackIdentity {
        StackIdentity {
            name: "small".into(),
            origin: Origin::Profile {
                profile: "small".into(),
            },
            profile: Some("small".into()),
        }
    }

    #[test]
    fn adopted_objects_are_recorded_apart_from_created_ones() {
        let mut inv = Inventory::new(identity());
        let created = key("ConfigMap", "ours");
        let adopted = key("ConfigMap", "theirs");
        assert!(inv.add(
            "a",
            &[
                (created.clone(), Membership::Member),
                (adopted.clone(), Membership::Adopted)
            ]
        ));
        assert_eq!(inv.membership(&created), Membership::Member);
        assert_eq!(inv.membership(&adopted), Membership::Adopted);
        assert!(!inv.add("a", &[(created.clone(), Membership::Member)]));
        // Taking over an object under a name landscape created makes it adopted.
        let mut again = inv.clone();
        again.add("a", &[(created.clone(), Membership::Adopted)]);
        assert_eq!(again.membership(&created), Membership::Adopted);
        inv.retain([created.clone()]);
        assert_eq!(inv.membership(&created), Membership::Retained);
        assert!(inv.add("a", &[(created.clone(), Membership::Member)]));
        assert_eq!(inv.membership(&created), Membership::Member);
    }

    #[test]
    fn objects_move_between_components_and_with_a_rename() {
        let mut inv = Inventory::new(identity());
        let cm = key("ConfigMap", "shared");
        let taken = key("ConfigMap", "taken");
        inv.add(
            "a",
            &[
                (cm.clone(), Membership::Member),
                (taken.clone(), Membership::Adopted),
            ],
        );
        inv.order = vec!["a".into()];
        // Rendered by `b` now: it moves, and an adopted object stays adopted.
        assert!(inv.add(
            "b",
            &[
                (cm.clone(), Membership::Member),
                (taken.clone(), Membership::Member)
            ]
        ));
        assert!(!inv.records("a", &cm) && inv.records("b", &cm));
        assert_eq!(inv.membership(&taken), Membership::Adopted);
        assert!(inv.component_objects("a").is_empty());
        assert!(inv.rename_component("b", "c"));
        assert!(!inv.components.contains_key("b"));
        assert_eq!(inv.component_objects("c").len(), 2);
        assert!(!inv.rename_component("gone", "c"));
    }

    #[test]
    fn origins_match_by_declared_name_or_else_by_path() {
        let file = |path: &str, name: Option<&str>| Origin::File {
            path: path.into(),
            declared_name: name.map(str::to_string),
        };
        let profile = Origin::Profile {
            profile: "small".into(),
        };
        assert!(profile.same_stack(&profile.clone()));
        assert!(!profile.same_stack(&file("/a/landscape.yaml", None)));
        assert!(file("/a/l.yaml", Some("web")).same_stack(&file("/b/l.yaml", Some("web"))));
        assert!(!file("/a/l.yaml", None).same_stack(&file("/b/l.yaml", None)));
        assert!(file("/a/l.yaml", None).same_stack(&file("/a/l.yaml", None)));
    }

    #[test]
    fn removal_goes_against_the_install_order() {
        let mut inv = Inventory::new(identity());
        for c in ["net", "a", "b", "stray"] {
            inv.add(c, &[(key("ConfigMap", c), Membership::Member)]);
        }
        inv.order = vec!["net".into(), "a".into(), "b".into()];
        assert_eq!(inv.removal_order(), ["stray", "b", "a", "net"]);
    }
}
