//! `devenv init`: writes a template's dev.yml and Dockerfiles into the current directory.

use std::io::Write;
use std::path::Path;

use crate::cli::{InitArgs, InitTemplate};
use crate::error::Error;
use crate::init::{self, Existing, Facts, Found, Rendered, Template};
use crate::ui;

/// Config files devenv would otherwise load here; dev.yml comes before all of them.
const COMPOSE_FILES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];

pub fn run(args: &InitArgs) -> Result<(), Error> {
    let dir = std::env::current_dir()
        .map_err(|e| Error::failed(format!("cannot read the current directory: {e}")))?;
    let template = match args.template {
        InitTemplate::Rails => Template::Rails,
    };
    let facts = init::detect(&dir);
    let files = init::render_files(template, &facts).map_err(Error::failed)?;

    let exists = |path: &str| std::fs::symlink_metadata(dir.join(path)).is_ok();
    let conflicts: Vec<&str> = files
        .iter()
        .filter(|f| f.existing == Existing::Conflict && exists(f.path))
        .map(|f| f.path)
        .collect();
    if !conflicts.is_empty() && !args.force {
        let (these, them) = if conflicts.len() == 1 {
            ("this file exists", "it")
        } else {
            ("these files exist", "them")
        };
        return Err(Error::Config(format!(
            "error: {these} already: {}\n  = hint: nothing was written; pass `--force` to replace {them}",
            conflicts.join(", ")
        )));
    }

    for note in notes(&dir, &facts) {
        ui::warn(&format!("note: {note}"));
    }

    // Every directory first: a path in the way (`docker` as a file) stops init before it has
    // written anything, so a rerun needs no `--force`.
    for file in &files {
        let mut blocked = None;
        for ancestor in Path::new(file.path).ancestors().skip(1) {
            if !ancestor.as_os_str().is_empty() && dir.join(ancestor).is_file() {
                blocked = Some(ancestor);
            }
        }
        if let Some(path) = blocked {
            return Err(Error::with_hint(
                format!(
                    "cannot write {}: `{}` is a file, not a directory",
                    file.path,
                    path.display()
                ),
                "nothing was written; move that file away and run init again",
            ));
        }
    }

    let mut report = summary(&facts);
    let mut written: Vec<&str> = Vec::new();
    for file in &files {
        let existed = exists(file.path);
        if existed && file.existing == Existing::Keep {
            report.push(format!(
                "kept     {} (it exists; init never replaces it)",
                file.path
            ));
            continue;
        }
        if let Err(e) = write(&dir, file, args.force) {
            // What was written stays: the user can inspect it, and `--force` redoes it all.
            ui::lines(report);
            let hint = if written.is_empty() {
                "nothing was written".to_owned()
            } else {
                format!("already written: {}", written.join(", "))
            };
            return Err(Error::with_hint(
                format!("cannot write {}: {e}", file.path),
                hint,
            ));
        }
        written.push(file.path);
        let verb = if existed { "replaced" } else { "wrote   " };
        report.push(format!("{verb} {}", file.path));
    }
    report.push("next: devenv up".to_owned());
    report.push(
        "      devenv run puma bin/rails db:prepare   # once, to create the databases".to_owned(),
    );
    ui::lines(report);
    Ok(())
}

/// Writes one file, creating its directory. Without `force`, the file must not exist: the
/// check before covers the common case, `create_new` the race with another writer.
fn write(dir: &Path, file: &Rendered, force: bool) -> std::io::Result<()> {
    let path = dir.join(file.path);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut out = if force {
        std::fs::File::create(&path)?
    } else {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?
    };
    out.write_all(file.text.as_bytes())
}

/// What init found, one line per choice, so a surprise (no node service) explains itself.
fn summary(facts: &Facts) -> Vec<String> {
    let from = |found: Option<&str>| match found {
        Some(file) => format!("from {file}"),
        None => "default".to_owned(),
    };
    let app_from = match facts.app_name.from {
        Some(file) => format!("from {file}"),
        None => "from the directory name".to_owned(),
    };
    let mut lines = vec![
        format!("app      {} ({app_from})", facts.app_name.value),
        format!(
            "ruby     {} ({})",
            facts.ruby_version.value,
            from(facts.ruby_version.from)
        ),
    ];
    lines.push(if facts.node {
        format!(
            "node     {} ({}; package.json exists)",
            facts.node_version.value,
            from(facts.node_version.from)
        )
    } else {
        "node     none (no package.json)".to_owned()
    });
    lines.push(match &facts.sidekiq {
        Found {
            value: true,
            from: Some(file),
        } => format!("sidekiq  yes (listed in {file})"),
        _ => "sidekiq  none (not in Gemfile.lock or Gemfile)".to_owned(),
    });
    lines
}

/// Things the user should know before `devenv up`: they do not stop init.
fn notes(dir: &Path, facts: &Facts) -> Vec<String> {
    let mut notes = facts.notes.clone();
    if !dir.join("Gemfile").exists() {
        notes.push(
            "no Gemfile here: the Rails image copies Gemfile and Gemfile.lock, so `devenv up` \
             needs them (run init in the app's root)"
                .to_owned(),
        );
    } else if !dir.join("Gemfile.lock").exists() {
        notes.push(
            "no Gemfile.lock here: the Rails image copies it; run `bundle lock` before `devenv up`"
                .to_owned(),
        );
    }
    if let Some(compose) = COMPOSE_FILES.iter().find(|f| dir.join(f).exists()) {
        notes.push(format!(
            "devenv reads dev.yml before {compose}; pass `-f {compose}` to use that one"
        ));
    }
    notes
}
