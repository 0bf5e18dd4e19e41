//! Black-box tests of the built binary: arguments in, stdout, stderr and exit code out.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Every command `--help` lists, in its order.
const BUILT_COMMANDS: &[&str] = &[
    "init",
    "up",
    "down",
    "run",
    "exec",
    "watch",
    "ps",
    "logs",
    "build",
    "pull",
    "stop",
    "start",
    "restart",
    "config",
    "completions",
];

fn devenv(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_devenv"))
        .args(args)
        .current_dir(dir)
        .env_remove("DEVENV_PROJECT_NAME")
        .output()
        .expect("devenv runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn project(yaml: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("cli").tempdir().unwrap();
    std::fs::write(dir.path().join("dev.yml"), yaml).unwrap();
    dir
}

#[test]
fn version_prints_name_and_version() {
    let out = devenv(Path::new("."), &["--version"]);
    assert!(out.status.success());
    assert_eq!(
        text(&out.stdout),
        format!("devenv {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn help_lists_only_built_commands() {
    let out = devenv(Path::new("."), &["--help"]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    let commands: Vec<&str> = help
        .split("Commands:\n")
        .nth(1)
        .unwrap()
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let mut want = BUILT_COMMANDS.to_vec();
    want.push("help");
    assert_eq!(commands, want);
    assert!(help.contains("Examples:"));
}

#[test]
fn every_command_has_an_example() {
    for cmd in BUILT_COMMANDS {
        let out = devenv(Path::new("."), &[cmd, "--help"]);
        assert!(text(&out.stdout).contains("Examples:\n  devenv "), "{cmd}");
    }
}

#[test]
fn config_error_exits_2_with_location_and_nothing_on_stdout() {
    let dir = project("services:\n  web:\n    image: a\n    volume: []\n");
    let out = devenv(dir.path(), &["config"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stdout), "");
    assert_eq!(
        text(&out.stderr),
        "error: unknown key `volume` in service `web`\n --> dev.yml:4:5\n  |\n4 |     volume: []\n  |     ^^^^^^\n  = hint: did you mean `volumes`?\n"
    );
}

#[test]
fn missing_config_exits_2_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let out = devenv(dir.path(), &["config"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.starts_with("error: no config file found in "), "{err}");
    assert!(
        err.contains("hint: devenv looks for dev.yml, compose.yaml"),
        "{err}"
    );
}

#[test]
fn usage_error_exits_2() {
    let out = devenv(Path::new("."), &["config", "--format", "toml"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn config_prints_resolved_yaml_and_json() {
    let dir = project(
        "name: demo\nservices:\n  web:\n    image: busybox\n    command: sleep 60\n    ports: ['3000:3000']\n    volumes: ['./src:/app', 'data:/data']\nvolumes:\n  data: {}\n",
    );
    let out = devenv(dir.path(), &["config", "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let web = &v["services"]["web"];
    assert_eq!(v["name"], "demo");
    assert_eq!(web["command"], serde_json::json!(["sleep", "60"]));
    assert_eq!(
        web["ports"][0],
        serde_json::json!({"target": 3000, "published": "3000", "protocol": "tcp"})
    );
    let src = dir.path().join("src").display().to_string();
    assert_eq!(
        web["volumes"][0],
        serde_json::json!({"type": "bind", "source": src, "target": "/app"})
    );
    assert_eq!(v["volumes"]["data"]["name"], "demo_data");
    let yaml = devenv(dir.path(), &["config"]);
    // Numbers that are strings stay quoted, so the output reloads to the same config.
    assert!(
        text(&yaml.stdout).contains("    command:\n    - sleep\n    - \"60\"\n"),
        "{}",
        text(&yaml.stdout)
    );
}

#[test]
fn services_in_dependency_order_and_volumes() {
    let dir = project(
        "services:\n  web: {image: a, depends_on: [db, cache]}\n  db: {image: a}\n  cache: {image: a}\n  worker: {image: a, depends_on: {web: {condition: service_started}}}\nvolumes: {gems: {}, data: {}}\n",
    );
    let out = devenv(dir.path(), &["config", "--services"]);
    assert_eq!(text(&out.stdout), "cache\ndb\nweb\nworker\n");
    let out = devenv(dir.path(), &["config", "--volumes"]);
    assert_eq!(text(&out.stdout), "data\ngems\n");
}

#[test]
fn hash_is_stable_across_layout_and_changes_with_the_container() {
    let hash = |yaml: &str| {
        let dir = project(yaml);
        let out = devenv(dir.path(), &["-p", "same", "config", "--hash", "web"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let base = hash(
        "services:\n  web:\n    image: a\n    environment: {A: '1', B: '2'}\n    ports: ['3000:3000']\n",
    );
    assert!(
        base.starts_with("web ") && base.len() == "web ".len() + 64 + 1,
        "{base}"
    );
    assert_eq!(
        base,
        hash(
            "services:\n  web:\n    ports: [\"3000:3000\"]\n    environment:\n      B: '2'\n      A: '1'\n    image: a\n"
        )
    );
    assert_eq!(
        base,
        hash(
            "x-env: &env {A: '1', B: '2'}\nservices:\n  web: {image: a, environment: *env, ports: [{target: 3000, published: '3000'}]}\n"
        )
    );
    assert_eq!(
        base,
        hash(
            "services:\n  web:\n    image: a\n    environment: [A=1, B=2]\n    ports: ['3000:3000']\n    depends_on: [db]\n    profiles: [x]\n    build: .\n  db: {image: b}\n"
        )
    );
    assert_ne!(
        base,
        hash(
            "services:\n  web:\n    image: a\n    environment: {A: '1', B: '3'}\n    ports: ['3000:3000']\n"
        )
    );
    assert_ne!(
        base,
        hash(
            "services:\n  web:\n    image: a\n    environment: {A: '1', B: '2'}\n    ports: ['3001:3000']\n"
        )
    );
}

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let out = devenv(Path::new("."), &["completions", shell]);
        assert!(out.status.success());
        assert!(text(&out.stdout).contains("devenv"), "{shell}");
        assert!(text(&out.stdout).contains("config"), "{shell}");
    }
}

/// The seed's compose file, loaded unchanged: puma gets its 11 bind mounts plus the gems volume.
#[test]
fn seed_compose_file_loads_unchanged() {
    let candidates = [
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/seed/amakan"),
        PathBuf::from("/work/shared/seed/amakan"),
    ];
    let Some(seed) = candidates
        .iter()
        .find(|p| p.join("docker-compose.yml").is_file())
    else {
        panic!("the seed (../shared/seed/amakan/docker-compose.yml) is missing");
    };
    let out = devenv(seed, &["config", "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let volumes = v["services"]["puma"]["volumes"].as_array().unwrap();
    let binds = volumes.iter().filter(|m| m["type"] == "bind").count();
    let named: Vec<&serde_json::Value> = volumes.iter().filter(|m| m["type"] == "volume").collect();
    assert_eq!(binds, 11);
    assert_eq!(named.len(), 1);
    assert_eq!(named[0]["source"], "bundle");
    assert_eq!(named[0]["target"], "/bundle");
    assert_eq!(v["volumes"]["bundle"]["name"], "amakan_bundle");
}
