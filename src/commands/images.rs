//! `devenv build` and `devenv pull`: the images of the services, with progress.

use std::collections::BTreeMap;

use futures_util::future::try_join_all;

use super::load_project;
use super::session::check_names;
use crate::apply;
use crate::cli::{BuildArgs, GlobalArgs, ServicesArgs};
use crate::config::model::{Project, Service};
use crate::engine::Engine;
use crate::error::Error;
use crate::plan::desired::image_name;
use crate::ui::progress::Progress;

/// The services named (or all) that `wanted` accepts, one per image reference: services that
/// share an image (puma and sidekiq) build or pull it once, under the first one's name.
fn by_image(
    project: &Project,
    names: &[String],
    wanted: impl Fn(&Service) -> bool,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (name, s) in &project.services {
        if wanted(s) && (names.is_empty() || names.contains(name)) {
            out.entry(image_name(project, name, s))
                .or_insert_with(|| name.clone());
        }
    }
    out
}

pub async fn build(global: &GlobalArgs, args: &BuildArgs) -> Result<(), Error> {
    let loaded = load_project(global)?;
    let project = &loaded.project;
    check_names(project, &args.services)?;
    let images = by_image(project, &args.services, |s| s.build.is_some());
    if images.is_empty() {
        crate::ui::warn("nothing to build: no selected service has a `build:` section");
        return Ok(());
    }
    let services: Vec<String> = images.into_values().collect();
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
    let images = by_image(project, &args.services, |s| s.build.is_none());
    if images.is_empty() {
        crate::ui::warn("nothing to pull: every selected service is built locally");
        return Ok(());
    }
    let engine = Engine::connect().await?;
    let progress = Progress::new(images.values().map(String::len).max().unwrap_or(0));
    let pulls = images.iter().map(|(reference, s)| {
        let (engine, progress) = (&engine, &progress);
        async move { apply::pull(engine, s, reference, progress).await }
    });
    try_join_all(pulls).await?;
    Ok(())
}
