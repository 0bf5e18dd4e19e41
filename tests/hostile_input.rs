//! Hostile config text must load to a result (Ok or a rendered error), never a crash, within bounds.
//!
//! Each case runs in a child copy of this test binary, under an address-space limit: a stack
//! overflow or an out-of-memory abort kills the process, which would take every other test in
//! the binary down with it and report nothing useful. In the child the case runs on libtest's
//! test thread, whose 2 MiB stack is also what std and tokio give spawned threads, so the loader
//! has to fit in it wherever it is called from. The child prints how long the load took; that is
//! a measurement to read with `--nocapture`, never an assertion.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use devenv::config::{LoadError, Loaded, load_text};

/// The address space a child may map. A config load that needs more is unbounded.
const CHILD_MEMORY_KIB: u64 = 2 << 20;

const CASE_VAR: &str = "DEVENV_HOSTILE_CASE";

/// What a case expects of the load.
enum Expect {
    /// `Ok`, with this many services.
    Services(usize),
    /// `Err`, whose rendered text starts with this.
    ErrorStartingWith(&'static str),
}

struct Case {
    name: &'static str,
    text: fn() -> String,
    expect: Expect,
}

const CASES: &[Case] = &[
    Case {
        name: "empty",
        text: String::new,
        expect: Expect::ErrorStartingWith("error: the config is empty"),
    },
    Case {
        name: "whitespace_and_comments_only",
        text: || "\n\n   \n# nothing here\n".into(),
        expect: Expect::ErrorStartingWith("error: the config is empty"),
    },
    Case {
        name: "control_characters",
        text: control_characters,
        expect: Expect::ErrorStartingWith("error: invalid YAML"),
    },
    Case {
        name: "nul_and_escapes_in_quoted_values",
        text: || {
            "services:\n  web:\n    image: \"busy\\0box\\x1b[31m\\u0007\"\n    command: \"a\\tb\\nc\"\n"
                .into()
        },
        expect: Expect::Services(1),
    },
    Case {
        name: "tab_indentation",
        text: || "services:\n\tweb:\n\t\timage: busybox\n".into(),
        expect: Expect::ErrorStartingWith("error: invalid YAML"),
    },
    Case {
        name: "nested_flow_mappings_200_deep",
        text: || nested_flow(200),
        expect: Expect::ErrorStartingWith("error: invalid YAML: the file exceeds devenv's limits"),
    },
    Case {
        name: "nested_block_sequences_200_deep",
        text: || {
            let mut text = String::from("services:\n  web:\n    image: a\n    command:\n");
            for depth in 0..200 {
                let _ = writeln!(text, "{}- ", "  ".repeat(depth + 3));
            }
            text
        },
        expect: Expect::ErrorStartingWith("error: invalid YAML: the file exceeds devenv's limits"),
    },
    Case {
        name: "billion_laughs",
        text: billion_laughs,
        expect: Expect::ErrorStartingWith("error: invalid YAML: aliases expand to too much data"),
    },
    Case {
        name: "ten_megabytes_of_services",
        text: || many_long_services(TEN_MB_SERVICES),
        expect: Expect::Services(TEN_MB_SERVICES),
    },
    Case {
        // Realistic services carry many small nodes; the parser's node budget refuses the
        // file long before 10 MB, and that refusal must be an error like any other.
        name: "ten_megabytes_over_the_node_budget",
        text: || many_services(60_000),
        expect: Expect::ErrorStartingWith(
            "error: invalid YAML: the file exceeds devenv's limits for a config",
        ),
    },
    Case {
        // Each error quotes its line; 5000 of them show how that cost grows with the file.
        name: "thousands_of_errors",
        text: || {
            let mut text = String::from("services:\n  web:\n    image: a\n");
            for i in 0..5_000 {
                let _ = writeln!(text, "    k{i}: 1");
            }
            text
        },
        expect: Expect::ErrorStartingWith("error: unknown key `k0` in service `web`"),
    },
    Case {
        // Every service reached through recursion one level deeper than the last.
        name: "long_depends_on_chain",
        text: || depends_on_chain(20_000),
        expect: Expect::Services(20_000),
    },
    Case {
        // 180 KB of `${A:-` is enough to overflow even the CLI's 8 MiB main-thread stack.
        name: "deeply_nested_interpolation",
        text: || {
            let depth = 30_000;
            format!(
                "services:\n  web:\n    image: \"{}x{}\"\n",
                "${A:-".repeat(depth),
                "}".repeat(depth)
            )
        },
        expect: Expect::ErrorStartingWith("error: cannot interpolate"),
    },
    Case {
        // A file that never ends must not be read until memory runs out.
        name: "env_file_that_never_ends",
        text: || "services:\n  web:\n    image: a\n    env_file: /dev/zero\n".into(),
        expect: Expect::ErrorStartingWith("error: env_file: /dev/zero goes on past"),
    },
    Case {
        // 5 KB of text that expands to 32 million published ports.
        name: "port_ranges_amplified",
        text: || {
            let ports = vec!["\"1-65535\""; 500].join(", ");
            format!("services:\n  web:\n    image: a\n    ports: [{ports}]\n")
        },
        expect: Expect::ErrorStartingWith("error: "),
    },
];

/// Enough services of the shape `many_long_services` writes to make about 10 MB of YAML.
const TEN_MB_SERVICES: usize = 20_000;

fn control_characters() -> String {
    let mut text = String::from("services:\n  web:\n    image: a");
    for c in (0u8..0x20).filter(|c| !b"\t\n\r".contains(c)) {
        text.push(char::from(c));
    }
    text.push_str("\u{7f}\u{85}\u{feff}\n");
    text
}

fn nested_flow(depth: usize) -> String {
    format!(
        "services:\n  web:\n    image: a\n    labels: {}x: y{}\n",
        "{a: ".repeat(depth),
        "}".repeat(depth)
    )
}

fn billion_laughs() -> String {
    let mut text = String::from("x-l0: &l0 \"lol\"\n");
    for level in 1..=9 {
        let refs = vec![format!("*l{}", level - 1); 10].join(", ");
        let _ = writeln!(text, "x-l{level}: &l{level} [{refs}]");
    }
    text.push_str("services:\n  web:\n    image: a\n    command: *l9\n");
    text
}

fn many_services(count: usize) -> String {
    let mut text = String::from("services:\n");
    for i in 0..count {
        let _ = write!(
            text,
            "  svc{i}:\n    image: \"registry.local/app:{i}\"\n    command: [bundle, exec, puma]\n    environment: {{RAILS_ENV: development, N: \"{i}\"}}\n    volumes: [\"./app:/app\"]\n"
        );
    }
    text
}

/// Services of few nodes and long values: many bytes, few nodes.
fn many_long_services(count: usize) -> String {
    let flags = "--verbose ".repeat(44);
    let mut text = String::from("services:\n");
    for i in 0..count {
        let _ = write!(
            text,
            "  svc{i}:\n    image: \"registry.local/app:{i}\"\n    command: \"bundle exec puma {flags}\"\n"
        );
    }
    text
}

/// svc1 depends on svc0, svc2 on svc1, and so on: one path as long as the file.
fn depends_on_chain(count: usize) -> String {
    let mut text = String::from("services:\n  svc0: {image: a}\n");
    for i in 1..count {
        let _ = writeln!(text, "  svc{i}: {{image: a, depends_on: [svc{}]}}", i - 1);
    }
    text
}

/// The one rendered text of a result, as the CLI would show it.
fn render(result: &Result<Loaded, LoadError>, dir: &Path) -> String {
    match result {
        Ok(l) => l
            .warnings
            .iter()
            .map(|w| l.sources.render(w, dir))
            .collect(),
        Err(e) => e.render(dir),
    }
}

/// Runs inside the child: loads the case's text and checks the result's shape.
#[test]
#[ignore = "run by the other tests in a child process"]
fn child() {
    let Ok(name) = std::env::var(CASE_VAR) else {
        return;
    };
    let case = CASES
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no case named {name}"));
    let text = (case.text)();
    let dir = std::env::temp_dir().join("devenv-hostile");
    let (started, cpu_started) = (Instant::now(), thread_cpu_ns());
    let result = load_text(&text, &dir);
    let rendered = render(&result, &dir);
    let elapsed = started.elapsed();
    // Wall time on a shared machine says little alone; the thread's CPU time says more.
    let cpu = match (cpu_started, thread_cpu_ns()) {
        (Some(a), Some(b)) => format!("{:.1} ms", (b - a) as f64 / 1e6),
        _ => "unknown".into(),
    };
    println!(
        "measured: {name}: {} bytes loaded and rendered in {:.1} ms wall, {cpu} CPU",
        text.len(),
        elapsed.as_secs_f64() * 1000.0
    );
    match (&case.expect, &result) {
        (Expect::Services(n), Ok(l)) => assert_eq!(l.project.services.len(), *n),
        (Expect::ErrorStartingWith(start), Err(_)) => assert!(
            rendered.starts_with(start),
            "expected an error starting with {start:?}, got:\n{}",
            truncate(&rendered)
        ),
        (Expect::Services(_), Err(_)) => panic!("expected Ok, got:\n{}", truncate(&rendered)),
        (Expect::ErrorStartingWith(_), Ok(l)) => panic!(
            "expected an error, got Ok with {} services",
            l.project.services.len()
        ),
    }
}

/// Nanoseconds this thread has spent on a CPU, from Linux's schedstat.
fn thread_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

fn truncate(text: &str) -> String {
    text.chars().take(2_000).collect()
}

/// Runs `case` in a child process with limited memory and asserts it ended normally.
fn run_isolated(case: &str) {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {CHILD_MEMORY_KIB} && exec \"$0\" \"$@\""
        ))
        .arg(exe)
        .args(["child", "--exact", "--ignored", "--nocapture"])
        .env(CASE_VAR, case)
        .output()
        .expect("sh runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if let Some(line) = stdout.lines().find(|l| l.starts_with("measured: ")) {
        println!("{line}");
    }
    assert!(
        out.status.success(),
        "case {case} did not end normally ({}), under a {} MiB address-space limit\nstdout:\n{}\nstderr:\n{}",
        out.status,
        CHILD_MEMORY_KIB >> 10,
        truncate(&stdout),
        truncate(&stderr)
    );
    assert!(
        stdout.contains("1 passed"),
        "case {case}: the child ran no test\n{stdout}"
    );
}

#[test]
fn empty() {
    run_isolated("empty");
}

#[test]
fn whitespace_and_comments_only() {
    run_isolated("whitespace_and_comments_only");
}

#[test]
fn control_characters_are_a_yaml_error() {
    run_isolated("control_characters");
}

#[test]
fn nul_and_escapes_in_quoted_values_load() {
    run_isolated("nul_and_escapes_in_quoted_values");
}

#[test]
fn tab_indentation_is_a_yaml_error() {
    run_isolated("tab_indentation");
}

#[test]
fn nested_flow_mappings_200_deep_hit_the_depth_limit() {
    run_isolated("nested_flow_mappings_200_deep");
}

#[test]
fn nested_block_sequences_200_deep_hit_the_depth_limit() {
    run_isolated("nested_block_sequences_200_deep");
}

#[test]
fn billion_laughs_hits_the_alias_limit() {
    run_isolated("billion_laughs");
}

#[test]
fn ten_megabytes_of_services_load() {
    run_isolated("ten_megabytes_of_services");
}

#[test]
fn ten_megabytes_over_the_node_budget_is_refused() {
    run_isolated("ten_megabytes_over_the_node_budget");
}

#[test]
fn thousands_of_errors_are_all_reported() {
    run_isolated("thousands_of_errors");
}

#[test]
fn long_depends_on_chain_loads() {
    run_isolated("long_depends_on_chain");
}

#[test]
fn deeply_nested_interpolation_is_refused() {
    run_isolated("deeply_nested_interpolation");
}

#[test]
fn env_file_that_never_ends_is_refused() {
    run_isolated("env_file_that_never_ends");
}

#[test]
fn port_ranges_amplified_stay_bounded() {
    run_isolated("port_ranges_amplified");
}

/// Every case has a test that runs it, so none is written and silently skipped.
#[test]
fn every_case_is_run() {
    let source = include_str!("hostile_input.rs");
    for case in CASES {
        assert!(
            source.contains(&format!("run_isolated(\"{}\")", case.name)),
            "case {} has no test",
            case.name
        );
    }
}
