//! The config hash: a digest of a service's canonical container spec.

use sha2::{Digest, Sha256};

use super::spec::ContainerSpec;

/// The spec as canonical JSON: struct fields in declaration order, maps sorted.
pub fn canonical_json(spec: &ContainerSpec) -> String {
    // Serializing plain structs, strings and BTreeMaps cannot fail.
    serde_json::to_string(spec).unwrap_or_default()
}

pub fn config_hash(spec: &ContainerSpec) -> String {
    let digest = Sha256::digest(canonical_json(spec).as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
