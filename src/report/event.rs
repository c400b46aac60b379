//! The events of a run. Every way of showing progress — live terminal lines, plain CI
//! lines, NDJSON — is a sink of these same events, so `-o json` says exactly what the
//! terminal shows. The JSON form is documented in docs/json-events.md; fields are only
//! ever added, never renamed.

use serde::Serialize;

use crate::object::ObjectKey;

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
    /// All of a component's objects were applied.
    ObjectsApplied {
        component: String,
        created: usize,
        configured: usize,
        unchanged: usize,
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
        /// Stale members someone else replaced under the same name: not deleted, with why.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        left_alone: Vec<String>,
    },
    /// `down`: removing a component's objects begins.
    Removing { component: String, objects: usize },
    /// `down`: a component's objects are gone (`retained` were kept on purpose).
    Removed {
        component: String,
        deleted: usize,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        retained: Vec<ObjectKey>,
        duration_ms: u64,
    },
    /// The end of the run.
    Summary(Summary),
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
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Summary {
    /// `success`, or `failed` when any component failed or was skipped.
    pub result: String,
    /// True when anything in the cluster was created, changed or pruned.
    pub changed: bool,
    pub components: Vec<ComponentSummary>,
    pub duration_ms: u64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ComponentSummary {
    pub name: String,
    /// `healthy`, `failed`, `skipped` or `not-started`; `removed` for `down`.
    pub state: String,
    pub created: usize,
    pub configured: usize,
    pub unchanged: usize,
    pub pruned: usize,
    pub duration_ms: u64,
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
            Event::Plan { .. } | Event::Summary(_) => None,
        }
    }
}
