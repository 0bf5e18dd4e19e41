//! One container's current state and exit code, from an inspect: for waits that must notice a
//! container dying while they poll.

use bollard::models::{ContainerStateStatusEnum, HealthStatusEnum};

use super::Engine;
use super::containers::{ContainerState, Health};
use super::error::{EngineError, Failure, failure};

/// A container's state at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContainerStatus {
    pub state: ContainerState,
    /// Set once the container has exited.
    pub exit_code: Option<i64>,
    /// `None` when the container has no healthcheck.
    pub health: Option<Health>,
}

impl Engine {
    /// The container's state, or `None` when it is gone.
    pub async fn status(&self, id: &str) -> Result<Option<ContainerStatus>, EngineError> {
        let inspect = match self.docker.inspect_container(id, None).await {
            Ok(inspect) => inspect,
            Err(e) => {
                return match failure(e) {
                    Failure::Status { code: 404, .. } => Ok(None),
                    other => Err(self.classify(format!("inspect container `{id}`"), other)),
                };
            }
        };
        let Some(state) = inspect.state else {
            return Ok(None);
        };
        let kind = match state.status {
            Some(ContainerStateStatusEnum::CREATED) => ContainerState::Created,
            Some(ContainerStateStatusEnum::RUNNING) => ContainerState::Running,
            Some(ContainerStateStatusEnum::PAUSED) => ContainerState::Paused,
            Some(ContainerStateStatusEnum::RESTARTING) => ContainerState::Restarting,
            Some(ContainerStateStatusEnum::REMOVING) => ContainerState::Removing,
            Some(ContainerStateStatusEnum::EXITED) => ContainerState::Exited,
            Some(ContainerStateStatusEnum::DEAD) => ContainerState::Dead,
            _ => ContainerState::Unknown,
        };
        let health = state.health.and_then(|h| match h.status {
            Some(HealthStatusEnum::HEALTHY) => Some(Health::Healthy),
            Some(HealthStatusEnum::UNHEALTHY) => Some(Health::Unhealthy),
            Some(HealthStatusEnum::STARTING) => Some(Health::Starting),
            _ => None,
        });
        let exit_code = (kind == ContainerState::Exited || kind == ContainerState::Dead)
            .then_some(state.exit_code.unwrap_or(-1));
        Ok(Some(ContainerStatus {
            state: kind,
            exit_code,
            health,
        }))
    }
}
