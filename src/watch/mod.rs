//! File watching for `devenv watch`: decides when a watch rule fires and with which changed
//! paths; the caller's executor runs the rule's actions.
//!
//! notify (one non-recursive inotify watch per directory that matters, see [`tree`]) → a
//! bounded channel fed without ever blocking notify's thread → classification ([`filter`]) →
//! per-rule debounce ([`debounce`]) → the executor, at most one run per rule at a time.
//! Lost events (a full channel, a kernel queue overflow) turn into a rescan after which every
//! rule runs once.

pub mod debounce;
pub mod error;
pub mod event;
pub mod filter;
pub mod tree;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use notify::EventKind;
use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind, RemoveKind, RenameMode};
use tokio::sync::mpsc;

pub use self::error::{BoxError, ExecError, WatchError};
pub use self::event::{RescanReason, WatchEvent};

use self::debounce::Debouncer;
use self::filter::{Filter, Ignores, Rules};
use self::tree::{Placing, Scan, Watched, lock};
use crate::config::model::WatchRule;

/// Events held between notify's thread and the watch loop before a rescan is needed instead.
/// A checkout touching a few thousand files fits; memory is only used while it fills.
pub const DEFAULT_CHANNEL_CAPACITY: usize = 16_384;

/// Events taken from the channel in one go before timers and finished runs get a look in.
const DRAIN_BATCH: usize = 4096;

/// A watch to run: the project directory, its rules, and tuning.
#[derive(Clone, Debug)]
pub struct Watch {
    project_dir: PathBuf,
    rules: Vec<WatchRule>,
    channel_capacity: usize,
}

/// Watches `project_dir` until `stop` completes (returns `Ok`) or an executor reports a fatal
/// error (returns it). See [`Watch::run`]. The future owns what it needs (it does not borrow
/// `project_dir`), so it can be spawned.
pub fn run<X, F, V, S>(
    project_dir: &Path,
    rules: Vec<WatchRule>,
    executor: X,
    events: V,
    stop: S,
) -> impl Future<Output = Result<(), WatchError>> + use<X, F, V, S>
where
    X: FnMut(usize, Vec<PathBuf>) -> F,
    F: Future<Output = Result<(), ExecError>>,
    V: FnMut(WatchEvent),
    S: Future<Output = ()>,
{
    Watch::new(project_dir, rules).run(executor, events, stop)
}

/// What would be watched, without watching: for `--dry-run` style listings and tests.
#[derive(Debug)]
pub struct Plan {
    pub dirs: Vec<PathBuf>,
    pub files_seen: usize,
    pub warnings: Vec<String>,
}

/// Walks `project_dir` as a watch would, placing no watches.
pub fn plan(project_dir: &Path, rules: &[WatchRule]) -> Result<Plan, WatchError> {
    let root = project_root(project_dir)?;
    let rules = Arc::new(Rules::compile(&root, project_dir, rules)?);
    let (ignores, mut warnings) = Ignores::load(&root);
    let filter = Filter {
        ignores: Arc::new(ignores),
        rules,
    };
    let scan = tree::scan(&root, &filter, Placing::Nothing, false);
    warnings.extend(scan.warnings);
    let mut dirs = scan.dirs;
    dirs.sort();
    Ok(Plan {
        dirs,
        files_seen: scan.files_seen,
        warnings,
    })
}

impl Watch {
    pub fn new(project_dir: impl Into<PathBuf>, rules: Vec<WatchRule>) -> Watch {
        Watch {
            project_dir: project_dir.into(),
            rules,
            channel_capacity: DEFAULT_CHANNEL_CAPACITY,
        }
    }

    /// How many events may wait between notify and the loop; past that, a rescan.
    pub fn channel_capacity(mut self, capacity: usize) -> Watch {
        self.channel_capacity = capacity.max(1);
        self
    }

    /// Watches until `stop` completes or an executor returns [`ExecError::Fatal`].
    ///
    /// `executor(rule_index, paths)` runs rule `rule_index`'s actions for `paths`: distinct
    /// absolute paths of files and directories that were created, written, renamed or deleted
    /// (check the file system for which: a deleted directory stands for all it held), sorted;
    /// empty after a rescan, meaning anything may have changed. Different
    /// rules may run at the same time; one rule never does twice at once, and changes that
    /// arrive while it runs make exactly one more run afterwards. An
    /// [`ExecError::Failed`] leaves watching on. On `stop`, runs still in flight are dropped.
    ///
    /// `events` gets a [`WatchEvent::Ready`] once every watch is placed, and a
    /// [`WatchEvent::Change`] just before each executor call.
    pub async fn run<X, F, V, S>(
        self,
        mut executor: X,
        mut events: V,
        stop: S,
    ) -> Result<(), WatchError>
    where
        X: FnMut(usize, Vec<PathBuf>) -> F,
        F: Future<Output = Result<(), ExecError>>,
        V: FnMut(WatchEvent),
        S: Future<Output = ()>,
    {
        let started = Instant::now();
        let root = project_root(&self.project_dir)?;
        let rules = Arc::new(Rules::compile(&root, &self.project_dir, &self.rules)?);

        let flags = Arc::new(Flags::default());
        let (tx, mut rx) = mpsc::channel(self.channel_capacity);
        let forwarder = Forwarder {
            tx,
            flags: Arc::clone(&flags),
        };
        let watcher = notify::recommended_watcher(forwarder).map_err(error::start_error)?;
        let watched = Arc::new(Mutex::new(Watched::new(watcher)));

        let mut stop = pin!(stop);
        let initial = full_scan(root.clone(), Arc::clone(&rules), Arc::clone(&watched));
        let (filter, scan) = tokio::select! {
            () = &mut stop => return Ok(()),
            scanned = initial => scanned?,
        };
        if let Some((path, err)) = scan.failure {
            return Err(error::watch_error(err, &path, scan.dirs.len()));
        }
        for message in scan.warnings {
            events(WatchEvent::Warning { message });
        }
        events(WatchEvent::Ready {
            dirs_watched: lock(&watched).len(),
            files_seen: scan.files_seen,
            elapsed: started.elapsed(),
        });

        let mut session = Session {
            root: root.clone(),
            filter,
            watched,
            debouncer: Debouncer::new(self.rules.iter().map(|r| r.debounce)),
            resync: false,
            outbox: Vec::new(),
        };
        let mut running = FuturesUnordered::new();
        loop {
            for event in session.outbox.drain(..) {
                events(event);
            }
            for batch in session.debouncer.take_due(Instant::now()) {
                events(WatchEvent::Change {
                    rule_index: batch.rule_index,
                    paths: batch.paths.clone(),
                });
                running.push(tagged(
                    batch.rule_index,
                    executor(batch.rule_index, batch.paths),
                ));
            }
            let due = session.debouncer.next_due();

            tokio::select! {
                biased;
                () = &mut stop => return Ok(()),
                Some((rule, outcome)) = running.next(), if !running.is_empty() => {
                    session.debouncer.finished(rule);
                    if let Err(ExecError::Fatal(source)) = outcome {
                        return Err(WatchError::Fatal { rule: rule + 1, source });
                    }
                }
                received = rx.recv() => {
                    let Some(first) = received else {
                        return Err(WatchError::WatcherGone);
                    };
                    session.on_notify(first);
                    for _ in 1..DRAIN_BATCH {
                        match rx.try_recv() {
                            Ok(next) => session.on_notify(next),
                            Err(_) => break,
                        }
                    }
                    let reason = if flags.overflow.swap(false, Ordering::SeqCst) {
                        Some(RescanReason::KernelOverflow)
                    } else if flags.backlog.swap(false, Ordering::SeqCst) {
                        Some(RescanReason::Backlog)
                    } else {
                        None
                    };
                    if reason.is_some() || session.resync {
                        session.rescan(reason, Arc::clone(&rules)).await?;
                    }
                }
                () = sleep_until(due) => {}
            }
        }
    }
}

fn project_root(dir: &Path) -> Result<PathBuf, WatchError> {
    let root = std::fs::canonicalize(dir).map_err(|source| WatchError::ProjectDir {
        path: dir.to_path_buf(),
        source,
    })?;
    if !root.is_dir() {
        return Err(WatchError::ProjectDir {
            path: dir.to_path_buf(),
            source: std::io::Error::from(std::io::ErrorKind::NotADirectory),
        });
    }
    Ok(root)
}

async fn tagged<F: Future>(rule: usize, run: F) -> (usize, F::Output) {
    (rule, run.await)
}

async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}

/// Loads the ignores afresh and walks the whole tree on a blocking thread, watching every
/// directory that matters and dropping watches no longer wanted.
async fn full_scan(
    root: PathBuf,
    rules: Arc<Rules>,
    watched: Arc<Mutex<Watched>>,
) -> Result<(Filter, Scan), WatchError> {
    tokio::task::spawn_blocking(move || {
        let (ignores, warnings) = Ignores::load(&root);
        let filter = Filter {
            ignores: Arc::new(ignores),
            rules,
        };
        let mut scan = tree::scan(&root, &filter, Placing::Alongside(&watched), false);
        if scan.failure.is_none() {
            lock(&watched).retain(&scan.dirs);
        }
        scan.warnings.splice(0..0, warnings);
        (filter, scan)
    })
    .await
    .map_err(|_| WatchError::WatcherGone)
}

#[derive(Default)]
struct Flags {
    /// The kernel dropped events (notify's `Flag::Rescan`).
    overflow: AtomicBool,
    /// The channel was full, so we dropped events.
    backlog: AtomicBool,
}

/// notify's event handler: runs on notify's thread and must never block it.
struct Forwarder {
    tx: mpsc::Sender<notify::Result<notify::Event>>,
    flags: Arc<Flags>,
}

impl notify::EventHandler for Forwarder {
    fn handle_event(&mut self, event: notify::Result<notify::Event>) {
        if let Ok(e) = &event {
            if e.need_rescan() {
                self.flags.overflow.store(true, Ordering::SeqCst);
            } else if is_noise(&e.kind) {
                return;
            }
        }
        if let Err(mpsc::error::TrySendError::Full(_)) = self.tx.try_send(event) {
            // The loop is behind and will find the flag once it drains what is queued.
            self.flags.backlog.store(true, Ordering::SeqCst);
        }
    }
}

/// Opens and reads change nothing; a close after writing does.
fn is_noise(kind: &EventKind) -> bool {
    matches!(kind, EventKind::Access(a) if *a != AccessKind::Close(AccessMode::Write))
}

/// The watch loop's state between events.
struct Session {
    root: PathBuf,
    filter: Filter,
    watched: Arc<Mutex<Watched>>,
    debouncer: Debouncer,
    /// An ignore file changed: walk again to place and drop watches, without firing rules.
    resync: bool,
    outbox: Vec<WatchEvent>,
}

impl Session {
    fn on_notify(&mut self, received: notify::Result<notify::Event>) {
        let event = match received {
            Ok(event) => event,
            Err(err) => {
                let message = match &err.kind {
                    notify::ErrorKind::MaxFilesWatch => {
                        let needed = lock(&self.watched).len() + 1;
                        let path = err.paths.first().cloned().unwrap_or_default();
                        error::watch_error(err, &path, needed).to_string()
                    }
                    _ => format!("file watcher: {err}"),
                };
                self.outbox.push(WatchEvent::Warning { message });
                return;
            }
        };
        if event.need_rescan() {
            return;
        }
        let now = Instant::now();
        for path in &event.paths {
            match event.kind {
                EventKind::Access(_) => {
                    if !is_noise(&event.kind) {
                        self.change(path, None, now);
                    }
                }
                EventKind::Create(kind) => {
                    let hint = match kind {
                        CreateKind::Folder => Some(true),
                        CreateKind::File => Some(false),
                        _ => None,
                    };
                    if self.change(path, hint, now) == Some(true) {
                        self.new_dir(path, now);
                    }
                }
                // notify also reports the two halves separately.
                EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => {}
                EventKind::Modify(ModifyKind::Name(RenameMode::From)) => {
                    self.change(path, None, now);
                    lock(&self.watched).forget(path);
                }
                EventKind::Modify(ModifyKind::Name(_)) => match self.change(path, None, now) {
                    Some(true) => self.new_dir(path, now),
                    Some(false) => {}
                    None => lock(&self.watched).forget(path),
                },
                EventKind::Remove(kind) => {
                    let hint = match kind {
                        RemoveKind::Folder => Some(true),
                        RemoveKind::File => Some(false),
                        _ => None,
                    };
                    self.change(path, hint, now);
                    lock(&self.watched).forget(path);
                }
                EventKind::Modify(_) | EventKind::Any | EventKind::Other => {
                    self.change(path, None, now);
                }
            }
        }
    }

    /// Hands `path` to the rules it fires. Returns whether it is a directory (`None`: gone).
    fn change(&mut self, path: &Path, hint: Option<bool>, now: Instant) -> Option<bool> {
        let is_dir = hint
            .or_else(|| std::fs::symlink_metadata(path).ok().map(|m| m.is_dir()))
            .or_else(|| lock(&self.watched).contains(path).then_some(true));
        if is_dir != Some(true) && self.is_ignore_file(path) {
            self.resync = true;
        }
        for rule in self.filter.rules_for(path, is_dir) {
            self.debouncer.add(rule, path.to_path_buf(), now);
        }
        is_dir
    }

    fn is_ignore_file(&self, path: &Path) -> bool {
        let name = path.file_name().and_then(|n| n.to_str());
        let relevant = name == Some(".gitignore")
            || (name == Some(".dockerignore") && path.parent() == Some(self.root.as_path()));
        relevant
            && self
                .filter
                .ignores
                .ignored_depth(path, Some(false))
                .is_none()
    }

    /// A directory appeared (created, or moved in): watch it and what is below it, and count
    /// what is already inside as changed, since it may have landed before the watch.
    fn new_dir(&mut self, dir: &Path, now: Instant) {
        let scan = tree::scan(dir, &self.filter, Placing::BeforeRead(&self.watched), true);
        for message in scan.warnings {
            self.outbox.push(WatchEvent::Warning { message });
        }
        if let Some((path, err)) = scan.failure {
            let needed = lock(&self.watched).len() + scan.dirs.len();
            let message = error::watch_error(err, &path, needed).to_string();
            self.outbox.push(WatchEvent::Warning { message });
        }
        for (path, is_dir) in scan.found {
            self.change(&path, Some(is_dir), now);
        }
    }

    /// Walks the tree again. With a `reason`, events were lost: every rule runs once.
    async fn rescan(
        &mut self,
        reason: Option<RescanReason>,
        rules: Arc<Rules>,
    ) -> Result<(), WatchError> {
        self.resync = false;
        let started = Instant::now();
        let (filter, scan) = full_scan(self.root.clone(), rules, Arc::clone(&self.watched)).await?;
        self.filter = filter;
        for message in scan.warnings {
            self.outbox.push(WatchEvent::Warning { message });
        }
        if let Some((path, err)) = scan.failure {
            let message = error::watch_error(err, &path, scan.dirs.len()).to_string();
            self.outbox.push(WatchEvent::Warning { message });
        }
        if let Some(reason) = reason {
            self.debouncer.add_everything(Instant::now());
            self.outbox.push(WatchEvent::Rescan {
                reason,
                dirs_watched: lock(&self.watched).len(),
                files_seen: scan.files_seen,
                elapsed: started.elapsed(),
            });
        }
        Ok(())
    }
}
