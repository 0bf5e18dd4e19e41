//! Loading a project: file discovery, YAML, `.env`, interpolation, merging and validation.
//!
//! `load` is the one entry point. It never touches Docker and returns either the resolved
//! `Project` with its warnings, or every error found, each placed in its file.

pub mod decode;
pub mod diagnostic;
pub mod dotenv;
pub mod interpolate;
pub mod merge;
pub mod model;
pub mod syntax;
pub mod yaml;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use diagnostic::{Diagnostic, Sources, Span};
use model::Project;
use yaml::{Node, Pos, Value};

/// The config file names looked for, in order, in the directory and then its parents.
pub const CANDIDATES: &[&str] = &[
    "dev.yml",
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];
const OVERRIDES: &[&str] = &[
    "dev.override.yml",
    "compose.override.yaml",
    "compose.override.yml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
];

/// Files larger than this are refused before parsing: no real config is this big.
const MAX_FILE_BYTES: u64 = 16 << 20;

/// What the command line and the environment say about where the project is.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// `-f` files, in order; empty means "discover".
    pub files: Vec<PathBuf>,
    pub project_name: Option<String>,
    pub env_file: Option<PathBuf>,
    pub cwd: PathBuf,
    /// The process environment; it wins over `.env`.
    pub env: HashMap<String, String>,
}

#[derive(Debug)]
pub struct Loaded {
    pub project: Project,
    pub warnings: Vec<Diagnostic>,
    pub sources: Sources,
}

/// How many errors a failed load shows in full.
pub const SHOWN_ERRORS: usize = 50;

/// Every error the load found, with the sources needed to render them.
#[derive(Debug)]
pub struct LoadError {
    pub diagnostics: Vec<Diagnostic>,
    pub sources: Sources,
}

impl LoadError {
    fn one(d: Diagnostic, sources: Sources) -> LoadError {
        LoadError {
            diagnostics: vec![d],
            sources,
        }
    }

    /// The first [`SHOWN_ERRORS`] diagnostics in full, then how many more there are: past a
    /// screenful, more of the same helps nobody and only buries the first, which is usually
    /// the cause of the rest.
    pub fn render(&self, cwd: &Path) -> String {
        let mut out = self
            .diagnostics
            .iter()
            .take(SHOWN_ERRORS)
            .map(|d| self.sources.render(d, cwd))
            .collect::<Vec<_>>()
            .join("\n");
        let more = self.diagnostics.len().saturating_sub(SHOWN_ERRORS);
        if more > 0 {
            out.push_str(&format!(
                "\nerror: {more} more error{} not shown; fix the ones above first\n",
                if more == 1 { "" } else { "s" }
            ));
        }
        out
    }
}

/// Finds the config files: `-f` ones as given, else the first candidate found walking up from
/// `cwd`, plus its override file.
pub fn discover(opts: &LoadOptions) -> Result<Vec<PathBuf>, Diagnostic> {
    if !opts.files.is_empty() {
        return Ok(opts
            .files
            .iter()
            .map(|f| decode::normalize(&opts.cwd.join(f)))
            .collect());
    }
    // compose's COMPOSE_FILE, from the environment or the `.env` where the command runs:
    // `base.yml:extra.yml`, relative to that directory.
    if let Some(list) = opts
        .env
        .get("COMPOSE_FILE")
        .cloned()
        .or_else(|| compose_file_from_dotenv(opts))
        .filter(|l| !l.trim().is_empty())
    {
        let separator = opts
            .env
            .get("COMPOSE_PATH_SEPARATOR")
            .and_then(|s| s.chars().next())
            .unwrap_or(':');
        return Ok(list
            .split(separator)
            .filter(|f| !f.trim().is_empty())
            .map(|f| decode::normalize(&opts.cwd.join(f.trim())))
            .collect());
    }
    for dir in opts.cwd.ancestors() {
        if let Some(found) = CANDIDATES.iter().map(|c| dir.join(c)).find(|p| p.is_file()) {
            let mut files = vec![found];
            if let Some(o) = OVERRIDES.iter().map(|c| dir.join(c)).find(|p| p.is_file()) {
                files.push(o);
            }
            return Ok(files);
        }
    }
    Err(Diagnostic::error(format!(
        "no config file found in {} or its parents",
        opts.cwd.display()
    ))
    .hint(format!(
        "devenv looks for {}; pass `-f FILE`, or run `devenv init`",
        CANDIDATES.join(", ")
    )))
}

/// COMPOSE_FILE as the `.env` of the working directory sets it, if it does. A `.env` that
/// does not parse is reported by the load itself.
fn compose_file_from_dotenv(opts: &LoadOptions) -> Option<String> {
    let path = match &opts.env_file {
        Some(p) => opts.cwd.join(p),
        None => opts.cwd.join(".env"),
    };
    let text = read_text(&path).ok()?;
    let pairs = dotenv::parse(&text, &|name| opts.env.get(name).cloned()).ok()?;
    pairs
        .into_iter()
        .rev()
        .find(|(k, _)| k == "COMPOSE_FILE")
        .and_then(|(_, v)| v)
}

/// Lowercases and keeps `[a-z0-9_-]`, as compose does; the name must start with a letter or digit.
pub fn sanitize_project_name(raw: &str) -> String {
    let lower: String = raw
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    lower.trim_start_matches(['_', '-']).to_owned()
}

pub fn load(opts: &LoadOptions) -> Result<Loaded, LoadError> {
    let mut sources = Sources::default();
    let files = discover(opts).map_err(|d| LoadError::one(d, Sources::default()))?;
    let project_dir = files[0]
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| opts.cwd.clone());

    let mut dotenv: HashMap<String, String> = HashMap::new();
    let env_path = match &opts.env_file {
        Some(p) => Some(opts.cwd.join(p)),
        None => Some(project_dir.join(".env")).filter(|p| p.is_file()),
    };
    if let Some(path) = env_path {
        let text = read_text(&path).map_err(|d| {
            let d = place(d, &path, &mut sources);
            LoadError::one(d, std::mem::take(&mut sources))
        })?;
        let file = sources.add(path.clone(), text.clone());
        // A bare `KEY` line sets nothing: `${KEY-default}` still sees it unset.
        match dotenv::parse(&text, &|name| opts.env.get(name).cloned()) {
            Ok(pairs) => dotenv.extend(pairs.into_iter().filter_map(|(k, v)| Some((k, v?)))),
            Err(e) => {
                let d =
                    Diagnostic::error(format!("cannot parse {}: {}", path.display(), e.message))
                        .hint(dotenv::LINE_FORMS)
                        .at(Some(Span {
                            pos: Pos {
                                file: file as u16,
                                line: e.line as u32,
                                col: 1,
                            },
                            width: 1,
                        }));
                return Err(LoadError::one(d, sources));
            }
        }
    }
    let lookup = |name: &str| opts.env.get(name).or_else(|| dotenv.get(name)).cloned();
    let inputs = files.iter().map(|f| (f.clone(), read_text(f))).collect();
    resolve(inputs, sources, &project_dir, opts, &lookup)
}

/// Loads config text that is already in memory, as if it were `dir/dev.yml`, with no `.env`
/// and an empty environment. For the fuzzer and for tools.
pub fn load_text(text: &str, dir: &Path) -> Result<Loaded, LoadError> {
    let opts = LoadOptions {
        cwd: dir.to_owned(),
        ..LoadOptions::default()
    };
    let inputs = vec![(dir.join("dev.yml"), Ok(text.to_owned()))];
    resolve(inputs, Sources::default(), dir, &opts, &|_| None)
}

type Input = (PathBuf, Result<String, Diagnostic>);

/// Parses, interpolates and merges the files in order, then decodes the result.
fn resolve(
    inputs: Vec<Input>,
    mut sources: Sources,
    project_dir: &Path,
    opts: &LoadOptions,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Loaded, LoadError> {
    let files: Vec<PathBuf> = inputs.iter().map(|(p, _)| p.clone()).collect();
    let mut errors = Vec::new();
    let mut parse_failed = false;
    let mut root: Option<Node> = None;
    for (path, text) in inputs {
        let text = match text {
            Ok(t) => t,
            Err(d) => {
                errors.push(place(d, &path, &mut sources));
                parse_failed = true;
                continue;
            }
        };
        let file = sources.add(path.clone(), text) as u16;
        let mut node = match yaml::parse(sources.text(file as usize), file) {
            Ok(n) => n,
            Err(e) => {
                let mut d =
                    Diagnostic::error(format!("invalid YAML: {}", e.message)).at((e.pos.line > 0)
                        .then_some(Span {
                            pos: e.pos,
                            width: 1,
                        }));
                if let Some(hint) = e.hint {
                    d = d.hint(hint);
                }
                errors.push(d);
                parse_failed = true;
                continue;
            }
        };
        interpolate_tree(&mut node, lookup, &mut errors, &sources);
        root = Some(match root {
            None => node,
            Some(base) => merge::merge(base, node),
        });
    }
    // Interpolation errors do not stop the load: the rest is still checked, so the user sees
    // every problem at once. A file that cannot be read or parsed does stop it.
    let Some(root) = root.filter(|_| !parse_failed) else {
        return Err(LoadError {
            diagnostics: errors,
            sources,
        });
    };

    let basename = project_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let raw_name = opts
        .project_name
        .clone()
        .or_else(|| lookup("DEVENV_PROJECT_NAME"))
        .or_else(|| lookup("COMPOSE_PROJECT_NAME"))
        .or_else(|| root.get("name").and_then(Node::scalar_text))
        .unwrap_or(basename);
    let name = sanitize_project_name(&raw_name);
    if name.is_empty() {
        let d = Diagnostic::error(format!(
            "project name `{raw_name}` has no letters or digits"
        ))
        .hint("pass `-p NAME`, or set `name:` at the top of the config");
        return Err(LoadError::one(d, sources));
    }

    let ctx = decode::Context {
        project_name: &name,
        project_dir,
        lookup,
    };
    let mut decoder = decode::Decoder::new(ctx, &sources);
    let mut project = decoder.project(&root);
    project.files = files;
    project.active_profiles = lookup("DEVENV_PROFILES")
        .or_else(|| lookup("COMPOSE_PROFILES"))
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    let (decode_errors, warnings): (Vec<_>, Vec<_>) = decoder
        .diagnostics
        .into_iter()
        .partition(Diagnostic::is_error);
    // A value that failed to interpolate stays as written; what decoding then says about it
    // would only repeat the interpolation error less clearly.
    let failed: Vec<Pos> = errors
        .iter()
        .filter_map(|d| d.span.as_ref().map(|s| s.pos))
        .collect();
    errors.extend(decode_errors.into_iter().filter(|d| {
        !d.span.as_ref().is_some_and(|sp| {
            failed
                .iter()
                .any(|f| f.file == sp.pos.file && f.line == sp.pos.line)
        })
    }));
    if !errors.is_empty() {
        return Err(LoadError {
            diagnostics: errors,
            sources,
        });
    }
    Ok(Loaded {
        project,
        warnings,
        sources,
    })
}

pub(crate) fn read_text(path: &Path) -> Result<String, Diagnostic> {
    use std::io::Read;
    let shown = path.display();
    let unreadable = |e: &std::io::Error| {
        let hint = match e.kind() {
            std::io::ErrorKind::NotFound => {
                "check the path; a relative one starts at the current directory"
            }
            std::io::ErrorKind::IsADirectory => "name a file in it, such as its dev.yml",
            std::io::ErrorKind::PermissionDenied => "check the file's permissions",
            _ => "check that it is a readable file",
        };
        Diagnostic::error(format!("cannot read {shown}: {}", io_reason(e))).hint(hint)
    };
    let file = std::fs::File::open(path).map_err(|e| unreadable(&e))?;
    // Read at most one byte past the limit: a device or a pipe reports no size, so the size
    // on disk cannot be trusted to stop an endless read.
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| unreadable(&e))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(Diagnostic::error(format!(
            "{shown} goes on past {} MiB; devenv refuses larger config files",
            MAX_FILE_BYTES >> 20
        ))
        .hint("is it a device or a pipe?"));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
        let line_start = valid.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let col = String::from_utf8_lossy(&valid[line_start..])
            .chars()
            .count()
            + 1;
        Diagnostic::error(format!("{shown} is not UTF-8 text"))
            .hint("save it as UTF-8")
            .at(Some(Span {
                pos: Pos {
                    file: UNPLACED,
                    line: line as u32,
                    col: col as u32,
                },
                width: 1,
            }))
    })?;
    // A byte-order mark some editors write is not part of the first key.
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_owned(),
        None => text,
    })
}

/// The file index of a span [`read_text`] found before the file had a place in `Sources`.
const UNPLACED: u16 = u16::MAX;

/// Gives an unplaced span of `d` its file: the text, decoded lossily, joins `sources`, so the
/// error can quote the line it points at.
fn place(mut d: Diagnostic, path: &Path, sources: &mut Sources) -> Diagnostic {
    if let Some(span) = d.span.as_mut().filter(|s| s.pos.file == UNPLACED) {
        let text = std::fs::read(path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        span.pos.file = sources.add(path.to_owned(), text) as u16;
    }
    d
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::IsADirectory => "it is a directory".into(),
        _ => e.to_string(),
    }
}

/// Interpolates every string value (not keys) in place, collecting errors at their nodes.
fn interpolate_tree(
    node: &mut Node,
    lookup: &dyn Fn(&str) -> Option<String>,
    errors: &mut Vec<Diagnostic>,
    sources: &Sources,
) {
    match &mut node.value {
        Value::Str(s) => match interpolate::interpolate(s, lookup) {
            Ok(v) => *s = v,
            Err(e) => {
                // Point at the `$` when the scalar sits on the line as written.
                let line = sources
                    .text(node.pos.file as usize)
                    .lines()
                    .nth(node.pos.line.saturating_sub(1) as usize)
                    .unwrap_or("");
                let col0 = node.pos.col.saturating_sub(1) as usize;
                let rest: String = line.chars().skip(col0).collect();
                let quoted = rest.starts_with('"') || rest.starts_with('\'');
                let shift = if rest.contains(s.as_str()) || quoted {
                    rest.find(s.as_str())
                        .map_or(e.offset + 1, |i| rest[..i].chars().count() + e.offset)
                } else {
                    0
                };
                let pos = Pos {
                    col: node.pos.col + shift as u32,
                    ..node.pos
                };
                errors.push(
                    Diagnostic::error(format!("cannot interpolate `{s}`: {}", e.message))
                        .at((pos.line > 0).then_some(Span { pos, width: 1 }))
                        .hint("set the variable in the environment or in .env; write `$$` for a literal `$`"),
                );
            }
        },
        Value::Seq(items) => items
            .iter_mut()
            .for_each(|n| interpolate_tree(n, lookup, errors, sources)),
        Value::Map(entries) => entries
            .iter_mut()
            .for_each(|(_, v)| interpolate_tree(v, lookup, errors, sources)),
        _ => {}
    }
}

#[cfg(test)]
mod tests;
