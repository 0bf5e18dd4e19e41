//! `devenv down`: stop and remove the project's containers and networks; volumes only on request.

use std::collections::BTreeSet;
use std::time::Duration;

use futures_util::future::join_all;

use super::session::Session;
use crate::cli::{DownArgs, GlobalArgs};
use crate::error::Error;
use crate::ui::Status;

pub async fn run(global: &GlobalArgs, args: &DownArgs) -> Result<(), Error> {
    // `down -p NAME` where no config file is found: the labels say what is the project's, so
    // a project whose directory is gone can still be cleaned up, as with compose.
    let opts = super::load_options(global)?;
    let bare = match &global.project_name {
        Some(name) if global.files.is_empty() && crate::config::discover(&opts).is_err() => {
            Some(name)
        }
        _ => None,
    };
    let session = match bare {
        Some(name) => Session::by_name(name).await?,
        None => Session::open(global).await?,
    };
    let project = session.project();
    // With no config, nothing is an orphan: every labelled container is the project's.
    let remove_orphans = args.remove_orphans || bare.is_some();
    let engine = &session.engine;
    let timeout = args.timeout.map(Duration::from_secs);
    // What there is to remove, read up front: the status column fits every name in it.
    let (containers, networks, volumes) = tokio::join!(
        session.containers(true, true),
        engine.list_networks(&project.name),
        async {
            if args.volumes {
                engine.list_volumes(&project.name).await.map(Some)
            } else {
                Ok(None)
            }
        }
    );
    let (containers, networks, volumes) = (containers?, networks?, volumes?);
    let (orphans, ours): (Vec<_>, Vec<_>) = containers
        .into_iter()
        .partition(|c| !c.oneoff && !project.services.contains_key(&c.service));
    if !orphans.is_empty() && !remove_orphans {
        let names: BTreeSet<&str> = orphans.iter().map(|c| c.service.as_str()).collect();
        crate::ui::warn(&format!(
            "warning: leaving containers of services no longer in the config: {}\n  = hint: `devenv down --remove-orphans` removes them",
            names.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    let targets: Vec<_> = if remove_orphans {
        ours.into_iter().chain(orphans).collect()
    } else {
        ours
    };
    let status = Status::new(
        targets
            .iter()
            .map(|c| &c.name)
            .chain(networks.iter().map(|n| &n.name))
            .chain(volumes.iter().flatten().map(|v| &v.name)),
    );
    let status = &status;
    // Dependents go before what they depend on (a worker flushing to its database on SIGTERM
    // still has it), layer by layer in reverse; each layer's containers in parallel. Orphans
    // form the last layer, so they go first.
    let mut first_error = None;
    for layer in super::lifecycle::layers(project, &targets).iter().rev() {
        let removals = layer.iter().map(|c| async move {
            engine.stop(&c.id, timeout).await?;
            // Anonymous volumes go with their container; named ones are the user's.
            engine.remove(&c.id, true, true).await?;
            status.line(&c.name, "Removed");
            Ok::<(), Error>(())
        });
        for r in join_all(removals).await {
            if let Err(e) = r {
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    let removals = networks
        .iter()
        .map(|n| engine.remove_network(&project.name, &n.name));
    for (n, r) in networks.iter().zip(join_all(removals).await) {
        match r {
            Ok(()) => status.line(&n.name, "Removed network"),
            Err(e) => crate::ui::warn(&format!("warning: {e}")),
        }
    }
    if let Some(volumes) = volumes {
        let removals = volumes
            .iter()
            .map(|v| engine.remove_volume(&project.name, &v.name));
        for (v, r) in volumes.iter().zip(join_all(removals).await) {
            r?;
            status.line(&v.name, "Removed volume");
        }
    }
    Ok(())
}
