//! devenv as a library: the binary in `main.rs` is a thin shell over these modules, and the
//! integration tests in `tests/` drive them directly.

pub mod apply;
pub mod cli;
pub mod commands;
pub mod config;
pub mod engine;
pub mod error;
pub mod init;
pub mod plan;
pub mod ui;
pub mod watch;

use clap::CommandFactory;

use cli::{Cli, Command};
use error::Error;

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Result<(), Error> {
    let g = &cli.global;
    match &cli.command {
        Command::Init(args) => commands::init::run(args),
        Command::Config(args) => commands::config::run(g, args),
        Command::Up(args) => block_on(commands::up::run(g, args)),
        Command::Down(args) => block_on(commands::down::run(g, args)),
        Command::Run(args) => block_on(commands::run::run(g, args)),
        Command::Exec(args) => block_on(commands::exec::run(g, args)),
        Command::Ps(args) => block_on(commands::ps::run(g, args)),
        Command::Logs(args) => block_on(commands::logs::run(g, args)),
        Command::Build(args) => block_on(commands::images::build(g, args)),
        Command::Pull(args) => block_on(commands::images::pull(g, args)),
        Command::Stop(args) => block_on(commands::lifecycle::stop_or_restart(
            g,
            args,
            commands::lifecycle::Verb::Stop,
        )),
        Command::Start(args) => block_on(commands::lifecycle::start(g, args)),
        Command::Watch(args) => block_on(commands::watch::run(g, args)),
        Command::Restart(args) => block_on(commands::lifecycle::stop_or_restart(
            g,
            args,
            commands::lifecycle::Verb::Restart,
        )),
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            let mut out = Vec::new();
            match shell {
                cli::Shell::Bash => clap_complete::generate(
                    clap_complete::Shell::Bash,
                    &mut cmd,
                    "devenv",
                    &mut out,
                ),
                cli::Shell::Zsh => {
                    clap_complete::generate(clap_complete::Shell::Zsh, &mut cmd, "devenv", &mut out)
                }
                cli::Shell::Fish => clap_complete::generate(
                    clap_complete::Shell::Fish,
                    &mut cmd,
                    "devenv",
                    &mut out,
                ),
            }
            ui::print(&String::from_utf8_lossy(&out));
            Ok(())
        }
    }
}

/// Engine commands run on a single-threaded runtime: they wait on I/O, and starting one thread
/// is cheaper than starting a pool, which a no-op `up` would notice.
fn block_on<F: std::future::Future<Output = Result<(), Error>>>(work: F) -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::failed(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(work)
}
