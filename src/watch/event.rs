//! What a watch reports to its caller, shaped to print as human lines or as NDJSON.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Serialize, Serializer};

/// Serializes as one JSON object tagged by `event`, e.g.
/// `{"event":"ready","dirs_watched":812,"files_seen":9120,"elapsed_ms":41.2}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum WatchEvent {
    /// Every watch is in place; changes from now on are seen.
    Ready {
        dirs_watched: usize,
        files_seen: usize,
        #[serde(rename = "elapsed_ms", serialize_with = "millis")]
        elapsed: Duration,
    },
    /// Rule `rule_index` (0-based, in the order the rules were given) is about to run for
    /// these absolute paths; the executor is called right after. Empty `paths` follow a
    /// rescan: anything may have changed.
    Change {
        rule_index: usize,
        #[serde(serialize_with = "lossy_paths")]
        paths: Vec<PathBuf>,
    },
    /// Events were lost, so the tree was walked again; every rule runs once.
    Rescan {
        reason: RescanReason,
        dirs_watched: usize,
        files_seen: usize,
        #[serde(rename = "elapsed_ms", serialize_with = "millis")]
        elapsed: Duration,
    },
    /// Something the user should know that does not stop the watch.
    Warning { message: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RescanReason {
    /// The kernel's inotify queue overflowed (`fs.inotify.max_queued_events`).
    KernelOverflow,
    /// Events came faster than devenv took them in.
    Backlog,
}

impl fmt::Display for RescanReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RescanReason::KernelOverflow => "the kernel's inotify event queue overflowed",
            RescanReason::Backlog => "file events arrived faster than they were handled",
        })
    }
}

fn millis<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    let ms = (d.as_secs_f64() * 1_000_000.0).round() / 1000.0;
    s.serialize_f64(ms)
}

fn lossy_paths<S: Serializer>(paths: &[PathBuf], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(paths.iter().map(|p| p.to_string_lossy()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(e: &WatchEvent) -> String {
        match serde_json::to_string(e) {
            Ok(s) => s,
            Err(err) => panic!("{err}"),
        }
    }

    #[test]
    fn events_serialize_as_tagged_ndjson_objects() {
        assert_eq!(
            json(&WatchEvent::Ready {
                dirs_watched: 3,
                files_seen: 10,
                elapsed: Duration::from_micros(12_345),
            }),
            r#"{"event":"ready","dirs_watched":3,"files_seen":10,"elapsed_ms":12.345}"#
        );
        assert_eq!(
            json(&WatchEvent::Change {
                rule_index: 1,
                paths: vec![PathBuf::from("/p/app/a.rb")],
            }),
            r#"{"event":"change","rule_index":1,"paths":["/p/app/a.rb"]}"#
        );
        assert_eq!(
            json(&WatchEvent::Rescan {
                reason: RescanReason::KernelOverflow,
                dirs_watched: 1,
                files_seen: 2,
                elapsed: Duration::from_millis(5),
            }),
            r#"{"event":"rescan","reason":"kernel_overflow","dirs_watched":1,"files_seen":2,"elapsed_ms":5.0}"#
        );
        assert_eq!(
            json(&WatchEvent::Warning {
                message: "x".into()
            }),
            r#"{"event":"warning","message":"x"}"#
        );
    }
}
