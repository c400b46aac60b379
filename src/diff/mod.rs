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

pub mod mask;
pub mod normalize;

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;
use serde::Serialize;
use serde_json::Value;

use crate::cluster::{ApplyOptions, Cluster, ClusterError};
use crate::inventory::Inventory;
use crate::k8s::{Object, ObjectKey, labels};
use crate::ownership::{self, Decision, Facts, Subject};
use crate::render::RenderedComponent;

/// How many dry runs are in flight at once.
const PARALLEL: usize = 16;

/// What `up` would do to one object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
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
    /// The server refused the dry run (a webhook denied it, a field is invalid…).
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
}

/// Computes the diff of a rendered stack against the cluster.
pub async fn diff(
    stack: &str,
    rendered: &[RenderedComponent],
    cluster: &Cluster,
    opts: &DiffOptions,
) -> Result<StackDiff, ClusterError> {
    let inventory = inventory_or_new(cluster, stack).await?;
    let lives = read_live(cluster, rendered, &inventory).await?;
    let results = compare_all(cluster, rendered, &lives, &inventory, &opts.flags).await;

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
        for (component, change) in pruning(cluster, &inventory, rendered, &opts.flags).await? {
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
        stack: stack.to_string(),
        changes,
        components,
    })
}

/// The stack's inventory, or an empty one for a stack not installed yet (everything is
/// then a creation, or someone else's).
async fn inventory_or_new(cluster: &Cluster, stack: &str) -> Result<Inventory, ClusterError> {
    Ok(match Inventory::load(cluster, stack).await? {
        Some(inv) => inv,
        None => Inventory::new(crate::inventory::StackIdentity {
            name: stack.to_string(),
            origin: crate::inventory::Origin::Profile {
                profile: stack.to_string(),
            },
            profile: None,
        }),
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
    rendered: &[RenderedComponent],
    lives: &BTreeMap<ObjectKey, Option<Object>>,
    inventory: &Inventory,
    flags: &ownership::Flags,
) -> Vec<(String, Result<ObjectChange, ClusterError>)> {
    let jobs: Vec<(&str, &Object)> = rendered
        .iter()
        .flat_map(|r| r.objects.iter().map(move |o| (r.name.as_str(), o)))
        .collect();
    futures::stream::iter(jobs)
        .map(|(component, obj)| {
            let live = lives.get(&obj.key()).cloned().flatten();
            async move {
                (
                    component.to_string(),
                    compare(cluster, obj, live, inventory, flags).await,
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
    flags: &ownership::Flags,
) -> Result<Vec<(String, ObjectChange)>, ClusterError> {
    let desired: BTreeSet<ObjectKey> = rendered
        .iter()
        .flat_map(|r| r.objects.iter().map(|o| o.key()))
        .collect();
    let stale: Vec<(Option<String>, ObjectKey)> = inventory
        .members()
        .into_iter()
        .filter(|(c, k, _)| c.is_some() && !desired.contains(k))
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

/// The change `up` would make to one rendered object: the ownership decision, and for
/// what `up` would write, the server's own prediction of the result.
async fn compare(
    cluster: &Cluster,
    desired: &Object,
    live: Option<Object>,
    inventory: &Inventory,
    flags: &ownership::Flags,
) -> Result<ObjectChange, ClusterError> {
    let key = desired.key();
    let applyset = inventory.applyset();
    let subject = Subject {
        key: &key,
        desired: Some(desired),
        live: live.as_ref(),
        membership: inventory.membership(&key),
        applyset: &applyset,
    };
    let decision = ownership::decide(&subject, flags, &Facts::default());
    let live = match (decision, live) {
        (Decision::Create, _) | (_, None) => return Ok(creation(cluster, desired)),
        (Decision::Use { owner }, _) => {
            return Ok(ObjectChange::new(key, Action::Unchanged).noted(format!(
                "exists and is {owner}: used as it is, never modified"
            )));
        }
        (Decision::Conflict { owner }, _) => {
            return Ok(ObjectChange::new(key, Action::Conflict).noted(format!(
                "already exists and is {owner}; up would refuse to take it over (--force-conflicts to take it)"
            )));
        }
        (Decision::Adopt { owner }, Some(live)) => {
            let mut c = predicted(cluster, desired, &live, Action::Adopt).await?;
            c.note = Some(format!(
                "exists and is {owner}: up --force-conflicts takes it over"
            ));
            return Ok(c);
        }
        (_, Some(live)) => live,
    };
    if desired.is_create_only() {
        return Ok(ObjectChange::new(key, Action::Unchanged));
    }
    predicted(cluster, desired, &live, Action::Update).await
}

/// A creation, shown whole; marked when its kind is not served yet.
fn creation(cluster: &Cluster, desired: &Object) -> ObjectChange {
    let mut c = ObjectChange::new(desired.key(), Action::Create);
    if cluster
        .resource(desired.api_version(), desired.kind())
        .is_none()
    {
        c.crd_pending = true;
        c.note = Some("its kind is not served yet: the CRD comes with the stack".into());
    }
    c.diff = Some(unified(None, Some(desired)));
    c
}

/// The server's prediction of an apply (a dry run with landscape's field manager and
/// force, exactly the request `up` sends) against the live object: `changed` when they
/// differ once normalised, unchanged otherwise.
async fn predicted(
    cluster: &Cluster,
    desired: &Object,
    live: &Object,
    changed: Action,
) -> Result<ObjectChange, ClusterError> {
    let key = desired.key();
    let opts = ApplyOptions {
        dry_run: true,
        force: true,
    };
    let predicted =
        match cluster.apply(desired, opts).await {
            Ok(p) => p,
            Err(e) if e.is_transient() => return Err(e),
            Err(e) => {
                return Ok(ObjectChange::new(key, Action::Error).noted(
                    crate::report::redact::redact(&format!("the server refused the dry run: {e}")),
                ));
            }
        };
    let mut before = normalize::normalize(live);
    let mut after = normalize::normalize(&predicted);
    if before == after {
        return Ok(ObjectChange::new(key, Action::Unchanged));
    }
    mask::mask_pair(Some(&mut before), Some(&mut after));
    let mut c = ObjectChange::new(key, changed);
    c.changed_paths = normalize::changed_paths(&before, &after);
    c.diff = Some(text_diff(&before, &after));
    Ok(c)
}

/// A creation (or deletion) shown whole: every line added.
fn unified(before: Option<&Object>, after: Option<&Object>) -> String {
    let mut b = before.map(normalize::normalize);
    let mut a = after.map(normalize::normalize);
    mask::mask_pair(b.as_mut(), a.as_mut());
    let empty = Value::Null;
    text_diff(b.as_ref().unwrap_or(&empty), a.as_ref().unwrap_or(&empty))
}

fn yaml(v: &Value) -> String {
    if v.is_null() {
        String::new()
    } else {
        crate::yaml::to_string(v)
    }
}

fn text_diff(before: &Value, after: &Value) -> String {
    let (b, a) = (yaml(before), yaml(after));
    let diff = similar::TextDiff::from_lines(&b, &a);
    let text = diff
        .unified_diff()
        .context_radius(3)
        .header("live", "desired")
        .to_string();
    crate::report::redact::redact(&text)
}
