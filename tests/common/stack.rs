//! The black-box harness shared by the engine suites: a project in a temp dir (`Stack`), the
//! built devenv run to its end (`Out`) or in the background (`Running`), and docker look-ups.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Cleanup, TEST_IMAGE, docker, docker_ok, ensure_test_image, unique_project_with};

/// What one finished devenv process left behind (stdout also as raw bytes).
#[derive(Debug)]
pub struct Out {
    pub code: Option<i32>,
    pub raw: Vec<u8>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Out {
    /// Exit code, time and both streams (each cut at 4000 characters) for failure messages.
    pub fn show(&self) -> String {
        let out: String = self.stdout.chars().take(4000).collect();
        let err: String = self.stderr.chars().take(4000).collect();
        format!(
            "exit {:?} after {:?}\n--- stdout\n{out}\n--- stderr\n{err}",
            self.code, self.elapsed
        )
    }
}

/// The project-name and temp-dir prefix of the suite being compiled (each `tests/*.rs` is its
/// own crate), so every suite keeps its own recognisable names.
pub fn suite_prefix() -> &'static str {
    match env!("CARGO_CRATE_NAME") {
        "commands" => "devenv-cmd",
        "options" => "devenv-opt",
        "edges" => "devenv-edges",
        "io_build" => "devenv-iob",
        _ => "devenv-test",
    }
}

/// One project: a unique name, cleanup by label, and a temp dir with a dev.yml that other
/// projects ([`Stack::sibling`]) may share.
pub struct Stack {
    // Declared first so it drops first: containers go before the directory they mount.
    _cleanup: Cleanup,
    pub dir: Arc<tempfile::TempDir>,
    pub name: String,
    prefix: String,
}

impl Stack {
    /// A stack named after the suite ([`suite_prefix`]). `yaml` may say `IMAGE` for the test
    /// image and `PROJECT` for the project's name.
    pub fn new(yaml: &str) -> Stack {
        Stack::with_prefix(suite_prefix(), yaml)
    }

    /// A stack whose project name and temp dir start with `prefix`.
    pub fn with_prefix(prefix: &str, yaml: &str) -> Stack {
        ensure_test_image();
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir()
            .expect("temp dir");
        let stack = Stack::in_dir(prefix, Arc::new(dir));
        stack.config(yaml);
        stack
    }

    fn in_dir(prefix: &str, dir: Arc<tempfile::TempDir>) -> Stack {
        let name = unique_project_with(prefix);
        Stack {
            _cleanup: Cleanup::new(&name),
            dir,
            name,
            prefix: prefix.to_owned(),
        }
    }

    /// Another project (its own `-p` name and cleanup) in the same directory.
    pub fn sibling(&self) -> Stack {
        Stack::in_dir(&self.prefix, Arc::clone(&self.dir))
    }

    /// Writes dev.yml, `IMAGE` replaced by the test image and `PROJECT` by the project's name.
    pub fn config(&self, yaml: &str) {
        let text = yaml
            .replace("IMAGE", TEST_IMAGE)
            .replace("PROJECT", &self.name);
        self.write("dev.yml", &text);
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes a file under the project directory, making its parent directories.
    pub fn write(&self, rel: &str, text: &str) {
        self.write_bytes(rel, text.as_bytes());
    }

    pub fn write_bytes(&self, rel: &str, bytes: &[u8]) {
        let path = self.path(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("make a test directory");
        }
        std::fs::write(path, bytes).expect("write a test file");
    }

    /// A Dockerfile from the test image plus `rest`.
    pub fn dockerfile(&self, rel: &str, rest: &str) {
        self.write(rel, &format!("FROM {TEST_IMAGE}\n{rest}"));
    }

    /// `devenv -p <name> ARGS` in the project directory, without colors, profiles or
    /// backtraces.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_devenv"));
        cmd.arg("-p")
            .arg(&self.name)
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("DEVENV_PROJECT_NAME")
            .env_remove("DEVENV_PROFILES")
            .env_remove("COMPOSE_PROFILES")
            .env("NO_COLOR", "1")
            .env("RUST_BACKTRACE", "0");
        cmd
    }

    /// Runs devenv to its end with no input.
    pub fn devenv(&self, args: &[&str]) -> Out {
        self.devenv_input(args, None)
    }

    /// Runs devenv to its end with `input` (text) on stdin, or none.
    pub fn devenv_with_input(&self, args: &[&str], input: Option<&str>) -> Out {
        self.devenv_input(args, input.map(str::as_bytes))
    }

    /// Runs devenv to its end with `input` (bytes, written from another thread) on stdin.
    pub fn devenv_input(&self, args: &[&str], input: Option<&[u8]>) -> Out {
        let started = Instant::now();
        let mut child = self
            .command(args)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("devenv starts");
        if let Some(bytes) = input {
            let mut stdin = child.stdin.take().expect("stdin");
            let bytes = bytes.to_vec();
            std::thread::spawn(move || {
                let _ = stdin.write_all(&bytes);
            });
        }
        let output = child.wait_with_output().expect("devenv runs");
        Out {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            raw: output.stdout,
            elapsed: started.elapsed(),
        }
    }

    /// Runs devenv and insists on success.
    pub fn ok(&self, args: &[&str]) -> Out {
        let out = self.devenv(args);
        assert_eq!(out.code, Some(0), "devenv {args:?} failed:\n{}", out.show());
        out
    }

    /// Starts devenv in the background, its output collected as it comes.
    pub fn spawn(&self, args: &[&str]) -> Running {
        let mut child = self
            .command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("devenv starts");
        let stdout = collect(child.stdout.take().expect("stdout"));
        let stderr = collect(child.stderr.take().expect("stderr"));
        Running {
            child,
            stdout,
            stderr,
            started: Instant::now(),
        }
    }

    /// The docker `--filter` for the project's label.
    pub fn filter(&self) -> String {
        format!("label=dev.devenv.project={}", self.name)
    }

    /// The same filter as [`Stack::filter`].
    pub fn label(&self) -> String {
        self.filter()
    }

    /// The project's service containers (not one-offs), running or not: service → full id.
    pub fn containers(&self) -> BTreeMap<String, String> {
        let listed = docker_ok(&[
            "ps",
            "-a",
            "--no-trunc",
            "--filter",
            &self.filter(),
            "--filter",
            "label=dev.devenv.oneoff=false",
            "--format",
            "{{.Label \"dev.devenv.service\"}} {{.ID}}",
        ]);
        listed
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(s, id)| (s.to_owned(), id.to_owned()))
            .collect()
    }

    /// The project's one-off containers, running or not: short ids.
    pub fn oneoffs(&self) -> Vec<String> {
        let listed = docker_ok(&[
            "ps",
            "-aq",
            "--filter",
            &self.filter(),
            "--filter",
            "label=dev.devenv.oneoff=true",
        ]);
        listed.lines().map(str::to_owned).collect()
    }

    /// The project's one-off containers as full ids; `running_only`: just the running ones.
    pub fn oneoff_full_ids(&self, running_only: bool) -> Vec<String> {
        let mut args = vec![
            "ps",
            "-q",
            "--no-trunc",
            "--filter",
            "label=dev.devenv.oneoff=true",
        ];
        if !running_only {
            args.push("-a");
        }
        let filter = self.filter();
        args.extend(["--filter", &filter]);
        docker_ok(&args).lines().map(str::to_owned).collect()
    }

    /// The full id of `service`'s container; panics when there is none.
    pub fn id(&self, service: &str) -> String {
        self.containers()
            .remove(service)
            .unwrap_or_else(|| panic!("no container for service `{service}`"))
    }

    /// `<project>-<service>-1`, compose's naming.
    pub fn container_name(&self, service: &str) -> String {
        format!("{}-{service}-1", self.name)
    }

    /// The default image name of a built service without `image:`.
    pub fn image(&self, service: &str) -> String {
        format!("{}-{service}", self.name)
    }

    pub fn network(&self) -> String {
        format!("{}_default", self.name)
    }

    /// Names of the networks labelled with the project.
    pub fn networks(&self) -> Vec<String> {
        self.names(&["network", "ls"])
    }

    /// Names of the volumes labelled with the project.
    pub fn volumes(&self) -> Vec<String> {
        self.names(&["volume", "ls"])
    }

    fn names(&self, ls: &[&str]) -> Vec<String> {
        let filter = self.filter();
        let mut args = ls.to_vec();
        args.extend(["--filter", &filter, "--format", "{{.Name}}"]);
        docker_ok(&args).lines().map(str::to_owned).collect()
    }
}

/// The full id of a container given by a short id or name.
pub fn full_id(short: &str) -> String {
    docker_ok(&["inspect", "-f", "{{.Id}}", short])
}

/// `docker inspect -f FORMAT TARGET`.
pub fn inspect(target: &str, format: &str) -> String {
    docker_ok(&["inspect", "-f", format, target])
}

/// A container's `.State.Status` (`running`, `exited`, ...).
pub fn state(target: &str) -> String {
    inspect(target, "{{.State.Status}}")
}

/// Whether `docker KIND inspect NAME` finds it.
pub fn exists(kind: &str, name: &str) -> bool {
    docker(&[kind, "inspect", name]).status.success()
}

/// Polls `check` every 50 ms until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A port nothing listens on right now (on any address).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("0.0.0.0:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

/// Reads `stream` on a thread into a shared string, as it comes.
pub fn collect(mut stream: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&text);
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stream.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .expect("lock")
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    text
}

/// A devenv process running in the background; killed if still running when dropped.
pub struct Running {
    pub child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    started: Instant,
}

impl Running {
    pub fn stdout(&self) -> String {
        self.stdout.lock().expect("lock").clone()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("lock").clone()
    }

    /// Waits until stdout or stderr contains `needle`; panics with both after `timeout`.
    pub fn wait_for(&self, needle: &str, timeout: Duration) {
        let seen = wait_until(timeout, || {
            self.stdout().contains(needle) || self.stderr().contains(needle)
        });
        assert!(
            seen,
            "`{needle}` did not appear within {timeout:?}\n--- stdout\n{}--- stderr\n{}",
            self.stdout(),
            self.stderr()
        );
    }

    /// Whether the process has exited.
    pub fn has_ended(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_some()
    }

    /// Sends SIGINT, as Ctrl-C would.
    pub fn interrupt(&self) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid fits");
        // SAFETY: sending a signal to our own child process.
        let rc = unsafe { libc::kill(pid, libc::SIGINT) };
        assert_eq!(rc, 0, "kill -INT {pid}");
    }

    /// Waits for the process to end (killing it after `timeout`, which fails the test);
    /// `elapsed` counts from the spawn.
    pub fn finish(self, timeout: Duration) -> Out {
        let since = self.started;
        self.finish_since(timeout, since)
    }

    /// [`Running::finish`], with `elapsed` counted from `since`.
    pub fn finish_since(mut self, timeout: Duration, since: Instant) -> Out {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "devenv did not end within {timeout:?}\n--- stdout\n{}--- stderr\n{}",
                    self.stdout(),
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let elapsed = since.elapsed();
        // The readers see end of file once the process is gone; give them a moment.
        std::thread::sleep(Duration::from_millis(200));
        let stdout = self.stdout();
        Out {
            code: status.code(),
            raw: stdout.clone().into_bytes(),
            stdout,
            stderr: self.stderr(),
            elapsed,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The status line of `service` saying `what` (`web  Started`), wherever the padding falls.
pub fn has_status(stderr: &str, service: &str, what: &str) -> bool {
    status_index(stderr, service, what).is_some()
}

/// The line number of `service`'s status line saying `what`.
pub fn status_index(stderr: &str, service: &str, what: &str) -> Option<usize> {
    stderr.lines().position(|l| {
        l.strip_prefix(service)
            .is_some_and(|rest| rest.starts_with(' ') && rest.trim() == what)
    })
}
