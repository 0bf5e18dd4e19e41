//! Containers: list by label, create from a `ContainerSpec`, start/stop/remove, wait, logs.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bollard::models::{
    ContainerCreateBody, ContainerSummary, ContainerSummaryStateEnum, EndpointSettings,
    HealthConfig, HealthStatusEnum, HostConfig, Mount, MountType, MountVolumeOptions,
    NetworkConnectRequest, NetworkingConfig, PortBinding, PortSummaryTypeEnum, ResourcesUlimits,
    RestartPolicy, RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    CreateContainerOptions, KillContainerOptions, ListContainersOptions, LogsOptions,
    RemoveContainerOptions, StopContainerOptions, WaitContainerOptions,
};
use bytes::{Bytes, BytesMut};
use futures_util::stream::{self, BoxStream, StreamExt};

use super::error::{EngineError, Failure, failure, is_port_conflict, parse_port_conflict};
use super::{Engine, labels};
use crate::plan::spec::{ContainerSpec, MountKind};

/// Who a container belongs to, written into its labels at create.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerLabels {
    pub project: String,
    pub service: String,
    /// The hash of the spec's canonical JSON, computed by the planner.
    pub config_hash: String,
    pub oneoff: bool,
    pub config_files: Vec<String>,
    pub version: String,
}

impl ContainerLabels {
    /// The full label set of a container: the user's labels from the spec, then devenv's own,
    /// which win. The spec's canonical JSON goes into [`labels::CONFIG`].
    pub fn to_labels(&self, spec: &ContainerSpec) -> Result<BTreeMap<String, String>, EngineError> {
        let config = serde_json::to_string(spec)
            .map_err(|e| EngineError::local("serialize the container spec", e))?;
        let mut all = spec.labels.clone();
        all.insert(labels::PROJECT.to_owned(), self.project.clone());
        all.insert(labels::SERVICE.to_owned(), self.service.clone());
        all.insert(labels::CONFIG_HASH.to_owned(), self.config_hash.clone());
        all.insert(labels::CONFIG.to_owned(), config);
        all.insert(labels::ONEOFF.to_owned(), self.oneoff.to_string());
        all.insert(labels::CONFIG_FILES.to_owned(), self.config_files.join(","));
        all.insert(labels::VERSION.to_owned(), self.version.clone());
        Ok(all)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContainerState {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
    Unknown,
}

impl ContainerState {
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerState::Created => "created",
            ContainerState::Running => "running",
            ContainerState::Paused => "paused",
            ContainerState::Restarting => "restarting",
            ContainerState::Removing => "removing",
            ContainerState::Exited => "exited",
            ContainerState::Dead => "dead",
            ContainerState::Unknown => "unknown",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    Starting,
    Healthy,
    Unhealthy,
}

/// One port binding as the engine reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedPort {
    pub host_ip: String,
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: String,
}

/// A container of a project, as one list call sees it: enough for `ps` and for the diff
/// without an inspect per container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerInfo {
    pub id: String,
    pub name: String,
    pub service: String,
    pub oneoff: bool,
    pub config_hash: Option<String>,
    /// The spec the container was created from (canonical JSON), if devenv wrote it.
    pub config_json: Option<String>,
    pub image: String,
    pub image_id: String,
    pub state: ContainerState,
    /// The engine's status text: `Up 3 minutes (healthy)`, `Exited (1) 2 seconds ago`.
    pub status: String,
    pub health: Option<Health>,
    pub exit_code: Option<i64>,
    pub ports: Vec<PublishedPort>,
    /// Unix seconds.
    pub created: i64,
    pub labels: BTreeMap<String, String>,
}

/// The last health probe of a container, from an inspect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthCheck {
    pub status: Health,
    pub failing_streak: i64,
    /// Output of the most recent probe, trimmed.
    pub last_output: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StreamKind {
    Stdout,
    Stderr,
    /// A TTY's single merged stream.
    Console,
}

/// One line of output (without its newline), or the unterminated tail when a stream ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogChunk {
    pub kind: StreamKind,
    pub line: Bytes,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogOptions {
    pub follow: bool,
    /// Only the last N lines; `None` for all.
    pub tail: Option<u64>,
    /// Only lines since this Unix time.
    pub since: Option<i64>,
    pub timestamps: bool,
}

impl Engine {
    /// The containers of a project (running only, or all), in one list call filtered by the
    /// project label.
    pub async fn list(
        &self,
        project: &str,
        include_stopped: bool,
    ) -> Result<Vec<ContainerInfo>, EngineError> {
        // The service label too: containers started by hand from an image that carries the
        // project label (built by an older devenv) are not the project's.
        let filters = HashMap::from([(
            "label".to_owned(),
            vec![
                format!("{}={project}", labels::PROJECT),
                labels::SERVICE.to_owned(),
            ],
        )]);
        let options = ListContainersOptions {
            all: include_stopped,
            filters: Some(filters),
            ..Default::default()
        };
        let summaries = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(|e| self.error(format!("list the containers of project `{project}`"), e))?;
        let mut infos: Vec<ContainerInfo> = summaries.into_iter().map(container_info).collect();
        infos.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(infos)
    }

    /// Creates a container named `name` from the spec, labelled as `owner` says, and connects
    /// it to every network of the spec. Returns its id.
    pub async fn create(
        &self,
        name: &str,
        spec: &ContainerSpec,
        owner: &ContainerLabels,
    ) -> Result<String, EngineError> {
        let all_labels = owner.to_labels(spec)?;
        let body = create_body(spec, &all_labels, owner.oneoff)?;
        let options = CreateContainerOptions {
            name: Some(name.to_owned()),
            platform: spec.platform.clone().unwrap_or_default(),
        };
        let op = format!("create container `{name}`");
        let created = match self.docker.create_container(Some(options), body).await {
            Ok(created) => created,
            Err(e) => {
                return Err(match failure(e) {
                    Failure::Status { code: 409, message } => {
                        self.name_conflict(name, &op, message).await
                    }
                    Failure::Status { code: 404, .. } => EngineError::NotFound {
                        kind: "image",
                        name: spec.image.clone(),
                    },
                    other => self.classify(op, other),
                });
            }
        };
        let id = created.id;

        // API 1.41 takes one endpoint at create; the others are joined before start.
        for (network, aliases) in spec.networks.iter().skip(1) {
            let request = NetworkConnectRequest {
                container: id.clone(),
                endpoint_config: Some(EndpointSettings {
                    aliases: Some(aliases.clone()),
                    ..Default::default()
                }),
            };
            if let Err(e) = self.docker.connect_network(network, request).await {
                let err = match failure(e) {
                    Failure::Status { code: 404, .. } => EngineError::NotFound {
                        kind: "network",
                        name: network.clone(),
                    },
                    other => self.classify(
                        format!("connect container `{name}` to network `{network}`"),
                        other,
                    ),
                };
                // A container missing a network would look up to date; do not leave it.
                let _ = self.remove(&id, true, false).await;
                return Err(err);
            }
        }
        Ok(id)
    }

    /// A 409 at create: tell a stranger's container from one of ours left behind.
    async fn name_conflict(&self, name: &str, op: &str, message: String) -> EngineError {
        match self.docker.inspect_container(name, None).await {
            Ok(existing) => {
                let project = existing
                    .config
                    .and_then(|c| c.labels)
                    .and_then(|l| l.get(labels::PROJECT).cloned());
                match project {
                    Some(project) => EngineError::Api {
                        op: op.to_owned(),
                        message: format!(
                            "a container of project `{project}` already has that name"
                        ),
                    },
                    None => EngineError::NameConflict {
                        name: name.to_owned(),
                    },
                }
            }
            Err(_) => EngineError::Api {
                op: op.to_owned(),
                message: super::error::lowercase_first(&message),
            },
        }
    }

    /// Starts a container; starting a running one is not an error.
    pub async fn start(&self, id: &str) -> Result<(), EngineError> {
        match self.docker.start_container(id, None).await {
            Ok(()) => Ok(()),
            Err(e) => Err(self.start_error(id, e)),
        }
    }

    pub(crate) fn start_error(&self, id: &str, e: bollard::errors::Error) -> EngineError {
        match failure(e) {
            // The container is there; what it was made on is not (`docker network prune`).
            Failure::Status { code: 404, message } if message.contains("network") => {
                EngineError::Api {
                    op: format!("start container `{id}`"),
                    message: format!(
                        "{}; `devenv up` recreates the network and the containers on it",
                        super::error::lowercase_first(&message)
                    ),
                }
            }
            Failure::Status { code: 404, .. } => EngineError::NotFound {
                kind: "container",
                name: id.to_owned(),
            },
            Failure::Status { message, .. } if is_port_conflict(&message) => {
                let (host_ip, port) = parse_port_conflict(&message);
                EngineError::PortInUse {
                    port,
                    host_ip,
                    container: id.to_owned(),
                    message,
                }
            }
            other => self.classify(format!("start container `{id}`"), other),
        }
    }

    /// Stops a container: its stop signal, then SIGKILL after `timeout` (the container's own
    /// stop timeout when `None`). A container already stopped or gone is fine.
    pub async fn stop(&self, id: &str, timeout: Option<Duration>) -> Result<(), EngineError> {
        let t = timeout.map(|d| i32::try_from(d.as_secs()).unwrap_or(i32::MAX));
        // The engine answers only once the container is down: allow for the grace period.
        let client_timeout = timeout.unwrap_or(Duration::from_secs(600)) + Duration::from_secs(30);
        let docker = self.docker.clone().with_timeout(client_timeout);
        let options = StopContainerOptions { signal: None, t };
        match docker.stop_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) => match failure(e) {
                Failure::Status { code: 404, .. } => Ok(()),
                other => Err(self.classify(format!("stop container `{id}`"), other)),
            },
        }
    }

    /// Sends a signal (SIGKILL when `None`). A container that is gone or not running is fine.
    pub async fn kill(&self, id: &str, signal: Option<&str>) -> Result<(), EngineError> {
        let options = KillContainerOptions {
            signal: signal.unwrap_or("SIGKILL").to_owned(),
        };
        match self.docker.kill_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) => match failure(e) {
                Failure::Status { code: 404, .. } => Ok(()),
                Failure::Status { code: 409, message } if message.contains("is not running") => {
                    Ok(())
                }
                other => Err(self.classify(format!("kill container `{id}`"), other)),
            },
        }
    }

    /// Removes a container (`force` kills it first; `volumes` also drops its anonymous
    /// volumes). One that is already gone, or already being removed, is fine.
    pub async fn remove(&self, id: &str, force: bool, volumes: bool) -> Result<(), EngineError> {
        let options = RemoveContainerOptions {
            v: volumes,
            force,
            link: false,
        };
        match self.docker.remove_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) => match failure(e) {
                Failure::Status { code: 404, .. } => Ok(()),
                Failure::Status { code: 409, message }
                    if message.contains("already in progress") =>
                {
                    Ok(())
                }
                other => Err(self.classify(format!("remove container `{id}`"), other)),
            },
        }
    }

    /// Waits until the container is not running and returns its exit code.
    pub async fn wait(&self, id: &str) -> Result<i64, EngineError> {
        let options = WaitContainerOptions {
            condition: "not-running".to_owned(),
        };
        let mut responses = self.docker.wait_container(id, Some(options));
        match responses.next().await {
            Some(Ok(response)) => Ok(response.status_code),
            // bollard turns a non-zero exit into an error; for us it is the answer.
            Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => Ok(code),
            Some(Err(e)) => Err(match failure(e) {
                Failure::Status { code: 404, .. } => EngineError::NotFound {
                    kind: "container",
                    name: id.to_owned(),
                },
                other => self.classify(format!("wait for container `{id}`"), other),
            }),
            None => Err(EngineError::Lost {
                address: self.address().to_owned(),
                op: format!("wait for container `{id}`"),
                cause: "the engine closed the connection without an exit code".to_owned(),
            }),
        }
    }

    /// The health of a container that has a healthcheck; `None` when it has none.
    pub async fn inspect_health(&self, id: &str) -> Result<Option<HealthCheck>, EngineError> {
        let inspect = match self.docker.inspect_container(id, None).await {
            Ok(inspect) => inspect,
            Err(e) => {
                return Err(match failure(e) {
                    Failure::Status { code: 404, .. } => EngineError::NotFound {
                        kind: "container",
                        name: id.to_owned(),
                    },
                    other => self.classify(format!("inspect container `{id}`"), other),
                });
            }
        };
        let Some(health) = inspect.state.and_then(|s| s.health) else {
            return Ok(None);
        };
        let status = match health.status {
            Some(HealthStatusEnum::HEALTHY) => Health::Healthy,
            Some(HealthStatusEnum::UNHEALTHY) => Health::Unhealthy,
            Some(HealthStatusEnum::STARTING) => Health::Starting,
            _ => return Ok(None),
        };
        let last_output = health
            .log
            .and_then(|log| log.into_iter().last())
            .and_then(|probe| probe.output)
            .map(|out| out.trim().to_owned())
            .filter(|out| !out.is_empty());
        Ok(Some(HealthCheck {
            status,
            failing_streak: health.failing_streak.unwrap_or(0),
            last_output,
        }))
    }

    /// The container's output, line by line. With `follow` the stream lasts as long as the
    /// container runs.
    pub fn logs(
        &self,
        id: &str,
        options: &LogOptions,
    ) -> BoxStream<'static, Result<LogChunk, EngineError>> {
        let bollard_options = LogsOptions {
            follow: options.follow,
            stdout: true,
            stderr: true,
            since: options
                .since
                .map(|s| i32::try_from(s).unwrap_or(i32::MAX))
                .unwrap_or(0),
            until: 0,
            timestamps: options.timestamps,
            tail: options
                .tail
                .map(|n| n.to_string())
                .unwrap_or_else(|| "all".to_owned()),
        };
        let engine = self.clone();
        let id = id.to_owned();
        let raw = self
            .docker
            .logs(&id, Some(bollard_options))
            .map(move |item| match item {
                Ok(output) => Ok(output_chunk(output)),
                Err(e) => Err(match failure(e) {
                    Failure::Status { code: 404, .. } => EngineError::NotFound {
                        kind: "container",
                        name: id.clone(),
                    },
                    other => engine.classify(format!("read the logs of `{id}`"), other),
                }),
            });
        split_lines(raw).boxed()
    }
}

pub(crate) fn output_chunk(output: bollard::container::LogOutput) -> (StreamKind, Bytes) {
    use bollard::container::LogOutput;
    match output {
        LogOutput::StdOut { message } => (StreamKind::Stdout, message),
        LogOutput::StdErr { message } => (StreamKind::Stderr, message),
        // The engine never echoes stdin back; if it did, it is output all the same.
        LogOutput::StdIn { message } => (StreamKind::Stdout, message),
        LogOutput::Console { message } => (StreamKind::Console, message),
    }
}

/// Re-cuts raw output chunks into lines, per stream, so a line split across frames (TTY
/// output) comes out whole; the unterminated rest of each stream is flushed at its end.
pub(crate) fn split_lines<S>(
    raw: S,
) -> impl futures_util::Stream<Item = Result<LogChunk, EngineError>>
where
    S: futures_util::Stream<Item = Result<(StreamKind, Bytes), EngineError>> + Send + 'static,
{
    struct State<S> {
        raw: std::pin::Pin<Box<S>>,
        buffers: Vec<(StreamKind, BytesMut)>,
        ready: std::collections::VecDeque<Result<LogChunk, EngineError>>,
        done: bool,
    }
    let state = State {
        raw: Box::pin(raw),
        buffers: Vec::new(),
        ready: std::collections::VecDeque::new(),
        done: false,
    };
    stream::unfold(state, |mut st| async move {
        loop {
            if let Some(item) = st.ready.pop_front() {
                return Some((item, st));
            }
            if st.done {
                return None;
            }
            match st.raw.next().await {
                Some(Ok((kind, bytes))) => {
                    let idx = match st.buffers.iter().position(|(k, _)| *k == kind) {
                        Some(i) => i,
                        None => {
                            st.buffers.push((kind, BytesMut::new()));
                            st.buffers.len() - 1
                        }
                    };
                    let buf = &mut st.buffers[idx].1;
                    buf.extend_from_slice(&bytes);
                    while let Some(pos) = buf.iter().position(|b| *b == b'\n') {
                        let mut line = buf.split_to(pos + 1);
                        line.truncate(pos);
                        if line.last() == Some(&b'\r') {
                            line.truncate(pos - 1);
                        }
                        st.ready.push_back(Ok(LogChunk {
                            kind,
                            line: line.freeze(),
                        }));
                    }
                }
                Some(Err(e)) => {
                    st.ready.push_back(Err(e));
                    st.done = true;
                }
                None => {
                    for (kind, buf) in st.buffers.drain(..) {
                        if !buf.is_empty() {
                            st.ready.push_back(Ok(LogChunk {
                                kind,
                                line: buf.freeze(),
                            }));
                        }
                    }
                    st.done = true;
                }
            }
        }
    })
}

fn container_info(summary: ContainerSummary) -> ContainerInfo {
    let labels: BTreeMap<String, String> = summary.labels.unwrap_or_default().into_iter().collect();
    let status = summary.status.unwrap_or_default();
    let state = match summary.state {
        Some(ContainerSummaryStateEnum::CREATED) => ContainerState::Created,
        Some(ContainerSummaryStateEnum::RUNNING) => ContainerState::Running,
        Some(ContainerSummaryStateEnum::PAUSED) => ContainerState::Paused,
        Some(ContainerSummaryStateEnum::RESTARTING) => ContainerState::Restarting,
        Some(ContainerSummaryStateEnum::REMOVING) => ContainerState::Removing,
        Some(ContainerSummaryStateEnum::EXITED) => ContainerState::Exited,
        Some(ContainerSummaryStateEnum::DEAD) => ContainerState::Dead,
        _ => ContainerState::Unknown,
    };
    let ports = summary
        .ports
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| {
            Some(PublishedPort {
                host_ip: p.ip.unwrap_or_default(),
                host_port: p.public_port?,
                container_port: p.private_port,
                protocol: match p.typ {
                    Some(PortSummaryTypeEnum::UDP) => "udp",
                    Some(PortSummaryTypeEnum::SCTP) => "sctp",
                    _ => "tcp",
                }
                .to_owned(),
            })
        })
        .collect();
    let name = summary
        .names
        .unwrap_or_default()
        .into_iter()
        .next()
        .map(|n| n.trim_start_matches('/').to_owned())
        .unwrap_or_default();
    ContainerInfo {
        id: summary.id.unwrap_or_default(),
        name,
        service: labels.get(labels::SERVICE).cloned().unwrap_or_default(),
        oneoff: labels.get(labels::ONEOFF).is_some_and(|v| v == "true"),
        config_hash: labels.get(labels::CONFIG_HASH).cloned(),
        config_json: labels.get(labels::CONFIG).cloned(),
        image: summary.image.unwrap_or_default(),
        image_id: summary.image_id.unwrap_or_default(),
        state,
        health: health_from_status(&status),
        exit_code: exit_code_from_status(&status),
        status,
        ports,
        created: summary.created.unwrap_or(0),
        labels,
    }
}

/// `Up 5 minutes (healthy)`, `Up 2 seconds (health: starting)`.
pub(crate) fn health_from_status(status: &str) -> Option<Health> {
    if status.contains("(healthy)") {
        Some(Health::Healthy)
    } else if status.contains("(unhealthy)") {
        Some(Health::Unhealthy)
    } else if status.contains("(health: starting)") {
        Some(Health::Starting)
    } else {
        None
    }
}

/// `Exited (137) 3 seconds ago`.
pub(crate) fn exit_code_from_status(status: &str) -> Option<i64> {
    let rest = status.strip_prefix("Exited (")?;
    let (code, _) = rest.split_once(')')?;
    code.parse().ok()
}

/// The create-container body for a spec. Bind mounts go through `Binds` so a missing host
/// directory is created as `docker run -v` does, except when the path holds a `:`, which
/// `Binds` cannot express.
fn create_body(
    spec: &ContainerSpec,
    all_labels: &BTreeMap<String, String>,
    oneoff: bool,
) -> Result<ContainerCreateBody, EngineError> {
    let mut binds = Vec::new();
    let mut mounts = Vec::new();
    for m in &spec.mounts {
        match m.kind {
            MountKind::Bind => {
                let source = m.source.clone().ok_or_else(|| EngineError::Api {
                    op: "create container".to_owned(),
                    message: format!("the bind mount at `{}` has no host path", m.target),
                })?;
                if source.contains(':') || m.target.contains(':') {
                    mounts.push(Mount {
                        target: Some(m.target.clone()),
                        source: Some(source),
                        typ: Some(MountType::BIND),
                        read_only: Some(m.read_only),
                        ..Default::default()
                    });
                } else {
                    let mode = if m.read_only { ":ro" } else { "" };
                    binds.push(format!("{source}:{}{mode}", m.target));
                }
            }
            MountKind::Volume => mounts.push(Mount {
                target: Some(m.target.clone()),
                source: m.source.clone(),
                typ: Some(MountType::VOLUME),
                read_only: Some(m.read_only),
                volume_options: m.nocopy.then(|| MountVolumeOptions {
                    no_copy: Some(true),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            MountKind::Tmpfs => mounts.push(Mount {
                target: Some(m.target.clone()),
                typ: Some(MountType::TMPFS),
                read_only: Some(m.read_only),
                ..Default::default()
            }),
        }
    }

    let mut exposed = Vec::new();
    let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for p in &spec.ports {
        let key = format!("{}/{}", p.container_port, p.protocol);
        if !exposed.contains(&key) {
            exposed.push(key.clone());
        }
        bindings
            .entry(key)
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(PortBinding {
                host_ip: Some(p.host_ip.clone()),
                host_port: Some(p.host_port.clone().unwrap_or_default()),
            });
    }

    let tmpfs: HashMap<String, String> = spec
        .tmpfs
        .iter()
        .map(|t| match t.split_once(':') {
            Some((path, opts)) => (path.to_owned(), opts.to_owned()),
            None => (t.clone(), String::new()),
        })
        .collect();

    let restart_policy = spec.restart.as_deref().map(restart_policy).transpose()?;

    let ulimits: Vec<ResourcesUlimits> = spec
        .ulimits
        .iter()
        .map(|(name, (soft, hard))| ResourcesUlimits {
            name: Some(name.clone()),
            soft: Some(*soft),
            hard: Some(*hard),
        })
        .collect();

    let first_network = spec.networks.iter().next();
    let networking_config = first_network.map(|(name, aliases)| NetworkingConfig {
        endpoints_config: Some(HashMap::from([(
            name.clone(),
            EndpointSettings {
                aliases: Some(aliases.clone()),
                ..Default::default()
            },
        )])),
    });

    let host_config = HostConfig {
        binds: (!binds.is_empty()).then_some(binds),
        mounts: (!mounts.is_empty()).then_some(mounts),
        port_bindings: (!bindings.is_empty()).then_some(bindings),
        tmpfs: (!tmpfs.is_empty()).then_some(tmpfs),
        restart_policy,
        init: spec.init,
        extra_hosts: (!spec.extra_hosts.is_empty()).then(|| spec.extra_hosts.clone()),
        shm_size: spec.shm_size.map(|s| i64::try_from(s).unwrap_or(i64::MAX)),
        ulimits: (!ulimits.is_empty()).then_some(ulimits),
        cap_add: (!spec.cap_add.is_empty()).then(|| spec.cap_add.clone()),
        cap_drop: (!spec.cap_drop.is_empty()).then(|| spec.cap_drop.clone()),
        privileged: spec.privileged.then_some(true),
        network_mode: first_network.map(|(name, _)| name.clone()),
        ..Default::default()
    };

    let healthcheck = spec.healthcheck.as_ref().map(|h| HealthConfig {
        test: Some(h.test.clone()),
        interval: h.interval_ns,
        timeout: h.timeout_ns,
        retries: h.retries,
        start_period: h.start_period_ns,
        start_interval: None,
    });

    // An empty entrypoint means "none": the engine only drops the image's when given [""].
    let entrypoint = spec.entrypoint.as_ref().map(|e| {
        if e.is_empty() {
            vec![String::new()]
        } else {
            e.clone()
        }
    });

    Ok(ContainerCreateBody {
        hostname: spec.hostname.clone(),
        user: spec.user.clone(),
        attach_stdin: Some(spec.stdin_open && oneoff),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        tty: Some(spec.tty),
        open_stdin: Some(spec.stdin_open),
        // A one-off's stdin closes when the client's does, so `echo x | devenv run s cat` ends.
        stdin_once: Some(spec.stdin_open && oneoff),
        env: Some(
            spec.environment
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
        ),
        cmd: spec.command.clone(),
        healthcheck,
        image: Some(spec.image.clone()),
        working_dir: spec.working_dir.clone(),
        entrypoint,
        labels: Some(all_labels.clone().into_iter().collect()),
        stop_signal: spec.stop_signal.clone(),
        stop_timeout: spec.stop_timeout,
        host_config: Some(host_config),
        networking_config,
        ..Default::default()
    })
}

fn restart_policy(text: &str) -> Result<RestartPolicy, EngineError> {
    let (name, count) = match text.split_once(':') {
        Some((name, count)) => (name, Some(count)),
        None => (text, None),
    };
    let name = match name {
        "" | "no" => RestartPolicyNameEnum::NO,
        "always" => RestartPolicyNameEnum::ALWAYS,
        "unless-stopped" => RestartPolicyNameEnum::UNLESS_STOPPED,
        "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
        other => {
            return Err(EngineError::Api {
                op: "create container".to_owned(),
                message: format!(
                    "unknown restart policy `{other}` (expected no, always, unless-stopped or on-failure[:N])"
                ),
            });
        }
    };
    let maximum_retry_count = match count {
        Some(c) => Some(c.parse::<i64>().map_err(|_| EngineError::Api {
            op: "create container".to_owned(),
            message: format!("restart policy `{text}` has a bad retry count"),
        })?),
        None => None,
    };
    Ok(RestartPolicy {
        name: Some(name),
        maximum_retry_count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::spec::{HealthSpec, MountSpec, PortSpec};

    fn sample_spec() -> ContainerSpec {
        ContainerSpec {
            image: "devenv-test/busybox:latest".to_owned(),
            command: Some(vec!["sleep".to_owned(), "100".to_owned()]),
            entrypoint: Some(vec![]),
            environment: BTreeMap::from([("A".to_owned(), "1".to_owned())]),
            mounts: vec![
                MountSpec {
                    kind: MountKind::Bind,
                    source: Some("/src".to_owned()),
                    target: "/app".to_owned(),
                    read_only: true,
                    nocopy: false,
                },
                MountSpec {
                    kind: MountKind::Volume,
                    source: Some("data".to_owned()),
                    target: "/data".to_owned(),
                    read_only: false,
                    nocopy: true,
                },
            ],
            ports: vec![
                PortSpec {
                    host_ip: "127.0.0.1".to_owned(),
                    host_port: Some("8080".to_owned()),
                    container_port: 80,
                    protocol: "tcp".to_owned(),
                },
                PortSpec {
                    host_ip: "127.0.0.1".to_owned(),
                    host_port: None,
                    container_port: 80,
                    protocol: "tcp".to_owned(),
                },
            ],
            restart: Some("on-failure:3".to_owned()),
            healthcheck: Some(HealthSpec {
                test: vec!["CMD-SHELL".to_owned(), "true".to_owned()],
                interval_ns: Some(1_000_000_000),
                timeout_ns: None,
                retries: Some(3),
                start_period_ns: None,
            }),
            networks: BTreeMap::from([
                ("p_back".to_owned(), vec!["db".to_owned()]),
                ("p_front".to_owned(), vec!["web".to_owned()]),
            ]),
            ..Default::default()
        }
    }

    #[test]
    fn spec_becomes_a_create_body() {
        let body = create_body(&sample_spec(), &BTreeMap::new(), false).expect("body");
        let json = serde_json::to_value(&body).expect("json");
        assert_eq!(json["Entrypoint"], serde_json::json!([""]));
        assert_eq!(json["Env"], serde_json::json!(["A=1"]));
        assert_eq!(json["ExposedPorts"], serde_json::json!({"80/tcp": {}}));
        let host = &json["HostConfig"];
        assert_eq!(host["Binds"], serde_json::json!(["/src:/app:ro"]));
        assert_eq!(
            host["PortBindings"]["80/tcp"],
            serde_json::json!([
                {"HostIp": "127.0.0.1", "HostPort": "8080"},
                {"HostIp": "127.0.0.1", "HostPort": ""}
            ])
        );
        assert_eq!(host["Mounts"][0]["Type"], "volume");
        assert_eq!(host["Mounts"][0]["VolumeOptions"]["NoCopy"], true);
        assert_eq!(host["RestartPolicy"]["Name"], "on-failure");
        assert_eq!(host["RestartPolicy"]["MaximumRetryCount"], 3);
        assert_eq!(host["NetworkMode"], "p_back");
        assert_eq!(
            json["NetworkingConfig"]["EndpointsConfig"]["p_back"]["Aliases"],
            serde_json::json!(["db"])
        );
        assert!(
            json["NetworkingConfig"]["EndpointsConfig"]
                .get("p_front")
                .is_none()
        );
        assert_eq!(json["Healthcheck"]["Interval"], 1_000_000_000i64);
        assert_eq!(json["StdinOnce"], false);
    }

    #[test]
    fn bad_restart_policy_is_named() {
        let mut spec = sample_spec();
        spec.restart = Some("sometimes".to_owned());
        let err = create_body(&spec, &BTreeMap::new(), false).unwrap_err();
        assert!(err.to_string().contains("`sometimes`"), "{err}");
    }

    #[test]
    fn status_text_yields_health_and_exit_code() {
        assert_eq!(
            health_from_status("Up 5 minutes (healthy)"),
            Some(Health::Healthy)
        );
        assert_eq!(
            health_from_status("Up 1 second (health: starting)"),
            Some(Health::Starting)
        );
        assert_eq!(
            health_from_status("Up 2 hours (unhealthy)"),
            Some(Health::Unhealthy)
        );
        assert_eq!(health_from_status("Up 2 hours"), None);
        assert_eq!(
            exit_code_from_status("Exited (137) 3 seconds ago"),
            Some(137)
        );
        assert_eq!(exit_code_from_status("Up 2 hours"), None);
    }

    #[tokio::test]
    async fn lines_are_recut_per_stream() {
        let chunks: Vec<Result<(StreamKind, Bytes), EngineError>> = vec![
            Ok((StreamKind::Stdout, Bytes::from_static(b"hel"))),
            Ok((StreamKind::Stderr, Bytes::from_static(b"err\n"))),
            Ok((StreamKind::Stdout, Bytes::from_static(b"lo\r\nwor"))),
            Ok((StreamKind::Stdout, Bytes::from_static(b"ld"))),
        ];
        let lines: Vec<(StreamKind, Vec<u8>)> = split_lines(stream::iter(chunks))
            .map(|r| r.map(|c| (c.kind, c.line.to_vec())))
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()
            .expect("no errors");
        assert_eq!(
            lines,
            vec![
                (StreamKind::Stderr, b"err".to_vec()),
                (StreamKind::Stdout, b"hello".to_vec()),
                (StreamKind::Stdout, b"world".to_vec()),
            ]
        );
    }
}
