//! HorizontalPodAutoscalers (autoscaling/v2). The controller reports `AbleToScale` (it can
//! read and change the target's scale) and `ScalingActive` (it can compute replicas from
//! its metrics). Until both are True the autoscaler does nothing useful; a target it
//! cannot reach will not fix itself, while metrics often arrive a little after the
//! metrics API starts.

use super::{Health, generic};
use crate::k8s::Object;

pub fn health(obj: &Object) -> Health {
    if let Some(h) = generic::observed(obj, false) {
        return h;
    }
    match obj.condition("AbleToScale") {
        None => return Health::progressing("the autoscaler has not reported yet"),
        Some(c) if c.status() == "False" => {
            return Health::failed(generic::describe_condition(obj, "AbleToScale"));
        }
        _ => {}
    }
    match obj.condition("ScalingActive") {
        Some(c) if c.is_true() => Health::Ready,
        _ => Health::progressing(generic::describe_condition(obj, "ScalingActive")),
    }
}
