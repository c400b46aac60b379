//! The caller's rights: a SelfSubjectAccessReview for every verb `up` needs on every kind
//! and namespace the stack writes, and on the stack's inventory and lock — so that a
//! kubeconfig with too few rights fails here, listing everything missing, not halfway
//! through an install.

use std::collections::BTreeSet;

use futures::{StreamExt, TryStreamExt};

use super::{Finding, Subject};
use crate::cluster::ClusterError;
use crate::k8s::CrdInfo;

const CHECK: &str = "rights";
/// What `up` does to the objects it writes: reads them, applies them (a patch, or a
/// create), and prunes what it no longer renders.
const VERBS: [&str; 4] = ["get", "create", "patch", "delete"];
const PARALLEL: usize = 16;

/// (group, resource, namespace) the stack writes to.
type Target = (String, String, Option<String>);

fn targets(s: &Subject<'_>) -> BTreeSet<Target> {
    // Kinds the stack's own CRDs define: their resource names and scope come from them.
    let crds: Vec<(CrdInfo, String, bool)> = s
        .objects()
        .filter_map(|(_, o)| {
            let info = CrdInfo::of(o)?;
            let plural = o.pointer_str("/spec/names/plural")?.to_string();
            let namespaced = o.pointer_str("/spec/scope") == Some("Namespaced");
            Some((info, plural, namespaced))
        })
        .collect();
    let mut out = BTreeSet::new();
    for (_, o) in s.objects() {
        let (resource, namespaced) = match s.cluster.resource(o.api_version(), o.kind()) {
            Some(r) => (r.api.plural.clone(), r.namespaced),
            None => match crds
                .iter()
                .find(|(c, _, _)| c.group == o.group() && c.kind == o.kind())
            {
                Some((_, plural, namespaced)) => (plural.clone(), *namespaced),
                // Created at run time by an operator: nothing to ask about yet.
                None => continue,
            },
        };
        let ns = namespaced.then(|| o.namespace().unwrap_or("default").to_string());
        out.insert((o.group().to_string(), resource, ns));
    }
    // The inventory and the lock.
    let system = Some(crate::inventory::store::NAMESPACE.to_string());
    out.insert((String::new(), "secrets".into(), system.clone()));
    out.insert(("coordination.k8s.io".into(), "leases".into(), system));
    out
}

pub(super) async fn check(s: &Subject<'_>) -> Result<Vec<Finding>, ClusterError> {
    let questions: Vec<(&str, Target)> = targets(s)
        .into_iter()
        .flat_map(|t| VERBS.iter().map(move |v| (*v, t.clone())))
        .collect();
    let asked = questions.len();
    let answers: Vec<Option<String>> = futures::stream::iter(questions)
        .map(|(verb, (group, resource, ns))| async move {
            let allowed = s
                .cluster
                .can(verb, &group, &resource, ns.as_deref())
                .await?;
            let what = if group.is_empty() {
                resource.clone()
            } else {
                format!("{resource}.{group}")
            };
            Ok::<_, ClusterError>((!allowed).then(|| match &ns {
                Some(ns) => format!("{verb} {what} in {ns}"),
                None => format!("{verb} {what} (cluster-wide)"),
            }))
        })
        .buffered(PARALLEL)
        .try_collect()
        .await?;
    let missing: Vec<String> = answers.into_iter().flatten().collect();
    Ok(vec![if missing.is_empty() {
        Finding::pass(
            CHECK,
            format!("the caller may do all {asked} things the stack needs"),
        )
    } else {
        Finding::fail(
            CHECK,
            format!("the caller may not: {}", missing.join("; ")),
            "run with a kubeconfig bound to cluster-admin, or a role granting the verbs above",
        )
    }])
}
