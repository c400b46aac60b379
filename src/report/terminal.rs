//! Live progress on a terminal: one line per component that changes in place.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use console::style;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{Event, Sink, describe};

pub struct TerminalSink {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
    color: bool,
}

impl TerminalSink {
    pub fn new(color: bool) -> TerminalSink {
        TerminalSink {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: Mutex::new(HashMap::new()),
            color,
        }
    }

    fn bar(&self, component: &str) -> ProgressBar {
        let mut bars = self.bars.lock().expect("lock");
        bars.entry(component.to_string())
            .or_insert_with(|| {
                let bar = self.multi.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {prefix:<24} {msg}")
                        .expect("valid template")
                        .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ "),
                );
                bar.set_prefix(component.to_string());
                bar
            })
            .clone()
    }

    fn paint(&self, text: String, ok: bool) -> String {
        if !self.color {
            return text;
        }
        if ok {
            style(text).green().to_string()
        } else {
            style(text).red().to_string()
        }
    }
}

impl Sink for TerminalSink {
    fn emit(&self, event: &Event) {
        match event {
            Event::Plan { components, .. } => {
                let _ = self.multi.println(super::redact::redact(&describe(event)));
                for c in components {
                    let bar = self.bar(&c.name);
                    bar.set_message(if c.needs.is_empty() {
                        "queued".to_string()
                    } else {
                        format!("waiting for {}", c.needs.join(", "))
                    });
                }
            }
            Event::ComponentStarted { component, objects } => {
                let bar = self.bar(component);
                bar.enable_steady_tick(Duration::from_millis(120));
                bar.set_message(format!("applying {objects} objects"));
            }
            Event::Applying {
                component,
                applied,
                total,
            } => {
                self.bar(component)
                    .set_message(format!("applying {applied}/{total}"));
            }
            Event::ObjectsApplied { component, .. } => {
                let text = describe(event);
                let text = text
                    .strip_prefix(&format!("{component}: "))
                    .unwrap_or(&text)
                    .to_string();
                self.bar(component)
                    .set_message(super::redact::redact(&text));
            }
            Event::Waiting {
                component, reason, ..
            } => {
                self.bar(component)
                    .set_message(super::redact::redact(&format!("waiting: {reason}")));
            }
            Event::Healthy {
                component,
                duration_ms,
            } => {
                let bar = self.bar(component);
                bar.set_style(
                    ProgressStyle::with_template("✔ {prefix:<24} {msg}").expect("valid template"),
                );
                bar.finish_with_message(self.paint(
                    format!(
                        "healthy in {}",
                        crate::duration::format(Duration::from_millis(*duration_ms))
                    ),
                    true,
                ));
            }
            Event::Failed { component, .. } => {
                let bar = self.bar(component);
                bar.set_style(
                    ProgressStyle::with_template("✘ {prefix:<24} {msg}").expect("valid template"),
                );
                bar.finish_with_message(self.paint("failed".into(), false));
                let _ = self.multi.println(super::redact::redact(&describe(event)));
            }
            Event::Skipped { component, because } => {
                let bar = self.bar(component);
                bar.set_style(
                    ProgressStyle::with_template("- {prefix:<24} {msg}").expect("valid template"),
                );
                bar.finish_with_message(format!("skipped ({} failed)", because.join(", ")));
            }
            Event::Pruned { .. }
            | Event::Removing { .. }
            | Event::Removed { .. }
            | Event::WaitingForLock { .. }
            | Event::Check { .. }
            | Event::Interrupted { .. } => {
                let _ = self.multi.println(super::redact::redact(&describe(event)));
            }
            Event::Summary(_) => {
                for bar in self.bars.lock().expect("lock").values() {
                    if !bar.is_finished() {
                        bar.finish();
                    }
                }
            }
        }
    }
}
