//! `devenv exec`: a command in a service's running container, exiting with its code.

use super::session::{Session, check_names};
use crate::cli::{ExecArgs, GlobalArgs};
use crate::engine::{ContainerState, ExecRequest, Stdio};
use crate::error::{Error, exit};

pub async fn run(global: &GlobalArgs, args: &ExecArgs) -> Result<(), Error> {
    if args.command().is_empty() {
        return Err(Error::Config(format!(
            "error: `devenv exec {}` needs a command to run\n  = hint: devenv exec {} sh",
            args.service(),
            args.service()
        )));
    }
    let session = Session::open(global).await?;
    check_names(session.project(), &[args.service().to_owned()])?;
    let containers = session.containers(true, false).await?;
    let ours = containers.iter().filter(|c| c.service == args.service());
    let Some(container) = ours.clone().find(|c| c.state == ContainerState::Running) else {
        // A stopped container only needs starting; without one, `up` makes it.
        let verb = if ours.count() > 0 { "start" } else { "up -d" };
        return Err(Error::with_hint(
            format!("service `{}` is not running", args.service()),
            format!("start it with `devenv {verb} {}`", args.service()),
        ));
    };
    let env = args
        .env
        .iter()
        .filter_map(|pair| match pair.split_once('=') {
            Some((k, v)) => Some((k.to_owned(), v.to_owned())),
            None => std::env::var(pair).ok().map(|v| (pair.clone(), v)),
        })
        .collect();
    let request = ExecRequest {
        cmd: args.command().to_vec(),
        env,
        user: args.user.clone(),
        workdir: args.workdir.clone(),
        tty: true,
        privileged: false,
    };
    match session
        .engine
        .exec(&container.id, &request, Stdio::Inherit)
        .await?
    {
        0 => Ok(()),
        code => Err(Error::Exit(i32::try_from(code).unwrap_or(exit::FAILURE))),
    }
}
