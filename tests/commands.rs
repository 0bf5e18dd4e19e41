//! Black-box tests of the engine commands: the built binary against the real Docker engine.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::stack::{
    Out, Stack, exists, free_port, has_status, inspect, state, status_index, wait_until,
};
use common::{STRAY_LABEL, TEST_IMAGE, docker_ok};

/// Two plain services that never stop on their own and die at once when stopped.
const TWO_SLEEPERS: &str = "
services:
  db:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
  web:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
    depends_on: [db]
";

// ---- up: convergence -------------------------------------------------------------------

#[test]
fn a_second_up_recreates_nothing() {
    let stack = Stack::new(TWO_SLEEPERS);
    let first = stack.ok(&["up", "-d"]);
    assert!(
        has_status(&first.stderr, "db", "Created"),
        "{}",
        first.show()
    );
    assert!(
        has_status(&first.stderr, "web", "Started"),
        "{}",
        first.show()
    );
    let before = stack.containers();
    assert_eq!(before.len(), 2, "{before:?}");
    for id in before.values() {
        assert_eq!(state(id), "running");
    }

    let second = stack.ok(&["up", "-d"]);
    eprintln!("no-op up -d: {:?}", second.elapsed);
    assert_eq!(stack.containers(), before, "no container may be replaced");
    assert!(
        has_status(&second.stderr, "db", "Running"),
        "{}",
        second.show()
    );
    assert!(
        has_status(&second.stderr, "web", "Running"),
        "{}",
        second.show()
    );
    for word in ["Created", "Recreate", "Started"] {
        assert!(!second.stderr.contains(word), "{}", second.show());
    }
}

#[test]
fn a_changed_environment_recreates_with_the_reason() {
    let yaml = "
services:
  db:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
  web:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
    environment:
      GREETING: hello
      OTHER: same
";
    let stack = Stack::new(yaml);
    stack.ok(&["up", "-d"]);
    let before = stack.containers();

    stack.config(&yaml.replace("GREETING: hello", "GREETING: bye"));
    let out = stack.ok(&["up", "-d"]);
    let reason = out
        .stderr
        .lines()
        .find(|l| l.starts_with("web") && l.contains("Recreate"))
        .unwrap_or_else(|| panic!("no recreate line:\n{}", out.show()));
    assert_eq!(
        reason.split_once("  ").map(|(_, r)| r.trim()),
        Some("Recreate (environment.GREETING changed)"),
        "{}",
        out.show()
    );
    let after = stack.containers();
    assert_eq!(after["db"], before["db"], "db did not change");
    assert_ne!(after["web"], before["web"], "web was recreated");
    let env = inspect(&after["web"], "{{json .Config.Env}}");
    assert!(env.contains("\"GREETING=bye\""), "{env}");
    assert_eq!(state(&after["web"]), "running");
}

#[test]
fn a_recreated_dependency_restarts_dependents_that_ask_for_it() {
    let yaml = "
services:
  db:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
    environment:
      VERSION: '1'
  web:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
    depends_on:
      db: {condition: service_started, restart: true}
  worker:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
    depends_on: [db]
";
    let stack = Stack::new(yaml);
    stack.ok(&["up", "-d"]);
    let before = stack.containers();
    let web_started = inspect(&before["web"], "{{.State.StartedAt}}");
    let worker_started = inspect(&before["worker"], "{{.State.StartedAt}}");

    stack.config(&yaml.replace("VERSION: '1'", "VERSION: '2'"));
    let out = stack.ok(&["up", "-d"]);
    assert!(
        has_status(&out.stderr, "web", "Restarted (db was recreated)"),
        "{}",
        out.show()
    );
    assert!(
        has_status(&out.stderr, "worker", "Running"),
        "{}",
        out.show()
    );
    let after = stack.containers();
    assert_ne!(after["db"], before["db"]);
    assert_eq!(after["web"], before["web"], "restarted, not recreated");
    assert_ne!(inspect(&after["web"], "{{.State.StartedAt}}"), web_started);
    assert_eq!(state(&after["web"]), "running");
    assert_eq!(
        inspect(&after["worker"], "{{.State.StartedAt}}"),
        worker_started
    );

    // Nothing changed: nothing restarts.
    let again = stack.ok(&["up", "-d"]);
    assert!(
        has_status(&again.stderr, "web", "Running"),
        "{}",
        again.show()
    );
}

#[test]
fn a_rebuilt_image_recreates_the_container() {
    let stack = Stack::new(
        "
services:
  app:
    build: .
    command: sleep 300
    stop_signal: SIGKILL
",
    );
    stack.write(
        "Dockerfile",
        &format!("FROM {TEST_IMAGE}\nRUN echo v1 > /version\n"),
    );
    stack.ok(&["up", "-d"]);
    let before = stack.id("app");
    assert_eq!(stack.ok(&["exec", "app", "cat", "/version"]).stdout, "v1\n");

    // Without --build an existing image is used as it is.
    stack.write(
        "Dockerfile",
        &format!("FROM {TEST_IMAGE}\nRUN echo v2 > /version\n"),
    );
    let unchanged = stack.ok(&["up", "-d"]);
    assert!(
        has_status(&unchanged.stderr, "app", "Running"),
        "{}",
        unchanged.show()
    );
    assert_eq!(stack.id("app"), before);

    let out = stack.ok(&["up", "-d", "--build"]);
    assert!(has_status(&out.stderr, "app", "Built"), "{}", out.show());
    assert!(
        has_status(&out.stderr, "app", "Recreate (image changed)"),
        "{}",
        out.show()
    );
    assert_ne!(stack.id("app"), before);
    assert_eq!(stack.ok(&["exec", "app", "cat", "/version"]).stdout, "v2\n");
}

#[test]
fn services_sharing_a_new_named_volume_are_created_without_a_race() {
    // puma and sidekiq share `bundle`: the engine fills an empty volume from the image when a
    // container mounting it is created, and two creates at once collide ("file exists").
    let stack = Stack::new(
        "
services:
  a: &shared
    build: .
    image: devenv-test/shared-volume:latest
    command: sleep 300
    stop_signal: SIGKILL
    volumes: [shared:/data]
  b: *shared
  c: *shared
  d: *shared
volumes:
  shared:
",
    );
    stack.write(
        "Dockerfile",
        &format!(
            "FROM {TEST_IMAGE}\nRUN for i in $(seq 1 40); do for j in $(seq 1 50); do \
             mkdir -p /data/d$i/e$j && echo $j > /data/d$i/e$j/f; done; done\n"
        ),
    );
    for round in 0..3 {
        let up = stack.devenv(&["up", "-d"]);
        assert_eq!(up.code, Some(0), "round {round}: {}", up.show());
        assert_eq!(
            stack.ok(&["exec", "d", "cat", "/data/d40/e50/f"]).stdout,
            "50\n"
        );
        stack.ok(&["down", "--volumes"]);
    }
}

#[test]
fn a_stopped_container_is_started_not_recreated() {
    let stack = Stack::new(TWO_SLEEPERS);
    stack.ok(&["up", "-d"]);
    let before = stack.containers();
    docker_ok(&["stop", &before["web"]]);
    assert_eq!(state(&before["web"]), "exited");

    let out = stack.ok(&["up", "-d"]);
    assert!(has_status(&out.stderr, "web", "Started"), "{}", out.show());
    assert!(has_status(&out.stderr, "db", "Running"), "{}", out.show());
    assert!(!out.stderr.contains("Created"), "{}", out.show());
    assert_eq!(stack.containers(), before);
    assert_eq!(state(&before["web"]), "running");
}

#[test]
fn orphans_are_reported_and_removed_on_request() {
    let stack = Stack::new(
        "
services:
  web:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
  worker:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
",
    );
    stack.ok(&["up", "-d"]);
    let before = stack.containers();
    stack.config(
        "
services:
  web:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
",
    );
    let out = stack.ok(&["up", "-d"]);
    assert!(
        out.stderr.contains(
            "warning: found containers of services no longer in the config: worker\n  = hint: `devenv up --remove-orphans` removes them"
        ),
        "{}",
        out.show()
    );
    assert_eq!(stack.containers(), before, "the orphan is left alone");
    assert_eq!(state(&before["worker"]), "running");

    let out = stack.ok(&["up", "-d", "--remove-orphans"]);
    assert!(
        has_status(&out.stderr, "worker", "Removed orphan"),
        "{}",
        out.show()
    );
    let after = stack.containers();
    assert_eq!(after.keys().collect::<Vec<_>>(), vec!["web"]);
    assert_eq!(after["web"], before["web"]);
}

// ---- up: attached, --wait, interrupts ----------------------------------------------------

/// An attached `up` that Ctrl-C ended: exit 130 after stopping the stack, with what `web`
/// printed on its way down still shown.
fn assert_stopped_gracefully(out: &Out) {
    assert_eq!(out.code, Some(130), "{}", out.show());
    assert!(out.stderr.contains("Stopping"), "{}", out.show());
    assert!(
        out.stdout.contains("web | web says goodbye\n"),
        "{}",
        out.show()
    );
}

#[test]
fn attached_up_prints_prefixed_logs_and_ctrl_c_stops_everything() {
    let stack = Stack::new(
        "
services:
  db:
    image: IMAGE
    command: [sh, -c, 'echo db ready; exec sleep 300']
    stop_signal: SIGKILL
  web:
    image: IMAGE
    command: [sh, -c, 'trap \"echo web says goodbye; exit 0\" TERM; echo web listening; while true; do sleep 0.1; done']
    stop_grace_period: 1s
",
    );
    let up = stack.spawn(&["up"]);
    up.wait_for("web | web listening", Duration::from_secs(30));
    up.wait_for("db  | db ready", Duration::from_secs(10));
    let ids = stack.containers();
    up.interrupt();
    let out = up.finish(Duration::from_secs(20));
    eprintln!("attached up, Ctrl-C to exit: {:?}", out.elapsed);
    assert_stopped_gracefully(&out);
    assert_eq!(ids.len(), 2);
    for (service, id) in &ids {
        assert_eq!(state(id), "exited", "{service}");
    }
    // web ran its TERM trap (exit 0); db took SIGKILL.
    assert_eq!(inspect(&ids["web"], "{{.State.ExitCode}}"), "0");
    assert_eq!(inspect(&ids["db"], "{{.State.ExitCode}}"), "137");
}

#[test]
fn up_watch_runs_rules_with_logs_attached_and_ctrl_c_stops_the_stack() {
    let stack = Stack::new(
        "
services:
  web:
    image: IMAGE
    command: [sh, -c, 'trap \"echo web says goodbye; exit 0\" TERM; echo web listening; while true; do sleep 0.1; done']
    stop_grace_period: 2s
watch:
  - paths: [src/**]
    actions:
      - exec: {service: web, command: [sh, -c, 'echo rebuilt']}
",
    );
    std::fs::create_dir(stack.path("src")).expect("mkdir src");
    stack.write("src/app.js", "1\n");
    let up = stack.spawn(&["up", "--watch"]);
    up.wait_for("web | web listening", Duration::from_secs(30));
    up.wait_for("Ctrl-C stops", Duration::from_secs(10));
    stack.write("src/app.js", "2\n");
    up.wait_for("web | rebuilt", Duration::from_secs(20));
    up.wait_for("done in", Duration::from_secs(10));
    let id = stack.id("web");
    up.interrupt();
    let out = up.finish(Duration::from_secs(20));
    // The watch does not cut the stopping short.
    assert_stopped_gracefully(&out);
    assert_eq!(state(&id), "exited");
    assert_eq!(inspect(&id, "{{.State.ExitCode}}"), "0");
}

#[test]
fn watch_ends_with_130_on_ctrl_c() {
    let stack = Stack::new(
        "
services:
  web:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
watch:
  - paths: [src/**]
    actions:
      - restart: [web]
",
    );
    stack.ok(&["up", "-d"]);
    let watch = stack.spawn(&["watch"]);
    watch.wait_for("Ctrl-C stops", Duration::from_secs(20));
    watch.interrupt();
    let out = watch.finish(Duration::from_secs(10));
    assert_eq!(out.code, Some(130), "{}", out.show());
    // Watching leaves the stack as it was.
    assert_eq!(state(&stack.id("web")), "running");
}

#[test]
fn attached_up_says_when_a_service_exits_and_follows_the_others() {
    let stack = Stack::new(
        "
services:
  db:
    image: IMAGE
    command: [sh, -c, 'echo db ready; exec sleep 300']
    stop_signal: SIGKILL
  job:
    image: IMAGE
    command: [sh, -c, 'echo job done; exit 3']
",
    );
    let up = stack.spawn(&["up"]);
    up.wait_for("job  Exited with code 3", Duration::from_secs(30));
    up.wait_for("db  | db ready", Duration::from_secs(10));
    assert!(up.stdout().contains("job | job done\n"), "{}", up.stdout());
    up.interrupt();
    let out = up.finish(Duration::from_secs(20));
    assert_eq!(out.code, Some(130), "{}", out.show());
    assert_eq!(state(&stack.id("db")), "exited");
}

#[test]
fn up_wait_reports_a_container_that_exits_at_once() {
    let stack = Stack::new(
        "
services:
  web:
    image: IMAGE
    command: [sh, -c, 'echo starting web; echo config/database.yml is missing >&2; exit 4']
",
    );
    let out = stack.devenv(&["up", "-d", "--wait"]);
    assert_eq!(out.code, Some(1), "{}", out.show());
    assert!(
        out.stderr
            .contains("error: service `web` exited with code 4"),
        "{}",
        out.show()
    );
    assert!(out.stderr.contains("  | starting web"), "{}", out.show());
    assert!(
        out.stderr.contains("  | config/database.yml is missing"),
        "{}",
        out.show()
    );
}

#[test]
fn up_wait_accepts_a_one_shot_that_completed() {
    let yaml = "
services:
  migrate:
    image: IMAGE
    command: [sh, -c, 'echo migrated; exit CODE']
  web:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
    depends_on:
      migrate: {condition: service_completed_successfully}
";
    let stack = Stack::new(&yaml.replace("CODE", "0"));
    let out = stack.ok(&["up", "-d", "--wait"]);
    let completed = status_index(&out.stderr, "migrate", "Completed");
    let created = status_index(&out.stderr, "web", "Created");
    assert!(completed.is_some() && completed < created, "{}", out.show());
    let ids = stack.containers();
    assert_eq!(inspect(&ids["migrate"], "{{.State.ExitCode}}"), "0");
    assert_eq!(state(&ids["web"]), "running");

    stack.ok(&["down"]);
    stack.config(&yaml.replace("CODE", "3"));
    let out = stack.devenv(&["up", "-d", "--wait"]);
    assert_eq!(out.code, Some(1), "{}", out.show());
    assert!(
        out.stderr.contains(
            "error: service `migrate` exited with code 3 but had to complete successfully"
        ),
        "{}",
        out.show()
    );
    assert!(out.stderr.contains("  | migrated"), "{}", out.show());
    assert!(!stack.containers().contains_key("web"));
}

#[test]
fn up_wait_returns_once_healthy() {
    let stack = Stack::new(
        "
services:
  db:
    image: IMAGE
    command: [sh, -c, 'sleep 1; touch /tmp/ok; exec sleep 300']
    stop_signal: SIGKILL
    healthcheck:
      test: [CMD, test, -f, /tmp/ok]
      interval: 200ms
      retries: 100
",
    );
    let out = stack.ok(&["up", "-d", "--wait"]);
    eprintln!("up -d --wait (healthy after ~1 s): {:?}", out.elapsed);
    assert!(has_status(&out.stderr, "db", "Healthy"), "{}", out.show());
    assert_eq!(
        inspect(&stack.id("db"), "{{.State.Health.Status}}"),
        "healthy"
    );
}

#[test]
fn up_interrupted_while_waiting_for_health_exits_130_and_a_rerun_converges() {
    let stack = Stack::new(
        "
services:
  db:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
    healthcheck:
      test: [CMD, test, -f, /tmp/ok]
      interval: 200ms
      retries: 1000
  web:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
    depends_on:
      db: {condition: service_healthy}
",
    );
    let up = stack.spawn(&["up", "-d"]);
    up.wait_for("Waiting for healthy", Duration::from_secs(30));
    up.interrupt();
    let out = up.finish(Duration::from_secs(10));
    assert_eq!(out.code, Some(130), "{}", out.show());
    assert!(out.stderr.contains("interrupted"), "{}", out.show());
    let before = stack.containers();
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        vec!["db"],
        "web waits for db"
    );

    docker_ok(&["exec", &before["db"], "touch", "/tmp/ok"]);
    let out = stack.ok(&["up", "-d"]);
    assert!(has_status(&out.stderr, "web", "Started"), "{}", out.show());
    let after = stack.containers();
    assert_eq!(after["db"], before["db"], "db was kept");
    assert_eq!(state(&after["web"]), "running");
}

#[test]
fn up_wait_can_be_interrupted() {
    let stack = Stack::new(
        "
services:
  db:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
    healthcheck:
      test: [CMD, test, -f, /tmp/ok]
      interval: 200ms
      retries: 1000
",
    );
    let up = stack.spawn(&["up", "-d", "--wait"]);
    up.wait_for("db  Started", Duration::from_secs(30));
    // Well inside the health wait, which never ends on its own.
    std::thread::sleep(Duration::from_millis(500));
    up.interrupt();
    let out = up.finish(Duration::from_secs(10));
    assert_eq!(out.code, Some(130), "{}", out.show());
}

// ---- depends_on ------------------------------------------------------------------------

#[test]
fn depends_on_service_healthy_waits_for_health() {
    let stack = Stack::new(
        "
services:
  db:
    image: IMAGE
    command: [sh, -c, 'sleep 1; touch /tmp/ok; exec sleep 300']
    stop_signal: SIGKILL
    healthcheck:
      test: [CMD, test, -f, /tmp/ok]
      interval: 200ms
      retries: 100
  web:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
    depends_on:
      db: {condition: service_healthy}
",
    );
    let out = stack.ok(&["up", "-d"]);
    let healthy = status_index(&out.stderr, "db", "Healthy");
    let created = status_index(&out.stderr, "web", "Created");
    assert!(
        healthy.is_some() && created.is_some() && healthy < created,
        "web must be created after db is healthy:\n{}",
        out.show()
    );
    let ids = stack.containers();
    assert_eq!(inspect(&ids["db"], "{{.State.Health.Status}}"), "healthy");
    // db turns healthy a second after it starts at the earliest; web starts after that.
    let db_started = clock(&inspect(&ids["db"], "{{.State.StartedAt}}"));
    let web_started = clock(&inspect(&ids["web"], "{{.State.StartedAt}}"));
    assert!(
        web_started - db_started >= 0.9,
        "web started {:.3} s after db",
        web_started - db_started
    );
}

/// Seconds since midnight of an engine timestamp (`2024-05-01T12:34:56.789Z`).
fn clock(timestamp: &str) -> f64 {
    let time = timestamp
        .split_once('T')
        .map(|(_, t)| t.trim_end_matches('Z'))
        .unwrap_or_else(|| panic!("not a timestamp: {timestamp}"));
    let parts: Vec<f64> = time
        .split(':')
        .map(|p| {
            p.parse()
                .unwrap_or_else(|_| panic!("not a timestamp: {timestamp}"))
        })
        .collect();
    parts[0] * 3600.0 + parts[1] * 60.0 + parts[2]
}

#[test]
fn an_unhealthy_dependency_fails_with_its_logs() {
    let stack = Stack::new(
        "
services:
  db:
    image: IMAGE
    command: [sh, -c, 'echo db is sick; exec sleep 300']
    stop_signal: SIGKILL
    healthcheck:
      test: [CMD, sh, -c, 'echo cannot connect to 127.0.0.1:3306; exit 1']
      interval: 200ms
      retries: 2
  web:
    image: IMAGE
    command: sleep 300
    depends_on:
      db: {condition: service_healthy}
",
    );
    let out = stack.devenv(&["up", "-d"]);
    assert_eq!(out.code, Some(1), "{}", out.show());
    assert!(
        out.stderr.contains(
            "error: service `db` is unhealthy; its healthcheck last said: cannot connect to 127.0.0.1:3306; its last log lines:"
        ),
        "{}",
        out.show()
    );
    assert!(out.stderr.contains("  | db is sick"), "{}", out.show());
    assert!(
        out.stderr.contains("hint: see `devenv logs db`"),
        "{}",
        out.show()
    );
    assert!(
        !stack.containers().contains_key("web"),
        "web was never made"
    );
}

#[test]
fn a_dependency_that_exits_while_waited_on_fails_with_its_logs() {
    let stack = Stack::new(
        "
services:
  db:
    image: IMAGE
    command: [sh, -c, 'echo db booting; echo fatal: bad my.cnf >&2; exit 5']
    healthcheck:
      test: [CMD, test, -f, /tmp/ok]
      interval: 200ms
  web:
    image: IMAGE
    command: sleep 300
    depends_on:
      db: {condition: service_healthy}
",
    );
    let out = stack.devenv(&["up", "-d"]);
    assert_eq!(out.code, Some(1), "{}", out.show());
    assert!(
        out.stderr
            .contains("error: service `db` exited with code 5 but was expected to become healthy"),
        "{}",
        out.show()
    );
    assert!(out.stderr.contains("  | db booting"), "{}", out.show());
    assert!(
        out.stderr.contains("  | fatal: bad my.cnf"),
        "{}",
        out.show()
    );
    assert!(
        !stack.containers().contains_key("web"),
        "web was never made"
    );
}

// ---- ports -----------------------------------------------------------------------------

#[test]
fn ports_bind_loopback_unless_an_address_is_given() {
    let (local, public) = (free_port(), free_port());
    let stack = Stack::new(&format!(
        "
services:
  web:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
    ports:
      - '{local}:80'
      - '0.0.0.0:{public}:81'
"
    ));
    stack.ok(&["up", "-d"]);
    let ports = docker_ok(&["port", &stack.container_name("web")]);
    let mut lines: Vec<&str> = ports.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        vec![
            format!("80/tcp -> 127.0.0.1:{local}"),
            format!("81/tcp -> 0.0.0.0:{public}")
        ],
        "{ports}"
    );
}

#[test]
fn a_port_in_use_fails_naming_service_and_port_then_a_rerun_converges() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = holder.local_addr().expect("addr").port();
    let stack = Stack::new(&format!(
        "
services:
  web:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
    ports: ['{port}:80']
  other:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
"
    ));
    let out = stack.devenv(&["up", "-d"]);
    assert_eq!(out.code, Some(1), "{}", out.show());
    assert!(
        out.stderr.contains(&format!(
            "error: service `web`: port 127.0.0.1:{port} is already in use on the host"
        )),
        "{}",
        out.show()
    );
    // web's sibling in the layer was seen through, not dropped half-made: it runs, and said so.
    let containers = stack.containers();
    assert_eq!(
        containers.keys().collect::<Vec<_>>(),
        vec!["other"],
        "no half-made web is left"
    );
    assert_eq!(state(&containers["other"]), "running");
    assert!(
        has_status(&out.stderr, "other", "Started"),
        "{}",
        out.show()
    );

    drop(holder);
    stack.ok(&["up", "-d"]);
    let id = stack.id("web");
    assert_eq!(state(&id), "running");
    assert_eq!(docker_ok(&["port", &id, "80"]), format!("127.0.0.1:{port}"));
}

// ---- conflicts and mounts --------------------------------------------------------------

#[test]
fn a_foreign_container_with_our_name_is_reported_and_left_alone() {
    let stack = Stack::new(
        "
services:
  web:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
",
    );
    let name = stack.container_name("web");
    let stray = format!("{STRAY_LABEL}={}", stack.name);
    let foreign = docker_ok(&[
        "run", "-d", "--name", &name, "--label", &stray, TEST_IMAGE, "sleep", "300",
    ]);
    let out = stack.devenv(&["up", "-d"]);
    assert_eq!(out.code, Some(1), "{}", out.show());
    assert!(
        out.stderr.contains(&format!(
            "the container name `{name}` is taken by a container devenv does not manage"
        )),
        "{}",
        out.show()
    );
    assert!(out.stderr.contains("service `web`"), "{}", out.show());
    assert_eq!(inspect(&name, "{{.Id}}"), foreign, "the same container");
    assert_eq!(state(&foreign), "running");
    assert_eq!(
        inspect(&foreign, "{{index .Config.Labels \"dev.devenv.project\"}}"),
        "",
        "devenv labelled nothing"
    );
}

#[test]
fn a_missing_bind_source_is_an_error_and_is_not_created() {
    let stack = Stack::new(
        "
services:
  web:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
    volumes:
      - ./missing:/data
",
    );
    let out = stack.devenv(&["up", "-d"]);
    assert_eq!(out.code, Some(1), "{}", out.show());
    let missing = stack.path("missing");
    assert!(
        out.stderr.contains(&format!(
            "error: service `web` bind-mounts `{}` at `/data`, but `{}` does not exist",
            missing.display(),
            missing.display()
        )),
        "{}",
        out.show()
    );
    assert!(out.stderr.contains("create_host_path"), "{}", out.show());
    assert!(!missing.exists(), "devenv must not create it");
    assert!(stack.containers().is_empty());
    assert!(!exists("network", &stack.network()), "nothing half-made");
}

#[test]
fn create_host_path_creates_the_bind_source() {
    let stack = Stack::new(
        "
services:
  web:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
    volumes:
      - type: bind
        source: ./made/here
        target: /made
        bind: {create_host_path: true}
",
    );
    stack.ok(&["up", "-d"]);
    assert!(stack.path("made/here").is_dir());
    stack.ok(&["exec", "web", "touch", "/made/from-container"]);
    assert!(stack.path("made/here/from-container").exists());
}

// ---- down and volumes ------------------------------------------------------------------

#[test]
fn down_removes_containers_and_network_and_keeps_volumes_unless_asked() {
    let stack = Stack::new(
        "
services:
  app:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
    volumes: ['bundle:/bundle']
volumes:
  bundle: {}
",
    );
    let volume = format!("{}_bundle", stack.name);
    stack.ok(&["run", "app", "sh", "-c", "echo gems > /bundle/marker"]);
    assert!(exists("volume", &volume));

    stack.ok(&["up", "-d"]);
    assert!(exists("network", &stack.network()));
    let out = stack.ok(&["down"]);
    assert!(
        has_status(&out.stderr, &stack.container_name("app"), "Removed"),
        "{}",
        out.show()
    );
    assert!(stack.containers().is_empty());
    assert!(!exists("network", &stack.network()));
    assert!(exists("volume", &volume), "down keeps named volumes");
    assert_eq!(
        stack.ok(&["run", "app", "cat", "/bundle/marker"]).stdout,
        "gems\n"
    );

    let out = stack.ok(&["down", "-v"]);
    assert!(
        has_status(&out.stderr, &volume, "Removed volume"),
        "{}",
        out.show()
    );
    assert!(!exists("volume", &volume), "down -v removes them");
    let gone = stack.devenv(&["run", "app", "cat", "/bundle/marker"]);
    assert_eq!(gone.code, Some(1), "{}", gone.show());
    assert!(gone.stderr.contains("No such file"), "{}", gone.show());
}

#[test]
fn down_by_name_cleans_up_a_project_whose_config_is_gone() {
    let stack = Stack::new(
        "
services:
  db:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
    volumes: [data:/data]
volumes:
  data:
",
    );
    stack.ok(&["up", "-d"]);
    let ids = stack.containers();
    std::fs::remove_file(stack.path("dev.yml")).expect("rm dev.yml");
    // From a directory with no config anywhere above it.
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let out = Command::new(env!("CARGO_BIN_EXE_devenv"))
        .args(["-p", &stack.name, "down", "--volumes"])
        .current_dir(elsewhere.path())
        .output()
        .expect("run devenv");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    for id in ids.values() {
        assert!(!exists("container", id), "{stderr}");
    }
    assert!(!exists("network", &stack.network()), "{stderr}");
    assert!(
        !exists("volume", &format!("{}_data", stack.name)),
        "{stderr}"
    );
}

#[test]
fn down_v_never_removes_an_external_volume() {
    let stack = Stack::new("");
    let external = format!("{}-cache", stack.name);
    let stray = format!("{STRAY_LABEL}={}", stack.name);
    stack.config(&format!(
        "
services:
  app:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
    volumes: ['cache:/cache']
volumes:
  cache:
    external: true
    name: {external}
"
    ));
    let out = stack.devenv(&["up", "-d"]);
    assert_eq!(out.code, Some(1), "{}", out.show());
    assert!(
        out.stderr.contains(&format!(
            "error: external volume `{external}` does not exist"
        )),
        "{}",
        out.show()
    );

    docker_ok(&["volume", "create", "--label", &stray, &external]);
    stack.ok(&["up", "-d"]);
    stack.ok(&["exec", "app", "touch", "/cache/kept"]);
    stack.ok(&["down", "-v"]);
    assert!(
        exists("volume", &external),
        "an external volume is the user's"
    );
    let ls = docker_ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{external}:/c"),
        TEST_IMAGE,
        "ls",
        "/c",
    ]);
    assert_eq!(ls, "kept");
}

// ---- run -------------------------------------------------------------------------------

const ONE_SERVICE: &str = "
services:
  web:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
";

#[test]
fn run_exits_with_the_commands_code_and_removes_its_container() {
    let stack = Stack::new(ONE_SERVICE);
    let out = stack.devenv(&[
        "run",
        "web",
        "sh",
        "-c",
        "echo to-out; echo to-err >&2; exit 7",
    ]);
    eprintln!("run (exit 7): {:?}", out.elapsed);
    assert_eq!(out.code, Some(7), "{}", out.show());
    assert_eq!(out.stdout, "to-out\n");
    assert!(out.stderr.contains("to-err\n"), "{}", out.show());
    assert!(stack.oneoffs().is_empty(), "removed after a failure");

    let out = stack.ok(&["run", "web", "echo", "fine"]);
    assert_eq!(out.stdout, "fine\n");
    assert!(stack.oneoffs().is_empty(), "removed after success");
    assert!(
        stack.containers().is_empty(),
        "run starts no service container"
    );
}

#[test]
fn run_feeds_piped_stdin_to_the_command() {
    let stack = Stack::new(ONE_SERVICE);
    let out = stack.devenv_with_input(&["run", "web", "cat"], Some("x\n"));
    assert_eq!(out.code, Some(0), "{}", out.show());
    assert_eq!(out.stdout, "x\n");
    assert!(stack.oneoffs().is_empty());
}

#[test]
fn an_interrupted_run_removes_its_container() {
    let stack = Stack::new(ONE_SERVICE);
    let run = stack.spawn(&["run", "web", "sleep", "30"]);
    let filter = format!("label=dev.devenv.project={}", stack.name);
    let running = wait_until(Duration::from_secs(30), || {
        !docker_ok(&[
            "ps",
            "-q",
            "--filter",
            &filter,
            "--filter",
            "label=dev.devenv.oneoff=true",
            "--filter",
            "status=running",
        ])
        .is_empty()
    });
    assert!(running, "the one-off never ran:\n{}", run.stderr());
    run.interrupt();
    let out = run.finish(Duration::from_secs(15));
    eprintln!("run interrupted, total: {:?}", out.elapsed);
    assert_eq!(out.code, Some(130), "{}", out.show());
    assert!(stack.oneoffs().is_empty(), "removed after Ctrl-C");
}

#[test]
fn run_interrupted_while_building_ends_at_once() {
    let stack = Stack::new(
        "
services:
  app:
    build: .
    command: sleep 300
",
    );
    stack.write(
        "Dockerfile",
        &format!("FROM {TEST_IMAGE}\nRUN echo building; sleep 30\n"),
    );
    let run = stack.spawn(&["run", "app", "true"]);
    run.wait_for("RUN echo building", Duration::from_secs(30));
    run.interrupt();
    let out = run.finish(Duration::from_secs(10));
    eprintln!("run interrupted while building, total: {:?}", out.elapsed);
    assert_eq!(out.code, Some(130), "{}", out.show());
    assert!(stack.oneoffs().is_empty(), "no one-off was made");
}

#[test]
fn run_keep_keeps_the_container() {
    let stack = Stack::new(ONE_SERVICE);
    let out = stack.devenv(&["run", "--keep", "web", "sh", "-c", "exit 2"]);
    assert_eq!(out.code, Some(2), "{}", out.show());
    let kept = stack.oneoffs();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(state(&kept[0]), "exited");
    assert_eq!(inspect(&kept[0], "{{.State.ExitCode}}"), "2");
    assert_eq!(
        inspect(&kept[0], "{{index .Config.Labels \"dev.devenv.service\"}}"),
        "web"
    );
}

#[test]
fn run_starts_dependencies_first() {
    let stack = Stack::new(TWO_SLEEPERS);
    let out = stack.ok(&["run", "web", "echo", "done"]);
    assert_eq!(out.stdout, "done\n");
    let services = stack.containers();
    assert_eq!(
        services.keys().collect::<Vec<_>>(),
        vec!["db"],
        "{}",
        out.show()
    );
    assert_eq!(state(&services["db"]), "running");
    stack.ok(&["run", "--no-deps", "web", "true"]);
}

// ---- exec ------------------------------------------------------------------------------

#[test]
fn exec_runs_in_the_service_container_with_its_exit_code() {
    let stack = Stack::new(ONE_SERVICE);
    let not_yet = stack.devenv(&["exec", "web", "true"]);
    assert_eq!(not_yet.code, Some(1), "{}", not_yet.show());
    assert!(
        not_yet
            .stderr
            .contains("error: service `web` is not running"),
        "{}",
        not_yet.show()
    );
    assert!(
        not_yet.stderr.contains("devenv up -d web"),
        "{}",
        not_yet.show()
    );

    stack.ok(&["up", "-d"]);
    let out = stack.devenv(&[
        "exec",
        "-e",
        "FOO=bar",
        "web",
        "sh",
        "-c",
        "echo in $HOSTNAME $FOO; exit 3",
    ]);
    assert_eq!(out.code, Some(3), "{}", out.show());
    let short_id = &stack.id("web")[..12];
    assert_eq!(out.stdout, format!("in {short_id} bar\n"));

    let piped = stack.devenv_with_input(&["exec", "web", "cat"], Some("abc\n"));
    assert_eq!(piped.code, Some(0), "{}", piped.show());
    assert_eq!(piped.stdout, "abc\n");

    let unknown = stack.devenv(&["exec", "webb", "true"]);
    assert_eq!(unknown.code, Some(2), "{}", unknown.show());
    assert!(
        unknown.stderr.contains("did you mean `web`?"),
        "{}",
        unknown.show()
    );
}

// ---- ps and logs -----------------------------------------------------------------------

#[test]
fn ps_shows_a_table_and_json() {
    let port = free_port();
    let stack = Stack::new(&format!(
        "
services:
  db:
    image: IMAGE
    command: [sh, -c, 'touch /tmp/ok; exec sleep 300']
    stop_signal: SIGKILL
    healthcheck:
      test: [CMD, test, -f, /tmp/ok]
      interval: 200ms
  web:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
    ports: ['{port}:80']
"
    ));
    stack.ok(&["up", "-d", "--wait"]);
    let ids = stack.containers();

    let table = stack.ok(&["ps"]).stdout;
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header,
        vec![
            "SERVICE",
            "CONTAINER",
            "STATE",
            "HEALTH",
            "PORTS",
            "IMAGE",
            "RUNNING",
            "FOR"
        ]
    );
    let db: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        &db[..5],
        &[
            "db",
            stack.container_name("db").as_str(),
            "running",
            "healthy",
            TEST_IMAGE
        ],
        "{table}"
    );
    let web: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(
        &web[..5],
        &[
            "web",
            stack.container_name("web").as_str(),
            "running",
            format!("127.0.0.1:{port}->80/tcp").as_str(),
            TEST_IMAGE
        ],
        "{table}"
    );

    let json: serde_json::Value =
        serde_json::from_str(&stack.ok(&["ps", "--json"]).stdout).expect("ps --json is JSON");
    let rows = json.as_array().expect("an array");
    assert_eq!(rows.len(), 2, "{json:#}");
    let by_service = |s: &str| {
        rows.iter()
            .find(|r| r["service"] == s)
            .unwrap_or_else(|| panic!("no row for {s}: {json:#}"))
    };
    let db = by_service("db");
    assert_eq!(db["id"], ids["db"].as_str());
    assert_eq!(db["name"], stack.container_name("db").as_str());
    assert_eq!(db["state"], "running");
    assert_eq!(db["health"], "healthy");
    assert_eq!(db["exit_code"], serde_json::Value::Null);
    assert_eq!(db["ports"], serde_json::json!([]));
    let web = by_service("web");
    assert_eq!(web["id"], ids["web"].as_str());
    assert_eq!(web["health"], serde_json::Value::Null);
    assert_eq!(
        web["ports"],
        serde_json::json!([{
            "host_ip": "127.0.0.1",
            "host_port": port,
            "container_port": 80,
            "protocol": "tcp"
        }])
    );

    docker_ok(&["stop", &ids["web"]]);
    let running_only: serde_json::Value =
        serde_json::from_str(&stack.ok(&["ps", "--json"]).stdout).expect("JSON");
    assert_eq!(running_only.as_array().map(Vec::len), Some(1));
    let all: serde_json::Value =
        serde_json::from_str(&stack.ok(&["ps", "-a", "--json"]).stdout).expect("JSON");
    let stopped = all
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["service"] == "web"))
        .expect("web listed with -a");
    assert_eq!(stopped["state"], "exited");
    assert_eq!(stopped["exit_code"], 137);
}

#[test]
fn logs_are_prefixed_by_service_and_tail_cuts_them() {
    let stack = Stack::new(
        "
services:
  db:
    image: IMAGE
    command: [sh, -c, 'echo db one; echo db two; exec sleep 300']
    stop_signal: SIGKILL
  web:
    image: IMAGE
    command: [sh, -c, 'echo web warns >&2; sleep 0.2; echo web one; echo web two; echo web three; exec sleep 300']
    stop_signal: SIGKILL
",
    );
    stack.ok(&["up", "-d"]);
    let mut logs = String::new();
    let complete = wait_until(Duration::from_secs(10), || {
        logs = stack.ok(&["logs"]).stdout;
        logs.lines().count() >= 6
    });
    assert!(complete, "{logs}");
    let mut lines: Vec<&str> = logs.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        vec![
            "db  | db one",
            "db  | db two",
            "web | web one",
            "web | web three",
            "web | web two",
            "web | web warns"
        ]
    );
    // A stream's lines keep their order (the engine copies stdout and stderr apart, so their
    // relative order is not fixed).
    let web: Vec<&str> = logs
        .lines()
        .filter(|l| l.starts_with("web") && !l.ends_with("warns"))
        .collect();
    assert_eq!(
        web,
        vec!["web | web one", "web | web two", "web | web three"]
    );

    assert_eq!(
        stack.ok(&["logs", "--tail", "1", "web"]).stdout,
        "web | web three\n"
    );
    let mut tails: Vec<String> = stack
        .ok(&["logs", "--tail", "1"])
        .stdout
        .lines()
        .map(str::to_owned)
        .collect();
    tails.sort();
    assert_eq!(tails, vec!["db  | db two", "web | web three"]);
}

// ---- build and pull --------------------------------------------------------------------

#[test]
fn a_failing_build_names_the_service_and_shows_the_steps_output() {
    let stack = Stack::new(
        "
services:
  app:
    build: .
    command: sleep 300
",
    );
    stack.write(
        "Dockerfile",
        &format!(
            "FROM {TEST_IMAGE}\nRUN echo fine\nRUN echo about to fail && echo failing-step-marker >&2 && exit 3\n"
        ),
    );
    let out = stack.devenv(&["build"]);
    eprintln!("failing build: {:?}", out.elapsed);
    assert_eq!(out.code, Some(1), "{}", out.show());
    let err = &out.stderr;
    assert!(
        err.contains("error: failed to build the image of service `app` at `Step 3/"),
        "{}",
        out.show()
    );
    assert!(
        err.contains("RUN echo about to fail && echo failing-step-marker >&2 && exit 3`:"),
        "{}",
        out.show()
    );
    assert!(err.contains("about to fail\n"), "{}", out.show());
    assert!(err.contains("failing-step-marker"), "{}", out.show());
    assert!(
        err.contains("returned a non-zero code: 3"),
        "{}",
        out.show()
    );

    let up = stack.devenv(&["up", "-d"]);
    assert_eq!(up.code, Some(1), "{}", up.show());
    assert!(up.stderr.contains("service `app`"), "{}", up.show());
    assert!(stack.containers().is_empty());

    stack.write("Dockerfile", &format!("FROM {TEST_IMAGE}\nRUN echo fine\n"));
    let built = stack.ok(&["build"]);
    assert!(
        has_status(&built.stderr, "app", "Built"),
        "{}",
        built.show()
    );
    let image = format!("{}-app", stack.name);
    assert_eq!(
        inspect(&image, "{{index .Config.Labels \"dev.devenv.project\"}}"),
        stack.name
    );
}

#[test]
fn pull_fails_fast_and_suggests_building_locally() {
    let stack = Stack::new(
        "
services:
  cache:
    image: devenv-test/not-on-this-machine:latest
    command: sleep 300
  worker:
    image: devenv-test/not-on-this-machine:latest
    command: sleep 300
",
    );
    let out = stack.devenv(&["pull"]);
    eprintln!("pull without a registry: {:?}", out.elapsed);
    assert_eq!(out.code, Some(1), "{}", out.show());
    assert!(
        out.stderr
            .contains("error: cannot pull image `devenv-test/not-on-this-machine:latest`"),
        "{}",
        out.show()
    );
    assert!(
        out.stderr.contains("there is no registry here"),
        "{}",
        out.show()
    );
    assert!(
        out.stderr.contains("build the image locally"),
        "{}",
        out.show()
    );
    assert!(out.elapsed < Duration::from_secs(15), "{:?}", out.elapsed);
    // Two services, one image: one pull.
    assert_eq!(out.stderr.matches("Pulling").count(), 1, "{}", out.show());

    // `up` needs the image and fails the same way, leaving nothing behind.
    let up = stack.devenv(&["up", "-d"]);
    assert_eq!(up.code, Some(1), "{}", up.show());
    assert!(
        up.stderr.contains("there is no registry here"),
        "{}",
        up.show()
    );
    assert!(stack.containers().is_empty());
}

// ---- stop, start, restart --------------------------------------------------------------

#[test]
fn stop_start_and_restart_keep_the_containers() {
    let stack = Stack::new(TWO_SLEEPERS);
    stack.ok(&["up", "-d"]);
    let ids = stack.containers();

    let out = stack.ok(&["stop"]);
    assert!(has_status(&out.stderr, "web", "Stopped"), "{}", out.show());
    for id in ids.values() {
        assert_eq!(state(id), "exited");
    }
    let out = stack.ok(&["start", "db"]);
    assert!(has_status(&out.stderr, "db", "Started"), "{}", out.show());
    assert_eq!(state(&ids["db"]), "running");
    assert_eq!(state(&ids["web"]), "exited");
    stack.ok(&["start"]);
    assert_eq!(state(&ids["web"]), "running");

    let db_started = inspect(&ids["db"], "{{.State.StartedAt}}");
    let web_started = inspect(&ids["web"], "{{.State.StartedAt}}");
    let out = stack.ok(&["restart", "web"]);
    assert!(
        has_status(&out.stderr, "web", "Restarted"),
        "{}",
        out.show()
    );
    assert_eq!(state(&ids["web"]), "running");
    assert_ne!(inspect(&ids["web"], "{{.State.StartedAt}}"), web_started);
    assert_eq!(inspect(&ids["db"], "{{.State.StartedAt}}"), db_started);
    assert_eq!(stack.containers(), ids, "nothing recreated");
}

#[test]
fn start_and_restart_follow_depends_on() {
    let stack = Stack::new(
        "
services:
  db:
    image: IMAGE
    command: [sh, -c, 'rm -f /tmp/ok; sleep 1; touch /tmp/ok; exec sleep 300']
    stop_signal: SIGKILL
    healthcheck:
      test: [CMD, test, -f, /tmp/ok]
      interval: 200ms
      retries: 100
  web:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
    depends_on:
      db: {condition: service_healthy}
",
    );
    stack.ok(&["up", "-d"]);
    let ids = stack.containers();
    stack.ok(&["stop"]);

    let out = stack.ok(&["start"]);
    let healthy = status_index(&out.stderr, "db", "Healthy");
    let web = status_index(&out.stderr, "web", "Started");
    assert!(
        healthy.is_some() && healthy < web,
        "web starts once db is healthy:\n{}",
        out.show()
    );
    let gap = clock(&inspect(&ids["web"], "{{.State.StartedAt}}"))
        - clock(&inspect(&ids["db"], "{{.State.StartedAt}}"));
    assert!(gap >= 0.9, "web started {gap:.3} s after db");

    let out = stack.ok(&["restart"]);
    let healthy = status_index(&out.stderr, "db", "Healthy");
    let web = status_index(&out.stderr, "web", "Restarted");
    assert!(healthy.is_some() && healthy < web, "{}", out.show());
    let gap = clock(&inspect(&ids["web"], "{{.State.StartedAt}}"))
        - clock(&inspect(&ids["db"], "{{.State.StartedAt}}"));
    assert!(gap >= 0.9, "web restarted {gap:.3} s after db");
    assert_eq!(stack.containers(), ids);
}

// ---- the engine ------------------------------------------------------------------------

#[test]
fn an_unreachable_engine_is_one_line_naming_the_address() {
    let stack = Stack::new(ONE_SERVICE);
    let mut cmd = stack.command(&["ps"]);
    cmd.env("DOCKER_HOST", "unix:///nonexistent.sock");
    let started = Instant::now();
    let output = cmd.output().expect("devenv runs");
    let elapsed = started.elapsed();
    eprintln!("unreachable engine: {elapsed:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: cannot reach the docker engine at unix:///nonexistent.sock"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");

    // An address that accepts connections but never answers: the connect timeout applies.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = format!("tcp://{}", silent.local_addr().expect("addr"));
    let mut cmd = stack.command(&["ps"]);
    cmd.env("DOCKER_HOST", &address);
    let started = Instant::now();
    let output = cmd.output().expect("devenv runs");
    let elapsed = started.elapsed();
    eprintln!("silent engine: {elapsed:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "error: cannot reach the docker engine at {address}"
        )),
        "{stderr}"
    );
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}
