//! devenv as a library: the binary in `main.rs` is a thin shell over these modules, and the
//! integration tests in `tests/` drive them directly.

pub mod cli;
pub mod commands;
pub mod config;
pub mod engine;
pub mod error;
pub mod plan;
pub mod ui;

use clap::CommandFactory;

use cli::{Cli, Command};
use error::Error;

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Result<(), Error> {
    match &cli.command {
        Command::Config(args) => commands::config::run(&cli.global, args),
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
