//! PersistentVolumeClaims: Bound. `Lost` (the volume is gone) is a failure.

use super::Health;
use crate::k8s::Object;

pub fn health(obj: &Object) -> Health {
    match obj.pointer_str("/status/phase").unwrap_or("Pending") {
        "Bound" => Health::Ready,
        "Lost" => Health::failed("the bound volume was lost"),
        phase => Health::progressing(format!("{phase}, not bound to a volume yet")),
    }
}
