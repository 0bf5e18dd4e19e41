//! The watch core on real temporary directories with real inotify: which changes fire which
//! rules, how often, with which paths, and where watches are (read back from the kernel).

use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use devenv::config::model::{DEFAULT_DEBOUNCE, WatchRule};
use devenv::watch::{self, ExecError, RescanReason, Watch, WatchError, WatchEvent};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::timeout;

/// Long enough for any change to arrive on a loaded machine; only reached when a test fails.
const PATIENCE: Duration = Duration::from_secs(10);
/// How long to wait to be sure nothing more fires, well past every debounce used here.
const SETTLE: Duration = Duration::from_millis(600);

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let path =
            std::env::temp_dir().join(format!("devenv-watch-{name}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create temp dir");
        TempDir(fs::canonicalize(&path).expect("canonicalize temp dir"))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn write(root: &Path, rel: &str, content: &str) {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("create parent dir");
    }
    fs::write(&path, content).expect("write file");
}

fn rule(paths: &[&str], debounce: Duration) -> WatchRule {
    WatchRule {
        paths: paths.iter().map(|s| s.to_string()).collect(),
        ignore: vec![],
        debounce,
        actions: vec![],
        initial_sync: false,
    }
}

/// Inodes of every directory this process holds an inotify watch on, read from the kernel.
fn watched_inodes() -> HashSet<u64> {
    let mut inodes = HashSet::new();
    let Ok(fds) = fs::read_dir("/proc/self/fd") else {
        return inodes;
    };
    for fd in fds.flatten() {
        let is_inotify =
            fs::read_link(fd.path()).is_ok_and(|target| target.as_os_str() == "anon_inode:inotify");
        if !is_inotify {
            continue;
        }
        let info = Path::new("/proc/self/fdinfo").join(fd.file_name());
        let Ok(text) = fs::read_to_string(info) else {
            continue;
        };
        for line in text.lines().filter(|l| l.starts_with("inotify wd:")) {
            let ino = line
                .split_whitespace()
                .find_map(|field| field.strip_prefix("ino:"))
                .and_then(|hex| u64::from_str_radix(hex, 16).ok());
            inodes.extend(ino);
        }
    }
    inodes
}

fn inode(path: &Path) -> u64 {
    fs::metadata(path).expect("stat").ino()
}

/// Every directory at or below `dir`.
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

struct Run {
    rule: usize,
    paths: Vec<PathBuf>,
    /// Present in manual mode: the test decides how the run ends.
    reply: Option<oneshot::Sender<Result<(), ExecError>>>,
}

struct Harness {
    dir: TempDir,
    runs: mpsc::UnboundedReceiver<Run>,
    events: mpsc::UnboundedReceiver<WatchEvent>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), WatchError>>,
    ready: WatchEvent,
}

impl Harness {
    async fn start(dir: TempDir, rules: Vec<WatchRule>) -> Harness {
        Harness::start_with(dir, rules, false, |w| w).await
    }

    async fn start_with(
        dir: TempDir,
        rules: Vec<WatchRule>,
        manual: bool,
        tune: impl FnOnce(Watch) -> Watch,
    ) -> Harness {
        let (runs_tx, runs) = mpsc::unbounded_channel();
        let (events_tx, mut events) = mpsc::unbounded_channel();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let executor = move |rule: usize, paths: Vec<PathBuf>| {
            let runs_tx = runs_tx.clone();
            async move {
                if manual {
                    let (tx, rx) = oneshot::channel();
                    let _ = runs_tx.send(Run {
                        rule,
                        paths,
                        reply: Some(tx),
                    });
                    rx.await.unwrap_or(Ok(()))
                } else {
                    let _ = runs_tx.send(Run {
                        rule,
                        paths,
                        reply: None,
                    });
                    Ok(())
                }
            }
        };
        let watch = tune(Watch::new(dir.0.clone(), rules));
        let task = tokio::spawn(watch.run(
            executor,
            move |event| {
                let _ = events_tx.send(event);
            },
            async move {
                let _ = stop_rx.await;
            },
        ));
        // The first event is Ready: these trees give no warnings.
        let ready = match timeout(PATIENCE, events.recv()).await {
            Ok(Some(event @ WatchEvent::Ready { .. })) => event,
            Ok(Some(other)) => panic!("before ready: {other:?}"),
            Ok(None) | Err(_) => panic!("no ready event; ended: {}", task.is_finished()),
        };
        Harness {
            dir,
            runs,
            events,
            stop: Some(stop_tx),
            task,
            ready,
        }
    }

    fn root(&self) -> &Path {
        &self.dir.0
    }

    fn rel(&self, paths: &[PathBuf]) -> Vec<String> {
        paths
            .iter()
            .map(|p| {
                p.strip_prefix(self.root())
                    .unwrap_or(p)
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
    }

    async fn next_run(&mut self) -> Run {
        match timeout(PATIENCE, self.runs.recv()).await {
            Ok(Some(run)) => run,
            _ => panic!("no run within {PATIENCE:?}"),
        }
    }

    /// The next run, as (rule, project-relative paths).
    async fn next(&mut self) -> (usize, Vec<String>) {
        let run = self.next_run().await;
        (run.rule, self.rel(&run.paths))
    }

    async fn assert_quiet(&mut self, what: &str) {
        if let Ok(Some(run)) = timeout(SETTLE, self.runs.recv()).await {
            panic!(
                "{what}: rule {} ran for {:?}",
                run.rule,
                self.rel(&run.paths)
            );
        }
    }

    async fn stop(mut self) -> Result<(), WatchError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match timeout(PATIENCE, &mut self.task).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) => panic!("watch task panicked: {join}"),
            Err(_) => panic!("watch did not stop"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_fires_the_rule_with_the_edited_path() {
    let dir = TempDir::new("edit");
    write(&dir.0, "app/models/user.rb", "class User; end\n");
    write(&dir.0, "config/routes.rb", "");
    let rules = vec![
        rule(&["app"], DEFAULT_DEBOUNCE),
        rule(&["config/*.rb"], DEFAULT_DEBOUNCE),
    ];
    let plan = watch::plan(&dir.0, &rules).expect("plan");
    let mut h = Harness::start(dir, rules).await;
    let WatchEvent::Ready {
        dirs_watched,
        files_seen,
        ..
    } = h.ready
    else {
        unreachable!()
    };
    // The root, app, app/models, config.
    assert_eq!(dirs_watched, 4);
    assert_eq!(plan.dirs.len(), 4);
    assert_eq!(files_seen, 2);

    write(h.root(), "app/models/user.rb", "class User < Base; end\n");
    assert_eq!(h.next().await, (0, vec!["app/models/user.rb".into()]));
    h.assert_quiet("after one edit").await;

    write(h.root(), "config/routes.rb", "# routes\n");
    assert_eq!(h.next().await, (1, vec!["config/routes.rb".into()]));
    h.stop().await.expect("stops cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_builds_output_in_public_assets_never_fires() {
    let dir = TempDir::new("assets");
    write(&dir.0, "public/assets/application-1.js", "a");
    write(&dir.0, "public/robots.txt", "");
    let mut h = Harness::start(dir, vec![rule(&["**"], DEFAULT_DEBOUNCE)]).await;
    let assets = h.root().join("public/assets");
    assert!(!watched_inodes().contains(&inode(&assets)));
    assert!(watched_inodes().contains(&inode(&h.root().join("public"))));

    write(h.root(), "public/assets/application-2.js", "b");
    write(h.root(), "public/assets/application-1.js", "c");
    fs::create_dir(assets.join("fonts")).expect("mkdir");
    write(h.root(), "public/assets/fonts/a.woff", "d");
    h.assert_quiet("writes inside public/assets").await;

    write(h.root(), "public/robots.txt", "User-agent: *\n");
    assert_eq!(h.next().await, (0, vec!["public/robots.txt".into()]));
    h.stop().await.expect("stops cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn safe_saves_fire_once_for_the_saved_file() {
    let dir = TempDir::new("rename");
    write(&dir.0, "app/user.rb", "v1\n");
    let mut h = Harness::start(dir, vec![rule(&["app"], DEFAULT_DEBOUNCE)]).await;
    let app = h.root().join("app");
    let want = (0, vec!["app/user.rb".to_owned()]);

    // Write a temporary file, rename it over the target.
    write(h.root(), "app/user.rb.tmp", "v2\n");
    fs::rename(app.join("user.rb.tmp"), app.join("user.rb")).expect("rename");
    assert_eq!(h.next().await, want);
    h.assert_quiet("after a .tmp rename-save").await;

    // vim with `backupcopy=no`: probe file 4913, move the original to a backup, write anew.
    write(h.root(), "app/.user.rb.swp", "swap");
    write(h.root(), "app/4913", "");
    fs::remove_file(app.join("4913")).expect("rm 4913");
    fs::rename(app.join("user.rb"), app.join("user.rb~")).expect("backup");
    write(h.root(), "app/user.rb", "v3\n");
    fs::remove_file(app.join("user.rb~")).expect("rm backup");
    fs::remove_file(app.join(".user.rb.swp")).expect("rm swap");
    assert_eq!(h.next().await, want);
    h.assert_quiet("after a vim save").await;

    // JetBrains safe write.
    write(h.root(), "app/user.rb___jb_tmp___", "v4\n");
    fs::rename(app.join("user.rb"), app.join("user.rb___jb_old___")).expect("old");
    fs::rename(app.join("user.rb___jb_tmp___"), app.join("user.rb")).expect("swap in");
    fs::remove_file(app.join("user.rb___jb_old___")).expect("rm old");
    assert_eq!(h.next().await, want);
    h.assert_quiet("after a JetBrains save").await;

    // Deleting fires too.
    fs::remove_file(app.join("user.rb")).expect("rm");
    assert_eq!(h.next().await, want);
    h.stop().await.expect("stops cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_a_thousand_files_is_one_run() {
    let dir = TempDir::new("burst");
    fs::create_dir_all(dir.0.join("app/burst")).expect("mkdir");
    // A longer quiet period than the default keeps a busy shared machine from splitting the
    // burst; the debounce itself is what is under test.
    let quiet = Duration::from_millis(250);
    let mut h = Harness::start(dir, vec![rule(&["app"], quiet)]).await;

    for i in 0..1000 {
        write(h.root(), &format!("app/burst/f{i:04}.rb"), "x");
    }
    let (rule, paths) = h.next().await;
    assert_eq!(rule, 0);
    assert_eq!(paths.len(), 1000);
    assert_eq!(paths[0], "app/burst/f0000.rb");
    assert_eq!(paths[999], "app/burst/f0999.rb");
    h.assert_quiet("after the burst").await;

    // The same into a directory that did not exist: files landing before its watch count.
    for i in 0..1000 {
        write(h.root(), &format!("app/generated/g{i:04}.rb"), "x");
    }
    let (_, paths) = h.next().await;
    assert_eq!(paths.len(), 1001, "the new dir and its 1000 files");
    assert_eq!(paths[0], "app/generated");
    h.assert_quiet("after the burst into a new dir").await;
    h.stop().await.expect("stops cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_during_a_run_give_exactly_one_rerun() {
    let dir = TempDir::new("overlap");
    write(&dir.0, "app/a.rb", "");
    fs::create_dir(dir.0.join("config")).expect("mkdir");
    let rules = vec![
        rule(&["app"], DEFAULT_DEBOUNCE),
        rule(&["config"], DEFAULT_DEBOUNCE),
    ];
    let mut h = Harness::start_with(dir, rules, true, |w| w).await;

    write(h.root(), "app/a.rb", "1");
    let first = h.next_run().await;
    assert_eq!(h.rel(&first.paths), ["app/a.rb"]);

    // Three separate bursts while the first run is still going, each well past the debounce.
    write(h.root(), "app/b.rb", "2");
    tokio::time::sleep(Duration::from_millis(150)).await;
    write(h.root(), "app/c.rb", "3");
    tokio::time::sleep(Duration::from_millis(150)).await;
    write(h.root(), "app/b.rb", "4");
    // Another rule firing meanwhile runs on its own and does not release the first.
    tokio::time::sleep(Duration::from_millis(150)).await;
    write(h.root(), "config/app.yml", "");
    let other = h.next_run().await;
    assert_eq!(
        (other.rule, h.rel(&other.paths)),
        (1, vec!["config/app.yml".into()])
    );
    other.reply.expect("manual").send(Ok(())).expect("reply");
    h.assert_quiet("while the first run is going").await;

    first.reply.expect("manual").send(Ok(())).expect("reply");
    let second = h.next_run().await;
    assert_eq!(h.rel(&second.paths), ["app/b.rb", "app/c.rb"]);
    second.reply.expect("manual").send(Ok(())).expect("reply");
    h.assert_quiet("after the rerun").await;
    h.stop().await.expect("stops cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_action_keeps_the_watch_going() {
    let dir = TempDir::new("failed");
    write(&dir.0, "app/a.rb", "");
    let mut h = Harness::start_with(dir, vec![rule(&["app"], DEFAULT_DEBOUNCE)], true, |w| w).await;

    write(h.root(), "app/a.rb", "1");
    let first = h.next_run().await;
    first
        .reply
        .expect("manual")
        .send(Err(ExecError::Failed("exit status 1".into())))
        .expect("reply");
    h.assert_quiet("after a failed run").await;
    assert!(!h.task.is_finished());

    write(h.root(), "app/b.rb", "2");
    let second = h.next_run().await;
    assert_eq!(h.rel(&second.paths), ["app/b.rb"]);
    second.reply.expect("manual").send(Ok(())).expect("reply");
    h.stop().await.expect("stops cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fatal_error_ends_the_watch() {
    let dir = TempDir::new("fatal");
    write(&dir.0, "app/a.rb", "");
    let mut h = Harness::start_with(
        dir,
        vec![
            rule(&["config"], DEFAULT_DEBOUNCE),
            rule(&["app"], DEFAULT_DEBOUNCE),
        ],
        true,
        |w| w,
    )
    .await;

    write(h.root(), "app/a.rb", "1");
    let run = h.next_run().await;
    assert_eq!(run.rule, 1);
    run.reply
        .expect("manual")
        .send(Err(ExecError::Fatal("the Docker engine went away".into())))
        .expect("reply");
    let ended = match timeout(PATIENCE, &mut h.task).await {
        Ok(Ok(result)) => result,
        other => panic!("watch did not end: {other:?}"),
    };
    let err = ended.expect_err("a fatal error ends the watch");
    assert!(matches!(err, WatchError::Fatal { rule: 2, .. }), "{err:?}");
    assert_eq!(err.to_string(), "watch rule 2: the Docker engine went away");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directories_created_after_start_are_watched() {
    let dir = TempDir::new("newdir");
    write(&dir.0, "app/a.rb", "");
    let mut h = Harness::start(dir, vec![rule(&["app"], DEFAULT_DEBOUNCE)]).await;

    fs::create_dir(h.root().join("app/new")).expect("mkdir");
    assert_eq!(h.next().await, (0, vec!["app/new".into()]));
    assert!(watched_inodes().contains(&inode(&h.root().join("app/new"))));
    write(h.root(), "app/new/x.rb", "");
    assert_eq!(h.next().await, (0, vec!["app/new/x.rb".into()]));

    // A whole tree at once: what lands before the watches are placed still counts.
    write(h.root(), "app/deep/a/b/c.rb", "");
    let (_, paths) = h.next().await;
    assert!(paths.contains(&"app/deep/a/b/c.rb".to_owned()), "{paths:?}");
    write(h.root(), "app/deep/a/b/d.rb", "");
    assert_eq!(h.next().await, (0, vec!["app/deep/a/b/d.rb".into()]));

    // Moved in from elsewhere in the tree, then written to.
    fs::rename(h.root().join("app/deep"), h.root().join("app/moved")).expect("mv");
    let (_, paths) = h.next().await;
    assert!(paths.contains(&"app/deep".to_owned()), "{paths:?}");
    assert!(
        paths.contains(&"app/moved/a/b/c.rb".to_owned()),
        "{paths:?}"
    );
    write(h.root(), "app/moved/a/b/e.rb", "");
    assert_eq!(h.next().await, (0, vec!["app/moved/a/b/e.rb".into()]));
    h.stop().await.expect("stops cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_modules_never_gets_a_watch() {
    let dir = TempDir::new("nodemod");
    for pkg in ["left-pad", "react", "react/node_modules/scheduler"] {
        for sub in ["lib", "dist/esm"] {
            write(&dir.0, &format!("node_modules/{pkg}/{sub}/index.js"), "");
        }
    }
    write(&dir.0, "web/node_modules/x/index.js", "");
    write(&dir.0, "web/src/index.js", "");
    write(&dir.0, "app/models/user.rb", "");
    let rules = vec![rule(&["**"], DEFAULT_DEBOUNCE)];
    let plan = watch::plan(&dir.0, &rules).expect("plan");
    let mut h = Harness::start(dir, rules).await;

    let ignored: Vec<PathBuf> = dirs_under(&h.root().join("node_modules"))
        .into_iter()
        .chain(dirs_under(&h.root().join("web/node_modules")))
        .collect();
    let watched = watched_inodes();
    let inside: Vec<&PathBuf> = ignored
        .iter()
        .filter(|d| watched.contains(&inode(d)))
        .collect();
    assert!(inside.is_empty(), "watched inside node_modules: {inside:?}");
    for d in ["", "app", "app/models", "web", "web/src"] {
        assert!(
            watched.contains(&inode(&h.root().join(d))),
            "{d} not watched"
        );
    }
    let WatchEvent::Ready {
        dirs_watched,
        files_seen,
        ..
    } = h.ready
    else {
        unreachable!()
    };
    assert_eq!(dirs_watched, 5);
    assert_eq!(plan.dirs.len(), 5);
    assert_eq!(files_seen, 2);

    // `npm install` at work: nothing fires, no watch appears.
    write(h.root(), "node_modules/left-pad/lib/index.js", "changed");
    write(h.root(), "node_modules/new-pkg/lib/index.js", "");
    write(h.root(), "web/node_modules/y/index.js", "");
    h.assert_quiet("writes inside node_modules").await;
    let new_pkg = inode(&h.root().join("node_modules/new-pkg"));
    assert!(!watched_inodes().contains(&new_pkg));
    h.stop().await.expect("stops cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignored_paths_stay_quiet_unless_a_rule_names_them() {
    let dir = TempDir::new("ignored");
    write(&dir.0, ".gitignore", "vendor/\n*.log\n");
    write(&dir.0, "app/.gitignore", "generated/\n");
    write(&dir.0, ".dockerignore", "# build context\ncoverage\n");
    for d in [
        "vendor/cache",
        "vendor/other",
        "tmp/pids",
        "app/generated",
        "app/models",
        "coverage",
    ] {
        fs::create_dir_all(dir.0.join(d)).expect("mkdir");
    }
    let rules = vec![
        rule(&["**"], DEFAULT_DEBOUNCE),
        rule(&["vendor/cache/*.gem"], DEFAULT_DEBOUNCE),
        rule(&["tmp/restart.txt"], DEFAULT_DEBOUNCE),
    ];
    let mut h = Harness::start(dir, rules).await;
    let watched = watched_inodes();
    for (d, want) in [
        ("vendor", true),
        ("vendor/cache", true),
        ("vendor/other", false),
        ("tmp", true),
        ("tmp/pids", false),
        ("app/generated", false),
        ("app/models", true),
        ("coverage", false),
    ] {
        let got = watched.contains(&inode(&h.root().join(d)));
        assert_eq!(got, want, "is {d} watched");
    }

    write(h.root(), "vendor/other/x.rb", "");
    write(h.root(), "vendor/README", "");
    write(h.root(), "app/debug.log", "");
    write(h.root(), "app/generated/x.rb", "");
    write(h.root(), "tmp/pids/server.pid", "");
    write(h.root(), "tmp/cache.txt", "");
    write(h.root(), "coverage/index.html", "");
    h.assert_quiet("writes to ignored paths").await;

    write(h.root(), "vendor/cache/rails.gem", "");
    assert_eq!(h.next().await, (1, vec!["vendor/cache/rails.gem".into()]));
    write(h.root(), "tmp/restart.txt", "");
    assert_eq!(h.next().await, (2, vec!["tmp/restart.txt".into()]));
    h.assert_quiet("after the named paths").await;

    write(h.root(), "app/models/user.rb", "");
    assert_eq!(h.next().await, (0, vec!["app/models/user.rb".into()]));
    h.stop().await.expect("stops cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_gitignore_moves_the_watches() {
    let dir = TempDir::new("regitignore");
    write(&dir.0, ".gitignore", "*.log\n");
    write(&dir.0, "build/out.js", "");
    let mut h = Harness::start(dir, vec![rule(&["**"], DEFAULT_DEBOUNCE)]).await;
    let build = inode(&h.root().join("build"));
    assert!(watched_inodes().contains(&build));

    write(h.root(), ".gitignore", "*.log\nbuild/\n");
    assert_eq!(h.next().await, (0, vec![".gitignore".into()]));
    // The loop walks again right after the batch that held the edit.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while watched_inodes().contains(&build) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "build/ still watched"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    write(h.root(), "build/out.js", "rebuilt");
    h.assert_quiet("write in a newly ignored dir").await;
    h.stop().await.expect("stops cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_events_rescan_and_run_every_rule_once() {
    let dir = TempDir::new("rescan");
    fs::create_dir_all(dir.0.join("app")).expect("mkdir");
    fs::create_dir_all(dir.0.join("config")).expect("mkdir");
    let quiet = Duration::from_millis(300);
    let rules = vec![rule(&["app"], quiet), rule(&["config"], quiet)];
    // A tiny channel so that a burst overflows it for real.
    let mut h = Harness::start_with(dir, rules, false, |w| w.channel_capacity(4)).await;

    for i in 0..300 {
        write(h.root(), &format!("app/f{i}.rb"), "x");
    }
    let mut ran = [0, 0];
    for _ in 0..2 {
        let run = h.next_run().await;
        assert!(run.paths.is_empty(), "a rescan run names no paths");
        ran[run.rule] += 1;
    }
    assert_eq!(ran, [1, 1]);
    h.assert_quiet("after the rescan runs").await;
    let mut rescans = 0;
    while let Ok(event) = h.events.try_recv() {
        match event {
            WatchEvent::Rescan {
                reason,
                dirs_watched,
                ..
            } => {
                assert_eq!(reason, RescanReason::Backlog);
                assert_eq!(dirs_watched, 3);
                rescans += 1;
            }
            WatchEvent::Change { paths, .. } => assert!(paths.is_empty()),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(rescans >= 1);

    // Normal service afterwards.
    write(h.root(), "config/app.yml", "");
    assert_eq!(h.next().await, (1, vec!["config/app.yml".into()]));
    h.stop().await.expect("stops cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_project_dir_is_a_clear_error() {
    let dir = TempDir::new("missing");
    let gone = dir.0.join("nope");
    let result = watch::run(
        &gone,
        vec![rule(&["**"], DEFAULT_DEBOUNCE)],
        |_, _| async { Ok(()) },
        |_| {},
        std::future::pending(),
    )
    .await;
    let err = result.expect_err("no such dir");
    assert_eq!(
        err.to_string(),
        format!(
            "cannot watch project directory `{}`: No such file or directory (os error 2)",
            gone.display()
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_named_path_fires_even_when_its_ignored_dir_appears_later() {
    let dir = TempDir::new("latertmp");
    write(&dir.0, "Gemfile", "");
    let rules = vec![
        rule(&["**"], DEFAULT_DEBOUNCE),
        rule(&["tmp/restart.txt"], DEFAULT_DEBOUNCE),
    ];
    let mut h = Harness::start(dir, rules).await;

    fs::create_dir(h.root().join("tmp")).expect("mkdir tmp");
    fs::create_dir(h.root().join("tmp/cache")).expect("mkdir tmp/cache");
    h.assert_quiet("creating ignored dirs").await;
    assert!(watched_inodes().contains(&inode(&h.root().join("tmp"))));
    assert!(!watched_inodes().contains(&inode(&h.root().join("tmp/cache"))));

    write(h.root(), "tmp/restart.txt", "");
    assert_eq!(h.next().await, (1, vec!["tmp/restart.txt".into()]));
    write(h.root(), "tmp/cache/x", "");
    write(h.root(), "tmp/other.txt", "");
    h.assert_quiet("other files in tmp").await;
    h.stop().await.expect("stops cleanly");
}

/// Runs test `name` again in a child process inside a new user namespace whose own inotify
/// limit `limit` (under /proc/sys/user) is set to `value`: the kernel then really refuses,
/// and the machine's limits stay as they are.
fn rerun_with_inotify_limit(name: &str, limit: &str, value: u32) {
    let exe = std::env::current_exe().expect("test binary");
    let script = format!("echo {value} > /proc/sys/user/{limit} && exec \"$0\" \"$@\"");
    let out = std::process::Command::new("unshare")
        .args(["-U", "-r", "sh", "-c", &script])
        .arg(exe)
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env("DEVENV_WATCH_LIMITED", "1")
        .output()
        .expect("run unshare (util-linux)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child run failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
}

fn in_limited_child() -> bool {
    std::env::var_os("DEVENV_WATCH_LIMITED").is_some()
}

#[test]
fn running_out_of_inotify_watches_says_which_sysctl_to_raise() {
    if !in_limited_child() {
        rerun_with_inotify_limit(
            "running_out_of_inotify_watches_says_which_sysctl_to_raise",
            "max_inotify_watches",
            3,
        );
        return;
    }
    let dir = TempDir::new("enospc");
    for i in 0..9 {
        fs::create_dir_all(dir.0.join(format!("app/d{i}"))).expect("mkdir");
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let result = runtime.block_on(watch::run(
        &dir.0,
        vec![rule(&["**"], DEFAULT_DEBOUNCE)],
        |_, _| async { Ok(()) },
        |_| {},
        std::future::pending(),
    ));
    let err = result.expect_err("3 watches cannot cover 11 directories");
    assert!(
        matches!(
            err,
            WatchError::WatchLimit {
                dirs_needed: 11,
                ..
            }
        ),
        "{err:?}"
    );
    let shown = err.to_string();
    assert!(
        shown.starts_with(
            "the inotify watch limit is too low: this project needs 11 directory watches"
        ),
        "{shown}"
    );
    assert!(
        shown.ends_with("raise it with `sudo sysctl fs.inotify.max_user_watches=524288`"),
        "{shown}"
    );
    assert_eq!(err.exit_code(), 1);
}

#[test]
fn running_out_of_inotify_instances_says_which_sysctl_to_raise() {
    if !in_limited_child() {
        rerun_with_inotify_limit(
            "running_out_of_inotify_instances_says_which_sysctl_to_raise",
            "max_inotify_instances",
            0,
        );
        return;
    }
    let dir = TempDir::new("emfile");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let result = runtime.block_on(watch::run(
        &dir.0,
        vec![rule(&["**"], DEFAULT_DEBOUNCE)],
        |_, _| async { Ok(()) },
        |_| {},
        std::future::pending(),
    ));
    let err = result.expect_err("no inotify instance is allowed");
    assert!(
        matches!(err, WatchError::TooManyOpenFiles { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("`sudo sysctl fs.inotify.max_user_instances="),
        "{err}"
    );
}
