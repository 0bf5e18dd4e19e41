//! What `devenv watch` prints: one human line per trigger and per action result, or NDJSON
//! events (`--json`) for editors and scripts. The event schema is documented in the README.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;

use crate::watch::WatchEvent;

#[derive(Clone, Debug)]
pub struct WatchReporter {
    json: bool,
    project_dir: PathBuf,
    numbers: Vec<usize>,
}

/// How an action ended.
#[derive(Clone, Debug)]
pub struct Finished<'a> {
    pub ok: bool,
    pub exit_code: Option<i64>,
    pub duration: Duration,
    /// The last lines of output (or the error), shown when the action failed.
    pub tail: &'a [String],
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

fn seconds(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

impl WatchReporter {
    /// `numbers`: each watched rule's number in the config, by its index among the rules
    /// watched (`devenv watch web` watches some of them, and still names them as written).
    pub fn new(json: bool, project_dir: &Path, numbers: Vec<usize>) -> WatchReporter {
        // Changed paths arrive resolved (the watch walks the canonical tree); a project
        // reached through a symlink must still print them relative to itself.
        let project_dir =
            std::fs::canonicalize(project_dir).unwrap_or_else(|_| project_dir.to_owned());
        WatchReporter {
            json,
            project_dir,
            numbers,
        }
    }

    /// The number the user knows a rule by.
    fn number(&self, index: usize) -> usize {
        self.numbers.get(index).copied().unwrap_or(index + 1)
    }

    pub fn is_json(&self) -> bool {
        self.json
    }

    fn emit(&self, value: serde_json::Value) {
        super::print(&format!("{value}\n"));
    }

    /// Events of the watch core: ready, change, rescan, warning.
    pub fn event(&self, event: &WatchEvent) {
        if self.json {
            // Rule numbers count from 1 everywhere the user sees them, so the core's 0-based
            // index is replaced rather than shown beside the number the other events carry.
            let mut value = serde_json::to_value(event).unwrap_or_default();
            if let Some(fields) = value.as_object_mut()
                && let Some(i) = fields.remove("rule_index").and_then(|v| v.as_u64())
            {
                fields.insert("rule".to_owned(), json!(self.number(i as usize)));
            }
            self.emit(value);
            return;
        }
        match event {
            WatchEvent::Ready {
                dirs_watched,
                files_seen,
                elapsed,
            } => super::warn(&format!(
                "watching {files_seen} files in {dirs_watched} directories (ready in {}); Ctrl-C stops",
                seconds(*elapsed)
            )),
            WatchEvent::Change { rule_index, paths } => {
                let what = match paths.as_slice() {
                    [] => "anything (rescan)".to_owned(),
                    [one] => one
                        .strip_prefix(&self.project_dir)
                        .unwrap_or(one)
                        .display()
                        .to_string(),
                    many => format!("{} files", many.len()),
                };
                super::warn(&format!(
                    "{what} changed → rule {}",
                    self.number(*rule_index)
                ));
            }
            WatchEvent::Rescan { reason, .. } => super::warn(&format!(
                "rescanned the tree: {reason}; every rule runs once"
            )),
            WatchEvent::Warning { message } => super::warn(&format!("warning: {message}")),
        }
    }

    pub fn action_started(&self, rule: usize, action: &str) {
        if self.json {
            self.emit(
                json!({"event": "action_started", "rule": self.number(rule), "action": action}),
            );
        } else {
            super::warn(&format!("  rule {}: {action}", self.number(rule)));
        }
    }

    pub fn action_finished(&self, rule: usize, action: &str, f: &Finished) {
        if self.json {
            self.emit(json!({
                "event": "action_finished",
                "rule": self.number(rule),
                "action": action,
                "status": if f.ok { "ok" } else { "failed" },
                "exit_code": f.exit_code,
                "duration_ms": ms(f.duration),
                "output_tail": f.tail,
            }));
            return;
        }
        if f.ok {
            super::warn(&format!(
                "  rule {}: {action}: done in {}",
                self.number(rule),
                seconds(f.duration)
            ));
            return;
        }
        let code = f
            .exit_code
            .map(|c| format!("exit {c}"))
            .unwrap_or_else(|| "error".to_owned());
        let mut text = format!(
            "  rule {}: {action}: failed ({code}) in {}",
            self.number(rule),
            seconds(f.duration)
        );
        for line in f.tail {
            text.push_str("\n    | ");
            text.push_str(line);
        }
        super::warn(&text);
    }
}
