//! The events of a run. Every way of showing progress — live terminal lines, plain CI
//! lines, NDJSON — is a sink of these same events, so `-o json` says exactly what the
//! terminal shows. The JSON form is documented in docs/json-events.md; fields are only
//! ever added, never renamed.

use serde::Serialize;

use crate::k8s::ObjectKey;

/// One event, as emitted.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The plan, once, before anything is applied.
    Plan {
        stack: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        profile: Option<String>,
        components: Vec<PlannedComponent>,
        critical_path: Vec<String>,
    },
    /// A component's needs are all healthy; applying begins.
    ComponentStarted { component: String, objects: usize },
    /// Progress while a component's objects are applied, after each group of one kind.
    Applying {
        component: String,
        applied: usize,
        total: usize,
    },
    /// All of a component's objects were applied. `changes` names every object that was
    /// not unchanged, with what happened to it.
    ObjectsApplied {
        component: String,
        created: usize,
        configured: usize,
        /// Deleted and created again: a change the API refuses on an existing object.
        replaced: usize,
        unchanged: usize,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        changes: Vec<AppliedObject>,
    },
    /// The component is waiting; emitted when what it waits for changes.
    Waiting {
        component: String,
        reason: String,
        not_ready: Vec<NotReady>,
    },
    /// Every object of the component passed its gate.
    Healthy { component: String, duration_ms: u64 },
    /// The component failed; `not_ready` names every object still not ready and why.
    Failed {
        component: String,
        error: String,
        /// `gate` (not healthy in time) or `api` (the cluster refused a request).
        class: FailureClass,
        not_ready: Vec<NotReady>,
        duration_ms: u64,
    },
    /// Not started because a component it needs failed or was skipped.
    Skipped {
        component: String,
        because: Vec<String>,
    },
    /// Objects the component no longer renders were deleted (after it became healthy);
    /// `retained` were kept on purpose (CRDs, volumes).
    Pruned {
        component: String,
        objects: Vec<ObjectKey>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        retained: Vec<ObjectKey>,
        /// Adopted objects the stack let go of: left in place, no longer landscape's.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        released: Vec<ObjectKey>,
        /// Stale members someone else replaced under the same name: not deleted, with why.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        left_alone: Vec<String>,
        /// The objects of `left_alone` that are no longer landscape's (replaced).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        replaced: Vec<ObjectKey>,
    },
    /// `down`: removing a component's objects begins.
    Removing { component: String, objects: usize },
    /// `down`: a component's objects are gone (`retained` were kept on purpose,
    /// `released` were adopted and are left in place).
    Removed {
        component: String,
        deleted: usize,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        retained: Vec<ObjectKey>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        released: Vec<ObjectKey>,
        duration_ms: u64,
    },
    /// The run waits for another run on the same stack to release its lock.
    WaitingForLock { holder: String },
    /// A check of the cluster before the first write warned or failed (`doctor`'s checks).
    Check {
        check: String,
        status: crate::doctor::Status,
        saw: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        fix: Option<String>,
    },
    /// The run was asked to stop (a signal, a lost lock): it started nothing new, let what
    /// was in flight finish, recorded what it did, and ends here. Running the same
    /// command again resumes.
    Interrupted {
        reason: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        signal: Option<i32>,
        hint: String,
    },
    /// The end of the run.
    Summary(Summary),
}

/// What an apply did to one object.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Created,
    Configured,
    Unchanged,
    /// Someone else's, taken over with `--force-conflicts`.
    Adopted,
    /// Someone else's namespace, used as it is.
    Used,
    /// Deleted and created again: the API refuses the change on the existing object.
    Replaced,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct AppliedObject {
    pub object: ObjectKey,
    pub action: Change,
}

/// Why a component failed.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FailureClass {
    Gate,
    Api,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PlannedComponent {
    pub name: String,
    pub category: String,
    pub needs: Vec<String>,
    pub depth: usize,
}

/// An object that is not ready, with the rule it fails and what the cluster said about it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct NotReady {
    pub object: ObjectKey,
    pub reason: String,
    /// The most recent Warning events of the object and its pods.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
    /// Pods of a workload that are not ready, with their reasons.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pods: Vec<String>,
}

/// How a run ended.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RunResult {
    Success,
    /// A component failed or was skipped.
    Failed,
    /// Stopped by a signal or a lost lock before the end.
    Interrupted,
}

/// Where a component ended.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ComponentState {
    Healthy,
    Failed,
    Skipped,
    NotStarted,
    /// Pruned because it left the stack (`up`), or uninstalled (`down`).
    Removed,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Summary {
    pub result: RunResult,
    /// True when anything in the cluster was created, changed or pruned.
    pub changed: bool,
    pub components: Vec<ComponentSummary>,
    pub duration_ms: u64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ComponentSummary {
    pub name: String,
    pub state: ComponentState,
    pub created: usize,
    pub configured: usize,
    /// Deleted and created again (a change the API refuses on an existing object).
    pub replaced: usize,
    pub unchanged: usize,
    pub pruned: usize,
    pub duration_ms: u64,
}

impl ComponentSummary {
    /// A component with nothing done yet.
    pub fn new(name: &str, state: ComponentState) -> ComponentSummary {
        ComponentSummary {
            name: name.to_string(),
            state,
            created: 0,
            configured: 0,
            replaced: 0,
            unchanged: 0,
            pruned: 0,
            duration_ms: 0,
        }
    }
}

impl Event {
    /// The component an event is about, if any.
    pub fn component(&self) -> Option<&str> {
        match self {
            Event::ComponentStarted { component, .. }
            | Event::Applying { component, .. }
            | Event::ObjectsApplied { component, .. }
            | Event::Waiting { component, .. }
            | Event::Healthy { component, .. }
            | Event::Failed { component, .. }
            | Event::Skipped { component, .. }
            | Event::Pruned { component, .. }
            | Event::Removing { component, .. }
            | Event::Removed { component, .. } => Some(component),
            Event::Plan { .. }
            | Event::Summary(_)
            | Event::WaitingForLock { .. }
            | Event::Check { .. }
            | Event::Interrupted { .. } => None,
        }
    }
}
