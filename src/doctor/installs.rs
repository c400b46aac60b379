//! What other installers already own: Helm releases in the stack's namespaces or under its
//! components' names, and objects the stack would write that exist already — created by
//! Helm, Argo CD, another landscape stack or by hand — with the choice for each component:
//! take them over (`--force-conflicts`, recorded as adopted) or leave the component out.

use std::collections::BTreeMap;

use super::{Finding, Subject};
use crate::cluster::ClusterError;
use crate::k8s::{Object, labels};

const CHECK: &str = "existing-installs";

/// Who installed an object, as far as its labels and annotations tell.
pub(super) fn installer(live: &Object) -> String {
    if let Some(release) = live.annotation("meta.helm.sh/release-name") {
        return format!("Helm release `{release}`");
    }
    if live.label(labels::MANAGED_BY) == Some("Helm") {
        return "Helm".into();
    }
    if live.annotation("argocd.argoproj.io/tracking-id").is_some()
        || live.label("argocd.argoproj.io/instance").is_some()
    {
        let app = live
            .label("argocd.argoproj.io/instance")
            .or_else(|| {
                live.annotation("argocd.argoproj.io/tracking-id")
                    .and_then(|t| t.split(':').next())
            })
            .unwrap_or("?");
        return format!("Argo CD application `{app}`");
    }
    if let (Some(labels::MANAGED_BY_VALUE), Some(stack)) =
        (live.label(labels::MANAGED_BY), live.label(labels::STACK))
    {
        return format!("landscape stack `{stack}`");
    }
    match live.label(labels::MANAGED_BY) {
        Some(tool) => format!("`{tool}`"),
        None => crate::ownership::field_managers(live),
    }
}

pub(super) async fn check(s: &Subject<'_>) -> Result<Vec<Finding>, ClusterError> {
    let mut out = helm_releases(s).await?;
    let objects: Vec<&Object> = s
        .objects()
        .map(|(_, o)| o)
        .filter(|o| !o.is_namespace())
        .collect();
    let live = s.cluster.read_all(&objects, "").await?;
    // Per component, per installer: the objects someone else owns.
    let mut taken: BTreeMap<(&str, String), Vec<String>> = BTreeMap::new();
    for (component, o) in s.objects().filter(|(_, o)| !o.is_namespace()) {
        if let Some(Some(l)) = live.get(&o.key())
            && !s.owns(l)
        {
            taken
                .entry((component, installer(l)))
                .or_default()
                .push(o.key().to_string());
        }
    }
    for ((component, who), keys) in taken {
        let shown = keys.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
        let more = if keys.len() > 3 {
            format!(" and {} more", keys.len() - 3)
        } else {
            String::new()
        };
        let saw = format!(
            "component `{component}`: {} objects exist and belong to {who} ({shown}{more})",
            keys.len()
        );
        let fix = format!(
            "take them over with --force-conflicts (recorded as adopted, released rather than deleted later), or leave the component out with `disable: [{component}]`"
        );
        out.push(if s.flags.force_conflicts {
            Finding::warn(CHECK, saw + ": --force-conflicts takes them over", fix)
        } else {
            Finding::fail(CHECK, saw, fix)
        });
    }
    if out.is_empty() {
        out.push(Finding::pass(
            CHECK,
            "nothing the stack writes belongs to another installer",
        ));
    }
    Ok(out)
}

/// Helm releases in the stack's namespaces, or named like its components.
async fn helm_releases(s: &Subject<'_>) -> Result<Vec<Finding>, ClusterError> {
    let releases = s.cluster.list("v1", "Secret", None, "owner=helm").await?;
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for r in &releases {
        let (Some(name), Some(ns)) = (r.label("name"), r.namespace()) else {
            continue;
        };
        if !seen.insert((ns.to_string(), name.to_string())) {
            continue;
        }
        let Some(c) = s
            .stack
            .components
            .iter()
            .find(|c| c.name == name || c.namespace == ns)
        else {
            continue;
        };
        let status = r.label("status").unwrap_or("unknown");
        let saw = format!(
            "Helm release `{name}` in namespace {ns} ({status}) — where component `{}` installs",
            c.name
        );
        let fix = format!(
            "uninstall it (`helm uninstall {name} -n {ns}`), take its objects over with --force-conflicts, or leave the component out with `disable: [{}]`",
            c.name
        );
        out.push(if s.flags.force_conflicts {
            Finding::warn(CHECK, saw, fix)
        } else {
            Finding::fail(CHECK, saw, fix)
        });
    }
    Ok(out)
}
