//! Black-box tests of command-line options the other suites leave out: the built binary against
//! the real Docker engine.

mod common;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::stack::{Out, Stack, exists, free_port, has_status, inspect, state, wait_until};
use common::{TEST_IMAGE, docker, docker_ok};

/// Runs a prepared devenv command to its end with no input.
fn finish(mut cmd: Command) -> Out {
    let started = Instant::now();
    let output = cmd.stdin(Stdio::null()).output().expect("devenv runs");
    Out {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        raw: output.stdout,
        elapsed: started.elapsed(),
    }
}

/// Waits until `docker logs` of the container shows `needle`.
fn wait_for_log(id: &str, needle: &str) {
    let mut seen = String::new();
    let found = wait_until(Duration::from_secs(20), || {
        let out = docker(&["logs", id]);
        seen = String::from_utf8_lossy(&out.stdout).into_owned();
        seen.contains(needle)
    });
    assert!(found, "`{needle}` never showed in the logs:\n{seen}");
}

/// Seconds since the Unix epoch of an engine timestamp (`2024-05-01T12:34:56.789Z`).
fn epoch(timestamp: &str) -> f64 {
    let bad = || -> ! { panic!("not a timestamp: {timestamp}") };
    let (date, time) = timestamp.split_once('T').unwrap_or_else(|| bad());
    let ymd: Vec<i64> = date
        .split('-')
        .map(|p| p.parse().unwrap_or_else(|_| bad()))
        .collect();
    let hms: Vec<f64> = time
        .strip_suffix('Z')
        .unwrap_or_else(|| bad())
        .split(':')
        .map(|p| p.parse().unwrap_or_else(|_| bad()))
        .collect();
    if ymd.len() != 3 || hms.len() != 3 {
        bad();
    }
    // Howard Hinnant's days_from_civil.
    let (m, d) = (ymd[1], ymd[2]);
    let y = if m <= 2 { ymd[0] - 1 } else { ymd[0] };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days as f64 * 86_400.0 + hms[0] * 3600.0 + hms[1] * 60.0 + hms[2]
}

fn now_epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64()
}

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

/// A service that ignores SIGTERM, with a grace period far above any bound the tests allow,
/// so only the `-t` given on the command line can make it end in time.
const STUBBORN: &str = "
services:
  web:
    image: IMAGE
    command: [sh, -c, 'trap \"\" TERM; echo ready; while true; do sleep 0.2; done']
    stop_grace_period: 30s
    environment:
      VERSION: '1'
";

/// Well below STUBBORN's grace period (and the engine's default 10 s), well above `-t`.
const STOP_BOUND: Duration = Duration::from_secs(9);

/// A service that prints `first`, then `second` once /tmp/go exists.
const TWO_LINES: &str = "
services:
  web:
    image: IMAGE
    command: [sh, -c, 'echo first; while [ ! -f /tmp/go ]; do sleep 0.1; done; echo second; exec sleep 300']
    stop_signal: SIGKILL
";

// ---- up --------------------------------------------------------------------------------

#[test]
fn up_force_recreate_replaces_running_unchanged_containers() {
    let stack = Stack::new(TWO_SLEEPERS);
    stack.ok(&["up", "-d"]);
    let before = stack.containers();
    assert_eq!(before.len(), 2, "{before:?}");

    let out = stack.ok(&["up", "-d", "--force-recreate"]);
    for service in ["db", "web"] {
        assert!(
            has_status(&out.stderr, service, "Recreate (--force-recreate)"),
            "{}",
            out.show()
        );
        assert!(
            has_status(&out.stderr, service, "Recreated"),
            "{}",
            out.show()
        );
    }
    let after = stack.containers();
    assert_eq!(after.len(), 2, "{after:?}");
    for service in ["db", "web"] {
        assert_ne!(
            after[service], before[service],
            "{service} has a new container"
        );
        assert_eq!(state(&after[service]), "running", "{service}");
        assert!(
            !exists("container", &before[service]),
            "the old one is gone"
        );
    }

    // The flag does not stick: the next plain up leaves them be.
    let again = stack.ok(&["up", "-d"]);
    assert!(
        has_status(&again.stderr, "web", "Running"),
        "{}",
        again.show()
    );
    assert_eq!(stack.containers(), after);
}

#[test]
fn up_no_build_fails_on_a_missing_image_and_uses_an_existing_one() {
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
    let image = format!("{}-app", stack.name);

    let out = stack.devenv(&["up", "-d", "--no-build"]);
    assert_eq!(out.code, Some(1), "{}", out.show());
    assert!(
        out.stderr.contains(&format!(
            "error: image `{image}` of service `app` is not built, and --no-build was given"
        )),
        "{}",
        out.show()
    );
    assert!(!out.stderr.contains("Building"), "{}", out.show());
    assert!(!exists("image", &image), "nothing was built");
    assert!(stack.containers().is_empty(), "nothing was created");
    assert!(!exists("network", &format!("{}_default", stack.name)));

    stack.ok(&["build", "app"]);
    let built = inspect(&image, "{{.Id}}");
    // A changed Dockerfile would be rebuilt by `up --build`; --no-build must ignore it.
    stack.write(
        "Dockerfile",
        &format!("FROM {TEST_IMAGE}\nRUN echo v2 > /version\n"),
    );
    let out = stack.ok(&["up", "-d", "--no-build"]);
    assert!(!out.stderr.contains("Buil"), "{}", out.show());
    assert!(has_status(&out.stderr, "app", "Started"), "{}", out.show());
    assert_eq!(inspect(&image, "{{.Id}}"), built);
    assert_eq!(stack.ok(&["exec", "app", "cat", "/version"]).stdout, "v1\n");
}

#[test]
fn up_timeout_bounds_the_stop_of_a_replaced_container() {
    let stack = Stack::new(STUBBORN);
    stack.ok(&["up", "-d"]);
    let old = stack.id("web");
    wait_for_log(&old, "ready");

    stack.config(&STUBBORN.replace("VERSION: '1'", "VERSION: '2'"));
    let out = stack.ok(&["up", "-d", "--timeout", "2"]);
    eprintln!(
        "up --timeout 2 replacing a stubborn container: {:?}",
        out.elapsed
    );
    assert!(
        has_status(&out.stderr, "web", "Recreate (environment.VERSION changed)"),
        "{}",
        out.show()
    );
    assert!(out.elapsed >= Duration::from_secs(2), "{}", out.show());
    assert!(out.elapsed < STOP_BOUND, "{}", out.show());
    assert!(!exists("container", &old), "the old container is gone");
    assert_eq!(state(&stack.id("web")), "running");
}

#[test]
fn attached_up_timeout_bounds_stopping_on_ctrl_c() {
    let stack = Stack::new(STUBBORN);
    let up = stack.spawn(&["up", "-t", "1"]);
    up.wait_for("web | ready", Duration::from_secs(30));
    let id = stack.id("web");
    let interrupted = Instant::now();
    up.interrupt();
    let out = up.finish_since(Duration::from_secs(30), interrupted);
    eprintln!("attached up -t 1, Ctrl-C to exit: {:?}", out.elapsed);
    assert_eq!(out.code, Some(130), "{}", out.show());
    assert!(has_status(&out.stderr, "web", "Stopped"), "{}", out.show());
    assert!(out.elapsed >= Duration::from_secs(1), "{}", out.show());
    assert!(out.elapsed < STOP_BOUND, "{}", out.show());
    assert_eq!(state(&id), "exited");
    assert_eq!(inspect(&id, "{{.State.ExitCode}}"), "137", "killed");
}

// ---- stop ------------------------------------------------------------------------------

#[test]
fn stop_timeout_kills_a_container_that_ignores_sigterm() {
    let stack = Stack::new(STUBBORN);
    stack.ok(&["up", "-d"]);
    let id = stack.id("web");
    wait_for_log(&id, "ready");

    let out = stack.ok(&["stop", "-t", "2"]);
    eprintln!("stop -t 2 of a stubborn container: {:?}", out.elapsed);
    assert!(has_status(&out.stderr, "web", "Stopped"), "{}", out.show());
    assert!(out.elapsed >= Duration::from_secs(2), "{}", out.show());
    assert!(out.elapsed < STOP_BOUND, "{}", out.show());
    assert_eq!(state(&id), "exited");
    assert_eq!(inspect(&id, "{{.State.ExitCode}}"), "137", "killed");
}

// ---- run -------------------------------------------------------------------------------

#[test]
fn run_user_and_workdir_override_the_service() {
    let stack = Stack::new(
        "
services:
  web:
    image: IMAGE
    command: sleep 300
    user: nobody
    working_dir: /tmp
",
    );
    let script = "echo $(id -u):$(id -g) $(pwd)";
    let plain = stack.ok(&["run", "web", "sh", "-c", script]);
    assert_eq!(plain.stdout, "65534:65534 /tmp\n");

    let short = stack.ok(&["run", "-u", "root", "-w", "/etc", "web", "sh", "-c", script]);
    assert_eq!(short.stdout, "0:0 /etc\n");
    let long = stack.ok(&[
        "run",
        "--user",
        "123:456",
        "--workdir",
        "/usr/bin",
        "web",
        "sh",
        "-c",
        script,
    ]);
    assert_eq!(long.stdout, "123:456 /usr/bin\n");
    assert!(stack.oneoffs().is_empty());
}

#[test]
fn run_entrypoint_replaces_the_services_entrypoint() {
    let stack = Stack::new(
        "
services:
  web:
    image: IMAGE
    entrypoint: [echo, from-config]
    command: [from-command]
",
    );
    assert_eq!(stack.ok(&["run", "web", "arg"]).stdout, "from-config arg\n");
    assert_eq!(
        stack
            .ok(&["run", "--entrypoint", "echo from-flag", "web", "arg"])
            .stdout,
        "from-flag arg\n"
    );
    // The flag is split as a shell would, quotes and all.
    let quoted = stack.ok(&[
        "run",
        "--entrypoint",
        "printf '%s|'",
        "web",
        "one two",
        "three",
    ]);
    assert_eq!(quoted.stdout, "one two|three|");
    assert!(stack.oneoffs().is_empty());
}

#[test]
fn run_rejects_a_malformed_entrypoint_or_volume_as_a_usage_error() {
    let stack = Stack::new(
        "
services:
  web:
    image: IMAGE
    command: sleep 300
",
    );
    let out = stack.devenv(&["run", "--entrypoint", "echo 'unclosed", "web"]);
    assert_eq!(out.code, Some(2), "{}", out.show());
    assert!(
        out.stderr
            .contains("--entrypoint has an unclosed `'` quote"),
        "{}",
        out.show()
    );
    let out = stack.devenv(&["run", "-v", "./data:relative", "web", "true"]);
    assert_eq!(out.code, Some(2), "{}", out.show());
    assert!(
        out.stderr.contains("-v `./data:relative`") && out.stderr.contains("not an absolute"),
        "{}",
        out.show()
    );
    assert!(stack.oneoffs().is_empty());
}

#[test]
fn run_with_a_malformed_option_starts_no_dependency() {
    let stack = Stack::new(TWO_SLEEPERS);
    let out = stack.devenv(&["run", "--entrypoint", "echo 'unclosed", "web"]);
    assert_eq!(out.code, Some(2), "{}", out.show());
    let out = stack.devenv(&["run", "-v", "./data:relative", "web", "true"]);
    assert_eq!(out.code, Some(2), "{}", out.show());
    assert_eq!(stack.containers(), BTreeMap::new(), "db was left alone");
}

#[test]
fn run_passes_flags_after_the_service_to_the_command() {
    let stack = Stack::new(
        "
services:
  web:
    image: IMAGE
    command: [echo, from-command]
",
    );
    // printf, not echo: busybox's echo would take `-e` as its own flag.
    let out = stack.ok(&["run", "--entrypoint", "printf %s,", "web", "-e", "X=1"]);
    assert_eq!(out.stdout, "-e,X=1,");
    let out = stack.ok(&["run", "--entrypoint", "printf %s,", "web", "--keep"]);
    assert_eq!(out.stdout, "--keep,");
    assert!(stack.oneoffs().is_empty(), "--keep was the command's");
}

#[test]
fn run_service_ports_publishes_the_services_ports_only_on_request() {
    let port = free_port();
    let stack = Stack::new(&format!(
        "
services:
  web:
    image: IMAGE
    command: sleep 300
    ports: ['{port}:80']
"
    ));
    let bindings = |id: &str| -> serde_json::Value {
        serde_json::from_str(&inspect(id, "{{json .HostConfig.PortBindings}}"))
            .expect("port bindings are JSON")
    };

    stack.ok(&["run", "--keep", "web", "true"]);
    let plain = stack.oneoffs();
    assert_eq!(plain.len(), 1, "{plain:?}");
    let none = bindings(&plain[0]);
    assert!(
        none.as_object().is_none_or(|m| m.is_empty()),
        "a plain one-off publishes nothing: {none}"
    );
    docker_ok(&["rm", "-f", &plain[0]]);

    stack.ok(&["run", "--keep", "--service-ports", "web", "true"]);
    let published = stack.oneoffs();
    assert_eq!(published.len(), 1, "{published:?}");
    assert_eq!(
        bindings(&published[0]),
        serde_json::json!({"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": port.to_string()}]})
    );
}

#[test]
fn run_env_sets_overrides_and_passes_through_variables() {
    let stack = Stack::new(
        "
services:
  web:
    image: IMAGE
    command: sleep 300
    environment:
      GREETING: from-config
      KEPT: kept
",
    );
    let mut cmd = stack.command(&[
        "run",
        "-e",
        "GREETING=from-flag",
        "--env",
        "EXTRA=a=b",
        "-e",
        "FROM_HOST",
        "-e",
        "NOT_ON_HOST",
        "web",
        "sh",
        "-c",
        "echo \"$GREETING $KEPT $EXTRA $FROM_HOST ${NOT_ON_HOST-unset}\"",
    ]);
    cmd.env("FROM_HOST", "host-value").env_remove("NOT_ON_HOST");
    let out = finish(cmd);
    assert_eq!(out.code, Some(0), "{}", out.show());
    assert_eq!(out.stdout, "from-flag kept a=b host-value unset\n");
}

#[test]
fn run_volume_adds_binds_read_only_and_replaces_the_services_mount() {
    let stack = Stack::new(
        "
services:
  web:
    image: IMAGE
    command: sleep 300
    volumes: ['./config-a:/config']
",
    );
    stack.write("config-a/which", "a\n");
    stack.write("config-b/which", "b\n");
    std::fs::create_dir(stack.path("data")).expect("mkdir data");

    let out = stack.ok(&[
        "run",
        "-v",
        "./data:/data",
        "web",
        "sh",
        "-c",
        "cat /config/which; echo written > /data/out",
    ]);
    assert_eq!(out.stdout, "a\n");
    assert_eq!(
        std::fs::read_to_string(stack.path("data/out")).expect("the host sees the file"),
        "written\n"
    );

    let out = stack.ok(&[
        "run",
        "--volume",
        "./config-b:/config",
        "web",
        "cat",
        "/config/which",
    ]);
    assert_eq!(
        out.stdout, "b\n",
        "the flag's mount wins at the same target"
    );

    let out = stack.devenv(&["run", "-v", "./data:/data:ro", "web", "touch", "/data/no"]);
    assert_ne!(out.code, Some(0), "{}", out.show());
    assert!(out.stderr.contains("Read-only"), "{}", out.show());
    assert!(!stack.path("data/no").exists());
    assert!(stack.oneoffs().is_empty());
}

/// Removes a volume by name when dropped: for one devenv might leave without its label.
struct VolumeGuard(String);

impl Drop for VolumeGuard {
    fn drop(&mut self) {
        let _ = docker(&["volume", "rm", "-f", &self.0]);
    }
}

#[test]
fn run_volume_of_a_declared_volume_belongs_to_the_project() {
    let stack = Stack::new(
        "
services:
  web:
    image: IMAGE
    command: sleep 300
volumes:
  cache: {}
",
    );
    let volume = format!("{}_cache", stack.name);
    let _guard = VolumeGuard(volume.clone());
    stack.ok(&["run", "-v", "cache:/cache", "web", "touch", "/cache/x"]);
    assert!(exists("volume", &volume), "the project's volume was used");
    assert_eq!(
        inspect(&volume, "{{index .Labels \"dev.devenv.project\"}}"),
        stack.name,
        "devenv made it, so it carries the project label"
    );
    stack.ok(&["down", "-v"]);
    assert!(!exists("volume", &volume), "down -v removes it");
}

// ---- exec ------------------------------------------------------------------------------

#[test]
fn exec_user_and_workdir_override_the_service() {
    let stack = Stack::new(
        "
services:
  web:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
    user: nobody
    working_dir: /tmp
",
    );
    stack.ok(&["up", "-d"]);
    let script = "echo $(id -u) $(pwd)";
    assert_eq!(
        stack.ok(&["exec", "web", "sh", "-c", script]).stdout,
        "65534 /tmp\n"
    );
    assert_eq!(
        stack
            .ok(&[
                "exec", "-u", "root", "-w", "/etc", "web", "sh", "-c", script
            ])
            .stdout,
        "0 /etc\n"
    );
    assert_eq!(
        stack
            .ok(&[
                "exec",
                "--user",
                "123",
                "--workdir",
                "/usr",
                "web",
                "sh",
                "-c",
                script
            ])
            .stdout,
        "123 /usr\n"
    );
}

// ---- logs ------------------------------------------------------------------------------

#[test]
fn logs_timestamps_prefix_each_line_with_the_engines_time() {
    let stack = Stack::new(TWO_LINES);
    stack.ok(&["up", "-d"]);
    let id = stack.id("web");
    wait_for_log(&id, "first");

    assert_eq!(stack.ok(&["logs", "web"]).stdout, "web | first\n");
    let out = stack.ok(&["logs", "--timestamps", "web"]);
    let line = out.stdout.strip_suffix('\n').unwrap_or(&out.stdout);
    let rest = line
        .strip_prefix("web | ")
        .unwrap_or_else(|| panic!("no prefix: {}", out.show()));
    let (timestamp, text) = rest
        .split_once(' ')
        .unwrap_or_else(|| panic!("no timestamp: {}", out.show()));
    assert_eq!(text, "first", "{}", out.show());
    assert!(!out.stdout.contains("second"), "{}", out.show());
    let started = epoch(&inspect(&id, "{{.State.StartedAt}}"));
    let stamped = epoch(timestamp);
    assert!(
        (stamped - started).abs() < 60.0,
        "the line's time {timestamp} is the container's: started {started}, stamped {stamped}"
    );
}

#[test]
fn logs_since_leaves_out_earlier_lines() {
    let stack = Stack::new(TWO_LINES);
    stack.ok(&["up", "-d"]);
    let id = stack.id("web");
    wait_for_log(&id, "first");
    // `--since` takes whole seconds: cut at the next one, then print `second` after it.
    let cut = now_epoch().floor() + 1.0;
    assert!(wait_until(Duration::from_secs(5), || now_epoch() > cut + 0.2));
    docker_ok(&["exec", &id, "touch", "/tmp/go"]);
    wait_for_log(&id, "second");

    let cut = format!("{}", cut as u64);
    assert_eq!(
        stack.ok(&["logs", "--since", &cut, "web"]).stdout,
        "web | second\n"
    );
    assert_eq!(
        stack.ok(&["logs", "--since", "1h"]).stdout,
        "web | first\nweb | second\n"
    );
    let bad = stack.devenv(&["logs", "--since", "yesterday"]);
    assert_eq!(bad.code, Some(2), "{}", bad.show());
    assert!(bad.stderr.contains("--since"), "{}", bad.show());
}

#[test]
fn logs_follow_prints_new_lines_until_the_container_stops() {
    let stack = Stack::new(TWO_LINES);
    stack.ok(&["up", "-d"]);
    let id = stack.id("web");
    wait_for_log(&id, "first");

    let mut follow = stack.spawn(&["logs", "-f", "web"]);
    follow.wait_for("web | first\n", Duration::from_secs(20));
    assert!(!follow.stdout().contains("second"), "{}", follow.stdout());
    docker_ok(&["exec", &id, "touch", "/tmp/go"]);
    follow.wait_for("web | second\n", Duration::from_secs(20));
    assert!(
        !follow.has_ended(),
        "-f keeps following:\n{}",
        follow.stderr()
    );

    stack.ok(&["stop"]);
    let out = follow.finish_since(Duration::from_secs(20), Instant::now());
    assert_eq!(out.code, Some(0), "{}", out.show());
    assert_eq!(out.stdout, "web | first\nweb | second\n", "{}", out.show());
}

// ---- build -----------------------------------------------------------------------------

#[test]
fn build_pull_without_a_registry_fails_fast_naming_the_service() {
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
        &format!("FROM {TEST_IMAGE}\nRUN echo built\n"),
    );
    let image = format!("{}-app", stack.name);

    let out = stack.devenv(&["build", "--pull"]);
    eprintln!("build --pull without a registry: {:?}", out.elapsed);
    assert_eq!(out.code, Some(1), "{}", out.show());
    assert!(
        out.stderr
            .contains("error: failed to build the image of service `app` at `Step 1/"),
        "{}",
        out.show()
    );
    assert!(
        out.stderr.contains(&format!("FROM {TEST_IMAGE}`")),
        "the failing step is the base image's:\n{}",
        out.show()
    );
    assert!(
        has_status(&out.stderr, "app", "Build failed"),
        "{}",
        out.show()
    );
    assert!(out.elapsed < Duration::from_secs(30), "{}", out.show());
    assert!(!exists("image", &image), "nothing was tagged");

    // Without --pull the local base image is enough.
    let out = stack.ok(&["build"]);
    assert!(has_status(&out.stderr, "app", "Built"), "{}", out.show());
    assert!(exists("image", &image));
}

#[test]
fn build_pull_without_a_registry_points_at_the_flag() {
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
        &format!("FROM {TEST_IMAGE}\nRUN echo built\n"),
    );
    let out = stack.devenv(&["build", "--pull"]);
    assert_eq!(out.code, Some(1), "{}", out.show());
    assert!(
        out.stderr.contains("--pull"),
        "the base image is on this machine; only --pull needs the registry:\n{}",
        out.show()
    );
    assert!(
        !out.stderr.contains("build the base image locally"),
        "{}",
        out.show()
    );
}
