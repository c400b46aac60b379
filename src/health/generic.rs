//! Checks every status-reporting object goes through before its kind's rule (kstatus'
//! generic properties): has the controller seen the latest spec, and does it report being
//! stuck or busy?

use super::Health;
use crate::k8s::Object;

/// `observedGeneration` behind `generation` means the status describes an older spec.
/// `strict` treats a missing observedGeneration as "not observed yet", for kinds whose
/// controllers always write it (kstatus does this only for DaemonSets; a freshly created
/// Deployment or StatefulSet is in the same position).
pub fn observed(obj: &Object, strict: bool) -> Option<Health> {
    let generation = obj.generation()?;
    match obj.pointer_i64("/status/observedGeneration") {
        Some(observed) if observed < generation => Some(Health::progressing(format!(
            "the controller has not seen the latest change yet (generation {generation}, observed {observed})"
        ))),
        None if strict => Some(Health::progressing(
            "the controller has not reported status yet",
        )),
        _ => None,
    }
}

/// kstatus' abnormal-true conditions: `Stalled=True` is a failure, `Reconciling=True` is
/// work in progress.
pub fn stalled_or_reconciling(obj: &Object) -> Option<Health> {
    if let Some(c) = obj.condition("Stalled").filter(|c| c.is_true()) {
        return Some(Health::failed(describe("Stalled", c.reason(), c.message())));
    }
    if let Some(c) = obj.condition("Reconciling").filter(|c| c.is_true()) {
        return Some(Health::progressing(describe(
            "Reconciling",
            c.reason(),
            c.message(),
        )));
    }
    None
}

/// "condition Ready=False: reason, message"
pub fn describe_condition(obj: &Object, kind: &str) -> String {
    match obj.condition(kind) {
        Some(c) => {
            let mut s = format!("condition {kind}={}", c.status());
            let detail: Vec<&str> = [c.reason(), c.message()]
                .into_iter()
                .filter(|x| !x.is_empty())
                .collect();
            if !detail.is_empty() {
                s.push_str(": ");
                s.push_str(&detail.join(", "));
            }
            s
        }
        None => format!("no {kind} condition reported yet"),
    }
}

fn describe(kind: &str, reason: &str, message: &str) -> String {
    let detail: Vec<&str> = [reason, message]
        .into_iter()
        .filter(|x| !x.is_empty())
        .collect();
    if detail.is_empty() {
        format!("condition {kind}=True")
    } else {
        format!("condition {kind}=True: {}", detail.join(", "))
    }
}
