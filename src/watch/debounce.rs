//! Per-rule debouncing: gathers changed paths into one batch per rule, fires it once the rule's
//! quiet period has passed, and never lets a rule run twice at once.
//!
//! Pure bookkeeping: the caller passes the time in, so the rules here are tested without
//! sleeping.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// One rule's turn to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    pub rule_index: usize,
    /// Distinct changed paths, sorted. Empty after a rescan: anything may have changed.
    pub paths: Vec<PathBuf>,
}

#[derive(Debug)]
struct Slot {
    quiet: Duration,
    paths: BTreeSet<PathBuf>,
    /// A rescan asked for a run covering everything.
    everything: bool,
    last_change: Option<Instant>,
    /// The first change of the batch gathering now.
    first_change: Option<Instant>,
    running: bool,
}

/// However busy the writing, a batch falls due this long after its first change at the
/// latest (or [`MAX_WAIT_FACTOR`] quiet periods, if longer): a file rewritten every few
/// milliseconds, a log or a build output, would otherwise keep a rule from ever running.
pub const MAX_WAIT: Duration = Duration::from_secs(2);
pub const MAX_WAIT_FACTOR: u32 = 40;

impl Slot {
    fn pending(&self) -> bool {
        self.everything || !self.paths.is_empty()
    }

    fn due(&self) -> Option<Instant> {
        let quiet_end = self.last_change? + self.quiet;
        let cap = self.first_change? + MAX_WAIT.max(self.quiet * MAX_WAIT_FACTOR);
        Some(quiet_end.min(cap))
    }
}

#[derive(Debug)]
pub struct Debouncer {
    slots: Vec<Slot>,
}

impl Debouncer {
    /// One slot per rule, with that rule's quiet period.
    pub fn new(quiet_periods: impl IntoIterator<Item = Duration>) -> Debouncer {
        Debouncer {
            slots: quiet_periods
                .into_iter()
                .map(|quiet| Slot {
                    quiet,
                    paths: BTreeSet::new(),
                    everything: false,
                    last_change: None,
                    first_change: None,
                    running: false,
                })
                .collect(),
        }
    }

    /// Records that `path` changed for `rule`, restarting its quiet period.
    pub fn add(&mut self, rule: usize, path: PathBuf, now: Instant) {
        if let Some(slot) = self.slots.get_mut(rule) {
            slot.paths.insert(path);
            slot.last_change = Some(now);
            slot.first_change.get_or_insert(now);
        }
    }

    /// After a rescan: every rule runs once more, covering everything.
    pub fn add_everything(&mut self, now: Instant) {
        for slot in &mut self.slots {
            slot.everything = true;
            slot.last_change = Some(now);
            slot.first_change.get_or_insert(now);
        }
    }

    /// When the next batch falls due, if any is waiting and not held back by a running one.
    pub fn next_due(&self) -> Option<Instant> {
        self.slots
            .iter()
            .filter(|s| s.pending() && !s.running)
            .filter_map(Slot::due)
            .min()
    }

    /// Takes every batch whose quiet period has passed by `now`, in rule order, and marks
    /// those rules running until [`Debouncer::finished`].
    pub fn take_due(&mut self, now: Instant) -> Vec<Batch> {
        let mut due = Vec::new();
        for (rule_index, slot) in self.slots.iter_mut().enumerate() {
            let ready = slot.pending() && !slot.running && slot.due().is_some_and(|t| t <= now);
            if !ready {
                continue;
            }
            let paths = std::mem::take(&mut slot.paths);
            let paths = if std::mem::take(&mut slot.everything) {
                Vec::new()
            } else {
                paths.into_iter().collect()
            };
            slot.running = true;
            slot.last_change = None;
            slot.first_change = None;
            due.push(Batch { rule_index, paths });
        }
        due
    }

    /// The rule's run ended; what gathered meanwhile may now fall due, as one batch.
    pub fn finished(&mut self, rule: usize) {
        if let Some(slot) = self.slots.get_mut(rule) {
            slot.running = false;
        }
    }

    pub fn is_running(&self, rule: usize) -> bool {
        self.slots.get(rule).is_some_and(|s| s.running)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn p(s: &str) -> PathBuf {
        PathBuf::from(s)
    }

    #[test]
    fn writes_that_never_pause_still_fall_due_after_the_maximum_wait() {
        let t0 = Instant::now();
        let mut d = Debouncer::new([50 * MS]);
        // A log line every 10 ms for 5 s: never 50 ms of quiet.
        let mut batches = Vec::new();
        for i in 0..500u32 {
            let now = t0 + 10 * MS * i;
            d.add(0, p("log/out.log"), now);
            for b in d.take_due(now) {
                batches.push(now - t0);
                d.finished(b.rule_index);
            }
        }
        assert_eq!(batches, vec![MAX_WAIT, 2 * MAX_WAIT + 10 * MS]);
        // A long quiet period is capped by its multiple, not by MAX_WAIT.
        let mut slow = Debouncer::new([100 * MS]);
        slow.add(0, p("a"), t0);
        for i in 1..100u32 {
            slow.add(0, p("a"), t0 + 50 * MS * i);
        }
        assert_eq!(slow.next_due(), Some(t0 + 100 * MS * MAX_WAIT_FACTOR));
    }

    #[test]
    fn a_burst_becomes_one_batch_of_distinct_paths_after_the_quiet_period() {
        let t0 = Instant::now();
        let mut d = Debouncer::new([50 * MS]);
        for i in 0..3000u32 {
            // Every path written twice, 10 µs apart: one burst lasting 60 ms.
            let at = t0 + Duration::from_micros(u64::from(i) * 20);
            d.add(0, p(&format!("f{i:04}")), at);
            d.add(0, p(&format!("f{i:04}")), at + Duration::from_micros(10));
        }
        let last = t0 + Duration::from_micros(2999 * 20 + 10);
        assert_eq!(d.next_due(), Some(last + 50 * MS));
        assert!(d.take_due(last + 49 * MS).is_empty());
        let batches = d.take_due(last + 50 * MS);
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].paths.len(), 3000);
        assert_eq!(batches[0].paths[0], p("f0000"));
        assert!(d.take_due(last + 500 * MS).is_empty());
    }

    #[test]
    fn each_rule_keeps_its_own_quiet_period() {
        let t0 = Instant::now();
        let mut d = Debouncer::new([50 * MS, 200 * MS]);
        d.add(0, p("a"), t0);
        d.add(1, p("b"), t0);
        let first = d.take_due(t0 + 50 * MS);
        assert_eq!(
            first,
            vec![Batch {
                rule_index: 0,
                paths: vec![p("a")]
            }]
        );
        assert_eq!(d.next_due(), Some(t0 + 200 * MS));
        assert_eq!(d.take_due(t0 + 200 * MS)[0].rule_index, 1);
    }

    #[test]
    fn changes_during_a_run_give_exactly_one_rerun_with_their_union() {
        let t0 = Instant::now();
        let mut d = Debouncer::new([50 * MS]);
        d.add(0, p("a"), t0);
        assert_eq!(d.take_due(t0 + 50 * MS).len(), 1);
        assert!(d.is_running(0));
        // Three separate bursts while the run lasts, each long past its quiet period.
        d.add(0, p("b"), t0 + 100 * MS);
        d.add(0, p("c"), t0 + 300 * MS);
        d.add(0, p("b"), t0 + 500 * MS);
        assert_eq!(d.next_due(), None, "nothing fires while the rule runs");
        assert!(d.take_due(t0 + 900 * MS).is_empty());
        d.finished(0);
        let rerun = d.take_due(t0 + 900 * MS);
        assert_eq!(
            rerun,
            vec![Batch {
                rule_index: 0,
                paths: vec![p("b"), p("c")]
            }]
        );
        d.finished(0);
        assert_eq!(d.next_due(), None);
        assert!(d.take_due(t0 + 5000 * MS).is_empty());
    }

    #[test]
    fn a_rescan_runs_every_rule_once_with_no_paths() {
        let t0 = Instant::now();
        let mut d = Debouncer::new([50 * MS, 50 * MS]);
        d.add(0, p("a"), t0);
        d.add_everything(t0 + MS);
        d.add(1, p("late"), t0 + 2 * MS);
        let batches = d.take_due(t0 + 60 * MS);
        assert_eq!(
            batches,
            vec![
                Batch {
                    rule_index: 0,
                    paths: vec![]
                },
                Batch {
                    rule_index: 1,
                    paths: vec![]
                },
            ]
        );
        d.finished(0);
        d.finished(1);
        assert!(d.take_due(t0 + 5000 * MS).is_empty());
    }

    #[test]
    fn a_running_rule_does_not_hold_back_another() {
        let t0 = Instant::now();
        let mut d = Debouncer::new([50 * MS, 50 * MS]);
        d.add(0, p("a"), t0);
        assert_eq!(d.take_due(t0 + 50 * MS).len(), 1);
        d.add(0, p("a2"), t0 + 60 * MS);
        d.add(1, p("b"), t0 + 60 * MS);
        assert_eq!(d.next_due(), Some(t0 + 110 * MS));
        let due = d.take_due(t0 + 110 * MS);
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].rule_index, 1);
    }
}
