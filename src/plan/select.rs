//! Component selection: `--only a,b` and `--skip c`. A selection is closed under needs
//! (what a selected component needs is selected too) unless `--no-needs` says otherwise;
//! needs left outside must then already be healthy, which the caller checks.

use std::collections::BTreeSet;

use super::{Plan, Step};

/// What the flags ask for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// Only these (and, unless `without_needs`, what they need). Empty: every component.
    pub only: Vec<String>,
    /// Never these.
    pub skip: Vec<String>,
    /// Do not add what the selected components need.
    pub without_needs: bool,
}

impl Selection {
    /// Whether the flags select anything less than the whole stack.
    pub fn is_partial(&self) -> bool {
        !self.only.is_empty() || !self.skip.is_empty()
    }
}

/// The components a selection keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selected {
    pub components: BTreeSet<String>,
    /// Components the selected ones need that are not selected (`--no-needs`, or
    /// `--skip` of a need): they must already be healthy.
    pub outside_needs: BTreeSet<String>,
}

/// A name in `--only` or `--skip` that is no component of the stack.
#[derive(Debug, thiserror::Error)]
#[error("{flag} {name}: no component `{name}` in stack `{stack}` (hint: {hint})")]
pub struct UnknownComponent {
    pub flag: &'static str,
    pub name: String,
    pub stack: String,
    pub hint: String,
}

impl Plan {
    /// The components `selection` keeps, with the needs it leaves outside.
    pub fn select(&self, selection: &Selection, stack: &str) -> Result<Selected, UnknownComponent> {
        let names: Vec<&str> = self.steps.iter().map(|s| s.component.as_str()).collect();
        for (flag, list) in [("--only", &selection.only), ("--skip", &selection.skip)] {
            if let Some(unknown) = list.iter().find(|n| !names.contains(&n.as_str())) {
                return Err(UnknownComponent {
                    flag,
                    name: unknown.clone(),
                    stack: stack.to_string(),
                    hint: crate::stack::did_you_mean(unknown, names.iter().copied()),
                });
            }
        }
        let mut components: BTreeSet<String> = if selection.only.is_empty() {
            names.iter().map(|n| n.to_string()).collect()
        } else {
            selection.only.iter().cloned().collect()
        };
        if !selection.without_needs {
            let needed: Vec<String> = components.iter().flat_map(|c| self.needs_of(c)).collect();
            components.extend(needed);
        }
        for s in &selection.skip {
            components.remove(s);
        }
        let outside_needs = components
            .iter()
            .filter_map(|c| self.step(c))
            .flat_map(|s| s.needs.iter())
            .filter(|n| !components.contains(*n))
            .cloned()
            .collect();
        Ok(Selected {
            components,
            outside_needs,
        })
    }

    /// The plan of `components` alone: their steps in the same order, needs outside the
    /// set dropped (they are healthy already), the critical path cut to the set.
    pub fn only(&self, components: &BTreeSet<String>) -> Plan {
        let mut steps: Vec<Step> = Vec::new();
        // Steps come needs first, so each depth is known when a dependent needs it.
        for s in self
            .steps
            .iter()
            .filter(|s| components.contains(&s.component))
        {
            let needs = keep(&s.needs, components);
            let depth = needs
                .iter()
                .filter_map(|n| steps.iter().find(|t| &t.component == n))
                .map(|t| t.depth + 1)
                .max()
                .unwrap_or(0);
            steps.push(Step {
                implicit_needs: keep(&s.implicit_needs, components),
                needs,
                depth,
                ..s.clone()
            });
        }
        Plan {
            steps,
            critical_path: keep(&self.critical_path, components),
        }
    }
}

fn keep(names: &[String], set: &BTreeSet<String>) -> Vec<String> {
    names.iter().filter(|n| set.contains(*n)).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::Category;

    fn step(name: &str, needs: &[&str]) -> Step {
        Step {
            component: name.into(),
            category: Category::Delivery,
            needs: needs.iter().map(|s| s.to_string()).collect(),
            implicit_needs: vec![],
            depth: 0,
        }
    }

    /// cni <- a <- b, cni <- c
    fn plan() -> Plan {
        Plan {
            steps: vec![
                step("cni", &[]),
                step("a", &["cni"]),
                step("c", &["cni"]),
                step("b", &["a", "cni"]),
            ],
            critical_path: vec!["cni".into(), "a".into(), "b".into()],
        }
    }

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn select(only: &[&str], skip: &[&str], without_needs: bool) -> Selected {
        plan()
            .select(
                &Selection {
                    only: only.iter().map(|s| s.to_string()).collect(),
                    skip: skip.iter().map(|s| s.to_string()).collect(),
                    without_needs,
                },
                "s",
            )
            .unwrap()
    }

    #[test]
    fn only_brings_what_it_needs_unless_told_not_to() {
        let s = select(&["b"], &[], false);
        assert_eq!(s.components, set(&["a", "b", "cni"]));
        assert!(s.outside_needs.is_empty());
        let s = select(&["b"], &[], true);
        assert_eq!(s.components, set(&["b"]));
        assert_eq!(s.outside_needs, set(&["a", "cni"]));
    }

    #[test]
    fn skip_removes_and_a_skipped_need_must_be_healthy() {
        let s = select(&[], &["c"], false);
        assert_eq!(s.components, set(&["a", "b", "cni"]));
        let s = select(&["b"], &["cni"], false);
        assert_eq!(s.components, set(&["a", "b"]));
        assert_eq!(s.outside_needs, set(&["cni"]));
    }

    #[test]
    fn unknown_names_are_refused_with_a_hint() {
        let e = plan()
            .select(
                &Selection {
                    only: vec!["bb".into()],
                    ..Default::default()
                },
                "s",
            )
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "--only bb: no component `bb` in stack `s` (hint: did you mean `b`?)"
        );
    }

    #[test]
    fn the_plan_of_a_selection_drops_needs_outside_it() {
        let p = plan().only(&set(&["a", "b"]));
        let names: Vec<&str> = p.steps.iter().map(|s| s.component.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(p.steps[0].needs, Vec::<String>::new());
        assert_eq!(p.steps[1].needs, ["a"]);
        assert_eq!((p.steps[0].depth, p.steps[1].depth), (0, 1));
        assert_eq!(p.critical_path, ["a", "b"]);
    }
}
