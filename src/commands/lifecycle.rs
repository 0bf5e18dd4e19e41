//! `devenv stop`, `start` and `restart`: existing containers of the named (or all) services, in
//! dependency order.

use std::collections::BTreeSet;
use std::time::Duration;

use futures_util::future::try_join_all;

use super::session::{Session, check_names};
use crate::apply;
use crate::cli::{GlobalArgs, ServicesArgs, StopArgs};
use crate::config::model::Project;
use crate::engine::{ContainerInfo, ContainerState};
use crate::error::Error;
use crate::plan::order;
use crate::ui::Status;

#[derive(Clone, Copy)]
pub enum Verb {
    Stop,
    Start,
    Restart,
}

/// The containers a verb acts on: the named services' (all when none are named). `start` also
/// takes the named services' dependencies, as `up` and `run` do: a service started without
/// them would only fail.
async fn targets(
    session: &Session,
    names: &[String],
    verb: Verb,
) -> Result<Vec<ContainerInfo>, Error> {
    let project = session.project();
    check_names(project, names)?;
    let wanted: BTreeSet<String> = if matches!(verb, Verb::Start) {
        order::with_dependencies(project, names, false)
    } else {
        names.iter().cloned().collect()
    };
    let all = session.containers(true, false).await?;
    Ok(all
        .into_iter()
        .filter(|c| names.is_empty() || wanted.contains(&c.service))
        .collect())
}

pub async fn stop_or_restart(
    global: &GlobalArgs,
    args: &StopArgs,
    verb: Verb,
) -> Result<(), Error> {
    act(
        global,
        &args.services,
        args.timeout.map(Duration::from_secs),
        verb,
    )
    .await
}

pub async fn start(global: &GlobalArgs, args: &ServicesArgs) -> Result<(), Error> {
    act(global, &args.services, None, Verb::Start).await
}

async fn act(
    global: &GlobalArgs,
    names: &[String],
    timeout: Option<Duration>,
    verb: Verb,
) -> Result<(), Error> {
    let session = Session::open(global).await?;
    let containers = targets(&session, names, verb).await?;
    if containers.is_empty() {
        crate::ui::warn("no containers to act on; `devenv up` creates them");
        return Ok(());
    }
    let status = Status::new(containers.iter().map(|c| &c.service));
    let layers = layers(session.project(), &containers);
    let engine = &session.engine;
    if matches!(verb, Verb::Stop | Verb::Restart) {
        // Dependents first, so nothing runs on without what it depends on.
        for layer in layers.iter().rev() {
            try_join_all(layer.iter().map(|c| async {
                engine.stop(&c.id, timeout).await?;
                if matches!(verb, Verb::Stop) {
                    status.line(&c.service, "Stopped");
                }
                Ok::<(), Error>(())
            }))
            .await?;
        }
    }
    if matches!(verb, Verb::Start | Verb::Restart) {
        let project = session.project();
        // Orphans (services gone from the config) have no depends_on to honour.
        let planned: BTreeSet<String> = containers
            .iter()
            .filter(|c| project.services.contains_key(&c.service))
            .map(|c| c.service.clone())
            .collect();
        // Dependencies first, each one as ready as its dependents' depends_on asks.
        for layer in &layers {
            try_join_all(layer.iter().map(|c| async {
                if matches!(verb, Verb::Restart) || c.state != ContainerState::Running {
                    engine.start(&c.id).await?;
                }
                let done = if matches!(verb, Verb::Restart) {
                    "Restarted"
                } else {
                    "Started"
                };
                status.line(&c.service, done);
                Ok::<(), Error>(())
            }))
            .await?;
            for c in layer {
                if !project.services.contains_key(&c.service) {
                    continue;
                }
                let Some(condition) = apply::strongest_condition(project, &planned, &c.service)
                else {
                    continue;
                };
                apply::wait_for(engine, &c.service, &c.id, condition, None, &status).await?;
            }
        }
    }
    Ok(())
}

/// The containers in dependency layers; those of services gone from the config form a last
/// layer of their own.
pub(super) fn layers<'a>(
    project: &Project,
    containers: &'a [ContainerInfo],
) -> Vec<Vec<&'a ContainerInfo>> {
    let known: BTreeSet<String> = containers
        .iter()
        .filter(|c| project.services.contains_key(&c.service))
        .map(|c| c.service.clone())
        .collect();
    let mut out: Vec<Vec<&ContainerInfo>> = order::layers(project, &known)
        .into_iter()
        .map(|services| {
            containers
                .iter()
                .filter(|c| services.contains(&c.service))
                .collect()
        })
        .collect();
    let orphans: Vec<&ContainerInfo> = containers
        .iter()
        .filter(|c| !known.contains(&c.service))
        .collect();
    if !orphans.is_empty() {
        out.push(orphans);
    }
    out
}
