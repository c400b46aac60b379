//! The ownership policy, case by case.

use super::*;
use serde_json::json;

const SET: &str = "applyset-x-v1";

fn obj(kind: &str, name: &str, ours: bool) -> Object {
    let (api, ns) = match kind {
        "Namespace" => ("v1", None),
        "CustomResourceDefinition" => ("apiextensions.k8s.io/v1", None),
        _ => ("v1", Some("ns")),
    };
    let mut o = json!({"apiVersion": api, "kind": kind, "metadata": {"name": name, "labels": {}}});
    if let Some(ns) = ns {
        o["metadata"]["namespace"] = json!(ns);
    }
    if ours {
        o["metadata"]["labels"][labels::APPLYSET_PART_OF] = json!(SET);
    }
    Object(o)
}

fn decide_for(
    desired: Option<&Object>,
    live: Option<&Object>,
    membership: Membership,
    flags: Flags,
    facts: Facts,
) -> Decision {
    let key = desired.or(live).unwrap().key();
    decide(
        &Subject {
            key: &key,
            desired,
            live,
            membership,
            applyset: SET,
        },
        &flags,
        &facts,
    )
}

#[test]
fn rendered_objects() {
    let cm = obj("ConfigMap", "c", true);
    let foreign = obj("ConfigMap", "c", false);
    let none = Flags::default();
    let forced = Flags {
        force_conflicts: true,
        ..Flags::default()
    };
    let f = Facts::default;
    assert_eq!(
        decide_for(Some(&cm), None, Membership::None, none, f()),
        Decision::Create
    );
    assert_eq!(
        decide_for(Some(&cm), Some(&cm), Membership::Member, none, f()),
        Decision::Apply
    );
    assert!(matches!(
        decide_for(Some(&cm), Some(&foreign), Membership::None, none, f()),
        Decision::Conflict { .. }
    ));
    assert!(matches!(
        decide_for(Some(&cm), Some(&foreign), Membership::None, forced, f()),
        Decision::Adopt { .. }
    ));
    // A member someone replaced (label gone) is theirs again.
    assert!(matches!(
        decide_for(Some(&cm), Some(&foreign), Membership::Member, none, f()),
        Decision::Conflict { .. }
    ));
    // Labels alone never make an object ours.
    assert!(matches!(
        decide_for(Some(&cm), Some(&cm), Membership::None, none, f()),
        Decision::Conflict { .. }
    ));
    let ns = obj("Namespace", "shop", false);
    assert!(matches!(
        decide_for(Some(&ns), Some(&ns), Membership::None, forced, f()),
        Decision::Use { .. }
    ));
}

#[test]
fn objects_let_go_of() {
    let none = Flags::default();
    let cm = obj("ConfigMap", "c", true);
    let f = Facts::default;
    assert_eq!(
        decide_for(None, Some(&cm), Membership::Member, none, f()),
        Decision::Delete
    );
    assert_eq!(
        decide_for(None, Some(&cm), Membership::Adopted, none, f()),
        Decision::Release
    );
    let all = Flags {
        delete_adopted: true,
        delete_crds: true,
        delete_volumes: true,
        ..Flags::default()
    };
    assert_eq!(
        decide_for(None, Some(&cm), Membership::Adopted, all, f()),
        Decision::Delete
    );
    let replaced = obj("ConfigMap", "c", false);
    assert!(matches!(
        decide_for(None, Some(&replaced), Membership::Member, none, f()),
        Decision::LeaveAlone { .. }
    ));
    let key = cm.key();
    assert_eq!(
        decide(
            &Subject {
                key: &key,
                desired: None,
                live: None,
                membership: Membership::Member,
                applyset: SET
            },
            &none,
            &f()
        ),
        Decision::Forget
    );
}

#[test]
fn what_users_keep_is_kept() {
    let none = Flags::default();
    let crd = obj("CustomResourceDefinition", "w.x.io", true);
    assert_eq!(
        decide_for(None, Some(&crd), Membership::Member, none, Facts::default()),
        Decision::Keep(KeepReason::Crd)
    );
    let crds = Flags {
        delete_crds: true,
        ..Flags::default()
    };
    let in_use = Facts {
        custom_resources: 3,
        ..Facts::default()
    };
    assert_eq!(
        decide_for(None, Some(&crd), Membership::Member, crds, in_use.clone()),
        Decision::Keep(KeepReason::CrdInUse {
            custom_resources: 3
        })
    );
    let everything = Flags {
        delete_crds: true,
        delete_custom_resources: true,
        ..Flags::default()
    };
    assert_eq!(
        decide_for(None, Some(&crd), Membership::Member, everything, in_use),
        Decision::Delete
    );
    let pvc = obj("PersistentVolumeClaim", "data", true);
    assert_eq!(
        decide_for(None, Some(&pvc), Membership::Member, none, Facts::default()),
        Decision::Keep(KeepReason::Volume)
    );
    let ns = obj("Namespace", "shop", true);
    let held = Facts {
        namespace_holds: vec!["ConfigMap mine".into()],
        ..Facts::default()
    };
    assert!(matches!(
        decide_for(None, Some(&ns), Membership::Member, none, held),
        Decision::Keep(KeepReason::NamespaceInUse { .. })
    ));
    assert_eq!(
        decide_for(None, Some(&ns), Membership::Member, none, Facts::default()),
        Decision::Delete
    );
}

#[test]
fn changes_the_api_refuses_are_replacements_with_consent() {
    let none = Flags::default();
    let immutable = || Facts {
        immutable: Some(vec!["spec.selector".into()]),
        ..Facts::default()
    };
    let mut deploy = obj("Deployment", "web", true);
    deploy.0["apiVersion"] = json!("apps/v1");
    let refused = decide_for(
        Some(&deploy),
        Some(&deploy),
        Membership::Member,
        none,
        immutable(),
    );
    assert!(
        matches!(&refused, Decision::Refused { why } if why.contains("--allow-replace")),
        "{refused:?}"
    );
    let allowed = Flags {
        allow_replace: true,
        ..Flags::default()
    };
    assert!(matches!(
        decide_for(
            Some(&deploy),
            Some(&deploy),
            Membership::Member,
            allowed,
            immutable()
        ),
        Decision::Replace(_)
    ));
    // A Job is replaced without asking.
    let mut job = obj("Job", "migrate", true);
    job.0["apiVersion"] = json!("batch/v1");
    assert!(matches!(
        decide_for(
            Some(&job),
            Some(&job),
            Membership::Member,
            none,
            immutable()
        ),
        Decision::Replace(_)
    ));
}

#[test]
fn replacing_a_claim_needs_both_flags_and_foreign_objects_are_never_replaced() {
    let immutable = || Facts {
        immutable: Some(vec!["spec".into()]),
        ..Facts::default()
    };
    let allowed = Flags {
        allow_replace: true,
        ..Flags::default()
    };
    let mut job = obj("Job", "migrate", true);
    job.0["apiVersion"] = json!("batch/v1");
    // A claim needs --delete-volumes as well.
    let pvc = obj("PersistentVolumeClaim", "data", true);
    assert!(matches!(
        decide_for(
            Some(&pvc),
            Some(&pvc),
            Membership::Member,
            allowed,
            immutable()
        ),
        Decision::Refused { .. }
    ));
    let both = Flags {
        allow_replace: true,
        delete_volumes: true,
        ..Flags::default()
    };
    assert!(matches!(
        decide_for(
            Some(&pvc),
            Some(&pvc),
            Membership::Member,
            both,
            immutable()
        ),
        Decision::Replace(_)
    ));
    // Someone else's object is never replaced: it stays a conflict.
    let foreign = obj("Job", "migrate", false);
    assert!(matches!(
        decide_for(
            Some(&job),
            Some(&foreign),
            Membership::None,
            both,
            immutable()
        ),
        Decision::Conflict { .. }
    ));
}

#[test]
fn crd_versions_that_lose_data_or_break_clients_are_refused() {
    let crd = |versions: serde_json::Value, stored: serde_json::Value| {
        let mut c = obj("CustomResourceDefinition", "w.x.io", true);
        c.0["spec"] = json!({"versions": versions});
        c.0["status"] = json!({"storedVersions": stored});
        c
    };
    let live = crd(
        json!([{"name": "v1beta1", "served": true, "storage": false}, {"name": "v1", "served": true, "storage": true}]),
        json!(["v1beta1", "v1"]),
    );
    let only_v1 = crd(
        json!([{"name": "v1", "served": true, "storage": true}]),
        json!([]),
    );
    let dropped = decide_for(
        Some(&only_v1),
        Some(&live),
        Membership::Member,
        Flags::default(),
        Facts::default(),
    );
    assert!(
        matches!(&dropped, Decision::Refused { why } if why.contains("v1beta1") && why.contains("migrate-storage w.x.io")),
        "{dropped:?}"
    );
    let migrated = crd(live.0["spec"]["versions"].clone(), json!(["v1"]));
    let unserve = crd(
        json!([{"name": "v1beta1", "served": false, "storage": false}, {"name": "v1", "served": true, "storage": true}]),
        json!([]),
    );
    let in_use = || Facts {
        custom_resources: 2,
        ..Facts::default()
    };
    assert!(matches!(
        decide_for(
            Some(&unserve),
            Some(&migrated),
            Membership::Member,
            Flags::default(),
            in_use()
        ),
        Decision::Refused { .. }
    ));
    let allowed = Flags {
        allow_crd_version_removal: true,
        ..Flags::default()
    };
    assert_eq!(
        decide_for(
            Some(&unserve),
            Some(&migrated),
            Membership::Member,
            allowed,
            in_use()
        ),
        Decision::Apply
    );
    assert_eq!(
        decide_for(
            Some(&unserve),
            Some(&migrated),
            Membership::Member,
            Flags::default(),
            Facts::default()
        ),
        Decision::Apply,
        "no custom resources: nobody breaks"
    );
}
