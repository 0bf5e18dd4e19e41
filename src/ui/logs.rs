//! Prefixed log lines of several services: `puma     | Listening on ...`, one color per
//! service, names aligned, each line written whole so lines of different services never mix.

use std::io::Write;

const COLORS: &[&str] = &["36", "33", "32", "35", "34", "96", "93", "92", "95", "94"];

#[derive(Clone, Debug)]
pub struct LogPrinter {
    width: usize,
    color: bool,
    services: Vec<String>,
}

impl LogPrinter {
    /// `services` fixes the color of each service by its position.
    pub fn new(services: &[String], prefix: bool) -> LogPrinter {
        let width = if prefix {
            services.iter().map(|s| s.len()).max().unwrap_or(0)
        } else {
            0
        };
        LogPrinter {
            width,
            color: super::color_enabled(super::stdout_is_tty()),
            services: services.to_vec(),
        }
    }

    pub fn prefix(&self, service: &str) -> String {
        if self.width == 0 {
            return String::new();
        }
        let name = format!("{service:<width$} | ", width = self.width);
        if !self.color {
            return name;
        }
        let i = self.services.iter().position(|s| s == service).unwrap_or(0);
        format!("\x1b[{}m{name}\x1b[0m", COLORS[i % COLORS.len()])
    }

    /// Writes one line of a service's output on stdout.
    pub fn line(&self, service: &str, line: &[u8]) {
        let mut buf = self.prefix(service).into_bytes();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        buf.extend_from_slice(line);
        buf.push(b'\n');
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(&buf);
        let _ = out.flush();
    }
}
