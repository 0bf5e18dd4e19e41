//! The fully resolved container spec of one service: what the engine is asked to create.
//!
//! It is the unit of comparison. Its canonical JSON is hashed into the `config-hash` label and
//! stored whole in the `config` label, so a later `up` can name the fields that changed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Everything that reaches the container. Build inputs, `depends_on` and `profiles` are not
/// here on purpose: changing them must not recreate a container.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerSpec {
    /// Image reference as given (`redis:7`) or built (`<project>-<service>`). The image's id
    /// is compared apart from the hash, so `config --hash` needs no engine.
    pub image: String,
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub environment: BTreeMap<String, String>,
    /// The user's labels; devenv's own labels are added by the engine layer.
    pub labels: BTreeMap<String, String>,
    pub mounts: Vec<MountSpec>,
    pub ports: Vec<PortSpec>,
    pub tmpfs: Vec<String>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    pub tty: bool,
    pub stdin_open: bool,
    pub init: Option<bool>,
    pub stop_signal: Option<String>,
    /// Seconds the engine waits after `stop_signal` before it kills.
    pub stop_timeout: Option<i64>,
    pub restart: Option<String>,
    pub extra_hosts: Vec<String>,
    pub hostname: Option<String>,
    pub healthcheck: Option<HealthSpec>,
    pub shm_size: Option<u64>,
    pub ulimits: BTreeMap<String, (i64, i64)>,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub privileged: bool,
    pub platform: Option<String>,
    /// Engine network name → aliases on it. The service name is always an alias.
    pub networks: BTreeMap<String, Vec<String>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MountKind {
    Bind,
    Volume,
    Tmpfs,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountSpec {
    pub kind: MountKind,
    /// Absolute host path (bind), engine volume name (volume), `None` (anonymous, tmpfs).
    pub source: Option<String>,
    pub target: String,
    pub read_only: bool,
    pub nocopy: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortSpec {
    /// Always set: devenv binds 127.0.0.1 unless the config names an address.
    pub host_ip: String,
    /// `None`: the engine picks a free port.
    pub host_port: Option<String>,
    pub container_port: u16,
    pub protocol: String,
}

/// A healthcheck in engine units (nanoseconds), ready for the create call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthSpec {
    pub test: Vec<String>,
    pub interval_ns: Option<i64>,
    pub timeout_ns: Option<i64>,
    pub retries: Option<i64>,
    pub start_period_ns: Option<i64>,
}
