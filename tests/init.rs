//! Black-box tests of `devenv init`: the built binary in a temp dir, files and output checked.

use std::path::Path;
use std::process::{Command, Output};

fn devenv(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_devenv"))
        .args(args)
        .current_dir(dir)
        .env_remove("DEVENV_PROJECT_NAME")
        .env("NO_COLOR", "1")
        .output()
        .expect("devenv runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn app(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(prefix).tempdir().unwrap()
}

fn read(dir: &Path, path: &str) -> String {
    std::fs::read_to_string(dir.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every file under `dir`, relative, sorted, with its contents.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().display().to_string();
                out.push((rel, std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn services(dir: &Path) -> String {
    let out = devenv(dir, &["config", "--services"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

#[test]
fn init_in_an_empty_dir_writes_a_config_that_validates() {
    let dir = app("Empty-App");
    let out = devenv(dir.path(), &["init"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let wrote: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("wrote "))
        .map(str::trim)
        .collect();
    assert_eq!(
        wrote,
        ["dev.yml", "docker/rails/Dockerfile", ".dockerignore"]
    );
    assert!(stdout.contains("\nnext: devenv up\n"), "{stdout}");
    assert!(
        stdout.contains("node     none (no package.json)"),
        "{stdout}"
    );
    // No Gemfile: said on stderr, since `devenv up` cannot build without one.
    assert!(text(&out.stderr).contains("note: no Gemfile here"));

    let files: Vec<String> = snapshot(dir.path()).into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        files,
        [".dockerignore", "dev.yml", "docker/rails/Dockerfile"]
    );

    let config = devenv(dir.path(), &["config"]);
    assert_eq!(config.status.code(), Some(0), "{}", text(&config.stderr));
    assert_eq!(text(&config.stderr), "", "config warns");
    assert_eq!(services(dir.path()), "mysql\nredis\npuma\n");

    let dev = read(dir.path(), "dev.yml");
    assert!(!dev.contains("{{"), "{dev}");
    // The directory name, made fit for a database name: `Empty-App…` → `empty_app…`.
    assert!(dev.contains("MYSQL_DATABASE: \"empty_app"), "{dev}");
    let dockerfile = read(dir.path(), "docker/rails/Dockerfile");
    assert!(
        dockerfile.contains("\nFROM ruby:3.3-slim\n"),
        "{dockerfile}"
    );
    assert!(!dockerfile.contains("AS assets"), "{dockerfile}");
}

#[test]
fn init_adapts_to_a_rails_app_with_node_and_sidekiq() {
    let dir = app("adapt");
    let d = dir.path();
    std::fs::create_dir(d.join("config")).unwrap();
    std::fs::write(
        d.join("config/application.rb"),
        "require_relative \"boot\"\nrequire \"rails/all\"\n\nmodule BookShelf\n  class Application < Rails::Application\n  end\nend\n",
    )
    .unwrap();
    std::fs::write(
        d.join("Gemfile"),
        "source \"https://rubygems.org\"\ngem \"rails\"\n",
    )
    .unwrap();
    std::fs::write(
        d.join("Gemfile.lock"),
        "GEM\n  specs:\n    sidekiq (7.2.4)\n\nDEPENDENCIES\n  sidekiq\n",
    )
    .unwrap();
    std::fs::write(d.join(".ruby-version"), "ruby-3.2.4\n").unwrap();
    std::fs::write(d.join(".node-version"), "v22.3.0\n").unwrap();
    std::fs::write(
        d.join("package.json"),
        "{\"scripts\": {\"build\": \"true\"}}\n",
    )
    .unwrap();

    let out = devenv(d, &["init"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "", "nothing to note for a complete app");
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("app      book_shelf (from config/application.rb)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("sidekiq  yes (listed in Gemfile.lock)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("wrote    docker/node/Dockerfile\n"),
        "{stdout}"
    );

    assert_eq!(services(d), "mysql\nnode\nredis\npuma\nsidekiq\n");
    let config = devenv(d, &["config"]);
    assert_eq!(text(&config.stderr), "", "config warns");
    let dev = read(d, "dev.yml");
    assert!(dev.contains("MYSQL_DATABASE: \"book_shelf_development\""));
    assert!(dev.contains("exec: { service: node, command: \"npm run build\" }"));
    let rails = read(d, "docker/rails/Dockerfile");
    assert!(rails.contains("FROM node:22.3.0-slim AS assets"), "{rails}");
    assert!(rails.contains("\nFROM ruby:3.2.4-slim\n"), "{rails}");
    assert!(read(d, "docker/node/Dockerfile").contains("FROM node:22.3.0-slim\n"));
}

#[test]
fn node_service_only_with_a_package_json() {
    let with = app("node");
    std::fs::write(with.path().join("package.json"), "{}\n").unwrap();
    assert!(devenv(with.path(), &["init"]).status.success());
    assert!(services(with.path()).lines().any(|s| s == "node"));
    assert!(with.path().join("docker/node/Dockerfile").is_file());

    let without = app("nonode");
    assert!(devenv(without.path(), &["init"]).status.success());
    assert!(!services(without.path()).lines().any(|s| s == "node"));
    assert!(!without.path().join("docker/node").exists());
    let dev = read(without.path(), "dev.yml");
    assert!(!dev.contains("node_modules"), "{dev}");
    assert!(!dev.contains("service: node"), "{dev}");
}

#[test]
fn second_init_refuses_and_changes_nothing() {
    let dir = app("twice");
    let d = dir.path();
    assert!(devenv(d, &["init"]).status.success());
    // A user edit, and a package.json that would make init write one more file.
    std::fs::write(d.join("dev.yml"), "services: {web: {image: mine}}\n").unwrap();
    std::fs::write(d.join("package.json"), "{}\n").unwrap();
    let before = snapshot(d);

    let out = devenv(d, &["init"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stdout), "");
    assert_eq!(
        text(&out.stderr),
        "error: these files exist already: dev.yml, docker/rails/Dockerfile\n  = hint: nothing was written; pass `--force` to replace them\n"
    );
    assert_eq!(snapshot(d), before, "a refused init wrote something");
}

#[test]
fn one_existing_file_is_named_alone() {
    let dir = app("one");
    std::fs::write(dir.path().join("dev.yml"), "services: {}\n").unwrap();
    let out = devenv(dir.path(), &["init"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "error: this file exists already: dev.yml\n  = hint: nothing was written; pass `--force` to replace it\n"
    );
    assert_eq!(snapshot(dir.path()).len(), 1);
}

#[test]
fn force_replaces_but_keeps_an_existing_dockerignore() {
    let dir = app("force");
    let d = dir.path();
    std::fs::create_dir_all(d.join("docker/rails")).unwrap();
    std::fs::write(d.join("dev.yml"), "services: {web: {image: mine}}\n").unwrap();
    std::fs::write(d.join("docker/rails/Dockerfile"), "FROM scratch\n").unwrap();
    std::fs::write(d.join(".dockerignore"), "/config/master.key\n").unwrap();

    let out = devenv(d, &["init", "--force"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("replaced dev.yml\n"), "{stdout}");
    assert!(
        stdout.contains("replaced docker/rails/Dockerfile\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("kept     .dockerignore (it exists; init never replaces it)\n"),
        "{stdout}"
    );
    assert!(read(d, "dev.yml").contains("\n  puma:\n"));
    assert!(read(d, "docker/rails/Dockerfile").contains("FROM ruby:"));
    assert_eq!(read(d, ".dockerignore"), "/config/master.key\n");
    assert_eq!(services(d), "mysql\nredis\npuma\n");
}

#[test]
fn an_existing_dockerignore_alone_is_no_conflict() {
    // Rails 7.1+ apps come with their own .dockerignore.
    let dir = app("railsignore");
    std::fs::write(dir.path().join(".dockerignore"), "/log/*\n").unwrap();
    let out = devenv(dir.path(), &["init"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(read(dir.path(), ".dockerignore"), "/log/*\n");
    assert!(dir.path().join("dev.yml").is_file());
}

#[test]
fn unknown_template_is_a_usage_error() {
    let dir = app("tpl");
    let out = devenv(dir.path(), &["init", "--template", "foo"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("error: invalid value 'foo' for '--template <TEMPLATE>'"),
        "{err}"
    );
    assert!(err.contains("[possible values: rails]"), "{err}");
    assert!(snapshot(dir.path()).is_empty());
}

#[test]
fn init_help_has_examples() {
    let out = devenv(Path::new("."), &["init", "--help"]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    assert!(help.contains("Examples:\n  devenv init"), "{help}");
    assert!(help.contains("--force"), "{help}");
}
