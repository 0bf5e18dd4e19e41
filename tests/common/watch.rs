//! Shared harness for `devenv watch` black-box tests: a project directory with `dev.yml`, and a
//! running `devenv watch` whose NDJSON events (and stderr) the tests read.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Cleanup, PROJECT_LABEL, docker, docker_ok, ensure_test_image, unique_project};

/// A main container that stops at once on `docker stop` (a bare `sleep` as PID 1 ignores
/// SIGTERM and would hold every restart for the full grace period).
pub const IDLE: &str = r#"["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]"#;

/// What differs between the suites using this harness.
#[derive(Clone, Copy, Debug)]
pub struct Setup {
    /// Prefix of the project name (`<prefix>-devenv-test-…`) and of the temp dir
    /// (`devenv-<prefix>-…`).
    pub prefix: &'static str,
    /// How long any single expected event may take on a loaded machine.
    pub patience: Duration,
    /// How long nothing may happen for the events so far to count as final.
    pub settle: Duration,
}

/// A project directory holding `dev.yml`, with a name no other test uses.
pub struct Project {
    pub dir: tempfile::TempDir,
    /// The canonical project directory: the watch reports paths under it.
    pub root: PathBuf,
    pub name: String,
    pub setup: Setup,
    _cleanup: Cleanup,
}

impl Project {
    /// `services` and `watch` are YAML bodies (indented by two spaces) for the two sections.
    pub fn new(setup: &Setup, services: &str, watch: &str) -> Project {
        ensure_test_image();
        let name = format!("{}-{}", setup.prefix, unique_project());
        let cleanup = Cleanup::new(&name);
        let dir = tempfile::Builder::new()
            .prefix(&format!("devenv-{}-", setup.prefix))
            .tempdir()
            .expect("temp dir");
        let yaml = format!("services:\n{services}\nwatch:\n{watch}\n");
        std::fs::write(dir.path().join("dev.yml"), yaml).expect("write dev.yml");
        let root = std::fs::canonicalize(dir.path()).expect("canonical project dir");
        Project {
            dir,
            root,
            name,
            setup: *setup,
            _cleanup: cleanup,
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `rel` as the watch reports it.
    pub fn abs(&self, rel: &str) -> String {
        self.root.join(rel).display().to_string()
    }

    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) {
        let path = self.path(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent dirs");
        }
        std::fs::write(&path, content).expect("write file");
    }

    pub fn mkdir(&self, rel: &str) {
        std::fs::create_dir_all(self.path(rel)).expect("mkdir -p");
    }

    pub fn devenv(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_devenv"));
        cmd.arg("-p")
            .arg(&self.name)
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("DEVENV_PROJECT_NAME")
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_CONTEXT")
            .env("NO_COLOR", "1");
        cmd
    }

    pub fn up(&self) {
        let out = self.devenv(&["up", "-d"]).output().expect("run devenv up");
        assert_success("devenv up -d", &out);
    }

    /// Starts `devenv watch --json ARGS...` and waits for its `ready` event.
    pub fn watch(&self, args: &[&str]) -> Watcher {
        let mut all = vec!["watch", "--json"];
        all.extend_from_slice(args);
        self.watch_with(self.devenv(&all))
    }

    /// Starts `cmd` (a `devenv watch --json`) and waits for its `ready` event.
    pub fn watch_with(&self, cmd: Command) -> Watcher {
        let mut watcher = self.spawn(cmd);
        let ready = watcher.wait_for("the ready event", |e| kind(e) == "ready");
        eprintln!(
            "{}: ready after {:?} ({})",
            self.name,
            watcher.started.elapsed(),
            ready
        );
        watcher
    }

    /// Starts a `devenv watch` whose stdout and stderr the returned guard collects.
    pub fn spawn(&self, cmd: Command) -> Watcher {
        spawn(cmd, self.setup)
    }

    /// Every container of the project, one-off ones included.
    pub fn containers(&self) -> Vec<String> {
        let filter = format!("label={PROJECT_LABEL}={}", self.name);
        docker_ok(&["ps", "-aq", "--filter", &filter])
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// The id of the service's one running main container, from the docker CLI.
    pub fn container(&self, service: &str) -> String {
        let project = format!("label={PROJECT_LABEL}={}", self.name);
        let service = format!("label=dev.devenv.service={service}");
        let id = docker_ok(&["ps", "-q", "--filter", &project, "--filter", &service]);
        assert!(
            !id.is_empty() && !id.contains('\n'),
            "expected one running container of {service}, found {id:?}"
        );
        id
    }

    /// Lines the actions appended to `rel` (a file the container writes through a bind mount).
    pub fn lines_of(&self, rel: &str) -> usize {
        std::fs::read_to_string(self.path(rel))
            .map(|t| t.lines().count())
            .unwrap_or(0)
    }
}

pub fn assert_success(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `docker exec ID ARGS...` with its output.
pub fn in_container(id: &str, args: &[&str]) -> Output {
    let mut all = vec!["exec", id];
    all.extend_from_slice(args);
    docker(&all)
}

pub fn stdout_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The name of an event.
pub fn kind(event: &Value) -> &str {
    event["event"].as_str().unwrap_or("")
}

/// The paths of a `change` event; panics on a path that is not a string.
pub fn paths_of(change: &Value) -> Vec<String> {
    change["paths"]
        .as_array()
        .unwrap_or_else(|| panic!("change without paths: {change}"))
        .iter()
        .map(|p| {
            p.as_str()
                .unwrap_or_else(|| panic!("a path that is not a string: {change}"))
                .to_owned()
        })
        .collect()
}

/// A change event listing `path`.
pub fn change_with(path: &str) -> impl Fn(&Value) -> bool + '_ {
    move |e| kind(e) == "change" && paths_of(e).iter().any(|p| p == path)
}

/// Starts a `devenv watch` whose stdout and stderr the returned guard collects.
pub fn spawn(mut cmd: Command, setup: Setup) -> Watcher {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn devenv watch");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut stderr_pipe = child.stderr.take().expect("piped stderr");
    let stderr = Arc::new(Mutex::new(String::new()));
    let stderr_thread = {
        let stderr = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr_pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut s) = stderr.lock() {
                    s.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        })
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || read_lines(stdout, &tx));
    Watcher {
        child,
        lines: rx,
        seen: Vec::new(),
        stderr,
        stderr_thread: Some(stderr_thread),
        started: Instant::now(),
        patience: setup.patience,
        settle: setup.settle,
    }
}

enum Line {
    Text(String),
    Invalid(String),
}

/// Forwards stdout line by line; a line without its newline at the end of the stream is
/// reported as invalid NDJSON.
fn read_lines(stdout: ChildStdout, tx: &mpsc::Sender<Line>) {
    let mut reader = BufReader::new(stdout);
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let msg = match line.strip_suffix('\n') {
                    Some(text) => Line::Text(text.to_owned()),
                    None => Line::Invalid(line),
                };
                if tx.send(msg).is_err() {
                    return;
                }
            }
        }
    }
}

/// A running `devenv watch --json`; killed when dropped, also when the test panicked.
pub struct Watcher {
    pub child: Child,
    lines: Receiver<Line>,
    /// Every event so far, in order.
    pub seen: Vec<Value>,
    stderr: Arc<Mutex<String>>,
    stderr_thread: Option<JoinHandle<()>>,
    pub started: Instant,
    /// How long any single expected event may take.
    pub patience: Duration,
    /// How long nothing may happen for the events so far to count as final.
    pub settle: Duration,
}

impl Watcher {
    /// The next event, if one comes within `timeout`. Each stdout line must be one JSON
    /// object carrying an `event` string.
    pub fn next(&mut self, timeout: Duration) -> Option<Value> {
        match self.lines.recv_timeout(timeout) {
            Ok(Line::Text(text)) => {
                let value: Value = match serde_json::from_str(&text) {
                    Ok(v) => v,
                    Err(e) => panic!("stdout line is not JSON ({e}): {text:?}"),
                };
                assert!(value.is_object(), "stdout line is not an object: {text}");
                assert!(
                    value["event"].is_string(),
                    "event without an `event` name: {text}"
                );
                self.seen.push(value.clone());
                Some(value)
            }
            Ok(Line::Invalid(text)) => panic!("stdout ended inside a line: {text:?}"),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => None,
        }
    }

    /// Reads events until one satisfies `pred`; panics, showing what came, after `patience`.
    pub fn wait_for(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let patience = self.patience;
        let deadline = Instant::now() + patience;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next(left) {
                Some(e) if pred(&e) => return e,
                Some(_) => {}
                None => panic!(
                    "no {what} within {patience:?}; events: {:#?}\nstderr: {}",
                    self.seen,
                    self.stderr_text()
                ),
            }
        }
    }

    /// Waits for the `n`th `action_finished` event counted from the start.
    pub fn finished(&mut self, n: usize) -> Value {
        while self.count("action_finished") < n {
            self.wait_for(&format!("action_finished #{n}"), |e| {
                kind(e) == "action_finished"
            });
        }
        self.of_kind("action_finished")[n - 1].clone()
    }

    /// Takes in whatever arrives until `settle` passes without an event.
    pub fn settle(&mut self) {
        while self.next(self.settle).is_some() {}
    }

    /// Writes `content` to the project's `rel` and waits for a change event naming it (`what`
    /// names the wait).
    pub fn write_seen(&mut self, p: &Project, rel: &str, content: &str, what: &str) -> Value {
        p.write(rel, content);
        self.wait_for(what, change_with(&p.abs(rel)))
    }

    /// Settles, then returns how many events there are so far (a mark for `since`).
    pub fn mark(&mut self) -> usize {
        self.settle();
        self.seen.len()
    }

    /// Events of kind `name` after mark `from`.
    pub fn since(&self, from: usize, name: &str) -> Vec<Value> {
        self.seen[from..]
            .iter()
            .filter(|e| kind(e) == name)
            .cloned()
            .collect()
    }

    pub fn of_kind(&self, name: &str) -> Vec<Value> {
        self.since(0, name)
    }

    pub fn count(&self, name: &str) -> usize {
        self.of_kind(name).len()
    }

    /// Every path of the change events after mark `from`.
    pub fn changed_since(&self, from: usize) -> Vec<String> {
        self.since(from, "change")
            .iter()
            .flat_map(paths_of)
            .collect()
    }

    pub fn stderr_text(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Without `--json`: the next stdout line, as printed.
    pub fn raw_line(&mut self) -> String {
        match self.lines.recv_timeout(self.patience) {
            Ok(Line::Text(text) | Line::Invalid(text)) => text,
            Err(_) => panic!(
                "no stdout line within {:?}; stderr: {}",
                self.patience,
                self.stderr_text()
            ),
        }
    }

    /// Waits until stderr holds `needle`; all of stderr so far.
    pub fn wait_stderr(&self, needle: &str) -> String {
        let deadline = Instant::now() + self.patience;
        loop {
            let text = self.stderr_text();
            if text.contains(needle) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "no {needle:?} on stderr within {:?}; stderr: {text}",
                self.patience
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn assert_alive(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "devenv watch exited ({status}); stderr: {}",
                self.stderr_text()
            );
        }
    }

    /// Waits for the process to end by itself; its status and its whole stderr.
    pub fn wait_exit(&mut self, timeout: Duration) -> (ExitStatus, String) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                // Drain what stdout still holds, then the stderr reader finishes at EOF.
                while self.next(Duration::from_millis(200)).is_some() {}
                if let Some(t) = self.stderr_thread.take() {
                    let _ = t.join();
                }
                return (status, self.stderr_text());
            }
            if Instant::now() > deadline {
                panic!(
                    "devenv watch still runs after {timeout:?}; events: {:#?}\nstderr: {}",
                    self.seen,
                    self.stderr_text()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
