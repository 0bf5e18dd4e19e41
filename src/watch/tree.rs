//! Walks the project tree honoring ignores and places one non-recursive inotify watch per
//! directory that matters, each before that directory is read, so nothing created in between
//! is missed and no watch ever lands inside an ignored directory.

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::thread::JoinHandle;

use ignore::{DirEntry, WalkBuilder, WalkState};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};

use super::error::is_vanished;
use super::filter::Filter;

/// The notify watcher and the directories it watches for us.
pub struct Watched {
    watcher: RecommendedWatcher,
    dirs: BTreeSet<PathBuf>,
}

impl Watched {
    pub fn new(watcher: RecommendedWatcher) -> Watched {
        Watched {
            watcher,
            dirs: BTreeSet::new(),
        }
    }

    /// Watches `dir` itself, not what is below it. Watching it again is harmless.
    pub fn add(&mut self, dir: &Path) -> notify::Result<()> {
        self.watcher.watch(dir, RecursiveMode::NonRecursive)?;
        self.dirs.insert(dir.to_path_buf());
        Ok(())
    }

    /// `path` was deleted or moved away: the kernel and notify have dropped its watches and
    /// those below it; drop them from the books too.
    pub fn forget(&mut self, path: &Path) {
        let gone: Vec<PathBuf> = self
            .dirs
            .range::<Path, _>((Bound::Included(path), Bound::Unbounded))
            .take_while(|d| d.starts_with(path))
            .cloned()
            .collect();
        for dir in gone {
            self.dirs.remove(&dir);
        }
    }

    /// Unwatches every directory not in `keep` (after an ignore file changed).
    pub fn retain(&mut self, keep: &[PathBuf]) {
        let keep: BTreeSet<&Path> = keep.iter().map(PathBuf::as_path).collect();
        let stale: Vec<PathBuf> = self
            .dirs
            .iter()
            .filter(|d| !keep.contains(d.as_path()))
            .cloned()
            .collect();
        for dir in stale {
            // The directory may be gone already, which is all we wanted.
            let _ = self.watcher.unwatch(&dir);
            self.dirs.remove(&dir);
        }
    }

    pub fn contains(&self, dir: &Path) -> bool {
        self.dirs.contains(dir)
    }

    pub fn len(&self) -> usize {
        self.dirs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.dirs.is_empty()
    }

    pub fn dirs(&self) -> impl Iterator<Item = &Path> {
        self.dirs.iter().map(PathBuf::as_path)
    }
}

/// Whether and how a walk places watches.
#[derive(Clone, Copy)]
pub enum Placing<'a> {
    /// No watches: a dry run.
    Nothing,
    /// Each directory's watch before the directory is read, so nothing created in between is
    /// missed. For directories that appear while watching.
    BeforeRead(&'a Arc<Mutex<Watched>>),
    /// On a thread of their own while the walk goes on, so the walk never waits for notify's
    /// round trip. For a whole tree, when nothing is promised before every watch is placed
    /// (startup, a rescan).
    Alongside(&'a Arc<Mutex<Watched>>),
}

/// What a walk found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Directories to watch, the starting one first. After a failed watch they are still
    /// listed (so the error can say how many are needed) but no longer watched.
    pub dirs: Vec<PathBuf>,
    /// Files that are not ignored, or that a rule names explicitly.
    pub files_seen: usize,
    /// When asked for: every such file and directory below the start, with `is_dir`.
    pub found: Vec<(PathBuf, bool)>,
    /// Parts of the tree that could not be read, malformed ignore files.
    pub warnings: Vec<String>,
    /// The first watch that could not be placed for a reason other than a vanished directory.
    pub failure: Option<(PathBuf, notify::Error)>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere while holding the lock leaves plain bookkeeping behind, still usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

struct Shared {
    filter: Filter,
    /// Set when placing before reading.
    watched: Option<Arc<Mutex<Watched>>>,
    /// Set when placing alongside: directories for the placer thread.
    placer: Mutex<Option<mpsc::Sender<PathBuf>>>,
    collect: bool,
    /// Directories inside ignored ones that are walked because a rule names them, with the
    /// depth of their first ignored ancestor.
    explicit: Mutex<HashMap<PathBuf, usize>>,
    /// Whether `explicit` has anything, to skip locking and hashing for every entry when not.
    any_explicit: AtomicBool,
    files_seen: AtomicUsize,
    failed: AtomicBool,
    out: Mutex<Scan>,
}

impl Shared {
    /// Decides one entry while its parent is read; returns whether to descend into it.
    fn visit(&self, entry: &DirEntry) -> bool {
        let path = entry.path();
        let Ok(rel) = path.strip_prefix(self.filter.root()) else {
            return false;
        };
        let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
        let inherited = if self.any_explicit.load(Ordering::Acquire) {
            path.parent()
                .and_then(|parent| lock(&self.explicit).get(parent).copied())
        } else {
            None
        };
        let ignored = inherited.or_else(|| {
            self.filter
                .ignores
                .entry_ignored(path, Some(is_dir))
                .then(|| rel.components().count())
        });
        if !is_dir {
            let seen = ignored.is_none() || !self.filter.rules.matching(rel, ignored).is_empty();
            if seen {
                self.files_seen.fetch_add(1, Ordering::Relaxed);
                if self.collect {
                    lock(&self.out).found.push((path.to_path_buf(), false));
                }
            }
            // Files need no work item of their own.
            return false;
        }
        if ignored.is_some() && !self.filter.rules.reaches(rel, ignored) {
            return false;
        }
        self.enter(path, ignored, true)
    }

    /// Readies directory `dir` for its contents to be classified, and watches it.
    fn enter(&self, dir: &Path, ignored: Option<usize>, report: bool) -> bool {
        match ignored {
            Some(depth) => {
                lock(&self.explicit).insert(dir.to_path_buf(), depth);
                self.any_explicit.store(true, Ordering::Release);
            }
            None => {
                if let Some(w) = self.filter.ignores.load_gitignore(dir) {
                    lock(&self.out).warnings.push(w);
                }
            }
        }
        if let Some(watched) = &self.watched {
            if !self.failed.load(Ordering::Relaxed) {
                let placed = lock(watched).add(dir);
                if let Err(e) = placed {
                    if is_vanished(&e) {
                        return false;
                    }
                    self.failed.store(true, Ordering::Relaxed);
                    lock(&self.out).failure = Some((dir.to_path_buf(), e));
                }
            }
        } else if let Some(placer) = &*lock(&self.placer) {
            // The placer outlives the walk, so sending cannot fail.
            let _ = placer.send(dir.to_path_buf());
        }
        let mut out = lock(&self.out);
        out.dirs.push(dir.to_path_buf());
        if report && self.collect {
            out.found.push((dir.to_path_buf(), true));
        }
        true
    }
}

/// Walks from directory `start` (the project root, or a directory that just appeared),
/// placing watches as `placing` says. With `collect`, lists what was found below `start`.
/// Nothing happens if `start` itself is not to be watched.
pub fn scan(start: &Path, filter: &Filter, placing: Placing<'_>, collect: bool) -> Scan {
    if !filter.should_watch(start) {
        return Scan::default();
    }
    let (watched, placer) = match placing {
        Placing::Nothing => (None, None),
        Placing::BeforeRead(w) => (Some(Arc::clone(w)), None),
        Placing::Alongside(w) => match spawn_placer(w) {
            Some(placer) => (None, Some(placer)),
            // No thread to be had: place them one by one instead.
            None => (Some(Arc::clone(w)), None),
        },
    };
    let (sender, placer) = placer.unzip();
    let shared = Arc::new(Shared {
        filter: filter.clone(),
        watched,
        placer: Mutex::new(sender),
        collect,
        explicit: Mutex::new(HashMap::new()),
        any_explicit: AtomicBool::new(false),
        files_seen: AtomicUsize::new(0),
        failed: AtomicBool::new(false),
        out: Mutex::new(Scan::default()),
    });
    let ignored = filter.ignores.ignored_depth(start, Some(true));
    if !shared.enter(start, ignored, false) {
        return Scan::default();
    }

    let mut builder = WalkBuilder::new(start);
    let decide = Arc::clone(&shared);
    builder
        .standard_filters(false)
        .follow_links(false)
        .filter_entry(move |entry| decide.visit(entry));
    builder.build_parallel().run(|| {
        let shared = Arc::clone(&shared);
        Box::new(move |result| {
            if let Err(err) = result {
                let vanished = err
                    .io_error()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::NotFound);
                if !vanished {
                    lock(&shared.out)
                        .warnings
                        .push(format!("part of the tree is not watched: {err}"));
                }
            }
            WalkState::Continue
        })
    });
    // Closing the channel lets the placer finish what is queued and stop.
    drop(lock(&shared.placer).take());
    let placed = placer.map(|handle| {
        handle.join().unwrap_or_else(|_| {
            Some((
                start.to_path_buf(),
                notify::Error::generic("the thread placing watches stopped unexpectedly"),
            ))
        })
    });
    let mut scan = std::mem::take(&mut *lock(&shared.out));
    scan.files_seen = shared.files_seen.load(Ordering::Relaxed);
    if let Some(failure) = placed.flatten() {
        scan.failure.get_or_insert(failure);
    }
    scan
}

type PlacerHandle = JoinHandle<Option<(PathBuf, notify::Error)>>;

/// Starts a thread that watches every directory sent to it, in order, and returns the first
/// failure other than a vanished directory (after which it places nothing more).
fn spawn_placer(watched: &Arc<Mutex<Watched>>) -> Option<(mpsc::Sender<PathBuf>, PlacerHandle)> {
    let (tx, rx) = mpsc::channel::<PathBuf>();
    let watched = Arc::clone(watched);
    let handle = std::thread::Builder::new()
        .name("devenv-watch-place".to_owned())
        .spawn(move || {
            // Nothing else needs the watcher while a whole tree is placed.
            let mut watched = lock(&watched);
            let mut failure = None;
            for dir in rx {
                if failure.is_some() {
                    continue;
                }
                match watched.add(&dir) {
                    Ok(()) => {}
                    Err(e) if is_vanished(&e) => {}
                    Err(e) => failure = Some((dir, e)),
                }
            }
            failure
        })
        .ok()?;
    Some((tx, handle))
}
