//! The Docker engine layer: the only module that talks to the engine (through bollard).

// It never prints. Each call returns typed results or an `EngineError` whose message is meant
// for the user; progress goes to callbacks. Ownership of engine objects is recorded in labels
// (see `labels`): anything without the project label is never touched.

mod archive;
mod connect;
mod containers;
mod context;
mod error;
mod exec;
mod images;
mod inspect;
mod objects;
mod terminal;

use bollard::Docker;

pub use archive::pack_paths;
pub use connect::{CONNECT_TIMEOUT, Endpoint, TlsFiles, resolve_endpoint, resolve_endpoint_with};
pub use containers::{
    ContainerInfo, ContainerLabels, ContainerState, Health, HealthCheck, LogChunk, LogOptions,
    PublishedPort, StreamKind,
};
pub use context::{BuildContext, DockerIgnore};
pub use error::EngineError;
pub use exec::{ExecRequest, OutputSink, Stdio};
pub use images::{BuildProgress, BuildRequest, PullProgress};
pub use inspect::ContainerStatus;
pub use objects::{Ensured, NetworkInfo, VolumeInfo, project_labels};
pub use terminal::stdio_is_terminal;

use error::{Failure, failure};

/// Label keys: the engine's objects are devenv's only state store.
pub mod labels {
    /// The project an object belongs to. Objects without it are never touched.
    pub const PROJECT: &str = "dev.devenv.project";
    pub const SERVICE: &str = "dev.devenv.service";
    /// Hash of the canonical JSON of the container spec; equal hash, nothing to do.
    pub const CONFIG_HASH: &str = "dev.devenv.config-hash";
    /// The canonical JSON itself, so a later diff can name the fields that changed.
    pub const CONFIG: &str = "dev.devenv.config";
    /// `"true"` for containers of `devenv run`, `"false"` otherwise.
    pub const ONEOFF: &str = "dev.devenv.oneoff";
    /// The config files the object was made from, comma-separated.
    pub const CONFIG_FILES: &str = "dev.devenv.config-files";
    /// The devenv version that made the object.
    pub const VERSION: &str = "dev.devenv.version";
}

/// A connection to one engine, pinned to the API version negotiated at connect. Cloning is
/// cheap and shares the connection pool.
#[derive(Clone, Debug)]
pub struct Engine {
    docker: Docker,
    endpoint: Endpoint,
}

impl Engine {
    /// Connects to the engine the environment names (DOCKER_HOST, DOCKER_CONTEXT, the current
    /// context of `~/.docker/config.json`, else the default socket). An engine that does not
    /// answer fails within [`CONNECT_TIMEOUT`].
    pub async fn connect() -> Result<Engine, EngineError> {
        let endpoint = resolve_endpoint()?;
        Engine::connect_to(endpoint).await
    }

    /// Connects to an explicit endpoint.
    pub async fn connect_to(endpoint: Endpoint) -> Result<Engine, EngineError> {
        let docker = connect::open(&endpoint).await?;
        Ok(Engine { docker, endpoint })
    }

    /// The engine's address as resolved (`unix:///var/run/docker.sock`), for messages.
    pub fn address(&self) -> &str {
        &self.endpoint.host
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The API version in use after negotiation, e.g. `1.41`.
    pub fn api_version(&self) -> String {
        let v = self.docker.client_version();
        format!("{}.{}", v.major_version, v.minor_version)
    }

    /// The engine's own version string (`20.10.24+dfsg1`).
    pub async fn server_version(&self) -> Result<String, EngineError> {
        let version = self
            .docker
            .version()
            .await
            .map_err(|e| self.error("read the engine version", e))?;
        Ok(version.version.unwrap_or_default())
    }

    /// Resolves once the engine cannot be reached any more, with the error that says so. It
    /// keeps one `GET /events` stream open, filtered to the project's containers so it stays
    /// quiet: the engine going away ends the stream at once, with no polling and no CPU while
    /// nothing happens. A stream that ends while the engine still answers is reopened.
    pub async fn until_lost(&self, project: &str) -> EngineError {
        use bollard::query_parameters::EventsOptions;
        use futures_util::StreamExt;
        let op = "follow the engine's events";
        loop {
            let filters = std::collections::HashMap::from([
                (
                    "label".to_owned(),
                    vec![format!("{}={project}", labels::PROJECT)],
                ),
                ("type".to_owned(), vec!["container".to_owned()]),
            ]);
            let mut events = self.docker.events(Some(EventsOptions {
                filters: Some(filters),
                ..Default::default()
            }));
            let ended = loop {
                match events.next().await {
                    Some(Ok(_)) => {}
                    Some(Err(e)) => break self.error(op, e),
                    None => {
                        break EngineError::Lost {
                            address: self.endpoint.host.clone(),
                            op: op.to_owned(),
                            cause: "the engine closed the connection".to_owned(),
                        };
                    }
                }
            };
            if let Err(e) = self.docker.ping().await {
                return match self.error(op, e) {
                    lost @ EngineError::Lost { .. } => lost,
                    _ => ended,
                };
            }
            // Still there: a hiccup in the stream, not a lost engine. Not in a tight loop.
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }

    /// The default meaning of a failure: transport trouble means the engine went away while
    /// the command ran; everything else is reported with the engine's own words.
    pub(crate) fn error(&self, op: impl Into<String>, err: bollard::errors::Error) -> EngineError {
        self.classify(op, failure(err))
    }

    pub(crate) fn classify(&self, op: impl Into<String>, failure: Failure) -> EngineError {
        let op = op.into();
        match failure {
            Failure::Transport { cause } => EngineError::Lost {
                address: self.endpoint.host.clone(),
                op,
                cause,
            },
            Failure::Status { message, .. }
            | Failure::Stream { message }
            | Failure::Other { message } => EngineError::Api {
                op,
                message: error::lowercase_first(&message),
            },
        }
    }
}
