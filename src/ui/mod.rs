//! Everything devenv writes to the terminal goes through here: command output on stdout,
//! status, progress and diagnostics on stderr. Escape codes only when the stream is a terminal.

pub mod logs;
pub mod progress;
pub mod table;
pub mod watch;

use std::io::{IsTerminal, Write};

/// Writes command output on stdout. A closed pipe (`devenv config | head`) is not an error.
pub fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

pub fn lines(items: impl IntoIterator<Item = String>) {
    let mut text = String::new();
    for item in items {
        text.push_str(&item);
        text.push('\n');
    }
    print(&text);
}

/// A rendered diagnostic or message, on stderr.
pub fn warn(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{}", text.trim_end());
}

/// Colors are for terminals only, and `NO_COLOR` turns them off.
pub fn color_enabled(stream_is_tty: bool) -> bool {
    stream_is_tty && std::env::var_os("NO_COLOR").is_none()
}

pub fn stderr_is_tty() -> bool {
    std::io::stderr().is_terminal()
}

pub fn stdout_is_tty() -> bool {
    std::io::stdout().is_terminal()
}

/// Status lines of a multi-service command (`puma  Started`), aligned on the longest name.
#[derive(Clone, Debug)]
pub struct Status {
    width: usize,
    color: bool,
}

impl Status {
    pub fn new<'a>(services: impl IntoIterator<Item = &'a String>) -> Status {
        let width = services.into_iter().map(|s| s.len()).max().unwrap_or(0);
        Status {
            width,
            color: color_enabled(stderr_is_tty()),
        }
    }

    pub fn width(&self) -> usize {
        self.width
    }

    /// One line: the service, then what happened to it.
    pub fn line(&self, service: &str, what: &str) {
        let name = format!("{service:<width$}", width = self.width);
        let text = if self.color {
            format!("\x1b[1m{name}\x1b[0m  {what}")
        } else {
            format!("{name}  {what}")
        };
        warn(&text);
    }
}
