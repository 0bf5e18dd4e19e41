//! devenv as a library: the binary in `main.rs` is a thin shell over these modules, and the
//! integration tests in `tests/` drive them directly.

pub mod config;
pub mod plan;
pub mod watch;
