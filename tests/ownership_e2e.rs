//! `diff` predicts exactly what `up` then does: the same ownership policy, over the cases
//! where tools disagree with themselves — someone else's namespace, someone else's object
//! with and without `--force-conflicts`, members the stack lets go of, members someone
//! replaced, CRDs and volume claims that are kept, namespaces that still hold things.
//!
//! Each step runs `diff -o json`, then `up -o json` with the same flags, and compares every
//! object `diff` named with what `up` reported doing to it.

mod support;

use serde_json::Value;

use support::predict::{Key, Project, diff_then_up, k, kubectl_apply, predicted};
use support::testbed;

fn configmap(name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  from: landscape\n"
    )
}

const CRD: &str = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: gadgets.ownership.landscape.test\nspec:\n  group: ownership.landscape.test\n  scope: Namespaced\n  names: {kind: Gadget, plural: gadgets, singular: gadget, listKind: GadgetList}\n  versions:\n    - name: v1\n      served: true\n      storage: true\n      schema:\n        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}\n";

fn claim(name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: {name}\nspec:\n  accessModes: [ReadWriteOnce]\n  resources: {{requests: {{storage: 1Gi}}}}\n"
    )
}

#[tokio::test]
async fn diff_predicts_up_for_foreign_objects_with_and_without_force() {
    let tb = testbed();
    let p = Project::new("foreign");
    let ns = p.ns.clone();
    // Someone else's namespace and ConfigMap, before the stack is installed.
    kubectl_apply(
        tb,
        &format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: taken, namespace: {ns}}}\ndata: {{owner: someone-else}}\n"
        ),
    );
    p.render(&[(
        "cms.yaml",
        format!("{}---\n{}", configmap("taken"), configmap("mine")),
    )]);

    // Without --force-conflicts: diff names the conflict (exit 4), up refuses it, and
    // writes nothing.
    let diff = p.landscape(&["diff", "-o", "json"]).await;
    assert_eq!(diff.code, 4, "{diff:?}");
    let prediction = predicted(&diff);
    assert_eq!(prediction[&k("ConfigMap", &ns, "taken")], "conflict");
    assert_eq!(prediction[&k("ConfigMap", &ns, "mine")], "create");
    assert!(
        !prediction.contains_key(&k("Namespace", "", &ns)),
        "someone else's namespace is used as it is: {prediction:?}"
    );
    let up = p.landscape(&["up", "-o", "json"]).await;
    assert_eq!(up.code, 4, "{up:?}");
    assert!(
        up.stderr.contains("ConfigMap") && up.stderr.contains("taken"),
        "{up:?}"
    );
    // Nothing started: the only events are the checks' report of the object, before it.
    assert!(
        up.events().iter().all(|e| e["event"] == "check"),
        "nothing started: {up:?}"
    );
    assert!(
        !tb.kubectl(&["get", "configmap", "mine", "-n", &ns])
            .status
            .success()
    );

    // With --force-conflicts: diff says it is taken over, and up takes it over; the
    // namespace stays someone else's, even forced.
    let ns_before = String::from_utf8(
        tb.kubectl(&[
            "get",
            "namespace",
            &ns,
            "-o",
            "jsonpath={.metadata.resourceVersion}",
        ])
        .stdout,
    )
    .unwrap();
    let prediction = diff_then_up(&p, &["--force-conflicts"], 1).await;
    assert_eq!(prediction[&k("ConfigMap", &ns, "taken")], "adopt");
    let ns_after = String::from_utf8(
        tb.kubectl(&[
            "get",
            "namespace",
            &ns,
            "-o",
            "jsonpath={.metadata.resourceVersion}",
        ])
        .stdout,
    )
    .unwrap();
    assert_eq!(ns_before, ns_after, "the namespace was not modified");
    let inv = tb.inventory(&p.stack).await.unwrap();
    let taken = landscape::k8s::ObjectKey {
        group: String::new(),
        kind: "ConfigMap".into(),
        namespace: Some(ns.clone()),
        name: "taken".into(),
    };
    assert_eq!(
        inv.membership(&taken),
        landscape::inventory::Membership::Adopted,
        "recorded as adopted, not as created"
    );

    // Letting go of the adopted object releases it; diff says so first.
    p.render(&[("cms.yaml", configmap("mine"))]);
    let prediction = diff_then_up(&p, &[], 1).await;
    assert_eq!(prediction[&k("ConfigMap", &ns, "taken")], "release");
    let released = tb.kubectl(&["get", "configmap", "taken", "-n", &ns, "-o", "json"]);
    let released: Value = serde_json::from_slice(&released.stdout).unwrap();
    assert!(
        released["metadata"]["labels"]
            .get("applyset.kubernetes.io/part-of")
            .is_none()
    );

    // Converged: nothing more to predict, nothing more done.
    assert!(diff_then_up(&p, &[], 0).await.is_empty());
}

#[tokio::test]
async fn diff_predicts_up_for_members_let_go_of() {
    let tb = testbed();
    let p = Project::new("letgo");
    let ns = p.ns.clone();
    let other_ns = format!("{ns}-extra");
    p.render(&[
        ("a.yaml", format!("{}---\n{}---\n{}", configmap("stay"), configmap("stale"), configmap("replaced"))),
        ("crd.yaml", CRD.to_string()),
        ("claim.yaml", claim("data")),
        (
            "extra.yaml",
            format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: {other_ns}}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: inside, namespace: {other_ns}}}\ndata: {{a: b}}\n"),
        ),
    ]);
    let first = diff_then_up(&p, &[], 1).await;
    assert_eq!(first[&k("ConfigMap", &ns, "stale")], "create");

    // Someone replaces a member under its name; someone puts a ConfigMap of their own in
    // the stack's extra namespace.
    assert!(
        tb.kubectl(&["delete", "configmap", "replaced", "-n", &ns])
            .status
            .success()
    );
    kubectl_apply(
        tb,
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: replaced, namespace: {ns}}}\ndata: {{owner: someone-else}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: theirs, namespace: {other_ns}}}\ndata: {{owner: someone-else}}\n"
        ),
    );
    // The stack lets go of everything but `stay`.
    p.render(&[("a.yaml", configmap("stay"))]);
    let prediction = diff_then_up(&p, &[], 1).await;
    let expect = |key: Key, action: &str| {
        assert_eq!(
            prediction.get(&key).map(String::as_str),
            Some(action),
            "{key:?} in {prediction:?}"
        )
    };
    expect(k("ConfigMap", &ns, "stale"), "delete");
    expect(k("ConfigMap", &ns, "replaced"), "keep");
    expect(
        k(
            "CustomResourceDefinition",
            "",
            "gadgets.ownership.landscape.test",
        ),
        "keep",
    );
    expect(k("PersistentVolumeClaim", &ns, "data"), "keep");
    expect(k("ConfigMap", &other_ns, "inside"), "delete");
    expect(k("Namespace", "", &other_ns), "keep");
    assert!(
        tb.kubectl(&["get", "configmap", "theirs", "-n", &other_ns])
            .status
            .success()
    );
    assert!(
        tb.kubectl(&["get", "namespace", &other_ns])
            .status
            .success()
    );

    // Once the namespace holds nothing else, it goes — predicted, then done.
    assert!(
        tb.kubectl(&["delete", "configmap", "theirs", "-n", &other_ns])
            .status
            .success()
    );
    p.render(&[
        ("a.yaml", configmap("stay")),
        (
            "extra.yaml",
            format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: {other_ns}}}\n"),
        ),
    ]);
    // Kept, so still there: rendered again, it is a member again with nothing to change.
    assert!(diff_then_up(&p, &[], 0).await.is_empty());
    p.render(&[("a.yaml", configmap("stay"))]);
    let prediction = diff_then_up(&p, &[], 1).await;
    assert_eq!(prediction[&k("Namespace", "", &other_ns)], "delete");

    // CRDs go with --delete-crds — but not while someone else's custom resources exist,
    // unless --delete-custom-resources says so.
    p.render(&[("a.yaml", configmap("stay")), ("crd.yaml", CRD.to_string())]);
    assert!(diff_then_up(&p, &[], 0).await.is_empty());
    kubectl_apply(
        tb,
        &format!(
            "apiVersion: ownership.landscape.test/v1\nkind: Gadget\nmetadata: {{name: theirs, namespace: {ns}}}\n"
        ),
    );
    p.render(&[("a.yaml", configmap("stay"))]);
    // Kept is not a change: diff exits 0, and names it.
    let prediction = diff_then_up(&p, &["--delete-crds"], 0).await;
    assert_eq!(
        prediction[&k(
            "CustomResourceDefinition",
            "",
            "gadgets.ownership.landscape.test"
        )],
        "keep",
        "in use by someone else's Gadget"
    );
    p.render(&[("a.yaml", configmap("stay")), ("crd.yaml", CRD.to_string())]);
    assert!(diff_then_up(&p, &[], 0).await.is_empty());
    p.render(&[("a.yaml", configmap("stay"))]);
    let prediction = diff_then_up(&p, &["--delete-crds", "--delete-custom-resources"], 1).await;
    assert_eq!(
        prediction[&k(
            "CustomResourceDefinition",
            "",
            "gadgets.ownership.landscape.test"
        )],
        "delete"
    );
}
