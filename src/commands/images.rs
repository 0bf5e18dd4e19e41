//! `devenv build` and `devenv pull`: the images of the services, with progress.

use std::collections::BTreeMap;

use futures_util::future::try_join_all;

use super::load_project;
use super::session::check_names;
use crate::apply;
use crate::cli::{BuildArgs, GlobalArgs, ServicesArgs};
use crate::engine::Engine;
use crate::error::Error;
use crate::plan::desired::image_name;
use crate::ui::progress::Progress;

fn chosen(all: impl Iterator<Item = String>, names: &[String]) -> Vec<String> {
    all.filter(|s| names.is_empty() || names.contains(s))
        .collect()
}

pub async fn build(global: &GlobalArgs, args: &BuildArgs) -> Result<(), Error> {
    let loaded = load_project(global)?;
    let project = &loaded.project;
    check_names(project, &args.services)?;
    let services = chosen(
        project
            .services
            .iter()
            .filter(|(_, s)| s.build.is_some())
            .map(|(k, _)| k.clone()),
        &args.services,
    );
    if services.is_empty() {
        crate::ui::warn("nothing to build: no selected service has a `build:` section");
        return Ok(());
    }
    // Services naming one image (puma and sidekiq) build it once, as `up` does.
    let mut by_ref: std::collections::BTreeMap<String, String> = Default::default();
    for s in services {
        by_ref
            .entry(image_name(project, &s, &project.services[&s]))
            .or_insert(s);
    }
    let services: Vec<String> = by_ref.into_values().collect();
    let engine = Engine::connect().await?;
    let progress = Progress::new(services.iter().map(String::len).max().unwrap_or(0));
    try_join_all(
        services
            .iter()
            .map(|s| apply::build(&engine, project, s, args.no_cache, args.pull, &progress)),
    )
    .await?;
    Ok(())
}

pub async fn pull(global: &GlobalArgs, args: &ServicesArgs) -> Result<(), Error> {
    let loaded = load_project(global)?;
    let project = &loaded.project;
    check_names(project, &args.services)?;
    let services = chosen(
        project
            .services
            .iter()
            .filter(|(_, s)| s.build.is_none())
            .map(|(k, _)| k.clone()),
        &args.services,
    );
    if services.is_empty() {
        crate::ui::warn("nothing to pull: every selected service is built locally");
        return Ok(());
    }
    // Services sharing an image pull it once, under the first service's name.
    let mut by_reference: BTreeMap<String, &String> = BTreeMap::new();
    for s in &services {
        by_reference
            .entry(image_name(project, s, &project.services[s]))
            .or_insert(s);
    }
    let engine = Engine::connect().await?;
    let progress = Progress::new(services.iter().map(String::len).max().unwrap_or(0));
    let pulls = by_reference.iter().map(|(reference, s)| {
        let (engine, progress) = (&engine, &progress);
        async move { apply::pull(engine, s, reference, progress).await }
    });
    try_join_all(pulls).await?;
    Ok(())
}
