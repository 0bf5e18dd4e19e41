//! `devenv watch` end to end: the built binary against the real engine, observed through its
//! `--json` events and through the containers themselves.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::watch::{IDLE, Project, Setup, assert_success, kind, paths_of};
use common::{TEST_IMAGE, docker, docker_ok};

/// How long any single expected event may take on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(20);

/// After the last expected event, how long nothing more may happen for a count to be final.
/// Several times the debounce of every rule below, and longer than their actions take.
const SETTLE: Duration = Duration::from_millis(1500);

/// The harness settings of this suite.
const SETUP: Setup = Setup {
    prefix: "watch",
    patience: PATIENCE,
    settle: SETTLE,
};

fn tail_of(finished: &Value) -> Vec<String> {
    finished["output_tail"]
        .as_array()
        .unwrap_or_else(|| panic!("action_finished without output_tail: {finished}"))
        .iter()
        .map(|l| l.as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The busybox service `app` with the project directory bind-mounted at /work.
fn app_with_work_mount() -> String {
    format!(
        "  app:\n    image: {TEST_IMAGE}\n    command: {IDLE}\n    volumes:\n      - ./:/work\n"
    )
}

#[test]
fn an_edit_runs_the_exec_action_in_the_running_container() {
    let p = Project::new(
        &SETUP,
        &app_with_work_mount(),
        r#"  - paths: ["src/**"]
    actions:
      - exec: {service: app, command: ["sh", "-c", "hostname >> /work/runs; echo built"]}"#,
    );
    std::fs::create_dir_all(p.path("src")).expect("mkdir src");
    p.up();
    let mut w = p.watch(&[]);

    let t = Instant::now();
    p.write("src/app.js", "console.log(1)\n");
    let change = w.wait_for("the change", |e| kind(e) == "change");
    assert_eq!(
        paths_of(&change),
        vec![p.root.join("src/app.js").display().to_string()]
    );
    let started = w.wait_for("action_started", |e| kind(e) == "action_started");
    assert_eq!(
        started["action"],
        "exec app: sh -c 'hostname >> /work/runs; echo built'"
    );
    let done = w.finished(1);
    eprintln!("edit → exec finished: {:?}", t.elapsed());
    assert_eq!(done["status"], "ok", "{done}");
    assert_eq!(done["exit_code"], 0, "{done}");
    assert_eq!(tail_of(&done), vec!["built"]);

    // The command ran in the service's running container, not in a new one.
    let id = p.container("app");
    let runs = std::fs::read_to_string(p.path("runs")).expect("the exec wrote /work/runs");
    assert_eq!(runs.lines().collect::<Vec<_>>(), vec![&id[..12]]);
    w.settle();
    assert_eq!(w.count("action_started"), 1, "{:#?}", w.seen);
    w.assert_alive();
}

#[test]
fn output_written_under_public_assets_does_not_retrigger() {
    // The rule matches every .js file, and the action writes one into the watched tree: only
    // the default ignore of /public/assets/ stops a loop.
    let p = Project::new(
        &SETUP,
        &app_with_work_mount(),
        r#"  - paths: ["**/*.js"]
    actions:
      - exec: {service: app, command: ["sh", "-c", "date >> /work/public/assets/application.js; date >> /work/runs"]}"#,
    );
    p.write("app/javascript/main.js", "1\n");
    std::fs::create_dir_all(p.path("public/assets")).expect("mkdir public/assets");
    p.up();
    let mut w = p.watch(&[]);

    p.write("app/javascript/main.js", "2\n");
    let done = w.finished(1);
    assert_eq!(done["status"], "ok", "{done}");
    w.settle();
    assert_eq!(
        p.lines_of("public/assets/application.js"),
        1,
        "the action wrote its output into the watched tree"
    );
    assert_eq!(w.count("action_started"), 1, "{:#?}", w.seen);
    assert_eq!(p.lines_of("runs"), 1);
    w.assert_alive();
}

#[test]
fn an_atomic_rename_save_triggers_once_for_the_target() {
    let p = Project::new(
        &SETUP,
        &app_with_work_mount(),
        r#"  - paths: ["src/**"]
    actions:
      - exec: {service: app, command: ["sh", "-c", "date >> /work/runs"]}"#,
    );
    p.write("src/x.js", "old\n");
    p.up();
    let mut w = p.watch(&[]);

    // What editors do on save: write a temporary file beside the target, then rename it over.
    p.write("src/x.tmp", "new\n");
    std::fs::rename(p.path("src/x.tmp"), p.path("src/x.js")).expect("rename over x.js");
    let change = w.wait_for("the change", |e| kind(e) == "change");
    assert_eq!(
        paths_of(&change),
        vec![p.root.join("src/x.js").display().to_string()]
    );
    let done = w.finished(1);
    assert_eq!(done["status"], "ok", "{done}");
    w.settle();
    assert_eq!(w.count("change"), 1, "{:#?}", w.seen);
    assert_eq!(w.count("action_started"), 1, "{:#?}", w.seen);
    assert_eq!(p.lines_of("runs"), 1);
}

#[test]
fn a_burst_of_a_thousand_files_triggers_one_run() {
    // A quiet period well above a scheduling hiccup of the test writing the burst, so a
    // loaded machine still sees one burst; the core's own tests cover the 50ms default.
    let p = Project::new(
        &SETUP,
        &app_with_work_mount(),
        r#"  - paths: ["src/**"]
    debounce: 500ms
    actions:
      - exec: {service: app, command: ["sh", "-c", "date >> /work/runs"]}"#,
    );
    std::fs::create_dir_all(p.path("src/gen")).expect("mkdir src/gen");
    p.up();
    let mut w = p.watch(&[]);

    let t = Instant::now();
    for i in 0..1000 {
        std::fs::write(p.path(&format!("src/gen/f{i:04}.js")), "x\n").expect("write");
    }
    eprintln!("wrote 1000 files in {:?}", t.elapsed());
    let change = w.wait_for("the change", |e| kind(e) == "change");
    eprintln!("burst → change event: {:?}", t.elapsed());
    assert_eq!(paths_of(&change).len(), 1000);
    let done = w.finished(1);
    eprintln!("burst → run finished: {:?}", t.elapsed());
    assert_eq!(done["status"], "ok", "{done}");
    w.settle();
    assert_eq!(w.count("change"), 1, "{:#?}", w.of_kind("change").len());
    assert_eq!(w.count("action_started"), 1);
    assert_eq!(p.lines_of("runs"), 1);
}

#[test]
fn changes_during_a_run_give_exactly_one_rerun() {
    let p = Project::new(
        &SETUP,
        &app_with_work_mount(),
        r#"  - paths: ["src/**"]
    actions:
      - exec: {service: app, command: ["sh", "-c", "date >> /work/runs; sleep 1"]}"#,
    );
    std::fs::create_dir_all(p.path("src")).expect("mkdir src");
    p.up();
    let mut w = p.watch(&[]);

    p.write("src/a.js", "1\n");
    w.wait_for("the first run", |e| kind(e) == "action_started");
    let during = Instant::now();
    for name in ["b", "c", "d"] {
        std::thread::sleep(Duration::from_millis(100));
        p.write(&format!("src/{name}.js"), "1\n");
    }
    let first = w.finished(1);
    assert!(
        during.elapsed() > Duration::from_millis(300),
        "the run ended before the three changes were made: {first}"
    );
    let second = w.finished(2);
    assert_eq!(second["status"], "ok", "{second}");
    w.settle();
    let changes = w.of_kind("change");
    assert_eq!(changes.len(), 2, "{changes:#?}");
    let root = p.root.clone();
    let want: Vec<String> = ["b", "c", "d"]
        .iter()
        .map(|n| root.join(format!("src/{n}.js")).display().to_string())
        .collect();
    assert_eq!(paths_of(&changes[1]), want);
    assert_eq!(w.count("action_started"), 2);
    assert_eq!(p.lines_of("runs"), 2);
}

#[test]
fn a_failing_action_is_reported_and_the_watch_goes_on() {
    let p = Project::new(
        &SETUP,
        &app_with_work_mount(),
        r#"  - paths: ["src/**"]
    actions:
      - exec: {service: app, command: ["sh", "-c", "echo compiling; echo 'syntax error in x.js' >&2; exit 3"]}
      - exec: {service: app, command: ["sh", "-c", "date >> /work/runs"]}"#,
    );
    std::fs::create_dir_all(p.path("src")).expect("mkdir src");
    p.up();
    let mut w = p.watch(&[]);

    p.write("src/x.js", "1\n");
    let failed = w.finished(1);
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["exit_code"], 3, "{failed}");
    assert_eq!(failed["rule"], 1);
    let tail = tail_of(&failed);
    assert!(tail.contains(&"compiling".to_owned()), "{tail:?}");
    assert!(
        tail.contains(&"syntax error in x.js".to_owned()),
        "{tail:?}"
    );
    w.settle();
    // The step after a failed one does not run.
    assert_eq!(w.count("action_started"), 1, "{:#?}", w.seen);
    assert_eq!(p.lines_of("runs"), 0);
    w.assert_alive();

    p.write("src/x.js", "2\n");
    let again = w.finished(2);
    assert_eq!(again["status"], "failed", "{again}");
    assert_eq!(again["exit_code"], 3, "{again}");
    w.assert_alive();
}

#[test]
fn a_sync_action_copies_new_files_and_deletes_removed_ones() {
    let services = format!("  app:\n    image: {TEST_IMAGE}\n    command: {IDLE}\n");
    let p = Project::new(
        &SETUP,
        &services,
        r#"  - paths: ["src/**"]
    actions:
      - sync: {service: app, target: /srv/app}"#,
    );
    p.write("src/keep.txt", "kept\n");
    p.up();
    let id = p.container("app");
    let in_container = |args: &[&str]| {
        let mut all = vec!["exec", id.as_str()];
        all.extend_from_slice(args);
        docker(&all)
    };
    let mut w = p.watch(&[]);

    p.write("src/a.txt", "one\n");
    let done = w.finished(1);
    assert_eq!(done["status"], "ok", "{done}");
    assert_eq!(done["action"], "sync to app:/srv/app");
    let cat = in_container(&["cat", "/srv/app/a.txt"]);
    assert_eq!(String::from_utf8_lossy(&cat.stdout), "one\n", "{cat:?}");

    // A new directory tree arrives whole, however fast it was made.
    p.write("src/deep/er/b.txt", "two\n");
    let done = w.finished(2);
    assert_eq!(done["status"], "ok", "{done}");
    let cat = in_container(&["cat", "/srv/app/deep/er/b.txt"]);
    assert_eq!(String::from_utf8_lossy(&cat.stdout), "two\n", "{cat:?}");

    std::fs::remove_file(p.path("src/a.txt")).expect("rm a.txt");
    let done = w.finished(3);
    assert_eq!(done["status"], "ok", "{done}");
    let ls = in_container(&["ls", "/srv/app"]);
    assert!(ls.status.success(), "{ls:?}");
    assert_eq!(String::from_utf8_lossy(&ls.stdout), "deep\n");

    std::fs::remove_dir_all(p.path("src/deep")).expect("rm -r deep");
    let done = w.finished(4);
    assert_eq!(done["status"], "ok", "{done}");
    let ls = in_container(&["ls", "-A", "/srv/app"]);
    assert!(ls.status.success(), "{ls:?}");
    assert_eq!(String::from_utf8_lossy(&ls.stdout), "");
    // keep.txt existed before the watch and never changed: a sync copies changes only.
    assert!(
        !in_container(&["test", "-e", "/srv/app/keep.txt"])
            .status
            .success()
    );
    w.settle();
    assert_eq!(w.count("action_started"), 4);
}

#[test]
fn initial_sync_copies_the_tree_once_when_watching_starts_and_restarts_nothing() {
    let services = format!(
        "  app:\n    image: {TEST_IMAGE}\n    command: {IDLE}\n    develop:\n      watch:\n        - {{path: ./web, target: /srv/web, action: sync+restart, initial_sync: true}}\n"
    );
    let p = Project::new(&SETUP, &services, "  []");
    p.write("web/index.html", "hello\n");
    p.write("web/css/site.css", "body {}\n");
    p.up();
    let id = p.container("app");
    let started_at = || docker_ok(&["inspect", "-f", "{{.State.StartedAt}}", &id]);
    let before = started_at();
    let mut w = p.watch(&[]);

    let done = w.finished(1);
    assert_eq!(done["status"], "ok", "{done}");
    assert_eq!(done["action"], "sync to app:/srv/web");
    for (file, text) in [("index.html", "hello\n"), ("css/site.css", "body {}\n")] {
        let cat = docker(&["exec", &id, "cat", &format!("/srv/web/{file}")]);
        assert_eq!(String::from_utf8_lossy(&cat.stdout), text, "{cat:?}");
    }
    w.settle();
    // Only the sync ran: the rule's restart waits for a real change.
    assert_eq!(w.count("action_started"), 1);
    assert_eq!(w.count("change"), 0);
    assert_eq!(started_at(), before);
}

#[test]
fn json_events_are_one_object_per_line_with_the_documented_fields() {
    let p = Project::new(
        &SETUP,
        &app_with_work_mount(),
        r#"  - paths: ["src/**"]
    actions:
      - exec: {service: app, command: ["sh", "-c", "echo fine"]}
  - paths: ["lib/**"]
    actions:
      - exec: {service: app, command: ["sh", "-c", "echo broken; exit 7"]}"#,
    );
    std::fs::create_dir_all(p.path("src")).expect("mkdir src");
    std::fs::create_dir_all(p.path("lib")).expect("mkdir lib");
    p.write("lib/old.rb", "x\n");
    p.up();
    let mut w = p.watch(&[]);

    p.write("src/a.js", "1\n");
    w.finished(1);
    p.write("lib/b.rb", "1\n");
    w.finished(2);
    w.settle();

    let keys = |e: &Value| -> Vec<String> {
        let mut k: Vec<String> = e.as_object().expect("object").keys().cloned().collect();
        k.sort();
        k
    };
    let ready = &w.of_kind("ready")[0];
    assert_eq!(
        keys(ready),
        ["dirs_watched", "elapsed_ms", "event", "files_seen"]
    );
    // The project dir, src and lib; dev.yml and lib/old.rb.
    assert_eq!(ready["dirs_watched"], 3, "{ready}");
    assert_eq!(ready["files_seen"], 2, "{ready}");
    assert!(ready["elapsed_ms"].is_number());

    let changes = w.of_kind("change");
    assert_eq!(changes.len(), 2, "{changes:#?}");
    let root = p.root.clone();
    for (change, (rule, file)) in changes.iter().zip([(1, "src/a.js"), (2, "lib/b.rb")]) {
        assert_eq!(keys(change), ["event", "paths", "rule"], "{change}");
        assert_eq!(change["rule"], rule);
        assert_eq!(
            paths_of(change),
            vec![root.join(file).display().to_string()]
        );
    }

    let started = w.of_kind("action_started");
    assert_eq!(started.len(), 2);
    assert_eq!(keys(&started[0]), ["action", "event", "rule"]);
    assert_eq!(started[0]["rule"], 1);
    assert_eq!(started[0]["action"], "exec app: sh -c 'echo fine'");
    assert_eq!(started[1]["rule"], 2);

    let finished = w.of_kind("action_finished");
    let want = [
        "action",
        "duration_ms",
        "event",
        "exit_code",
        "output_tail",
        "rule",
        "status",
    ];
    assert_eq!(keys(&finished[0]), want);
    assert_eq!(keys(&finished[1]), want);
    assert_eq!(finished[0]["status"], "ok");
    assert_eq!(finished[0]["exit_code"], 0);
    assert_eq!(tail_of(&finished[0]), ["fine"]);
    assert_eq!(finished[1]["status"], "failed");
    assert_eq!(finished[1]["exit_code"], 7);
    assert_eq!(tail_of(&finished[1]), ["broken"]);
    for f in &finished {
        let ms = f["duration_ms"].as_f64().expect("duration_ms is a number");
        assert!(ms > 0.0 && ms < 20_000.0, "{f}");
    }
    // Order: change, then the rule's action_started, then its action_finished.
    let order: Vec<&str> = w.seen.iter().map(kind).collect();
    assert_eq!(
        order,
        [
            "ready",
            "change",
            "action_started",
            "action_finished",
            "change",
            "action_started",
            "action_finished"
        ]
    );
}

#[test]
fn a_restart_action_restarts_the_service() {
    let p = Project::new(
        &SETUP,
        &app_with_work_mount(),
        r#"  - paths: ["config/**"]
    actions:
      - restart: [app]"#,
    );
    p.write("config/app.rb", "1\n");
    p.up();
    let id = p.container("app");
    let started_at = || docker_ok(&["inspect", "-f", "{{.State.StartedAt}}", &id]);
    let before = started_at();
    let mut w = p.watch(&[]);

    let t = Instant::now();
    p.write("config/app.rb", "2\n");
    let done = w.finished(1);
    eprintln!("edit → restart finished: {:?}", t.elapsed());
    assert_eq!(done["status"], "ok", "{done}");
    assert_eq!(done["action"], "restart app");
    assert_eq!(done["exit_code"], Value::Null);
    // Same container, started again.
    assert_eq!(p.container("app"), id);
    assert_ne!(started_at(), before);
    assert_eq!(
        docker_ok(&["inspect", "-f", "{{.State.Running}}", &id]),
        "true"
    );
    w.assert_alive();
}

#[test]
fn a_restart_of_a_service_without_a_container_fails_by_name() {
    let services = format!(
        "{}  worker:\n    image: {TEST_IMAGE}\n    command: {IDLE}\n",
        app_with_work_mount()
    );
    let p = Project::new(
        &SETUP,
        &services,
        r#"  - paths: ["config/**"]
    actions:
      - restart: [app, worker]"#,
    );
    p.write("config/app.rb", "1\n");
    let out = p
        .devenv(&["up", "-d", "app"])
        .output()
        .expect("run devenv up");
    assert_success("devenv up -d app", &out);
    let mut w = p.watch(&[]);

    p.write("config/app.rb", "2\n");
    let done = w.finished(1);
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["exit_code"], Value::Null, "{done}");
    let tail = tail_of(&done).join("\n");
    assert!(
        tail.contains("no container of `worker` to restart")
            && tail.contains("devenv up -d worker"),
        "{tail}"
    );
    w.assert_alive();
}

/// A unix socket that forwards every connection to the real engine, until killed: the test's
/// way to make the engine vanish under a running watch.
struct EngineProxy {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    streams: Arc<Mutex<Vec<UnixStream>>>,
    accepter: Option<JoinHandle<()>>,
}

impl EngineProxy {
    fn start(path: &Path) -> EngineProxy {
        let listener = UnixListener::bind(path).expect("bind the proxy socket");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let stop = Arc::new(AtomicBool::new(false));
        let streams: Arc<Mutex<Vec<UnixStream>>> = Arc::default();
        let accepter = {
            let stop = Arc::clone(&stop);
            let streams = Arc::clone(&streams);
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((client, _)) => forward(client, &streams),
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
                // The listener closes here; the socket file stays, like a crashed daemon's.
            })
        };
        EngineProxy {
            path: path.to_owned(),
            stop,
            streams,
            accepter: Some(accepter),
        }
    }

    fn host(&self) -> String {
        format!("unix://{}", self.path.display())
    }

    /// Stops accepting and cuts every open connection.
    fn kill(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.accepter.take() {
            let _ = t.join();
        }
        if let Ok(streams) = self.streams.lock() {
            for s in streams.iter() {
                let _ = s.shutdown(std::net::Shutdown::Both);
            }
        }
    }
}

impl Drop for EngineProxy {
    fn drop(&mut self) {
        self.kill();
    }
}

fn forward(client: UnixStream, streams: &Mutex<Vec<UnixStream>>) {
    let Ok(upstream) = UnixStream::connect("/var/run/docker.sock") else {
        return;
    };
    let _ = client.set_nonblocking(false);
    let clones = (
        client.try_clone(),
        upstream.try_clone(),
        upstream.try_clone(),
        client.try_clone(),
    );
    let (Ok(c_read), Ok(u_write), Ok(u_read), Ok(c_write)) = clones else {
        return;
    };
    if let Ok(mut all) = streams.lock() {
        all.push(client);
        all.push(upstream);
    }
    std::thread::spawn(move || pipe(c_read, u_write));
    std::thread::spawn(move || pipe(u_read, c_write));
}

fn pipe(mut from: UnixStream, mut to: UnixStream) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
}

#[test]
fn losing_the_engine_ends_an_idle_watch_with_an_error_naming_it() {
    let p = Project::new(
        &SETUP,
        &app_with_work_mount(),
        r#"  - paths: ["src/**"]
    actions:
      - exec: {service: app, command: ["sh", "-c", "date >> /work/runs"]}"#,
    );
    std::fs::create_dir_all(p.path("src")).expect("mkdir src");
    p.up();
    let sock_dir = tempfile::tempdir().expect("socket dir");
    let mut proxy = EngineProxy::start(&sock_dir.path().join("engine.sock"));
    let mut cmd = p.devenv(&["watch", "--json"]);
    cmd.env("DOCKER_HOST", proxy.host());
    let mut w = p.watch_with(cmd);

    // Through the proxy, the watch works.
    p.write("src/a.js", "1\n");
    let done = w.finished(1);
    assert_eq!(done["status"], "ok", "{done}");

    // No change follows: an idle watch notices on its own.
    proxy.kill();
    let t = Instant::now();
    let (status, stderr) = w.wait_exit(PATIENCE);
    eprintln!("engine gone → exit: {:?}\n{stderr}", t.elapsed());
    assert_eq!(status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stderr.contains("docker engine") && stderr.contains(&proxy.host()),
        "stderr does not name the engine: {stderr}"
    );
    assert!(stderr.starts_with("error: stopped watching: "), "{stderr}");
    assert!(stderr.contains("\n  = hint: "), "{stderr}");
    assert_eq!(p.lines_of("runs"), 1);
}

#[test]
fn without_json_each_change_and_result_is_a_line_on_stderr() {
    let p = Project::new(
        &SETUP,
        &app_with_work_mount(),
        r#"  - paths: ["src/**"]
    actions:
      - exec: {service: app, command: ["sh", "-c", "echo compiled"]}
  - paths: ["lib/**"]
    actions:
      - exec: {service: app, command: ["sh", "-c", "echo 'bad line'; exit 4"]}"#,
    );
    std::fs::create_dir_all(p.path("src")).expect("mkdir src");
    std::fs::create_dir_all(p.path("lib")).expect("mkdir lib");
    p.up();
    let mut w = p.spawn(p.devenv(&["watch"]));
    w.wait_stderr("Ctrl-C stops");

    p.write("src/a.js", "1\n");
    let err = w.wait_stderr(": done in ");
    assert!(err.contains("\nsrc/a.js changed → rule 1\n"), "{err}");
    assert!(
        err.contains("\n  rule 1: exec app: sh -c 'echo compiled'\n"),
        "{err}"
    );
    // The action's own output goes to stdout, prefixed with its service like `logs`.
    assert_eq!(w.raw_line(), "app | compiled");

    p.write("lib/b.rb", "1\n");
    let err = w.wait_stderr("    | bad line");
    assert!(
        err.contains("  rule 2: exec app: sh -c \"echo 'bad line'; exit 4\": failed (exit 4) in "),
        "{err}"
    );
    assert_eq!(w.raw_line(), "app | bad line");
    w.assert_alive();
}

#[test]
fn a_project_opened_through_a_symlink_syncs_and_prints_relative_paths() {
    let services = format!("  app:\n    image: {TEST_IMAGE}\n    command: {IDLE}\n");
    let p = Project::new(
        &SETUP,
        &services,
        r#"  - paths: ["src/**"]
    actions:
      - sync: {service: app, target: /srv/app}"#,
    );
    std::fs::create_dir_all(p.path("src")).expect("mkdir src");
    p.up();
    let links = tempfile::tempdir().expect("link dir");
    let link = links.path().join("project");
    std::os::unix::fs::symlink(p.dir.path(), &link).expect("symlink the project");
    let file = link.join("dev.yml").display().to_string();
    let mut w = p.spawn(p.devenv(&["-f", &file, "watch"]));
    w.wait_stderr("Ctrl-C stops");

    p.write("src/a.txt", "one\n");
    let err = w.wait_stderr(": done in ");
    assert!(err.contains("\nsrc/a.txt changed → rule 1\n"), "{err}");
    let id = p.container("app");
    let cat = docker(&["exec", &id, "cat", "/srv/app/a.txt"]);
    assert_eq!(String::from_utf8_lossy(&cat.stdout), "one\n", "{cat:?}");
    w.assert_alive();
}

#[test]
fn a_rule_reaching_outside_the_project_is_a_config_error() {
    let p = Project::new(
        &SETUP,
        &app_with_work_mount(),
        r#"  - paths: ["../elsewhere/**"]
    actions:
      - restart: [app]"#,
    );
    let out = p
        .devenv(&["watch", "--json"])
        .output()
        .expect("run devenv watch");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert!(
        stderr.starts_with(
            "error: `paths` of watch rule 1: `../elsewhere/**` is outside the project directory\n --> dev.yml:"
        ),
        "{stderr}"
    );
}
