//! One module per command: each turns parsed arguments into work and reports through `ui`.

pub mod config;
pub mod down;
pub mod exec;
pub mod images;
pub mod init;
pub mod lifecycle;
pub mod logs;
pub mod ps;
pub mod run;
pub mod session;
pub mod up;
pub mod watch;

use std::collections::HashMap;
use std::path::PathBuf;

use crate::cli::GlobalArgs;
use crate::config::{LoadOptions, Loaded};
use crate::error::Error;
use crate::ui;

/// What the global options and the process say about where the config is.
pub fn load_options(global: &GlobalArgs) -> Result<LoadOptions, Error> {
    let cwd = std::env::current_dir()
        .map_err(|e| Error::failed(format!("cannot read the current directory: {e}")))?;
    Ok(LoadOptions {
        files: global.files.clone(),
        project_name: global.project_name.clone(),
        env_file: global.env_file.clone(),
        cwd,
        env: std::env::vars().collect::<HashMap<_, _>>(),
    })
}

/// Loads the project the global options point at, printing its warnings on stderr.
pub fn load_project(global: &GlobalArgs) -> Result<Loaded, Error> {
    let opts = load_options(global)?;
    let cwd = opts.cwd.clone();
    match crate::config::load(&opts) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                ui::warn(&loaded.sources.render(w, &cwd));
            }
            Ok(loaded)
        }
        Err(e) => Err(Error::Config(e.render(&cwd))),
    }
}

/// The directory paths in messages are shown relative to.
pub fn cwd() -> PathBuf {
    std::env::current_dir().unwrap_or_default()
}
