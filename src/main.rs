//! devenv: brings a local development stack of Docker containers up from one config file.

use clap::Parser;

fn main() {
    let cli = devenv::cli::Cli::parse();
    if let Err(e) = devenv::run(cli) {
        let text = e.to_string();
        if !text.is_empty() {
            devenv::ui::warn(&text);
        }
        std::process::exit(e.exit_code());
    }
}
