//! Lifecycle edge cases against the real engine: partial ups, changes behind devenv's back, one-offs, orphans, dependency order, and which config edits recreate a container.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::stack::{Out, Stack, exists, has_status, inspect, state, wait_until};
use common::{TEST_IMAGE, docker_ok};

impl Stack {
    /// Builds `devenv-edges/<project>:latest` from `dockerfile` (no context), labelled as the
    /// project's so the cleanup removes it and every image it replaces.
    fn build_image(&self, dockerfile: &str) -> String {
        let tag = format!("devenv-edges/{}:latest", self.name);
        let label = format!("dev.devenv.project={}", self.name);
        let mut child = Command::new("docker")
            .args(["build", "-q", "-t", &tag, "--label", &label, "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("docker build starts");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(dockerfile.as_bytes())
            .expect("write the Dockerfile");
        let output = child.wait_with_output().expect("docker build runs");
        assert!(
            output.status.success(),
            "docker build failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        tag
    }
}

fn started_at(target: &str) -> String {
    inspect(target, "{{.State.StartedAt}}")
}

/// A process that is not devenv's, killed when dropped.
struct Foreign(Child);

impl Drop for Foreign {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The reason on `service`'s `Recreate (...)` line.
fn recreate_reason(out: &Out, service: &str) -> String {
    out.stderr
        .lines()
        .find_map(|l| {
            let rest = l.strip_prefix(service)?.trim();
            rest.strip_prefix("Recreate (")?
                .strip_suffix(')')
                .map(str::to_owned)
        })
        .unwrap_or_else(|| panic!("no recreate line for `{service}`:\n{}", out.show()))
}

/// Three services that never stop on their own and die at once when stopped: `web` depends on
/// `db`, `other` on nothing.
const THREE: &str = "
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
  other:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
";

fn keys(map: &BTreeMap<String, String>) -> Vec<&str> {
    map.keys().map(String::as_str).collect()
}

// ---- up: partial, then the rest ----------------------------------------------------------

#[test]
fn up_of_one_service_brings_its_dependencies_and_a_plain_up_adds_the_rest() {
    let stack = Stack::new(THREE);
    let out = stack.ok(&["up", "-d", "web"]);
    let first = stack.containers();
    assert_eq!(keys(&first), vec!["db", "web"], "{}", out.show());
    for id in first.values() {
        assert_eq!(state(id), "running");
    }

    let out = stack.ok(&["up", "-d"]);
    assert!(has_status(&out.stderr, "db", "Running"), "{}", out.show());
    assert!(has_status(&out.stderr, "web", "Running"), "{}", out.show());
    assert!(
        has_status(&out.stderr, "other", "Started"),
        "{}",
        out.show()
    );
    let all = stack.containers();
    assert_eq!(keys(&all), vec!["db", "other", "web"]);
    assert_eq!(all["db"], first["db"], "db kept");
    assert_eq!(all["web"], first["web"], "web kept");
    assert_eq!(state(&all["other"]), "running");
}

#[test]
fn up_no_deps_starts_only_the_service_and_a_later_up_adds_the_dependency_without_recreating() {
    let stack = Stack::new(THREE);
    let out = stack.ok(&["up", "-d", "--no-deps", "web"]);
    let first = stack.containers();
    assert_eq!(keys(&first), vec!["web"], "{}", out.show());
    let web_started = started_at(&first["web"]);

    let out = stack.ok(&["up", "-d", "web"]);
    assert!(has_status(&out.stderr, "db", "Started"), "{}", out.show());
    assert!(has_status(&out.stderr, "web", "Running"), "{}", out.show());
    let after = stack.containers();
    assert_eq!(keys(&after), vec!["db", "web"]);
    assert_eq!(after["web"], first["web"]);
    assert_eq!(started_at(&after["web"]), web_started, "web left alone");
}

// ---- changes behind devenv's back --------------------------------------------------------

#[test]
fn a_container_removed_or_stopped_behind_devenvs_back_is_recreated_or_started() {
    let stack = Stack::new(THREE);
    stack.ok(&["up", "-d"]);
    let before = stack.containers();
    docker_ok(&["rm", "-f", &before["db"]]);
    docker_ok(&["stop", &before["web"]]);

    let out = stack.ok(&["up", "-d"]);
    assert!(has_status(&out.stderr, "db", "Created"), "{}", out.show());
    assert!(has_status(&out.stderr, "web", "Started"), "{}", out.show());
    assert!(
        has_status(&out.stderr, "other", "Running"),
        "{}",
        out.show()
    );
    let after = stack.containers();
    assert_ne!(after["db"], before["db"], "a new db");
    assert_eq!(after["web"], before["web"], "web started, not recreated");
    assert_eq!(after["other"], before["other"]);
    for id in after.values() {
        assert_eq!(state(id), "running");
    }
}

#[test]
fn an_image_rebuilt_under_the_same_tag_recreates_the_container_with_the_reason() {
    let stack = Stack::new(
        "
services:
  app:
    image: devenv-edges/PROJECT:latest
    command: sleep 300
    stop_signal: SIGKILL
",
    );
    stack.build_image(&format!("FROM {TEST_IMAGE}\nRUN echo v1 > /version\n"));
    stack.ok(&["up", "-d"]);
    let before = stack.id("app");

    stack.build_image(&format!("FROM {TEST_IMAGE}\nRUN echo v2 > /version\n"));
    let out = stack.ok(&["up", "-d"]);
    assert_eq!(recreate_reason(&out, "app"), "image changed");
    assert_ne!(stack.id("app"), before);
    assert_eq!(stack.ok(&["exec", "app", "cat", "/version"]).stdout, "v2\n");

    let again = stack.ok(&["up", "-d"]);
    assert!(
        has_status(&again.stderr, "app", "Running"),
        "{}",
        again.show()
    );
}

#[test]
fn a_network_removed_behind_devenvs_back_does_not_wedge_the_stack() {
    let stack = Stack::new(THREE);
    stack.ok(&["up", "-d"]);
    stack.ok(&["stop"]);
    // `docker network prune` does this to every stopped stack.
    docker_ok(&["network", "rm", &stack.network()]);

    let out = stack.devenv(&["up", "-d"]);
    assert!(
        !out.stderr.contains("does not exist"),
        "the containers do exist; it is the network that is gone:\n{}",
        out.show()
    );
    assert_eq!(out.code, Some(0), "{}", out.show());
    for id in stack.containers().values() {
        assert_eq!(state(id), "running");
    }
}

// ---- down ----------------------------------------------------------------------------------

#[test]
fn down_removes_a_one_off_that_is_still_running() {
    let stack = Stack::new(THREE);
    stack.ok(&["up", "-d"]);
    let run = stack.spawn(&["run", "web", "sleep", "120"]);
    let running = wait_until(Duration::from_secs(60), || {
        !stack.oneoff_full_ids(true).is_empty()
    });
    assert!(
        running,
        "the one-off never ran:\n{}{}",
        run.stdout(),
        run.stderr()
    );

    let out = stack.ok(&["down"]);
    assert!(stack.oneoff_full_ids(false).is_empty(), "{}", out.show());
    assert!(stack.containers().is_empty(), "{}", out.show());
    assert!(!exists("network", &stack.network()), "{}", out.show());

    // The run ends (its container is gone) without claiming success, and leaves nothing.
    let ran = run.finish(Duration::from_secs(60));
    assert_ne!(ran.code, Some(0), "{}", ran.show());
    assert!(stack.oneoff_full_ids(false).is_empty());
    assert!(stack.networks().is_empty());
}

#[test]
fn down_of_a_project_that_never_ran_succeeds_and_touches_nothing() {
    let stack = Stack::new(THREE);
    let out = stack.ok(&["down", "--volumes"]);
    assert!(!out.stderr.contains("error"), "{}", out.show());
    assert!(stack.containers().is_empty());
    assert!(stack.networks().is_empty());
    assert!(stack.volumes().is_empty());
}

#[test]
fn down_stops_dependents_before_their_dependencies() {
    // web takes a second to shut down; db notes when it got the signal.
    let stack = Stack::new(
        r#"
services:
  db:
    image: IMAGE
    command: [sh, -c, "trap 'echo db >> /shared/order; exit 0' TERM; echo db >> /shared/ready; sleep 300 & wait"]
    volumes: [./shared:/shared]
  web:
    image: IMAGE
    command: [sh, -c, "trap 'sleep 1; echo web >> /shared/order; exit 0' TERM; echo web >> /shared/ready; sleep 300 & wait"]
    volumes: [./shared:/shared]
    depends_on: [db]
"#,
    );
    std::fs::create_dir(stack.path("shared")).expect("mkdir shared");
    let order = stack.path("shared/order");
    let read_order = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();

    // Both have set their trap once both wrote to `ready`.
    let ready = stack.path("shared/ready");
    let traps_set = || {
        let set = wait_until(Duration::from_secs(30), || {
            read_order(&ready).lines().count() == 2
        });
        assert!(set, "the services never got ready");
        std::fs::remove_file(&ready).expect("reset ready");
    };

    // `stop` does it in order: the baseline.
    stack.ok(&["up", "-d"]);
    traps_set();
    stack.ok(&["stop"]);
    assert_eq!(read_order(&order), "web\ndb\n", "stop: dependents first");
    std::fs::remove_file(&order).expect("reset");

    stack.ok(&["start"]);
    traps_set();
    let out = stack.ok(&["down"]);
    assert_eq!(
        read_order(&order),
        "web\ndb\n",
        "down: db was stopped while web still shut down\n{}",
        out.show()
    );
}

// ---- two projects, one directory ---------------------------------------------------------

#[test]
fn two_projects_in_one_directory_leave_each_other_alone() {
    let a = Stack::new(
        "
services:
  db:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
    volumes: [data:/data]
  web:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
    depends_on: [db]
volumes:
  data:
",
    );
    let b = a.sibling();
    a.ok(&["up", "-d"]);
    let b_up = b.ok(&["up", "-d"]);
    assert!(has_status(&b_up.stderr, "db", "Created"), "{}", b_up.show());
    let a_ids = a.containers();
    let b_ids = b.containers();
    assert_eq!(keys(&b_ids), vec!["db", "web"]);
    for service in ["db", "web"] {
        assert_ne!(a_ids[service], b_ids[service]);
    }
    assert_eq!(a.volumes(), vec![format!("{}_data", a.name)]);
    assert_eq!(b.volumes(), vec![format!("{}_data", b.name)]);

    // Stopping one leaves the other running; ps shows each its own.
    b.ok(&["stop"]);
    for id in a_ids.values() {
        assert_eq!(state(id), "running");
    }
    let ps = a.ok(&["ps", "--json"]);
    assert!(!ps.stdout.contains(&b.name), "{}", ps.show());
    assert_eq!(ps.stdout.matches(&a.name).count(), 2, "{}", ps.show());
    b.ok(&["start"]);

    // Removing one with its volumes leaves everything of the other.
    a.ok(&["down", "--volumes"]);
    assert!(a.containers().is_empty());
    assert!(a.volumes().is_empty());
    assert!(a.networks().is_empty());
    assert_eq!(b.containers(), b_ids);
    for id in b_ids.values() {
        assert_eq!(state(id), "running");
    }
    assert_eq!(b.volumes(), vec![format!("{}_data", b.name)]);
    assert_eq!(b.networks(), vec![b.network()]);
}

// ---- stop, start, restart ------------------------------------------------------------------

#[test]
fn lifecycle_commands_on_a_stack_never_up_say_so_and_create_nothing() {
    let stack = Stack::new(THREE);
    for args in [
        &["stop"][..],
        &["start"],
        &["restart"],
        &["start", "web"],
        &["restart", "db"],
    ] {
        let out = stack.ok(args);
        assert!(
            out.stderr.contains("no containers to act on"),
            "{args:?}: {}",
            out.show()
        );
    }
    let unknown = stack.devenv(&["start", "nope"]);
    assert_eq!(unknown.code, Some(2), "{}", unknown.show());
    assert!(
        unknown.stderr.contains("no service `nope`"),
        "{}",
        unknown.show()
    );
    assert!(stack.containers().is_empty());
    assert!(stack.networks().is_empty());
}

#[test]
fn restart_of_one_service_leaves_the_others_alone_and_restart_starts_a_stopped_stack() {
    let stack = Stack::new(THREE);
    stack.ok(&["up", "-d"]);
    let ids = stack.containers();
    let web_started = started_at(&ids["web"]);
    let other_started = started_at(&ids["other"]);
    let db_started = started_at(&ids["db"]);

    // A dependency restarted alone: its dependents keep running untouched.
    let out = stack.ok(&["restart", "db"]);
    assert!(has_status(&out.stderr, "db", "Restarted"), "{}", out.show());
    assert!(!out.stderr.contains("web"), "{}", out.show());
    assert_ne!(started_at(&ids["db"]), db_started);
    assert_eq!(started_at(&ids["web"]), web_started);
    assert_eq!(started_at(&ids["other"]), other_started);

    // Stopping twice is fine; restart then brings every container back.
    stack.ok(&["stop"]);
    let again = stack.ok(&["stop"]);
    assert!(
        has_status(&again.stderr, "web", "Stopped"),
        "{}",
        again.show()
    );
    let out = stack.ok(&["restart"]);
    for service in ["db", "web", "other"] {
        assert!(
            has_status(&out.stderr, service, "Restarted"),
            "{}",
            out.show()
        );
    }
    assert_eq!(stack.containers(), ids, "nothing recreated");
    for id in ids.values() {
        assert_eq!(state(id), "running");
    }
}

#[test]
fn start_of_a_service_starts_its_stopped_dependencies_first() {
    let stack = Stack::new(THREE);
    stack.ok(&["up", "-d"]);
    let ids = stack.containers();
    stack.ok(&["stop"]);

    let out = stack.ok(&["start", "web"]);
    assert_eq!(state(&ids["web"]), "running", "{}", out.show());
    assert_eq!(
        state(&ids["db"]),
        "running",
        "web depends on db:\n{}",
        out.show()
    );
    assert_eq!(state(&ids["other"]), "exited", "{}", out.show());
}

#[test]
fn start_and_restart_with_an_orphan_container_do_not_panic() {
    let two = "
services:
  web:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
  worker:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
";
    let stack = Stack::new(two);
    stack.ok(&["up", "-d"]);
    stack.config(&two.replace("worker:", "jobs:"));
    stack.ok(&["up", "-d"]);
    let ids = stack.containers();
    assert_eq!(keys(&ids), vec!["jobs", "web", "worker"]);

    for verb in ["restart", "start"] {
        let out = stack.devenv(&[verb]);
        assert!(!out.stderr.contains("panicked"), "{verb}: {}", out.show());
        assert_eq!(out.code, Some(0), "{verb}: {}", out.show());
        for service in ["web", "jobs"] {
            assert_eq!(state(&ids[service]), "running", "{verb}: {}", out.show());
        }
    }
}

// ---- logs, ps ------------------------------------------------------------------------------

/// (service, text) of each `service | text` line.
fn log_lines(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|l| l.split_once(" | "))
        .map(|(s, t)| (s.trim().to_owned(), t.to_owned()))
        .collect()
}

#[test]
fn logs_keep_each_services_order_filter_by_service_and_leave_out_one_offs() {
    let stack = Stack::new(
        "
services:
  aa:
    image: IMAGE
    command: [sh, -c, 'for i in $$(seq 1 300); do echo aa-$$i; done; exec sleep 300']
    stop_signal: SIGKILL
  bb:
    image: IMAGE
    command: [sh, -c, 'for i in $$(seq 1 300); do echo bb-$$i; done; exec sleep 300']
    stop_signal: SIGKILL
",
    );
    stack.ok(&["up", "-d"]);
    // A kept one-off of aa: its output stays on the engine, but it is not aa's log.
    let oneoff = stack.ok(&["run", "--keep", "aa", "echo", "ONEOFF-LINE"]);
    assert_eq!(oneoff.stdout, "ONEOFF-LINE\n");
    assert_eq!(stack.oneoff_full_ids(false).len(), 1);

    let complete = wait_until(Duration::from_secs(30), || {
        let out = stack.ok(&["logs"]).stdout;
        out.contains("aa | aa-300") && out.contains("bb | bb-300")
    });
    assert!(complete, "{}", stack.ok(&["logs"]).show());

    let all = stack.ok(&["logs"]);
    assert!(!all.stdout.contains("ONEOFF"), "{}", all.show());
    let lines = log_lines(&all.stdout);
    for service in ["aa", "bb"] {
        let got: Vec<&str> = lines
            .iter()
            .filter(|(s, _)| s == service)
            .map(|(_, t)| t.as_str())
            .collect();
        let want: Vec<String> = (1..=300).map(|i| format!("{service}-{i}")).collect();
        assert_eq!(got, want, "{service}'s lines, in order");
    }

    let only = stack.ok(&["logs", "bb"]);
    let lines = log_lines(&only.stdout);
    assert_eq!(lines.len(), 300, "{}", only.show());
    assert!(lines.iter().all(|(s, _)| s == "bb"), "{}", only.show());
    let only_aa = stack.ok(&["logs", "aa"]);
    assert!(!only_aa.stdout.contains("ONEOFF"), "{}", only_aa.show());
}

#[test]
fn ps_shows_an_exited_services_code_only_with_all_and_lists_no_one_offs() {
    let stack = Stack::new(
        "
services:
  web:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
  job:
    image: IMAGE
    command: [sh, -c, 'exit 3']
",
    );
    stack.ok(&["up", "-d"]);
    let ids = stack.containers();
    let exited = wait_until(Duration::from_secs(30), || state(&ids["job"]) == "exited");
    assert!(exited);
    let run = stack.spawn(&["run", "web", "sleep", "120"]);
    let running = wait_until(Duration::from_secs(60), || {
        !stack.oneoff_full_ids(true).is_empty()
    });
    assert!(running, "{}", run.stderr());

    let ps = stack.ok(&["ps"]);
    let rows: Vec<&str> = ps.stdout.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "only the running service:\n{}", ps.show());
    assert!(rows[0].starts_with("web "), "{}", ps.show());
    assert!(!ps.stdout.contains("-run-"), "{}", ps.show());

    let all = stack.ok(&["ps", "-a"]);
    let job = all
        .stdout
        .lines()
        .find(|l| l.starts_with("job "))
        .unwrap_or_else(|| panic!("no job row:\n{}", all.show()));
    assert!(job.contains("exited (3)"), "{}", all.show());
    assert!(!all.stdout.contains("-run-"), "{}", all.show());

    let json = stack.ok(&["ps", "-a", "--json"]);
    let rows: serde_json::Value = serde_json::from_str(&json.stdout).expect("ps --json");
    let rows = rows.as_array().expect("an array");
    assert_eq!(rows.len(), 2, "{}", json.show());
    let job = rows
        .iter()
        .find(|r| r["service"] == "job")
        .expect("job row");
    assert_eq!(job["exit_code"], 3, "{}", json.show());
    assert_eq!(job["state"], "exited", "{}", json.show());
}

// ---- run and exec --------------------------------------------------------------------------

#[test]
fn runs_beside_the_running_service_get_their_own_containers_and_leave_it_alone() {
    let stack = Stack::new(
        "
services:
  web:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
    ports: ['127.0.0.1::80']
",
    );
    stack.ok(&["up", "-d"]);
    let service = stack.id("web");
    let service_started = started_at(&service);
    std::fs::create_dir(stack.path("sig")).expect("mkdir sig");
    let sig = stack.path("sig").display().to_string();
    let mount = format!("{sig}:/sig");
    let script = "echo host $HOSTNAME; while [ ! -f /sig/go ]; do sleep 0.1; done";
    let first = stack.spawn(&["run", "-v", &mount, "web", "sh", "-c", script]);
    let second = stack.spawn(&["run", "-v", &mount, "web", "sh", "-c", script]);
    let both = wait_until(Duration::from_secs(60), || {
        stack.oneoff_full_ids(true).len() == 2
    });
    assert!(
        both,
        "two one-offs at once:\n{}{}\n{}{}",
        first.stdout(),
        first.stderr(),
        second.stdout(),
        second.stderr()
    );
    let names: Vec<String> = stack
        .oneoff_full_ids(true)
        .iter()
        .map(|id| inspect(id, "{{.Name}}"))
        .collect();
    assert_ne!(names[0], names[1]);
    for name in &names {
        assert!(name.contains(&format!("{}-web-run-", stack.name)), "{name}");
    }
    std::fs::write(stack.path("sig/go"), "").expect("signal");

    let first = first.finish(Duration::from_secs(60));
    let second = second.finish(Duration::from_secs(60));
    assert_eq!(first.code, Some(0), "{}", first.show());
    assert_eq!(second.code, Some(0), "{}", second.show());
    let host = |o: &Out| o.stdout.trim().strip_prefix("host ").map(str::to_owned);
    let (h1, h2) = (host(&first), host(&second));
    assert!(h1.is_some() && h2.is_some(), "{first:?} {second:?}");
    assert_ne!(h1, h2);
    assert!(
        h1.iter()
            .chain(&h2)
            .all(|h| !service.starts_with(h.as_str()))
    );

    assert!(stack.oneoff_full_ids(false).is_empty(), "both removed");
    assert_eq!(stack.id("web"), service);
    assert_eq!(state(&service), "running");
    assert_eq!(started_at(&service), service_started);
}

#[test]
fn exec_into_a_stopped_service_fails_naming_it() {
    let stack = Stack::new(THREE);
    stack.ok(&["up", "-d"]);
    stack.ok(&["stop", "web"]);
    let out = stack.devenv(&["exec", "web", "true"]);
    assert_eq!(out.code, Some(1), "{}", out.show());
    assert!(
        out.stderr.contains("service `web` is not running"),
        "{}",
        out.show()
    );
    // Its container is there, stopped: starting it is all it takes.
    assert!(
        out.stderr.contains("start it with `devenv start web`"),
        "{}",
        out.show()
    );
    assert!(out.stdout.is_empty(), "{}", out.show());
    // The others are still there to exec into.
    stack.ok(&["exec", "db", "true"]);
}

// ---- depends_on conditions ---------------------------------------------------------------

#[test]
fn a_failing_one_shot_dependency_stops_up_with_its_code_and_logs() {
    let yaml = "
services:
  migrate:
    image: IMAGE
    command: [sh, -c, 'echo migrating; sleep 0.2; echo migration-failed; exit 4']
  web:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
    depends_on:
      migrate: {condition: service_completed_successfully}
";
    let stack = Stack::new(yaml);
    let out = stack.devenv(&["up", "-d"]);
    assert_eq!(out.code, Some(1), "{}", out.show());
    assert!(
        out.stderr
            .contains("service `migrate` exited with code 4 but had to complete successfully"),
        "{}",
        out.show()
    );
    assert!(out.stderr.contains("migration-failed"), "{}", out.show());
    assert!(!has_status(&out.stderr, "web", "Started"), "{}", out.show());
    assert_eq!(keys(&stack.containers()), vec!["migrate"], "web not made");

    stack.config(&yaml.replace("exit 4", "exit 0"));
    let out = stack.ok(&["up", "-d"]);
    assert!(
        has_status(&out.stderr, "migrate", "Completed"),
        "{}",
        out.show()
    );
    let ids = stack.containers();
    assert_eq!(state(&ids["web"]), "running");
}

// ---- which edits recreate ----------------------------------------------------------------

const EDITED: &str = "
services:
  db:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
  web:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
    environment: {A: '1'}
    ports: ['127.0.0.1::80']
    volumes: [data:/data]
    stop_grace_period: 5s
volumes:
  data:
";

#[test]
fn changing_only_depends_on_or_profiles_recreates_nothing() {
    let stack = Stack::new(EDITED);
    stack.ok(&["up", "-d"]);
    let before = stack.containers();
    let started: Vec<String> = before.values().map(|id| started_at(id)).collect();

    stack.config(&EDITED.replace(
        "    environment: {A: '1'}\n",
        "    environment: {A: '1'}\n    depends_on: [db]\n    profiles: [extra]\n",
    ));
    // Named, web is selected whatever its profiles.
    let out = stack.ok(&["up", "-d", "db", "web"]);
    assert!(has_status(&out.stderr, "web", "Running"), "{}", out.show());
    assert!(has_status(&out.stderr, "db", "Running"), "{}", out.show());
    assert!(!out.stderr.contains("Recreate"), "{}", out.show());
    // Plain: web's profile is off, so only db is converged and web is no orphan.
    let out = stack.ok(&["up", "-d"]);
    assert!(!out.stderr.contains("Recreate"), "{}", out.show());
    assert!(!out.stderr.contains("orphan"), "{}", out.show());
    assert_eq!(stack.containers(), before);
    let now: Vec<String> = before.values().map(|id| started_at(id)).collect();
    assert_eq!(now, started, "nothing restarted");
}

#[test]
fn changing_environment_command_or_ports_recreates_naming_the_field() {
    let stack = Stack::new(EDITED);
    stack.ok(&["up", "-d"]);
    let mut yaml = EDITED.to_owned();
    let edits = [
        ("A: '1'", "A: '2'", "environment.A changed"),
        (
            "    command: sleep 300\n    stop_signal: SIGKILL\n    environment",
            "    command: sleep 301\n    stop_signal: SIGKILL\n    environment",
            "command changed",
        ),
        ("'127.0.0.1::80'", "'127.0.0.1::81'", "ports changed"),
    ];
    for (from, to, reason) in edits {
        let before = stack.containers();
        assert!(yaml.contains(from), "{from}");
        yaml = yaml.replace(from, to);
        stack.config(&yaml);
        let out = stack.ok(&["up", "-d"]);
        assert_eq!(recreate_reason(&out, "web"), reason, "{}", out.show());
        assert!(has_status(&out.stderr, "db", "Running"), "{}", out.show());
        let after = stack.containers();
        assert_ne!(after["web"], before["web"], "{reason}");
        assert_eq!(after["db"], before["db"], "{reason}");
        assert_eq!(state(&after["web"]), "running");
    }
    let env = inspect(&stack.id("web"), "{{json .Config.Env}}");
    assert!(env.contains("\"A=2\""), "{env}");
    assert_eq!(
        inspect(&stack.id("web"), "{{json .Config.Cmd}}"),
        r#"["sleep","301"]"#
    );
}

#[test]
fn changing_volumes_or_stop_grace_period_names_the_config_key() {
    let stack = Stack::new(EDITED);
    stack.ok(&["up", "-d"]);
    let before = stack.id("web");

    let yaml = EDITED.replace("data:/data]", "data:/data2]");
    stack.config(&yaml);
    let out = stack.ok(&["up", "-d"]);
    assert_ne!(stack.id("web"), before, "recreated");
    let reason = recreate_reason(&out, "web");
    assert!(reason.starts_with("volumes"), "{reason}\n{}", out.show());

    stack.config(&yaml.replace("5s", "7s"));
    let out = stack.ok(&["up", "-d"]);
    let reason = recreate_reason(&out, "web");
    assert!(
        reason.starts_with("stop_grace_period"),
        "{reason}\n{}",
        out.show()
    );
}

// ---- ports ---------------------------------------------------------------------------------

#[test]
fn a_port_held_by_another_program_fails_naming_service_and_port_then_up_converges() {
    // A port that is free now; python binds it below.
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        probe.local_addr().expect("addr").port()
    };
    let server = Foreign(
        Command::new("python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 starts"),
    );
    let listening = wait_until(Duration::from_secs(30), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(listening, "python3 never listened on {port}");

    let stack = Stack::new(&format!(
        "
services:
  db:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
  web:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
    ports: ['{port}:80']
    depends_on: [db]
"
    ));
    let out = stack.devenv(&["up", "-d"]);
    assert_eq!(out.code, Some(1), "{}", out.show());
    assert!(
        out.stderr.contains(&format!(
            "service `web`: port 127.0.0.1:{port} is already in use"
        )),
        "{}",
        out.show()
    );
    assert!(
        !stack.containers().contains_key("web"),
        "no half-made web:\n{}",
        out.show()
    );

    drop(server);
    let freed = wait_until(Duration::from_secs(30), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
    });
    assert!(freed);
    let out = stack.ok(&["up", "-d"]);
    assert!(has_status(&out.stderr, "web", "Started"), "{}", out.show());
    let web = stack.id("web");
    assert_eq!(state(&web), "running");
    assert_eq!(
        docker_ok(&["port", &web, "80"]),
        format!("127.0.0.1:{port}")
    );
}

// ---- profiles and orphans ----------------------------------------------------------------

#[test]
fn up_starts_nothing_when_every_service_is_behind_an_inactive_profile() {
    let stack = Stack::new(
        "
services:
  tools:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
    profiles: [debug]
",
    );
    let out = stack.devenv(&["up", "-d"]);
    assert!(
        stack.containers().is_empty(),
        "the `debug` profile is off:\n{}",
        out.show()
    );
}

#[test]
fn a_renamed_service_is_an_orphan_that_down_reports_and_removes_on_request() {
    let two = "
services:
  web:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
  worker:
    image: IMAGE
    command: sleep 300
    stop_signal: SIGKILL
";
    let stack = Stack::new(two);
    stack.ok(&["up", "-d"]);
    let worker = stack.id("worker");
    stack.config(&two.replace("worker:", "jobs:"));

    let out = stack.ok(&["up", "-d"]);
    assert!(
        out.stderr
            .contains("found containers of services no longer in the config: worker"),
        "{}",
        out.show()
    );
    assert!(has_status(&out.stderr, "jobs", "Started"), "{}", out.show());
    assert_eq!(state(&worker), "running", "left alone without the flag");

    let out = stack.ok(&["down"]);
    assert!(
        out.stderr
            .contains("leaving containers of services no longer in the config: worker"),
        "{}",
        out.show()
    );
    assert!(out.stderr.contains("--remove-orphans"), "{}", out.show());
    assert_eq!(keys(&stack.containers()), vec!["worker"]);

    stack.ok(&["down", "--remove-orphans"]);
    assert!(stack.containers().is_empty());
    assert!(stack.networks().is_empty());
}
