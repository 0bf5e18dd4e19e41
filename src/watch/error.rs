//! What can stop a watch, and the executor's contract for failed actions.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Any error an executor wants to hand back; the caller can downcast it to its own type.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What an executor returns when a rule's actions did not succeed.
#[derive(Debug)]
pub enum ExecError {
    /// The action failed (a command exited non-zero, a build broke). The caller has reported
    /// it; watching goes on and the next change fires the rule again.
    Failed(BoxError),
    /// Watching cannot go on, e.g. the engine is gone. `run` ends and returns it.
    Fatal(BoxError),
}

impl fmt::Display for ExecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecError::Failed(e) | ExecError::Fatal(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ExecError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ExecError::Failed(e) | ExecError::Fatal(e) => Some(e.as_ref()),
        }
    }
}

/// Why a watch could not start or had to end.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("cannot watch project directory `{}`: {source}", path.display())]
    ProjectDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// `rule` counts from 1, as a user reads the list.
    #[error("invalid glob `{glob}` in watch rule {rule}: {source}")]
    Glob {
        rule: usize,
        glob: String,
        #[source]
        source: globset::Error,
    },

    #[error(
        "watch rule {rule} names `{glob}`, which is outside the project directory `{}`",
        root.display()
    )]
    OutsideProject {
        rule: usize,
        glob: String,
        root: PathBuf,
    },

    #[error(
        "the inotify watch limit is too low: this project needs {dirs_needed} directory \
         watches and fs.inotify.max_user_watches is {}; raise it with \
         `sudo sysctl fs.inotify.max_user_watches={}`",
        show_limit(*limit),
        suggested_max_user_watches(*dirs_needed, *limit)
    )]
    WatchLimit {
        dirs_needed: usize,
        /// The limit in force, when /proc could tell.
        limit: Option<u64>,
    },

    #[error(
        "cannot start the file watcher: too many inotify instances or open files \
         (fs.inotify.max_user_instances is {}); raise it with \
         `sudo sysctl fs.inotify.max_user_instances={}` or raise the open-file limit \
         with `ulimit -n 4096`",
        show_limit(*limit),
        suggested_max_user_instances(*limit)
    )]
    TooManyOpenFiles { limit: Option<u64> },

    #[error("cannot watch `{}`: {source}", path.display())]
    Watch {
        path: PathBuf,
        #[source]
        source: notify::Error,
    },

    #[error("cannot start the file watcher: {source}")]
    Start {
        #[source]
        source: notify::Error,
    },

    #[error("the file watcher stopped unexpectedly")]
    WatcherGone,

    /// An executor returned [`ExecError::Fatal`]; `rule` counts from 1.
    #[error("watch rule {rule}: {source}")]
    Fatal {
        rule: usize,
        #[source]
        source: BoxError,
    },
}

impl WatchError {
    /// Config errors exit with 2, everything else with 1.
    pub fn exit_code(&self) -> i32 {
        match self {
            WatchError::Glob { .. } | WatchError::OutsideProject { .. } => 2,
            _ => 1,
        }
    }

    /// A second line for the user: how to make a fix last, or how to need less.
    pub fn hint(&self) -> Option<String> {
        match self {
            WatchError::WatchLimit { dirs_needed, limit } => {
                let n = suggested_max_user_watches(*dirs_needed, *limit);
                Some(format!(
                    "to keep it across reboots: `echo fs.inotify.max_user_watches={n} | sudo tee \
                     /etc/sysctl.d/90-devenv-inotify.conf`; or ignore big directories in \
                     .gitignore or .dockerignore"
                ))
            }
            WatchError::TooManyOpenFiles { limit } => {
                let n = suggested_max_user_instances(*limit);
                Some(format!(
                    "every running watcher (editors, other `devenv watch`) holds an inotify \
                     instance; to keep the new limit: `echo fs.inotify.max_user_instances={n} | \
                     sudo tee /etc/sysctl.d/90-devenv-inotify.conf`"
                ))
            }
            WatchError::Glob { .. } => Some(
                "globs use `*` within one directory, `**` across directories, `{a,b}` for \
                 alternatives"
                    .to_owned(),
            ),
            _ => None,
        }
    }
}

fn show_limit(limit: Option<u64>) -> String {
    limit.map_or_else(|| "unknown".to_owned(), |l| l.to_string())
}

/// Other programs hold watches too, so ask for room on top of the current limit, and never
/// less than the value most distributions now ship.
pub fn suggested_max_user_watches(dirs_needed: usize, limit: Option<u64>) -> u64 {
    let needed = dirs_needed as u64;
    let floor = 524_288;
    let want = match limit {
        Some(l) => l.saturating_add(needed),
        None => needed.saturating_mul(2),
    };
    want.checked_next_power_of_two()
        .unwrap_or(u64::MAX)
        .max(floor)
}

pub fn suggested_max_user_instances(limit: Option<u64>) -> u64 {
    let floor = 1024;
    match limit {
        Some(l) => l.saturating_mul(2).max(floor),
        None => floor,
    }
}

fn read_limit(name: &str) -> Option<u64> {
    std::fs::read_to_string(Path::new("/proc/sys/fs/inotify").join(name))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// True when adding a watch failed only because the directory is already gone: a race with
/// a deletion, not a problem.
pub(crate) fn is_vanished(err: &notify::Error) -> bool {
    match &err.kind {
        notify::ErrorKind::PathNotFound | notify::ErrorKind::WatchNotFound => true,
        notify::ErrorKind::Io(e) => {
            e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENOTDIR)
        }
        _ => false,
    }
}

fn is_watch_limit(err: &notify::Error) -> bool {
    match &err.kind {
        notify::ErrorKind::MaxFilesWatch => true,
        notify::ErrorKind::Io(e) => e.raw_os_error() == Some(libc::ENOSPC),
        _ => false,
    }
}

fn is_too_many_files(err: &notify::Error) -> bool {
    match &err.kind {
        notify::ErrorKind::Io(e) => matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)),
        _ => false,
    }
}

/// Maps a failure to create the watcher.
pub(crate) fn start_error(err: notify::Error) -> WatchError {
    if is_too_many_files(&err) {
        WatchError::TooManyOpenFiles {
            limit: read_limit("max_user_instances"),
        }
    } else {
        WatchError::Start { source: err }
    }
}

/// Maps a failure to watch `path`, knowing how many directories the project needs watched.
pub(crate) fn watch_error(err: notify::Error, path: &Path, dirs_needed: usize) -> WatchError {
    if is_watch_limit(&err) {
        WatchError::WatchLimit {
            dirs_needed,
            limit: read_limit("max_user_watches"),
        }
    } else if is_too_many_files(&err) {
        WatchError::TooManyOpenFiles {
            limit: read_limit("max_user_instances"),
        }
    } else {
        WatchError::Watch {
            path: path.to_owned(),
            source: err,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io_err(code: i32) -> notify::Error {
        notify::Error::io(io::Error::from_raw_os_error(code))
    }

    #[test]
    fn watch_limit_names_the_sysctl_and_a_value_that_fits() {
        let err = watch_error(
            notify::Error::new(notify::ErrorKind::MaxFilesWatch),
            Path::new("/p/app"),
            12_000,
        );
        let WatchError::WatchLimit { dirs_needed, .. } = &err else {
            panic!("expected WatchLimit, got {err:?}");
        };
        assert_eq!(*dirs_needed, 12_000);
        let shown = WatchError::WatchLimit {
            dirs_needed: 12_000,
            limit: Some(8192),
        }
        .to_string();
        assert_eq!(
            shown,
            "the inotify watch limit is too low: this project needs 12000 directory watches and \
             fs.inotify.max_user_watches is 8192; raise it with \
             `sudo sysctl fs.inotify.max_user_watches=524288`"
        );
    }

    #[test]
    fn raw_enospc_is_the_watch_limit_too() {
        let err = watch_error(io_err(libc::ENOSPC), Path::new("/p"), 3);
        assert!(matches!(err, WatchError::WatchLimit { dirs_needed: 3, .. }));
    }

    #[test]
    fn emfile_names_the_instance_sysctl() {
        let err = start_error(io_err(libc::EMFILE));
        assert!(matches!(err, WatchError::TooManyOpenFiles { .. }));
        let shown = WatchError::TooManyOpenFiles { limit: Some(128) }.to_string();
        assert_eq!(
            shown,
            "cannot start the file watcher: too many inotify instances or open files \
             (fs.inotify.max_user_instances is 128); raise it with \
             `sudo sysctl fs.inotify.max_user_instances=1024` or raise the open-file limit \
             with `ulimit -n 4096`"
        );
        assert!(matches!(
            watch_error(io_err(libc::EMFILE), Path::new("/p"), 1),
            WatchError::TooManyOpenFiles { .. }
        ));
    }

    #[test]
    fn other_errors_keep_the_path() {
        let err = watch_error(io_err(libc::EACCES), Path::new("/p/secret"), 1);
        assert!(
            err.to_string().starts_with("cannot watch `/p/secret`: "),
            "{err}"
        );
        assert_eq!(err.exit_code(), 1);
    }

    #[test]
    fn suggestions_grow_with_the_need() {
        assert_eq!(suggested_max_user_watches(10, Some(8192)), 524_288);
        assert_eq!(
            suggested_max_user_watches(600_000, Some(524_288)),
            2_097_152
        );
        assert_eq!(suggested_max_user_watches(400_000, None), 1_048_576);
        assert_eq!(suggested_max_user_instances(Some(128)), 1024);
        assert_eq!(suggested_max_user_instances(Some(4096)), 8192);
    }

    #[test]
    fn a_vanished_directory_is_not_an_error() {
        assert!(is_vanished(&notify::Error::path_not_found()));
        assert!(is_vanished(&io_err(libc::ENOENT)));
        assert!(!is_vanished(&io_err(libc::ENOSPC)));
    }
}
