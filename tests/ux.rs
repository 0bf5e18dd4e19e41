//! UX probes through the built binary: what `devenv init` makes of odd Rails apps, and how bad configs are reported (file:line:col, quoted line, caret, hint, exit 2, empty stdout).

use std::path::Path;
use std::process::{Command, Output};

fn devenv(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_devenv"))
        .args(args)
        .current_dir(dir)
        .env_remove("DEVENV_PROJECT_NAME")
        .env_remove("COMPOSE_PROJECT_NAME")
        .env_remove("COMPOSE_FILE")
        .env_remove("COMPOSE_PROFILES")
        .env_remove("DEVENV_PROFILES")
        .env_remove("TAG")
        .env("NO_COLOR", "1")
        .output()
        .expect("devenv runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn tmp(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(prefix).tempdir().unwrap()
}

fn put(dir: &Path, path: &str, bytes: impl AsRef<[u8]>) {
    let path = dir.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn read(dir: &Path, path: &str) -> String {
    std::fs::read_to_string(dir.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every file under `dir`, relative, sorted, with its contents.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                out.push((format!("{rel}/"), Vec::new()));
                walk(root, &path, out);
            } else if meta.is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                out.push((
                    format!("{rel} ->"),
                    target.display().to_string().into_bytes(),
                ));
            } else {
                out.push((rel, std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// No panic, no backtrace, whatever the exit.
fn assert_no_panic(out: &Output) {
    let err = text(&out.stderr);
    for bad in ["panicked", "RUST_BACKTRACE", "stack backtrace"] {
        assert!(!err.contains(bad), "`{bad}` in stderr:\n{err}");
    }
}

/// A refused config: exit 2, nothing on stdout, an `error:` first, no panic.
fn assert_refused(out: &Output) -> String {
    assert_no_panic(out);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(text(&out.stdout), "", "stdout of a failure\n{err}");
    assert!(err.starts_with("error: "), "{err}");
    err
}

/// `--> file:line:col`, then that line of `source` quoted with a caret under `col`.
fn assert_located(err: &str, file: &str, source: &str, line: usize, col: usize) {
    assert!(
        err.contains(&format!(" --> {file}:{line}:{col}\n")),
        "no `--> {file}:{line}:{col}` in\n{err}"
    );
    let quoted = source
        .split('\n')
        .nth(line - 1)
        .unwrap()
        .trim_end_matches('\r')
        .replace('\t', " ");
    let gutter = " ".repeat(line.to_string().len());
    let expected = format!("\n{line} | {quoted}\n{gutter} | {}^", " ".repeat(col - 1));
    assert!(
        err.contains(&expected),
        "line {line} not quoted with a caret at {col}:\n{err}"
    );
}

/// `devenv init` in `dir`, which must succeed; returns stdout.
fn init(dir: &Path, args: &[&str]) -> String {
    let mut all = vec!["init"];
    all.extend_from_slice(args);
    let out = devenv(dir, &all);
    assert_no_panic(&out);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout)
}

/// The `wrote`/`replaced` lines of init's output.
fn written(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|l| {
            l.strip_prefix("wrote ")
                .or_else(|| l.strip_prefix("replaced "))
        })
        .map(|l| l.trim().to_owned())
        .collect()
}

/// What every successful init must leave: a config `devenv config` takes without a word,
/// ports on 127.0.0.1 only, healthchecks, the `bundle` volume and watch rules.
fn assert_valid_stack(dir: &Path) -> serde_json::Value {
    let out = devenv(dir, &["config"]);
    assert_no_panic(&out);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "", "config warns");
    let out = devenv(dir, &["config", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let services = json["services"].as_object().expect("services");
    for (name, svc) in services {
        for port in svc["ports"].as_array().into_iter().flatten() {
            let ip = port.get("host_ip").and_then(|v| v.as_str());
            assert!(
                ip.is_none() || ip == Some("127.0.0.1"),
                "{name} publishes {port} beyond 127.0.0.1"
            );
        }
    }
    for name in ["puma", "mysql", "redis"] {
        assert!(
            services[name]["healthcheck"]["test"].is_array(),
            "{name} has no healthcheck"
        );
    }
    assert!(json["volumes"].get("bundle").is_some(), "no bundle volume");
    assert!(
        json["watch"].as_array().is_some_and(|w| !w.is_empty()),
        "no watch rules"
    );
    let dev = read(dir, "dev.yml");
    assert!(!dev.contains("{{"), "{dev}");
    json
}

const APPLICATION_RB: &str = "require_relative \"boot\"\nrequire \"rails/all\"\n\nmodule {}\n  class Application < Rails::Application\n  end\nend\n";

// ---------------------------------------------------------------------------------------------
// init: names

#[test]
fn module_names_with_acronyms_and_digits_become_rails_database_names() {
    for (module, name) in [
        ("APIServer", "api_server"),
        ("HTMLToPDF", "html_to_pdf"),
        ("Foo2Bar", "foo2_bar"),
        ("OAuth2Client", "o_auth2_client"),
        ("Shop", "shop"),
        ("V2API", "v2_api"),
    ] {
        let dir = tmp("names");
        let d = dir.path();
        put(
            d,
            "config/application.rb",
            APPLICATION_RB.replace("{}", module),
        );
        let stdout = init(d, &[]);
        assert!(
            stdout.contains(&format!("app      {name} (from config/application.rb)\n")),
            "{module}: {stdout}"
        );
        let dev = read(d, "dev.yml");
        assert!(
            dev.contains(&format!("MYSQL_DATABASE: \"{name}_development\"")),
            "{module}: {dev}"
        );
        assert_valid_stack(d);
    }
}

#[test]
fn application_rb_with_crlf_and_a_one_line_module_is_read() {
    let dir = tmp("crlf");
    let d = dir.path();
    put(
        d,
        "config/application.rb",
        APPLICATION_RB
            .replace("{}", "CarRental")
            .replace('\n', "\r\n"),
    );
    assert!(init(d, &[]).contains("app      car_rental (from config/application.rb)"));

    let dir = tmp("oneline");
    let d = dir.path();
    put(
        d,
        "config/application.rb",
        "module Foo; class Application < Rails::Application; end; end\n",
    );
    assert!(init(d, &[]).contains("app      foo (from config/application.rb)"));
    assert_valid_stack(d);
}

#[test]
fn a_lowercase_module_is_no_name_and_the_directory_name_is_used() {
    let parent = tmp("lower");
    let d = parent.path().join("billing-svc");
    std::fs::create_dir(&d).unwrap();
    put(&d, "config/application.rb", "module myapp\nend\n");
    let stdout = init(&d, &[]);
    assert!(
        stdout.contains("app      billing_svc (from the directory name)"),
        "{stdout}"
    );
    assert_valid_stack(&d);
}

#[test]
fn directory_names_that_sanitize_oddly_still_give_a_valid_stack() {
    for (dir_name, app) in [
        ("--My App.v2--", "my_app_v2"),
        ("123", "123"),
        ("Ünïcode-Shop", "n_code_shop"),
    ] {
        let parent = tmp("dirname");
        let d = parent.path().join(dir_name);
        std::fs::create_dir(&d).unwrap();
        let stdout = init(&d, &[]);
        assert!(
            stdout.contains(&format!("app      {app} (from the directory name)\n")),
            "{dir_name}: {stdout}"
        );
        assert!(read(&d, "dev.yml").contains(&format!("MYSQL_DATABASE: \"{app}_development\"")));
        assert_valid_stack(&d);
    }
}

#[test]
fn a_directory_name_without_ascii_letters_still_gives_a_valid_stack() {
    for dir_name in ["日本", "_"] {
        let parent = tmp("noascii");
        let d = parent.path().join(dir_name);
        std::fs::create_dir(&d).unwrap();
        let stdout = init(&d, &[]);
        assert!(
            stdout.contains("app      app (from the directory name)\n"),
            "{dir_name}: {stdout}"
        );
        assert_valid_stack(&d);
    }
}

// ---------------------------------------------------------------------------------------------
// init: versions

fn ruby_from(dir: &Path) -> String {
    let rails = read(dir, "docker/rails/Dockerfile");
    rails
        .lines()
        .find_map(|l| l.strip_prefix("FROM ruby:"))
        .unwrap_or_else(|| panic!("no FROM ruby: in\n{rails}"))
        .to_owned()
}

#[test]
fn ruby_version_files_in_their_usual_spellings() {
    for (content, tag) in [
        ("ruby-3.2.2\n", "3.2.2-slim"),
        ("3.2.2\r\n", "3.2.2-slim"),
        ("  \n 3.1.0 \n", "3.1.0-slim"),
        ("ruby-3.3.1@blog", "3.3.1-slim"),
        ("3.4.0-preview1\n", "3.4.0-preview1-slim"),
    ] {
        let dir = tmp("ruby");
        put(dir.path(), ".ruby-version", content);
        let stdout = init(dir.path(), &[]);
        let version = tag.trim_end_matches("-slim");
        assert!(
            stdout.contains(&format!("ruby     {version} (from .ruby-version)")),
            "{content:?}: {stdout}"
        );
        assert_eq!(ruby_from(dir.path()), tag, "{content:?}");
        assert_valid_stack(dir.path());
    }
}

#[test]
fn gemfile_ruby_is_used_when_ruby_version_is_missing_or_unusable() {
    for ruby_version in [None, Some("jruby-9.4.5.0\n"), Some("")] {
        let dir = tmp("gemruby");
        let d = dir.path();
        put(
            d,
            "Gemfile",
            "source \"https://rubygems.org\"\r\nruby '3.1.4'\r\ngem \"rails\"\r\n",
        );
        if let Some(text) = ruby_version {
            put(d, ".ruby-version", text);
        }
        let out = devenv(d, &["init"]);
        assert_eq!(out.status.code(), Some(0));
        assert!(text(&out.stdout).contains("ruby     3.1.4 (from Gemfile)"));
        if ruby_version.is_some() {
            assert!(
                text(&out.stderr).contains("note: .ruby-version says"),
                "{}",
                text(&out.stderr)
            );
        }
        assert_eq!(ruby_from(d), "3.1.4-slim");
        assert_valid_stack(d);
    }
}

#[test]
fn node_version_files_in_their_usual_spellings() {
    // (file, content, node image tag or None for the default with a note)
    for (file, content, tag) in [
        (".nvmrc", "v20.1.0\n", Some("20.1.0")),
        (".node-version", "20.1.0\r\n", Some("20.1.0")),
        (".nvmrc", "18", Some("18")),
        (".nvmrc", "lts/*\n", None),
        (".nvmrc", "node\n", None),
        (".node-version", "lts/iron\n", None),
    ] {
        let dir = tmp("node");
        let d = dir.path();
        put(d, "package.json", "{}\n");
        put(d, file, content);
        let out = devenv(d, &["init"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        let node = read(d, "docker/node/Dockerfile");
        match tag {
            Some(tag) => {
                assert!(
                    stdout.contains(&format!(
                        "node     {tag} (from {file}; package.json exists)"
                    )),
                    "{content:?}: {stdout}"
                );
                assert!(node.contains(&format!("FROM node:{tag}-slim\n")), "{node}");
            }
            None => {
                assert!(stdout.contains("node     20 (default; package.json exists)"));
                assert!(
                    text(&out.stderr).contains(&format!(
                        "note: {file} says `{}`, which is no tag of the `node` image; ignoring it",
                        content.trim()
                    )),
                    "{}",
                    text(&out.stderr)
                );
                assert!(node.contains("FROM node:20-slim\n"), "{node}");
            }
        }
        assert_valid_stack(d);
    }
}

#[test]
fn an_unusable_node_version_falls_back_to_nvmrc() {
    let dir = tmp("nodefall");
    let d = dir.path();
    put(d, "package.json", "{}\n");
    put(d, ".node-version", "lts/iron\n");
    put(d, ".nvmrc", "v18.19.0\n");
    let stdout = init(d, &[]);
    assert!(stdout.contains("node     18.19.0 (from .nvmrc"), "{stdout}");
    assert!(read(d, "docker/rails/Dockerfile").contains("FROM node:18.19.0-slim AS assets"));
}

#[test]
fn node_version_files_without_package_json_change_nothing() {
    let dir = tmp("nopkg");
    let d = dir.path();
    put(d, ".nvmrc", "lts/*\n");
    put(d, ".node-version", "garbage\n");
    let out = devenv(d, &["init"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        !text(&out.stderr).contains(".nvmrc"),
        "{}",
        text(&out.stderr)
    );
    assert!(!d.join("docker/node").exists());
    assert!(text(&out.stdout).contains("node     none (no package.json)"));
    assert_valid_stack(d);
}

#[test]
fn package_json_engines_node_sets_the_node_version() {
    let dir = tmp("engines");
    let d = dir.path();
    put(d, "package.json", "{\"engines\": {\"node\": \"22.3.0\"}}\n");
    let stdout = init(d, &[]);
    assert!(
        stdout.contains("node     22.3.0 (from package.json"),
        "{stdout}"
    );
    assert!(read(d, "docker/node/Dockerfile").contains("FROM node:22.3.0-slim\n"));
}

#[test]
fn ruby_version_with_a_bom_is_read() {
    let dir = tmp("rubybom");
    put(dir.path(), ".ruby-version", "\u{feff}3.2.2\n");
    let out = devenv(dir.path(), &["init"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stdout).contains("ruby     3.2.2 (from .ruby-version)"),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

// ---------------------------------------------------------------------------------------------
// init: sidekiq, existing files, --force, failures

#[test]
fn sidekiq_is_found_in_crlf_gemfiles() {
    let dir = tmp("sidekiq");
    let d = dir.path();
    put(
        d,
        "Gemfile",
        "source \"https://rubygems.org\"\r\ngem 'sidekiq', '~> 7'\r\n",
    );
    let stdout = init(d, &[]);
    assert!(
        stdout.contains("sidekiq  yes (listed in Gemfile)"),
        "{stdout}"
    );
    let json = assert_valid_stack(d);
    assert!(json["services"].get("sidekiq").is_some());

    let dir = tmp("sidekiqlock");
    let d = dir.path();
    put(d, "Gemfile", "gem \"rails\"\n# gem \"sidekiq\"\n");
    put(
        d,
        "Gemfile.lock",
        "GEM\r\n  specs:\r\n    sidekiq (7.2.4)\r\n",
    );
    let stdout = init(d, &[]);
    assert!(
        stdout.contains("sidekiq  yes (listed in Gemfile.lock)"),
        "{stdout}"
    );
    assert_valid_stack(d);

    let dir = tmp("nosidekiq");
    let d = dir.path();
    put(d, "Gemfile", "# gem \"sidekiq\"\ngem \"sidekiq-cron\"\n");
    let stdout = init(d, &[]);
    assert!(stdout.contains("sidekiq  none"), "{stdout}");
    assert!(assert_valid_stack(d)["services"].get("sidekiq").is_none());
}

#[test]
fn init_in_a_full_app_lists_exactly_what_it_wrote_and_touches_nothing_else() {
    let dir = tmp("full");
    let d = dir.path();
    put(
        d,
        "config/application.rb",
        APPLICATION_RB.replace("{}", "Blog"),
    );
    put(d, "app/models/user.rb", "class User; end\n");
    put(d, "Gemfile", "gem \"rails\"\n");
    put(d, "Gemfile.lock", "GEM\n  specs:\n    rails (7.1.3)\n");
    put(d, "package.json", "{}\n");
    put(d, "README.md", "# blog\n");
    let before = snapshot(d);
    let stdout = init(d, &[]);
    assert_eq!(
        written(&stdout),
        [
            "dev.yml",
            "docker/rails/Dockerfile",
            "docker/node/Dockerfile",
            ".dockerignore"
        ]
    );
    let after = snapshot(d);
    for file in &before {
        assert!(after.contains(file), "{} changed", file.0);
    }
    let new: Vec<&str> = after
        .iter()
        .filter(|f| !before.contains(f))
        .map(|f| f.0.as_str())
        .filter(|p| !p.ends_with('/'))
        .collect();
    assert_eq!(
        new,
        [
            ".dockerignore",
            "dev.yml",
            "docker/node/Dockerfile",
            "docker/rails/Dockerfile"
        ]
    );
    assert_valid_stack(d);
}

#[test]
fn existing_dev_yml_is_never_replaced_without_force_whatever_it_is() {
    // A file, a directory, a dangling symlink: each is a conflict, exit 2, nothing written.
    type Setup = (&'static str, fn(&Path));
    let setups: [Setup; 3] = [
        ("file", |d| {
            put(d, "dev.yml", "services: {web: {image: mine}}\n")
        }),
        ("dir", |d| std::fs::create_dir(d.join("dev.yml")).unwrap()),
        ("dangling symlink", |d| {
            std::os::unix::fs::symlink("/nonexistent/devenv-ux", d.join("dev.yml")).unwrap()
        }),
    ];
    for (what, setup) in setups {
        let dir = tmp("exists");
        let d = dir.path();
        setup(d);
        put(d, "Gemfile", "gem \"rails\"\n");
        let before = snapshot(d);
        let out = devenv(d, &["init"]);
        let err = assert_refused(&out);
        assert_eq!(
            err,
            "error: this file exists already: dev.yml\n  = hint: nothing was written; pass `--force` to replace it\n",
            "{what}"
        );
        assert_eq!(
            snapshot(d),
            before,
            "{what}: a refused init wrote something"
        );
    }
}

#[test]
fn force_twice_gives_the_same_files_and_says_what_it_replaced() {
    let dir = tmp("force2");
    let d = dir.path();
    put(d, "package.json", "{}\n");
    init(d, &[]);
    let first = snapshot(d);
    let stdout = init(d, &["--force"]);
    assert_eq!(
        written(&stdout),
        [
            "dev.yml",
            "docker/rails/Dockerfile",
            "docker/node/Dockerfile"
        ]
    );
    assert!(
        stdout
            .lines()
            .all(|l| !l.starts_with("replaced") || !l.contains(".dockerignore")),
        "{stdout}"
    );
    assert!(
        stdout.contains("kept     .dockerignore (it exists; init never replaces it)"),
        "{stdout}"
    );
    assert_eq!(
        snapshot(d),
        first,
        "--force on init's own output changed it"
    );
    assert_valid_stack(d);
}

#[test]
fn force_without_conflicts_is_a_plain_init() {
    let dir = tmp("forcefresh");
    let stdout = init(dir.path(), &["--force"]);
    assert_eq!(
        written(&stdout),
        ["dev.yml", "docker/rails/Dockerfile", ".dockerignore"]
    );
    assert!(
        stdout.lines().all(|l| !l.starts_with("replaced")),
        "{stdout}"
    );
    assert_valid_stack(dir.path());
}

#[test]
fn force_keeps_a_dockerignore_of_any_kind() {
    let dir = tmp("keepignore");
    let d = dir.path();
    put(d, ".dockerignore", "/config/master.key\r\n/log/*\r\n");
    put(d, "dev.yml", "services: {}\n");
    let stdout = init(d, &["--force"]);
    assert!(stdout.contains("replaced dev.yml\n"), "{stdout}");
    assert!(stdout.contains("kept     .dockerignore"), "{stdout}");
    assert_eq!(read(d, ".dockerignore"), "/config/master.key\r\n/log/*\r\n");
    assert_valid_stack(d);
}

#[test]
fn a_compose_file_beside_gets_a_note_and_dev_yml_wins() {
    let dir = tmp("compose");
    let d = dir.path();
    put(d, "compose.yaml", "services:\n  other:\n    image: x\n");
    let out = devenv(d, &["init"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains(
            "note: devenv reads dev.yml before compose.yaml; pass `-f compose.yaml` to use that one"
        ),
        "{}",
        text(&out.stderr)
    );
    assert_valid_stack(d);
    assert_eq!(
        read(d, "compose.yaml"),
        "services:\n  other:\n    image: x\n"
    );
}

#[test]
fn dev_yml_that_cannot_be_written_fails_with_nothing_written() {
    // `dev.yml` a directory, with --force: the first write fails.
    let dir = tmp("blocked");
    let d = dir.path();
    std::fs::create_dir(d.join("dev.yml")).unwrap();
    let out = devenv(d, &["init", "--force"]);
    assert_no_panic(&out);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("error: cannot write dev.yml: "), "{err}");
    assert!(err.contains("  = hint: nothing was written\n"), "{err}");
    assert!(
        !text(&out.stdout).contains("wrote"),
        "{}",
        text(&out.stdout)
    );
    assert!(!d.join("docker").exists());
    assert!(!d.join(".dockerignore").exists());
}

#[test]
fn a_blocked_dockerfile_write_leaves_nothing_behind() {
    let dir = tmp("dockerfile");
    let d = dir.path();
    put(d, "docker", "not a directory\n");
    let out = devenv(d, &["init"]);
    assert_no_panic(&out);
    assert_ne!(out.status.code(), Some(0));
    let err = text(&out.stderr);
    assert!(
        err.contains("`docker`") || err.contains("docker is"),
        "{err}"
    );
    assert!(
        !d.join("dev.yml").exists(),
        "dev.yml was written, so a rerun now needs --force:\n{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Config errors

struct Bad {
    yaml: &'static str,
    at: (usize, usize),
    says: &'static str,
    hint: Option<&'static str>,
}

const BAD: &[Bad] = &[
    Bad {
        yaml: "services:\n\tweb:\n\t\timage: busybox\n",
        at: (2, 2),
        says: "error: invalid YAML: tabs",
        hint: None,
    },
    Bad {
        yaml: "services:\n  web:\n    image: a\n    image: b\n",
        at: (4, 5),
        says: "duplicate key `image`",
        hint: None,
    },
    Bad {
        yaml: "- a\n- b\n",
        at: (1, 1),
        says: "error: the top level must be a mapping, found a list",
        hint: None,
    },
    Bad {
        yaml: "services: hello\n",
        at: (1, 11),
        says: "error: `services` must be a mapping of service names, found a string",
        hint: Some("write `services:`, then each service"),
    },
    Bad {
        yaml: "services:\n  web:\n    - a\n",
        at: (3, 5),
        says: "error: service `web` must be a mapping, found a list",
        hint: None,
    },
    Bad {
        yaml: "services:\n  web:\n    image: a\n    ports: 3000\n",
        at: (4, 12),
        says: "error: `ports` of service `web` must be a list, found a number",
        hint: None,
    },
    Bad {
        yaml: "services:\n  web:\n    image: a\n    environment: 5\n",
        at: (4, 18),
        says: "must be a mapping or a list of `KEY=value`, found a number",
        hint: None,
    },
    Bad {
        yaml: "services:\n  web:\n    image: a\n    command: {a: 1}\n",
        at: (4, 14),
        says: "error: `command` of service `web` must be",
        hint: None,
    },
    Bad {
        yaml: "services:\n  web:\n    image: a\n    depends_on: 3\n",
        at: (4, 17),
        says: "error: `depends_on` of service `web` must be a list or a mapping, found a number",
        hint: None,
    },
    Bad {
        yaml: "services:\n  web:\n    image: a\n    healthcheck: \"x\"\n",
        at: (4, 18),
        says: "error: `healthcheck` of service `web` must be a mapping, found a string",
        hint: None,
    },
    Bad {
        yaml: "services:\n  web:\n    image: a\n    volumes: \"a:b\"\n",
        at: (4, 14),
        says: "error: `volumes` of service `web` must be a list, found a string",
        hint: None,
    },
    Bad {
        yaml: "services:\n  web:\n    image: a\n    ports: [\"abc\"]\n",
        at: (4, 13),
        says: "error: port `abc` of service `web` is invalid",
        hint: Some("`[ip:]host:container[/protocol]`"),
    },
    Bad {
        yaml: "services:\n  web:\n    image: a\n    healthcheck:\n      interval: x\n",
        at: (5, 17),
        says: "`x` is not a duration",
        hint: None,
    },
    Bad {
        yaml: "servces:\n  web:\n    image: a\n",
        at: (1, 1),
        says: "error: unknown key `servces` in the top level",
        hint: Some("did you mean `services`?"),
    },
    Bad {
        yaml: "services:\n  web:\n    image: a\nfoo: 1\n",
        at: (4, 1),
        says: "error: unknown key `foo` in the top level",
        hint: Some("expected one of: version, name, services, volumes, networks, watch"),
    },
    Bad {
        yaml: "# only\n# comments\n",
        at: (1, 1),
        says: "error: the config is empty",
        hint: Some("define at least one service under `services:`"),
    },
    // watch:
    Bad {
        yaml: "services:\n  web:\n    image: a\nwatch: 5\n",
        at: (4, 8),
        says: "error: `watch` must be a list of rules, found a number",
        hint: Some("write `watch:` followed by `- paths: [...]` items"),
    },
    Bad {
        yaml: "services:\n  web:\n    image: a\nwatch:\n  foo: bar\n",
        at: (5, 3),
        says: "error: `watch` must be a list of rules, found a mapping",
        hint: Some("`- paths: [...]`"),
    },
    Bad {
        yaml: "services:\n  web:\n    image: a\nwatch:\n  - 5\n",
        at: (5, 5),
        says: "error: watch rule 1 must be a mapping, found a number",
        hint: None,
    },
    Bad {
        yaml: "services:\n  web:\n    image: a\nwatch:\n  - actions:\n      - restart: [web]\n",
        at: (5, 5),
        says: "error: watch rule 1 has no `paths`",
        hint: Some("add `paths: [\"app/**\"]`"),
    },
    Bad {
        yaml: "services:\n  web:\n    image: a\nwatch:\n  - paths: [\"x\"]\n",
        at: (5, 5),
        says: "error: watch rule 1 has no `actions`",
        hint: Some("add `actions:` with exec, run, restart, rebuild or sync"),
    },
    Bad {
        yaml: "services:\n  web:\n    image: a\nwatch:\n  - paths: [\"x\"]\n    bogus: 1\n    actions:\n      - restart: [web]\n",
        at: (6, 5),
        says: "error: unknown key `bogus` in watch rule 1",
        hint: Some("expected one of: paths, ignore, debounce, actions"),
    },
    Bad {
        yaml: "services:\n  web:\n    image: a\nwatch:\n  - paths: [\"x\"]\n    actions: [{explode: web}]\n",
        at: (6, 16),
        says: "error: unknown action `explode` in watch rule 1",
        hint: Some("use exec, run, restart, rebuild or sync"),
    },
    Bad {
        yaml: "services:\n  web:\n    image: a\nwatch:\n  - paths: [\"x\"]\n    actions:\n      - restart: [nope]\n",
        at: (7, 19),
        says: "error: `restart` action of watch rule 1 names unknown service `nope`",
        hint: Some("the services are: web"),
    },
    Bad {
        yaml: "services:\n  web:\n    image: a\nwatch:\n  - paths: [\"x\"]\n    actions:\n      - exec: {service: nope, command: \"x\"}\n",
        at: (7, 25),
        says: "error: `exec` action of watch rule 1 names unknown service `nope`",
        hint: Some("the services are: web"),
    },
    Bad {
        yaml: "services:\n  web:\n    image: a\nwatch:\n  - paths: [\"x\"]\n    actions:\n      - exec: \"x\"\n",
        at: (7, 15),
        says: "error: `exec` action of watch rule 1 must be a mapping, found a string",
        hint: None,
    },
    Bad {
        yaml: "services:\n  web:\n    image: a\nwatch:\n  - paths: [\"x\"]\n    actions:\n      - restart: [web]\n        exec: {service: web, command: x}\n",
        at: (7, 9),
        says: "error: an action of watch rule 1 must be a mapping with one key",
        hint: Some("write `- exec: {service: node"),
    },
    Bad {
        yaml: "services:\n  web:\n    image: a\nwatch:\n  - paths: [\"x\"]\n    actions:\n      - sync: {service: web}\n",
        at: (7, 15),
        says: "error: `sync` action of watch rule 1 needs `service` and `target`",
        hint: None,
    },
    Bad {
        yaml: "services:\n  web:\n    image: a\nwatch:\n  - paths: [\"x\"]\n    debounce: forever\n    actions:\n      - restart: [web]\n",
        at: (6, 15),
        says: "error: `debounce` of watch rule 1: `forever` is not a duration",
        hint: None,
    },
    Bad {
        yaml: "services:\n  web:\n    image: a\nwatch:\n  - paths: [\"[x\"]\n    actions:\n      - restart: [web]\n",
        at: (5, 13),
        says: "error: `paths` of watch rule 1: `[x` is not a valid glob",
        hint: None,
    },
];

fn check_bad(bad: &Bad, crlf: bool) {
    let dir = tmp("bad");
    let yaml = if crlf {
        bad.yaml.replace('\n', "\r\n")
    } else {
        bad.yaml.to_owned()
    };
    put(dir.path(), "dev.yml", &yaml);
    let out = devenv(dir.path(), &["config"]);
    let err = assert_refused(&out);
    assert!(
        err.contains(bad.says),
        "{:?}: no `{}` in\n{err}",
        bad.yaml,
        bad.says
    );
    assert_located(&err, "dev.yml", &yaml, bad.at.0, bad.at.1);
    if let Some(hint) = bad.hint {
        assert!(
            err.contains("  = hint: ") && err.contains(hint),
            "{:?}: no hint `{hint}` in\n{err}",
            bad.yaml
        );
    }
    assert!(!err.contains('\r'), "a carriage return in\n{err:?}");
}

#[test]
fn bad_configs_exit_2_with_location_quote_and_caret() {
    for bad in BAD {
        check_bad(bad, false);
    }
}

#[test]
fn bad_configs_with_crlf_line_endings_report_the_same() {
    for bad in BAD {
        check_bad(bad, true);
    }
}

#[test]
fn an_empty_config_file_is_refused_at_its_start() {
    let dir = tmp("empty");
    put(dir.path(), "dev.yml", "");
    let err = assert_refused(&devenv(dir.path(), &["config"]));
    assert_eq!(
        err,
        "error: the config is empty\n --> dev.yml:1:1\n  = hint: define at least one service under `services:`\n"
    );
}

#[test]
fn crlf_and_bom_configs_load_like_plain_ones() {
    let plain = "services:\n  web:\n    image: a\n    ports:\n      - \"3000:3000\"\n    environment:\n      A: \"1\"\n";
    let reference = tmp("plain");
    put(reference.path(), "dev.yml", plain);
    let want = devenv(reference.path(), &["config", "--format", "json"]);
    assert_eq!(want.status.code(), Some(0));
    let want: serde_json::Value = serde_json::from_slice(&want.stdout).unwrap();
    for (what, text_) in [
        ("crlf", plain.replace('\n', "\r\n")),
        ("bom", format!("\u{feff}{plain}")),
        (
            "bom+crlf",
            format!("\u{feff}{}", plain.replace('\n', "\r\n")),
        ),
    ] {
        let dir = tmp("plain");
        put(dir.path(), "dev.yml", &text_);
        let out = devenv(dir.path(), &["config", "--format", "json"]);
        assert_eq!(out.status.code(), Some(0), "{what}: {}", text(&out.stderr));
        assert_eq!(text(&out.stderr), "", "{what}");
        let mut got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        // The project name comes from the directory.
        got["name"] = want["name"].clone();
        got["networks"] = want["networks"].clone();
        assert_eq!(got, want, "{what}");
    }
}

#[test]
fn a_non_utf8_config_is_refused_without_a_panic() {
    let dir = tmp("latin1");
    put(
        dir.path(),
        "dev.yml",
        b"services:\n  web:\n    image: \"caf\xe9\"\n",
    );
    let err = assert_refused(&devenv(dir.path(), &["config"]));
    assert!(err.contains("is not UTF-8 text"), "{err}");
}

#[test]
fn a_non_utf8_config_names_line_and_column() {
    let dir = tmp("latin1loc");
    let yaml = b"services:\n  web:\n    image: \"caf\xe9\"\n";
    put(dir.path(), "dev.yml", yaml);
    let err = assert_refused(&devenv(dir.path(), &["config"]));
    assert!(err.contains(" --> dev.yml:3:16\n"), "{err}");
}

#[test]
fn duplicate_key_message_speaks_devenv() {
    let dir = tmp("dup");
    put(
        dir.path(),
        "dev.yml",
        "services:\n  web:\n    image: a\n    image: b\n",
    );
    let err = assert_refused(&devenv(dir.path(), &["config"]));
    assert!(!err.contains("DuplicateKeyPolicy"), "{err}");
    assert!(!err.contains("Options"), "{err}");
    assert!(err.contains("  = hint: "), "{err}");
    assert!(err.contains("line 3"), "first `image` not named:\n{err}");
}

#[test]
fn tab_indentation_hints_at_spaces() {
    let dir = tmp("tab");
    put(
        dir.path(),
        "dev.yml",
        "services:\n\tweb:\n\t\timage: busybox\n",
    );
    let err = assert_refused(&devenv(dir.path(), &["config"]));
    assert!(
        err.contains("  = hint: ") && err.contains("spaces"),
        "{err}"
    );
}

#[test]
fn services_of_the_wrong_type_names_the_type() {
    for (yaml, found, col) in [
        ("services: hello\n", "found a string", 11),
        ("services: [web]\n", "found a list", 11),
    ] {
        let dir = tmp("svctype");
        put(dir.path(), "dev.yml", yaml);
        let err = assert_refused(&devenv(dir.path(), &["config"]));
        assert!(
            err.contains("`services` must be a mapping") && err.contains(found),
            "{yaml:?}:\n{err}"
        );
        assert_located(&err, "dev.yml", yaml, 1, col);
    }
}

#[test]
fn one_mistake_gives_one_error() {
    let mut failures = Vec::new();
    for yaml in [
        "- a\n- b\n",
        "services:\n  web:\n    - a\n",
        "services:\n  web: 5\n",
        "services:\n  web:\n    image: a\nwatch:\n  - 5\n",
        "services:\n  web:\n    image: a\nwatch:\n  - paths: [\"x\"]\n    actions: 5\n",
        "services:\n  web:\n    image: a\nwatch:\n  - paths: [\"[x\"]\n    actions:\n      - restart: [web]\n",
        "servces:\n  web:\n    image: a\n",
    ] {
        let dir = tmp("cascade");
        put(dir.path(), "dev.yml", yaml);
        let err = assert_refused(&devenv(dir.path(), &["config"]));
        if err.matches("error: ").count() != 1 {
            failures.push(format!("{yaml:?}:\n{err}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn type_errors_describe_the_key_and_its_accepted_forms() {
    let dir = tmp("envtype");
    put(
        dir.path(),
        "dev.yml",
        "services:\n  web:\n    image: a\n    environment: 5\n",
    );
    let err = assert_refused(&devenv(dir.path(), &["config"]));
    assert!(
        err.starts_with("error: `environment` of service `web` must be"),
        "{err}"
    );
    let dir = tmp("cmdtype");
    put(
        dir.path(),
        "dev.yml",
        "services:\n  web:\n    image: a\n    command: {a: 1}\n",
    );
    let err = assert_refused(&devenv(dir.path(), &["config"]));
    assert!(err.contains("a string or a list"), "{err}");
}

#[test]
fn scalar_where_a_list_belongs_hints_at_the_list() {
    for (yaml, hint) in [
        (
            "services:\n  web:\n    image: a\n    ports: 3000\n",
            "- \"3000",
        ),
        (
            "services:\n  web:\n    image: a\n    volumes: \"a:b\"\n",
            "- \"a:b\"",
        ),
    ] {
        let dir = tmp("scalar");
        put(dir.path(), "dev.yml", yaml);
        let err = assert_refused(&devenv(dir.path(), &["config"]));
        assert!(
            err.contains("  = hint: ") && err.contains(hint),
            "{yaml:?}:\n{err}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// .env, -f, --env-file

const USES_TAG: &str = "services:\n  web:\n    image: \"busybox:${TAG:-default}\"\n";

fn image_with_env(env: &[u8]) -> Output {
    let dir = tmp("dotenv");
    put(dir.path(), "dev.yml", USES_TAG);
    put(dir.path(), ".env", env);
    devenv(dir.path(), &["config", "--format", "json"])
}

fn image_of(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    json["services"]["web"]["image"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn dotenv_empty_crlf_and_comments_work() {
    assert_eq!(image_of(&image_with_env(b"")), "busybox:default");
    assert_eq!(image_of(&image_with_env(b"TAG=4\r\n")), "busybox:4");
    assert_eq!(
        image_of(&image_with_env(b"# comment\n\nexport TAG=5\n")),
        "busybox:5"
    );
}

#[test]
fn dotenv_garbage_lines_are_located() {
    for (env, line, says) in [
        (
            "garbage line\nTAG=2\n",
            1,
            "`garbage line` is not a `KEY=value` line",
        ),
        (
            "TAG=2\n=novalue\n",
            2,
            "`=novalue` is not a `KEY=value` line",
        ),
        ("TAG=\"unterminated\n", 1, "never closed"),
    ] {
        let out = image_with_env(env.as_bytes());
        let err = assert_refused(&out);
        assert!(err.contains(says), "{env:?}:\n{err}");
        assert_located(&err, ".env", env, line, 1);
    }
}

#[test]
fn dotenv_garbage_lines_have_a_hint() {
    let err = assert_refused(&image_with_env(b"garbage line\n"));
    assert!(err.contains("  = hint: "), "{err}");
}

#[test]
fn dotenv_with_a_bom_sets_its_first_variable() {
    assert_eq!(
        image_of(&image_with_env(b"\xef\xbb\xbfTAG=3\n")),
        "busybox:3"
    );
}

#[test]
fn dotenv_that_is_not_utf8_is_refused() {
    let err = assert_refused(&image_with_env(b"TAG=\xff\n"));
    assert!(err.contains(".env is not UTF-8 text"), "{err}");
}

#[test]
fn dotenv_that_is_not_utf8_is_located_without_a_yaml_hint() {
    let err = assert_refused(&image_with_env(b"A=1\nTAG=\xff\n"));
    assert!(!err.contains("YAML"), "{err}");
    assert!(err.contains(" --> .env:2:5\n"), "{err}");
}

#[test]
fn file_arguments_that_cannot_be_read_exit_2() {
    let dir = tmp("fargs");
    let d = dir.path();
    std::fs::create_dir(d.join("sub")).unwrap();
    put(d, "dev.yml", USES_TAG);
    for (args, says) in [
        (&["-f", "sub", "config"][..], "error: cannot read "),
        (
            &["-f", "missing.yml", "config"][..],
            "missing.yml: no such file",
        ),
        (
            &["--env-file", "nope.env", "config"][..],
            "nope.env: no such file",
        ),
    ] {
        let err = assert_refused(&devenv(d, args));
        assert!(err.contains(says), "{args:?}:\n{err}");
    }
}

#[test]
fn file_arguments_that_cannot_be_read_have_a_hint() {
    let dir = tmp("fhint");
    let d = dir.path();
    std::fs::create_dir(d.join("sub")).unwrap();
    put(d, "dev.yml", USES_TAG);
    for args in [
        &["-f", "sub", "config"][..],
        &["-f", "missing.yml", "config"][..],
        &["--env-file", "nope.env", "config"][..],
    ] {
        let err = assert_refused(&devenv(d, args));
        assert!(err.contains("  = hint: "), "{args:?}:\n{err}");
        assert!(!err.contains("os error"), "{args:?}:\n{err}");
    }
}
