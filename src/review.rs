//! Plans reviewed before they are applied: `plan --out PLAN` records, for the stack as
//! rendered now, each object's digest and the live object it was compared with (its uid
//! and resourceVersion), the members pruning would delete, and the diff summary; `up --plan
//! PLAN` renders again and refuses to run when anything differs — a desired object (exit
//! 2: the inputs changed) or a live one (exit 4: someone changed the cluster) — so a
//! pipeline applies exactly what was reviewed.
//!
//! A plan holds no secret value. Digests are keyed with the stack's own key (kept in its
//! inventory Secret) when the stack is installed; before the first install there is no
//! such key, and Secret values are masked before digesting — so on a first install a
//! changed Secret value is the one change a plan cannot see.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::cluster::{Cluster, ClusterError};
use crate::diff::{Action, StackDiff};
use crate::inventory::Inventory;
use crate::k8s::{Object, ObjectKey};
use crate::render::RenderedComponent;

/// The plan file's format version.
const FORMAT: u32 = 1;

/// The most a plan file may hold (a plan of the large profile is a few hundred kB).
const MAX_PLAN: u64 = 64 * 1024 * 1024;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SavedPlan {
    pub landscape_plan: u32,
    pub stack: String,
    pub created: String,
    /// `stack-key`: digests keyed with the stack's inventory key; `masked`: plain digests
    /// of the objects with Secret values masked (the stack was not installed).
    pub digests: DigestMode,
    pub objects: Vec<PlannedObject>,
    /// Members pruning would delete, as they were live.
    #[serde(default)]
    pub deletions: Vec<PlannedObject>,
    /// Objects to create, update, replace and delete, and unchanged, per `diff`.
    pub summary: BTreeMap<String, usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DigestMode {
    StackKey,
    Masked,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlannedObject {
    pub object: ObjectKey,
    /// What `up` would do to it.
    pub action: Action,
    /// The desired object's digest (none for deletions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The live object compared with: None when it did not exist.
    pub live: Option<LiveVersion>,
}

/// A live object as the plan saw it. Controllers write status all the time, and each
/// write moves the resourceVersion: what counts as a change is a new uid (deleted and
/// created again) or a different digest of everything but status and the server's own
/// bookkeeping.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LiveVersion {
    pub uid: String,
    pub resource_version: String,
    pub digest: String,
}

impl LiveVersion {
    fn same(&self, other: &LiveVersion) -> bool {
        self.uid == other.uid
            && (self.resource_version == other.resource_version || self.digest == other.digest)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error(
        "cannot read the plan {path}: {message} (hint: write one with `landscape plan --out {path}`)"
    )]
    Unreadable { path: String, message: String },
    #[error(
        "the plan {path} is for stack `{planned}`, not `{given}` (hint: give the same stack, profile and values as `plan --out`)"
    )]
    OtherStack {
        path: String,
        planned: String,
        given: String,
    },
    /// What the stack renders now is not what was planned.
    #[error(
        "the stack no longer renders what plan {path} recorded: {difference} (hint: review a new plan: `landscape plan --out {path}`)"
    )]
    Differs { path: String, difference: String },
    /// The cluster changed since the plan.
    #[error(
        "the cluster changed since plan {path} was made: {difference} (hint: review a new plan: `landscape plan --out {path}`)"
    )]
    Changed { path: String, difference: String },
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

impl ReviewError {
    pub fn exit_code(&self) -> crate::ExitCode {
        match self {
            ReviewError::Unreadable { .. }
            | ReviewError::OtherStack { .. }
            | ReviewError::Differs { .. } => crate::ExitCode::InvalidInput,
            ReviewError::Changed { .. } | ReviewError::Cluster(_) => crate::ExitCode::Cluster,
        }
    }
}

/// How objects are digested for a stack: with its key when it has one.
struct Digester<'a> {
    inventory: Option<&'a Inventory>,
    mode: DigestMode,
}

impl<'a> Digester<'a> {
    fn new(inventory: Option<&'a Inventory>, mode: Option<DigestMode>) -> Digester<'a> {
        let keyed = inventory.is_some_and(|i| i.sync.keyed_digest(&Value::Null).is_some());
        let mode = mode.unwrap_or(if keyed {
            DigestMode::StackKey
        } else {
            DigestMode::Masked
        });
        Digester { inventory, mode }
    }

    fn digest(&self, obj: &Object) -> Option<String> {
        self.digest_value(obj.apply_body())
    }

    /// A live object without status and the server's bookkeeping.
    fn live(&self, live: Option<&Object>) -> Option<LiveVersion> {
        let live = live?;
        let mut content = live.0.clone();
        if let Some(map) = content.as_object_mut() {
            map.remove("status");
        }
        if let Some(meta) = content.get_mut("metadata").and_then(Value::as_object_mut) {
            for field in ["resourceVersion", "managedFields", "generation"] {
                meta.remove(field);
            }
        }
        Some(LiveVersion {
            uid: live.uid().unwrap_or_default().to_string(),
            resource_version: live.resource_version().unwrap_or_default().to_string(),
            digest: self.digest_value(content).unwrap_or_default(),
        })
    }

    fn digest_value(&self, body: Value) -> Option<String> {
        match self.mode {
            DigestMode::StackKey => self.inventory?.sync.keyed_digest(&body),
            DigestMode::Masked => {
                let mut masked = body;
                crate::diff::mask::mask_pair(None, Some(&mut masked));
                let mut bytes = Vec::new();
                crate::inventory::sync::canonical(&masked, &mut bytes);
                Some(crate::source::hex(&Sha256::digest(&bytes)))
            }
        }
    }
}

/// What to record: the rendered stack, its diff against the cluster, and the live objects.
pub async fn record(
    stack: &str,
    rendered: &[RenderedComponent],
    diff: &StackDiff,
    cluster: &Cluster,
) -> Result<SavedPlan, ClusterError> {
    let inventory = Inventory::load(cluster, stack).await?;
    let digester = Digester::new(inventory.as_ref(), None);
    let objects: Vec<&Object> = rendered.iter().flat_map(|r| r.objects.iter()).collect();
    let selector = match &inventory {
        Some(inv) => format!(
            "{}={}",
            crate::k8s::labels::APPLYSET_PART_OF,
            inv.applyset()
        ),
        None => String::new(),
    };
    let lives = cluster.read_all(&objects, &selector).await?;
    let actions: BTreeMap<&ObjectKey, Action> = diff
        .components
        .iter()
        .flat_map(|c| c.changes.iter().map(|ch| (&ch.object, ch.action)))
        .collect();
    let planned = objects
        .iter()
        .map(|o| {
            let key = o.key();
            PlannedObject {
                action: actions.get(&key).copied().unwrap_or(Action::Unchanged),
                digest: digester.digest(o),
                live: digester.live(lives.get(&key).and_then(Option::as_ref)),
                object: key,
            }
        })
        .collect();
    let mut deletions = Vec::new();
    for ch in diff
        .components
        .iter()
        .flat_map(|c| &c.changes)
        .filter(|ch| ch.action == Action::Delete)
    {
        let live = cluster.get_key(&ch.object).await?;
        deletions.push(PlannedObject {
            object: ch.object.clone(),
            action: Action::Delete,
            digest: None,
            live: digester.live(live.as_ref()),
        });
    }
    let mut summary = BTreeMap::new();
    for c in &diff.components {
        for (name, n) in [
            ("create", c.create),
            ("update", c.update),
            ("replace", c.replace),
            ("delete", c.delete),
            ("unchanged", c.unchanged),
        ] {
            *summary.entry(name.to_string()).or_insert(0) += n;
        }
    }
    Ok(SavedPlan {
        landscape_plan: FORMAT,
        stack: stack.to_string(),
        created: crate::report::now_rfc3339(),
        digests: digester.mode,
        objects: planned,
        deletions,
        summary,
    })
}

/// Writes the plan readable by its owner only.
pub fn write(plan: &SavedPlan, path: &Path) -> Result<(), crate::Error> {
    let text = serde_json::to_string_pretty(plan).expect("a plan serialises");
    crate::files::write_atomic(path, text.as_bytes(), true)
        .map_err(|e| crate::Error::write(path, e))
}

pub fn read(path: &Path) -> Result<SavedPlan, ReviewError> {
    let label = path.display().to_string();
    let unreadable = |message: String| ReviewError::Unreadable {
        path: label.clone(),
        message,
    };
    let text = crate::files::read_text(path, MAX_PLAN).map_err(|e| unreadable(e.to_string()))?;
    let plan: SavedPlan = serde_json::from_str(&text)
        .map_err(|e| unreadable(format!("not a landscape plan ({e})")))?;
    if plan.landscape_plan != FORMAT {
        return Err(unreadable(format!(
            "format {} (this landscape reads format {FORMAT})",
            plan.landscape_plan
        )));
    }
    Ok(plan)
}

/// Holds a run to the plan: the same objects with the same digests, and every live object
/// as it was. The first difference is the error.
pub async fn verify(
    plan: &SavedPlan,
    path: &Path,
    stack: &str,
    rendered: &[RenderedComponent],
    cluster: &Cluster,
) -> Result<(), ReviewError> {
    let label = path.display().to_string();
    if plan.stack != stack {
        return Err(ReviewError::OtherStack {
            path: label,
            planned: plan.stack.clone(),
            given: stack.to_string(),
        });
    }
    let inventory = Inventory::load(cluster, stack).await?;
    let digester = Digester::new(inventory.as_ref(), Some(plan.digests));
    let differs = |difference: String| ReviewError::Differs {
        path: label.clone(),
        difference,
    };
    let objects: Vec<&Object> = rendered.iter().flat_map(|r| r.objects.iter()).collect();
    let planned: BTreeMap<&ObjectKey, &PlannedObject> =
        plan.objects.iter().map(|p| (&p.object, p)).collect();
    for o in &objects {
        let key = o.key();
        let Some(p) = planned.get(&key) else {
            return Err(differs(format!("{key} is new")));
        };
        if p.digest != digester.digest(o) {
            return Err(differs(format!("{key} changed")));
        }
    }
    if let Some(gone) = plan
        .objects
        .iter()
        .find(|p| !objects.iter().any(|o| o.key() == p.object))
    {
        return Err(differs(format!("{} is no longer rendered", gone.object)));
    }
    let changed = |difference: String| ReviewError::Changed {
        path: label.clone(),
        difference,
    };
    for p in plan.objects.iter().chain(&plan.deletions) {
        let live = cluster.get_key(&p.object).await?;
        let now = digester.live(live.as_ref());
        let same = match (&now, &p.live) {
            (None, None) => true,
            (Some(a), Some(b)) => a.same(b),
            _ => false,
        };
        if !same {
            let describe = |v: &Option<LiveVersion>| match v {
                None => "absent".to_string(),
                Some(v) => format!("resourceVersion {}", v.resource_version),
            };
            return Err(changed(format!(
                "{} was {}, is {}",
                p.object,
                describe(&p.live),
                describe(&now)
            )));
        }
    }
    Ok(())
}
