//! Networks and volumes: ensure (idempotent create), list by project label, remove.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{NetworkCreateRequest, VolumeCreateRequest};
use bollard::query_parameters::{ListNetworksOptions, ListVolumesOptions, RemoveVolumeOptions};

use super::error::{EngineError, Failure, failure};
use super::{Engine, labels};

/// What `ensure_*` found or did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ensured {
    Created,
    /// It was there already, labelled for the project.
    Existed,
    /// It was there already without the project's label: used, never changed or removed.
    Foreign,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkInfo {
    pub id: String,
    pub name: String,
    pub driver: String,
    pub labels: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeInfo {
    pub name: String,
    pub driver: String,
    pub labels: BTreeMap<String, String>,
}

/// The labels every network and volume of a project carries.
pub fn project_labels(project: &str, version: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (labels::PROJECT.to_owned(), project.to_owned()),
        (labels::VERSION.to_owned(), version.to_owned()),
    ])
}

fn project_filter(project: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([(
        "label".to_owned(),
        vec![format!("{}={project}", labels::PROJECT)],
    )])
}

fn ownership(
    found: Option<&HashMap<String, String>>,
    wanted: &BTreeMap<String, String>,
) -> Ensured {
    let project = found.and_then(|l| l.get(labels::PROJECT));
    match (project, wanted.get(labels::PROJECT)) {
        (Some(have), Some(want)) if have == want => Ensured::Existed,
        _ => Ensured::Foreign,
    }
}

impl Engine {
    /// Creates a bridge network unless one of that name exists.
    pub async fn ensure_network(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<Ensured, EngineError> {
        let op = format!("create network `{name}`");
        match self.docker.inspect_network(name, None).await {
            Ok(existing) => return Ok(ownership(existing.labels.as_ref(), labels)),
            Err(e) => match failure(e) {
                Failure::Status { code: 404, .. } => {}
                other => return Err(self.classify(op, other)),
            },
        }
        let request = NetworkCreateRequest {
            name: name.to_owned(),
            driver: Some("bridge".to_owned()),
            labels: Some(labels.clone().into_iter().collect()),
            ..Default::default()
        };
        match self.docker.create_network(request).await {
            Ok(_) => Ok(Ensured::Created),
            Err(e) => match failure(e) {
                // Another devenv made it in between: fine.
                Failure::Status { code: 409, .. } => Ok(Ensured::Existed),
                other => Err(self.classify(op, other)),
            },
        }
    }

    /// Removes a network of the project; one already gone is fine, one without the project's
    /// label is refused.
    pub async fn remove_network(&self, project: &str, name: &str) -> Result<(), EngineError> {
        let op = format!("remove network `{name}`");
        let existing = match self.docker.inspect_network(name, None).await {
            Ok(existing) => existing,
            Err(e) => {
                return match failure(e) {
                    Failure::Status { code: 404, .. } => Ok(()),
                    other => Err(self.classify(op, other)),
                };
            }
        };
        let owner = existing
            .labels
            .as_ref()
            .and_then(|l| l.get(labels::PROJECT));
        if owner.map(String::as_str) != Some(project) {
            return Err(EngineError::Api {
                op,
                message: format!(
                    "it does not belong to project `{project}`, so devenv leaves it alone"
                ),
            });
        }
        let target = existing.id.unwrap_or_else(|| name.to_owned());
        match self.docker.remove_network(&target).await {
            Ok(()) => Ok(()),
            Err(e) => match failure(e) {
                Failure::Status { code: 404, .. } => Ok(()),
                other => Err(self.classify(op, other)),
            },
        }
    }

    pub async fn list_networks(&self, project: &str) -> Result<Vec<NetworkInfo>, EngineError> {
        let options = ListNetworksOptions {
            filters: Some(project_filter(project)),
        };
        let networks = self
            .docker
            .list_networks(Some(options))
            .await
            .map_err(|e| self.error(format!("list the networks of project `{project}`"), e))?;
        let mut infos: Vec<NetworkInfo> = networks
            .into_iter()
            .map(|n| NetworkInfo {
                id: n.id.unwrap_or_default(),
                name: n.name.unwrap_or_default(),
                driver: n.driver.unwrap_or_default(),
                labels: n.labels.unwrap_or_default().into_iter().collect(),
            })
            .collect();
        infos.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(infos)
    }

    /// Creates a volume unless one of that name exists.
    pub async fn ensure_volume(
        &self,
        name: &str,
        driver: Option<&str>,
        labels: &BTreeMap<String, String>,
    ) -> Result<Ensured, EngineError> {
        let op = format!("create volume `{name}`");
        match self.docker.inspect_volume(name).await {
            Ok(existing) => return Ok(ownership(Some(&existing.labels), labels)),
            Err(e) => match failure(e) {
                Failure::Status { code: 404, .. } => {}
                other => return Err(self.classify(op, other)),
            },
        }
        let request = VolumeCreateRequest {
            name: Some(name.to_owned()),
            driver: Some(driver.unwrap_or("local").to_owned()),
            labels: Some(labels.clone().into_iter().collect()),
            ..Default::default()
        };
        self.docker
            .create_volume(request)
            .await
            .map_err(|e| self.error(op, e))?;
        Ok(Ensured::Created)
    }

    /// Removes a volume of the project; one already gone is fine, one without the project's
    /// label is refused.
    pub async fn remove_volume(&self, project: &str, name: &str) -> Result<(), EngineError> {
        let op = format!("remove volume `{name}`");
        let existing = match self.docker.inspect_volume(name).await {
            Ok(existing) => existing,
            Err(e) => {
                return match failure(e) {
                    Failure::Status { code: 404, .. } => Ok(()),
                    other => Err(self.classify(op, other)),
                };
            }
        };
        if existing.labels.get(labels::PROJECT).map(String::as_str) != Some(project) {
            return Err(EngineError::Api {
                op,
                message: format!(
                    "it does not belong to project `{project}`, so devenv leaves it alone"
                ),
            });
        }
        match self
            .docker
            .remove_volume(name, Some(RemoveVolumeOptions { force: false }))
            .await
        {
            Ok(()) => Ok(()),
            Err(e) => match failure(e) {
                Failure::Status { code: 404, .. } => Ok(()),
                other => Err(self.classify(op, other)),
            },
        }
    }

    pub async fn list_volumes(&self, project: &str) -> Result<Vec<VolumeInfo>, EngineError> {
        let options = ListVolumesOptions {
            filters: Some(project_filter(project)),
        };
        let response = self
            .docker
            .list_volumes(Some(options))
            .await
            .map_err(|e| self.error(format!("list the volumes of project `{project}`"), e))?;
        let mut infos: Vec<VolumeInfo> = response
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| VolumeInfo {
                name: v.name,
                driver: v.driver,
                labels: v.labels.into_iter().collect(),
            })
            .collect();
        infos.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(infos)
    }

    /// Whether a volume exists, for `external: true` volumes that devenv must not create.
    pub async fn volume_exists(&self, name: &str) -> Result<bool, EngineError> {
        match self.docker.inspect_volume(name).await {
            Ok(_) => Ok(true),
            Err(e) => match failure(e) {
                Failure::Status { code: 404, .. } => Ok(false),
                other => Err(self.classify(format!("inspect volume `{name}`"), other)),
            },
        }
    }

    /// Whether a network exists, for `external: true` networks.
    pub async fn network_exists(&self, name: &str) -> Result<bool, EngineError> {
        match self.docker.inspect_network(name, None).await {
            Ok(_) => Ok(true),
            Err(e) => match failure(e) {
                Failure::Status { code: 404, .. } => Ok(false),
                other => Err(self.classify(format!("inspect network `{name}`"), other)),
            },
        }
    }
}
