//! The command line: clap types and help texts. No I/O here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "devenv",
    version,
    about = "Bring a local development stack of Docker containers up from one config file",
    long_about = "devenv brings a local development stack of Docker containers up from one config \
file: dev.yml, or an existing docker-compose.yml, unchanged. It keeps no state of its own: \
every object it creates carries labels, and each command reads them back from the engine.",
    after_help = "Examples:\n  devenv config --services\n  devenv -f dev.yml -f dev.ci.yml config --format json\n\nExit codes: 0 success, 1 failure, 2 config or usage error."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Config file; repeat to layer overrides (later files win). Default: the first of dev.yml,
    /// compose.yaml, compose.yml, docker-compose.yml, docker-compose.yaml in this directory or
    /// a parent, plus its override file
    #[arg(short = 'f', long = "file", global = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Project name (default: DEVENV_PROJECT_NAME, the config's `name:`, or the directory name)
    #[arg(short = 'p', long = "project-name", global = true, value_name = "NAME")]
    pub project_name: Option<String>,
    /// Variables for interpolation (default: .env next to the first config file)
    #[arg(long = "env-file", global = true, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the resolved config: interpolated, paths absolute, short syntax expanded
    #[command(
        after_help = "Examples:\n  devenv config\n  devenv config --format json\n  devenv config --services\n  devenv config --hash puma sidekiq"
    )]
    Config(ConfigArgs),
    /// Print shell completions
    #[command(
        after_help = "Examples:\n  devenv completions bash > /etc/bash_completion.d/devenv\n  devenv completions zsh > \"${fpath[1]}/_devenv\"\n  devenv completions fish > ~/.config/fish/completions/devenv.fish"
    )]
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Yaml)]
    pub format: Format,
    /// List the services, in dependency order
    #[arg(long, conflicts_with_all = ["volumes", "hash"])]
    pub services: bool,
    /// List the named volumes
    #[arg(long, conflicts_with = "hash")]
    pub volumes: bool,
    /// Print the config hash of each named service (`*` for all)
    #[arg(long, num_args = 1.., value_name = "SERVICE")]
    pub hash: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}
