//! `devenv watch`: runs the config's watch rules against the running stack as files change.
//!
//! The watch core (`crate::watch`) decides when a rule fires; this module runs its actions on
//! the engine: exec, run, restart, rebuild and sync.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use futures_util::future::try_join_all;

use super::run::{OneOff, one_off};
use super::session::{Session, check_names};
use crate::apply::{self, BuildMode, Options, interrupted};
use crate::cli::{GlobalArgs, WatchArgs};
use crate::config::model::{Project, WatchAction, WatchRule};
use crate::config::syntax::shell_join;
use crate::engine::{
    ContainerState, Engine, EngineError, ExecRequest, Stdio, StreamKind, pack_paths,
};
use crate::error::{Error, exit};
use crate::ui::Status;
use crate::ui::logs::LogPrinter;
use crate::ui::progress::Progress;
use crate::ui::watch::{Finished, WatchReporter};
use crate::watch::{self, ExecError, WatchError};

/// Lines of a failed action's output kept for the report.
const TAIL_LINES: usize = 20;

pub async fn run(global: &GlobalArgs, args: &WatchArgs) -> Result<(), Error> {
    let session = Session::open(global).await?;
    check_names(session.project(), &args.services)?;
    watch_project(
        &session.engine,
        session.project(),
        &args.services,
        args.json,
        interrupted(),
    )
    .await?;
    // Only Ctrl-C ends a watch without an error; it reads as every interrupted command does.
    Err(Error::Exit(exit::INTERRUPTED))
}

/// The rules that concern `services` (all rules when none are named).
/// Each with its number in the config (from 1), which is how reports name it.
pub fn rules_for(project: &Project, services: &[String]) -> (Vec<WatchRule>, Vec<usize>) {
    project
        .watch
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            services.is_empty()
                || r.actions
                    .iter()
                    .any(|a| action_services(a).iter().any(|s| services.contains(s)))
        })
        .map(|(i, r)| (r.clone(), i + 1))
        .unzip()
}

fn action_services(a: &WatchAction) -> Vec<String> {
    match a {
        WatchAction::Exec { service, .. }
        | WatchAction::Run { service, .. }
        | WatchAction::Rebuild { service }
        | WatchAction::Sync { service, .. } => vec![service.clone()],
        WatchAction::Restart { services } => services.clone(),
    }
}

/// A short description for the one-line report: `exec node: yarn run build`.
pub fn describe(a: &WatchAction) -> String {
    match a {
        WatchAction::Exec { service, command } => {
            format!("exec {service}: {}", shell_join(command))
        }
        WatchAction::Run { service, command } => format!("run {service}: {}", shell_join(command)),
        WatchAction::Restart { services } => format!("restart {}", services.join(", ")),
        WatchAction::Rebuild { service } => format!("rebuild {service}"),
        WatchAction::Sync {
            service, target, ..
        } => format!("sync to {service}:{target}"),
    }
}

struct Ctx<'a> {
    engine: &'a Engine,
    project: &'a Project,
    rules: Vec<WatchRule>,
    report: WatchReporter,
    printer: LogPrinter,
    status: Status,
}

/// Watches until `stop` resolves; a lost engine ends it with an error. Ctrl-C is the
/// caller's to handle: `up --watch` must stop the stack first.
pub async fn watch_project(
    engine: &Engine,
    project: &Project,
    services: &[String],
    json: bool,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), Error> {
    let (rules, numbers) = rules_for(project, services);
    if rules.is_empty() {
        return Err(Error::with_hint(
            "there are no watch rules to run",
            "add a top-level `watch:` list or a service's `develop.watch` to the config (see `devenv config`)",
        ));
    }
    let names: Vec<String> = project.services.keys().cloned().collect();
    let ctx = Rc::new(Ctx {
        engine,
        project,
        report: WatchReporter::new(json, &project.dir, numbers),
        printer: LogPrinter::new(&names, true),
        status: Status::new(project.services.keys()),
        rules: rules.clone(),
    });
    let executor = {
        let ctx = ctx.clone();
        move |rule: usize, paths: Vec<PathBuf>| {
            let ctx = ctx.clone();
            async move { run_rule(&ctx, rule, &paths, false).await }
        }
    };
    let report = ctx.report.clone();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let mut ready_tx = Some(ready_tx);
    let events = move |e: watch::WatchEvent| {
        if matches!(e, watch::WatchEvent::Ready { .. })
            && let Some(tx) = ready_tx.take()
        {
            let _ = tx.send(());
        }
        report.event(&e);
    };
    // Once every watch is in place (so nothing saved meanwhile is missed), the rules with
    // `initial_sync` copy their whole tree.
    let initial_syncs = async {
        if ready_rx.await.is_ok() {
            for (rule, r) in ctx.rules.iter().enumerate() {
                if r.initial_sync {
                    // A failure is reported like any action's, and watching goes on.
                    let _ = run_rule(&ctx, rule, &[], true).await;
                }
            }
        }
        std::future::pending::<()>().await
    };
    // An idle watch notices a lost engine at once, not at the next change.
    tokio::select! {
        result = watch::run(&project.dir, rules, executor, events, stop) => {
            result.map_err(watch_error)
        }
        lost = engine.until_lost(&project.name) => Err(engine_lost(&lost)),
        // Never taken: the initial syncs end in `pending`, they never end the watch.
        () = initial_syncs => Ok(()),
    }
}

fn engine_lost(e: &EngineError) -> Error {
    Error::with_hint(
        format!("stopped watching: {e}"),
        "once the engine is back (`docker info` answers), run `devenv up -d` and `devenv watch` again",
    )
}

/// The user's view of why watching stopped or could not start.
fn watch_error(e: WatchError) -> Error {
    if e.exit_code() == exit::CONFIG {
        let mut text = format!("error: {e}");
        if let Some(hint) = e.hint() {
            text.push_str(&format!("\n  = hint: {hint}"));
        }
        return Error::Config(text);
    }
    match e {
        // The rule only noticed the loss; the engine is the news.
        WatchError::Fatal { source, .. } => match source.downcast::<EngineError>() {
            Ok(engine) => engine_lost(&engine),
            Err(other) => Error::failed(format!("stopped watching: {other}")),
        },
        e => match e.hint() {
            Some(hint) => Error::with_hint(e.to_string(), hint),
            None => Error::failed(e.to_string()),
        },
    }
}

/// What an action produced.
struct Outcome {
    exit_code: Option<i64>,
    tail: Vec<String>,
}

impl Outcome {
    fn ok() -> Outcome {
        Outcome {
            exit_code: None,
            tail: Vec::new(),
        }
    }
}

/// Runs a rule's actions in order for `paths` (none: everything). `only_sync` runs just its
/// `sync` actions, for `initial_sync`.
async fn run_rule(
    ctx: &Ctx<'_>,
    rule: usize,
    paths: &[PathBuf],
    only_sync: bool,
) -> Result<(), ExecError> {
    let actions = ctx.rules[rule]
        .actions
        .iter()
        .filter(|a| !only_sync || matches!(a, WatchAction::Sync { .. }));
    for action in actions {
        let desc = describe(action);
        ctx.report.action_started(rule, &desc);
        let started = Instant::now();
        let result = run_action(ctx, action, paths).await;
        let duration = started.elapsed();
        match result {
            Ok(out) if out.exit_code.unwrap_or(0) == 0 => {
                ctx.report.action_finished(
                    rule,
                    &desc,
                    &Finished {
                        ok: true,
                        exit_code: out.exit_code,
                        duration,
                        tail: &out.tail,
                    },
                );
            }
            Ok(out) => {
                ctx.report.action_finished(
                    rule,
                    &desc,
                    &Finished {
                        ok: false,
                        exit_code: out.exit_code,
                        duration,
                        tail: &out.tail,
                    },
                );
                // The rest of the rule depends on this step: stop here, keep watching.
                return Err(ExecError::Failed(
                    format!("{desc} exited with {}", out.exit_code.unwrap_or(-1)).into(),
                ));
            }
            Err(e) => {
                let tail: Vec<String> = e.to_string().lines().map(str::to_owned).collect();
                ctx.report.action_finished(
                    rule,
                    &desc,
                    &Finished {
                        ok: false,
                        exit_code: None,
                        duration,
                        tail: &tail,
                    },
                );
                // Is the engine still there? If not, watching cannot go on.
                if let Err(lost) = ctx.engine.server_version().await
                    && lost.is_connection_lost()
                {
                    return Err(ExecError::Fatal(Box::new(lost)));
                }
                return Err(ExecError::Failed(e.to_string().into()));
            }
        }
    }
    Ok(())
}

/// The running container of a service.
async fn container_of(ctx: &Ctx<'_>, service: &str) -> Result<String, Error> {
    let all = ctx.engine.list(&ctx.project.name, false).await?;
    all.into_iter()
        .find(|c| !c.oneoff && c.service == service && c.state == ContainerState::Running)
        .map(|c| c.id)
        .ok_or_else(|| {
            Error::with_hint(
                format!("service `{service}` is not running"),
                format!("start it with `devenv up -d {service}`"),
            )
        })
}

/// An output sink that prints each line with the service's prefix (not in `--json` mode) and
/// keeps the last lines for the report.
fn capture(ctx: &Ctx<'_>, service: &str) -> (Stdio, Arc<Mutex<VecDeque<String>>>) {
    let tail = Arc::new(Mutex::new(VecDeque::new()));
    let kept = tail.clone();
    let printer = (!ctx.report.is_json()).then(|| ctx.printer.clone());
    let service = service.to_owned();
    let on_line = Box::new(move |_: StreamKind, line: &[u8]| {
        if let Some(p) = &printer {
            p.line(&service, line);
        }
        if let Ok(mut t) = kept.lock() {
            if t.len() == TAIL_LINES {
                t.pop_front();
            }
            t.push_back(String::from_utf8_lossy(line).into_owned());
        }
    });
    (
        Stdio::Capture {
            stdin: None,
            on_line,
        },
        tail,
    )
}

fn drain(tail: &Arc<Mutex<VecDeque<String>>>) -> Vec<String> {
    tail.lock()
        .map(|t| t.iter().cloned().collect())
        .unwrap_or_default()
}

async fn run_action(
    ctx: &Ctx<'_>,
    action: &WatchAction,
    paths: &[PathBuf],
) -> Result<Outcome, Error> {
    let engine = ctx.engine;
    match action {
        WatchAction::Exec { service, command } => {
            let id = container_of(ctx, service).await?;
            let (stdio, tail) = capture(ctx, service);
            let request = ExecRequest {
                cmd: command.clone(),
                ..ExecRequest::default()
            };
            let code = engine.exec(&id, &request, stdio).await?;
            Ok(Outcome {
                exit_code: Some(code),
                tail: drain(&tail),
            })
        }
        WatchAction::Run { service, command } => {
            let (stdio, tail) = capture(ctx, service);
            let overrides = OneOff {
                command: command.clone(),
                ..OneOff::default()
            };
            let code = one_off(
                engine,
                ctx.project,
                service,
                &overrides,
                stdio,
                futures_util::future::pending(),
                &ctx.status,
            )
            .await?;
            Ok(Outcome {
                exit_code: Some(code),
                tail: drain(&tail),
            })
        }
        WatchAction::Restart { services } => {
            let all = engine.list(&ctx.project.name, true).await?;
            let targets: Vec<_> = all
                .iter()
                .filter(|c| !c.oneoff && services.contains(&c.service))
                .collect();
            // Restarting nothing would report success for a service that never came up.
            let missing: Vec<&str> = services
                .iter()
                .filter(|s| !targets.iter().any(|c| &c.service == *s))
                .map(String::as_str)
                .collect();
            if !missing.is_empty() {
                let names = missing.join(" ");
                return Err(Error::with_hint(
                    format!(
                        "no container of {} to restart",
                        missing
                            .iter()
                            .map(|s| format!("`{s}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    format!("create it with `devenv up -d {names}`"),
                ));
            }
            try_join_all(targets.iter().map(|c| async move {
                engine.stop(&c.id, None).await?;
                engine.start(&c.id).await
            }))
            .await?;
            Ok(Outcome::ok())
        }
        WatchAction::Rebuild { service } => {
            let progress = Progress::new(ctx.status.width());
            apply::build(engine, ctx.project, service, false, false, &progress).await?;
            let only = BTreeSet::from([service.clone()]);
            let opts = Options {
                build: BuildMode::Never,
                ..Options::default()
            };
            apply::converge(engine, ctx.project, &only, &opts, false, &ctx.status).await?;
            Ok(Outcome::ok())
        }
        WatchAction::Sync {
            service,
            source,
            target,
        } => {
            let id = container_of(ctx, service).await?;
            sync(engine, &id, &ctx.project.dir, source, target, paths).await?;
            Ok(Outcome::ok())
        }
    }
}

/// Copies the changed paths under `source` into `target` in the container through the
/// archive API, and deletes there what is gone here. No paths (a rescan) syncs everything.
/// Inside a directory that is copied whole (new, or everything), what the watch ignores
/// (node_modules, editor swap files, .gitignore'd paths) stays behind, as it never fires a
/// rule either; a directory the rule names explicitly is copied as it is.
async fn sync(
    engine: &Engine,
    id: &str,
    project_dir: &Path,
    source: &Path,
    target: &str,
    paths: &[PathBuf],
) -> Result<(), Error> {
    // The watch reports resolved paths; `source` comes from the config as written, which
    // may run through a symlink (a project opened with `-f link/dev.yml`).
    let resolved = std::fs::canonicalize(source).unwrap_or_else(|_| source.to_owned());
    let mut present: Vec<PathBuf> = Vec::new();
    let mut gone = Vec::new();
    if paths.is_empty() {
        present.push(PathBuf::from("."));
    }
    for p in paths {
        let Ok(rel) = p.strip_prefix(&resolved) else {
            continue;
        };
        if rel.as_os_str().is_empty() {
            continue;
        }
        if p.symlink_metadata().is_ok() {
            present.push(rel.to_path_buf());
        } else {
            gone.push(format!(
                "{}/{}",
                target.trim_end_matches('/'),
                rel.to_string_lossy()
            ));
        }
    }
    // Deletions first: a directory replaced by a file must be gone before the file arrives
    // (the upload replaces it; deleting its old files afterwards would fail on the file).
    if !gone.is_empty() {
        engine.delete_paths(id, &gone).await?;
    }
    // Deeper paths are covered by a directory already being packed.
    present.sort();
    let mut packed: Vec<PathBuf> = Vec::new();
    for rel in present {
        if !packed.iter().any(|d| rel.starts_with(d)) {
            packed.push(rel);
        }
    }
    if !packed.is_empty() {
        let root = std::fs::canonicalize(project_dir).unwrap_or_else(|_| project_dir.to_owned());
        let (ignores, _) = crate::watch::filter::Ignores::load(&root);
        let skip = |path: &Path, is_dir: bool| {
            // Only what lies inside the project is judged by its ignore files.
            path.starts_with(&root) && ignores.entry_ignored(path, Some(is_dir))
        };
        let tar = pack_paths(&resolved, &packed, &skip)?;
        match engine.upload(id, target, tar.clone()).await {
            Err(EngineError::NotFound {
                kind: "directory", ..
            }) => {
                // Like compose, a target the image lacks is created on the first sync.
                engine.upload(id, "/", target_dir(target)?).await?;
                engine.upload(id, target, tar).await?;
            }
            other => other?,
        }
    }
    Ok(())
}

/// An archive holding only the directory `target`, to upload at `/`: the engine creates the
/// missing parents as it unpacks. No shell or `mkdir` is needed in the image.
fn target_dir(target: &str) -> Result<Bytes, Error> {
    let rel = target.trim_matches('/');
    if rel.is_empty() {
        return Err(Error::failed("cannot create `/` in a container"));
    }
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Directory);
    header.set_mode(0o755);
    header.set_size(0);
    header.set_mtime(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    );
    let failed =
        |e: std::io::Error| Error::failed(format!("cannot pack the sync target `{target}`: {e}"));
    let mut builder = tar::Builder::new(Vec::new());
    builder
        .append_data(&mut header, format!("{rel}/"), std::io::empty())
        .map_err(failed)?;
    builder.into_inner().map(Bytes::from).map_err(failed)
}

/// Services whose containers the rules act on, for `up --watch`'s messages.
pub fn services_of(rules: &[WatchRule]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in rules {
        for a in &r.actions {
            for s in action_services(a) {
                *out.entry(s).or_insert(0) += 1;
            }
        }
    }
    out
}
