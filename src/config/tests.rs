//! Table-driven tests of loading: one per rule, with the full rendered text asserted.

use std::collections::HashMap;
use std::path::Path;

use super::*;

/// Writes `files` into a fresh directory named `proj` and loads from there.
fn load_files(
    files: &[(&str, &str)],
    env: &[(&str, &str)],
    flags: &[&str],
) -> (Result<Loaded, LoadError>, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("proj");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let opts = LoadOptions {
        files: flags.iter().map(PathBuf::from).collect(),
        project_name: None,
        env_file: None,
        cwd: dir.clone(),
        env: env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<HashMap<_, _>>(),
    };
    (load(&opts), tmp)
}

fn errors_of(yaml: &str) -> String {
    let (result, tmp) = load_files(&[("dev.yml", yaml)], &[], &[]);
    match result {
        Ok(_) => panic!("expected errors for:\n{yaml}"),
        Err(e) => e.render(&tmp.path().join("proj")),
    }
}

fn ok(yaml: &str) -> Loaded {
    let (result, tmp) = load_files(&[("dev.yml", yaml)], &[], &[]);
    result.unwrap_or_else(|e| panic!("{}", e.render(&tmp.path().join("proj"))))
}

#[test]
fn error_rules() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "unknown key with did-you-mean",
            "services:\n  web:\n    image: a\n    volume: []\n",
            "error: unknown key `volume` in service `web`\n --> dev.yml:4:5\n  |\n4 |     volume: []\n  |     ^^^^^^\n  = hint: did you mean `volumes`?\n",
        ),
        (
            "unknown top-level key",
            "services:\n  web: {image: a}\nservice: {}\n",
            "error: unknown key `service` in the top level\n --> dev.yml:3:1\n  |\n3 | service: {}\n  | ^^^^^^^\n  = hint: did you mean `services`?\n",
        ),
        (
            "watch glob outside the project",
            "services:\n  web: {image: a}\nwatch:\n  - paths: [src/**, ../shared/**]\n    actions: [{restart: [web]}]\n",
            "error: `paths` of watch rule 1: `../shared/**` is outside the project directory\n --> dev.yml:4:21\n  |\n4 |   - paths: [src/**, ../shared/**]\n  |                     ^^^^^^^^^^^^\n  = hint: write globs relative to the directory of the first config file, without `..`\n",
        ),
        (
            "develop.watch path outside the project",
            "services:\n  web:\n    image: a\n    develop:\n      watch:\n        - {path: ../lib, action: restart}\n",
            "error: `path` of `develop.watch` entry 1 of service `web` is outside the project directory\n --> dev.yml:6:18\n  |\n6 |         - {path: ../lib, action: restart}\n  |                  ^^^^^^\n  = hint: a watched path must be inside the directory of the first config file\n",
        ),
        (
            "unknown service in depends_on",
            "services:\n  web:\n    image: a\n    depends_on: [dbb]\n  db:\n    image: b\n",
            "error: `depends_on` of service `web` names unknown service `dbb`\n --> dev.yml:4:18\n  |\n4 |     depends_on: [dbb]\n  |                  ^^^\n  = hint: did you mean `db`?\n",
        ),
        (
            "dependency cycle names the whole cycle",
            "services:\n  alpha: {image: a, depends_on: [beta]}\n  beta: {image: a, depends_on: [gamma]}\n  gamma: {image: a, depends_on: [alpha]}\n",
            "error: dependency cycle: alpha → beta → gamma → alpha\n --> dev.yml:2:34\n  |\n2 |   alpha: {image: a, depends_on: [beta]}\n  |                                  ^^^^\n  = hint: remove one of these `depends_on` entries\n",
        ),
        (
            "self dependency",
            "services:\n  web: {image: a, depends_on: [web]}\n",
            "error: service `web` depends on itself\n --> dev.yml:2:32\n  |\n2 |   web: {image: a, depends_on: [web]}\n  |                                ^^^\n",
        ),
        (
            "port not a number",
            "services:\n  web: {image: a, ports: ['80:http']}\n",
            "error: port `80:http` of service `web` is invalid: container port `http` is not a number\n --> dev.yml:2:27\n  |\n2 |   web: {image: a, ports: ['80:http']}\n  |                           ^^^^^^^^^\n  = hint: write `[ip:]host:container[/protocol]`, such as `127.0.0.1:3000:3000`\n",
        ),
        (
            "port out of range",
            "services:\n  web:\n    image: a\n    ports:\n      - 70000:80\n",
            "error: port `70000:80` of service `web` is invalid: host port 70000 is out of range; ports are 1-65535\n --> dev.yml:5:9\n  |\n5 |       - 70000:80\n  |         ^^^^^^^^\n  = hint: write `[ip:]host:container[/protocol]`, such as `127.0.0.1:3000:3000`\n",
        ),
        (
            "bad protocol",
            "services:\n  web:\n    image: a\n    ports: [\"53:53/icmp\"]\n",
            "error: port `53:53/icmp` of service `web` is invalid: protocol `icmp` is not one of tcp, udp, sctp\n --> dev.yml:4:13\n  |\n4 |     ports: [\"53:53/icmp\"]\n  |             ^^^^^^^^^^^^\n  = hint: write `[ip:]host:container[/protocol]`, such as `127.0.0.1:3000:3000`\n",
        ),
        (
            "host port published twice",
            "services:\n  a: {image: a, ports: ['3000:3000']}\n  b: {image: a, ports: ['3000:80']}\n",
            "error: host port 127.0.0.1:3000/tcp is published twice (by service `a` and by service `b`)\n --> dev.yml:3:25\n  |\n3 |   b: {image: a, ports: ['3000:80']}\n  |                         ^^^^^^^^^\n  = hint: publish each host port once, or pick another host port\n",
        ),
        (
            "malformed volume",
            "services:\n  web: {image: a, volumes: ['./a:/b:c:d']}\n",
            "error: volume `./a:/b:c:d` of service `web` is not `source:target[:mode]`\n --> dev.yml:2:29\n  |\n2 |   web: {image: a, volumes: ['./a:/b:c:d']}\n  |                             ^^^^^^^^^^^^\n  = hint: write `./host/path:/container/path[:ro]`, `name:/path` or `/path`\n",
        ),
        (
            "unknown named volume",
            "services:\n  web: {image: a, volumes: ['bundel:/bundle']}\nvolumes:\n  bundle: {}\n",
            "error: service `web` mounts unknown named volume `bundel`\n --> dev.yml:2:29\n  |\n2 |   web: {image: a, volumes: ['bundel:/bundle']}\n  |                             ^^^^^^^^^^^^^^^^\n  = hint: did you mean `bundle`?\n",
        ),
        (
            "empty volume target",
            "services:\n  web:\n    image: a\n    volumes:\n      - type: bind\n        source: ./a\n        target: ''\n",
            "error: a volume of service `web` has an empty target\n --> dev.yml:7:17\n  |\n7 |         target: ''\n  |                 ^^\n",
        ),
        (
            "build context missing",
            "services:\n  web:\n    build: ./nowhere\n",
            "error: build context `./nowhere` of service `web` does not exist\n --> dev.yml:3:12\n  |\n3 |     build: ./nowhere\n  |            ^^^^^^^^^\n  = hint: expected a directory at <dir>/nowhere\n",
        ),
        (
            "neither image nor build",
            "services:\n  web:\n    command: x\n",
            "error: service `web` has neither `image` nor `build`\n --> dev.yml:2:3\n  |\n2 |   web:\n  |   ^^^\n  = hint: add `image: <name>` or `build: <dir>`\n",
        ),
        (
            "malformed duration",
            "services:\n  web:\n    image: a\n    healthcheck:\n      test: true\n      interval: soon\n",
            "error: `healthcheck.interval` of service `web`: `soon` is not a duration; write a number with a unit, such as `30s`, `1m30s` or `500ms`\n --> dev.yml:6:17\n  |\n6 |       interval: soon\n  |                 ^^^^\n",
        ),
        (
            "non-scalar environment value",
            "services:\n  web:\n    image: a\n    environment:\n      A: [1, 2]\n",
            "error: `environment` of service `web`: `A` must be a string, number or boolean, found a list\n --> dev.yml:5:10\n  |\n5 |       A: [1, 2]\n  |          ^\n  = hint: quote the value, or write it on one line\n",
        ),
        (
            "required interpolation unset",
            "services:\n  web:\n    image: \"app:${TAG:?set TAG to the release}\"\n",
            "error: cannot interpolate `app:${TAG:?set TAG to the release}`: required variable `TAG` is unset or empty: set TAG to the release\n --> dev.yml:3:17\n  |\n3 |     image: \"app:${TAG:?set TAG to the release}\"\n  |                 ^\n  = hint: set the variable in the environment or in .env; write `$$` for a literal `$`\n",
        ),
        (
            "empty file",
            "",
            "error: the config is empty\n --> dev.yml:1:1\n  = hint: define at least one service under `services:`\n",
        ),
        (
            "tabs are a YAML error with a position",
            "services:\n\tweb:\n",
            "TABS",
        ),
        (
            "unknown watch action",
            "services:\n  node: {image: a}\nwatch:\n  - paths: ['app/**']\n    actions:\n      - exek: {service: node, command: make}\n",
            "error: unknown action `exek` in watch rule 1\n --> dev.yml:6:9\n  |\n6 |       - exek: {service: node, command: make}\n  |         ^^^^\n  = hint: did you mean `exec`?\n",
        ),
        (
            "watch action names unknown service",
            "services:\n  node: {image: a}\nwatch:\n  - paths: ['app/**']\n    actions:\n      - restart: [nod]\n",
            "error: `restart` action of watch rule 1 names unknown service `nod`\n --> dev.yml:6:19\n  |\n6 |       - restart: [nod]\n  |                   ^^^\n  = hint: did you mean `node`?\n",
        ),
    ];
    let mut failures = Vec::new();
    for (name, yaml, want) in cases {
        let got = errors_of(yaml);
        if *want == "TABS" {
            assert!(
                got.starts_with("error: invalid YAML:") && got.contains("dev.yml:2:"),
                "{name}: {got}"
            );
            continue;
        }
        let got = regex_free_dir(&got);
        if got != *want {
            failures.push(format!("{name}:\n--- got\n{got}--- want\n{want}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Replaces the temp project directory in a hint with `<dir>`.
fn regex_free_dir(text: &str) -> String {
    match text.find("expected a directory at ") {
        Some(at) => {
            let start = at + "expected a directory at ".len();
            let end = text[start..].find("/nowhere").map_or(start, |e| start + e);
            format!("{}<dir>{}", &text[..start], &text[end..])
        }
        None => text.to_owned(),
    }
}

#[test]
fn all_errors_are_reported_together() {
    let got = errors_of(
        "services:\n  a: {image: a, volume: []}\n  b: {image: a, depends_on: [c]}\n  d: {}\n",
    );
    assert_eq!(got.matches("error:").count(), 3, "{got}");
}

#[test]
fn past_a_screenful_errors_are_counted_not_shown() {
    let mut text = String::from("services:\n  web:\n    image: a\n");
    for i in 0..SHOWN_ERRORS + 7 {
        text.push_str(&format!("    bogus{i}: 1\n"));
    }
    let got = errors_of(&text);
    assert_eq!(
        got.matches("error: unknown key").count(),
        SHOWN_ERRORS,
        "{got}"
    );
    assert!(
        got.ends_with("error: 7 more errors not shown; fix the ones above first\n"),
        "{got}"
    );
}

#[test]
fn known_unimplemented_keys_warn_with_their_line() {
    let loaded = ok(
        "version: '3.8'\nservices:\n  web:\n    image: a\n    deploy: {replicas: 2}\nsecrets: {}\n",
    );
    let cwd = Path::new("/");
    let warnings: Vec<String> = loaded
        .warnings
        .iter()
        .map(|w| loaded.sources.render(w, cwd))
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].starts_with(
            "warning: `secrets` in the top level is not supported by devenv and is ignored\n"
        ),
        "{}",
        warnings[0]
    );
    assert!(
        warnings[1].starts_with(
            "warning: `deploy` in service `web` is not supported by devenv and is ignored\n"
        ),
        "{}",
        warnings[1]
    );
    assert!(warnings[1].contains("dev.yml:5:5"), "{}", warnings[1]);
}

#[test]
fn extensions_anchors_and_merge_keys() {
    let loaded = ok(
        "x-app: &app\n  image: rails\n  environment: {RAILS_ENV: development}\nservices:\n  puma:\n    <<: *app\n    command: puma\n  sidekiq:\n    <<: *app\n    command: sidekiq\n",
    );
    let p = &loaded.project;
    assert_eq!(p.services["puma"].image.as_deref(), Some("rails"));
    assert_eq!(
        p.services["sidekiq"].environment["RAILS_ENV"].as_deref(),
        Some("development")
    );
    assert_eq!(
        p.services["sidekiq"].command,
        Some(vec!["sidekiq".to_owned()])
    );
}

#[test]
fn billion_laughs_is_refused_quickly() {
    let mut yaml = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let prev = format!("*a{}", i - 1);
        yaml += &format!("a{i}: &a{i} [{}]\n", vec![prev; 10].join(", "));
    }
    yaml += "services:\n  web: {image: a}\n";
    let got = errors_of(&yaml);
    assert!(
        got.starts_with("error: invalid YAML: aliases expand to too much data (an alias bomb?)"),
        "{got}"
    );
}

#[test]
fn binary_garbage_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("dev.yml"), [0xff, 0xfe, 0x00, 0x12, 0x80]).unwrap();
    let opts = LoadOptions {
        cwd: tmp.path().to_owned(),
        ..LoadOptions::default()
    };
    let e = load(&opts).unwrap_err();
    assert_eq!(
        e.render(tmp.path()).lines().next().unwrap(),
        format!(
            "error: {} is not UTF-8 text",
            tmp.path().join("dev.yml").display()
        )
    );
}

#[test]
fn interpolation_uses_dotenv_and_the_process_env_wins() {
    let (r, _tmp) = load_files(
        &[
            (".env", "TAG=from-dotenv\nPORT=4000\n"),
            (
                "dev.yml",
                "services:\n  web:\n    image: app:${TAG}\n    ports: ['${PORT}:3000']\n    environment: [COST=$$5]\n",
            ),
        ],
        &[("TAG", "from-shell")],
        &[],
    );
    let p = r.unwrap().project;
    let web = &p.services["web"];
    assert_eq!(web.image.as_deref(), Some("app:from-shell"));
    assert_eq!(web.ports[0].published.as_deref(), Some("4000"));
    assert_eq!(web.environment["COST"].as_deref(), Some("$5"));
}

#[test]
fn discovery_walks_up_and_loads_the_override() {
    let (r, tmp) = load_files(
        &[
            (
                "docker-compose.yml",
                "services:\n  web: {image: a, environment: {A: '1', B: '2'}}\n",
            ),
            (
                "docker-compose.override.yml",
                "services:\n  web: {environment: {B: three}}\n",
            ),
            ("sub/dir/keep", ""),
        ],
        &[],
        &[],
    );
    let p = r.unwrap().project;
    assert_eq!(p.services["web"].environment["B"].as_deref(), Some("three"));
    // From a subdirectory, the same project is found.
    let opts = LoadOptions {
        cwd: tmp.path().join("proj/sub/dir"),
        ..LoadOptions::default()
    };
    let p2 = load(&opts).unwrap().project;
    assert_eq!(p2.name, "proj");
    assert_eq!(p2.files.len(), 2);
}

#[test]
fn dev_yml_comes_first() {
    let (r, _tmp) = load_files(
        &[
            ("dev.yml", "services:\n  a: {image: a}\n"),
            ("docker-compose.yml", "services:\n  b: {image: b}\n"),
        ],
        &[],
        &[],
    );
    let p = r.unwrap().project;
    assert!(p.services.contains_key("a") && !p.services.contains_key("b"));
}

#[test]
fn repeated_files_merge_in_order() {
    let (r, _tmp) = load_files(
        &[
            (
                "base.yml",
                "services:\n  web:\n    image: a\n    command: [one, two]\n    ports: ['3000:3000']\n    volumes: ['./a:/app']\n",
            ),
            (
                "over.yml",
                "services:\n  web:\n    command: [three]\n    ports: ['4000:3000']\n    volumes: ['./b:/app']\n",
            ),
        ],
        &[],
        &["base.yml", "over.yml"],
    );
    let p = r.unwrap().project;
    let web = &p.services["web"];
    assert_eq!(web.command, Some(vec!["three".to_owned()]));
    assert_eq!(web.ports.len(), 1);
    assert_eq!(web.ports[0].published.as_deref(), Some("4000"));
    assert_eq!(web.volumes.len(), 1);
    assert!(
        web.volumes[0]
            .source
            .as_deref()
            .unwrap()
            .ends_with("/proj/b")
    );
}

#[test]
fn project_name_precedence_and_sanitizing() {
    assert_eq!(sanitize_project_name("My App.v2!"), "myappv2");
    assert_eq!(sanitize_project_name("_x-Y_"), "x-y_");
    let yaml = "name: From-File\nservices:\n  web: {image: a}\n";
    let (r, _t) = load_files(&[("dev.yml", yaml)], &[], &[]);
    assert_eq!(r.unwrap().project.name, "from-file");
    let (r, _t) = load_files(
        &[("dev.yml", yaml)],
        &[("DEVENV_PROJECT_NAME", "FromEnv")],
        &[],
    );
    assert_eq!(r.unwrap().project.name, "fromenv");
    let (r, _t) = load_files(&[("dev.yml", "services:\n  web: {image: a}\n")], &[], &[]);
    assert_eq!(r.unwrap().project.name, "proj");
}

#[test]
fn short_and_long_syntax_resolve_alike() {
    let short = ok(
        "services:\n  web:\n    image: a\n    ports: ['127.0.0.1:3000:3000']\n    volumes: ['./src:/app/src:ro', 'data:/data']\nvolumes: {data: {}}\n",
    );
    let long = ok(
        "services:\n  web:\n    image: a\n    ports:\n      - {target: 3000, published: '3000', host_ip: 127.0.0.1, protocol: tcp}\n    volumes:\n      - {type: bind, source: ./src, target: /app/src, read_only: true}\n      - {type: volume, source: data, target: /data}\nvolumes: {data: {}}\n",
    );
    let a = &short.project.services["web"];
    let b = &long.project.services["web"];
    assert_eq!(a.ports, b.ports);
    assert_eq!(
        a.volumes
            .iter()
            .map(|m| (&m.target, m.read_only, m.kind))
            .collect::<Vec<_>>(),
        b.volumes
            .iter()
            .map(|m| (&m.target, m.read_only, m.kind))
            .collect::<Vec<_>>()
    );
}

#[test]
fn develop_watch_maps_onto_rules() {
    let loaded = ok(
        "services:\n  web:\n    image: a\n    develop:\n      watch:\n        - {path: ./src, action: sync+restart, target: /app/src}\n        - {path: Gemfile, action: rebuild}\n",
    );
    let rules = &loaded.project.watch;
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0].paths, vec!["src".to_owned(), "src/**".to_owned()]);
    assert!(
        matches!(&rules[0].actions[0], model::WatchAction::Sync { target, .. } if target == "/app/src")
    );
    assert!(
        matches!(&rules[0].actions[1], model::WatchAction::Restart { services } if services == &vec!["web".to_owned()])
    );
    assert!(
        matches!(&rules[1].actions[0], model::WatchAction::Rebuild { service } if service == "web")
    );
}

#[test]
fn watch_rules_parse_with_defaults() {
    let loaded = ok(
        "services:\n  node: {image: a}\n  puma: {image: a}\nwatch:\n  - paths: app/javascript/**\n    actions:\n      - exec: {service: node, command: yarn run build}\n  - paths: [Gemfile]\n    debounce: 200ms\n    ignore: ['*.bak']\n    actions:\n      - run: {service: puma, command: [bundle, install]}\n      - restart: [puma]\n      - rebuild: puma\n      - sync: {service: puma, target: /app}\n",
    );
    let rules = &loaded.project.watch;
    assert_eq!(rules[0].debounce, model::DEFAULT_DEBOUNCE);
    assert_eq!(
        rules[0].actions,
        vec![model::WatchAction::Exec {
            service: "node".into(),
            command: vec!["yarn".into(), "run".into(), "build".into()]
        }]
    );
    assert_eq!(rules[1].debounce, std::time::Duration::from_millis(200));
    assert_eq!(rules[1].actions.len(), 4);
}
