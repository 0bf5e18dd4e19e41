//! `devenv init`'s templates, embedded in the binary, and what it learns from the app to fill them.

pub mod render;

use std::path::Path;

pub use render::{Context, RenderError, render};

/// The templates `init` can write. Rails is the only one today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    Rails,
}

/// Whether `init --force` may replace an existing copy of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// An existing file is a conflict; `--force` replaces it.
    Conflict,
    /// An existing file is the user's and stays, even with `--force`: a Rails app's own
    /// `.dockerignore` keeps secrets such as `config/master.key` out of images.
    Keep,
}

/// One template file: where it goes, its text, and the condition it needs (if any).
pub struct TemplateFile {
    pub path: &'static str,
    pub text: &'static str,
    pub only_if: Option<&'static str>,
    pub existing: Existing,
}

// Embedded so an installed binary needs nothing beside it.
const RAILS: &[TemplateFile] = &[
    TemplateFile {
        path: "dev.yml",
        text: include_str!("../../templates/rails/dev.yml"),
        only_if: None,
        existing: Existing::Conflict,
    },
    TemplateFile {
        path: "docker/rails/Dockerfile",
        text: include_str!("../../templates/rails/docker/rails/Dockerfile"),
        only_if: None,
        existing: Existing::Conflict,
    },
    TemplateFile {
        path: "docker/node/Dockerfile",
        text: include_str!("../../templates/rails/docker/node/Dockerfile"),
        only_if: Some("node"),
        existing: Existing::Conflict,
    },
    TemplateFile {
        path: ".dockerignore",
        text: include_str!("../../templates/rails/.dockerignore"),
        only_if: None,
        existing: Existing::Keep,
    },
];

impl Template {
    pub fn files(self) -> &'static [TemplateFile] {
        match self {
            Template::Rails => RAILS,
        }
    }
}

pub const DEFAULT_RUBY: &str = "3.3";
pub const DEFAULT_NODE: &str = "20";

/// A value init chose, and the file it came from (`None`: the default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found<T> {
    pub value: T,
    pub from: Option<&'static str>,
}

/// What init learned about the app in a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub app_name: Found<String>,
    pub ruby_version: Found<String>,
    pub node_version: Found<String>,
    /// The app has a `package.json`: assets are built by a node container.
    pub node: bool,
    /// `Gemfile.lock` or `Gemfile` lists sidekiq (from: which one).
    pub sidekiq: Found<bool>,
    /// Files init read but could not use, each with why; shown to the user.
    pub notes: Vec<String>,
}

/// One rendered file, ready to write.
pub struct Rendered {
    pub path: &'static str,
    pub text: String,
    pub existing: Existing,
}

/// Renders the template's files for these facts; files whose condition is false are left out.
pub fn render_files(template: Template, facts: &Facts) -> Result<Vec<Rendered>, String> {
    let values = [
        ("app_name", facts.app_name.value.as_str()),
        ("ruby_version", facts.ruby_version.value.as_str()),
        ("node_version", facts.node_version.value.as_str()),
    ];
    let conditions = [("node", facts.node), ("sidekiq", facts.sidekiq.value)];
    let ctx = Context {
        values: &values,
        conditions: &conditions,
    };
    let mut out = Vec::new();
    for file in template.files() {
        if let Some(cond) = file.only_if
            && !conditions.iter().any(|(name, on)| *name == cond && *on)
        {
            continue;
        }
        let text = render(file.text, &ctx)
            .map_err(|e| format!("template `{}` is broken: {e}", file.path))?;
        out.push(Rendered {
            path: file.path,
            text,
            existing: file.existing,
        });
    }
    Ok(out)
}

/// Reads what init needs from the app in `dir`; missing files mean defaults, never errors.
pub fn detect(dir: &Path) -> Facts {
    let mut notes = Vec::new();
    let dir_name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let app_name = match read_optional(dir, "config/application.rb", &mut notes)
        .as_deref()
        .and_then(module_name)
        .map(|m| name_from(&snake_case(m)))
        .filter(|n| !n.is_empty())
    {
        Some(value) => Found {
            value,
            from: Some("config/application.rb"),
        },
        None => Found {
            value: Some(name_from(&dir_name))
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "app".to_owned()),
            from: None,
        },
    };

    let mut ruby_version = Found {
        value: DEFAULT_RUBY.to_owned(),
        from: None,
    };
    let mut gemfile_ruby_wanted = true;
    if let Some(text) = read_optional(dir, ".ruby-version", &mut notes) {
        match ruby_version_file(&text) {
            Some(v) => {
                ruby_version = Found {
                    value: v,
                    from: Some(".ruby-version"),
                };
                gemfile_ruby_wanted = false;
            }
            None => notes.push(format!(
                ".ruby-version says `{}`, which is no tag of the `ruby` image; ignoring it",
                text.trim()
            )),
        }
    }
    let gemfile = read_optional(dir, "Gemfile", &mut notes);
    if gemfile_ruby_wanted && let Some(v) = gemfile.as_deref().and_then(gemfile_ruby) {
        ruby_version = Found {
            value: v,
            from: Some("Gemfile"),
        };
    }

    let mut node_version = Found {
        value: DEFAULT_NODE.to_owned(),
        from: None,
    };
    let node = dir.join("package.json").exists();
    // Only an app with a package.json runs node, so only then do its version files matter.
    for name in [".node-version", ".nvmrc"].into_iter().filter(|_| node) {
        if let Some(text) = read_optional(dir, name, &mut notes) {
            match node_version_file(&text) {
                Some(v) => {
                    node_version = Found {
                        value: v,
                        from: Some(name),
                    };
                    break;
                }
                None => notes.push(format!(
                    "{name} says `{}`, which is no tag of the `node` image; ignoring it",
                    text.trim()
                )),
            }
        }
    }

    // Without a version file, package.json's `engines.node` (`22.3.0`, `>=18`, `^20.1`).
    if node
        && node_version.from.is_none()
        && let Some(v) = read_optional(dir, "package.json", &mut notes)
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .and_then(|json| json["engines"]["node"].as_str().and_then(engines_node))
    {
        node_version = Found {
            value: v,
            from: Some("package.json"),
        };
    }

    let sidekiq = if read_optional(dir, "Gemfile.lock", &mut notes)
        .as_deref()
        .is_some_and(lock_lists_sidekiq)
    {
        Found {
            value: true,
            from: Some("Gemfile.lock"),
        }
    } else if gemfile.as_deref().is_some_and(gemfile_lists_sidekiq) {
        Found {
            value: true,
            from: Some("Gemfile"),
        }
    } else {
        Found {
            value: false,
            from: None,
        }
    };

    Facts {
        app_name,
        ruby_version,
        node_version,
        node,
        sidekiq,
        notes,
    }
}

fn read_optional(dir: &Path, name: &'static str, notes: &mut Vec<String>) -> Option<String> {
    match std::fs::read_to_string(dir.join(name)) {
        // Some editors start a file with a byte-order mark; it is not part of `3.2.2`.
        Ok(text) => Some(text.trim_start_matches('\u{feff}').to_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            notes.push(format!("cannot read {name} ({e}); ignoring it"));
            None
        }
    }
}

/// An app name usable in a MySQL database name: lowercase ASCII letters, digits and `_`,
/// every other run of characters one `_` (what Rails makes of `rails new my-app`).
pub fn name_from(raw: &str) -> String {
    let mut out = String::new();
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_owned()
}

/// The first top-level `module Name` of `config/application.rb`.
pub fn module_name(application_rb: &str) -> Option<&str> {
    application_rb.lines().find_map(|line| {
        let rest = line.trim_start().strip_prefix("module")?;
        let rest = rest.strip_prefix(|c: char| c.is_whitespace())?.trim_start();
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let name = &rest[..end];
        name.starts_with(|c: char| c.is_ascii_uppercase())
            .then_some(name)
    })
}

/// Rails' `underscore` for a constant name: `MyApp` → `my_app`, `HTMLParser` → `html_parser`.
pub fn snake_case(constant: &str) -> String {
    let chars: Vec<char> = constant.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower)
            {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// A version usable as the prefix of an image tag (`3.3.4` in `ruby:3.3.4-slim`).
fn is_tag_version(v: &str) -> bool {
    v.starts_with(|c: char| c.is_ascii_digit())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
}

/// `.ruby-version`: `3.3.4`, `ruby-3.3.4` or rvm's `ruby-3.3.4@gemset`. Other rubies (jruby,
/// truffleruby) have no `ruby` image tag.
pub fn ruby_version_file(text: &str) -> Option<String> {
    let word = text.split_whitespace().next()?;
    let word = word.strip_prefix("ruby-").unwrap_or(word);
    let word = word.split('@').next().unwrap_or(word);
    is_tag_version(word).then(|| word.to_owned())
}

/// The exact version of the Gemfile's `ruby "3.3.4"` line; requirements (`"~> 3.3"`) and
/// `ruby file: ".ruby-version"` give none.
pub fn gemfile_ruby(gemfile: &str) -> Option<String> {
    gemfile.lines().find_map(|line| {
        let rest = line.trim_start().strip_prefix("ruby")?;
        if !rest.starts_with([' ', '\t', '(']) {
            return None;
        }
        let version = first_quoted(rest)?;
        is_tag_version(version).then(|| version.to_owned())
    })
}

/// The version an `engines.node` range starts from: `>=18 <21` gives `18`, `^20.1` gives
/// `20.1`; `*` or a name gives none.
pub fn engines_node(range: &str) -> Option<String> {
    let start = range
        .trim()
        .trim_start_matches(['>', '=', '^', '~', 'v', ' ']);
    let version: String = start
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let version = version.trim_end_matches('.');
    (!version.is_empty() && version.starts_with(|c: char| c.is_ascii_digit()))
        .then(|| version.to_owned())
}

/// `.node-version` / `.nvmrc`: `20`, `20.11.1` or `v20.11.1`; aliases such as `lts/iron` give none.
pub fn node_version_file(text: &str) -> Option<String> {
    let word = text.split_whitespace().next()?;
    let word = word.strip_prefix('v').unwrap_or(word);
    is_tag_version(word).then(|| word.to_owned())
}

/// Whether a `Gemfile.lock` lists the `sidekiq` gem (as a spec or a dependency).
pub fn lock_lists_sidekiq(lock: &str) -> bool {
    lock.lines().any(|line| {
        line.starts_with(' ')
            && line
                .split_whitespace()
                .next()
                .is_some_and(|gem| gem.trim_end_matches('!') == "sidekiq")
    })
}

/// Whether a Gemfile has a (not commented-out) `gem "sidekiq"` line.
pub fn gemfile_lists_sidekiq(gemfile: &str) -> bool {
    gemfile.lines().any(|line| {
        let Some(rest) = line.trim_start().strip_prefix("gem") else {
            return false;
        };
        rest.starts_with([' ', '\t', '(']) && first_quoted(rest) == Some("sidekiq")
    })
}

/// The contents of the first '…' or "…" string in `text`.
fn first_quoted(text: &str) -> Option<&str> {
    let start = text.find(['"', '\''])?;
    let quote = text[start..].chars().next()?;
    let body = &text[start + 1..];
    let end = body.find(quote)?;
    Some(&body[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(node: bool, sidekiq: bool) -> Facts {
        Facts {
            app_name: Found {
                value: "blog".into(),
                from: None,
            },
            ruby_version: Found {
                value: "3.3.4".into(),
                from: None,
            },
            node_version: Found {
                value: "22".into(),
                from: None,
            },
            node,
            sidekiq: Found {
                value: sidekiq,
                from: None,
            },
            notes: vec![],
        }
    }

    #[test]
    fn shipped_templates_render_cleanly_in_every_combination() {
        for node in [false, true] {
            for sidekiq in [false, true] {
                let files = render_files(Template::Rails, &facts(node, sidekiq))
                    .unwrap_or_else(|e| panic!("node={node} sidekiq={sidekiq}: {e}"));
                let paths: Vec<_> = files.iter().map(|f| f.path).collect();
                let mut expected = vec!["dev.yml", "docker/rails/Dockerfile"];
                if node {
                    expected.push("docker/node/Dockerfile");
                }
                expected.push(".dockerignore");
                assert_eq!(paths, expected);
                for f in &files {
                    assert!(!f.text.contains("{{"), "{} keeps a `{{{{`", f.path);
                    assert!(!f.text.contains("}}"), "{} keeps a `}}}}`", f.path);
                    assert!(!f.text.contains("\n\n\n"), "{}: two blank lines", f.path);
                }
                let dev = &files[0].text;
                let rails = &files[1].text;
                assert!(dev.contains("MYSQL_DATABASE: \"blog_development\""));
                assert!(rails.contains("FROM ruby:3.3.4-slim"));
                assert_eq!(dev.contains("\n  node:\n"), node, "node service");
                assert_eq!(dev.contains("node_modules:"), node);
                assert_eq!(dev.contains("npm run build"), node);
                assert_eq!(rails.contains("FROM node:22-slim AS assets"), node);
                assert_eq!(rails.contains("COPY --from=assets"), node);
                assert_eq!(dev.contains("\n  sidekiq:\n"), sidekiq, "sidekiq service");
                assert_eq!(dev.contains("          - sidekiq\n"), sidekiq);
                if node {
                    assert!(files[2].text.contains("FROM node:22-slim\n"));
                }
            }
        }
    }

    #[test]
    fn names() {
        assert_eq!(name_from("my-app"), "my_app");
        assert_eq!(name_from("My App.v2"), "my_app_v2");
        assert_eq!(name_from("--x--"), "x");
        assert_eq!(name_from("日本"), "");
        assert_eq!(snake_case("Blog"), "blog");
        assert_eq!(snake_case("MyApp"), "my_app");
        assert_eq!(snake_case("HTMLParser"), "html_parser");
        assert_eq!(snake_case("Api2Go"), "api2_go");
        let rb = "require_relative \"boot\"\n\n# module Commented\nmodule AmakanWeb\n  class Application < Rails::Application\n";
        assert_eq!(module_name(rb), Some("AmakanWeb"));
        assert_eq!(module_name("module Foo::Bar\n"), Some("Foo"));
        assert_eq!(module_name("modules = 1\nmodule lower\n"), None);
    }

    #[test]
    fn versions() {
        assert_eq!(ruby_version_file("3.3.4\n").as_deref(), Some("3.3.4"));
        assert_eq!(
            ruby_version_file("ruby-3.2.2@blog\n").as_deref(),
            Some("3.2.2")
        );
        assert_eq!(ruby_version_file("jruby-9.4.5.0"), None);
        assert_eq!(ruby_version_file(""), None);
        assert_eq!(
            gemfile_ruby("source \"https://rubygems.org\"\nruby '3.1.4'\ngem \"rails\"\n")
                .as_deref(),
            Some("3.1.4")
        );
        assert_eq!(gemfile_ruby("ruby \"~> 3.3.0\"\n"), None);
        assert_eq!(gemfile_ruby("ruby file: \".ruby-version\"\n"), None);
        assert_eq!(gemfile_ruby("rubygems \"3.3\"\n"), None);
        assert_eq!(node_version_file("v20.11.1\n").as_deref(), Some("20.11.1"));
        assert_eq!(node_version_file("18").as_deref(), Some("18"));
        assert_eq!(node_version_file("lts/iron"), None);
    }

    #[test]
    fn sidekiq_in_lock_and_gemfile() {
        let lock = "GEM\n  specs:\n    sidekiq (7.2.4)\n      redis-client (>= 0.19.0)\n\nDEPENDENCIES\n  sidekiq\n";
        assert!(lock_lists_sidekiq(lock));
        assert!(lock_lists_sidekiq("DEPENDENCIES\n  sidekiq!\n"));
        assert!(!lock_lists_sidekiq(
            "GEM\n  specs:\n    sidekiq-cron (1.0)\n    rails (7.1.3)\n"
        ));
        assert!(gemfile_lists_sidekiq(
            "gem \"rails\"\ngem 'sidekiq', '~> 7'\n"
        ));
        assert!(gemfile_lists_sidekiq("  gem(\"sidekiq\")\n"));
        assert!(!gemfile_lists_sidekiq("# gem \"sidekiq\"\n"));
        assert!(!gemfile_lists_sidekiq("gem \"sidekiq-cron\"\n"));
    }

    #[test]
    fn detect_reads_the_app() {
        let dir = tempfile::Builder::new()
            .prefix("My-Shop")
            .tempdir()
            .unwrap();
        let d = dir.path();
        let f = detect(d);
        assert!(f.app_name.value.starts_with("my_shop"), "{:?}", f.app_name);
        assert_eq!(f.app_name.from, None);
        assert_eq!(f.ruby_version.value, DEFAULT_RUBY);
        assert_eq!(f.node_version.value, DEFAULT_NODE);
        assert!(!f.node);
        assert!(!f.sidekiq.value);
        assert!(f.notes.is_empty());

        std::fs::create_dir(d.join("config")).unwrap();
        std::fs::write(d.join("config/application.rb"), "module Storefront\nend\n").unwrap();
        std::fs::write(d.join("Gemfile"), "ruby \"3.2.3\"\ngem \"sidekiq\"\n").unwrap();
        std::fs::write(d.join("package.json"), "{}").unwrap();
        std::fs::write(d.join(".nvmrc"), "lts/iron\n").unwrap();
        let f = detect(d);
        assert_eq!(
            f.app_name,
            Found {
                value: "storefront".into(),
                from: Some("config/application.rb")
            }
        );
        assert_eq!(f.ruby_version.value, "3.2.3");
        assert_eq!(f.ruby_version.from, Some("Gemfile"));
        assert!(f.node);
        assert_eq!(f.node_version.value, DEFAULT_NODE);
        assert_eq!(f.sidekiq.from, Some("Gemfile"));
        assert_eq!(f.notes.len(), 1, "{:?}", f.notes);

        std::fs::write(d.join(".ruby-version"), "ruby-3.3.1\n").unwrap();
        std::fs::write(d.join(".node-version"), "22.1.0\n").unwrap();
        std::fs::write(
            d.join("Gemfile.lock"),
            "GEM\n  specs:\n    sidekiq (7.2.4)\n",
        )
        .unwrap();
        let f = detect(d);
        assert_eq!(f.ruby_version.value, "3.3.1");
        assert_eq!(f.ruby_version.from, Some(".ruby-version"));
        assert_eq!(f.node_version.value, "22.1.0");
        assert_eq!(f.node_version.from, Some(".node-version"));
        assert_eq!(f.sidekiq.from, Some("Gemfile.lock"));
        assert!(f.notes.is_empty(), "{:?}", f.notes);
    }
}
