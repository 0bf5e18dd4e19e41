//! What most commands start with: the loaded project, a connected engine, and the services the
//! command line names, checked against the config.

use std::collections::BTreeSet;

use crate::cli::GlobalArgs;
use crate::config::Loaded;
use crate::config::diagnostic::did_you_mean;
use crate::config::model::Project;
use crate::engine::{ContainerInfo, ContainerLabels, Engine};
use crate::error::Error;
use crate::plan::order;

pub struct Session {
    pub loaded: Loaded,
    pub engine: Engine,
}

impl Session {
    /// Loads the config first, so a broken config is reported even with no engine around.
    pub async fn open(global: &GlobalArgs) -> Result<Session, Error> {
        let loaded = super::load_project(global)?;
        let engine = Engine::connect().await?;
        Ok(Session { loaded, engine })
    }

    /// A session for a project known only by name, with no config: what `down -p NAME` needs
    /// to clean up a project whose directory is gone.
    pub async fn by_name(name: &str) -> Result<Session, Error> {
        let sanitized = crate::config::sanitize_project_name(name);
        if sanitized.is_empty() {
            return Err(Error::Config(format!(
                "error: project name `{name}` has no letters or digits"
            )));
        }
        let project = Project {
            name: sanitized,
            ..Project::default()
        };
        let loaded = Loaded {
            project,
            warnings: Vec::new(),
            sources: Default::default(),
        };
        let engine = Engine::connect().await?;
        Ok(Session { loaded, engine })
    }

    pub fn project(&self) -> &Project {
        &self.loaded.project
    }

    /// The labels a container of `service` gets.
    pub fn owner(&self, service: &str, config_hash: &str, oneoff: bool) -> ContainerLabels {
        owner(self.project(), service, config_hash, oneoff)
    }

    /// The project's containers, one-off ones included or not.
    pub async fn containers(
        &self,
        include_stopped: bool,
        oneoff: bool,
    ) -> Result<Vec<ContainerInfo>, Error> {
        let all = self
            .engine
            .list(&self.project().name, include_stopped)
            .await?;
        Ok(all.into_iter().filter(|c| oneoff || !c.oneoff).collect())
    }
}

pub fn owner(project: &Project, service: &str, config_hash: &str, oneoff: bool) -> ContainerLabels {
    ContainerLabels {
        project: project.name.clone(),
        service: service.to_owned(),
        config_hash: config_hash.to_owned(),
        oneoff,
        config_files: project
            .files
            .iter()
            .map(|f| f.display().to_string())
            .collect(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    }
}

/// Checks service names from the command line; an unknown one is a usage error (exit 2).
pub fn check_names(project: &Project, names: &[String]) -> Result<(), Error> {
    for name in names {
        if !project.services.contains_key(name) {
            let hint = did_you_mean(name, project.services.keys().map(String::as_str))
                .map(|s| format!("did you mean `{s}`?"))
                .unwrap_or_else(|| {
                    format!(
                        "the services are: {}",
                        project
                            .services
                            .keys()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                });
            return Err(Error::Config(format!(
                "error: no service `{name}` in the config\n  = hint: {hint}"
            )));
        }
    }
    Ok(())
}

/// The services a command acts on: those named (and, unless `no_deps`, their dependencies),
/// or every service whose profiles are active.
pub fn select(
    project: &Project,
    names: &[String],
    no_deps: bool,
) -> Result<BTreeSet<String>, Error> {
    check_names(project, names)?;
    if !names.is_empty() {
        return Ok(order::with_dependencies(project, names, no_deps));
    }
    let services = default_services(project);
    if services.is_empty() && !project.services.is_empty() {
        crate::ui::warn(
            "warning: every service has a profile that is not active\n  = hint: name a service, or set DEVENV_PROFILES (or COMPOSE_PROFILES)",
        );
    }
    Ok(services)
}

/// The services a command without names acts on: those with no profile or an active one,
/// with their dependencies. When every service is behind a profile that is off: none, not all.
pub fn default_services(project: &Project) -> BTreeSet<String> {
    let profiles = &project.active_profiles;
    let enabled: Vec<String> = project
        .services
        .iter()
        .filter(|(_, s)| s.profiles.is_empty() || s.profiles.iter().any(|p| profiles.contains(p)))
        .map(|(k, _)| k.clone())
        .collect();
    if enabled.is_empty() {
        return BTreeSet::new();
    }
    order::with_dependencies(project, &enabled, false)
}
