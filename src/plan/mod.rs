//! Planning: the desired state of each service, its config hash, and the diff with the engine.

pub mod spec;
