//! One ownership policy for every command: what landscape may do to an object.
//!
//! `up`, `diff`, pruning and `down` all ask [`decide`], with the same inputs — the object
//! the stack renders (or none, when it no longer does), the live object, what the
//! inventory records about it, the flags, and what the cluster holds around it — so that
//! what `diff` shows in a pull request is exactly what `up` then does.
//!
//! The rules, in one place:
//! - An object is landscape's when the inventory records it *and* it still carries the
//!   stack's ApplySet label; an object someone deleted and re-created under the same name
//!   is theirs. Labels alone never make an object landscape's: anyone can copy a label.
//! - Someone else's object is a conflict, unless `--force-conflicts` takes it over; it is
//!   then recorded as adopted, and released rather than deleted when the stack lets go of
//!   it (unless `--delete-adopted`).
//! - Someone else's namespace is used as it is, never taken over, not even when forced:
//!   owning it would let `down` delete it with everything in it.
//! - What a stack no longer renders is deleted, except what users keep: CRDs (every custom
//!   resource of their kind goes with them) unless `--delete-crds`, and even then not
//!   while custom resources exist unless `--delete-custom-resources`; volume claims (their
//!   data) unless `--delete-volumes`; namespaces that still hold anything else.
//! - A change the API refuses on an existing object (an immutable field) is made by
//!   replacing the object, the way its kind allows ([`crate::k8s::replace`]): Jobs, role
//!   bindings and StatefulSets (orphaning their pods) without asking; what interrupts a
//!   workload or an address only with `--allow-replace`; a volume claim only with that and
//!   `--delete-volumes`.
//! - A CRD that drops a version custom resources are still stored at is refused; one that
//!   stops serving a version while custom resources exist needs
//!   `--allow-crd-version-removal`.

pub mod facts;
mod let_go;

pub use let_go::{LetGo, Verdict, claim_sources, let_go};

use crate::inventory::Membership;
use crate::k8s::replace::{Consent, ReplacePlan};
use crate::k8s::{Object, ObjectKey, labels};

/// The flags that widen what landscape may do.
#[derive(Clone, Copy, Debug, Default)]
pub struct Flags {
    /// Take over objects that exist and belong to someone else.
    pub force_conflicts: bool,
    /// Delete CustomResourceDefinitions the stack lets go of.
    pub delete_crds: bool,
    /// Delete them even while custom resources of their kind exist.
    pub delete_custom_resources: bool,
    /// Delete PersistentVolumeClaims (and their data).
    pub delete_volumes: bool,
    /// Delete objects that were adopted rather than release them.
    pub delete_adopted: bool,
    /// Replace objects whose change the API refuses even when that interrupts a workload
    /// (a selector) or an address (a Service).
    pub allow_replace: bool,
    /// Let a CRD stop serving a version while custom resources exist.
    pub allow_crd_version_removal: bool,
}

impl Flags {
    /// The flags for one component's objects: these, widened by what the component allows
    /// itself (`replace: allow`).
    pub fn for_component(self, replace_allowed: bool) -> Flags {
        Flags {
            allow_replace: self.allow_replace || replace_allowed,
            ..self
        }
    }
}

/// One object, as landscape sees it when it decides.
#[derive(Clone, Copy, Debug)]
pub struct Subject<'a> {
    pub key: &'a ObjectKey,
    /// What the stack renders; None when it no longer renders the object (or `down`).
    pub desired: Option<&'a Object>,
    pub live: Option<&'a Object>,
    pub membership: Membership,
    /// The stack's ApplySet id.
    pub applyset: &'a str,
}

/// What the cluster holds around an object, for the decisions that depend on it.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    /// For a namespace: what it holds that is not going away with this run.
    pub namespace_holds: Vec<String>,
    /// For a CRD: how many custom resources of its kind exist (that the stack does not
    /// own, when it is let go of; all of them, when it is applied).
    pub custom_resources: usize,
    /// The fields the API server refused to change on the live object (from a dry run or
    /// an apply): the change needs the object replaced.
    pub immutable: Option<Vec<String>>,
}

/// Why an object the stack lets go of stays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeepReason {
    Crd,
    CrdInUse { custom_resources: usize },
    Volume,
    NamespaceInUse { holds: Vec<String> },
}

impl std::fmt::Display for KeepReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeepReason::Crd => f.write_str(
                "a CRD: deleting it deletes every custom resource of its kind (--delete-crds to delete it)",
            ),
            KeepReason::CrdInUse { custom_resources } => write!(
                f,
                "{custom_resources} custom resources of its kind exist and would be deleted with it (--delete-custom-resources to delete them too)"
            ),
            KeepReason::Volume => {
                f.write_str("a volume claim: its data goes with it (--delete-volumes to delete it)")
            }
            KeepReason::NamespaceInUse { holds } => {
                write!(f, "it still holds {}", summarize(holds))
            }
        }
    }
}

fn summarize(items: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut text = items
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        text.push_str(&format!(" and {} more", items.len() - SHOWN));
    }
    text
}

/// What landscape does with one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Absent: create it.
    Create,
    /// Landscape's: apply it (a request that changes nothing when nothing differs).
    Apply,
    /// Someone else's, taken over with `--force-conflicts`, recorded as adopted.
    Adopt { owner: String },
    /// Someone else's namespace: used as it is, never modified.
    Use { owner: String },
    /// Someone else's: refused.
    Conflict { owner: String },
    /// Let go of, and deleted.
    Delete,
    /// Let go of, kept on purpose (and still recorded, as retained).
    Keep(KeepReason),
    /// Let go of, adopted: left in place and no longer landscape's.
    Release,
    /// Recorded, but no longer landscape's (someone replaced it): left alone.
    LeaveAlone { why: String },
    /// Let go of and already gone: only the record goes.
    Forget,
    /// Landscape's, changed in a way the API refuses: deleted and created again.
    Replace(ReplacePlan),
    /// Landscape's, changed in a way landscape will not make without a flag, or not at all.
    Refused { why: String },
}

impl Decision {
    /// Whether the decision writes to the object.
    pub fn writes(&self) -> bool {
        matches!(
            self,
            Decision::Create
                | Decision::Apply
                | Decision::Adopt { .. }
                | Decision::Delete
                | Decision::Release
                | Decision::Replace(_)
        )
    }
}

/// The one decision.
pub fn decide(s: &Subject, flags: &Flags, facts: &Facts) -> Decision {
    match (s.desired, s.live) {
        (Some(_), None) => Decision::Create,
        (Some(desired), Some(live)) => decide_rendered(s, desired, live, flags, facts),
        (None, None) => Decision::Forget,
        (None, Some(live)) => decide_let_go(s, live, flags, facts),
    }
}

fn is_ours(s: &Subject, live: &Object) -> bool {
    s.membership != Membership::None && live.label(labels::APPLYSET_PART_OF) == Some(s.applyset)
}

fn decide_rendered(
    s: &Subject,
    desired: &Object,
    live: &Object,
    flags: &Flags,
    facts: &Facts,
) -> Decision {
    if is_ours(s, live) {
        if desired.is_crd()
            && let Some(why) = crd_refusal(desired, live, flags, facts)
        {
            return Decision::Refused { why };
        }
        return match &facts.immutable {
            Some(fields) => replacement(crate::k8s::replace::plan(desired, live, fields), flags),
            None => Decision::Apply,
        };
    }
    let owner = foreign_owner(live);
    if desired.is_namespace() {
        Decision::Use { owner }
    } else if flags.force_conflicts {
        Decision::Adopt { owner }
    } else {
        Decision::Conflict { owner }
    }
}

fn decide_let_go(s: &Subject, live: &Object, flags: &Flags, facts: &Facts) -> Decision {
    if !is_ours(s, live) {
        return Decision::LeaveAlone {
            why: format!(
                "no longer landscape's (now written by {})",
                field_managers(live)
            ),
        };
    }
    if s.membership == Membership::Adopted && !flags.delete_adopted {
        return Decision::Release;
    }
    let key = s.key;
    if key.is_crd() {
        if !flags.delete_crds {
            return Decision::Keep(KeepReason::Crd);
        }
        if facts.custom_resources > 0 && !flags.delete_custom_resources {
            return Decision::Keep(KeepReason::CrdInUse {
                custom_resources: facts.custom_resources,
            });
        }
    }
    if key.is_volume_claim() && !flags.delete_volumes {
        return Decision::Keep(KeepReason::Volume);
    }
    if key.is_namespace() && !facts.namespace_holds.is_empty() {
        return Decision::Keep(KeepReason::NamespaceInUse {
            holds: facts.namespace_holds.clone(),
        });
    }
    Decision::Delete
}

/// Replaces the object when the flags give the consent its kind needs.
fn replacement(plan: ReplacePlan, flags: &Flags) -> Decision {
    let hint = match plan.consent {
        Consent::None => return Decision::Replace(plan),
        Consent::AllowReplace if flags.allow_replace => return Decision::Replace(plan),
        Consent::AllowReplaceAndVolumes if flags.allow_replace && flags.delete_volumes => {
            return Decision::Replace(plan);
        }
        Consent::AllowReplace => "--allow-replace, or `replace: allow` on the component",
        Consent::AllowReplaceAndVolumes => "--allow-replace with --delete-volumes",
    };
    Decision::Refused {
        why: format!("{} (hint: {hint} to replace it)", plan.why),
    }
}

/// Why a new definition of a CRD may not be applied over the live one, if it may not.
fn crd_refusal(desired: &Object, live: &Object, flags: &Flags, facts: &Facts) -> Option<String> {
    let changes = crate::k8s::crd::version_changes(live, desired);
    if !changes.dropped_stored.is_empty() {
        return Some(format!(
            "the new definition drops version {}, which custom resources are still stored at (status.storedVersions) (hint: first apply a definition that still serves it with the new storage version, run `landscape migrate-storage {}`, then upgrade)",
            changes.dropped_stored.join(", "),
            desired.name()
        ));
    }
    if !changes.unserved.is_empty()
        && facts.custom_resources > 0
        && !flags.allow_crd_version_removal
    {
        return Some(format!(
            "version {} would no longer be served while {} custom resources exist: clients still using it break (hint: --allow-crd-version-removal)",
            changes.unserved.join(", "),
            facts.custom_resources
        ));
    }
    None
}

/// Who an existing object seems to belong to, for messages. Ownership itself is decided
/// by the inventory, never by labels anyone could copy.
pub fn foreign_owner(live: &Object) -> String {
    match (live.label(labels::MANAGED_BY), live.label(labels::STACK)) {
        (Some(labels::MANAGED_BY_VALUE), Some(s)) => {
            format!("labelled for the landscape stack `{s}` but not in its inventory")
        }
        (Some(tool), _) => format!("managed by `{tool}`"),
        (None, _) => match field_managers(live).as_str() {
            "another client" => "not managed by landscape".to_string(),
            managers => format!("not managed by landscape (field managers: {managers})"),
        },
    }
}

/// The field managers that wrote an object.
pub fn field_managers(live: &Object) -> String {
    let names: std::collections::BTreeSet<&str> = live
        .pointer("/metadata/managedFields")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
        .filter_map(|m| m.get("manager").and_then(|m| m.as_str()))
        .collect();
    if names.is_empty() {
        "another client".to_string()
    } else {
        names.into_iter().collect::<Vec<_>>().join(", ")
    }
}

#[cfg(test)]
mod tests;
