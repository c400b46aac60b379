//! CustomResourceDefinitions: Established, names accepted, structural schema.

use super::Health;
use crate::k8s::Object;

pub fn health(obj: &Object) -> Health {
    if let Some(c) = obj
        .condition("NamesAccepted")
        .filter(|c| c.status() == "False")
    {
        return Health::failed(format!("names not accepted: {}", c.message()));
    }
    if let Some(c) = obj.condition("NonStructuralSchema").filter(|c| c.is_true()) {
        return Health::failed(format!("schema is not structural: {}", c.message()));
    }
    match obj.condition("Established") {
        Some(c) if c.is_true() => Health::Ready,
        Some(c) if c.status() == "False" && c.reason() != "Installing" => Health::failed(
            format!("not established: {} {}", c.reason(), c.message())
                .trim()
                .to_string(),
        ),
        _ => Health::progressing("not established yet"),
    }
}
