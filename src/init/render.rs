//! Template rendering for `devenv init`: `{{name}}` substitution and `# {{#if cond}}` blocks.

use std::fmt;

/// What a template is rendered with: placeholder values and block conditions, by name.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub values: &'a [(&'a str, &'a str)],
    pub conditions: &'a [(&'a str, bool)],
}

/// A template that cannot be rendered. Lines are 1-based lines of the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenderError {
    UnknownPlaceholder {
        line: usize,
        name: String,
    },
    UnclosedPlaceholder {
        line: usize,
    },
    UnknownCondition {
        line: usize,
        name: String,
    },
    NestedBlock {
        line: usize,
        name: String,
        open: String,
    },
    UnopenedBlock {
        line: usize,
        name: String,
    },
    UnclosedBlock {
        line: usize,
        name: String,
    },
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RenderError::UnknownPlaceholder { line, name } => {
                write!(f, "line {line}: unknown placeholder `{{{{{name}}}}}`")
            }
            RenderError::UnclosedPlaceholder { line } => {
                write!(f, "line {line}: `{{{{` without a closing `}}}}`")
            }
            RenderError::UnknownCondition { line, name } => {
                write!(f, "line {line}: unknown condition `{name}`")
            }
            RenderError::NestedBlock { line, name, open } => write!(
                f,
                "line {line}: block `{name}` opens inside block `{open}`; blocks do not nest"
            ),
            RenderError::UnopenedBlock { line, name } => {
                write!(f, "line {line}: `{{{{/if {name}}}}}` closes no open block")
            }
            RenderError::UnclosedBlock { line, name } => {
                write!(f, "line {line}: block `{name}` is never closed")
            }
        }
    }
}

impl std::error::Error for RenderError {}

enum Marker<'a> {
    Open(&'a str),
    Close(&'a str),
}

/// A marker is alone on its line, with nothing but spaces before the `#`.
fn marker(line: &str) -> Option<Marker<'_>> {
    let body = line.trim_start_matches(' ').trim_end();
    let inner = body.strip_prefix("# {{")?.strip_suffix("}}")?;
    if let Some(name) = inner.strip_prefix("#if ") {
        Some(Marker::Open(name.trim()))
    } else {
        inner
            .strip_prefix("/if ")
            .map(|name| Marker::Close(name.trim()))
    }
}

/// Renders `template`: keeps or drops each block by its condition (marker lines always go),
/// then substitutes every `{{name}}`. Any name the context does not define is an error, so a
/// rendered file never carries a placeholder.
pub fn render(template: &str, ctx: &Context<'_>) -> Result<String, RenderError> {
    let mut out = String::with_capacity(template.len());
    // The open block: its name, the line it opened on, and whether its lines are kept.
    let mut open: Option<(&str, usize, bool)> = None;
    // A dropped block between two blank lines would leave two in a row; the second goes.
    let mut after_dropped_block = false;
    // Whether the last line written was blank; at the start, as if it were.
    let mut last_blank = true;

    for (index, line) in template.split_inclusive('\n').enumerate() {
        let number = index + 1;
        match marker(line) {
            Some(Marker::Open(name)) => {
                if let Some((outer, _, _)) = open {
                    return Err(RenderError::NestedBlock {
                        line: number,
                        name: name.to_owned(),
                        open: outer.to_owned(),
                    });
                }
                let keep = condition(ctx, name, number)?;
                open = Some((name, number, keep));
                continue;
            }
            Some(Marker::Close(name)) => {
                match open {
                    Some((opened, _, keep)) if opened == name => {
                        after_dropped_block = !keep;
                    }
                    _ => {
                        return Err(RenderError::UnopenedBlock {
                            line: number,
                            name: name.to_owned(),
                        });
                    }
                }
                open = None;
                continue;
            }
            None => {}
        }
        if matches!(open, Some((_, _, false))) {
            continue;
        }
        let blank = line.trim().is_empty();
        if blank && after_dropped_block && last_blank {
            continue;
        }
        if !blank {
            after_dropped_block = false;
        }
        last_blank = blank;
        substitute(line, number, ctx, &mut out)?;
    }
    if let Some((name, line, _)) = open {
        return Err(RenderError::UnclosedBlock {
            line,
            name: name.to_owned(),
        });
    }
    Ok(out)
}

fn condition(ctx: &Context<'_>, name: &str, line: usize) -> Result<bool, RenderError> {
    ctx.conditions
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
        .ok_or_else(|| RenderError::UnknownCondition {
            line,
            name: name.to_owned(),
        })
}

fn substitute(
    line: &str,
    number: usize,
    ctx: &Context<'_>,
    out: &mut String,
) -> Result<(), RenderError> {
    let mut rest = line;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or(RenderError::UnclosedPlaceholder { line: number })?;
        let name = after[..end].trim();
        let value = ctx
            .values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
            .ok_or_else(|| RenderError::UnknownPlaceholder {
                line: number,
                name: name.to_owned(),
            })?;
        out.push_str(value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALUES: &[(&str, &str)] = &[("app_name", "blog"), ("ruby_version", "3.3.4")];

    fn render_with(template: &str, node: bool) -> Result<String, RenderError> {
        render(
            template,
            &Context {
                values: VALUES,
                conditions: &[("node", node), ("sidekiq", false)],
            },
        )
    }

    #[test]
    fn substitutes_every_occurrence_and_keeps_the_rest() {
        let t = "# {{app_name}} on ruby {{ruby_version}}\nFROM ruby:{{ruby_version}}-slim\n{{ app_name }}_test\n";
        assert_eq!(
            render_with(t, true).unwrap(),
            "# blog on ruby 3.3.4\nFROM ruby:3.3.4-slim\nblog_test\n"
        );
    }

    #[test]
    fn text_without_markers_or_placeholders_is_unchanged() {
        let t = "a:\n\n\n  b: 1\r\nno newline at the end";
        assert_eq!(render_with(t, false).unwrap(), t);
    }

    #[test]
    fn true_block_loses_only_its_markers() {
        let t = "a\n  # {{#if node}}\nb\nc\n# {{/if node}}  \nd\n";
        assert_eq!(render_with(t, true).unwrap(), "a\nb\nc\nd\n");
    }

    #[test]
    fn false_block_goes_whole() {
        let t = "a\n# {{#if node}}\nb {{app_name}}\n# {{/if node}}\nd\n# {{#if node}}\ne\n# {{/if node}}\n";
        assert_eq!(render_with(t, false).unwrap(), "a\nd\n");
    }

    #[test]
    fn a_dropped_block_between_blank_lines_leaves_one() {
        let t = "a\n\n# {{#if node}}\nb\n# {{/if node}}\n\nc\n";
        assert_eq!(render_with(t, false).unwrap(), "a\n\nc\n");
        assert_eq!(render_with(t, true).unwrap(), "a\n\nb\n\nc\n");
        let t = "# {{#if node}}\nb\n# {{/if node}}\n\nc\n";
        assert_eq!(render_with(t, false).unwrap(), "c\n");
    }

    #[test]
    fn unknown_placeholder_is_an_error() {
        let err = render_with("ok\nFROM {{rubyversion}}\n", true).unwrap_err();
        assert_eq!(
            err,
            RenderError::UnknownPlaceholder {
                line: 2,
                name: "rubyversion".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "line 2: unknown placeholder `{{rubyversion}}`"
        );
    }

    #[test]
    fn placeholders_in_dropped_blocks_are_not_checked() {
        // Dropped lines never reach the output, so what they contain cannot leak.
        let t = "# {{#if node}}\n{{whatever}}\n# {{/if node}}\n";
        assert_eq!(render_with(t, false).unwrap(), "");
        assert!(render_with(t, true).is_err());
    }

    #[test]
    fn a_marker_that_is_not_alone_on_its_line_is_a_leftover() {
        let err = render_with("x: 1 # {{#if node}}\n", true).unwrap_err();
        assert_eq!(
            err,
            RenderError::UnknownPlaceholder {
                line: 1,
                name: "#if node".into()
            }
        );
    }

    #[test]
    fn unclosed_placeholder() {
        assert_eq!(
            render_with("a {{app_name\n", true).unwrap_err(),
            RenderError::UnclosedPlaceholder { line: 1 }
        );
    }

    #[test]
    fn block_structure_errors() {
        assert_eq!(
            render_with("# {{#if redis}}\n# {{/if redis}}\n", true).unwrap_err(),
            RenderError::UnknownCondition {
                line: 1,
                name: "redis".into()
            }
        );
        assert_eq!(
            render_with("# {{#if node}}\n# {{#if sidekiq}}\n", true).unwrap_err(),
            RenderError::NestedBlock {
                line: 2,
                name: "sidekiq".into(),
                open: "node".into()
            }
        );
        assert_eq!(
            render_with("# {{#if node}}\n# {{/if sidekiq}}\n", true).unwrap_err(),
            RenderError::UnopenedBlock {
                line: 2,
                name: "sidekiq".into()
            }
        );
        assert_eq!(
            render_with("a\n# {{/if node}}\n", true).unwrap_err(),
            RenderError::UnopenedBlock {
                line: 2,
                name: "node".into()
            }
        );
        assert_eq!(
            render_with("a\n# {{#if node}}\nb\n", false).unwrap_err(),
            RenderError::UnclosedBlock {
                line: 2,
                name: "node".into()
            }
        );
    }
}
