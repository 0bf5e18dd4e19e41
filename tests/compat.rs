//! Compose compatibility: `devenv config` must read an existing docker-compose.yml (and its `.env`,
//! `env_file`s and override files) the way docker compose v2 (2.26) does. The expected values
//! were taken from `docker compose config`; the tests never run compose themselves.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

/// Runs the binary in `dir` with a clean environment plus `env`, so nothing from the machine
/// (COMPOSE_*, DEVENV_*, the variables a test uses) leaks in.
fn devenv(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_devenv"));
    cmd.args(args).current_dir(dir).env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    cmd.env("HOME", dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("devenv runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A temp dir holding `files` (relative path, content).
fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("compat").tempdir().unwrap();
    write_files(dir.path(), files);
    dir
}

fn write_files(dir: &Path, files: &[(&str, &str)]) {
    for (name, content) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
}

/// `devenv [args] config --format json` in `dir`; the resolved model, or a panic with stderr.
fn config_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Value {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["config", "--format", "json"]);
    let out = devenv(dir, &all, env);
    assert!(
        out.status.success(),
        "devenv config failed ({:?}):\n{}",
        out.status.code(),
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("config prints JSON")
}

fn config(dir: &tempfile::TempDir) -> Value {
    config_in(dir.path(), &[], &[])
}

/// A failing `devenv config`: exit 2, nothing on stdout; returns stderr.
fn config_error(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["config", "--format", "json"]);
    let out = devenv(dir, &all, env);
    assert_eq!(
        out.status.code(),
        Some(2),
        "expected a config error; stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    text(&out.stderr)
}

fn service<'a>(cfg: &'a Value, name: &str) -> &'a Value {
    let s = &cfg["services"][name];
    assert!(s.is_object(), "no service `{name}` in {cfg:#}");
    s
}

fn environment<'a>(cfg: &'a Value, name: &str) -> &'a Value {
    &service(cfg, name)["environment"]
}

/// A compose file with one service `s` whose environment maps each key to `${KEY-UNSET}`, so the
/// value shows what interpolation saw for it (`UNSET` when it was not set at all).
fn echo_env(keys: &[&str]) -> String {
    let mut y = String::from("services:\n  s:\n    image: busybox\n    environment:\n");
    for k in keys {
        y.push_str(&format!("      {k}: ${{{k}-UNSET}}\n"));
    }
    y
}

fn services_listed(dir: &Path, env: &[(&str, &str)]) -> Vec<String> {
    let out = devenv(dir, &["config", "--services"], env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut names: Vec<String> = text(&out.stdout).lines().map(str::to_owned).collect();
    names.sort();
    names
}

// ----- .env -----

#[test]
fn dotenv_quotes_export_comments_and_escapes() {
    let dotenv = concat!(
        "# a comment\n",
        "\n",
        "A=1\n",
        "export B=exported\n",
        "C=\"double # not a comment\"\n",
        "D='single $A stays'\n",
        "E=x # inline comment\n",
        "F=x#no-space-is-no-comment\n",
        "G=\n",
        "H=\"esc\\nnl\\ttab\\\\back\\\"q\"\n",
        "I='no\\nescape'\n",
        "J=  spaced  \n",
        "K=\" lead\"\n",
        "L=\"trail\" # comment\n",
        "M=a'b\n",
    );
    let keys = [
        "A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M",
    ];
    let dir = project(&[(".env", dotenv), ("compose.yml", &echo_env(&keys))]);
    let cfg = config(&dir);
    assert_eq!(
        environment(&cfg, "s"),
        &json!({
            "A": "1",
            "B": "exported",
            "C": "double # not a comment",
            "D": "single $A stays",
            "E": "x",
            "F": "x#no-space-is-no-comment",
            "G": "",
            "H": "esc\nnl\ttab\\back\"q",
            "I": "no\\nescape",
            "J": "spaced",
            "K": " lead",
            "L": "trail",
            "M": "a'b",
        })
    );
}

#[test]
fn the_shell_wins_over_dotenv_and_env_file_is_relative_to_cwd() {
    let dir = project(&[
        ("sub/.env", "V=sub\nW=from-dotenv\n"),
        ("other.env", "V=other\n"),
        ("sub/compose.yml", &echo_env(&["V", "W"])),
    ]);
    // `.env` is read from the project directory (the first file's), not the cwd.
    let cfg = config_in(dir.path(), &["-f", "sub/compose.yml"], &[("W", "shell")]);
    assert_eq!(environment(&cfg, "s"), &json!({"V": "sub", "W": "shell"}));
    // `--env-file` is relative to the cwd and replaces the project's `.env`.
    let cfg = config_in(
        &dir.path().join("sub"),
        &["--env-file", "../other.env"],
        &[],
    );
    assert_eq!(environment(&cfg, "s"), &json!({"V": "other", "W": "UNSET"}));
}

#[test]
fn dotenv_values_interpolate_earlier_keys_and_the_shell() {
    let dir = project(&[
        (
            ".env",
            "A=1\nB=${A}-ref\nC=\"${A}-dq\"\nD='${A}-sq'\nE=$A\nF=${NOPE:-fallback}\nG=${SHELLV}\n",
        ),
        (
            "compose.yml",
            &echo_env(&["A", "B", "C", "D", "E", "F", "G"]),
        ),
    ]);
    let cfg = config_in(dir.path(), &[], &[("SHELLV", "sh")]);
    assert_eq!(
        environment(&cfg, "s"),
        &json!({
            "A": "1",
            "B": "1-ref",
            "C": "1-dq",
            "D": "${A}-sq",
            "E": "1",
            "F": "fallback",
            "G": "sh",
        })
    );
}

#[test]
fn dotenv_multiline_double_quoted_value() {
    let dir = project(&[
        (".env", "K=\"multi\nline\"\nAFTER=1\n"),
        ("compose.yml", &echo_env(&["K", "AFTER"])),
    ]);
    let cfg = config(&dir);
    assert_eq!(
        environment(&cfg, "s"),
        &json!({"K": "multi\nline", "AFTER": "1"})
    );
}

#[test]
fn dotenv_bare_key_without_shell_value_is_unset() {
    let dir = project(&[(".env", "BARE\n"), ("compose.yml", &echo_env(&["BARE"]))]);
    assert_eq!(environment(&config(&dir), "s"), &json!({"BARE": "UNSET"}));
    // From the shell it takes the shell's value (this already works).
    let cfg = config_in(dir.path(), &[], &[("BARE", "sh")]);
    assert_eq!(environment(&cfg, "s"), &json!({"BARE": "sh"}));
}

#[test]
fn dotenv_unknown_escapes_keep_their_backslash() {
    let dir = project(&[
        (
            ".env",
            "A=\"\\d+\"\nB=\"C:\\Users\\x\"\nC=\"r\\rx\"\nD=\"\\$HOME\"\n",
        ),
        ("compose.yml", &echo_env(&["A", "B", "C", "D"])),
    ]);
    assert_eq!(
        environment(&config(&dir), "s"),
        &json!({"A": "\\d+", "B": "C:\\Users\\x", "C": "r\rx", "D": "$HOME"})
    );
}

#[test]
fn dotenv_comment_after_quoted_value_may_hold_quotes() {
    let dir = project(&[
        (".env", "A=\"x\" # the \"x\"\nB='y' # it's y\n"),
        ("compose.yml", &echo_env(&["A", "B"])),
    ]);
    assert_eq!(
        environment(&config(&dir), "s"),
        &json!({"A": "x", "B": "y"})
    );
}

// ----- environment and env_file -----

#[test]
fn environment_without_value_passes_through_from_shell_and_dotenv() {
    let dir = project(&[
        (".env", "FROM_DOTENV=dot\n"),
        ("app.env", "EF1=one\nEF_PASS\nOVERRIDDEN=env_file\n"),
        (
            "compose.yml",
            concat!(
                "services:\n",
                "  s:\n",
                "    image: busybox\n",
                "    env_file: app.env\n",
                "    environment:\n",
                "      - SHELLVAR\n",
                "      - NOTSET\n",
                "      - FROM_DOTENV\n",
                "      - EMPTYVAL=\n",
                "      - OVERRIDDEN=environment\n",
                "  t:\n",
                "    image: busybox\n",
                "    environment:\n",
                "      SHELLVAR:\n",
                "      NOTSET:\n",
                "      FROM_DOTENV:\n",
            ),
        ),
    ]);
    let cfg = config_in(dir.path(), &[], &[("SHELLVAR", "sh"), ("EF_PASS", "p")]);
    assert_eq!(
        environment(&cfg, "s"),
        &json!({
            "EF1": "one",
            "EF_PASS": "p",
            "EMPTYVAL": "",
            "FROM_DOTENV": "dot",
            "NOTSET": null,
            "OVERRIDDEN": "environment",
            "SHELLVAR": "sh",
        })
    );
    assert_eq!(
        environment(&cfg, "t"),
        &json!({"FROM_DOTENV": "dot", "NOTSET": null, "SHELLVAR": "sh"})
    );
}

#[test]
fn env_file_values_interpolate_from_dotenv_and_shell() {
    let dir = project(&[
        (".env", "FROM_DOTENV=dot\n"),
        ("app.env", "REF=${FROM_DOTENV}x\nSHELLREF=${SHELLVAR}\n"),
        (
            "compose.yml",
            "services:\n  s:\n    image: busybox\n    env_file: app.env\n",
        ),
    ]);
    let cfg = config_in(dir.path(), &[], &[("SHELLVAR", "sh")]);
    assert_eq!(
        environment(&cfg, "s"),
        &json!({"REF": "dotx", "SHELLREF": "sh"})
    );
}

#[test]
fn env_file_not_required_may_be_missing() {
    let dir = project(&[
        ("base.env", "X=1\n"),
        (
            "compose.yml",
            concat!(
                "services:\n",
                "  s:\n",
                "    image: busybox\n",
                "    env_file:\n",
                "      - path: base.env\n",
                "      - path: missing.env\n",
                "        required: false\n",
            ),
        ),
    ]);
    assert_eq!(environment(&config(&dir), "s"), &json!({"X": "1"}));
}

// ----- interpolation -----

#[test]
fn interpolation_defaults_alternatives_and_dollar_escapes() {
    let yaml = concat!(
        "services:\n",
        "  s:\n",
        "    image: busybox\n",
        "    command: sh -c 'echo $$HOME'\n",
        "    environment:\n",
        "      DOLLAR: \"cost $$5 and $${NOT}\"\n",
        "      NEST: ${UNSET_A:-${UNSET_B:-deep}}\n",
        "      EMPTY_COLON: ${EMPTY:-d1}\n",
        "      EMPTY_DASH: ${EMPTY-d2}\n",
        "      UNSET_DASH: ${UNSET_X-d3}\n",
        "      PLUS: ${SET:+alt}\n",
        "      EMPTY_PLUS: ${EMPTY+alt2}\n",
        "      EMPTY_COLON_PLUS: ${EMPTY:+alt3}\n",
        "      MID: x${SET}y$SET\n",
        "      OPTIONAL: ${EMPTY?}\n",
    );
    let dir = project(&[("compose.yml", yaml)]);
    let cfg = config_in(dir.path(), &[], &[("SET", "v"), ("EMPTY", "")]);
    assert_eq!(
        environment(&cfg, "s"),
        &json!({
            "DOLLAR": "cost $5 and ${NOT}",
            "NEST": "deep",
            "EMPTY_COLON": "d1",
            "EMPTY_DASH": "",
            "UNSET_DASH": "d3",
            "PLUS": "alt",
            "EMPTY_PLUS": "alt2",
            "EMPTY_COLON_PLUS": "",
            "MID": "xvyv",
            "OPTIONAL": "",
        })
    );
    assert_eq!(
        service(&cfg, "s")["command"],
        json!(["sh", "-c", "echo $HOME"])
    );
}

#[test]
fn required_variable_errors_carry_the_message() {
    let dir = project(&[(
        "compose.yml",
        "services:\n  s:\n    image: busybox\n    environment:\n      R: ${REQ:?need REQ}\n",
    )]);
    for env in [&[][..], &[("REQ", "")][..]] {
        let err = config_error(dir.path(), &[], env);
        assert!(err.contains("REQ"), "{err}");
        assert!(err.contains("need REQ"), "{err}");
    }
    let cfg = config_in(dir.path(), &[], &[("REQ", "ok")]);
    assert_eq!(environment(&cfg, "s"), &json!({"R": "ok"}));
    // `?` without the colon only refuses an unset variable.
    let dir = project(&[(
        "compose.yml",
        "services:\n  s:\n    image: busybox\n    environment:\n      R: ${REQ?need REQ}\n",
    )]);
    assert!(config_error(dir.path(), &[], &[]).contains("need REQ"));
    let cfg = config_in(dir.path(), &[], &[("REQ", "")]);
    assert_eq!(environment(&cfg, "s"), &json!({"R": ""}));
}

#[test]
fn lone_dollar_is_kept_literally() {
    let dir = project(&[(
        "compose.yml",
        concat!(
            "services:\n",
            "  s:\n",
            "    image: busybox\n",
            "    labels:\n",
            "      rule: \"PathRegexp(`^/api$`)\"\n",
            "    environment:\n",
            "      LONE: \"a $ b\"\n",
            "      TRAIL: \"end$\"\n",
            "      DIGIT: \"$1abc\"\n",
        ),
    )]);
    let cfg = config(&dir);
    assert_eq!(
        environment(&cfg, "s"),
        &json!({"LONE": "a $ b", "TRAIL": "end$", "DIGIT": "$1abc"})
    );
    assert_eq!(
        service(&cfg, "s")["labels"],
        json!({"rule": "PathRegexp(`^/api$`)"})
    );
}

// ----- YAML scalars -----

#[test]
fn yaml_1_1_boolean_words_stay_strings() {
    let dir = project(&[(
        "compose.yml",
        concat!(
            "services:\n",
            "  s:\n",
            "    image: busybox\n",
            "    environment:\n",
            "      A: yes\n",
            "      B: no\n",
            "      C: on\n",
            "      D: off\n",
            "      E: y\n",
            "      N: x\n",
            "      G: True\n",
            "    labels:\n",
            "      y: ylabel\n",
            "      on: onlabel\n",
        ),
    )]);
    let cfg = config(&dir);
    assert_eq!(
        environment(&cfg, "s"),
        &json!({
            "A": "yes",
            "B": "no",
            "C": "on",
            "D": "off",
            "E": "y",
            "N": "x",
            "G": "true",
        })
    );
    assert_eq!(
        service(&cfg, "s")["labels"],
        json!({"y": "ylabel", "on": "onlabel"})
    );
}

#[test]
fn numbers_in_environment_read_as_compose_prints_them() {
    let dir = project(&[(
        "compose.yml",
        concat!(
            "services:\n",
            "  s:\n",
            "    image: busybox\n",
            "    environment:\n",
            "      A: 1.0\n",
            "      B: 1.50\n",
            "      C: 0x1F\n",
            "      D: 1_000\n",
            "      E: 1e3\n",
            "      F: .5\n",
            "      G: 12:30\n",
            "      H: ~\n",
            "      I: 3000\n",
        ),
    )]);
    assert_eq!(
        environment(&config(&dir), "s"),
        &json!({
            "A": "1", "B": "1.5", "C": "31", "D": "1000", "E": "1000", "F": "0.5",
            "G": "12:30", "H": null, "I": "3000",
        })
    );
}

#[test]
fn big_integers_keep_every_digit() {
    let dir = project(&[(
        "compose.yml",
        "services:\n  s:\n    image: busybox\n    environment:\n      CHAT_ID: 12345678901234567890\n",
    )]);
    assert_eq!(
        environment(&config(&dir), "s"),
        &json!({"CHAT_ID": "12345678901234567890"})
    );
}

#[test]
fn anchors_merge_keys_and_version_are_understood() {
    let yaml = concat!(
        "version: \"3.8\"\n",
        "x-env: &env\n",
        "  A: \"1\"\n",
        "  B: \"2\"\n",
        "x-env2: &env2\n",
        "  C: \"3\"\n",
        "  A: from-env2\n",
        "x-common: &common\n",
        "  image: busybox\n",
        "  environment: *env\n",
        "  labels: &lbl\n",
        "    team: core\n",
        "services:\n",
        "  s:\n",
        "    <<: *common\n",
        "    environment:\n",
        "      <<: [*env, *env2]\n",
        "      B: override\n",
        "  t:\n",
        "    <<: *common\n",
        "    image: alpine\n",
        "  u:\n",
        "    <<: [*common]\n",
        "    labels:\n",
        "      <<: *lbl\n",
        "      extra: \"1\"\n",
    );
    let dir = project(&[("compose.yml", yaml)]);
    let cfg = config(&dir);
    // In a `<<: [a, b]` list the first mapping wins a key both hold.
    assert_eq!(
        environment(&cfg, "s"),
        &json!({"A": "1", "B": "override", "C": "3"})
    );
    assert_eq!(service(&cfg, "s")["image"], json!("busybox"));
    assert_eq!(service(&cfg, "t")["image"], json!("alpine"));
    assert_eq!(environment(&cfg, "t"), &json!({"A": "1", "B": "2"}));
    assert_eq!(
        service(&cfg, "u")["labels"],
        json!({"team": "core", "extra": "1"})
    );
    assert_eq!(
        services_listed(dir.path(), &[]),
        vec!["s", "t", "u"],
        "x- keys are not services"
    );
}

// ----- override files -----

const BASE: &str = concat!(
    "services:\n",
    "  s:\n",
    "    image: busybox\n",
    "    command: [\"a\", \"b\"]\n",
    "    volumes: [\"./a:/app\", \"data:/data\"]\n",
    "    environment: [A=1, B=2]\n",
    "    labels: {l1: one}\n",
    "    extra_hosts: [\"h1:1.1.1.1\"]\n",
    "    healthcheck:\n",
    "      test: [\"CMD\", \"a\"]\n",
    "      interval: 10s\n",
    "  t:\n",
    "    image: busybox\n",
    "  u:\n",
    "    image: busybox\n",
    "volumes:\n",
    "  data:\n",
);

const OVERRIDE: &str = concat!(
    "services:\n",
    "  s:\n",
    "    command: c\n",
    "    volumes: [\"./b:/app\"]\n",
    "    environment: {B: three, C: \"4\"}\n",
    "    labels: [l2=two]\n",
    "    extra_hosts: [\"h2:2.2.2.2\"]\n",
    "    healthcheck:\n",
    "      test: [\"CMD\", \"b\"]\n",
);

fn check_merged(cfg: &Value, dir: &Path) {
    let s = service(cfg, "s");
    assert_eq!(s["image"], json!("busybox"));
    assert_eq!(s["command"], json!(["c"]));
    assert_eq!(s["environment"], json!({"A": "1", "B": "three", "C": "4"}));
    assert_eq!(s["labels"], json!({"l1": "one", "l2": "two"}));
    assert_eq!(s["extra_hosts"], json!(["h1:1.1.1.1", "h2:2.2.2.2"]));
    assert_eq!(s["healthcheck"]["test"], json!(["CMD", "b"]));
    assert_eq!(s["healthcheck"]["interval"], json!("10s"));
    let volumes = s["volumes"].as_array().unwrap();
    assert_eq!(volumes.len(), 2, "{volumes:?}");
    assert_eq!(volumes[0]["target"], json!("/app"));
    assert_eq!(
        volumes[0]["source"],
        json!(dir.join("b").display().to_string())
    );
    assert_eq!(volumes[1]["source"], json!("data"));
}

#[test]
fn override_file_next_to_docker_compose_yml_is_merged() {
    let dir = project(&[
        ("docker-compose.yml", BASE),
        ("docker-compose.override.yml", OVERRIDE),
    ]);
    let real = dir.path().canonicalize().unwrap();
    check_merged(&config_in(&real, &[], &[]), &real);
}

#[test]
fn repeated_f_merges_in_order_and_ignores_the_override_file() {
    let dir = project(&[
        ("base.yml", BASE),
        ("sub/over.yml", OVERRIDE),
        (
            "docker-compose.override.yml",
            "services:\n  s:\n    image: never-read\n",
        ),
    ]);
    let real = dir.path().canonicalize().unwrap();
    // Relative paths in the second file resolve against the project directory (the first
    // file's), not against the second file's own directory.
    let cfg = config_in(&real, &["-f", "base.yml", "-f", "sub/over.yml"], &[]);
    check_merged(&cfg, &real);
}

#[test]
fn depends_on_merges_across_files() {
    let dir = project(&[
        (
            "a.yml",
            concat!(
                "services:\n",
                "  s:\n",
                "    image: busybox\n",
                "    depends_on: [t]\n",
                "  r:\n",
                "    image: busybox\n",
                "    depends_on:\n",
                "      t:\n",
                "        condition: service_healthy\n",
                "  t:\n",
                "    image: busybox\n",
                "  u:\n",
                "    image: busybox\n",
            ),
        ),
        (
            "b.yml",
            "services:\n  s:\n    depends_on: [u]\n  r:\n    depends_on: [u]\n",
        ),
    ]);
    let cfg = config_in(dir.path(), &["-f", "a.yml", "-f", "b.yml"], &[]);
    for name in ["s", "r"] {
        let deps = service(&cfg, name)["depends_on"].as_object().unwrap();
        let mut names: Vec<&str> = deps.keys().map(String::as_str).collect();
        names.sort();
        assert_eq!(names, vec!["t", "u"], "service {name}");
    }
    assert_eq!(
        service(&cfg, "r")["depends_on"]["t"]["condition"],
        json!("service_healthy")
    );
}

// ----- project name -----

#[test]
fn project_name_from_flag_env_top_level_name_and_directory() {
    let dir = project(&[(
        "My Proj.Name_1/compose.yml",
        "services:\n  s:\n    image: busybox\n",
    )]);
    let sub = dir.path().join("My Proj.Name_1");
    assert_eq!(config_in(&sub, &[], &[])["name"], json!("myprojname_1"));
    write_files(
        &sub,
        &[(
            "compose.yml",
            "name: Top-Name\nservices:\n  s:\n    image: busybox\n",
        )],
    );
    assert_eq!(config_in(&sub, &[], &[])["name"], json!("top-name"));
    assert_eq!(
        config_in(&sub, &[], &[("DEVENV_PROJECT_NAME", "fromenv")])["name"],
        json!("fromenv")
    );
    assert_eq!(
        config_in(&sub, &["-p", "flag"], &[("DEVENV_PROJECT_NAME", "fromenv")])["name"],
        json!("flag")
    );
}

#[test]
fn compose_project_name_is_honored() {
    let dir = project(&[(
        "compose.yml",
        "name: top\nservices:\n  s:\n    image: busybox\n",
    )]);
    assert_eq!(
        config_in(dir.path(), &[], &[("COMPOSE_PROJECT_NAME", "fromenv")])["name"],
        json!("fromenv")
    );
    write_files(dir.path(), &[(".env", "COMPOSE_PROJECT_NAME=fromdotenv\n")]);
    assert_eq!(config(&dir)["name"], json!("fromdotenv"));
}

#[test]
fn compose_file_variable_selects_the_files() {
    let dir = project(&[
        ("base.yml", "services:\n  s:\n    image: busybox\n"),
        ("extra.yml", "services:\n  s:\n    image: alpine\n"),
    ]);
    let cfg = config_in(dir.path(), &[], &[("COMPOSE_FILE", "base.yml:extra.yml")]);
    assert_eq!(service(&cfg, "s")["image"], json!("alpine"));
    write_files(dir.path(), &[(".env", "COMPOSE_FILE=base.yml:extra.yml\n")]);
    assert_eq!(service(&config(&dir), "s")["image"], json!("alpine"));
}

// ----- profiles -----

const PROFILES: &str = concat!(
    "services:\n",
    "  web:\n",
    "    image: busybox\n",
    "  debug:\n",
    "    image: busybox\n",
    "    profiles: [debug]\n",
    "  tools:\n",
    "    image: busybox\n",
    "    profiles: [tools, debug]\n",
);

#[test]
fn services_with_inactive_profiles_are_left_out() {
    let dir = project(&[("compose.yml", PROFILES)]);
    assert_eq!(services_listed(dir.path(), &[]), vec!["web"]);
    assert_eq!(
        services_listed(dir.path(), &[("COMPOSE_PROFILES", "tools")]),
        vec!["tools", "web"]
    );
    assert_eq!(
        services_listed(dir.path(), &[("DEVENV_PROFILES", "tools")]),
        vec!["tools", "web"]
    );
    assert!(config(&dir)["services"].get("debug").is_none());
}

#[test]
fn compose_profiles_from_dotenv() {
    let yaml = format!("{PROFILES}  other:\n    image: busybox\n    profiles: [other]\n");
    let dir = project(&[
        ("compose.yml", yaml.as_str()),
        (".env", "COMPOSE_PROFILES=debug\n"),
    ]);
    assert_eq!(
        services_listed(dir.path(), &[]),
        vec!["debug", "tools", "web"]
    );
    let cfg = config(&dir);
    assert!(cfg["services"].get("debug").is_some());
    assert!(cfg["services"].get("other").is_none());
}

// ----- service fields -----

#[test]
fn ports_short_and_long_syntax() {
    let yaml = concat!(
        "services:\n",
        "  s:\n",
        "    image: busybox\n",
        "    ports:\n",
        "      - \"8000-8001:9000-9001\"\n",
        "      - \"127.0.0.1:5353:53/udp\"\n",
        "      - \"3000\"\n",
        "      - 4000:4000\n",
        "      - \"[::1]:6000:6000\"\n",
        "      - target: 80\n",
        "        published: \"8080\"\n",
        "        host_ip: 0.0.0.0\n",
        "        mode: host\n",
        "        protocol: tcp\n",
    );
    let dir = project(&[("compose.yml", yaml)]);
    let cfg = config(&dir);
    let ports = service(&cfg, "s")["ports"].as_array().unwrap();
    let got: Vec<(Option<&str>, u64, Option<&str>, &str)> = ports
        .iter()
        .map(|p| {
            (
                p["host_ip"].as_str(),
                p["target"].as_u64().unwrap(),
                p["published"].as_str(),
                p["protocol"].as_str().unwrap(),
            )
        })
        .collect();
    // No host address means "devenv's default" (127.0.0.1, a documented difference), so only
    // the ports that name one carry it.
    assert_eq!(
        got,
        vec![
            (None, 9000, Some("8000"), "tcp"),
            (None, 9001, Some("8001"), "tcp"),
            (Some("127.0.0.1"), 53, Some("5353"), "udp"),
            (None, 3000, None, "tcp"),
            (None, 4000, Some("4000"), "tcp"),
            (Some("::1"), 6000, Some("6000"), "tcp"),
            (Some("0.0.0.0"), 80, Some("8080"), "tcp"),
        ]
    );
}

#[test]
fn volumes_short_syntax_variants() {
    let yaml = concat!(
        "services:\n",
        "  s:\n",
        "    image: busybox\n",
        "    volumes:\n",
        "      - ~/x:/y\n",
        "      - ./x:/x:ro,z\n",
        "      - ../up:/up:rw\n",
        "      - data:/data:nocopy\n",
        "      - /anon\n",
        "volumes:\n",
        "  data:\n",
    );
    let dir = project(&[("p/compose.yml", yaml)]);
    let real = dir.path().canonicalize().unwrap();
    let p = real.join("p");
    let cfg = config_in(&p, &[], &[("HOME", "/home/someone")]);
    let v = &service(&cfg, "s")["volumes"];
    let get = |i: usize, k: &str| v[i][k].clone();
    assert_eq!(get(0, "type"), json!("bind"));
    assert_eq!(get(0, "source"), json!("/home/someone/x"));
    assert_eq!(get(0, "target"), json!("/y"));
    assert_eq!(get(1, "type"), json!("bind"));
    assert_eq!(get(1, "source"), json!(p.join("x").display().to_string()));
    assert_eq!(get(1, "read_only"), json!(true));
    assert_eq!(
        get(2, "source"),
        json!(real.join("up").display().to_string())
    );
    assert_ne!(get(2, "read_only"), json!(true));
    assert_eq!(get(3, "type"), json!("volume"));
    assert_eq!(get(3, "source"), json!("data"));
    assert_eq!(get(3, "nocopy"), json!(true));
    assert_eq!(get(4, "type"), json!("volume"));
    assert_eq!(get(4, "target"), json!("/anon"));
    assert!(v[4].get("source").is_none_or(Value::is_null));
    assert_eq!(
        cfg["volumes"]["data"]["name"],
        json!(format!("{}_data", cfg["name"].as_str().unwrap()))
    );
}

#[test]
fn extra_hosts_list_and_map_with_host_gateway() {
    let yaml = concat!(
        "services:\n",
        "  s:\n",
        "    image: busybox\n",
        "    extra_hosts:\n",
        "      - \"somehost:162.242.195.82\"\n",
        "      - \"host.docker.internal:host-gateway\"\n",
        "      - \"eqhost=10.0.0.1\"\n",
        "  w:\n",
        "    image: busybox\n",
        "    extra_hosts:\n",
        "      a.example: 1.2.3.4\n",
        "      b.example: host-gateway\n",
    );
    let dir = project(&[("compose.yml", yaml)]);
    let cfg = config(&dir);
    assert_eq!(
        service(&cfg, "s")["extra_hosts"],
        json!([
            "somehost:162.242.195.82",
            "host.docker.internal:host-gateway",
            "eqhost:10.0.0.1"
        ])
    );
    assert_eq!(
        service(&cfg, "w")["extra_hosts"],
        json!(["a.example:1.2.3.4", "b.example:host-gateway"])
    );
}

#[test]
fn depends_on_long_form_and_unknown_services() {
    let yaml = concat!(
        "services:\n",
        "  s:\n",
        "    image: busybox\n",
        "    depends_on:\n",
        "      t:\n",
        "        condition: service_healthy\n",
        "        required: false\n",
        "      u:\n",
        "        condition: service_completed_successfully\n",
        "  t:\n",
        "    image: busybox\n",
        "  u:\n",
        "    image: busybox\n",
    );
    let dir = project(&[("compose.yml", yaml)]);
    let cfg = config(&dir);
    let deps = &service(&cfg, "s")["depends_on"];
    assert_eq!(deps["t"]["condition"], json!("service_healthy"));
    assert_eq!(deps["t"]["required"], json!(false));
    assert_eq!(
        deps["u"]["condition"],
        json!("service_completed_successfully")
    );
    assert_eq!(deps["u"]["required"], json!(true));
    // compose refuses a dependency on an undefined service even with `required: false`.
    let dir = project(&[(
        "compose.yml",
        "services:\n  s:\n    image: busybox\n    depends_on:\n      ghost:\n        required: false\n",
    )]);
    assert!(config_error(dir.path(), &[], &[]).contains("ghost"));
}

#[test]
fn command_strings_split_like_a_shell_and_lists_stay() {
    let yaml = concat!(
        "services:\n",
        "  a:\n",
        "    image: busybox\n",
        "    command: echo \"a\\\"b\" 'c d' e\\ f ''\n",
        "  b:\n",
        "    image: busybox\n",
        "    command: 'sh -c \"echo one; echo two\" # not a comment'\n",
        "  c:\n",
        "    image: busybox\n",
        "    command: [\"echo\", \"a b\", \"$$x\"]\n",
        "    entrypoint: \"\"\n",
        "  d:\n",
        "    image: busybox\n",
        "    command: []\n",
        "    entrypoint: /bin/sh -c\n",
    );
    let dir = project(&[("compose.yml", yaml)]);
    let cfg = config(&dir);
    assert_eq!(
        service(&cfg, "a")["command"],
        json!(["echo", "a\"b", "c d", "e f", ""])
    );
    assert_eq!(
        service(&cfg, "b")["command"],
        json!(["sh", "-c", "echo one; echo two", "#", "not", "a", "comment"])
    );
    assert_eq!(service(&cfg, "c")["command"], json!(["echo", "a b", "$x"]));
    assert_eq!(service(&cfg, "c")["entrypoint"], json!([]));
    assert_eq!(service(&cfg, "d")["command"], json!([]));
    assert_eq!(service(&cfg, "d")["entrypoint"], json!(["/bin/sh", "-c"]));
}

/// A duration as devenv prints it, in milliseconds.
fn millis(v: &Value) -> u64 {
    let text = v.as_str().unwrap_or_else(|| panic!("not a duration: {v}"));
    let mut total = 0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap();
        let num: f64 = rest[..n].parse().unwrap();
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..u] {
            "ms" => 1.0,
            "s" => 1e3,
            "m" => 60e3,
            "h" => 3600e3,
            other => panic!("unit {other} in {text}"),
        };
        rest = &rest[u..];
        total += num * unit;
    }
    total.round() as u64
}

#[test]
fn healthcheck_forms_and_durations() {
    let yaml = concat!(
        "services:\n",
        "  s:\n",
        "    image: busybox\n",
        "    stop_grace_period: 1m30s\n",
        "    healthcheck:\n",
        "      test: curl -f http://localhost\n",
        "      interval: 1m30s\n",
        "      timeout: 500ms\n",
        "      start_period: 1h2m3.5s\n",
        "      retries: 3\n",
        "  t:\n",
        "    image: busybox\n",
        "    healthcheck:\n",
        "      test: [\"CMD\", \"true\"]\n",
        "  u:\n",
        "    image: busybox\n",
        "    healthcheck:\n",
        "      test: [\"NONE\"]\n",
        "  v:\n",
        "    image: busybox\n",
        "    healthcheck:\n",
        "      disable: true\n",
        "  w:\n",
        "    image: busybox\n",
        "    healthcheck:\n",
        "      test: [\"CMD-SHELL\", \"exit 0\"]\n",
    );
    let dir = project(&[("compose.yml", yaml)]);
    let cfg = config(&dir);
    let h = &service(&cfg, "s")["healthcheck"];
    assert_eq!(h["test"], json!(["CMD-SHELL", "curl -f http://localhost"]));
    assert_eq!(millis(&h["interval"]), 90_000);
    assert_eq!(millis(&h["timeout"]), 500);
    assert_eq!(millis(&h["start_period"]), 3_723_500);
    assert_eq!(h["retries"], json!(3));
    assert_eq!(millis(&service(&cfg, "s")["stop_grace_period"]), 90_000);
    assert_eq!(
        service(&cfg, "t")["healthcheck"]["test"],
        json!(["CMD", "true"])
    );
    assert_eq!(service(&cfg, "u")["healthcheck"]["test"], json!(["NONE"]));
    // `disable: true` means no healthcheck: compose keeps `disable`, devenv says NONE.
    let v = &service(&cfg, "v")["healthcheck"];
    assert!(
        v["disable"] == json!(true) || v["test"] == json!(["NONE"]),
        "{v}"
    );
    assert_eq!(
        service(&cfg, "w")["healthcheck"]["test"],
        json!(["CMD-SHELL", "exit 0"])
    );
}
