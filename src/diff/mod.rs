//! What `up` would do, object by object, without doing it.
//!
//! Every object goes through the same ownership decision `up` makes
//! ([`crate::ownership::decide`]); what `up` would write is then compared: the live object
//! (read with one LIST per kind and namespace for the stack's members, a GET for the rest)
//! against the server's own prediction — a server-side apply dry run with landscape's
//! field manager and force, exactly the request `up` sends — both normalised, so defaults
//! the server fills in never show as changes. Objects whose kind is not served yet (its CRD
//! comes with the stack) are creations. What pruning would do is decided by the same
//! function pruning calls ([`crate::ownership::let_go`]). Secrets are masked before
//! anything is compared for display. Dry runs go out concurrently with a bound, after one
//! discovery.

mod compare;
pub mod mask;
pub mod normalize;
pub mod upgrade;

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;
use serde::Serialize;

use crate::cluster::{Cluster, ClusterError};
use crate::inventory::Inventory;
use crate::k8s::{Object, ObjectKey, labels};
use crate::ownership::{self, Decision};
use crate::render::RenderedComponent;
use crate::stack::Stack;

/// How many dry runs are in flight at once.
const PARALLEL: usize = 16;

/// What `up` would do to one object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Delete,
    Unchanged,
    /// Someone else's object that `--force-conflicts` takes over (with what changes).
    Adopt,
    /// An adopted object the stack lets go of: left in place, no longer landscape's.
    Release,
    /// An object the stack lets go of that stays (a CRD, a volume, a namespace in use, an
    /// object someone else has replaced).
    Keep,
    /// The object exists and belongs to someone else: `up` would refuse.
    Conflict,
    /// The API refuses the change on the existing object (immutable fields): deleted and
    /// created again, the way its kind allows.
    Replace,
    /// The server refused the dry run (a webhook denied it, a field is invalid…), or `up`
    /// would refuse the change (a replacement it needs a flag for, a CRD version).
    Error,
}

impl Action {
    /// Whether `up` would change the cluster (or fail) because of it.
    pub fn is_change(self) -> bool {
        !matches!(self, Action::Unchanged | Action::Keep)
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct ObjectChange {
    pub object: ObjectKey,
    pub action: Action,
    /// A creation whose kind the cluster does not serve yet: its CRD comes with the stack.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub crd_pending: bool,
    /// Dotted paths that would change (updates).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changed_paths: Vec<String>,
    /// A unified diff of the normalised YAML (live, then desired), Secrets masked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl ObjectChange {
    fn new(object: ObjectKey, action: Action) -> ObjectChange {
        ObjectChange {
            object,
            action,
            crd_pending: false,
            changed_paths: vec![],
            diff: None,
            note: None,
        }
    }

    fn noted(mut self, note: impl Into<String>) -> ObjectChange {
        self.note = Some(note.into());
        self
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct ComponentDiff {
    pub name: String,
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub delete: usize,
    pub unchanged: usize,
    pub adopt: usize,
    pub release: usize,
    pub keep: usize,
    pub conflicts: usize,
    pub errors: usize,
    /// Every object that is not unchanged.
    pub changes: Vec<ObjectChange>,
}

#[derive(Clone, Debug, Serialize)]
pub struct StackDiff {
    pub stack: String,
    pub changes: bool,
    /// How the stack differs from the one installed, component by component: only when it
    /// is installed and its components, names or versions differ.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<Vec<upgrade::ComponentUpgrade>>,
    pub components: Vec<ComponentDiff>,
}

impl StackDiff {
    pub fn has_errors(&self) -> bool {
        self.components.iter().any(|c| c.errors + c.conflicts > 0)
    }
}

/// Options that change what counts as a change: the flags `up` would run with.
#[derive(Clone, Debug, Default)]
pub struct DiffOptions {
    /// Show what pruning would delete.
    pub prune: bool,
    pub flags: ownership::Flags,
    /// Objects in sync with what was last applied are unchanged without a dry run (off with
    /// `--no-fast-path`).
    pub fast_path: bool,
    /// The stack was cut to selected components (`--only`, `--skip`): the others are
    /// not removed, so nothing of theirs is pruned.
    pub partial: bool,
}

/// Computes the diff of a rendered stack against the cluster.
pub async fn diff(
    stack: &Stack,
    rendered: &[RenderedComponent],
    cluster: &Cluster,
    opts: &DiffOptions,
) -> Result<StackDiff, ClusterError> {
    let installed = Inventory::load(cluster, &stack.name).await?;
    let upgrade = installed
        .as_ref()
        .and_then(|i| upgrade::compare(i, stack))
        .map(|u| upgrade::selected(u, stack, opts.partial))
        .filter(|u| !u.is_empty());
    // Renamed components' objects are the new component's, as `up` records them.
    let mut inventory = installed.unwrap_or_else(|| new_inventory(&stack.name));
    for c in &stack.components {
        if let Some(old) = &c.replaces {
            inventory.rename_component(old, &c.name);
        }
    }
    let lives = read_live(cluster, rendered, &inventory).await?;
    let results = compare_all(cluster, stack, rendered, &lives, &inventory, opts).await;

    let mut by_component: BTreeMap<String, ComponentDiff> = rendered
        .iter()
        .map(|r| {
            (
                r.name.clone(),
                ComponentDiff {
                    name: r.name.clone(),
                    ..Default::default()
                },
            )
        })
        .collect();
    for (component, change) in results {
        add(
            by_component
                .get_mut(&component)
                .expect("rendered component"),
            change?,
        );
    }
    if opts.prune {
        let only = opts.partial.then(|| {
            rendered
                .iter()
                .map(|r| r.name.as_str())
                .collect::<BTreeSet<&str>>()
        });
        for (component, change) in
            pruning(cluster, &inventory, rendered, only.as_ref(), &opts.flags).await?
        {
            let entry = by_component
                .entry(component.clone())
                .or_insert_with(|| ComponentDiff {
                    name: component,
                    ..Default::default()
                });
            add(entry, change);
        }
    }

    let components = in_render_order(rendered, by_component);
    let changes = components
        .iter()
        .any(|c| c.changes.iter().any(|ch| ch.action.is_change()));
    Ok(StackDiff {
        stack: stack.name.clone(),
        changes,
        upgrade: upgrade.map(|u| upgrade::with_counts(u, &components)),
        components,
    })
}

/// An empty inventory, for a stack not installed yet (everything is then a creation, or
/// someone else's).
fn new_inventory(stack: &str) -> Inventory {
    Inventory::new(crate::inventory::StackIdentity {
        name: stack.to_string(),
        origin: crate::inventory::Origin::Profile {
            profile: stack.to_string(),
        },
        profile: None,
    })
}

/// The live object behind every rendered one (None when absent), with the live Secrets'
/// values registered for redaction.
async fn read_live(
    cluster: &Cluster,
    rendered: &[RenderedComponent],
    inventory: &Inventory,
) -> Result<BTreeMap<ObjectKey, Option<Object>>, ClusterError> {
    let objects: Vec<&Object> = rendered.iter().flat_map(|r| r.objects.iter()).collect();
    let selector = format!("{}={}", labels::APPLYSET_PART_OF, inventory.applyset());
    let lives = cluster.read_all(&objects, &selector).await?;
    // The live Secrets' values are secrets too: an old password must not show either.
    for live in lives.values().flatten() {
        crate::report::redact::register(mask::secret_values(&live.0));
    }
    Ok(lives)
}

/// Compares every rendered object with its live one, a bounded number at once; each
/// result comes with its component's name, in rendered order.
async fn compare_all(
    cluster: &Cluster,
    stack: &Stack,
    rendered: &[RenderedComponent],
    lives: &BTreeMap<ObjectKey, Option<Object>>,
    inventory: &Inventory,
    opts: &DiffOptions,
) -> Vec<(String, Result<ObjectChange, ClusterError>)> {
    let jobs: Vec<(&str, &Object)> = rendered
        .iter()
        .flat_map(|r| r.objects.iter().map(move |o| (r.name.as_str(), o)))
        .collect();
    futures::stream::iter(jobs)
        .map(|(component, obj)| {
            let live = lives.get(&obj.key()).cloned().flatten();
            let replace_allowed = stack
                .component(component)
                .is_some_and(|c| c.replace_allowed);
            let flags = opts.flags.for_component(replace_allowed);
            async move {
                (
                    component.to_string(),
                    compare::compare(cluster, obj, live, inventory, &flags, opts.fast_path).await,
                )
            }
        })
        .buffered(PARALLEL)
        .collect()
        .await
}

/// The components' diffs in the order they were rendered, then those only pruning
/// concerns (components removed from the stack).
fn in_render_order(
    rendered: &[RenderedComponent],
    mut by_component: BTreeMap<String, ComponentDiff>,
) -> Vec<ComponentDiff> {
    let order: Vec<String> = rendered.iter().map(|r| r.name.clone()).collect();
    let mut components: Vec<ComponentDiff> = order
        .iter()
        .filter_map(|n| by_component.remove(n))
        .collect();
    components.extend(by_component.into_values());
    components
}

/// What pruning would do with the members the stack no longer renders: the ownership
/// policy's decisions, from the same reads pruning makes.
async fn pruning(
    cluster: &Cluster,
    inventory: &Inventory,
    rendered: &[RenderedComponent],
    only: Option<&BTreeSet<&str>>,
    flags: &ownership::Flags,
) -> Result<Vec<(String, ObjectChange)>, ClusterError> {
    let desired: BTreeSet<ObjectKey> = rendered
        .iter()
        .flat_map(|r| r.objects.iter().map(|o| o.key()))
        .collect();
    let stale: Vec<(Option<String>, ObjectKey)> = inventory
        .members()
        .into_iter()
        .filter(|(c, k, _)| {
            c.is_some_and(|c| only.is_none_or(|only| only.contains(c))) && !desired.contains(k)
        })
        .map(|(c, k, _)| (c.map(str::to_string), k))
        .collect();
    let verdicts = ownership::let_go(cluster, inventory, &stale, flags)
        .await?
        .verdicts;
    let mut out = Vec::new();
    for v in verdicts {
        let component = v.component.clone().unwrap_or_default();
        let change = match &v.decision {
            Decision::Delete => ObjectChange::new(v.key.clone(), Action::Delete)
                .noted("no longer rendered: pruned once the component is healthy"),
            Decision::Release => ObjectChange::new(v.key.clone(), Action::Release)
                .noted("adopted and no longer rendered: left in place, no longer landscape's"),
            Decision::Keep(why) => {
                ObjectChange::new(v.key.clone(), Action::Keep).noted(format!("kept: {why}"))
            }
            Decision::LeaveAlone { why } => {
                ObjectChange::new(v.key.clone(), Action::Keep).noted(format!("{why}; left alone"))
            }
            _ => continue,
        };
        out.push((component, change));
    }
    Ok(out)
}

fn add(c: &mut ComponentDiff, change: ObjectChange) {
    let slot = match change.action {
        Action::Create => &mut c.create,
        Action::Update => &mut c.update,
        Action::Replace => &mut c.replace,
        Action::Delete => &mut c.delete,
        Action::Adopt => &mut c.adopt,
        Action::Release => &mut c.release,
        Action::Keep => &mut c.keep,
        Action::Conflict => &mut c.conflicts,
        Action::Error => &mut c.errors,
        Action::Unchanged => &mut c.unchanged,
    };
    *slot += 1;
    if change.action != Action::Unchanged {
        c.changes.push(change);
    }
}
