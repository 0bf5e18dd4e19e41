//! `devenv up`: converge the stack, then (unless `-d`) follow every service's logs until Ctrl-C.

use std::collections::BTreeSet;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::future::join_all;
use tokio::sync::mpsc;

use super::session::{Session, select};
use crate::apply::{self, BuildMode, Options, interrupted};
use crate::cli::{GlobalArgs, UpArgs};
use crate::config::model::Condition;
use crate::engine::{Engine, LogOptions};
use crate::error::{Error, exit};
use crate::plan::diff::Change;
use crate::plan::order;
use crate::ui::Status;
use crate::ui::logs::LogPrinter;

pub async fn run(global: &GlobalArgs, args: &UpArgs) -> Result<(), Error> {
    let session = Session::open(global).await?;
    let project = session.project();
    let services = select(project, &args.services, args.no_deps)?;
    let status = Status::new(services.iter());
    let opts = Options {
        build: if args.build {
            BuildMode::Always
        } else if args.no_build {
            BuildMode::Never
        } else {
            BuildMode::Missing
        },
        force_recreate: args.force_recreate,
        timeout: args.timeout.map(Duration::from_secs),
    };
    // One listener for the whole command, set up before any work, so Ctrl-C is never
    // swallowed between phases.
    let stop = interrupted();
    tokio::pin!(stop);
    let converged = tokio::select! {
        result = apply::converge(&session.engine, project, &services, &opts, args.remove_orphans, &status) => result?,
        _ = &mut stop => return Err(interrupted_error()),
    };
    // Containers this run started: `--wait` lets them settle, and their logs are shown from
    // the beginning; those that were already running show only what comes next.
    let fresh: BTreeSet<String> = converged
        .plan
        .layers
        .iter()
        .flatten()
        .filter(|a| a.change != Change::Keep)
        .map(|a| a.service.clone())
        .collect();
    if args.wait {
        tokio::select! {
            result = wait_ready(&session.engine, project, &converged.started, &fresh, &status) => result?,
            _ = &mut stop => return Err(interrupted_error()),
        }
    }
    if args.detach {
        return Ok(());
    }
    let ordered: Vec<String> = order::ordered(project)
        .into_iter()
        .filter(|s| services.contains(s))
        .collect();
    let logs = attach(
        &session.engine,
        &ordered,
        &converged.started,
        &fresh,
        opts.timeout,
        &status,
        stop,
    );
    if !args.watch {
        return logs.await;
    }
    // Logs and the watch run side by side. Ctrl-C is the logs' to handle: they stop the
    // stack and end, and the watch goes with them. Were the watch to listen too, it would
    // end first and cut the stopping short.
    let watch = super::watch::watch_project(
        &session.engine,
        project,
        &args.services,
        false,
        futures_util::future::pending(),
    );
    tokio::select! {
        r = logs => r,
        r = watch => r,
    }
}

fn interrupted_error() -> Error {
    crate::ui::warn("interrupted; run `devenv up` again to finish, or `devenv down` to clean up");
    Error::Exit(exit::INTERRUPTED)
}

/// How long a container started by this `up --wait` that has no healthcheck must keep running
/// to count as up: one that exits at once (a missing config file, a bad command) is reported
/// with its exit code instead of being taken for a success. Services settle in parallel.
const SETTLE: Duration = Duration::from_secs(1);

/// `--wait`: every service running, and healthy where it has a healthcheck.
async fn wait_ready(
    engine: &Engine,
    project: &crate::config::model::Project,
    started: &apply::Started,
    fresh: &BTreeSet<String>,
    status: &Status,
) -> Result<(), Error> {
    let waits = started.iter().map(|(service, id)| async move {
        let has_check = project.services[service]
            .healthcheck
            .as_ref()
            .is_some_and(|h| !h.disable);
        if has_check {
            apply::wait_healthy(engine, service, id).await?;
            status.line(service, "Healthy");
            return Ok(());
        }
        let exited = |code: i64| async move {
            if code == 0 && is_one_shot(project, service) {
                return Ok(());
            }
            Err(
                apply::exited_error(engine, service, id, code, "was expected to keep running")
                    .await,
            )
        };
        if fresh.contains(service) {
            tokio::select! {
                code = engine.wait(id) => return exited(code?).await,
                _ = tokio::time::sleep(SETTLE) => {}
            }
        }
        match engine.status(id).await? {
            Some(s) if s.state == crate::engine::ContainerState::Running => Ok(()),
            Some(s) => exited(s.exit_code.unwrap_or(-1)).await,
            None => Err(Error::failed(format!(
                "the container of service `{service}` is gone"
            ))),
        }
    });
    for result in join_all(waits).await {
        result?;
    }
    Ok(())
}

/// A service another one waits on with `service_completed_successfully`: it is meant to run to
/// completion (migrations, asset builds), so exiting with 0 is its success.
fn is_one_shot(project: &crate::config::model::Project, service: &str) -> bool {
    project.services.values().any(|s| {
        s.depends_on
            .get(service)
            .is_some_and(|d| d.condition == Condition::ServiceCompletedSuccessfully)
    })
}

/// Follows the logs of every started service with a prefix each. The first Ctrl-C stops the
/// containers in parallel, each within its grace period; a second one kills them.
async fn attach(
    engine: &Engine,
    ordered: &[String],
    started: &apply::Started,
    fresh: &BTreeSet<String>,
    timeout: Option<Duration>,
    status: &Status,
    mut stop: std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
) -> Result<(), Error> {
    let printer = LogPrinter::new(ordered, true);
    // A line of a service, or `None` once its log stream has ended (its container stopped).
    let (tx, mut rx) = mpsc::channel::<(String, Option<Vec<u8>>)>(1024);
    for service in ordered {
        let Some(id) = started.get(service) else {
            continue;
        };
        let options = LogOptions {
            follow: true,
            tail: if fresh.contains(service) {
                None
            } else {
                Some(0)
            },
            since: None,
            timestamps: false,
        };
        let mut stream = engine.logs(id, &options);
        let tx = tx.clone();
        let service = service.clone();
        tokio::spawn(async move {
            while let Some(Ok(chunk)) = stream.next().await {
                if tx
                    .send((service.clone(), Some(chunk.line.to_vec())))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            let _ = tx.send((service, None)).await;
        });
    }
    drop(tx);
    loop {
        tokio::select! {
            line = rx.recv() => match line {
                Some((service, Some(line))) => printer.line(&service, &line),
                // Say so when a service ends on its own; the others keep going.
                Some((service, None)) => {
                    // The stream can end a moment before the engine records the exit.
                    let code = match started.get(&service) {
                        Some(id) => tokio::time::timeout(Duration::from_secs(2), engine.wait(id))
                            .await
                            .ok()
                            .and_then(Result::ok),
                        None => None,
                    };
                    if let Some(code) = code {
                        status.line(&service, &format!("Exited with code {code}"));
                    }
                }
                // Every container has exited on its own.
                None => return Ok(()),
            },
            _ = stop.as_mut() => break,
        }
    }
    let kill_now = interrupted();
    tokio::pin!(kill_now);
    crate::ui::warn("Stopping (press Ctrl-C again to kill)");
    let stops = join_all(started.iter().map(|(service, id)| async move {
        let result = engine.stop(id, timeout).await;
        if result.is_ok() {
            status.line(service, "Stopped");
        }
        result
    }));
    tokio::pin!(stops);
    // What the services print while they shut down (a graceful "Goodbye") is shown too.
    let mut following = true;
    loop {
        tokio::select! {
            results = &mut stops => {
                for r in results {
                    r?;
                }
                break;
            }
            line = rx.recv(), if following => match line {
                Some((service, Some(line))) => printer.line(&service, &line),
                Some((_, None)) => {}
                None => following = false,
            },
            _ = &mut kill_now => {
                let kills = started.iter().map(|(service, id)| async move {
                    let r = engine.kill(id, None).await;
                    status.line(service, "Killed");
                    r
                });
                for r in join_all(kills).await {
                    r?;
                }
                break;
            }
        }
    }
    // The log streams end with their containers; print the lines still on their way.
    let drain = async {
        while let Some((service, line)) = rx.recv().await {
            if let Some(line) = line {
                printer.line(&service, &line);
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
    Err(Error::Exit(exit::INTERRUPTED))
}
