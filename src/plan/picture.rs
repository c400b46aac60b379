//! The plan as a picture: Graphviz `dot` and Mermaid flowcharts, with an arrow from each
//! need to the component that needs it (dashed when the need is implicit) and the critical
//! path drawn bold, because that chain bounds how long `up` takes.

use std::collections::BTreeSet;

use super::Plan;

/// The consecutive pairs of the critical path: the edges to highlight.
fn critical_edges(plan: &Plan) -> BTreeSet<(&str, &str)> {
    plan.critical_path
        .windows(2)
        .map(|w| (w[0].as_str(), w[1].as_str()))
        .collect()
}

/// Every edge: (need, component, implicit).
fn edges(plan: &Plan) -> Vec<(&str, &str, bool)> {
    plan.steps
        .iter()
        .flat_map(|s| {
            s.needs.iter().map(move |n| {
                (
                    n.as_str(),
                    s.component.as_str(),
                    s.implicit_needs.contains(n),
                )
            })
        })
        .collect()
}

/// A Graphviz digraph, left to right.
pub fn dot(plan: &Plan, stack: &str) -> String {
    let critical = critical_edges(plan);
    let on_path: BTreeSet<&str> = plan.critical_path.iter().map(String::as_str).collect();
    let mut out = format!(
        "digraph \"{}\" {{\n  rankdir=LR;\n  node [shape=box, style=rounded];\n",
        quote(stack)
    );
    for s in &plan.steps {
        let attrs = if on_path.contains(s.component.as_str()) {
            ", penwidth=2, color=\"#c0392b\""
        } else {
            ""
        };
        out.push_str(&format!(
            "  \"{}\" [label=\"{}\\n{}\"{attrs}];\n",
            quote(&s.component),
            quote(&s.component),
            s.category.as_str()
        ));
    }
    for (need, component, implicit) in edges(plan) {
        let mut attrs = Vec::new();
        if implicit {
            attrs.push("style=dashed");
        }
        if critical.contains(&(need, component)) {
            attrs.push("penwidth=2, color=\"#c0392b\"");
        }
        let attrs = if attrs.is_empty() {
            String::new()
        } else {
            format!(" [{}]", attrs.join(", "))
        };
        out.push_str(&format!(
            "  \"{}\" -> \"{}\"{attrs};\n",
            quote(need),
            quote(component)
        ));
    }
    out.push_str("}\n");
    out
}

/// A Mermaid flowchart, left to right: thick arrows (`==>`) along the critical path,
/// dotted ones (`-.->`) for implicit needs, and the path's components in a `critical`
/// class.
pub fn mermaid(plan: &Plan) -> String {
    let critical = critical_edges(plan);
    // Mermaid reads `-` in a bare id as part of an arrow: ids are positional.
    let id = |name: &str| {
        plan.steps
            .iter()
            .position(|s| s.component == name)
            .map_or_else(|| "unknown".to_string(), |i| format!("c{i}"))
    };
    let mut out = String::from("flowchart LR\n");
    for s in &plan.steps {
        out.push_str(&format!(
            "  {}[\"{}<br/><small>{}</small>\"]\n",
            id(&s.component),
            s.component,
            s.category.as_str()
        ));
    }
    for (need, component, implicit) in edges(plan) {
        let arrow = if critical.contains(&(need, component)) {
            "==>"
        } else if implicit {
            "-.->"
        } else {
            "-->"
        };
        out.push_str(&format!("  {} {arrow} {}\n", id(need), id(component)));
    }
    if !plan.critical_path.is_empty() {
        out.push_str("  classDef critical stroke:#c0392b,stroke-width:3px\n");
        let ids: Vec<String> = plan.critical_path.iter().map(|c| id(c)).collect();
        out.push_str(&format!("  class {} critical\n", ids.join(",")));
    }
    out
}

/// Escapes a name for a double-quoted dot string.
fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Step;
    use crate::stack::Category;

    fn step(name: &str, needs: &[&str], implicit: &[&str], depth: usize) -> Step {
        Step {
            component: name.into(),
            category: Category::Delivery,
            needs: needs.iter().map(|s| s.to_string()).collect(),
            implicit_needs: implicit.iter().map(|s| s.to_string()).collect(),
            depth,
        }
    }

    /// cni -> a -> c is the critical path; b hangs off cni alone.
    fn plan() -> Plan {
        Plan {
            steps: vec![
                step("cni", &[], &[], 0),
                step("a", &["cni"], &["cni"], 1),
                step("b", &["cni"], &["cni"], 1),
                step("c", &["a", "cni"], &["cni"], 2),
            ],
            critical_path: vec!["cni".into(), "a".into(), "c".into()],
        }
    }

    #[test]
    fn dot_draws_every_need_and_the_critical_path_bold() {
        let d = dot(&plan(), "s");
        assert!(d.starts_with("digraph \"s\" {"), "{d}");
        assert_eq!(d.matches(" -> ").count(), 4, "{d}");
        assert!(
            d.contains("\"a\" -> \"c\" [penwidth=2"),
            "critical edge bold: {d}"
        );
        assert!(
            d.contains("\"cni\" -> \"b\" [style=dashed];"),
            "implicit need dashed, not critical: {d}"
        );
        assert!(d.contains("\"cni\" -> \"c\" [style=dashed];"), "{d}");
        assert!(d.trim_end().ends_with('}'));
    }

    #[test]
    fn mermaid_uses_safe_ids_and_thick_arrows_on_the_critical_path() {
        let m = mermaid(&plan());
        assert!(m.starts_with("flowchart LR\n"), "{m}");
        assert!(m.contains("c0[\"cni<br/><small>delivery</small>\"]"), "{m}");
        assert!(m.contains("c0 ==> c1"), "cni to a is critical: {m}");
        assert!(m.contains("c1 ==> c3"), "a to c is critical: {m}");
        assert!(m.contains("c0 -.-> c2"), "cni to b is implicit: {m}");
        assert!(m.contains("c0 -.-> c3"), "cni to c is implicit: {m}");
        assert!(m.contains("class c0,c1,c3 critical"), "{m}");
    }
}
