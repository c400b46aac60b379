//! A readiness rule a component declares for its own custom resources, when their kind
//! follows no convention landscape knows. The stack file has its own spelling of it
//! (`stack::model`); this is the rule as the gates evaluate it and the inventory keeps it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReadinessRule {
    pub kind: String,
    /// The API group; any group when None.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// One object only; every object of the kind when None.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A condition type that must be `True`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// A field, as a dotted path (`status.phase`), that must equal `equals`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<Value>,
    /// Values of `field` that mean the object failed (stop waiting).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<Value>,
    /// Do not wait for these objects at all (ready by existing).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignore: bool,
}
