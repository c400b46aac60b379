//! The dependency graph of a stack's components.
//!
//! Edges come from each component's `needs`, plus one implicit rule: every component needs
//! the cluster network (the components marked `cni`), because every controller and webhook
//! is a pod that needs it. The plan is a true graph, not a list of levels: the engine starts
//! a component the moment the components it needs are healthy.

pub mod picture;
mod select;

pub use select::{Selected, Selection, UnknownComponent};

use std::collections::{BTreeMap, BTreeSet};

use petgraph::algo::{tarjan_scc, toposort};
use petgraph::graphmap::DiGraphMap;
use serde::Serialize;

use crate::stack::{Category, Stack};

/// One component in the plan.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Step {
    pub component: String,
    pub category: Category,
    /// Everything this component waits for (explicit and implicit), sorted.
    pub needs: Vec<String>,
    /// The subset of `needs` that comes from rules rather than the stack file.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub implicit_needs: Vec<String>,
    /// The length of the longest chain of components before this one (0 = can start at once).
    pub depth: usize,
}

/// The components of a stack in an order that respects every dependency.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// The longest chain of components that must become healthy one after the other: the
    /// part of the graph that bounds how fast `up` can finish.
    pub critical_path: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("dependency cycle: {} (hint: remove one of these needs)", .0.join(" -> "))]
    Cycle(Vec<String>),
}

impl Plan {
    pub fn step(&self, component: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.component == component)
    }

    /// Components that (transitively) need `component`.
    pub fn dependents_of(&self, component: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut frontier = vec![component.to_string()];
        while let Some(c) = frontier.pop() {
            for s in &self.steps {
                if s.needs.contains(&c) && out.insert(s.component.clone()) {
                    frontier.push(s.component.clone());
                }
            }
        }
        out
    }

    /// Components that `component` needs, directly or not.
    pub fn needs_of(&self, component: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut frontier = vec![component.to_string()];
        while let Some(c) = frontier.pop() {
            if let Some(step) = self.step(&c) {
                for n in &step.needs {
                    if out.insert(n.clone()) {
                        frontier.push(n.clone());
                    }
                }
            }
        }
        out
    }

    /// The order to remove components in: dependents before what they depend on.
    pub fn teardown_order(&self) -> Vec<String> {
        self.steps
            .iter()
            .rev()
            .map(|s| s.component.clone())
            .collect()
    }
}

/// Each component's needs: (explicit, implicit), by component name.
type Needs<'a> = BTreeMap<&'a str, (BTreeSet<&'a str>, BTreeSet<&'a str>)>;

/// Builds the plan for a stack, or reports the first cycle as `a -> b -> c -> a`.
pub fn build(stack: &Stack) -> Result<Plan, PlanError> {
    let needs = needs_of_each(stack);
    let graph = graph_of(stack, &needs);
    let order = toposort(&graph, None).map_err(|_| PlanError::Cycle(find_cycle(&graph)))?;
    // toposort's order depends on insertion; re-derive a stable one: by depth, then by the
    // stack's own order, so plans read the same on every run.
    let (depth, longest_pred) = depths(&order, &needs);
    let position: BTreeMap<&str, usize> = stack
        .components
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name.as_str(), i))
        .collect();
    let mut names: Vec<&str> = order.clone();
    names.sort_by_key(|n| (depth[n], position[n]));

    let steps = names
        .iter()
        .map(|n| step(stack, &needs, &depth, n))
        .collect();
    let critical_path = match names
        .iter()
        .max_by_key(|n| (depth[*n], std::cmp::Reverse(position[*n])))
    {
        None => Vec::new(),
        Some(end) => chain_to(end, &longest_pred),
    };
    Ok(Plan {
        steps,
        critical_path,
    })
}

/// What each component needs: what its stack file says, and — unless it is one — the
/// cluster network's components it does not already name.
fn needs_of_each(stack: &Stack) -> Needs<'_> {
    let cni: BTreeSet<&str> = stack
        .components
        .iter()
        .filter(|c| c.cni)
        .map(|c| c.name.as_str())
        .collect();
    let mut needs: Needs = BTreeMap::new();
    for c in &stack.components {
        let explicit: BTreeSet<&str> = c.needs.iter().map(String::as_str).collect();
        let implicit: BTreeSet<&str> = if c.cni {
            BTreeSet::new()
        } else {
            cni.iter()
                .copied()
                .filter(|n| !explicit.contains(n))
                .collect()
        };
        needs.insert(&c.name, (explicit, implicit));
    }
    needs
}

/// The dependency graph: an edge from each need to the component that needs it.
fn graph_of<'a>(stack: &'a Stack, needs: &Needs<'a>) -> DiGraphMap<&'a str, ()> {
    let mut graph: DiGraphMap<&str, ()> = DiGraphMap::new();
    for c in &stack.components {
        graph.add_node(&c.name);
    }
    for (name, (explicit, implicit)) in needs {
        for dep in explicit.iter().chain(implicit) {
            graph.add_edge(dep, name, ());
        }
    }
    graph
}

/// Each component's depth (the longest chain of needs before it) and the need at the end
/// of that chain, walking `order` so that needs come first.
fn depths<'a>(
    order: &[&'a str],
    needs: &Needs<'a>,
) -> (BTreeMap<&'a str, usize>, BTreeMap<&'a str, Option<&'a str>>) {
    let mut depth: BTreeMap<&str, usize> = BTreeMap::new();
    let mut longest_pred: BTreeMap<&str, Option<&str>> = BTreeMap::new();
    for n in order {
        let (explicit, implicit) = &needs[n];
        let best = explicit
            .iter()
            .chain(implicit)
            .map(|d| (depth[d] + 1, *d))
            .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(a.1)));
        depth.insert(n, best.map_or(0, |b| b.0));
        longest_pred.insert(n, best.map(|b| b.1));
    }
    (depth, longest_pred)
}

/// One component's step: all its needs, sorted, and which of them are implicit.
fn step(stack: &Stack, needs: &Needs, depth: &BTreeMap<&str, usize>, n: &str) -> Step {
    let comp = stack.component(n).expect("node from the stack");
    let (explicit, implicit) = &needs[n];
    let mut all: Vec<String> = explicit
        .iter()
        .chain(implicit)
        .map(|s| s.to_string())
        .collect();
    all.sort();
    Step {
        component: n.to_string(),
        category: comp.category,
        needs: all,
        implicit_needs: implicit.iter().map(|s| s.to_string()).collect(),
        depth: depth[n],
    }
}

/// The chain of longest needs that ends at `end`, first component first.
fn chain_to(end: &str, longest_pred: &BTreeMap<&str, Option<&str>>) -> Vec<String> {
    let mut path = vec![end.to_string()];
    let mut cur = end;
    while let Some(Some(prev)) = longest_pred.get(cur) {
        path.push(prev.to_string());
        cur = prev;
    }
    path.reverse();
    path
}

/// Finds one cycle and returns it closed (`[a, b, c, a]`), starting from its smallest name.
fn find_cycle(graph: &DiGraphMap<&str, ()>) -> Vec<String> {
    let mut components = tarjan_scc(graph);
    components.retain(|scc| scc.len() > 1 || graph.contains_edge(scc[0], scc[0]));
    let Some(scc) = components
        .into_iter()
        .min_by_key(|scc| scc.iter().min().copied())
    else {
        return Vec::new();
    };
    let members: BTreeSet<&str> = scc.iter().copied().collect();
    let start = *members.iter().next().expect("non-empty");
    // Depth-first walk inside the strongly connected set until we return to the start.
    // Edges point from a dependency to its dependent; a cycle reads naturally as
    // "a needs b needs c needs a", so walk the reverse direction.
    let mut path = vec![start];
    let mut seen = BTreeSet::from([start]);
    fn walk<'a>(
        graph: &DiGraphMap<&'a str, ()>,
        members: &BTreeSet<&'a str>,
        start: &'a str,
        path: &mut Vec<&'a str>,
        seen: &mut BTreeSet<&'a str>,
    ) -> bool {
        let cur = *path.last().expect("non-empty");
        let mut next: Vec<&str> = graph
            .neighbors_directed(cur, petgraph::Direction::Incoming)
            .filter(|n| members.contains(n))
            .collect();
        next.sort();
        for n in next {
            if n == start {
                path.push(n);
                return true;
            }
            if seen.insert(n) {
                path.push(n);
                if walk(graph, members, start, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    walk(graph, &members, start, &mut path, &mut seen);
    path.into_iter().map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::{Component, Source};
    use std::time::Duration;

    fn comp(name: &str, needs: &[&str], cni: bool) -> Component {
        Component {
            name: name.into(),
            category: if cni {
                Category::Networking
            } else {
                Category::Security
            },
            version: None,
            namespace: name.into(),
            description: None,
            needs: needs.iter().map(|s| s.to_string()).collect(),
            cni,
            sources: vec![Source::Template { name: "x".into() }],
            values: serde_json::json!({}),
            required: vec![],
            readiness: vec![],
            timeout: Duration::from_secs(60),
            patches: vec![],
            pod_security: None,
            exclude: vec![],
            secrets: vec![],
            namespace_annotations: Default::default(),
            wait_for: Vec::new(),
            replace_allowed: false,
            lint_exempt: Default::default(),
            replaces: None,
            requires: Default::default(),
        }
    }

    fn stack(components: Vec<Component>) -> Stack {
        Stack {
            name: "t".into(),
            profile: None,
            description: None,
            file: None,
            file_text: None,
            declared_name: None,
            components,
            requires: Default::default(),
            promises: None,
        }
    }

    #[test]
    fn cni_is_an_implicit_need_of_everything_else() {
        let plan = build(&stack(vec![
            comp("app", &[], false),
            comp("net", &[], true),
        ]))
        .unwrap();
        assert_eq!(plan.steps[0].component, "net");
        let app = plan.step("app").unwrap();
        assert_eq!(app.needs, ["net"]);
        assert_eq!(app.implicit_needs, ["net"]);
        assert_eq!(app.depth, 1);
    }

    #[test]
    fn critical_path_is_the_longest_chain() {
        let plan = build(&stack(vec![
            comp("net", &[], true),
            comp("a", &[], false),
            comp("b", &["a"], false),
            comp("c", &["b"], false),
            comp("d", &[], false),
        ]))
        .unwrap();
        assert_eq!(plan.critical_path, ["net", "a", "b", "c"]);
        assert_eq!(
            plan.dependents_of("a"),
            BTreeSet::from(["b".to_string(), "c".to_string()])
        );
        let order: Vec<_> = plan.steps.iter().map(|s| s.component.as_str()).collect();
        assert_eq!(order, ["net", "a", "d", "b", "c"]);
        assert_eq!(plan.teardown_order()[0], "c");
    }

    #[test]
    fn cycles_are_reported_in_need_order() {
        let err = build(&stack(vec![
            comp("a", &["b"], false),
            comp("b", &["c"], false),
            comp("c", &["a"], false),
            comp("d", &[], false),
        ]))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "dependency cycle: a -> b -> c -> a (hint: remove one of these needs)"
        );
    }
}
