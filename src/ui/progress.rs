//! Progress of builds and pulls: indicatif bars on a terminal, plain lines otherwise.

use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A set of progress lines, one per service (build) or per layer (pull).
#[derive(Clone)]
pub struct Progress {
    multi: Option<MultiProgress>,
    width: usize,
}

/// One line of progress.
pub struct Task {
    bar: Option<ProgressBar>,
    label: String,
}

impl Progress {
    pub fn new(width: usize) -> Progress {
        let multi = super::stderr_is_tty()
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Progress { multi, width }
    }

    pub fn task(&self, label: &str, message: &str) -> Task {
        let label = format!("{label:<width$}", width = self.width);
        match &self.multi {
            Some(multi) => {
                let bar = multi.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("{prefix:.bold}  {spinner} {wide_msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_prefix(label.clone());
                bar.set_message(message.to_owned());
                bar.enable_steady_tick(Duration::from_millis(120));
                Task {
                    bar: Some(bar),
                    label,
                }
            }
            None => {
                super::warn(&format!("{label}  {message}"));
                Task { bar: None, label }
            }
        }
    }

    /// A line printed above the bars (or plainly), such as a build step's output.
    pub fn println(&self, text: &str) {
        match &self.multi {
            Some(multi) => {
                let _ = multi.println(text);
            }
            None => super::warn(text),
        }
    }
}

impl Task {
    /// Replaces the message; without a terminal only `important` messages are printed, so a
    /// log file gets the steps, not every progress tick.
    pub fn set(&self, message: &str, important: bool) {
        match &self.bar {
            Some(bar) => bar.set_message(message.to_owned()),
            None if important => super::warn(&format!("{}  {message}", self.label)),
            None => {}
        }
    }

    pub fn finish(self, message: &str) {
        match self.bar {
            Some(bar) => {
                bar.set_style(
                    ProgressStyle::with_template("{prefix:.bold}  {wide_msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.finish_with_message(message.to_owned());
            }
            None => super::warn(&format!("{}  {message}", self.label)),
        }
    }
}
