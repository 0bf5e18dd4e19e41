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
    after_help = "Examples:\n  devenv up\n  devenv run puma bundle install\n  devenv -f dev.yml -f dev.ci.yml config --format json\n\nExit codes: 0 success, 1 failure, 2 config or usage error, 130 interrupted; run and exec exit with the command's own code."
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
    // Not global: `-f` after a subcommand means `--follow` (`logs -f`), as in compose.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Project name (default: DEVENV_PROJECT_NAME, the config's `name:`, or the directory name)
    #[arg(short = 'p', long = "project-name", value_name = "NAME")]
    pub project_name: Option<String>,
    /// Variables for interpolation (default: .env next to the first config file)
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write dev.yml and Dockerfiles for the Rails app in this directory
    #[command(
        after_help = "Examples:\n  devenv init            # in the root of a Rails app\n  devenv init --force    # replace dev.yml and the Dockerfiles\n\nWhat it reads from the app:\n  app name   the module in config/application.rb, else the directory name\n  ruby       .ruby-version, else the Gemfile's `ruby \"x.y.z\"` line, else 3.3\n  node       a node service builds assets only when package.json exists;\n             its version from .node-version or .nvmrc, else 20\n  sidekiq    a sidekiq service only when Gemfile.lock or the Gemfile lists sidekiq\n             (no Gemfile: no sidekiq, since it could not start)\n\nIt writes dev.yml, docker/rails/Dockerfile, docker/node/Dockerfile (with node) and\n.dockerignore. An existing .dockerignore is kept, even with --force. When any other of\nthese files exists, init writes nothing and exits 2, unless --force."
    )]
    Init(InitArgs),
    /// Build, create and start the services, in dependency order
    #[command(
        after_help = "Examples:\n  devenv up              # everything, logs attached; Ctrl-C stops\n  devenv up -d --wait    # in the background, return once healthy\n  devenv up --build puma # rebuild puma's image, then converge puma and its dependencies"
    )]
    Up(UpArgs),
    /// Stop and remove the project's containers and network; named volumes stay
    #[command(
        after_help = "Examples:\n  devenv down\n  devenv down --volumes   # also delete named volumes (gems, databases)"
    )]
    Down(DownArgs),
    /// Run a one-off command in a new container of a service
    #[command(
        override_usage = "devenv run [OPTIONS] SERVICE [COMMAND]...",
        after_help = "Examples:\n  devenv run puma bundle install\n  devenv run --no-deps -e RAILS_ENV=test puma bundle exec rspec\n  echo 'puts 1' | devenv run puma ruby"
    )]
    Run(RunArgs),
    /// Run a command in a service's running container
    #[command(
        override_usage = "devenv exec [OPTIONS] SERVICE COMMAND...",
        after_help = "Examples:\n  devenv exec puma bin/rails console\n  devenv exec -u root mysql sh"
    )]
    Exec(ExecArgs),
    /// Watch the source tree and run the config's watch rules as files change
    #[command(
        after_help = "Examples:\n  devenv watch\n  devenv watch node          # only the rules that act on node\n  devenv watch --json | jq  # NDJSON events for editors and scripts"
    )]
    Watch(WatchArgs),
    /// List the project's containers
    #[command(after_help = "Examples:\n  devenv ps\n  devenv ps -a --json")]
    Ps(PsArgs),
    /// Show the services' logs
    #[command(
        after_help = "Examples:\n  devenv logs -f puma sidekiq\n  devenv logs --tail 50 --since 10m"
    )]
    Logs(LogsArgs),
    /// Build the images of services that have a `build:` section
    #[command(after_help = "Examples:\n  devenv build\n  devenv build --no-cache puma")]
    Build(BuildArgs),
    /// Pull the images of services that use a registry image
    #[command(after_help = "Examples:\n  devenv pull\n  devenv pull redis")]
    Pull(ServicesArgs),
    /// Stop running containers without removing them
    #[command(after_help = "Examples:\n  devenv stop\n  devenv stop sidekiq")]
    Stop(StopArgs),
    /// Start existing containers
    #[command(after_help = "Examples:\n  devenv start\n  devenv start sidekiq")]
    Start(ServicesArgs),
    /// Restart containers
    #[command(after_help = "Examples:\n  devenv restart puma sidekiq")]
    Restart(StopArgs),
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
pub struct InitArgs {
    /// Which stack to write
    #[arg(long, value_enum, default_value_t = InitTemplate::Rails)]
    pub template: InitTemplate,
    /// Replace files that exist already (except .dockerignore)
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum InitTemplate {
    /// Puma, sidekiq, node assets, MySQL and Redis
    Rails,
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

#[derive(Debug, Args, Default)]
pub struct UpArgs {
    /// Services to bring up (default: all), with their dependencies
    pub services: Vec<String>,
    /// Detached: start in the background and return
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Build images before starting, even when they exist
    #[arg(long, conflicts_with = "no_build")]
    pub build: bool,
    /// Never build; fail when an image is missing
    #[arg(long)]
    pub no_build: bool,
    /// Recreate containers even when nothing changed
    #[arg(long)]
    pub force_recreate: bool,
    /// Do not start the named services' dependencies
    #[arg(long)]
    pub no_deps: bool,
    /// Wait until every service is running (and healthy, where it has a healthcheck)
    #[arg(long)]
    pub wait: bool,
    /// Remove containers of services that are no longer in the config
    #[arg(long)]
    pub remove_orphans: bool,
    /// Seconds to wait for a container to stop before killing it (default: its stop_grace_period)
    #[arg(short = 't', long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// After bringing the stack up, run the watch rules (logs stay attached)
    #[arg(long, conflicts_with = "detach")]
    pub watch: bool,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Print NDJSON events on stdout (ready, change, action_started, action_finished)
    #[arg(long)]
    pub json: bool,
    /// Only the rules whose actions concern these services (default: all rules)
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct DownArgs {
    /// Also remove the project's named volumes (their data is lost)
    #[arg(short = 'v', long)]
    pub volumes: bool,
    /// Also remove containers of services that are no longer in the config
    #[arg(long)]
    pub remove_orphans: bool,
    /// Seconds to wait for a container to stop before killing it (default: its stop_grace_period)
    #[arg(short = 't', long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Do not start the service's dependencies
    #[arg(long)]
    pub no_deps: bool,
    /// Keep the container after it exits (by default it is removed)
    #[arg(long, conflicts_with = "rm")]
    pub keep: bool,
    /// Remove the container after it exits: the default, accepted for compose habits
    #[arg(long)]
    pub rm: bool,
    /// Set an environment variable (KEY=VALUE, or KEY to take it from here)
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Add a bind mount or volume (SRC:DST[:ro])
    #[arg(short = 'v', long = "volume", value_name = "SRC:DST")]
    pub volumes: Vec<String>,
    /// Run as this user
    #[arg(short = 'u', long, value_name = "USER")]
    pub user: Option<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long = "workdir", value_name = "DIR")]
    pub workdir: Option<String>,
    /// Publish the service's ports (off by default, so a one-off never clashes with the service)
    #[arg(long)]
    pub service_ports: bool,
    /// Override the image's entrypoint
    #[arg(long, value_name = "CMD")]
    pub entrypoint: Option<String>,
    /// The service, then the command and its arguments (default: the service's command)
    #[arg(
        value_name = "SERVICE [COMMAND]",
        required = true,
        num_args = 1..,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    words: Vec<String>,
}

impl RunArgs {
    pub fn service(&self) -> &str {
        service_of(&self.words)
    }

    pub fn command(&self) -> &[String] {
        command_of(&self.words)
    }
}

// `run` and `exec` take the service and the command as one positional list: clap stops
// reading its own flags only once such a list has begun, so with the service as a positional
// of its own, `devenv run web ls -l` worked but `devenv run web -e X=1` read `-e` as devenv's
// flag. As with compose, everything after the service belongs to the command.
fn service_of(words: &[String]) -> &str {
    words.first().map_or("", String::as_str)
}

fn command_of(words: &[String]) -> &[String] {
    words.get(1..).unwrap_or_default()
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Set an environment variable (KEY=VALUE)
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Run as this user
    #[arg(short = 'u', long, value_name = "USER")]
    pub user: Option<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long = "workdir", value_name = "DIR")]
    pub workdir: Option<String>,
    /// The service, then the command and its arguments
    #[arg(
        value_name = "SERVICE COMMAND",
        required = true,
        num_args = 1..,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    words: Vec<String>,
}

impl ExecArgs {
    pub fn service(&self) -> &str {
        service_of(&self.words)
    }

    pub fn command(&self) -> &[String] {
        command_of(&self.words)
    }
}

#[derive(Debug, Args)]
pub struct PsArgs {
    /// One JSON array instead of a table
    #[arg(long)]
    pub json: bool,
    /// Include stopped containers
    #[arg(short = 'a', long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Keep following new output
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Only the last N lines of each service
    #[arg(long, value_name = "N")]
    pub tail: Option<u64>,
    /// Only lines since this time: a duration ago (10m, 1h30m) or Unix seconds
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Show the engine's timestamp on each line
    #[arg(long)]
    pub timestamps: bool,
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Build without the builder's cache
    #[arg(long)]
    pub no_cache: bool,
    /// Pull newer base images first
    #[arg(long)]
    pub pull: bool,
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ServicesArgs {
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct StopArgs {
    /// Seconds to wait for a container to stop before killing it (default: its stop_grace_period)
    #[arg(short = 't', long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    pub services: Vec<String>,
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
