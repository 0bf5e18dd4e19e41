//! Compose-style `${VAR}` interpolation of string values: `$VAR`, `${VAR}`, `${VAR:-default}`,
//! `${VAR-default}`, `${VAR:?msg}`, `${VAR?msg}`, `${VAR:+alt}`, `${VAR+alt}` and `$$`.

/// Why a string could not be interpolated; `offset` is the character where the problem starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterpolationError {
    pub message: String,
    pub offset: usize,
}

/// Replaces every variable reference in `input`, looking variables up with `lookup`.
pub fn interpolate(
    input: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, InterpolationError> {
    if !input.contains('$') {
        return Ok(input.to_owned());
    }
    let chars: Vec<char> = input.chars().collect();
    let mut parser = Parser {
        chars: &chars,
        at: 0,
        lookup,
        depth: 0,
    };
    parser.text(false)
}

struct Parser<'a> {
    chars: &'a [char],
    at: usize,
    lookup: &'a dyn Fn(&str) -> Option<String>,
    /// How many `${...}` the parser is inside; bounded so hostile input cannot exhaust the stack.
    depth: usize,
}

/// Deeper nesting than this is refused; real defaults nest two or three levels.
const MAX_DEPTH: usize = 32;

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    /// Reads text up to the end, or (inside a `${...}` operand) up to its closing `}`.
    fn text(&mut self, nested: bool) -> Result<String, InterpolationError> {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            match c {
                '}' if nested => return Ok(out),
                '$' => out.push_str(&self.reference()?),
                _ => {
                    out.push(c);
                    self.at += 1;
                }
            }
        }
        Ok(out)
    }

    fn name(&mut self) -> String {
        let start = self.at;
        while self.peek().is_some_and(is_name_char) {
            self.at += 1;
        }
        self.chars[start..self.at].iter().collect()
    }

    fn error(&self, offset: usize, message: impl Into<String>) -> InterpolationError {
        InterpolationError {
            message: message.into(),
            offset,
        }
    }

    fn reference(&mut self) -> Result<String, InterpolationError> {
        let start = self.at;
        self.at += 1; // the `$`
        match self.peek() {
            Some('$') => {
                self.at += 1;
                Ok("$".to_owned())
            }
            Some(c) if is_name_start(c) => {
                let name = self.name();
                Ok((self.lookup)(&name).unwrap_or_default())
            }
            Some('{') => {
                self.at += 1;
                self.braced(start)
            }
            // As compose reads it: a `$` that starts no reference (`a $ b`, `end$`, `$1`, a
            // regex's `^/api$`) is kept as it is.
            _ => Ok("$".to_owned()),
        }
    }

    fn braced(&mut self, start: usize) -> Result<String, InterpolationError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error(
                start,
                format!("`${{...}}` nests more than {MAX_DEPTH} levels deep"),
            ));
        }
        self.depth += 1;
        let result = self.braced_inner(start);
        self.depth -= 1;
        result
    }

    fn braced_inner(&mut self, start: usize) -> Result<String, InterpolationError> {
        if !self.peek().is_some_and(is_name_start) {
            return Err(self.error(start, "expected a variable name after `${`"));
        }
        let name = self.name();
        let value = (self.lookup)(&name);
        let op: String = match self.peek() {
            Some('}') => {
                self.at += 1;
                return Ok(value.unwrap_or_default());
            }
            Some(':') => {
                self.at += 1;
                match self.peek() {
                    Some(c @ ('-' | '?' | '+')) => {
                        self.at += 1;
                        format!(":{c}")
                    }
                    _ => {
                        return Err(self.error(
                            start,
                            format!(
                                "unknown operator after `${{{name}:`; expected `:-`, `:?` or `:+`"
                            ),
                        ));
                    }
                }
            }
            Some(c @ ('-' | '?' | '+')) => {
                self.at += 1;
                c.to_string()
            }
            None => {
                return Err(self.error(start, format!("`${{{name}` is missing its closing `}}`")));
            }
            Some(c) => {
                return Err(self.error(
                    start,
                    format!("unexpected `{c}` in `${{{name}...}}`; expected `}}`, `:-`, `-`, `:?`, `?`, `:+` or `+`"),
                ));
            }
        };
        // The operand may itself hold references (`${A:-${B}}`); it is only evaluated when used,
        // so an unset `${X:?}` inside an unused default is no error.
        let operand_start = self.at;
        let operand = self.text(true);
        if self.peek() != Some('}') {
            return Err(self.error(start, format!("`${{{name}` is missing its closing `}}`")));
        }
        self.at += 1;
        let set = value.is_some();
        let non_empty = value.as_deref().is_some_and(|v| !v.is_empty());
        let present = if op.starts_with(':') { non_empty } else { set };
        match op.trim_start_matches(':') {
            "-" => {
                if present {
                    Ok(value.unwrap_or_default())
                } else {
                    operand
                }
            }
            "+" => {
                if present {
                    operand
                } else {
                    Ok(String::new())
                }
            }
            _ => {
                if present {
                    return Ok(value.unwrap_or_default());
                }
                let message = operand?;
                let _ = operand_start;
                let what = if op == ":?" {
                    "unset or empty"
                } else {
                    "unset"
                };
                Err(self.error(
                    start,
                    if message.is_empty() {
                        format!("required variable `{name}` is {what}")
                    } else {
                        format!("required variable `{name}` is {what}: {message}")
                    },
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "SET" => Some("value".into()),
            "EMPTY" => Some(String::new()),
            "B" => Some("bee".into()),
            _ => None,
        }
    }

    fn run(input: &str) -> Result<String, String> {
        interpolate(input, &env).map_err(|e| format!("{}@{}", e.message, e.offset))
    }

    #[test]
    fn table() {
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("plain", Ok("plain")),
            ("$SET", Ok("value")),
            ("a${SET}b", Ok("avalueb")),
            ("$SET/x", Ok("value/x")),
            ("$UNSET", Ok("")),
            ("$$SET", Ok("$SET")),
            ("cost: $$5", Ok("cost: $5")),
            ("${UNSET:-dflt}", Ok("dflt")),
            ("${EMPTY:-dflt}", Ok("dflt")),
            ("${EMPTY-dflt}", Ok("")),
            ("${UNSET-dflt}", Ok("dflt")),
            ("${SET:-dflt}", Ok("value")),
            ("${SET:+alt}", Ok("alt")),
            ("${EMPTY:+alt}", Ok("")),
            ("${EMPTY+alt}", Ok("alt")),
            ("${UNSET+alt}", Ok("")),
            ("${UNSET:-${B}}", Ok("bee")),
            ("${UNSET:-${ALSO:-deep ${B}}}", Ok("deep bee")),
            ("${SET:-${NOPE:?never evaluated}}", Ok("value")),
            ("${SET:?must be set}", Ok("value")),
            (
                "${UNSET:?must be set}",
                Err("required variable `UNSET` is unset or empty: must be set@0"),
            ),
            ("x ${EMPTY?}", Ok("x ")),
            ("x ${UNSET?}", Err("required variable `UNSET` is unset@2")),
            (
                "${UNSET:?}",
                Err("required variable `UNSET` is unset or empty@0"),
            ),
            ("${SET", Err("`${SET` is missing its closing `}`@0")),
            ("${SET:-abc", Err("`${SET` is missing its closing `}`@0")),
            ("${}", Err("expected a variable name after `${`@0")),
            ("a $ b", Ok("a $ b")),
            ("end$", Ok("end$")),
            ("$1abc", Ok("$1abc")),
            ("^/api$`)", Ok("^/api$`)")),
            (
                "${SET:x}",
                Err("unknown operator after `${SET:`; expected `:-`, `:?` or `:+`@0"),
            ),
            (
                "${SET!}",
                Err(
                    "unexpected `!` in `${SET...}`; expected `}`, `:-`, `-`, `:?`, `?`, `:+` or `+`@0",
                ),
            ),
        ];
        for (input, want) in cases {
            let got = run(input);
            let want = want.map(str::to_owned).map_err(str::to_owned);
            assert_eq!(got, want, "input {input:?}");
        }
    }
}
