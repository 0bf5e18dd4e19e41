//! Measures the watch on a big tree: builds 100,000 files (half in node_modules) under /tmp,
//! watches it, and prints time to ready, inotify watches (read back from the kernel), RSS and
//! CPU while idle.
//!
//! `cargo run --release --example watch_tree [-- TREE_DIR [APP_FILES NODE_FILES]]`

use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use devenv::config::model::{DEFAULT_DEBOUNCE, WatchRule};
use devenv::watch::{self, WatchEvent};
use tokio::sync::{mpsc, oneshot};

const FILES_PER_DIR: usize = 10;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .unwrap_or_else(|| "/tmp/devenv-watch-bench".to_owned()),
    );
    let app_files: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(50_000);
    let node_files: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(50_000);
    match bench(&dir, app_files, node_files) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn bench(dir: &Path, app_files: usize, node_files: usize) -> Result<(), String> {
    let marker = dir.join(format!(".built-{app_files}-{node_files}"));
    if !marker.exists() {
        let _ = fs::remove_dir_all(dir);
        let t = Instant::now();
        build_tree(dir, app_files, node_files).map_err(|e| format!("building the tree: {e}"))?;
        fs::write(&marker, "").map_err(|e| e.to_string())?;
        eprintln!("built the tree in {:.1?}", t.elapsed());
    }
    let rules = vec![
        rule(&["app", "lib", "config"]),
        rule(&["Gemfile", "Gemfile.lock"]),
        rule(&["package.json", "app/javascript/**/*.js"]),
        rule(&["**"]),
    ];

    // The same walk without placing watches, to split ready time into walking and watching.
    let t = Instant::now();
    let c = cpu_time();
    let c_sys = sys_time();
    let plan = watch::plan(dir, &rules).map_err(|e| e.to_string())?;
    let walk_only = t.elapsed();
    let walk_cpu = cpu_time() - c;
    let walk_sys = sys_time() - c_sys;

    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let rss_before = status_kib("VmRSS");
        let (events_tx, mut events) = mpsc::unbounded_channel();
        let (runs_tx, mut runs) = mpsc::unbounded_channel();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let started = Instant::now();
        let cpu_started = cpu_time();
        let sys_started = sys_time();
        let task = tokio::spawn(watch::run(
            dir,
            rules,
            move |rule, paths: Vec<PathBuf>| {
                let runs_tx = runs_tx.clone();
                async move {
                    let _ = runs_tx.send((rule, paths.len(), Instant::now()));
                    Ok(())
                }
            },
            move |e| {
                let _ = events_tx.send(e);
            },
            async move {
                let _ = stop_rx.await;
            },
        ));

        let (dirs_watched, files_seen, elapsed) = loop {
            match events.recv().await {
                Some(WatchEvent::Ready {
                    dirs_watched,
                    files_seen,
                    elapsed,
                }) => break (dirs_watched, files_seen, elapsed),
                Some(WatchEvent::Warning { message }) => eprintln!("warning: {message}"),
                Some(other) => eprintln!("{other:?}"),
                None => return Err("the watch ended before it was ready".to_owned()),
            }
        };
        let wall = started.elapsed();
        let ready_cpu = cpu_time() - cpu_started;
        let ready_sys = sys_time() - sys_started;
        let rss_ready = status_kib("VmRSS");

        let watched = watched_inodes();
        let node_dirs: HashSet<u64> = dirs_under(&dir.join("node_modules"))
            .iter()
            .filter_map(|d| fs::metadata(d).ok().map(|m| m.ino()))
            .collect();
        let in_node_modules = watched.intersection(&node_dirs).count();

        // Idle: nothing changes for 5 s.
        let idle_from = cpu_time();
        tokio::time::sleep(Duration::from_secs(5)).await;
        let idle_cpu = cpu_time().saturating_sub(idle_from);

        // One edit, timed to the executor call (includes the 50 ms debounce).
        let edited = dir.join("app/m0/c0/l0/f0.rb");
        let t = Instant::now();
        fs::write(&edited, "edited").map_err(|e| e.to_string())?;
        let mut latency = None;
        let mut fired = Vec::new();
        while let Ok(Some((rule, n, at))) =
            tokio::time::timeout(Duration::from_millis(500), runs.recv()).await
        {
            latency.get_or_insert(at.duration_since(t));
            fired.push((rule, n));
        }
        // A checkout-sized burst: 3,000 existing files rewritten across the tree.
        let burst: Vec<PathBuf> = (0..3000)
            .map(|i| {
                let leaf = i / FILES_PER_DIR;
                dir.join(format!(
                    "app/m{}/c{}/l{}/f{}.rb",
                    leaf / 100,
                    (leaf / 10) % 10,
                    leaf % 10,
                    i % FILES_PER_DIR
                ))
            })
            .collect();
        let t = Instant::now();
        for path in &burst {
            fs::write(path, "burst").map_err(|e| e.to_string())?;
        }
        let burst_written = t.elapsed();
        let mut burst_runs = Vec::new();
        let mut burst_latency = None;
        while let Ok(Some((rule, n, at))) =
            tokio::time::timeout(Duration::from_millis(1000), runs.recv()).await
        {
            burst_latency.get_or_insert(at.duration_since(t));
            burst_runs.push((rule, n));
        }
        let rss_end = status_kib("VmRSS");
        let hwm = status_kib("VmHWM");
        let _ = stop_tx.send(());
        let result = task.await.map_err(|e| e.to_string())?;
        result.map_err(|e| e.to_string())?;

        println!(
            "tree: {} ({app_files} app files, {node_files} in node_modules)",
            dir.display()
        );
        println!("ready: {elapsed:.1?} (wall from run() call: {wall:.1?}; CPU {ready_cpu:.1?}, of which system {ready_sys:.1?})");
        println!(
            "walk alone, no watches (plan): {walk_only:.1?} (CPU {walk_cpu:.1?}, of which system \
             {walk_sys:.1?}) for {} dirs",
            plan.dirs.len()
        );
        println!("load average at the end: {}", fs::read_to_string("/proc/loadavg").unwrap_or_default().trim());
        println!(
            "dirs watched: {dirs_watched} (kernel reports {} inotify watches)",
            watched.len()
        );
        println!(
            "watches inside node_modules: {in_node_modules} of {} dirs there",
            node_dirs.len()
        );
        println!("files seen: {files_seen}");
        println!(
            "RSS: {} KiB before run(), {} KiB at ready, {} KiB after idle, edit and burst; peak {} KiB",
            show(rss_before),
            show(rss_ready),
            show(rss_end),
            show(hwm)
        );
        println!("CPU while idle for 5 s: {idle_cpu:?}");
        match latency {
            Some(l) => println!("edit to executor call: {l:.1?}; runs: {fired:?} (rule, paths)"),
            None => println!("edit to executor call: no run within 500 ms"),
        }
        println!(
            "burst of {} rewrites (written in {burst_written:.1?}): runs {burst_runs:?} \
             (rule, paths), first {:.1?} after the first write",
            burst.len(),
            burst_latency.unwrap_or_default()
        );
        Ok(())
    })
}

fn rule(paths: &[&str]) -> WatchRule {
    WatchRule {
        paths: paths.iter().map(|s| s.to_string()).collect(),
        ignore: vec![],
        debounce: DEFAULT_DEBOUNCE,
        actions: vec![],
        initial_sync: false,
    }
}

/// App files in `app/mA/cB/lC/` (10 per dir, 50 × 10 × 10 dirs for 50,000); node_modules as
/// packages of five directories of ten files each.
fn build_tree(dir: &Path, app_files: usize, node_files: usize) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    fs::write(dir.join("Gemfile"), "source 'https://rubygems.org'\n")?;
    fs::write(dir.join("package.json"), "{}\n")?;
    fs::write(dir.join(".gitignore"), "/coverage\n*.log\n")?;
    let leaf_dirs = app_files.div_ceil(FILES_PER_DIR);
    for i in 0..leaf_dirs {
        let d = dir.join(format!("app/m{}/c{}/l{}", i / 100, (i / 10) % 10, i % 10));
        fs::create_dir_all(&d)?;
        for f in 0..FILES_PER_DIR.min(app_files - i * FILES_PER_DIR) {
            fs::write(d.join(format!("f{f}.rb")), "x")?;
        }
    }
    let subdirs = ["lib", "dist", "dist/esm", "dist/cjs", "types"];
    let per_pkg = subdirs.len() * FILES_PER_DIR;
    for p in 0..node_files.div_ceil(per_pkg) {
        for (s, sub) in subdirs.iter().enumerate() {
            let d = dir.join(format!("node_modules/pkg{p}/{sub}"));
            fs::create_dir_all(&d)?;
            for f in 0..FILES_PER_DIR {
                if p * per_pkg + s * FILES_PER_DIR + f < node_files {
                    fs::write(d.join(format!("f{f}.js")), "x")?;
                }
            }
        }
    }
    Ok(())
}

fn status_kib(field: &str) -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn show(kib: Option<u64>) -> String {
    kib.map_or_else(|| "?".to_owned(), |k| k.to_string())
}

/// User plus system CPU time of the whole process (all threads), to the microsecond.
fn cpu_time() -> Duration {
    // SAFETY: getrusage writes into the struct we hand it and nothing else.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// System part of [`cpu_time`].
fn sys_time() -> Duration {
    // SAFETY: as above.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    Duration::from_secs(usage.ru_stime.tv_sec as u64)
        + Duration::from_micros(usage.ru_stime.tv_usec as u64)
}

fn watched_inodes() -> HashSet<u64> {
    let mut inodes = HashSet::new();
    let Ok(fds) = fs::read_dir("/proc/self/fd") else {
        return inodes;
    };
    for fd in fds.flatten() {
        let is_inotify =
            fs::read_link(fd.path()).is_ok_and(|t| t.as_os_str() == "anon_inode:inotify");
        if !is_inotify {
            continue;
        }
        let Ok(text) = fs::read_to_string(Path::new("/proc/self/fdinfo").join(fd.file_name()))
        else {
            continue;
        };
        for line in text.lines().filter(|l| l.starts_with("inotify wd:")) {
            inodes.extend(
                line.split_whitespace()
                    .find_map(|f| f.strip_prefix("ino:"))
                    .and_then(|h| u64::from_str_radix(h, 16).ok()),
            );
        }
    }
    inodes
}

fn dirs_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    let mut i = 0;
    while i < out.len() {
        if let Ok(entries) = fs::read_dir(&out[i]) {
            for e in entries.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    out.push(e.path());
                }
            }
        }
        i += 1;
    }
    out
}
