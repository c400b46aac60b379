//! One rendered object against its live one: the ownership decision, then for what `up`
//! would write, the server's own prediction (a dry run), normalised and compared.

use serde_json::Value;

use super::{Action, ObjectChange, mask, normalize};
use crate::cluster::{ApplyOptions, Cluster, ClusterError};
use crate::inventory::Inventory;
use crate::k8s::Object;
use crate::ownership::{self, Decision, Facts, Subject};

/// The change `up` would make to one rendered object: the ownership decision, and for
/// what `up` would write, the server's own prediction of the result.
pub(super) async fn compare(
    cluster: &Cluster,
    desired: &Object,
    live: Option<Object>,
    inventory: &Inventory,
    flags: &ownership::Flags,
    fast_path: bool,
) -> Result<ObjectChange, ClusterError> {
    let key = desired.key();
    let applyset = inventory.applyset();
    let decide = |facts: &Facts| {
        let subject = Subject {
            key: &key,
            desired: Some(desired),
            live: live.as_ref(),
            membership: inventory.membership(&key),
            applyset: &applyset,
        };
        ownership::decide(&subject, flags, facts)
    };
    let facts = ownership::facts::for_rendered(cluster, desired, live.as_ref()).await?;
    let decision = decide(&facts);
    let live_obj = match (&decision, &live) {
        (Decision::Create, _) | (_, None) => return Ok(creation(cluster, desired)),
        (Decision::Use { owner }, _) => {
            return Ok(ObjectChange::new(key, Action::Unchanged).noted(format!(
                "exists and is {owner}: used as it is, never modified"
            )));
        }
        (Decision::Conflict { owner }, _) => {
            return Ok(ObjectChange::new(key, Action::Conflict).noted(format!(
                "already exists and is {owner}; up would refuse to take it over (--force-conflicts to take it)"
            )));
        }
        (Decision::Refused { why }, _) => {
            return Ok(ObjectChange::new(key, Action::Error).noted(format!("up refuses: {why}")));
        }
        (_, Some(live)) => live,
    };
    let in_sync = fast_path && inventory.sync.in_sync(desired, live_obj);
    if (desired.is_create_only() || in_sync) && decision == Decision::Apply {
        return Ok(ObjectChange::new(key, Action::Unchanged));
    }
    let action = match decision {
        Decision::Adopt { .. } => Action::Adopt,
        _ => Action::Update,
    };
    let mut change = match predicted(cluster, desired, live_obj, action).await? {
        Predicted::Change(c) => c,
        Predicted::Immutable { fields, refusal } => {
            let facts = Facts {
                immutable: Some(fields.clone()),
                ..facts
            };
            replacement(desired, decide(&facts), fields, refusal)
        }
    };
    if let Decision::Adopt { owner } = &decision
        && change.action == Action::Adopt
    {
        change.note = Some(format!(
            "exists and is {owner}: up --force-conflicts takes it over"
        ));
    }
    if desired.is_crd() {
        let unserved = crate::k8s::crd::version_changes(live_obj, desired).unserved;
        if !unserved.is_empty() && change.action.is_change() && change.action != Action::Error {
            change.note = Some(format!(
                "stops serving version {}: clients still using it break",
                unserved.join(", ")
            ));
        }
    }
    Ok(change)
}

/// A change the API refuses on the existing object, decided again knowing that: a
/// replacement (the desired object shown whole, the refused fields as the changed paths),
/// or what `up` would refuse.
fn replacement(
    desired: &Object,
    decision: Decision,
    fields: Vec<String>,
    refusal: String,
) -> ObjectChange {
    let key = desired.key();
    match decision {
        Decision::Replace(plan) => {
            let mut c = ObjectChange::new(key, Action::Replace).noted(plan.why);
            c.changed_paths = fields;
            c.diff = Some(unified(None, Some(desired)));
            c
        }
        Decision::Refused { why } => {
            ObjectChange::new(key, Action::Error).noted(format!("up refuses: {why}"))
        }
        // Someone else's object, taken over: only its owner may replace it.
        _ => ObjectChange::new(key, Action::Error).noted(refusal),
    }
}

/// A creation, shown whole; marked when its kind is not served yet.
fn creation(cluster: &Cluster, desired: &Object) -> ObjectChange {
    let mut c = ObjectChange::new(desired.key(), Action::Create);
    if cluster
        .resource(desired.api_version(), desired.kind())
        .is_none()
    {
        c.crd_pending = true;
        c.note = Some("its kind is not served yet: the CRD comes with the stack".into());
    }
    c.diff = Some(unified(None, Some(desired)));
    c
}

/// What a dry run predicts.
enum Predicted {
    Change(ObjectChange),
    /// The API refuses the change because fields cannot change: `refusal` says so.
    Immutable {
        fields: Vec<String>,
        refusal: String,
    },
}

/// The server's prediction of an apply (a dry run with landscape's field manager and
/// force, exactly the request `up` sends) against the live object: `changed` when they
/// differ once normalised, unchanged otherwise.
async fn predicted(
    cluster: &Cluster,
    desired: &Object,
    live: &Object,
    changed: Action,
) -> Result<Predicted, ClusterError> {
    let key = desired.key();
    let opts = ApplyOptions {
        dry_run: true,
        force: true,
    };
    let predicted = match cluster.apply(desired, opts).await {
        Ok(p) => p,
        Err(e) if e.is_transient() => return Err(e),
        Err(e) => {
            let refusal =
                crate::report::redact::redact(&format!("the server refused the dry run: {e}"));
            return Ok(match e.immutable_fields() {
                Some(fields) => Predicted::Immutable { fields, refusal },
                None => Predicted::Change(ObjectChange::new(key, Action::Error).noted(refusal)),
            });
        }
    };
    let mut before = normalize::normalize(live);
    let mut after = normalize::normalize(&predicted);
    if before == after {
        return Ok(Predicted::Change(ObjectChange::new(key, Action::Unchanged)));
    }
    mask::mask_pair(Some(&mut before), Some(&mut after));
    let mut c = ObjectChange::new(key, changed);
    c.changed_paths = normalize::changed_paths(&before, &after);
    c.diff = Some(text_diff(&before, &after));
    Ok(Predicted::Change(c))
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

/// A unified diff of two normalised objects, every secret value redacted in the values
/// themselves (names stay readable; see [`crate::report::redact::redact_json`]).
fn text_diff(before: &Value, after: &Value) -> String {
    let (mut before, mut after) = (before.clone(), after.clone());
    crate::report::redact::redact_json(&mut before);
    crate::report::redact::redact_json(&mut after);
    let (b, a) = (yaml(&before), yaml(&after));
    let diff = similar::TextDiff::from_lines(&b, &a);
    diff.unified_diff()
        .context_radius(3)
        .header("live", "desired")
        .to_string()
}
