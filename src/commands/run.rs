//! `devenv run`: a one-off container with the service's image, mounts, environment and network,
//! removed afterwards whatever happens (unless `--keep`).

use std::collections::BTreeSet;

use super::session::{Session, check_names};
use crate::apply::{self, Options, interrupted};
use crate::cli::{GlobalArgs, RunArgs};
use crate::config::model::MountType;
use crate::config::syntax;
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
    check_names(project, std::slice::from_ref(&args.service))?;
    let service = args.service.as_str();
    let status = Status::new(project.services.keys());
    let opts = Options::default();
    // Listening from the start: once a one-off exists, Ctrl-C must always reach the cleanup
    // below instead of ending devenv and leaving the container behind.
    let stop = interrupted();
    tokio::pin!(stop);

    if !args.no_deps {
        let mut deps =
            order::with_dependencies(project, std::slice::from_ref(&args.service), false);
        deps.remove(service);
        if !deps.is_empty() {
            tokio::select! {
                result = apply::converge(engine, project, &deps, &opts, false, &status) => {
                    result?;
                }
                _ = &mut stop => return Err(Error::Exit(exit::INTERRUPTED)),
            }
        }
    }
    let Some(mut spec) = container_spec(project, service) else {
        return Err(Error::failed(format!("no service `{service}`")));
    };
    if !args.command.is_empty() {
        spec.command = Some(args.command.clone());
    }
    if let Some(entrypoint) = &args.entrypoint {
        let words = syntax::shell_split(entrypoint)
            .map_err(|e| Error::Config(format!("error: --entrypoint {e}")))?;
        spec.entrypoint = Some(words);
    }
    for pair in &args.env {
        match pair.split_once('=') {
            Some((k, v)) => {
                spec.environment.insert(k.to_owned(), v.to_owned());
            }
            None => {
                if let Ok(v) = std::env::var(pair) {
                    spec.environment.insert(pair.clone(), v);
                }
            }
        }
    }
    let cwd = super::cwd();
    for text in &args.volumes {
        let m = syntax::parse_volume(text)
            .map_err(|e| Error::Config(format!("error: -v `{text}` {e}")))?;
        let source = match m.kind {
            MountType::Bind => m.source.map(|s| {
                crate::config::decode::normalize(&cwd.join(s))
                    .display()
                    .to_string()
            }),
            _ => m
                .source
                .map(|key| project.volumes.get(&key).map_or(key, |v| v.name.clone())),
        };
        spec.mounts.retain(|existing| existing.target != m.target);
        spec.mounts.push(MountSpec {
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
    if let Some(user) = &args.user {
        spec.user = Some(user.clone());
    }
    if let Some(dir) = &args.workdir {
        spec.working_dir = Some(dir.clone());
    }
    if !args.service_ports {
        spec.ports.clear();
    }
    // A one-off must not be restarted by the engine, and it always takes input: a terminal
    // when there is one, else whatever is piped in.
    spec.restart = None;
    spec.tty = stdio_is_terminal();
    spec.stdin_open = true;
    apply::check_bind_sources(project, service, &spec)?;
    let only: BTreeSet<String> = BTreeSet::from([service.to_owned()]);
    let prepare = async {
        apply::ensure_images(engine, project, &only, opts.build, &status).await?;
        apply::ensure_objects(engine, project, &only).await
    };
    tokio::select! {
        result = prepare => result?,
        _ = &mut stop => return Err(Error::Exit(exit::INTERRUPTED)),
    }

    let name = format!("{}-{service}-run-{}", project.name, suffix());
    let owner = session.owner(service, &config_hash(&spec), true);
    let id = engine.create(&name, &spec, &owner).await?;
    let outcome = tokio::select! {
        r = engine.run_attached(&id, spec.tty, true, Stdio::Inherit) => r.map_err(Error::from),
        _ = &mut stop => Err(Error::Exit(exit::INTERRUPTED)),
    };
    if !args.keep {
        // Removed on every path: success, failure, Ctrl-C, or a start that never happened.
        engine.remove(&id, true, true).await?;
    }
    match outcome? {
        0 => Ok(()),
        code => Err(Error::Exit(i32::try_from(code).unwrap_or(exit::FAILURE))),
    }
}
