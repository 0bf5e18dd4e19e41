//! Loading a project: file discovery, YAML, `.env`, interpolation, merging and validation.

pub mod model;
pub mod yaml;
