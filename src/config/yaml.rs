//! A YAML tree with a source location on every node, parsed by serde-saphyr.
//!
//! The typed config is decoded from this tree by hand (see `decode`) rather than by
//! `#[derive(Deserialize)]`, so that every problem in a file can be collected in one pass and
//! reported at its exact line and column.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// A 1-based line and column; `line == 0` means "no location".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pos {
    /// Index of the file in the load's `Sources`.
    pub file: u16,
    pub line: u32,
    pub col: u32,
}

/// One YAML node and where its text starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Key order is kept: `devenv config` and error order follow the file.
    Map(Vec<(Node, Node)>),
}

impl Node {
    pub fn new(value: Value, pos: Pos) -> Node {
        Node { value, pos }
    }

    fn set_file(&mut self, file: u16) {
        self.pos.file = file;
        match &mut self.value {
            Value::Seq(items) => items.iter_mut().for_each(|n| n.set_file(file)),
            Value::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
                k.set_file(file);
                v.set_file(file);
            }),
            _ => {}
        }
    }

    /// The node's scalar as text, as YAML would print it (`3000`, `true`), or `None` for
    /// null and collections.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Null | Value::Seq(_) | Value::Map(_) => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// Looks a key up in a mapping node.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| matches!(&k.value, Value::Str(s) if s == key))
            .map(|(_, v)| v)
    }

    /// A short word for the node's kind, for "expected a list, found a string".
    pub fn kind(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "a number",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// Limits that keep hostile input (alias bombs, deep nesting) bounded in time and memory.
fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        // YAML 1.2, as compose reads it: `yes`, `no`, `on`, `off`, `y` and `n` are strings, so
        // `DEBUG: yes` stays `yes` and a label key `on` stays `on`.
        strict_booleans: true,
        budget: serde_saphyr::budget! {
            max_events: 2_000_000,
            max_aliases: 10_000,
            // Real configs nest under ten levels; deeper input only costs stack.
            max_depth: 40,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 50_000,
            max_replay_stack_depth: 32,
        },
    }
}

/// A YAML syntax or structure error, with its position when the parser knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub message: String,
    pub pos: Pos,
    pub hint: Option<String>,
}

/// Parses one YAML document. An empty document is an empty mapping's worth of nothing: `Null`.
pub fn parse(text: &str, file: u16) -> Result<Node, ParseError> {
    match serde_saphyr::from_str_with_options::<Option<Node>>(text, options()) {
        Ok(Some(mut node)) => {
            node.set_file(file);
            Ok(node)
        }
        Ok(None) => Ok(Node::new(
            Value::Null,
            Pos {
                file,
                line: 1,
                col: 1,
            },
        )),
        Err(e) => {
            let pos = e
                .location()
                .map(|l| Pos {
                    file,
                    line: l.line() as u32,
                    col: l.column() as u32,
                })
                .unwrap_or(Pos {
                    file,
                    line: 0,
                    col: 0,
                });
            let raw = e.without_snippet().to_string();
            let (message, hint) = explain(&raw, text, pos);
            Err(ParseError { message, pos, hint })
        }
    }
}

/// The parser's message in devenv's words, with a hint where one helps.
fn explain(raw: &str, text: &str, pos: Pos) -> (String, Option<String>) {
    if let Some(rest) = raw.strip_prefix("duplicate mapping key: ") {
        let key = rest.split(',').next().unwrap_or(rest).trim();
        let here = pos.line as usize;
        // The first occurrence: the nearest line above at the same indentation with that key.
        let above: Vec<&str> = text.lines().take(here.saturating_sub(1)).collect();
        let first = above
            .iter()
            .enumerate()
            .rev()
            .find(|(_, l)| {
                let indent = l.len() - l.trim_start().len();
                indent + 1 == pos.col as usize && l.trim_start().starts_with(&format!("{key}:"))
            })
            .map(|(i, _)| i + 1);
        let hint = match first {
            Some(line) => {
                format!("`{key}` is already set on line {line}; a key may appear once in a mapping")
            }
            None => "a key may appear once in a mapping; keep one of them".to_owned(),
        };
        return (format!("duplicate key `{key}`"), Some(hint));
    }
    let message = plain_message(raw);
    let hint = raw
        .contains("tabs")
        .then(|| "indent with spaces: YAML does not allow tabs in indentation".to_owned());
    (message, hint)
}

/// Budget breaches are the parser's words for hostile or runaway input; say it in ours.
fn plain_message(raw: &str) -> String {
    if raw.starts_with("alias replay limit exceeded") {
        "aliases expand to too much data (an alias bomb?); devenv stops at 50000 expanded events"
            .into()
    } else if let Some(rest) = raw.strip_prefix("budget breached: ") {
        // The parser names the breach as its Rust value, e.g. `Nodes { nodes: 250001 }`.
        let what = rest.split(" at line").next().unwrap_or(rest);
        let kind = what.split([' ', '{']).next().unwrap_or(what);
        let count: String = what.chars().filter(char::is_ascii_digit).collect();
        let said = match kind {
            "Events" => "too many YAML events",
            "Aliases" => "too many aliases",
            "Anchors" => "too many anchors",
            "Depth" => "nested too deeply",
            "Nodes" => "too many values",
            "Documents" => "too many documents",
            _ => "too much data",
        };
        if count.is_empty() {
            format!("the file exceeds devenv's limits for a config: {said}")
        } else {
            format!("the file exceeds devenv's limits for a config: {said} ({count})")
        }
    } else {
        raw.split(" at line ").next().unwrap_or(raw).to_owned()
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Node, D::Error> {
        let s = Spanned::<Value>::deserialize(d)?;
        // `defined` points at the text itself, also for values reached through an alias or a
        // merge key, which is where a fix has to be made.
        let loc = if s.defined.line() > 0 {
            s.defined
        } else {
            s.referenced
        };
        Ok(Node {
            value: s.value,
            pos: Pos {
                file: 0,
                line: loc.line() as u32,
                col: loc.column() as u32,
            },
        })
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        // Past i64, the digits as written (an ID in an environment value), not a rounded float.
        Ok(i64::try_from(v).map_or_else(|_| Value::Str(v.to_string()), Value::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Node>()? {
            let value = map.next_value::<Node>()?;
            entries.push((key, value));
        }
        Ok(Value::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_breaches_are_said_in_words() {
        assert_eq!(
            plain_message("budget breached: Nodes { nodes: 250001 } at line 3 column 1"),
            "the file exceeds devenv's limits for a config: too many values (250001)"
        );
        let deep = String::from("a:\n") + &"- ".repeat(60) + "x\n";
        let err = parse(&deep, 0).unwrap_err();
        assert!(
            err.message.ends_with("nested too deeply (41)"),
            "{}",
            err.message
        );
    }

    #[test]
    fn merge_keys_and_positions() {
        let text = "x-base: &base\n  image: busybox\n  tty: true\nservices:\n  web:\n    <<: *base\n    tty: false\n";
        let root = parse(text, 0).unwrap();
        let web = root.get("services").unwrap().get("web").unwrap();
        assert_eq!(
            web.get("image").unwrap().value,
            Value::Str("busybox".into())
        );
        assert_eq!(web.get("tty").unwrap().value, Value::Bool(false));
        assert_eq!(
            web.get("image").unwrap().pos,
            Pos {
                file: 0,
                line: 2,
                col: 10
            }
        );
    }
}
