//! End to end: the demo stack (puma, sidekiq, node, MariaDB, Redis) driven by the devenv binary.

// One test walks the story of `demo/README.md` against the real engine under a project name of
// its own, on free host ports (`tests/e2e/ports.yml`) and fixed image names
// (`tests/e2e/images.yml`): up, page and asset, a job's round trip, an asset rebuild under
// `devenv watch`, the bundle volume, persistence across `down`, and `down -v`. The images stay
// cached between runs; containers, networks and volumes of the project are removed even when a
// check fails.
//
// `DEVENV_E2E_NO_CACHE=1` builds the images with `--no-cache` (to measure a cold build);
// The time from a source edit to the new asset being served is printed against its 2000 ms
// target; `DEVENV_E2E_ASSET_LIMIT_MS` makes it a failure past that many milliseconds (the
// failure prints a `docker exec` baseline to tell a slow devenv from a slow machine).

mod common;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::{PROJECT_LABEL, STRAY_LABEL, docker};

const DEVENV: &str = env!("CARGO_BIN_EXE_devenv");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const BASE_IMAGE: &str = "debian:bookworm-slim";
const CONFIG: [&str; 3] = ["dev.yml", "tests/e2e/ports.yml", "tests/e2e/images.yml"];
/// The images `tests/e2e/images.yml` names; kept between runs.
const IMAGES: [&str; 4] = [
    "devenv-e2e/rails",
    "devenv-e2e/node",
    "devenv-e2e/mysql",
    "devenv-e2e/redis",
];
/// The project the images are built under. The image build labels the image with the project,
/// so building under each run's own name would make a new image (and orphan the old one) on
/// every run; under one fixed name an unchanged source tree is a full cache hit.
const IMAGE_PROJECT: &str = "devenv-e2e";
const GREETING_FILE: &str = "demo/app/javascript/greeting.js";
const MARKER: &str = "/bundle/.devenv-e2e-marker";

/// What a finished command printed.
struct Output {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Output {
    fn describe(&self, what: &str) -> String {
        format!(
            "{what}: {}\n--- stdout\n{}\n--- stderr\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// Runs a command to the end, killing it after `timeout`; both streams are captured.
fn run_command(mut cmd: Command, what: &str, timeout: Duration) -> Output {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                let out = Output {
                    status: ExitStatus::default(),
                    stdout: join(stdout),
                    stderr: join(stderr),
                };
                panic!(
                    "{}",
                    out.describe(&format!("{what} timed out after {timeout:?}"))
                );
            }
            Ok(None) => thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("waiting for {what}: {e}"),
        }
    };
    Output {
        status,
        stdout: join(stdout),
        stderr: join(stderr),
    }
}

fn drain(stream: Option<impl Read + Send + 'static>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut text = Vec::new();
        if let Some(mut s) = stream {
            let _ = s.read_to_end(&mut text);
        }
        String::from_utf8_lossy(&text).into_owned()
    })
}

fn join(handle: thread::JoinHandle<String>) -> String {
    handle.join().unwrap_or_default()
}

/// The labelled ids one `docker ... ls -q` listing returns.
fn labelled(kind: &[&str], project: &str) -> Vec<String> {
    let filter = format!("label={PROJECT_LABEL}={project}");
    let mut args = kind.to_vec();
    args.extend(["-q", "--filter", &filter]);
    let out = docker(&args);
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// Everything of the project still in the engine: containers, networks, volumes.
fn leftovers(project: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
    (
        labelled(&["ps", "-a"], project),
        labelled(&["network", "ls"], project),
        labelled(&["volume", "ls"], project),
    )
}

/// Three distinct free ports on 127.0.0.1 (held together while chosen, so they differ).
fn free_ports() -> [u16; 3] {
    let listeners: Vec<TcpListener> = (0..3)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind a free port"))
        .collect();
    let port = |l: &TcpListener| l.local_addr().expect("local address").port();
    [
        port(&listeners[0]),
        port(&listeners[1]),
        port(&listeners[2]),
    ]
}

/// One project of the demo stack. Dropping it takes the project down with its volumes, then
/// removes by label whatever devenv left, so a failing check leaves nothing behind.
struct Stack {
    project: String,
    puma: u16,
    mysql: u16,
    redis: u16,
}

impl Stack {
    fn new() -> Stack {
        let [puma, mysql, redis] = free_ports();
        Stack {
            project: format!("devenv-e2e-{}", std::process::id()),
            puma,
            mysql,
            redis,
        }
    }

    /// `devenv -p <project> -f dev.yml -f <overrides> ARGS`, in the repository root.
    fn command(&self, project: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(DEVENV);
        cmd.current_dir(ROOT).arg("-p").arg(project);
        for file in CONFIG {
            cmd.arg("-f").arg(file);
        }
        cmd.args(args)
            .env("DEVENV_E2E_PUMA_PORT", self.puma.to_string())
            .env("DEVENV_E2E_MYSQL_PORT", self.mysql.to_string())
            .env("DEVENV_E2E_REDIS_PORT", self.redis.to_string())
            .env_remove("DEVENV_PROJECT_NAME")
            .env_remove("DEVENV_PROFILES")
            .env_remove("COMPOSE_PROFILES");
        cmd
    }

    fn devenv(&self, args: &[&str], timeout: Duration) -> Output {
        run_command(
            self.command(&self.project, args),
            &format!("devenv {}", args.join(" ")),
            timeout,
        )
    }

    /// Runs devenv and fails the test, with everything it printed, unless it exits 0.
    fn devenv_ok(&self, args: &[&str], timeout: Duration) -> Output {
        let out = self.devenv(args, timeout);
        assert!(
            out.status.success(),
            "{}",
            out.describe(&format!("devenv {}", args.join(" ")))
        );
        out
    }

    /// Logs and state of the stack, for a failure message.
    fn diagnose(&self) -> String {
        let ps = self.devenv(&["ps", "-a"], Duration::from_secs(30));
        let logs = self.devenv(&["logs", "--tail", "30"], Duration::from_secs(30));
        format!("{}\n{}", ps.stdout, logs.stdout)
    }

    fn http(&self, method: &str, path: &str) -> io::Result<(u16, String)> {
        http(self.puma, method, path)
    }

    /// `GET path`, which must answer 200 at once: puma's healthcheck asks `/health`, so once
    /// `up --wait` has returned the app serves.
    fn get_200(&self, path: &str) -> String {
        match self.http("GET", path) {
            Ok((200, body)) => body,
            other => panic!(
                "GET {path} on port {} right after `up --wait`: {other:?}\n{}",
                self.puma,
                self.diagnose()
            ),
        }
    }

    fn processed(&self) -> u64 {
        let (code, body) = self.http("GET", "/jobs").expect("GET /jobs");
        assert_eq!(code, 200, "GET /jobs: {body}");
        let value: Value = serde_json::from_str(&body).expect("GET /jobs answers JSON");
        value["processed"]
            .as_u64()
            .unwrap_or_else(|| panic!("GET /jobs has no processed count: {body}"))
    }

    /// The asset the page's `<script>` loads.
    fn page_asset(&self) -> io::Result<Option<String>> {
        let (code, body) = self.http("GET", "/")?;
        Ok(if code == 200 { asset_in(&body) } else { None })
    }

    /// `devenv run puma ...`: the exit code and what it printed.
    fn run_in_puma(&self, command: &[&str]) -> Output {
        let mut args = vec!["run", "puma"];
        args.extend(command);
        self.devenv(&args, Duration::from_secs(180))
    }

    fn assert_bundle_ok(&self, when: &str) {
        let out = self.run_in_puma(&["bundle", "check"]);
        assert!(
            out.status.success() && out.stdout.contains("dependencies are satisfied"),
            "{}",
            out.describe(&format!("devenv run puma bundle check ({when})"))
        );
    }

    fn marker_present(&self) -> bool {
        let out = self.run_in_puma(&["test", "-f", MARKER]);
        match out.status.code() {
            Some(0) => true,
            Some(1) => false,
            _ => panic!("{}", out.describe("devenv run puma test -f <marker>")),
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let mut down = self.command(&self.project, &["down", "--volumes"]);
        down.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = match down.spawn() {
            Ok(child) => child,
            Err(e) => {
                eprintln!("cleanup: cannot run devenv down: {e}");
                return self.remove_by_label();
            }
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
        self.remove_by_label();
    }
}

impl Stack {
    /// What `devenv down -v` did not remove, removed with the docker CLI. Images stay.
    fn remove_by_label(&self) {
        let (containers, networks, volumes) = leftovers(&self.project);
        for (what, ids, rm) in [
            ("containers", containers, &["rm", "-f", "-v"][..]),
            ("networks", networks, &["network", "rm"][..]),
            ("volumes", volumes, &["volume", "rm", "-f"][..]),
        ] {
            if ids.is_empty() {
                continue;
            }
            eprintln!("cleanup: removing {what} devenv left behind: {ids:?}");
            let mut args = rm.to_vec();
            args.extend(ids.iter().map(String::as_str));
            let _ = docker(&args);
        }
    }
}

/// A minimal HTTP/1.0 client: status and body of one request to 127.0.0.1:`port`.
fn http(port: u16, method: &str, path: &str) -> io::Result<(u16, String)> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    let body = if method == "POST" { "note=e2e" } else { "" };
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: devenv-e2e\r\n\
         Accept: application/json, text/html\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let bad = || io::Error::new(io::ErrorKind::InvalidData, format!("not HTTP: {text:?}"));
    let (head, body) = text.split_once("\r\n\r\n").ok_or_else(bad)?;
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(bad)?;
    Ok((code, body.to_owned()))
}

/// `/assets/app-<hash>.js` from a page's `<script src=...>`.
fn asset_in(page: &str) -> Option<String> {
    let start = page.find("/assets/app-")?;
    let rest = &page[start..];
    let end = rest.find('"')?;
    Some(rest[..end].to_owned())
}

/// The string literal `greeting.js` exports.
fn greeting_of(source: &str) -> String {
    const OPENING: &str = "GREETING = \"";
    let start = source.find(OPENING).expect("greeting.js exports GREETING") + OPENING.len();
    let len = source[start..].find('"').expect("the greeting string ends");
    source[start..start + len].to_owned()
}

/// Puts a file's original content back when dropped, also when a check failed.
struct Restore {
    path: PathBuf,
    original: Vec<u8>,
}

impl Restore {
    fn new(path: &Path) -> Restore {
        let original = std::fs::read(path).unwrap_or_else(|e| panic!("read {path:?}: {e}"));
        Restore {
            path: path.to_owned(),
            original,
        }
    }

    fn restore(&self) {
        if std::fs::read(&self.path).ok().as_deref() != Some(self.original.as_slice())
            && let Err(e) = std::fs::write(&self.path, &self.original)
        {
            eprintln!("could not restore {:?}: {e}", self.path);
        }
    }
}

impl Drop for Restore {
    fn drop(&mut self) {
        self.restore();
    }
}

/// `devenv watch --json` as a child: its NDJSON events arrive on a channel; killed when
/// dropped.
struct Watch {
    child: Child,
    events: Receiver<(Instant, Value)>,
    /// Every event so far, with when it arrived.
    seen: Vec<(Instant, Value)>,
    stderr: Arc<Mutex<String>>,
    /// The instant event times are shown relative to.
    origin: Instant,
}

impl Watch {
    fn spawn(stack: &Stack) -> Watch {
        let mut cmd = stack.command(&stack.project, &["watch", "--json"]);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start devenv watch --json");
        let (tx, events) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let value = serde_json::from_str(&line)
                    .unwrap_or_else(|_| Value::String(format!("not JSON: {line}")));
                if tx.send((Instant::now(), value)).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        let pipe = child.stderr.take().expect("piped stderr");
        thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if let Ok(mut s) = sink.lock() {
                    s.push_str(&line);
                    s.push('\n');
                }
            }
        });
        Watch {
            child,
            events,
            seen: Vec::new(),
            stderr,
            origin: Instant::now(),
        }
    }

    /// Every event so far (those still queued included), timed from `origin`, and stderr.
    fn context(&mut self) -> String {
        while let Ok(event) = self.events.try_recv() {
            self.seen.push(event);
        }
        let events: Vec<String> = self
            .seen
            .iter()
            .map(|(at, e)| format!("{:>+8.0}ms {e}", signed_ms(self.origin, *at)))
            .collect();
        format!(
            "events (ms from the edit):\n{}\nwatch stderr:\n{}",
            events.join("\n"),
            self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
        )
    }

    /// The next event within `timeout`, or None.
    fn next(&mut self, timeout: Duration) -> Option<Value> {
        match self.events.recv_timeout(timeout) {
            Ok((at, event)) => {
                eprintln!("  watch: {event}");
                self.seen.push((at, event.clone()));
                Some(event)
            }
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => {
                let status = self.child.try_wait().ok().flatten();
                panic!(
                    "devenv watch ended ({status:?}) while events were expected\n{}",
                    self.context()
                );
            }
        }
    }

    /// Waits for an event `pred` accepts; every event on the way is kept in `seen`.
    fn wait_for(&mut self, what: &str, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + timeout;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            if let Some(event) = self.next(left)
                && pred(&event)
            {
                return event;
            }
        }
        panic!("no {what} event within {timeout:?}\n{}", self.context());
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn event_is(event: &Value, name: &str) -> bool {
    event["event"] == name
}

/// Milliseconds from `origin` to `at`, negative when `at` came first.
fn signed_ms(origin: Instant, at: Instant) -> f64 {
    match at.checked_duration_since(origin) {
        Some(d) => d.as_secs_f64() * 1000.0,
        None => -(origin.duration_since(at).as_secs_f64() * 1000.0),
    }
}

/// Step timings, printed as they happen and summed up at the end.
struct Clock {
    start: Instant,
    steps: Vec<(String, Duration)>,
}

impl Clock {
    fn lap(&mut self, step: &str, since: Instant) {
        let took = since.elapsed();
        eprintln!("time: {step}: {:.1}s", took.as_secs_f64());
        self.steps.push((step.to_owned(), took));
    }
}

/// Makes sure the engine has the base image of every demo image (`scripts/base-image`).
fn ensure_base_image() {
    if docker(&["image", "inspect", BASE_IMAGE]).status.success() {
        return;
    }
    let mut cmd = Command::new("bash");
    cmd.arg(Path::new(ROOT).join("scripts/base-image"));
    let out = run_command(cmd, "scripts/base-image", Duration::from_secs(600));
    assert!(
        out.status.success(),
        "{}",
        out.describe("scripts/base-image")
    );
}

/// Redis answers PING on its published port.
fn redis_pong(port: u16) -> io::Result<String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(b"PING\r\n")?;
    let mut buf = [0u8; 64];
    let n = stream.read(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf[..n]).trim().to_owned())
}

/// The first packet MariaDB sends on its published port (the server greeting).
fn mysql_greeting(port: u16) -> io::Result<String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut buf = [0u8; 256];
    let n = stream.read(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

#[test]
fn demo_stack_end_to_end() {
    let mut clock = Clock {
        start: Instant::now(),
        steps: Vec::new(),
    };
    let t = Instant::now();
    ensure_base_image();
    clock.lap("0. base image present", t);

    // Declared first, so it is dropped last: the watch child and the source edit are undone
    // before the stack goes down.
    let stack = Stack::new();
    eprintln!(
        "project {}: puma on 127.0.0.1:{}, mysql on {}, redis on {}",
        stack.project, stack.puma, stack.mysql, stack.redis
    );

    // Checks whose failure does not stop the story: reported together at the end.
    let mut failed: Vec<String> = Vec::new();

    // 1. Images (cached by tag between runs: a warm build is all cache hits), then up.
    // On a cold engine the order matters: node's apt layer is also the first stage of the
    // rails image, but builds running side by side cannot share a layer neither has yet. So
    // node first, then the rest together; sidekiq is left out as it names puma's image.
    let t = Instant::now();
    let cached = IMAGES
        .iter()
        .filter(|i| docker(&["image", "inspect", i]).status.success())
        .count();
    let no_cache = std::env::var("DEVENV_E2E_NO_CACHE").is_ok_and(|v| v == "1");
    for services in [&["node"][..], &["puma", "mysql", "redis"][..]] {
        let mut args = vec!["build"];
        if no_cache {
            args.push("--no-cache");
        }
        args.extend(services);
        let what = format!("devenv {}", args.join(" "));
        let build = run_command(
            stack.command(IMAGE_PROJECT, &args),
            &what,
            Duration::from_secs(540),
        );
        assert!(build.status.success(), "{}", build.describe(&what));
    }
    clock.lap(
        &format!(
            "1a. build the images{} ({cached} of {} were present)",
            if no_cache { " with --no-cache" } else { "" },
            IMAGES.len()
        ),
        t,
    );
    // Every image is there now, so this plain `devenv build` is all cache hits; puma and
    // sidekiq name one image, which is built once, as `up` does.
    let t = Instant::now();
    let build = run_command(
        stack.command(IMAGE_PROJECT, &["build"]),
        "devenv build",
        Duration::from_secs(300),
    );
    assert!(build.status.success(), "{}", build.describe("devenv build"));
    let builders: Vec<&str> = build
        .stderr
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let service = words.next()?;
            (words.next() == Some("Building") && words.next().is_none()).then_some(service)
        })
        .filter(|s| *s == "puma" || *s == "sidekiq")
        .collect();
    if builders.len() != 1 {
        failed.push(format!(
            "`devenv build` built devenv-e2e/rails (shared by puma and sidekiq) {} times: {builders:?}",
            builders.len()
        ));
    }
    clock.lap("1b. devenv build, all cached", t);
    // A container started by hand from an image devenv built is not one of the project's.
    let t = Instant::now();
    let stray = docker(&[
        "run",
        "-d",
        "--rm",
        "--label",
        &format!("{STRAY_LABEL}={}", stack.project),
        IMAGES[0],
        "sleep",
        "120",
    ]);
    assert!(stray.status.success(), "docker run {}", IMAGES[0]);
    let stray_id = String::from_utf8_lossy(&stray.stdout).trim().to_owned();
    let ps = run_command(
        stack.command(IMAGE_PROJECT, &["ps", "-a", "--json"]),
        "devenv ps",
        Duration::from_secs(30),
    );
    let _ = docker(&["rm", "-f", &stray_id]);
    if ps.stdout.contains(&stray_id) {
        failed.push(format!(
            "`devenv -p {IMAGE_PROJECT} ps` lists a container started with `docker run {}` \
             (it inherits the image's {PROJECT_LABEL} label):\n{}",
            IMAGES[0], ps.stdout
        ));
    }
    clock.lap(
        "1c. a hand-run container of the image is not the project's",
        t,
    );

    let t = Instant::now();
    stack.devenv_ok(&["up", "-d", "--wait"], Duration::from_secs(300));
    clock.lap("1d. up -d --wait", t);
    let t = Instant::now();
    let page = stack.get_200("/");
    clock.lap("1e. puma answers GET / as up returned", t);

    // The override moved every published port (ports merge by container port: one each).
    let ps = stack.devenv_ok(&["ps", "--json"], Duration::from_secs(30));
    let rows: Value = serde_json::from_str(&ps.stdout).expect("ps --json prints JSON");
    for (service, container_port, host_port) in [
        ("puma", 3000, stack.puma),
        ("mysql", 3306, stack.mysql),
        ("redis", 6379, stack.redis),
    ] {
        let row = rows
            .as_array()
            .and_then(|r| r.iter().find(|r| r["service"] == service))
            .unwrap_or_else(|| panic!("no {service} in ps --json:\n{}", ps.stdout));
        assert_eq!(row["state"], "running", "{service}: {row}");
        let ports = row["ports"].as_array().expect("ports is a list");
        assert_eq!(ports.len(), 1, "{service} publishes one port: {row}");
        assert_eq!(ports[0]["container_port"], container_port, "{row}");
        assert_eq!(ports[0]["host_port"], host_port, "{row}");
        assert_eq!(ports[0]["host_ip"], "127.0.0.1", "{row}");
    }
    assert_eq!(redis_pong(stack.redis).ok().as_deref(), Some("+PONG"));
    let greeting = mysql_greeting(stack.mysql).expect("MariaDB greets on its published port");
    assert!(
        greeting.contains("MariaDB"),
        "MariaDB greeting: {greeting:?}"
    );

    // 2. The page loads the asset the node service built, and puma serves it.
    let t = Instant::now();
    let manifest_path = Path::new(ROOT).join("demo/public/assets/manifest.json");
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(&manifest_path).expect("node wrote public/assets/manifest.json"),
    )
    .expect("the manifest is JSON");
    let built = format!(
        "/assets/{}",
        manifest["app.js"].as_str().expect("manifest names app.js")
    );
    assert_eq!(
        asset_in(&page).as_deref(),
        Some(built.as_str()),
        "GET / references the manifest's bundle:\n{page}"
    );
    let source = std::fs::read_to_string(Path::new(ROOT).join(GREETING_FILE)).expect("greeting.js");
    let original_greeting = greeting_of(&source);
    let (code, js) = stack.http("GET", &built).expect("GET the asset");
    assert_eq!(code, 200, "GET {built}");
    assert!(
        js.contains(&original_greeting),
        "{built} carries the greeting {original_greeting:?}"
    );
    clock.lap("2. page and asset", t);

    // 3. A job goes puma -> redis -> sidekiq -> mysql.
    let t = Instant::now();
    let before = stack.processed();
    let (code, body) = stack.http("POST", "/jobs").expect("POST /jobs");
    assert_eq!(code, 202, "POST /jobs: {body}");
    let mut processed = before;
    while processed <= before && t.elapsed() < Duration::from_secs(10) {
        thread::sleep(Duration::from_millis(100));
        processed = stack.processed();
    }
    assert!(
        processed > before,
        "the processed count stayed at {processed} for 10s after POST /jobs\n{}",
        stack.diagnose()
    );
    clock.lap(
        &format!("3. job processed (count {before} -> {processed})"),
        t,
    );

    // 4. Under `devenv watch`, a source edit reaches the served asset.
    let t = Instant::now();
    {
        let mut watch = Watch::spawn(&stack);
        watch.wait_for("ready", Duration::from_secs(30), |e| event_is(e, "ready"));
        clock.lap("4a. watch ready", t);

        let greeting_path = Path::new(ROOT).join(GREETING_FILE);
        let guard = Restore::new(&greeting_path);
        let edited = format!("Hello from the devenv e2e test {}", stack.project);
        let limit = Duration::from_millis(
            std::env::var("DEVENV_E2E_ASSET_LIMIT_MS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(2000),
        );
        let t = Instant::now();
        watch.origin = t;
        std::fs::write(&greeting_path, source.replace(&original_greeting, &edited))
            .expect("edit greeting.js");
        let mut changed = None;
        while t.elapsed() < Duration::from_secs(15) {
            if let Ok(Some(asset)) = stack.page_asset()
                && asset != built
                && let Ok((200, js)) = stack.http("GET", &asset)
                && js.contains(&edited)
            {
                changed = Some(asset);
                break;
            }
            thread::sleep(Duration::from_millis(25));
        }
        let took = t.elapsed();
        let Some(new_asset) = changed else {
            panic!(
                "the page never pointed at a bundle carrying the edit\n{}",
                watch.context()
            );
        };
        clock.lap(&format!("4b. edit -> new asset served ({new_asset})"), t);
        let finished = watch.wait_for("action_finished", Duration::from_secs(10), |e| {
            event_is(e, "action_finished")
        });
        assert_eq!(finished["status"], "ok", "{}", watch.context());
        let Some(change) = watch
            .seen
            .iter()
            .map(|(_, e)| e.clone())
            .find(|e| event_is(e, "change"))
        else {
            panic!("no change event\n{}", watch.context());
        };
        assert_eq!(change["rule"], 1, "{change}");
        assert!(
            change["paths"].as_array().is_some_and(|p| p
                .iter()
                .any(|p| p.as_str().is_some_and(|p| p.ends_with("greeting.js")))),
            "the change event names greeting.js: {change}"
        );
        // The 2 s is a speed target, so it is reported, not asserted, unless a run asks for
        // it with DEVENV_E2E_ASSET_LIMIT_MS (what the edit must do is asserted above).
        let strict = std::env::var("DEVENV_E2E_ASSET_LIMIT_MS").is_ok();
        eprintln!("e2e: edit -> new asset served in {took:?} (target {limit:?})");
        if took > limit && strict {
            // What the same rebuild costs without devenv, to tell a slow devenv from a slow
            // machine.
            let node = labelled(&["ps"], &stack.project)
                .into_iter()
                .find(|id| {
                    let out = docker(&[
                        "inspect",
                        "-f",
                        "{{index .Config.Labels \"dev.devenv.service\"}}",
                        id,
                    ]);
                    String::from_utf8_lossy(&out.stdout).trim() == "node"
                })
                .unwrap_or_default();
            let b = Instant::now();
            let _ = docker(&["exec", &node, "node", "bin/build-assets"]);
            let baseline = b.elapsed();
            failed.push(format!(
                "the edit took {took:?} to reach the served asset (limit {limit:?}); \
                 `docker exec node node bin/build-assets` alone takes {baseline:?} here; \
                 load average {}\n{}",
                std::fs::read_to_string("/proc/loadavg")
                    .unwrap_or_default()
                    .trim(),
                watch.context()
            ));
        }

        // Put the source back and let the rebuild it triggers finish: the page returns to the
        // original bundle (esbuild's output, and so its name, depends on the source only).
        let t = Instant::now();
        guard.restore();
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut running = 0i64;
        let mut quiet_since = Instant::now();
        loop {
            assert!(
                Instant::now() < deadline,
                "the restored source was not rebuilt within 20s\n{}",
                watch.context()
            );
            match watch.next(Duration::from_millis(100)) {
                Some(e) if event_is(&e, "action_started") => running += 1,
                Some(e) if event_is(&e, "action_finished") => running -= 1,
                Some(_) => {}
                None => {}
            }
            let back = stack.page_asset().ok().flatten().as_deref() == Some(built.as_str());
            if !back || running > 0 {
                quiet_since = Instant::now();
            } else if quiet_since.elapsed() >= Duration::from_millis(500) {
                break;
            }
        }
        clock.lap("4c. source restored and rebuilt", t);
    }

    // 5. The bundle volume: install, check, and a marker to tell this volume from a new one
    // (Docker fills an empty named volume from the image, whose /bundle is complete).
    let t = Instant::now();
    let install = stack.run_in_puma(&["bundle", "install", "--local", "--no-cache"]);
    assert!(
        install.status.success(),
        "{}",
        install.describe("devenv run puma bundle install --local --no-cache")
    );
    clock.lap("5a. run puma bundle install", t);
    let t = Instant::now();
    stack.assert_bundle_ok("after install");
    let gems = stack.run_in_puma(&["ls", "/bundle/gems"]);
    assert!(
        gems.status.success() && gems.stdout.contains("devenv_demo_helper-0.1.0"),
        "{}",
        gems.describe("ls /bundle/gems")
    );
    let touch = stack.run_in_puma(&["touch", MARKER]);
    assert!(touch.status.success(), "{}", touch.describe("touch marker"));
    assert!(stack.marker_present(), "the marker was written to /bundle");
    clock.lap("5b. run puma bundle check, marker", t);

    // 6. down keeps the named volumes: the rows and the bundle survive.
    let t = Instant::now();
    stack.devenv_ok(&["down"], Duration::from_secs(120));
    clock.lap("6a. down", t);
    let (containers, _, volumes) = leftovers(&stack.project);
    assert!(
        containers.is_empty(),
        "down left containers: {containers:?}"
    );
    assert_eq!(
        volumes.len(),
        3,
        "down keeps bundle, mysql-data, redis-data: {volumes:?}"
    );
    let t = Instant::now();
    stack.devenv_ok(&["up", "-d", "--wait"], Duration::from_secs(300));
    stack.get_200("/jobs");
    clock.lap("6b. up again, puma answering", t);
    let t = Instant::now();
    assert_eq!(
        stack.processed(),
        processed,
        "the processed count survives down + up"
    );
    stack.assert_bundle_ok("after down + up");
    assert!(
        stack.marker_present(),
        "the bundle volume survives down + up"
    );
    clock.lap("6c. data and bundle survived", t);

    // 7. down --volumes deletes them.
    let t = Instant::now();
    stack.devenv_ok(&["down", "--volumes"], Duration::from_secs(120));
    clock.lap("7a. down --volumes", t);
    let (containers, networks, volumes) = leftovers(&stack.project);
    assert!(
        containers.is_empty() && networks.is_empty() && volumes.is_empty(),
        "down --volumes left containers {containers:?}, networks {networks:?}, volumes {volumes:?}"
    );
    // `bundle check` means something: on a really empty /bundle (nocopy) it fails on the
    // app's own gem.
    let t = Instant::now();
    let empty = format!("{}_e2e-empty-bundle", stack.project);
    let label = format!("{PROJECT_LABEL}={}", stack.project);
    let created = docker(&["volume", "create", "--label", &label, &empty]);
    assert!(created.status.success(), "docker volume create {empty}");
    let mount = format!("{empty}:/bundle:nocopy");
    let check = docker(&[
        "run", "--rm", "--label", &label, "-v", &mount, IMAGES[0], "bundle", "check",
    ]);
    let _ = docker(&["volume", "rm", "-f", &empty]);
    let said = String::from_utf8_lossy(&check.stdout).into_owned()
        + &String::from_utf8_lossy(&check.stderr);
    assert!(
        !check.status.success() && said.contains("devenv_demo_helper"),
        "bundle check on an empty /bundle fails naming devenv_demo_helper: {said}"
    );
    clock.lap("7b. bundle check fails on an empty volume", t);
    let t = Instant::now();
    stack.devenv_ok(&["up", "-d", "--wait"], Duration::from_secs(300));
    stack.get_200("/jobs");
    clock.lap("7c. up on fresh volumes, puma answering", t);
    let t = Instant::now();
    assert_eq!(
        stack.processed(),
        0,
        "the database starts empty after down -v"
    );
    assert!(
        !stack.marker_present(),
        "the bundle volume is new after down -v"
    );
    stack.assert_bundle_ok("on a new volume filled from the image");
    clock.lap("7d. fresh data checked", t);

    // 8. The last down leaves nothing of the project behind.
    let t = Instant::now();
    stack.devenv_ok(&["down", "--volumes"], Duration::from_secs(120));
    let (containers, networks, volumes) = leftovers(&stack.project);
    assert!(
        containers.is_empty() && networks.is_empty() && volumes.is_empty(),
        "down --volumes left containers {containers:?}, networks {networks:?}, volumes {volumes:?}"
    );
    clock.lap("8. down --volumes, nothing left", t);

    eprintln!("summary:");
    for (step, took) in &clock.steps {
        eprintln!("  {:>6.1}s  {step}", took.as_secs_f64());
    }
    eprintln!("time: total {:.1}s", clock.start.elapsed().as_secs_f64());
    assert!(
        failed.is_empty(),
        "{} check(s) failed:\n\n{}",
        failed.len(),
        failed.join("\n\n")
    );
}
