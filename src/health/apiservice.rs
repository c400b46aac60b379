//! APIServices: `Available=True`. kstatus has no rule and reports them current at once,
//! although an aggregated API that is not available breaks discovery for every client.

use super::{Health, generic};
use crate::k8s::Object;

pub fn health(obj: &Object) -> Health {
    match obj.condition("Available") {
        Some(c) if c.is_true() => Health::Ready,
        _ => Health::progressing(generic::describe_condition(obj, "Available")),
    }
}
