//! The rules, each a function of one object (and, for PodDisruptionBudgets, the others).

use serde_json::Value;

use super::{LOAD_BALANCER_ANNOTATION, Options, Rule};
use crate::k8s::Object;
use crate::k8s::image::ImageRef;
use crate::k8s::selector::selects;

type Found = (Rule, String, String);

/// Every finding for `obj`.
pub(super) fn check(obj: &Object, all: &[&Object], opts: &Options) -> Vec<Found> {
    let mut out = Vec::new();
    if let Some(spec) = pod_spec(obj) {
        let containers = containers(spec);
        for c in &containers {
            out.extend(image(c, opts));
            out.extend(requests(c));
            out.extend(privileged(c));
        }
        out.extend(host_namespaces(spec));
        out.extend(run_as_root(spec, &containers));
        out.extend(disruption_budget(obj, all));
        out.extend(zone_spread(obj, spec));
    }
    out.extend(cluster_admin(obj));
    out.extend(load_balancer(obj));
    out
}

/// The pod template of a workload, or a Pod's spec.
fn pod_spec(obj: &Object) -> Option<&Value> {
    match (obj.group(), obj.kind()) {
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet") | ("batch", "Job") => {
            obj.pointer("/spec/template/spec")
        }
        ("batch", "CronJob") => obj.pointer("/spec/jobTemplate/spec/template/spec"),
        ("", "Pod") => obj.pointer("/spec"),
        _ => None,
    }
}

/// A container of a pod spec, with the list it is in.
struct Container<'a> {
    name: &'a str,
    init: bool,
    spec: &'a Value,
}

impl Container<'_> {
    fn label(&self) -> String {
        format!(
            "{} `{}`",
            if self.init {
                "init container"
            } else {
                "container"
            },
            self.name
        )
    }

    fn security(&self, field: &str) -> Option<&Value> {
        self.spec.get("securityContext")?.get(field)
    }
}

fn containers(spec: &Value) -> Vec<Container<'_>> {
    let mut out = Vec::new();
    for (list, init) in [("initContainers", true), ("containers", false)] {
        for c in spec
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            out.push(Container {
                name: c.get("name").and_then(Value::as_str).unwrap_or("?"),
                init,
                spec: c,
            });
        }
    }
    out
}

fn image(c: &Container<'_>, opts: &Options) -> Vec<Found> {
    let Some(reference) = c.spec.get("image").and_then(Value::as_str) else {
        return vec![(
            Rule::ImageTag,
            format!("{} names no image", c.label()),
            "give it an image with a version tag or a digest".into(),
        )];
    };
    let mut out = Vec::new();
    let digest = reference.contains("@sha256:");
    match ImageRef::parse(reference) {
        None => out.push((
            Rule::ImageTag,
            format!(
                "{} image `{reference}` is not an image reference",
                c.label()
            ),
            "write it as [registry/]repository:tag or @sha256:digest".into(),
        )),
        Some(r) if r.suffix.is_empty() => out.push((
            Rule::ImageTag,
            format!(
                "{} image `{reference}` has no tag: it means `latest`",
                c.label()
            ),
            format!("pin a version: `{reference}:VERSION` or `{reference}@sha256:…`"),
        )),
        Some(r) if r.suffix.starts_with(":latest") && !digest => out.push((
            Rule::ImageTag,
            format!("{} image `{reference}` uses the `latest` tag", c.label()),
            "pin a version tag or a digest: `latest` changes under a running cluster".into(),
        )),
        Some(_) => {}
    }
    if opts.require_digests && !digest {
        out.push((
            Rule::ImageDigest,
            format!("{} image `{reference}` is not pinned by digest", c.label()),
            "run `landscape lock --resolve-images` and install with --locked, or write the digest"
                .into(),
        ));
    }
    out
}

fn requests(c: &Container<'_>) -> Vec<Found> {
    // A limit without a request is defaulted into one by the API server.
    let has = |resource: &str| {
        ["requests", "limits"].iter().any(|kind| {
            c.spec
                .get("resources")
                .and_then(|r| r.get(kind))
                .and_then(|r| r.get(resource))
                .is_some()
        })
    };
    let missing: Vec<&str> = ["cpu", "memory"].into_iter().filter(|r| !has(r)).collect();
    if missing.is_empty() {
        return vec![];
    }
    vec![(
        Rule::Requests,
        format!("{} requests no {}", c.label(), missing.join(" or ")),
        "set resources.requests (the scheduler places pods by them, and a node under pressure evicts pods without them first)".into(),
    )]
}

fn privileged(c: &Container<'_>) -> Vec<Found> {
    if c.security("privileged").and_then(Value::as_bool) != Some(true) {
        return vec![];
    }
    vec![(
        Rule::Privileged,
        format!("{} runs privileged: it has every capability of the node", c.label()),
        "drop `privileged` and add only the capabilities it needs (securityContext.capabilities.add)".into(),
    )]
}

fn host_namespaces(spec: &Value) -> Vec<Found> {
    let shared: Vec<&str> = [
        ("hostNetwork", "network"),
        ("hostPID", "PID"),
        ("hostIPC", "IPC"),
    ]
    .into_iter()
    .filter(|(field, _)| spec.get(field).and_then(Value::as_bool) == Some(true))
    .map(|(_, what)| what)
    .collect();
    if shared.is_empty() {
        return vec![];
    }
    vec![(
        Rule::HostNamespaces,
        format!("the pod shares the node's {} namespace", shared.join(", ")),
        "remove hostNetwork/hostPID/hostIPC unless the component manages the node itself (then exempt it, saying why)".into(),
    )]
}

fn run_as_root(spec: &Value, containers: &[Container<'_>]) -> Vec<Found> {
    let pod = |field: &str| spec.get("securityContext").and_then(|s| s.get(field));
    let root: Vec<String> = containers
        .iter()
        .filter(|c| {
            let user = c
                .security("runAsUser")
                .or_else(|| pod("runAsUser"))
                .and_then(Value::as_i64);
            let non_root = c
                .security("runAsNonRoot")
                .or_else(|| pod("runAsNonRoot"))
                .and_then(Value::as_bool);
            match user {
                Some(0) => true,
                Some(_) => false,
                None => non_root != Some(true),
            }
        })
        .map(|c| format!("`{}`", c.name))
        .collect();
    if root.is_empty() {
        return vec![];
    }
    vec![(
        Rule::RunAsRoot,
        format!("{} may run as root", root.join(", ")),
        "set securityContext.runAsNonRoot: true (and a non-zero runAsUser if the image has no user)".into(),
    )]
}

fn cluster_admin(obj: &Object) -> Vec<Found> {
    if obj.group() != "rbac.authorization.k8s.io"
        || !matches!(obj.kind(), "ClusterRoleBinding" | "RoleBinding")
        || obj.pointer_str("/roleRef/kind") != Some("ClusterRole")
        || obj.pointer_str("/roleRef/name") != Some("cluster-admin")
    {
        return vec![];
    }
    let subjects = obj
        .pointer("/subjects")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let others: Vec<String> = subjects
        .iter()
        .filter(|s| !is_system(s))
        .map(|s| {
            let kind = s.get("kind").and_then(Value::as_str).unwrap_or("?");
            let name = s.get("name").and_then(Value::as_str).unwrap_or("?");
            match s.get("namespace").and_then(Value::as_str) {
                Some(ns) => format!("{kind} {ns}/{name}"),
                None => format!("{kind} {name}"),
            }
        })
        .collect();
    if others.is_empty() {
        return vec![];
    }
    vec![(
        Rule::ClusterAdmin,
        format!("grants cluster-admin to {}", others.join(", ")),
        "bind a ClusterRole with only the verbs and resources it needs".into(),
    )]
}

/// Kubernetes' own subjects: `system:` users and groups, kube-system's service accounts.
fn is_system(subject: &Value) -> bool {
    let name = subject.get("name").and_then(Value::as_str).unwrap_or("");
    match subject.get("kind").and_then(Value::as_str) {
        Some("ServiceAccount") => {
            subject.get("namespace").and_then(Value::as_str) == Some("kube-system")
        }
        _ => name.starts_with("system:"),
    }
}

fn load_balancer(obj: &Object) -> Vec<Found> {
    if obj.group() != ""
        || obj.kind() != "Service"
        || obj.pointer_str("/spec/type") != Some("LoadBalancer")
        || obj.annotation(LOAD_BALANCER_ANNOTATION).is_some()
    {
        return vec![];
    }
    vec![(
        Rule::LoadBalancer,
        "is a LoadBalancer: it gets a cloud load balancer, often on a public address".into(),
        format!(
            "use ClusterIP behind an ingress or gateway, or annotate it `{LOAD_BALANCER_ANNOTATION}: <why>` to say it is meant"
        ),
    )]
}

fn disruption_budget(obj: &Object, all: &[&Object]) -> Vec<Found> {
    let Some(replicas) = replicated(obj) else {
        return vec![];
    };
    let labels = obj
        .pointer("/spec/template/metadata/labels")
        .cloned()
        .unwrap_or(Value::Null);
    let covered = all.iter().any(|pdb| {
        pdb.group() == "policy"
            && pdb.kind() == "PodDisruptionBudget"
            && pdb.namespace() == obj.namespace()
            && pdb
                .pointer("/spec/selector")
                .is_some_and(|s| selects(s, &labels))
    });
    if covered {
        return vec![];
    }
    vec![(
        Rule::DisruptionBudget,
        format!("runs {replicas} replicas and no PodDisruptionBudget selects its pods"),
        "add a PodDisruptionBudget (maxUnavailable: 1), so a node drain never takes every replica at once".into(),
    )]
}

/// The zone label: a replicated workload spread over it survives the loss of a zone.
const ZONE: &str = "topology.kubernetes.io/zone";

fn zone_spread(obj: &Object, spec: &Value) -> Vec<Found> {
    let Some(replicas) = replicated(obj) else {
        return vec![];
    };
    let spread = spec
        .get("topologySpreadConstraints")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| c.get("topologyKey").and_then(Value::as_str) == Some(ZONE));
    let anti_affinity = [
        "requiredDuringSchedulingIgnoredDuringExecution",
        "preferredDuringSchedulingIgnoredDuringExecution",
    ]
    .iter()
    .filter_map(|when| spec.pointer(&format!("/affinity/podAntiAffinity/{when}")))
    .filter_map(Value::as_array)
    .flatten()
    .any(|term| {
        // A preferred term wraps its term in `podAffinityTerm`.
        let term = term.get("podAffinityTerm").unwrap_or(term);
        term.get("topologyKey").and_then(Value::as_str) == Some(ZONE)
    });
    if spread || anti_affinity {
        return vec![];
    }
    vec![(
        Rule::ZoneSpread,
        format!("runs {replicas} replicas and nothing spreads them over zones"),
        format!(
            "add a topologySpreadConstraint on `{ZONE}` (maxSkew: 1, whenUnsatisfiable: ScheduleAnyway), so one zone's loss never takes every replica"
        ),
    )]
}

/// The replicas of a Deployment or StatefulSet that runs more than one.
fn replicated(obj: &Object) -> Option<u64> {
    if obj.group() != "apps" || !matches!(obj.kind(), "Deployment" | "StatefulSet") {
        return None;
    }
    let replicas = obj
        .pointer("/spec/replicas")
        .and_then(Value::as_u64)
        .unwrap_or(1);
    (replicas >= 2).then_some(replicas)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Object {
        Object::new(v)
    }

    fn rules(o: &Object, all: &[&Object], opts: &Options) -> Vec<(Rule, String)> {
        check(o, all, opts)
            .into_iter()
            .map(|(r, m, _)| (r, m))
            .collect()
    }

    fn deployment(replicas: u64, container: Value, pod: Value) -> Object {
        let mut spec = json!({"containers": [container]});
        if let (Some(s), Some(p)) = (spec.as_object_mut(), pod.as_object()) {
            s.extend(p.clone());
        }
        obj(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "ns"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web", "tier": "front"}}, "spec": spec}}
        }))
    }

    /// A container that breaks no rule.
    fn good() -> Value {
        json!({"name": "c", "image": "registry.example/web:1.2@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
               "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
               "securityContext": {"runAsNonRoot": true}})
    }

    #[test]
    fn a_clean_workload_has_no_finding() {
        let d = deployment(1, good(), json!({}));
        assert_eq!(
            rules(
                &d,
                &[&d],
                &Options {
                    require_digests: true,
                    ..Default::default()
                }
            ),
            vec![]
        );
    }

    #[test]
    fn images_without_a_tag_latest_or_without_a_digest() {
        let opts = Options::default();
        let with = |image: &str| {
            let mut c = good();
            c["image"] = json!(image);
            deployment(1, c, json!({}))
        };
        let found = |image: &str, opts: &Options| {
            let d = with(image);
            rules(&d, &[&d], opts)
        };
        assert_eq!(found("nginx", &opts)[0].0, Rule::ImageTag);
        assert!(found("nginx", &opts)[0].1.contains("has no tag"));
        assert!(found("nginx:latest", &opts)[0].1.contains("`latest`"));
        assert!(found("nginx:1.27", &opts).is_empty());
        assert!(found("nginx:latest@sha256:abc", &opts).is_empty());
        let digests = Options {
            require_digests: true,
            ..Default::default()
        };
        assert_eq!(found("nginx:1.27", &digests)[0].0, Rule::ImageDigest);
    }

    #[test]
    fn requests_privilege_host_namespaces_and_root() {
        let mut c = good();
        c["resources"] = json!({"limits": {"memory": "1Gi"}});
        c["securityContext"] = json!({"privileged": true});
        let d = deployment(1, c, json!({"hostNetwork": true, "hostPID": true}));
        let found: Vec<Rule> = rules(&d, &[&d], &Options::default())
            .into_iter()
            .map(|(r, _)| r)
            .collect();
        assert_eq!(
            found,
            [
                Rule::Requests,
                Rule::Privileged,
                Rule::HostNamespaces,
                Rule::RunAsRoot
            ]
        );
        let msgs = rules(&d, &[&d], &Options::default());
        assert!(msgs[0].1.contains("requests no cpu"), "{msgs:?}");
        assert!(msgs[2].1.contains("network, PID"), "{msgs:?}");

        // Non-root set on the pod holds for its containers; a container's runAsUser: 0 wins.
        let mut c = good();
        c["securityContext"] = json!({});
        let d = deployment(
            1,
            c.clone(),
            json!({"securityContext": {"runAsNonRoot": true}}),
        );
        assert!(rules(&d, &[&d], &Options::default()).is_empty());
        c["securityContext"] = json!({"runAsUser": 0});
        let d = deployment(1, c, json!({"securityContext": {"runAsNonRoot": true}}));
        assert_eq!(rules(&d, &[&d], &Options::default())[0].0, Rule::RunAsRoot);
    }

    #[test]
    fn cluster_admin_for_anyone_but_the_system() {
        let binding = |subjects: Value| {
            obj(
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                       "metadata": {"name": "b"},
                       "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                       "subjects": subjects}),
            )
        };
        let system = binding(json!([{"kind": "Group", "name": "system:masters"},
                                   {"kind": "ServiceAccount", "name": "x", "namespace": "kube-system"}]));
        assert!(rules(&system, &[], &Options::default()).is_empty());
        let other = binding(json!([{"kind": "ServiceAccount", "name": "ci", "namespace": "ops"}]));
        let found = rules(&other, &[], &Options::default());
        assert_eq!(found[0].0, Rule::ClusterAdmin);
        assert!(found[0].1.contains("ServiceAccount ops/ci"));
    }

    #[test]
    fn load_balancers_must_be_meant() {
        let svc = |annotations: Value| {
            obj(json!({"apiVersion": "v1", "kind": "Service",
                       "metadata": {"name": "s", "annotations": annotations},
                       "spec": {"type": "LoadBalancer"}}))
        };
        assert_eq!(
            rules(&svc(json!({})), &[], &Options::default())[0].0,
            Rule::LoadBalancer
        );
        assert!(
            rules(
                &svc(json!({LOAD_BALANCER_ANNOTATION: "public ingress"})),
                &[],
                &Options::default()
            )
            .is_empty()
        );
    }

    #[test]
    fn replicated_workloads_need_a_disruption_budget_that_selects_them() {
        let d = deployment(3, good(), spread_over_zones());
        assert_eq!(
            rules(&d, &[&d], &Options::default())[0].0,
            Rule::DisruptionBudget
        );
        let pdb = |ns: &str, selector: Value| {
            obj(
                json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                       "metadata": {"name": "p", "namespace": ns},
                       "spec": {"maxUnavailable": 1, "selector": selector}}),
            )
        };
        let fits = pdb("ns", json!({"matchLabels": {"app": "web"}}));
        assert!(rules(&d, &[&d, &fits], &Options::default()).is_empty());
        let by_expression = pdb(
            "ns",
            json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["front"]}]}),
        );
        assert!(rules(&d, &[&d, &by_expression], &Options::default()).is_empty());
        let elsewhere = pdb("other", json!({"matchLabels": {"app": "web"}}));
        let wrong = pdb("ns", json!({"matchLabels": {"app": "db"}}));
        assert_eq!(
            rules(&d, &[&d, &elsewhere, &wrong], &Options::default()).len(),
            1
        );
    }

    fn spread_over_zones() -> Value {
        json!({"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": ZONE,
            "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": {"app": "web"}}}]})
    }

    #[test]
    fn replicated_workloads_are_spread_over_zones() {
        let found = |pod: Value, replicas: u64| -> Vec<Rule> {
            let d = deployment(replicas, good(), pod);
            rules(&d, &[], &Options::default())
                .into_iter()
                .map(|f| f.0)
                .filter(|r| *r == Rule::ZoneSpread)
                .collect()
        };
        assert_eq!(found(json!({}), 3), [Rule::ZoneSpread]);
        assert!(found(json!({}), 1).is_empty());
        assert!(found(spread_over_zones(), 3).is_empty());
        // Spread over nodes only: a zone's loss can still take every replica.
        let by_node = json!({"topologySpreadConstraints": [{"maxSkew": 1,
            "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule"}]});
        assert_eq!(found(by_node, 3), [Rule::ZoneSpread]);
        let preferred = json!({"affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 100, "podAffinityTerm": {"topologyKey": ZONE, "labelSelector": {"matchLabels": {"app": "web"}}}}]}}});
        assert!(found(preferred, 3).is_empty());
        let required = json!({"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"topologyKey": ZONE, "labelSelector": {"matchLabels": {"app": "web"}}}]}}});
        assert!(found(required, 2).is_empty());
    }
}
