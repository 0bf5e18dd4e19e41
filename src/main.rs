//! devenv: brings a local development stack of Docker containers up from one config file.

mod config;
mod plan;

fn main() {}
