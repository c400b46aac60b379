//! The stack-wide finishing of rendered components, once every component is rendered:
//! namespaces filled in (and dropped from cluster-scoped objects), Pod Security levels per
//! namespace, landscape's labels, images relocated, a Namespace object generated for each
//! namespace no component declares, and no object rendered by two components.
//!
//! It runs over the whole stack at once because these depend on more than one component:
//! which kinds are namespaced (CRDs of other components), which namespaces are shared and
//! by whom, which are declared somewhere.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::{RenderError, RenderOptions, RenderedComponent, images};
use crate::k8s::scope::Scopes;
use crate::k8s::{Object, ObjectKey, labels};
use crate::stack::{PodSecurity, Stack};

/// Stack-wide finishing: namespaces, labels, Namespace objects, images, duplicates.
pub(super) fn finish(
    stack: &Stack,
    rendered: &mut [RenderedComponent],
    opts: &RenderOptions,
) -> Result<(), RenderError> {
    let scopes = known_scopes(rendered, opts);
    let declared = declared_namespaces(rendered);
    let used = fill_in_namespaces(stack, rendered, &scopes);
    let pod_security = pod_security_levels(stack, rendered, &used);
    let annotations = namespace_annotations(stack, rendered, &used);
    add_labels(stack, rendered);
    if let Some(registry) = &opts.image_registry {
        relocate_images(rendered, registry);
    }
    label_declared_namespaces(rendered, &pod_security, &annotations);
    add_namespace_objects(
        stack,
        rendered,
        &used,
        &declared,
        &pod_security,
        &annotations,
    );
    refuse_duplicates(rendered)
}

/// Which kinds are namespaced: the stack's own CRDs say it for theirs, the cluster's API
/// list for the rest.
fn known_scopes(rendered: &[RenderedComponent], opts: &RenderOptions) -> Scopes {
    let mut scopes = Scopes::new(rendered.iter().flat_map(|r| r.objects.iter()));
    for (group, kind, namespaced) in &opts.capabilities.resources {
        scopes.learn(group, kind, *namespaced);
    }
    scopes
}

/// The namespaces some component renders a Namespace object for: landscape generates none
/// for those.
fn declared_namespaces(rendered: &[RenderedComponent]) -> BTreeSet<String> {
    rendered
        .iter()
        .flat_map(|r| r.objects.iter())
        .filter(|o| o.is_namespace())
        .map(|o| o.name().to_string())
        .collect()
}

/// Puts each namespaced object without a namespace into its component's, drops the
/// namespace of cluster-scoped objects, and returns the namespaces each component uses (in
/// the order of `rendered`).
fn fill_in_namespaces(
    stack: &Stack,
    rendered: &mut [RenderedComponent],
    scopes: &Scopes,
) -> Vec<BTreeSet<String>> {
    let mut used: Vec<BTreeSet<String>> = Vec::new();
    for r in rendered.iter_mut() {
        let component = stack.component(&r.name).expect("rendered from the stack");
        let mut namespaces = BTreeSet::new();
        for obj in &mut r.objects {
            if scopes.is_namespaced(obj.group(), obj.kind()) {
                if obj.namespace().is_none() {
                    obj.set_namespace(&component.namespace);
                }
                namespaces.insert(obj.namespace().unwrap_or_default().to_string());
            } else if obj.namespace().is_some() {
                // kubectl ignores a namespace on cluster-scoped objects; so do we, so that the
                // object's identity matches what the server will report.
                if let Some(meta) = obj.0.get_mut("metadata").and_then(Value::as_object_mut) {
                    meta.remove("namespace");
                }
            }
        }
        used.push(namespaces);
    }
    used
}

/// A namespace's Pod Security level: the most permissive any component in it asks for,
/// so every copy of a shared namespace is the same and no component is locked out.
fn pod_security_levels(
    stack: &Stack,
    rendered: &[RenderedComponent],
    used: &[BTreeSet<String>],
) -> BTreeMap<String, PodSecurity> {
    let mut pod_security: BTreeMap<String, PodSecurity> = BTreeMap::new();
    for (r, namespaces) in rendered.iter().zip(used) {
        let component = stack.component(&r.name).expect("rendered from the stack");
        let Some(level) = component.pod_security else {
            continue;
        };
        let declared = r
            .objects
            .iter()
            .filter(|o| o.is_namespace())
            .map(|o| o.name().to_string());
        for ns in namespaces.iter().cloned().chain(declared) {
            let slot = pod_security.entry(ns).or_insert(level);
            *slot = (*slot).max(level);
        }
    }
    pod_security
}

/// A namespace's annotations: those of every component in it (`namespaceAnnotations`),
/// so every copy of a shared namespace is the same.
fn namespace_annotations(
    stack: &Stack,
    rendered: &[RenderedComponent],
    used: &[BTreeSet<String>],
) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut all: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (r, namespaces) in rendered.iter().zip(used) {
        let component = stack.component(&r.name).expect("rendered from the stack");
        if component.namespace_annotations.is_empty() {
            continue;
        }
        for ns in namespaces {
            all.entry(ns.clone())
                .or_default()
                .extend(component.namespace_annotations.clone());
        }
    }
    all
}

fn annotate(ns: &mut Object, annotations: &BTreeMap<String, BTreeMap<String, String>>) {
    for (k, v) in annotations.get(ns.name()).into_iter().flatten() {
        ns.set_annotation(k, v);
    }
}

/// Marks every object as landscape's, of this stack and of the component that renders it.
fn add_labels(stack: &Stack, rendered: &mut [RenderedComponent]) {
    for r in rendered.iter_mut() {
        for obj in &mut r.objects {
            obj.set_label(labels::MANAGED_BY, labels::MANAGED_BY_VALUE);
            obj.set_label(labels::STACK, &stack.name);
            obj.set_label(labels::COMPONENT, &r.name);
        }
    }
}

/// `--image-registry`: every image of every object pulled from `registry` instead.
fn relocate_images(rendered: &mut [RenderedComponent], registry: &str) {
    for obj in rendered.iter_mut().flat_map(|r| r.objects.iter_mut()) {
        images::relocate(obj, registry);
    }
}

/// Gives the Namespace objects components render their namespace's Pod Security level
/// and annotations.
fn label_declared_namespaces(
    rendered: &mut [RenderedComponent],
    pod_security: &BTreeMap<String, PodSecurity>,
    annotations: &BTreeMap<String, BTreeMap<String, String>>,
) {
    for r in rendered.iter_mut() {
        for obj in r.objects.iter_mut().filter(|o| o.is_namespace()) {
            if let Some(level) = pod_security.get(obj.name()).copied() {
                set_pod_security(obj, level);
            }
            annotate(obj, annotations);
        }
    }
}

/// Namespaces landscape creates for components: one Namespace object per namespace,
/// applied by every component that uses it (so each finds it in place whichever runs
/// first), labelled with the first of them in stack order so the copies are identical.
/// Each goes at the front of its component's objects, ahead of what lives in it.
fn add_namespace_objects(
    stack: &Stack,
    rendered: &mut [RenderedComponent],
    used: &[BTreeSet<String>],
    declared: &BTreeSet<String>,
    pod_security: &BTreeMap<String, PodSecurity>,
    annotations: &BTreeMap<String, BTreeMap<String, String>>,
) {
    let first_user = first_users(rendered, used);
    for (r, namespaces) in rendered.iter_mut().zip(used) {
        // Inserted last first, so that they lead the component's objects in name order.
        for ns in namespaces.iter().rev() {
            if declared.contains(ns) || crate::k8s::is_system_namespace(ns) {
                continue;
            }
            let mut obj =
                Object(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}));
            obj.set_label(labels::MANAGED_BY, labels::MANAGED_BY_VALUE);
            obj.set_label(labels::STACK, &stack.name);
            obj.set_label(labels::COMPONENT, &first_user[ns]);
            if let Some(level) = pod_security.get(ns) {
                set_pod_security(&mut obj, *level);
            }
            annotate(&mut obj, annotations);
            r.objects.insert(0, obj);
        }
    }
}

/// The first component, in stack order, that uses each namespace.
fn first_users(
    rendered: &[RenderedComponent],
    used: &[BTreeSet<String>],
) -> BTreeMap<String, String> {
    let mut first_user: BTreeMap<String, String> = BTreeMap::new();
    for (r, namespaces) in rendered.iter().zip(used) {
        for ns in namespaces {
            first_user
                .entry(ns.clone())
                .or_insert_with(|| r.name.clone());
        }
    }
    first_user
}

/// Each object belongs to one component; only a shared namespace may appear in several,
/// and then as identical copies.
fn refuse_duplicates(rendered: &[RenderedComponent]) -> Result<(), RenderError> {
    let mut owners: BTreeMap<ObjectKey, (String, Object)> = BTreeMap::new();
    for r in rendered {
        for obj in &r.objects {
            match owners.get(&obj.key()) {
                // A namespace shared by components: identical copies are expected.
                Some((_, first)) if first == obj && obj.is_namespace() => {}
                Some((first, _)) => {
                    return Err(RenderError::Duplicate {
                        key: obj.key().to_string(),
                        first: first.clone(),
                        second: r.name.clone(),
                    });
                }
                None => {
                    owners.insert(obj.key(), (r.name.clone(), obj.clone()));
                }
            }
        }
    }
    Ok(())
}

/// Labels a namespace for Pod Security Admission: enforced, and audited and warned at the
/// same level — unless the namespace already says what it enforces (upstream, or a
/// patch), which knows that namespace better than a component-wide level does.
fn set_pod_security(ns: &mut Object, level: PodSecurity) {
    if ns
        .pointer("/metadata/labels/pod-security.kubernetes.io~1enforce")
        .is_some()
    {
        return;
    }
    for mode in ["enforce", "audit", "warn"] {
        ns.set_label(
            &format!("pod-security.kubernetes.io/{mode}"),
            level.as_str(),
        );
    }
}
