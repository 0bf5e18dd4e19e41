//! `devenv run`: a one-off container with the service's image, mounts, environment and network,
//! removed afterwards whatever happens (unless `--keep`).

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use super::session::{Session, check_names, owner};
use crate::apply::{self, BuildMode, Options, interrupted};
use crate::cli::{GlobalArgs, RunArgs};
use crate::config::model::MountType;
use crate::config::model::Project;
use crate::config::syntax;
use crate::engine::Engine;
use crate::engine::{Stdio, stdio_is_terminal};
use crate::error::{Error, exit};
use crate::plan::desired::container_spec;
use crate::plan::hash::config_hash;
use crate::plan::order;
use crate::plan::spec::{MountKind, MountSpec};
use crate::ui::Status;

/// A short random-enough suffix so parallel one-offs of a service never share a name.
fn suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    format!("{:06x}", h.finish() & 0xff_ffff)
}

pub async fn run(global: &GlobalArgs, args: &RunArgs) -> Result<(), Error> {
    let session = Session::open(global).await?;
    let project = session.project();
    let engine = &session.engine;
    let service = args.service();
    check_names(project, &[service.to_owned()])?;
    // Every option is checked before anything starts: a usage error changes nothing.
    let (overrides, declared_volumes) = overrides(project, args)?;
    let status = Status::new(project.services.keys());
    // Listening from the start: once a one-off exists, Ctrl-C must always reach the cleanup
    // below instead of ending devenv and leaving the container behind.
    let stop = interrupted();
    tokio::pin!(stop);

    if !args.no_deps {
        let mut deps = order::with_dependencies(project, &[service.to_owned()], false);
        deps.remove(service);
        if !deps.is_empty() {
            let opts = Options::default();
            tokio::select! {
                result = apply::converge(engine, project, &deps, &opts, false, &status) => {
                    result?;
                }
                _ = &mut stop => return Err(Error::Exit(exit::INTERRUPTED)),
            }
        }
    }
    // A `-v cache:/cache` naming a volume of the config gets the project's volume, made and
    // labelled as `up` would, so `down --volumes` finds it.
    apply::ensure_volumes(engine, project, &declared_volumes).await?;
    let code = one_off(
        engine,
        project,
        service,
        &overrides,
        Stdio::Inherit,
        &mut stop,
        &status,
    )
    .await?;
    match code {
        0 => Ok(()),
        code => Err(Error::Exit(i32::try_from(code).unwrap_or(exit::FAILURE))),
    }
}

/// The one-off's changes from the command line, and the config's named volumes its `-v`
/// flags mount. Malformed flags are usage errors (exit 2).
fn overrides(project: &Project, args: &RunArgs) -> Result<(OneOff, BTreeSet<String>), Error> {
    let entrypoint = match &args.entrypoint {
        Some(text) => Some(
            syntax::shell_split(text)
                .map_err(|e| Error::Config(format!("error: --entrypoint {e}")))?,
        ),
        None => None,
    };
    let mut env = BTreeMap::new();
    for pair in &args.env {
        match pair.split_once('=') {
            Some((k, v)) => {
                env.insert(k.to_owned(), v.to_owned());
            }
            None => {
                if let Ok(v) = std::env::var(pair) {
                    env.insert(pair.clone(), v);
                }
            }
        }
    }
    let cwd = super::cwd();
    let mut mounts = Vec::new();
    let mut declared = BTreeSet::new();
    for text in &args.volumes {
        let m = syntax::parse_volume(text)
            .map_err(|e| Error::Config(format!("error: -v `{text}` {e}")))?;
        let source = match m.kind {
            MountType::Bind => m.source.map(|s| {
                crate::config::decode::normalize(&cwd.join(s))
                    .display()
                    .to_string()
            }),
            _ => m.source.map(|key| match project.volumes.get(&key) {
                Some(v) => {
                    declared.insert(key);
                    v.name.clone()
                }
                None => key,
            }),
        };
        mounts.push(MountSpec {
            kind: if m.kind == MountType::Bind {
                MountKind::Bind
            } else {
                MountKind::Volume
            },
            source,
            target: m.target,
            read_only: m.read_only,
            nocopy: m.nocopy,
        });
    }
    let overrides = OneOff {
        command: args.command().to_vec(),
        entrypoint,
        env,
        mounts,
        user: args.user.clone(),
        workdir: args.workdir.clone(),
        service_ports: args.service_ports,
        keep: args.keep,
        tty: stdio_is_terminal(),
    };
    Ok((overrides, declared))
}

/// What a one-off changes in its service's container spec.
#[derive(Clone, Debug, Default)]
pub struct OneOff {
    /// Empty: the service's own command.
    pub command: Vec<String>,
    pub entrypoint: Option<Vec<String>>,
    pub env: BTreeMap<String, String>,
    /// Added, replacing any mount of the service at the same target.
    pub mounts: Vec<MountSpec>,
    pub user: Option<String>,
    pub workdir: Option<String>,
    pub service_ports: bool,
    pub keep: bool,
    pub tty: bool,
}

/// Creates, runs and (unless `keep`) removes a one-off container of `service`; returns the
/// command's exit code. The container is removed on every path: success, failure, `stop`
/// resolving (Ctrl-C), or a start that never happened. Dependencies are the caller's business.
pub async fn one_off(
    engine: &Engine,
    project: &Project,
    service: &str,
    o: &OneOff,
    stdio: Stdio,
    stop: impl Future<Output = ()>,
    status: &Status,
) -> Result<i64, Error> {
    tokio::pin!(stop);
    let only: BTreeSet<String> = BTreeSet::from([service.to_owned()]);
    let prepare = async {
        apply::ensure_images(engine, project, &only, BuildMode::Missing, status).await?;
        apply::ensure_objects(engine, project, &only)
            .await
            .map(drop)
    };
    tokio::select! {
        result = prepare => result?,
        _ = &mut stop => return Err(Error::Exit(exit::INTERRUPTED)),
    }
    let Some(mut spec) = container_spec(project, service) else {
        return Err(Error::failed(format!("no service `{service}`")));
    };
    if !o.command.is_empty() {
        spec.command = Some(o.command.clone());
    }
    if o.entrypoint.is_some() {
        spec.entrypoint = o.entrypoint.clone();
    }
    spec.environment.extend(o.env.clone());
    for m in &o.mounts {
        spec.mounts.retain(|existing| existing.target != m.target);
        spec.mounts.push(m.clone());
    }
    if o.user.is_some() {
        spec.user = o.user.clone();
    }
    if o.workdir.is_some() {
        spec.working_dir = o.workdir.clone();
    }
    if !o.service_ports {
        spec.ports.clear();
    }
    // A one-off must not be restarted by the engine, and it always takes input: a terminal
    // when there is one, else whatever is piped in.
    spec.restart = None;
    spec.tty = o.tty;
    spec.stdin_open = true;
    apply::check_bind_sources(project, service, &spec)?;

    let name = format!("{}-{service}-run-{}", project.name, suffix());
    let owner = owner(project, service, &config_hash(&spec), true);
    let id = engine.create(&name, &spec, &owner).await?;
    let outcome = tokio::select! {
        r = engine.run_attached(&id, spec.tty, true, stdio) => r.map_err(Error::from),
        _ = &mut stop => Err(Error::Exit(exit::INTERRUPTED)),
    };
    if !o.keep {
        engine.remove(&id, true, true).await?;
    }
    outcome
}
