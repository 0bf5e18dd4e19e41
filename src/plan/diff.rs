//! The diff between desired and actual state: which containers to create, recreate (and why),
//! start, or remove as orphans, ordered in dependency layers.

use std::collections::BTreeSet;

use serde_json::Value;

use super::spec::ContainerSpec;

/// One service as the config wants it.
#[derive(Clone, Debug)]
pub struct Desired {
    pub service: String,
    pub container_name: String,
    pub spec: ContainerSpec,
    pub hash: String,
    /// The id of the image the container should run, when the engine has it.
    pub image_id: Option<String>,
}

/// One labelled container as the engine reports it.
#[derive(Clone, Debug, Default)]
pub struct Actual {
    pub id: String,
    pub name: String,
    pub service: String,
    pub hash: String,
    /// The spec the container was created from (its `dev.devenv.config` label).
    pub config_json: Option<String>,
    pub image_id: String,
    pub running: bool,
    pub oneoff: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Create,
    /// The reasons, one per changed field: `environment.DATABASE_URL changed`.
    Recreate(Vec<String>),
    Start,
    /// Running and unchanged: nothing to do.
    Keep,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Action {
    pub service: String,
    pub change: Change,
    /// The existing container, for recreate, start and keep.
    pub container: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Actions per dependency layer, in order; a layer's actions may run in parallel.
    pub layers: Vec<Vec<Action>>,
    /// Containers of services that are no longer in the config: (service, container id).
    pub orphans: Vec<(String, String)>,
}

impl Plan {
    /// True when applying the plan would write nothing.
    pub fn is_noop(&self) -> bool {
        self.layers
            .iter()
            .flatten()
            .all(|a| a.change == Change::Keep)
    }
}

/// Compares `layers` of desired services with the engine's containers. `known` holds every
/// service in the config (also unselected ones), so only truly removed services are orphans.
pub fn diff(
    layers: &[Vec<Desired>],
    actual: &[Actual],
    known: &BTreeSet<String>,
    force_recreate: bool,
) -> Plan {
    let mut plan = Plan::default();
    for layer in layers {
        let mut actions = Vec::new();
        for d in layer {
            let existing = actual.iter().find(|a| !a.oneoff && a.service == d.service);
            let change = match existing {
                None => Change::Create,
                Some(a) => {
                    let reasons = recreate_reasons(d, a, force_recreate);
                    if !reasons.is_empty() {
                        Change::Recreate(reasons)
                    } else if a.running {
                        Change::Keep
                    } else {
                        Change::Start
                    }
                }
            };
            actions.push(Action {
                service: d.service.clone(),
                change,
                container: existing.map(|a| a.id.clone()),
            });
        }
        plan.layers.push(actions);
    }
    for a in actual {
        if !a.oneoff && !known.contains(&a.service) {
            plan.orphans.push((a.service.clone(), a.id.clone()));
        }
    }
    plan
}

fn recreate_reasons(d: &Desired, a: &Actual, force: bool) -> Vec<String> {
    let mut reasons = Vec::new();
    if force {
        reasons.push("--force-recreate".to_owned());
    }
    if a.name.trim_start_matches('/') != d.container_name {
        reasons.push("container_name changed".to_owned());
    }
    if a.hash != d.hash {
        let old = a
            .config_json
            .as_deref()
            .and_then(|j| serde_json::from_str::<Value>(j).ok());
        let new = serde_json::to_value(&d.spec).unwrap_or(Value::Null);
        match old {
            Some(old) => {
                let mut fields = Vec::new();
                changed_fields(&old, &new, "", &mut fields);
                if fields.is_empty() {
                    reasons.push("config changed".to_owned());
                }
                let mut named: Vec<String> = fields.iter().map(|f| config_key(f)).collect();
                named.dedup();
                reasons.extend(named.into_iter().map(|f| format!("{f} changed")));
            }
            None => reasons.push("config changed".to_owned()),
        }
    } else if let Some(image_id) = &d.image_id
        && image_id != &a.image_id
    {
        reasons.push("image changed".to_owned());
    }
    reasons
}

/// A changed field of the container spec as the user wrote it in dev.yml: the spec's own names
/// (`mounts`, `stop_timeout`, `healthcheck.interval_ns`) mean nothing to someone reading a
/// recreate reason.
fn config_key(field: &str) -> String {
    let (head, rest) = field.split_once('.').unwrap_or((field, ""));
    let head = match head {
        "mounts" => "volumes",
        "stop_timeout" => "stop_grace_period",
        other => other,
    };
    let rest = match (head, rest) {
        ("healthcheck", r) => r.strip_suffix("_ns").unwrap_or(r),
        ("volumes", _) => "",
        (_, r) => r,
    };
    if rest.is_empty() {
        head.to_owned()
    } else {
        format!("{head}.{rest}")
    }
}

/// Dotted paths of the fields that differ; maps are descended (`environment.KEY`), lists and
/// scalars are named whole (`ports`).
fn changed_fields(old: &Value, new: &Value, path: &str, out: &mut Vec<String>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let sub = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => changed_fields(x, y, &sub, out),
                    (None, Some(Value::Null)) | (Some(Value::Null), None) => {}
                    _ => out.push(sub),
                }
            }
        }
        _ => {
            if old != new {
                out.push(path.to_owned());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::hash::{canonical_json, config_hash};
    use super::*;

    #[test]
    fn reasons_name_the_config_keys() {
        assert_eq!(config_key("mounts"), "volumes");
        assert_eq!(config_key("stop_timeout"), "stop_grace_period");
        assert_eq!(
            config_key("healthcheck.interval_ns"),
            "healthcheck.interval"
        );
        assert_eq!(config_key("healthcheck.test"), "healthcheck.test");
        assert_eq!(
            config_key("environment.DATABASE_URL"),
            "environment.DATABASE_URL"
        );
    }

    fn desired(service: &str, env: &[(&str, &str)]) -> Desired {
        let mut spec = ContainerSpec {
            image: "busybox".into(),
            ..ContainerSpec::default()
        };
        for (k, v) in env {
            spec.environment.insert((*k).into(), (*v).into());
        }
        Desired {
            service: service.into(),
            container_name: format!("p-{service}-1"),
            hash: config_hash(&spec),
            spec,
            image_id: Some("sha256:img".into()),
        }
    }

    fn actual_of(d: &Desired, running: bool) -> Actual {
        Actual {
            id: format!("id-{}", d.service),
            name: format!("/{}", d.container_name),
            service: d.service.clone(),
            hash: d.hash.clone(),
            config_json: Some(canonical_json(&d.spec)),
            image_id: "sha256:img".into(),
            running,
            oneoff: false,
        }
    }

    fn known(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    fn changes(plan: &Plan) -> Vec<(String, Change)> {
        plan.layers
            .iter()
            .flatten()
            .map(|a| (a.service.clone(), a.change.clone()))
            .collect()
    }

    #[test]
    fn table() {
        let db = desired("db", &[]);
        let web = desired("web", &[("DATABASE_URL", "mysql://db/app")]);
        let web_changed = desired("web", &[("DATABASE_URL", "mysql://db/other")]);
        let layers = vec![vec![db.clone()], vec![web.clone()]];
        let mut img_changed = actual_of(&web, true);
        img_changed.image_id = "sha256:old".into();
        let oneoff = Actual {
            oneoff: true,
            ..actual_of(&web, true)
        };
        // (name, desired layers, actual containers, --force-recreate, expected changes)
        type Case = (
            &'static str,
            Vec<Vec<Desired>>,
            Vec<Actual>,
            bool,
            Vec<(String, Change)>,
        );
        let cases: Vec<Case> = vec![
            (
                "nothing exists",
                layers.clone(),
                vec![],
                false,
                vec![
                    ("db".into(), Change::Create),
                    ("web".into(), Change::Create),
                ],
            ),
            (
                "all running and unchanged",
                layers.clone(),
                vec![actual_of(&db, true), actual_of(&web, true)],
                false,
                vec![("db".into(), Change::Keep), ("web".into(), Change::Keep)],
            ),
            (
                "stopped container",
                layers.clone(),
                vec![actual_of(&db, false), actual_of(&web, true)],
                false,
                vec![("db".into(), Change::Start), ("web".into(), Change::Keep)],
            ),
            (
                "changed environment",
                vec![vec![db.clone()], vec![web_changed.clone()]],
                vec![actual_of(&db, true), actual_of(&web, true)],
                false,
                vec![
                    ("db".into(), Change::Keep),
                    (
                        "web".into(),
                        Change::Recreate(vec!["environment.DATABASE_URL changed".into()]),
                    ),
                ],
            ),
            (
                "changed image",
                layers.clone(),
                vec![actual_of(&db, true), img_changed],
                false,
                vec![
                    ("db".into(), Change::Keep),
                    ("web".into(), Change::Recreate(vec!["image changed".into()])),
                ],
            ),
            (
                "force",
                vec![vec![db.clone()]],
                vec![actual_of(&db, true)],
                true,
                vec![(
                    "db".into(),
                    Change::Recreate(vec!["--force-recreate".into()]),
                )],
            ),
            (
                "one-off containers are not the service's container",
                vec![vec![web.clone()]],
                vec![oneoff],
                false,
                vec![("web".into(), Change::Create)],
            ),
        ];
        for (name, layers, actual, force, want) in cases {
            let plan = diff(&layers, &actual, &known(&["db", "web"]), force);
            assert_eq!(changes(&plan), want, "{name}");
        }
    }

    #[test]
    fn layers_keep_their_order() {
        let plan = diff(
            &[vec![desired("db", &[])], vec![desired("web", &[])]],
            &[],
            &known(&["db", "web"]),
            false,
        );
        assert_eq!(plan.layers.len(), 2);
        assert_eq!(plan.layers[0][0].service, "db");
        assert_eq!(plan.layers[1][0].service, "web");
    }

    #[test]
    fn orphans_are_services_gone_from_the_config() {
        let old = desired("old", &[]);
        let web = desired("web", &[]);
        let plan = diff(
            &[vec![web.clone()]],
            &[actual_of(&old, true), actual_of(&web, true)],
            &known(&["web"]),
            false,
        );
        assert_eq!(plan.orphans, vec![("old".to_owned(), "id-old".to_owned())]);
        assert!(plan.is_noop());
    }

    #[test]
    fn unselected_services_are_not_orphans() {
        let db = desired("db", &[]);
        let web = desired("web", &[]);
        let plan = diff(
            &[vec![web.clone()]],
            &[actual_of(&db, true), actual_of(&web, true)],
            &known(&["db", "web"]),
            false,
        );
        assert!(plan.orphans.is_empty());
    }

    #[test]
    fn several_changed_fields_are_all_named() {
        let mut new = desired("web", &[("A", "1")]);
        new.spec.user = Some("app".into());
        new.hash = config_hash(&new.spec);
        let old = desired("web", &[("A", "2"), ("B", "x")]);
        let plan = diff(
            &[vec![new]],
            &[actual_of(&old, true)],
            &known(&["web"]),
            false,
        );
        assert_eq!(
            changes(&plan),
            vec![(
                "web".into(),
                Change::Recreate(vec![
                    "environment.A changed".into(),
                    "environment.B changed".into(),
                    "user changed".into()
                ])
            )]
        );
    }
}
