//! `.env` and `env_file` parsing: `KEY=value` lines, `export` prefixes, quotes and comments.

/// What an env file's lines may be, for hints.
pub const LINE_FORMS: &str =
    "each line is `KEY=value`, `export KEY=value`, a bare `KEY`, or a `#` comment";

/// One problem in an env file: a 1-based line and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DotenvError {
    pub line: usize,
    pub message: String,
}

/// Parses env-file text into ordered pairs. A line with only a key (`KEY`) yields `None`, which
/// means "take it from the host environment". Unquoted and double-quoted values are
/// interpolated as compose does: `${VAR}` is looked up with `lookup` (the process environment),
/// then among the keys above it in the same file; single-quoted values are taken literally.
/// Quoted values may span lines.
pub fn parse(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(String, Option<String>)>, DotenvError> {
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let first = i;
        let raw = lines[i];
        i += 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map_or(line, str::trim_start);
        let fail = |message: String| DotenvError {
            line: first + 1,
            message,
        };
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim_start())),
            None => (line, None),
        };
        if key.is_empty() || key.chars().any(|c| c.is_whitespace()) {
            return Err(fail(format!("`{raw}` is not a `KEY=value` line")));
        }
        let Some(value) = value else {
            out.push((key.to_owned(), None));
            continue;
        };
        let mut value = value.to_owned();
        // A quote left open continues on the next lines.
        while let Some(q) = open_quote(&value) {
            let Some(next) = lines.get(i) else {
                return Err(fail(format!("the value's opening {q} is never closed")));
            };
            value.push('\n');
            value.push_str(next);
            i += 1;
        }
        let earlier = |name: &str| {
            lookup(name).or_else(|| {
                out.iter()
                    .rev()
                    .find(|(k, _)| k == name)
                    .and_then(|(_, v)| v.clone())
            })
        };
        let value = unquote(&value, &earlier).map_err(fail)?;
        out.push((key.to_owned(), Some(value)));
    }
    Ok(out)
}

/// The quote a value opens and does not close yet, if any.
fn open_quote(v: &str) -> Option<char> {
    let q = v.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    match closing(&v[1..], q) {
        Some(_) => None,
        None => Some(q),
    }
}

/// Where the quote `q` that opened `body` closes: the first `q` not escaped by a backslash
/// (single quotes know no escapes).
fn closing(body: &str, q: char) -> Option<usize> {
    let mut escaped = false;
    for (at, c) in body.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if q == '"' => escaped = true,
            c if c == q => return Some(at),
            _ => {}
        }
    }
    None
}

fn unquote(v: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let interpolated =
        |text: &str| super::interpolate::interpolate(text, lookup).map_err(|e| e.message);
    let Some(q) = v.chars().next().filter(|c| *c == '"' || *c == '\'') else {
        // Unquoted: a ` #` starts a comment.
        let v = v.find(" #").map_or(v, |i| &v[..i]);
        return interpolated(v.trim_end());
    };
    let body = &v[1..];
    let Some(end) = closing(body, q) else {
        return Err(format!("the value's opening {q} is never closed"));
    };
    let rest = body[end + 1..].trim_start();
    if !rest.is_empty() && !rest.starts_with('#') {
        return Err(format!(
            "`{rest}` follows the closing {q}; put a space and `#` before a comment"
        ));
    }
    let inner = &body[..end];
    if q == '\'' {
        return Ok(inner.to_owned());
    }
    // Double quotes understand the usual escapes; any other backslash stays (`"\d+"`, a
    // Windows path). `\$` is a literal `$`, which interpolation then leaves alone.
    let mut text = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            text.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => text.push('\n'),
            Some('r') => text.push('\r'),
            Some('t') => text.push('\t'),
            Some(c @ ('\\' | '"')) => text.push(c),
            Some('$') => text.push_str("$$"),
            Some(other) => {
                text.push('\\');
                text.push(other);
            }
            None => text.push('\\'),
        }
    }
    interpolated(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let text = "# comment\n\nA=1\nexport B = two words \nC=\"quoted # not comment\\n\"\nD='single $X'\nE=x # comment\nF\nG=\n";
        let got = parse(text, &|_| None).unwrap();
        let want: Vec<(String, Option<String>)> = vec![
            ("A".into(), Some("1".into())),
            ("B".into(), Some("two words".into())),
            ("C".into(), Some("quoted # not comment\n".into())),
            ("D".into(), Some("single $X".into())),
            ("E".into(), Some("x".into())),
            ("F".into(), None),
            ("G".into(), Some(String::new())),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn quoted_values_span_lines_interpolate_and_end_at_their_quote() {
        let text =
            "A=1\nB=\"two\nlines \\\" ${A}\" # note \"q\"\nC='${A}\n'\nD=${A}${SHELL_ONLY}\n";
        let got = parse(text, &|name| (name == "SHELL_ONLY").then(|| "s".to_owned())).unwrap();
        let want: Vec<(String, Option<String>)> = vec![
            ("A".into(), Some("1".into())),
            ("B".into(), Some("two\nlines \" 1".into())),
            ("C".into(), Some("${A}\n".into())),
            ("D".into(), Some("1s".into())),
        ];
        assert_eq!(got, want);
        assert_eq!(
            parse("A=\"x\"y\n", &|_| None).unwrap_err().message,
            "`y` follows the closing \"; put a space and `#` before a comment"
        );
        assert_eq!(
            parse("\nA=\"open\nstill open\n", &|_| None)
                .unwrap_err()
                .line,
            2
        );
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(
            parse("A=1\nnot a pair\n", &|_| None),
            Err(DotenvError {
                line: 2,
                message: "`not a pair` is not a `KEY=value` line".into()
            })
        );
        assert_eq!(
            parse("A=\"open\n", &|_| None),
            Err(DotenvError {
                line: 1,
                message: "the value's opening \" is never closed".into()
            })
        );
    }
}
