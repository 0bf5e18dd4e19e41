//! Planning: the desired state of each service, its config hash, and the diff with the engine.
//! Pure: no Docker, no tokio, so every rule is unit-tested.

pub mod desired;
pub mod diff;
pub mod hash;
pub mod order;
pub mod spec;
