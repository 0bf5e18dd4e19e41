//! `.env` and `env_file` parsing: `KEY=value` lines, `export` prefixes, quotes and comments.

/// One problem in an env file: a 1-based line and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DotenvError {
    pub line: usize,
    pub message: String,
}

/// Parses env-file text into ordered pairs. A line with only a key (`KEY`) yields `None`, which
/// means "take it from the host environment".
pub fn parse(text: &str) -> Result<Vec<(String, Option<String>)>, DotenvError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map_or(line, str::trim_start);
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim_start())),
            None => (line, None),
        };
        if key.is_empty() || key.chars().any(|c| c.is_whitespace()) {
            return Err(DotenvError {
                line: i + 1,
                message: format!("`{raw}` is not a `KEY=value` line"),
            });
        }
        let value = match value {
            None => None,
            Some(v) => Some(unquote(v).map_err(|message| DotenvError {
                line: i + 1,
                message,
            })?),
        };
        out.push((key.to_owned(), value));
    }
    Ok(out)
}

fn unquote(v: &str) -> Result<String, String> {
    let Some(q) = v.chars().next().filter(|c| *c == '"' || *c == '\'') else {
        // Unquoted: a ` #` starts a comment.
        let v = v.find(" #").map_or(v, |i| &v[..i]);
        return Ok(v.trim_end().to_owned());
    };
    let body = &v[1..];
    let Some(end) = body.rfind(q) else {
        return Err(format!("the value's opening {q} is never closed"));
    };
    let inner = &body[..end];
    if q == '\'' {
        return Ok(inner.to_owned());
    }
    // Double quotes understand the usual escapes.
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let text = "# comment\n\nA=1\nexport B = two words \nC=\"quoted # not comment\\n\"\nD='single $X'\nE=x # comment\nF\nG=\n";
        let got = parse(text).unwrap();
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
    fn errors_name_the_line() {
        assert_eq!(
            parse("A=1\nnot a pair\n"),
            Err(DotenvError {
                line: 2,
                message: "`not a pair` is not a `KEY=value` line".into()
            })
        );
        assert_eq!(
            parse("A=\"open\n"),
            Err(DotenvError {
                line: 1,
                message: "the value's opening \" is never closed".into()
            })
        );
    }
}
