//! Config diagnostics: an error or warning with its file, line and column, rendered with the
//! source line, a caret under the fault and a hint, the way rustc and just show theirs.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::yaml::Pos;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// Where a located diagnostic points: a file of the load and a position in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    pub pos: Pos,
    /// How many characters the caret underlines.
    pub width: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    pub span: Option<Span>,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            span: None,
            hint: None,
        }
    }

    pub fn warning(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(message)
        }
    }

    pub fn at(mut self, span: Option<Span>) -> Diagnostic {
        self.span = span;
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The text of every file a load read, so diagnostics can quote it.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    files: Vec<(PathBuf, String)>,
    /// Byte offset of each line's start, per file: a file with thousands of errors would
    /// otherwise be scanned from the top once per caret.
    line_starts: Vec<Vec<usize>>,
}

impl Sources {
    pub fn add(&mut self, path: PathBuf, text: String) -> usize {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        self.files.push((path, text));
        self.line_starts.push(starts);
        self.files.len() - 1
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn path(&self, file: usize) -> &Path {
        &self.files[file].0
    }

    pub fn text(&self, file: usize) -> &str {
        &self.files[file].1
    }

    /// Line `line_no` (1-based) of a file without its line ending, as `str::lines` gives it.
    pub fn line(&self, file: usize, line_no: usize) -> Option<&str> {
        let text = &self.files.get(file)?.1;
        let starts = &self.line_starts[file];
        let start = *starts.get(line_no.checked_sub(1)?)?;
        if start == text.len() {
            // After a final newline (or in an empty file) there is no further line.
            return None;
        }
        let end = starts.get(line_no).map_or(text.len(), |next| next - 1);
        let line = &text[start..end];
        Some(line.strip_suffix('\r').unwrap_or(line))
    }

    /// Renders one diagnostic. `cwd` shortens paths under it, so they read as the user typed.
    pub fn render(&self, d: &Diagnostic, cwd: &Path) -> String {
        let mut out = String::new();
        let label = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = writeln!(out, "{label}: {}", d.message);
        if let Some(span) = d
            .span
            .as_ref()
            .filter(|s| (s.pos.file as usize) < self.len())
        {
            let file = span.pos.file as usize;
            let path = self.path(file);
            let shown = path.strip_prefix(cwd).unwrap_or(path);
            let line_no = span.pos.line.max(1);
            let _ = writeln!(
                out,
                "{}--> {}:{}:{}",
                " ".repeat(line_no.to_string().len()),
                shown.display(),
                line_no,
                span.pos.col.max(1)
            );
            if let Some(line) = self.line(file, line_no as usize) {
                let gutter = line_no.to_string().len();
                let shown_line = line.replace('\t', " ");
                let pad = " ".repeat(gutter);
                let caret_at = (span.pos.col.max(1) - 1) as usize;
                let _ = writeln!(out, "{pad} |");
                let _ = writeln!(out, "{line_no} | {shown_line}");
                let _ = writeln!(
                    out,
                    "{pad} | {}{}",
                    " ".repeat(caret_at),
                    "^".repeat(span.width.max(1))
                );
            }
        }
        if let Some(hint) = &d.hint {
            let _ = writeln!(out, "  = hint: {hint}");
        }
        out
    }
}

/// The closest candidate by edit distance, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(word, c), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_lookup_agrees_with_str_lines() {
        for text in ["", "a", "a\n", "a\n\nb", "a\r\nb\r\n", "\n\n", "é\nx"] {
            let mut sources = Sources::default();
            let f = sources.add(PathBuf::from("t"), text.to_owned());
            let expected: Vec<&str> = text.lines().collect();
            for n in 0..expected.len() + 2 {
                let want = n.checked_sub(1).and_then(|i| expected.get(i).copied());
                assert_eq!(sources.line(f, n), want, "{text:?} line {n}");
            }
        }
    }

    #[test]
    fn renders_caret_under_the_fault() {
        let mut sources = Sources::default();
        let f = sources.add(
            PathBuf::from("/p/dev.yml"),
            "services:\n  web:\n    volume: []\n".into(),
        );
        let d = Diagnostic::error("unknown key `volume` in service `web`")
            .at(Some(Span {
                pos: Pos {
                    file: f as u16,
                    line: 3,
                    col: 5,
                },
                width: 6,
            }))
            .hint("did you mean `volumes`?");
        assert_eq!(
            sources.render(&d, Path::new("/p")),
            "error: unknown key `volume` in service `web`\n --> dev.yml:3:5\n  |\n3 |     volume: []\n  |     ^^^^^^\n  = hint: did you mean `volumes`?\n"
        );
    }

    #[test]
    fn did_you_mean_picks_close_words_only() {
        assert_eq!(
            did_you_mean("volume", ["volumes", "ports"]),
            Some("volumes")
        );
        assert_eq!(did_you_mean("zzz", ["volumes", "ports"]), None);
    }
}
