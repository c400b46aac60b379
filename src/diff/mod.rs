//! What `up` would do, object by object, without doing it.
//!
//! For every rendered object: the live object (read with one LIST per kind and namespace
//! for the stack's members, a GET for the rest) against the server's own prediction — a
//! server-side apply dry run with landscape's field manager and force, exactly the request
//! `up` sends — both normalised, so defaults the server fills in never show as changes.
//! Objects whose kind is not served yet (its CRD comes with the stack) are creations. The
//! inventory tells what `up` would prune. Secrets are masked before anything is compared
//! for display. Dry runs go out concurrently with a bound, after one discovery.

pub mod mask;
pub mod normalize;

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;
use serde::Serialize;
use serde_json::Value;

use crate::cluster::inventory::Inventory;
use crate::cluster::{ApplyOptions, Cluster, ClusterError};
use crate::object::{Object, ObjectKey, labels};
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
    /// The object exists and belongs to someone else: `up` would refuse.
    Conflict,
    /// The server refused the dry run (a webhook denied it, a field is invalid…).
    Error,
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

#[derive(Clone, Debug, Default, Serialize)]
pub struct ComponentDiff {
    pub name: String,
    pub create: usize,
    pub update: usize,
    pub delete: usize,
    pub unchanged: usize,
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

/// Options that change what counts as a change.
#[derive(Clone, Debug, Default)]
pub struct DiffOptions {
    /// Show what pruning would delete.
    pub prune: bool,
    pub delete_crds: bool,
    pub delete_volumes: bool,
    /// Compare as if `--force-conflicts` were given (no conflicts).
    pub force_conflicts: bool,
}

/// Computes the diff of a rendered stack against the cluster.
pub async fn diff(
    stack: &str,
    rendered: &[RenderedComponent],
    cluster: &Cluster,
    opts: &DiffOptions,
) -> Result<StackDiff, ClusterError> {
    let inventory = Inventory::load(cluster, stack)
        .await?
        .unwrap_or_else(|| Inventory::new(stack));
    let lives = read_live(stack, rendered, cluster).await?;

    let jobs: Vec<(&str, &Object)> = rendered
        .iter()
        .flat_map(|r| r.objects.iter().map(move |o| (r.name.as_str(), o)))
        .collect();
    let results: Vec<(String, Result<ObjectChange, ClusterError>)> = futures::stream::iter(jobs)
        .map(|(component, obj)| {
            let live = lives.get(&obj.key()).cloned().flatten();
            let inventory = &inventory;
            async move {
                (
                    component.to_string(),
                    compare(cluster, obj, live, inventory, opts).await,
                )
            }
        })
        .buffered(PARALLEL)
        .collect()
        .await;

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
        let desired: BTreeSet<String> = jobs_keys(rendered);
        for (component, key) in inventory.members() {
            let Some(component) = component else { continue };
            if desired.contains(&key.to_id())
                || crate::engine::is_retained(&key, opts.delete_crds, opts.delete_volumes)
            {
                continue;
            }
            if cluster.get_key(&key).await?.is_none() {
                continue;
            }
            let entry = by_component
                .entry(component.to_string())
                .or_insert_with(|| ComponentDiff {
                    name: component.to_string(),
                    ..Default::default()
                });
            add(
                entry,
                ObjectChange {
                    object: key,
                    action: Action::Delete,
                    crd_pending: false,
                    changed_paths: vec![],
                    diff: None,
                    note: Some("no longer rendered: pruned once the component is healthy".into()),
                },
            );
        }
    }

    let order: Vec<String> = rendered.iter().map(|r| r.name.clone()).collect();
    let mut components: Vec<ComponentDiff> = order
        .iter()
        .filter_map(|n| by_component.remove(n))
        .collect();
    components.extend(by_component.into_values());
    let changes = components
        .iter()
        .any(|c| c.create + c.update + c.delete + c.conflicts + c.errors > 0);
    Ok(StackDiff {
        stack: stack.to_string(),
        changes,
        components,
    })
}

fn jobs_keys(rendered: &[RenderedComponent]) -> BTreeSet<String> {
    rendered
        .iter()
        .flat_map(|r| r.objects.iter().map(|o| o.key().to_id()))
        .collect()
}

fn add(c: &mut ComponentDiff, change: ObjectChange) {
    match change.action {
        Action::Create => c.create += 1,
        Action::Update => c.update += 1,
        Action::Delete => c.delete += 1,
        Action::Unchanged => {
            c.unchanged += 1;
            return;
        }
        Action::Conflict => c.conflicts += 1,
        Action::Error => c.errors += 1,
    }
    c.changes.push(change);
}

/// The live object of every rendered object (None when absent): members come from one
/// labelled LIST per kind and namespace; the rest from a GET each.
async fn read_live(
    stack: &str,
    rendered: &[RenderedComponent],
    cluster: &Cluster,
) -> Result<BTreeMap<ObjectKey, Option<Object>>, ClusterError> {
    let selector = format!(
        "{}={}",
        labels::APPLYSET_PART_OF,
        crate::cluster::inventory::applyset_id(stack)
    );
    let mut groups: BTreeSet<(String, String, Option<String>)> = BTreeSet::new();
    for obj in rendered.iter().flat_map(|r| r.objects.iter()) {
        if cluster.resource(obj.api_version(), obj.kind()).is_some() {
            groups.insert((
                obj.api_version().to_string(),
                obj.kind().to_string(),
                obj.namespace().map(str::to_string),
            ));
        }
    }
    let lists: Vec<Result<Vec<Object>, ClusterError>> = futures::stream::iter(groups)
        .map(|(api, kind, ns)| {
            let selector = &selector;
            async move { cluster.list(&api, &kind, ns.as_deref(), selector).await }
        })
        .buffered(PARALLEL)
        .collect()
        .await;
    let mut lives: BTreeMap<ObjectKey, Option<Object>> = BTreeMap::new();
    for list in lists {
        for o in list? {
            lives.insert(o.key(), Some(o));
        }
    }
    let missing: Vec<&Object> = rendered
        .iter()
        .flat_map(|r| r.objects.iter())
        .filter(|o| {
            !lives.contains_key(&o.key()) && cluster.resource(o.api_version(), o.kind()).is_some()
        })
        .collect();
    let fetched: Vec<Result<Option<Object>, ClusterError>> =
        futures::stream::iter(missing.iter().copied())
            .map(|o| cluster.get(o))
            .buffered(PARALLEL)
            .collect()
            .await;
    for (o, live) in missing.iter().zip(fetched) {
        lives.insert(o.key(), live?);
    }
    Ok(lives)
}

/// The change `up` would make to one object.
async fn compare(
    cluster: &Cluster,
    desired: &Object,
    live: Option<Object>,
    inventory: &Inventory,
    opts: &DiffOptions,
) -> Result<ObjectChange, ClusterError> {
    let change = |action: Action| ObjectChange {
        object: desired.key(),
        action,
        crd_pending: false,
        changed_paths: vec![],
        diff: None,
        note: None,
    };
    if cluster
        .resource(desired.api_version(), desired.kind())
        .is_none()
    {
        let mut c = change(Action::Create);
        c.crd_pending = true;
        c.note = Some("its kind is not served yet: the CRD comes with the stack".into());
        c.diff = Some(unified(None, Some(desired)));
        return Ok(c);
    }
    let Some(live) = live else {
        let mut c = change(Action::Create);
        c.diff = Some(unified(None, Some(desired)));
        return Ok(c);
    };
    let owned = inventory.owns_live(&live);
    if !owned && !opts.force_conflicts {
        if desired.is_namespace() {
            let mut c = change(Action::Unchanged);
            c.note = Some("exists and is not landscape's: used as it is".into());
            return Ok(c);
        }
        let mut c = change(Action::Conflict);
        c.note = Some(format!(
            "already exists and is {}; up would refuse to take it over (--force-conflicts to take it)",
            crate::engine::foreign_owner(&live)
        ));
        return Ok(c);
    }
    if desired.is_create_only() {
        return Ok(change(Action::Unchanged));
    }
    let predicted = match cluster
        .apply(
            desired,
            ApplyOptions {
                dry_run: true,
                force: true,
            },
        )
        .await
    {
        Ok(p) => p,
        Err(e) if e.is_transient() => return Err(e),
        Err(e) => {
            let mut c = change(Action::Error);
            c.note = Some(crate::report::redact::redact(&format!(
                "the server refused the dry run: {e}"
            )));
            return Ok(c);
        }
    };
    let mut before = normalize::normalize(&live);
    let mut after = normalize::normalize(&predicted);
    if before == after {
        return Ok(change(Action::Unchanged));
    }
    mask::mask_pair(Some(&mut before), Some(&mut after));
    let mut c = change(Action::Update);
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
