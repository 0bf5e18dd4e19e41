//! Dependency order: services grouped into layers, each layer depending only on earlier ones.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::model::Project;

/// The services to act on: `selected` (all when empty) plus, unless `no_deps`, everything they
/// depend on, transitively.
pub fn with_dependencies(
    project: &Project,
    selected: &[String],
    no_deps: bool,
) -> BTreeSet<String> {
    if selected.is_empty() {
        return project.services.keys().cloned().collect();
    }
    let mut out = BTreeSet::new();
    let mut todo: Vec<String> = selected.to_vec();
    while let Some(name) = todo.pop() {
        if !out.insert(name.clone()) || no_deps {
            continue;
        }
        if let Some(s) = project.services.get(&name) {
            todo.extend(s.depends_on.keys().cloned());
        }
    }
    out
}

/// Groups `services` into layers: a service sits one layer above its deepest dependency.
/// Names within a layer are sorted. The config loader has already rejected cycles; a cycle that
/// slips through still terminates, its members landing in the last layer.
pub fn layers(project: &Project, services: &BTreeSet<String>) -> Vec<Vec<String>> {
    let mut depth: BTreeMap<&str, usize> = BTreeMap::new();
    let mut remaining: Vec<&str> = services.iter().map(String::as_str).collect();
    while !remaining.is_empty() {
        let before = remaining.len();
        remaining.retain(|name| {
            let deps: Vec<&str> = project.services[*name]
                .depends_on
                .keys()
                .map(String::as_str)
                .filter(|d| services.contains(*d))
                .collect();
            if deps.iter().all(|d| depth.contains_key(d)) {
                let d = deps.iter().map(|d| depth[d] + 1).max().unwrap_or(0);
                depth.insert(name, d);
                false
            } else {
                true
            }
        });
        if remaining.len() == before {
            let last = depth.values().max().map_or(0, |d| d + 1);
            for name in remaining.drain(..) {
                depth.insert(name, last);
            }
        }
    }
    let mut out: Vec<Vec<String>> = Vec::new();
    for (name, d) in depth {
        if out.len() <= d {
            out.resize(d + 1, Vec::new());
        }
        out[d].push(name.to_owned());
    }
    out
}

/// All services in dependency order, as `config --services` prints them.
pub fn ordered(project: &Project) -> Vec<String> {
    let all = project.services.keys().cloned().collect();
    layers(project, &all).into_iter().flatten().collect()
}
