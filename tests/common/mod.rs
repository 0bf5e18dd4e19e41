//! Shared helpers for real-engine tests: test image, unique projects, cleanup by label.
#![allow(dead_code)]

pub mod stack;
use std::process::{Command, Output};
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

pub mod watch;

/// The image the engine tests run and build from; made by `scripts/test-image`.
pub const TEST_IMAGE: &str = "devenv-test/busybox:latest";

/// The label key devenv uses to mark a project's objects.
pub const PROJECT_LABEL: &str = "dev.devenv.project";

/// Marks objects a test creates *without* the project label (to check devenv leaves them
/// alone), so the cleanup can still find them.
pub const STRAY_LABEL: &str = "dev.devenv.test-stray";

/// Makes sure the test image exists, running `scripts/test-image` at most once per process.
pub fn ensure_test_image() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/test-image");
        let output = Command::new("bash")
            .arg(script)
            .output()
            .expect("run scripts/test-image");
        assert!(
            output.status.success(),
            "scripts/test-image failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    });
}

/// A project name no other test (or test run) uses: `devenv-test-<pid>-<n>`.
pub fn unique_project() -> String {
    unique_project_with("devenv-test")
}

/// A unique project name with another prefix: `<prefix>-<pid>-<n>`.
pub fn unique_project_with(prefix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// Runs the docker CLI: the tests' independent view of the engine.
pub fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .output()
        .expect("run the docker CLI")
}

/// The docker CLI's stdout, trimmed; panics with its stderr when it fails.
pub fn docker_ok(args: &[&str]) -> String {
    let out = docker(args);
    assert!(
        out.status.success(),
        "docker {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Removes every container, network, volume and image labelled with the project (or with the
/// stray label for it) when dropped — also when the test panicked.
pub struct Cleanup {
    pub project: String,
}

impl Cleanup {
    pub fn new(project: &str) -> Cleanup {
        Cleanup {
            project: project.to_owned(),
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for label in [PROJECT_LABEL, STRAY_LABEL] {
            let filter = format!("label={label}={}", self.project);
            let containers = ids(&["ps", "-aq", "--filter", &filter]);
            if !containers.is_empty() {
                let mut args = vec!["rm", "-f", "-v"];
                args.extend(containers.iter().map(String::as_str));
                let _ = docker(&args);
            }
            let nets = ids(&["network", "ls", "-q", "--filter", &filter]);
            if !nets.is_empty() {
                let mut args = vec!["network", "rm"];
                args.extend(nets.iter().map(String::as_str));
                let _ = docker(&args);
            }
            let vols = ids(&["volume", "ls", "-q", "--filter", &filter]);
            if !vols.is_empty() {
                let mut args = vec!["volume", "rm", "-f"];
                args.extend(vols.iter().map(String::as_str));
                let _ = docker(&args);
            }
            let images = ids(&["image", "ls", "-q", "--filter", &filter]);
            if !images.is_empty() {
                let mut args = vec!["image", "rm", "-f"];
                args.extend(images.iter().map(String::as_str));
                let _ = docker(&args);
            }
        }
    }
}

fn ids(args: &[&str]) -> Vec<String> {
    let out = docker(args);
    let mut ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    ids.sort();
    ids.dedup();
    ids
}
