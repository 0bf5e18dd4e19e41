//! `devenv stop`, `start` and `restart`: existing containers of the named (or all) services.

use std::time::Duration;

use futures_util::future::try_join_all;

use super::session::{Session, check_names};
use crate::cli::{GlobalArgs, ServicesArgs, StopArgs};
use crate::engine::{ContainerInfo, ContainerState};
use crate::error::Error;
use crate::ui::Status;

#[derive(Clone, Copy)]
pub enum Verb {
    Stop,
    Start,
    Restart,
}

async fn targets(session: &Session, names: &[String]) -> Result<Vec<ContainerInfo>, Error> {
    check_names(session.project(), names)?;
    let all = session.containers(true, false).await?;
    Ok(all
        .into_iter()
        .filter(|c| names.is_empty() || names.contains(&c.service))
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
    let containers = targets(&session, names).await?;
    if containers.is_empty() {
        crate::ui::warn("no containers to act on; `devenv up` creates them");
        return Ok(());
    }
    let status = Status::new(containers.iter().map(|c| &c.service));
    let engine = &session.engine;
    let work = containers.iter().map(|c| {
        let status = &status;
        async move {
            match verb {
                Verb::Stop => {
                    engine.stop(&c.id, timeout).await?;
                    status.line(&c.service, "Stopped");
                }
                Verb::Start => {
                    if c.state != ContainerState::Running {
                        engine.start(&c.id).await?;
                    }
                    status.line(&c.service, "Started");
                }
                Verb::Restart => {
                    engine.stop(&c.id, timeout).await?;
                    engine.start(&c.id).await?;
                    status.line(&c.service, "Restarted");
                }
            }
            Ok::<(), Error>(())
        }
    });
    try_join_all(work).await?;
    Ok(())
}
