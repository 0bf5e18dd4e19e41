//! devenv: brings a local development stack of Docker containers up from one config file.

fn main() {}
