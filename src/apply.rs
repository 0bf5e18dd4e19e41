//! Bringing services to their desired state on the engine: images, networks and volumes,
//! then containers layer by layer, independent services in parallel, honoring `depends_on`.
//!
//! `up`, `run` (for dependencies) and `watch` (for rebuilds) all converge through here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use futures_util::TryFutureExt;
use futures_util::future::try_join_all;

use crate::commands::session::owner;
use crate::config::model::{Condition, Project, PullPolicy};
use crate::engine::{
    BuildProgress, BuildRequest, ContainerInfo, ContainerState, Engine, EngineError, Ensured,
    Health, LogOptions, project_labels,
};
use crate::error::Error;
use crate::plan::desired::{container_name, container_spec, image_name};
use crate::plan::diff::{Actual, Change, Desired, Plan};
use crate::plan::hash::config_hash;
use crate::plan::order;
use crate::plan::spec::{ContainerSpec, MountKind};
use crate::ui::Status;
use crate::ui::progress::Progress;

/// How images are obtained.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BuildMode {
    /// Build what is missing (and what `pull_policy: build` asks for).
    #[default]
    Missing,
    /// `--build`: build every service that has a `build:` section.
    Always,
    /// `--no-build`: never build; a missing image is an error.
    Never,
}

/// Knobs of a converge.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub build: BuildMode,
    pub force_recreate: bool,
    /// Seconds to wait for a container to stop before it is killed; `None` uses each
    /// service's `stop_grace_period`.
    pub timeout: Option<Duration>,
}

/// Makes sure every selected service's image is present; returns image ids by reference.
pub async fn ensure_images(
    engine: &Engine,
    project: &Project,
    services: &BTreeSet<String>,
    mode: BuildMode,
    status: &Status,
) -> Result<BTreeMap<String, String>, Error> {
    // Services sharing an image reference are handled once.
    let mut by_ref: BTreeMap<String, String> = BTreeMap::new();
    for name in services {
        let s = &project.services[name];
        by_ref
            .entry(image_name(project, name, s))
            .or_insert_with(|| name.clone());
    }
    let references: Vec<String> = by_ref.keys().cloned().collect();
    let known = engine.image_ids(&references).await?;
    let ids = references.iter().map(|r| known.get(r).cloned());
    let mut found: BTreeMap<String, String> = BTreeMap::new();
    let mut builds = Vec::new();
    let mut pulls = Vec::new();
    for ((reference, service), id) in by_ref.iter().zip(ids) {
        let s = &project.services[service];
        let policy = s.pull_policy;
        let has_build = s.build.is_some();
        let wants_build = has_build
            && (mode == BuildMode::Always
                || policy == Some(PullPolicy::Build)
                || (id.is_none() && policy != Some(PullPolicy::Always)));
        if wants_build && mode != BuildMode::Never {
            builds.push(service.clone());
        } else if policy == Some(PullPolicy::Always) || (id.is_none() && !has_build) {
            if id.is_none() && policy == Some(PullPolicy::Never) {
                return Err(Error::with_hint(
                    format!(
                        "image `{reference}` of service `{service}` is not on the engine, and its pull_policy is `never`"
                    ),
                    "build or load the image first, or change pull_policy",
                ));
            }
            pulls.push((service.clone(), reference.clone()));
        } else if let Some(id) = id {
            found.insert(reference.clone(), id);
        } else {
            return Err(Error::with_hint(
                format!(
                    "image `{reference}` of service `{service}` is not built, and --no-build was given"
                ),
                "run `devenv build` first, or drop --no-build",
            ));
        }
    }
    let progress = Progress::new(status.width());
    let pull_futures = pulls
        .iter()
        .map(|(service, reference)| pull(engine, service, reference, &progress));
    let build_futures = builds
        .iter()
        .map(|service| build(engine, project, service, false, false, &progress));
    let (pulled, built) =
        futures_util::future::join(try_join_all(pull_futures), try_join_all(build_futures)).await;
    for (reference, id) in pulled?.into_iter().chain(built?) {
        found.insert(reference, id);
    }
    Ok(found)
}

/// Pulls one image with a progress line; returns (reference, image id).
pub async fn pull(
    engine: &Engine,
    service: &str,
    reference: &str,
    progress: &Progress,
) -> Result<(String, String), Error> {
    let task = progress.task(service, &format!("Pulling {reference}"));
    // One progress line per layer, below the image's own line.
    let mut layers: BTreeMap<String, crate::ui::progress::Task> = BTreeMap::new();
    let result = engine
        .pull(reference, |p| {
            if p.id.is_empty() {
                task.set(&p.status, true);
                return;
            }
            let detail = match (p.current, p.total) {
                (Some(c), Some(t)) if t > 0 => format!("{} {}%", p.status, c * 100 / t),
                _ => p.status.clone(),
            };
            let done =
                p.status.starts_with("Pull complete") || p.status.starts_with("Already exists");
            layers
                .entry(p.id.clone())
                .or_insert_with(|| progress.task(&format!("{service} {}", p.id), &detail))
                .set(&detail, done);
        })
        .await;
    for (_, layer) in std::mem::take(&mut layers) {
        layer.finish("done");
    }
    if let Err(e) = result {
        task.finish("Pull failed");
        return Err(e.into());
    }
    task.finish("Pulled");
    let id = engine.image_id(reference).await?.unwrap_or_default();
    Ok((reference.to_owned(), id))
}

/// Builds one service's image with a progress line; returns (reference, image id).
pub async fn build(
    engine: &Engine,
    project: &Project,
    service: &str,
    no_cache: bool,
    pull: bool,
    progress: &Progress,
) -> Result<(String, String), Error> {
    let s = &project.services[service];
    let reference = image_name(project, service, s);
    let Some(b) = &s.build else {
        return Err(Error::failed(format!(
            "service `{service}` has no `build:` section"
        )));
    };
    let request = BuildRequest {
        service: service.to_owned(),
        context: b.context.clone(),
        dockerfile: Some(Path::new(&b.dockerfile).to_path_buf()),
        args: b.args.clone(),
        target: b.target.clone(),
        tag: reference.clone(),
        no_cache,
        pull,
        // The project label lets tests and tools find the images a project built. Containers
        // started by hand from them inherit it, but not the service label, which is what
        // `Engine::list` asks for.
        labels: project_labels(&project.name, env!("CARGO_PKG_VERSION")),
    };
    let task = progress.task(service, "Building");
    let result = engine
        .build(&request, |p| match p {
            BuildProgress::ContextPacked { files, bytes } => task.set(
                &format!("Sending context ({files} files, {} KiB)", bytes / 1024),
                false,
            ),
            BuildProgress::Step(step) => task.set(&step, true),
            BuildProgress::Output(_) => {}
        })
        .await;
    match result {
        Ok(id) => {
            task.finish("Built");
            Ok((reference, id))
        }
        Err(e) => {
            task.finish("Build failed");
            Err(e.into())
        }
    }
}

/// Creates the networks and named volumes the services use. External ones must exist.
/// Returns the networks that had to be created (by engine name).
pub async fn ensure_objects(
    engine: &Engine,
    project: &Project,
    services: &BTreeSet<String>,
) -> Result<BTreeSet<String>, Error> {
    let labels = project_labels(&project.name, env!("CARGO_PKG_VERSION"));
    let mut networks = BTreeSet::new();
    let mut volumes = BTreeSet::new();
    for name in services {
        let s = &project.services[name];
        networks.extend(s.networks.keys().cloned());
        volumes.extend(
            s.volumes
                .iter()
                .filter(|m| m.kind == crate::config::model::MountType::Volume)
                .filter_map(|m| m.source.clone()),
        );
    }
    let mut ensure_networks = Vec::new();
    for key in &networks {
        let Some(net) = project.networks.get(key) else {
            continue;
        };
        if net.external {
            if !engine.network_exists(&net.name).await? {
                return Err(Error::with_hint(
                    format!("external network `{}` does not exist", net.name),
                    format!("create it with `docker network create {}`", net.name),
                ));
            }
        } else {
            let name = net.name.as_str();
            ensure_networks.push(
                engine
                    .ensure_network(name, &labels)
                    .map_ok(move |ensured| (name, ensured)),
            );
        }
    }
    let (networks, ()) = futures_util::future::try_join(
        try_join_all(ensure_networks).map_err(Error::from),
        ensure_volumes(engine, project, &volumes),
    )
    .await?;
    Ok(networks
        .into_iter()
        .filter(|(_, ensured)| *ensured == Ensured::Created)
        .map(|(name, _)| name.to_owned())
        .collect())
}

/// Creates the project's named volumes among `keys` (config keys, as under top-level
/// `volumes:`), labelled as the project's; external ones must exist. Keys the config does not
/// declare are not the project's and are left to the engine.
pub async fn ensure_volumes(
    engine: &Engine,
    project: &Project,
    keys: &BTreeSet<String>,
) -> Result<(), Error> {
    let labels = project_labels(&project.name, env!("CARGO_PKG_VERSION"));
    let mut ensure_volumes = Vec::new();
    for key in keys {
        let Some(vol) = project.volumes.get(key) else {
            continue;
        };
        if vol.external {
            if !engine.volume_exists(&vol.name).await? {
                return Err(Error::with_hint(
                    format!("external volume `{}` does not exist", vol.name),
                    format!("create it with `docker volume create {}`", vol.name),
                ));
            }
        } else {
            let mut l = labels.clone();
            l.extend(vol.labels.clone());
            ensure_volumes.push(async move {
                engine
                    .ensure_volume(&vol.name, vol.driver.as_deref(), &l)
                    .await
            });
        }
    }
    try_join_all(ensure_volumes).await?;
    Ok(())
}

/// The desired state of `services`, in dependency layers.
pub fn desired_layers(
    project: &Project,
    services: &BTreeSet<String>,
    image_ids: &BTreeMap<String, String>,
) -> Vec<Vec<Desired>> {
    order::layers(project, services)
        .into_iter()
        .map(|layer| {
            layer
                .into_iter()
                .filter_map(|name| {
                    let spec = container_spec(project, &name)?;
                    let s = &project.services[&name];
                    Some(Desired {
                        container_name: container_name(project, &name, s),
                        hash: config_hash(&spec),
                        image_id: image_ids.get(&spec.image).cloned(),
                        service: name,
                        spec,
                    })
                })
                .collect()
        })
        .collect()
}

/// The engine's containers as the planner sees them.
pub fn actual_state(infos: &[ContainerInfo]) -> Vec<Actual> {
    infos
        .iter()
        .map(|c| Actual {
            id: c.id.clone(),
            name: c.name.clone(),
            service: c.service.clone(),
            hash: c.config_hash.clone().unwrap_or_default(),
            config_json: c.config_json.clone(),
            image_id: c.image_id.clone(),
            running: c.state == ContainerState::Running,
            oneoff: c.oneoff,
        })
        .collect()
}

/// A bind mount's host path must exist: the engine would otherwise create it as root inside
/// the user's tree. `create_host_path` creates it as the user instead.
pub fn check_bind_sources(
    project: &Project,
    service: &str,
    spec: &ContainerSpec,
) -> Result<(), Error> {
    let declared = &project.services[service].volumes;
    for m in spec.mounts.iter().filter(|m| m.kind == MountKind::Bind) {
        let Some(source) = &m.source else { continue };
        let path = Path::new(source);
        if path.exists() {
            continue;
        }
        let create = declared
            .iter()
            .any(|d| d.target == m.target && d.create_host_path);
        if create {
            std::fs::create_dir_all(path).map_err(|e| {
                Error::failed(format!(
                    "cannot create `{source}` for service `{service}`: {e}"
                ))
            })?;
        } else {
            return Err(Error::with_hint(
                format!(
                    "service `{service}` bind-mounts `{source}` at `{}`, but `{source}` does not exist",
                    m.target
                ),
                "create it, or use the long syntax with `bind: {create_host_path: true}` to have devenv create the directory",
            ));
        }
    }
    Ok(())
}

/// The outcome of applying a plan: which containers were (re)started, by service.
pub type Started = BTreeMap<String, String>;

/// Checks the bind sources of every container the plan creates, before anything is made, so a
/// missing path leaves no network or container behind.
pub fn check_plan_binds(
    project: &Project,
    plan: &Plan,
    desired: &[Vec<Desired>],
) -> Result<(), Error> {
    for d in desired.iter().flatten() {
        let changes = plan
            .layers
            .iter()
            .flatten()
            .any(|a| a.service == d.service && a.change != Change::Keep);
        if changes {
            check_bind_sources(project, &d.service, &d.spec)?;
        }
    }
    Ok(())
}

/// Runs the plan: layer by layer, each layer's services in parallel; between layers, waits for
/// what the next layers' `depends_on` conditions ask of this one. Bind sources must have been
/// checked with [`check_plan_binds`].
pub async fn apply(
    engine: &Engine,
    project: &Project,
    plan: &Plan,
    desired: &[Vec<Desired>],
    actual: &[ContainerInfo],
    opts: &Options,
    status: &Status,
) -> Result<Started, Error> {
    let by_service: BTreeMap<&str, &Desired> = desired
        .iter()
        .flatten()
        .map(|d| (d.service.as_str(), d))
        .collect();
    let planned: BTreeSet<String> = by_service.keys().map(|s| (*s).to_owned()).collect();
    let mut started = Started::new();
    // Services whose container this run replaced, and the running ones it restarted because
    // of that (`depends_on: {x: {restart: true}}`).
    let mut recreated: BTreeSet<String> = BTreeSet::new();
    let mut restarted: BTreeSet<String> = BTreeSet::new();
    // The engine copies an image's files into an empty named volume when a container that
    // mounts it is created. Two such creates at once (puma and sidekiq sharing `bundle`) race
    // in that copy and one fails with "file exists", so creates that mount a named volume take
    // turns; starts and health waits stay parallel.
    let volume_creates = tokio::sync::Mutex::new(());
    for layer in &plan.layers {
        let by_service = &by_service;
        let volume_creates = &volume_creates;
        let work = layer.iter().map(|action| {
            let restart_because = restart_because(project, action, &recreated);
            async move {
                let d = by_service[action.service.as_str()];
                let id = match (restart_because, action.container.as_deref()) {
                    (Some(dependency), Some(id)) => {
                        restart(engine, &action.service, id, dependency, opts, status).await?;
                        id.to_owned()
                    }
                    _ => {
                        apply_one(engine, project, d, action, opts, status, volume_creates).await?
                    }
                };
                Ok::<_, Error>((action.service.clone(), id, restart_because.is_some()))
            }
        });
        // Every service of the layer runs to its end before a failure is reported: dropping
        // the others mid-way would leave containers created but unstarted, or started by the
        // engine after devenv has reported and gone.
        let mut first_error = None;
        for result in futures_util::future::join_all(work).await {
            match result {
                Ok((service, id, was_restarted)) => {
                    if was_restarted {
                        restarted.insert(service.clone());
                    }
                    started.insert(service, id);
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        for action in layer {
            if matches!(action.change, Change::Create | Change::Recreate(_)) {
                recreated.insert(action.service.clone());
            }
        }
        // The layer's services are waited for together, not one after another.
        let waits = layer.iter().filter_map(|action| {
            let condition = strongest_condition(project, &planned, &action.service)?;
            let id = started.get(&action.service)?;
            // A restarted container's health from before the restart says nothing now.
            let known_health = actual
                .iter()
                .find(|c| &c.id == id && !restarted.contains(&action.service))
                .and_then(|c| c.health);
            Some(wait_for(
                engine,
                &action.service,
                id,
                condition,
                known_health,
                status,
            ))
        });
        try_join_all(waits).await?;
    }
    Ok(started)
}

/// The dependency whose new container makes this running, unchanged service restart:
/// compose's `depends_on: {db: {restart: true}}`, so an app reconnects to a recreated database.
fn restart_because<'a>(
    project: &'a Project,
    action: &crate::plan::diff::Action,
    recreated: &BTreeSet<String>,
) -> Option<&'a str> {
    if action.change != Change::Keep {
        return None;
    }
    project.services[&action.service]
        .depends_on
        .iter()
        .find(|(dependency, d)| d.restart && recreated.contains(*dependency))
        .map(|(dependency, _)| dependency.as_str())
}

async fn restart(
    engine: &Engine,
    service: &str,
    id: &str,
    dependency: &str,
    opts: &Options,
    status: &Status,
) -> Result<(), Error> {
    engine
        .stop(id, opts.timeout)
        .await
        .map_err(|e| in_service(service, e))?;
    engine.start(id).await.map_err(|e| in_service(service, e))?;
    status.line(service, &format!("Restarted ({dependency} was recreated)"));
    Ok(())
}

/// What the services in `planned` that depend on `service` need of it, the strictest first.
pub fn strongest_condition(
    project: &Project,
    planned: &BTreeSet<String>,
    service: &str,
) -> Option<Condition> {
    let mut best = None;
    for name in planned {
        let Some(planned_service) = project.services.get(name) else {
            continue;
        };
        if let Some(dep) = planned_service.depends_on.get(service) {
            best = match (best, dep.condition) {
                (_, Condition::ServiceCompletedSuccessfully) => {
                    Some(Condition::ServiceCompletedSuccessfully)
                }
                (Some(Condition::ServiceCompletedSuccessfully), _) => best,
                (_, Condition::ServiceHealthy) => Some(Condition::ServiceHealthy),
                (None, c) => Some(c),
                (b, _) => b,
            };
        }
    }
    best
}

/// Applies one action and returns the id of the service's container.
async fn apply_one(
    engine: &Engine,
    project: &Project,
    d: &Desired,
    action: &crate::plan::diff::Action,
    opts: &Options,
    status: &Status,
    volume_creates: &tokio::sync::Mutex<()>,
) -> Result<String, Error> {
    let service = &d.service;
    let (change, existing) = (&action.change, action.container.as_deref());
    match change {
        Change::Keep => {
            status.line(service, "Running");
            Ok(existing.unwrap_or_default().to_owned())
        }
        Change::Start => {
            let id = existing.unwrap_or_default();
            engine.start(id).await.map_err(|e| in_service(service, e))?;
            status.line(service, "Started");
            Ok(id.to_owned())
        }
        Change::Create | Change::Recreate(_) => {
            if let (Change::Recreate(reasons), Some(old)) = (change, existing) {
                status.line(service, &format!("Recreate ({})", reasons.join(", ")));
                engine.stop(old, opts.timeout).await?;
                engine.remove(old, true, false).await?;
            }
            let owner = owner(project, service, &d.hash, false);
            let mounts_volume = d
                .spec
                .mounts
                .iter()
                .any(|m| m.kind == MountKind::Volume && m.source.is_some());
            let turn = if mounts_volume {
                Some(volume_creates.lock().await)
            } else {
                None
            };
            let id = engine
                .create(&d.container_name, &d.spec, &owner)
                .await
                .map_err(|e| in_service(service, e))?;
            drop(turn);
            status.line(
                service,
                if matches!(change, Change::Create) {
                    "Created"
                } else {
                    "Recreated"
                },
            );
            if let Err(e) = engine.start(&id).await {
                // A container that cannot start is not left behind half-made.
                let _ = engine.remove(&id, true, false).await;
                return Err(in_service(service, e));
            }
            status.line(service, "Started");
            Ok(id)
        }
    }
}

/// Names the service in an engine error that does not already.
fn in_service(service: &str, e: EngineError) -> Error {
    let text = e.to_string();
    if text.contains(&format!("`{service}`")) {
        Error::failed(text)
    } else {
        Error::failed(format!("service `{service}`: {text}"))
    }
}

/// Waits until a container satisfies a `depends_on` condition.
pub async fn wait_for(
    engine: &Engine,
    service: &str,
    id: &str,
    condition: Condition,
    known: Option<Health>,
    status: &Status,
) -> Result<(), Error> {
    match condition {
        Condition::ServiceStarted => Ok(()),
        Condition::ServiceCompletedSuccessfully => {
            let code = engine.wait(id).await?;
            if code == 0 {
                status.line(service, "Completed");
                Ok(())
            } else {
                Err(exited_error(engine, service, id, code, "had to complete successfully").await)
            }
        }
        Condition::ServiceHealthy => {
            if known == Some(Health::Healthy) {
                return Ok(());
            }
            status.line(service, "Waiting for healthy");
            wait_healthy(engine, service, id).await?;
            status.line(service, "Healthy");
            Ok(())
        }
    }
}

/// Polls the container's health until it is healthy; unhealthy or exited is an error with the
/// service's last log lines.
pub async fn wait_healthy(engine: &Engine, service: &str, id: &str) -> Result<(), Error> {
    loop {
        let Some(now) = engine.status(id).await? else {
            return Err(Error::failed(format!(
                "the container of service `{service}` disappeared while devenv waited for it"
            )));
        };
        if now.state != ContainerState::Running && now.state != ContainerState::Restarting {
            // A container that died while starting never turns healthy: say so now.
            let code = now.exit_code.unwrap_or(-1);
            return Err(
                exited_error(engine, service, id, code, "was expected to become healthy").await,
            );
        }
        match now.health {
            Some(Health::Healthy) => return Ok(()),
            Some(Health::Unhealthy) => {
                // What the probe printed usually says why (`Access denied for user`).
                let probe = match engine.inspect_health(id).await {
                    Ok(Some(check)) => check
                        .last_output
                        .map(|out| format!("; its healthcheck last said: {out}"))
                        .unwrap_or_default(),
                    _ => String::new(),
                };
                let logs = last_logs(engine, id, 20).await;
                return Err(Error::with_hint(
                    format!("service `{service}` is unhealthy{probe}{logs}"),
                    format!(
                        "see `devenv logs {service}`; the healthcheck in the config decides what healthy means"
                    ),
                ));
            }
            None => {
                return Err(Error::with_hint(
                    format!(
                        "service `{service}` has no healthcheck, but another service waits for it to be healthy"
                    ),
                    format!(
                        "add a `healthcheck:` to `{service}`, or use `condition: service_started`"
                    ),
                ));
            }
            Some(Health::Starting) => {}
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub async fn exited_error(
    engine: &Engine,
    service: &str,
    id: &str,
    code: i64,
    expectation: &str,
) -> Error {
    let logs = last_logs(engine, id, 20).await;
    Error::with_hint(
        format!("service `{service}` exited with code {code} but {expectation}{logs}"),
        format!("see `devenv logs {service}`"),
    )
}

/// The last lines a container printed, formatted to follow an error message.
pub async fn last_logs(engine: &Engine, id: &str, lines: u64) -> String {
    use futures_util::StreamExt;
    let mut stream = engine.logs(
        id,
        &LogOptions {
            follow: false,
            tail: Some(lines),
            since: None,
            timestamps: false,
        },
    );
    let mut out = String::new();
    while let Some(Ok(chunk)) = stream.next().await {
        out.push_str("\n  | ");
        out.push_str(String::from_utf8_lossy(&chunk.line).trim_end());
    }
    if out.is_empty() {
        out
    } else {
        format!("; its last log lines:{out}")
    }
}

/// What a converge did: the plan it ran and each service's container id.
pub struct Converged {
    pub plan: Plan,
    pub started: Started,
}

/// The whole of `up -d` for `services`: one list call, images, networks and volumes (only when
/// something has to change), the diff, and its application. `remove_orphans` removes
/// containers of services gone from the config; otherwise they are reported.
pub async fn converge(
    engine: &Engine,
    project: &Project,
    services: &BTreeSet<String>,
    opts: &Options,
    remove_orphans: bool,
    status: &Status,
) -> Result<Converged, Error> {
    let containers: Vec<ContainerInfo> = engine
        .list(&project.name, true)
        .await?
        .into_iter()
        .filter(|c| !c.oneoff)
        .collect();
    // A no-op costs that one read: when every service has a container still showing its
    // image by name, the images are there and unchanged.
    let images = match images_of_containers(project, services, &containers, opts.build) {
        Some(images) => images,
        None => ensure_images(engine, project, services, opts.build, status).await?,
    };
    let desired = desired_layers(project, services, &images);
    let known: BTreeSet<String> = project.services.keys().cloned().collect();
    let plan = crate::plan::diff::diff(
        &desired,
        &actual_state(&containers),
        &known,
        opts.force_recreate,
    );
    check_plan_binds(project, &plan, &desired)?;
    if !plan.orphans.is_empty() {
        if remove_orphans {
            let removals = plan.orphans.iter().map(|(service, id)| async move {
                engine.stop(id, opts.timeout).await?;
                engine.remove(id, true, false).await?;
                status.line(service, "Removed orphan");
                Ok::<(), EngineError>(())
            });
            try_join_all(removals).await?;
        } else {
            let names: BTreeSet<&str> = plan.orphans.iter().map(|(s, _)| s.as_str()).collect();
            crate::ui::warn(&format!(
                "warning: found containers of services no longer in the config: {}\n  = hint: `devenv up --remove-orphans` removes them",
                names.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    // A running, unchanged stack already has its network and volumes: no call needed.
    let mut plan = plan;
    if !plan.is_noop() {
        let created = ensure_objects(engine, project, services).await?;
        renew_stale_networks(&mut plan, &desired, &created);
    }
    let started = apply(engine, project, &plan, &desired, &containers, opts, status).await?;
    Ok(Converged { plan, started })
}

/// A stopped container still points at the network it was made on; if that network had to be
/// created anew (`docker network prune` removes the networks of stopped stacks), starting it
/// fails for good. Such a container is recreated instead. Running ones cannot be affected: the
/// engine refuses to remove a network in use.
fn renew_stale_networks(plan: &mut Plan, desired: &[Vec<Desired>], created: &BTreeSet<String>) {
    if created.is_empty() {
        return;
    }
    for action in plan.layers.iter_mut().flatten() {
        if action.change != Change::Start {
            continue;
        }
        let d = desired
            .iter()
            .flatten()
            .find(|d| d.service == action.service);
        if let Some(network) = d.and_then(|d| d.spec.networks.keys().find(|n| created.contains(*n)))
        {
            action.change = Change::Recreate(vec![format!("network {network} was recreated")]);
        }
    }
}

/// The image ids of `services` read off their containers, when that says all there is to know:
/// the engine lists a container's image by the name it was made from only while that name still
/// points at the container's image (a rebuilt or re-pulled tag shows the old id instead). `None`
/// when something must be asked of the engine: a service without a container, a moved tag,
/// `--build`, or a pull_policy that acts on every `up`.
fn images_of_containers(
    project: &Project,
    services: &BTreeSet<String>,
    containers: &[ContainerInfo],
    mode: BuildMode,
) -> Option<BTreeMap<String, String>> {
    if mode == BuildMode::Always {
        return None;
    }
    let mut images = BTreeMap::new();
    for name in services {
        let s = &project.services[name];
        if matches!(s.pull_policy, Some(PullPolicy::Always | PullPolicy::Build)) {
            return None;
        }
        let reference = image_name(project, name, s);
        let container = containers
            .iter()
            .find(|c| &c.service == name && c.image == reference)?;
        images.insert(reference, container.image_id.clone());
    }
    Some(images)
}

/// Resolves on the first SIGINT or SIGTERM that arrives after this call. The listeners are set
/// up here, not when the future is first polled: once tokio handles a signal its default action
/// (ending devenv) is gone, so a Ctrl-C between setup and the first poll would otherwise be lost.
pub fn interrupted() -> impl std::future::Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let int = signal(SignalKind::interrupt());
    let term = signal(SignalKind::terminate());
    async move {
        match (int, term) {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            (Ok(mut int), Err(_)) => {
                int.recv().await;
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(service: &str, image: &str, id: &str) -> ContainerInfo {
        ContainerInfo {
            id: format!("c-{service}"),
            name: format!("p-{service}-1"),
            service: service.to_owned(),
            oneoff: false,
            config_hash: None,
            config_json: None,
            image: image.to_owned(),
            image_id: id.to_owned(),
            state: ContainerState::Running,
            status: String::new(),
            health: None,
            exit_code: None,
            ports: Vec::new(),
            created: 0,
            labels: BTreeMap::new(),
        }
    }

    #[test]
    fn containers_answer_for_their_images_only_while_the_names_hold() {
        let dir = std::path::Path::new("/p");
        let yaml = "services:\n  web: {image: 'busybox:1'}\n  db: {image: 'redis:7'}\n  job: {image: 'busybox:1', pull_policy: always}\n";
        let project = crate::config::load_text(yaml, dir).unwrap().project;
        let both: BTreeSet<String> = ["web".into(), "db".into()].into();
        let up = [
            container("web", "busybox:1", "sha256:a"),
            container("db", "redis:7", "sha256:b"),
        ];
        let images = images_of_containers(&project, &both, &up, BuildMode::Missing).unwrap();
        assert_eq!(images["busybox:1"], "sha256:a");
        assert_eq!(images["redis:7"], "sha256:b");
        // A tag moved since: the engine lists the old image by id.
        let moved = [
            container("web", "sha256:a", "sha256:a"),
            container("db", "redis:7", "sha256:b"),
        ];
        assert_eq!(
            images_of_containers(&project, &both, &moved, BuildMode::Missing),
            None
        );
        // No container, `--build`, or a policy acting on every up: ask the engine.
        assert_eq!(
            images_of_containers(&project, &both, &up[..1], BuildMode::Missing),
            None
        );
        assert_eq!(
            images_of_containers(&project, &both, &up, BuildMode::Always),
            None
        );
        let job: BTreeSet<String> = ["job".into()].into();
        let job_up = [container("job", "busybox:1", "sha256:a")];
        assert_eq!(
            images_of_containers(&project, &job, &job_up, BuildMode::Missing),
            None
        );
    }
}
