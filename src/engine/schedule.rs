//! Which component starts when: a pure state machine over the plan, with no I/O, so that
//! the rules are tested on their own.
//!
//! A component starts the moment every component it needs is healthy — there are no
//! levels, so a slow component holds up only what needs it. A component whose need failed
//! or was skipped is skipped, and so, in turn, is everything that needs it; the rest of
//! the graph carries on. Once stopped (a signal, a lost lock), nothing new starts.

use std::collections::BTreeMap;

use crate::plan::Plan;

/// Where a component is in a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Its needs are not all healthy yet.
    Waiting,
    Running,
    Healthy,
    Failed,
    /// A need failed or was skipped.
    Skipped,
}

/// What the engine must do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transition {
    Start(String),
    /// Skipped, because these needs failed or were skipped.
    Skip {
        component: String,
        because: Vec<String>,
    },
}

pub struct Scheduler {
    /// Component → its needs, in plan order.
    needs: Vec<(String, Vec<String>)>,
    stages: BTreeMap<String, Stage>,
    stopped: bool,
}

impl Scheduler {
    pub fn new(plan: &Plan) -> Scheduler {
        Scheduler {
            needs: plan
                .steps
                .iter()
                .map(|s| (s.component.clone(), s.needs.clone()))
                .collect(),
            stages: plan
                .steps
                .iter()
                .map(|s| (s.component.clone(), Stage::Waiting))
                .collect(),
            stopped: false,
        }
    }

    /// Everything that can happen now: skips (transitively) and starts, in plan order.
    /// Started components are `Running` until [`Scheduler::finished`] is called.
    pub fn advance(&mut self) -> Vec<Transition> {
        let mut out = Vec::new();
        loop {
            let mut progressed = false;
            for (name, needs) in &self.needs {
                if self.stages[name] != Stage::Waiting {
                    continue;
                }
                let blocked: Vec<String> = needs
                    .iter()
                    .filter(|n| matches!(self.stages[*n], Stage::Failed | Stage::Skipped))
                    .cloned()
                    .collect();
                if !blocked.is_empty() {
                    self.stages.insert(name.clone(), Stage::Skipped);
                    out.push(Transition::Skip {
                        component: name.clone(),
                        because: blocked,
                    });
                    progressed = true;
                } else if !self.stopped && needs.iter().all(|n| self.stages[n] == Stage::Healthy) {
                    self.stages.insert(name.clone(), Stage::Running);
                    out.push(Transition::Start(name.clone()));
                    progressed = true;
                }
            }
            if !progressed {
                return out;
            }
        }
    }

    /// A running component ended.
    pub fn finished(&mut self, component: &str, healthy: bool) {
        let stage = if healthy {
            Stage::Healthy
        } else {
            Stage::Failed
        };
        self.stages.insert(component.to_string(), stage);
    }

    /// Nothing new starts from now on.
    pub fn stop(&mut self) {
        self.stopped = true;
    }

    pub fn stage(&self, component: &str) -> Option<Stage> {
        self.stages.get(component).copied()
    }

    pub fn running(&self) -> usize {
        self.count(Stage::Running)
    }

    fn count(&self, stage: Stage) -> usize {
        self.stages.values().filter(|s| **s == stage).count()
    }

    /// Every component healthy.
    pub fn all_healthy(&self) -> bool {
        self.count(Stage::Healthy) == self.stages.len()
    }

    /// Components in plan order with their stage.
    pub fn stages(&self) -> Vec<(String, Stage)> {
        self.needs
            .iter()
            .map(|(n, _)| (n.clone(), self.stages[n]))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Step;
    use crate::stack::Category;

    /// A plan from `(component, needs)` pairs, in order.
    fn plan(edges: &[(&str, &[&str])]) -> Plan {
        Plan {
            steps: edges
                .iter()
                .map(|(c, needs)| Step {
                    component: c.to_string(),
                    category: Category::Delivery,
                    needs: needs.iter().map(|n| n.to_string()).collect(),
                    implicit_needs: vec![],
                    depth: 0,
                })
                .collect(),
            critical_path: vec![],
        }
    }

    fn starts(t: &[Transition]) -> Vec<&str> {
        t.iter()
            .filter_map(|t| match t {
                Transition::Start(c) => Some(c.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_component_starts_only_when_its_needs_are_healthy() {
        let mut s = Scheduler::new(&plan(&[("net", &[]), ("a", &["net"]), ("b", &["a"])]));
        assert_eq!(starts(&s.advance()), ["net"]);
        assert!(s.advance().is_empty(), "nothing else until net is healthy");
        s.finished("net", true);
        assert_eq!(starts(&s.advance()), ["a"]);
        s.finished("a", true);
        assert_eq!(starts(&s.advance()), ["b"]);
        s.finished("b", true);
        assert!(s.all_healthy());
    }

    #[test]
    fn independent_branches_overlap() {
        let mut s = Scheduler::new(&plan(&[
            ("net", &[]),
            ("slow", &["net"]),
            ("fast", &["net"]),
            ("after-fast", &["fast"]),
        ]));
        s.advance();
        s.finished("net", true);
        assert_eq!(
            starts(&s.advance()),
            ["slow", "fast"],
            "both branches start at once"
        );
        s.finished("fast", true);
        assert_eq!(
            starts(&s.advance()),
            ["after-fast"],
            "the fast branch goes on while the slow one still runs"
        );
        assert_eq!(s.stage("slow"), Some(Stage::Running));
    }

    #[test]
    fn a_failing_branch_skips_its_dependents_only() {
        let mut s = Scheduler::new(&plan(&[
            ("net", &[]),
            ("a", &["net"]),
            ("b", &["a"]),
            ("c", &["b"]),
            ("d", &["net"]),
        ]));
        s.advance();
        s.finished("net", true);
        assert_eq!(starts(&s.advance()), ["a", "d"]);
        s.finished("a", false);
        let t = s.advance();
        assert_eq!(
            t,
            [
                Transition::Skip {
                    component: "b".into(),
                    because: vec!["a".into()]
                },
                Transition::Skip {
                    component: "c".into(),
                    because: vec!["b".into()]
                },
            ]
        );
        assert_eq!(
            s.stage("d"),
            Some(Stage::Running),
            "the other branch is untouched"
        );
        s.finished("d", true);
        assert!(!s.all_healthy());
    }

    #[test]
    fn nothing_starts_once_stopped() {
        let mut s = Scheduler::new(&plan(&[("net", &[]), ("a", &["net"])]));
        s.advance();
        s.stop();
        s.finished("net", true);
        assert!(s.advance().is_empty());
        assert_eq!(s.stage("a"), Some(Stage::Waiting));
        assert_eq!(s.running(), 0);
    }
}
