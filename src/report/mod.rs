//! Showing a run: sinks that consume the engine's [`Event`]s.
//!
//! - [`JsonSink`]: one JSON object per line on stdout, and nothing else there (`-o json`).
//! - [`PlainSink`]: one timestamped line per state change on stderr — for CI logs, no
//!   spinners, no escape codes.
//! - [`TerminalSink`]: one live line per component on a terminal.

mod event;
pub mod redact;
mod terminal;

use std::io::Write;
use std::sync::Mutex;

pub use event::{
    AppliedObject, Change, ComponentState, ComponentSummary, Event, FailureClass, NotReady,
    PlannedComponent, RunResult, Summary,
};
pub use terminal::TerminalSink;

use crate::duration;

/// Receives the events of a run.
pub trait Sink: Send + Sync {
    fn emit(&self, event: &Event);
}

/// Newline-delimited JSON on stdout: `{"time": …, "event": "…", …}`.
pub struct JsonSink {
    out: Mutex<Box<dyn Write + Send>>,
}

impl JsonSink {
    pub fn stdout() -> JsonSink {
        JsonSink {
            out: Mutex::new(Box::new(std::io::stdout())),
        }
    }

    pub fn to_writer(w: Box<dyn Write + Send>) -> JsonSink {
        JsonSink { out: Mutex::new(w) }
    }
}

impl Sink for JsonSink {
    fn emit(&self, event: &Event) {
        let mut line = serde_json::Map::new();
        line.insert("time".into(), serde_json::Value::String(now_rfc3339()));
        let mut value = serde_json::to_value(event).expect("events serialise");
        redact::redact_json(&mut value);
        if let serde_json::Value::Object(fields) = value {
            line.extend(fields);
        }
        let mut out = self.out.lock().expect("lock");
        let _ = writeln!(out, "{}", serde_json::Value::Object(line));
        let _ = out.flush();
    }
}

/// Plain lines on stderr, one per state change.
pub struct PlainSink {
    out: Mutex<Box<dyn Write + Send>>,
}

impl PlainSink {
    pub fn stderr() -> PlainSink {
        PlainSink {
            out: Mutex::new(Box::new(std::io::stderr())),
        }
    }
}

impl Sink for PlainSink {
    fn emit(&self, event: &Event) {
        let text = redact::redact(&describe(event));
        if text.is_empty() {
            return;
        }
        let time = jiff::Zoned::now().strftime("%H:%M:%S").to_string();
        let mut out = self.out.lock().expect("lock");
        for line in text.lines() {
            let _ = writeln!(out, "{time} {line}");
        }
        let _ = out.flush();
    }
}

/// A sink that discards everything (for library callers that do not need progress).
pub struct NullSink;

impl Sink for NullSink {
    fn emit(&self, _: &Event) {}
}

/// A sink that keeps every event, for tests and for callers that post-process a run.
#[derive(Default)]
pub struct Recorder {
    pub events: Mutex<Vec<Event>>,
}

impl Sink for Recorder {
    fn emit(&self, event: &Event) {
        self.events.lock().expect("lock").push(event.clone());
    }
}

pub fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

fn ms(d: u64) -> String {
    duration::format(std::time::Duration::from_millis(d))
}

/// A human sentence for an event (multi-line for failures); empty for the summary, which
/// is printed as a table.
pub fn describe(event: &Event) -> String {
    match event {
        Event::Plan {
            stack,
            components,
            critical_path,
            ..
        } => format!(
            "plan: stack {stack}, {} components; critical path {}",
            components.len(),
            critical_path.join(" -> ")
        ),
        // Live progress only: a CI log gets one line per state change, not per batch.
        Event::Applying { .. } => String::new(),
        Event::ComponentStarted { component, objects } => {
            format!("{component}: applying {objects} objects")
        }
        Event::ObjectsApplied {
            component,
            created,
            configured,
            replaced,
            unchanged,
            ..
        } => {
            let replaced = if *replaced > 0 {
                format!(", {replaced} replaced")
            } else {
                String::new()
            };
            format!(
                "{component}: applied ({created} created, {configured} configured{replaced}, {unchanged} unchanged)"
            )
        }
        Event::Waiting {
            component, reason, ..
        } => format!("{component}: waiting: {reason}"),
        Event::Healthy {
            component,
            duration_ms,
        } => format!("{component}: healthy in {}", ms(*duration_ms)),
        Event::Failed {
            component,
            error,
            not_ready,
            duration_ms,
            ..
        } => {
            let mut s = format!("{component}: FAILED after {}: {error}", ms(*duration_ms));
            for n in not_ready {
                s.push_str(&format!("\n  {}: {}", n.object, n.reason));
                for p in &n.pods {
                    s.push_str(&format!("\n    pod {p}"));
                }
                for e in &n.events {
                    s.push_str(&format!("\n    event: {e}"));
                }
            }
            s
        }
        Event::Skipped { component, because } => {
            format!(
                "{component}: skipped, because {} did not become healthy",
                because.join(", ")
            )
        }
        Event::Pruned {
            component,
            objects,
            retained,
            released,
            left_alone,
            ..
        } => {
            let mut s = format!(
                "{component}: pruned {} objects it no longer renders",
                objects.len()
            );
            for o in objects {
                s.push_str(&format!("\n  deleted {o}"));
            }
            // A kept namespace is explained among `left_alone`.
            for o in retained.iter().filter(|o| !o.is_namespace()) {
                s.push_str(&format!(
                    "\n  kept {o} (pass --delete-crds / --delete-volumes to delete)"
                ));
            }
            for o in released {
                s.push_str(&format!(
                    "\n  released {o} (adopted: left in place, no longer landscape's)"
                ));
            }
            for why in left_alone {
                s.push_str(&format!("\n  {why}"));
            }
            s
        }
        Event::Removing { component, objects } => {
            format!("{component}: removing {objects} objects")
        }
        Event::Removed {
            component,
            deleted,
            retained,
            released,
            duration_ms,
        } => {
            let mut s = format!(
                "{component}: removed {deleted} objects in {}",
                ms(*duration_ms)
            );
            if !retained.is_empty() {
                s.push_str(&format!(", kept {}", retained.len()));
            }
            if !released.is_empty() {
                s.push_str(&format!(", released {} adopted", released.len()));
            }
            s
        }
        Event::WaitingForLock { holder } => {
            format!("waiting for the stack's lock, held by {holder}")
        }
        Event::Interrupted { reason, hint, .. } => format!("{reason}: {hint}"),
        Event::Check {
            check,
            status,
            saw,
            fix,
        } => {
            let status = serde_json::to_value(status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            match fix {
                Some(fix) => format!("check {check}: {status}: {saw} (fix: {fix})"),
                None => format!("check {check}: {status}: {saw}"),
            }
        }
        Event::Summary(_) => String::new(),
    }
}

/// The final table: one row per component.
pub fn summary_table(summary: &Summary) -> String {
    let mut rows = vec![[
        "COMPONENT".to_string(),
        "STATE".to_string(),
        "CREATED".to_string(),
        "CONFIGURED".to_string(),
        "REPLACED".to_string(),
        "UNCHANGED".to_string(),
        "PRUNED".to_string(),
        "TIME".to_string(),
    ]];
    for c in &summary.components {
        rows.push([
            c.name.clone(),
            serde_json::to_value(c.state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            c.created.to_string(),
            c.configured.to_string(),
            c.replaced.to_string(),
            c.unchanged.to_string(),
            c.pruned.to_string(),
            ms(c.duration_ms),
        ]);
    }
    let mut out = table(&rows);
    let verdict = if summary.result == RunResult::Interrupted {
        format!(
            "Interrupted after {}: run the same command again to resume.",
            ms(summary.duration_ms)
        )
    } else if summary.result == RunResult::Success {
        if summary.changed {
            format!(
                "Done in {}: every component is healthy.",
                ms(summary.duration_ms)
            )
        } else {
            format!(
                "No changes: every component was already up to date and healthy ({}).",
                ms(summary.duration_ms)
            )
        }
    } else {
        let failed: Vec<&str> = summary
            .components
            .iter()
            .filter(|c| !matches!(c.state, ComponentState::Healthy | ComponentState::Removed))
            .map(|c| c.name.as_str())
            .collect();
        format!(
            "Failed after {}: not healthy: {}.",
            ms(summary.duration_ms),
            failed.join(", ")
        )
    };
    out.push_str(&verdict);
    out.push('\n');
    out
}

/// Left-aligned columns separated by two spaces.
pub fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, cell)| format!("{cell:<w$}", w = widths[i]))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_carry_time_and_event_name() {
        let buf = std::sync::Arc::new(Mutex::new(Vec::<u8>::new()));
        struct W(std::sync::Arc<Mutex<Vec<u8>>>);
        impl Write for W {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = JsonSink::to_writer(Box::new(W(buf.clone())));
        sink.emit(&Event::Healthy {
            component: "argocd".into(),
            duration_ms: 1200,
        });
        let text = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
        let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(v["event"], "healthy");
        assert_eq!(v["component"], "argocd");
        assert!(v["time"].as_str().unwrap().ends_with('Z'));
        assert_eq!(text.lines().count(), 1);
    }

    #[test]
    fn summary_says_when_nothing_changed() {
        let s = Summary {
            result: RunResult::Success,
            changed: false,
            components: vec![],
            duration_ms: 10,
        };
        assert!(summary_table(&s).contains("No changes"));
    }
}
