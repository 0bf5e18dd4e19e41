//! `devenv config`: the resolved config, its services, volumes or hashes.

use crate::cli::{ConfigArgs, Format, GlobalArgs};
use crate::error::Error;
use crate::plan::{desired, hash, order};
use crate::ui;

pub fn run(global: &GlobalArgs, args: &ConfigArgs) -> Result<(), Error> {
    let loaded = super::load_project(global)?;
    // As compose shows it: the services `up` would start, not those behind a profile that is
    // off. `--hash` still answers for any service named.
    let mut project = loaded.project.clone();
    let enabled = super::session::default_services(&project);
    project.services.retain(|name, _| enabled.contains(name));
    let project = &project;
    if args.services {
        ui::lines(order::ordered(project));
        return Ok(());
    }
    if args.volumes {
        ui::lines(project.volumes.keys().cloned());
        return Ok(());
    }
    if let Some(names) = &args.hash {
        let all = &loaded.project;
        let names: Vec<String> = if names.iter().any(|n| n == "*") {
            all.services.keys().cloned().collect()
        } else {
            names.clone()
        };
        let mut out = Vec::new();
        for name in names {
            super::session::check_names(all, std::slice::from_ref(&name))?;
            let Some(spec) = desired::container_spec(all, &name) else {
                continue;
            };
            out.push(format!("{name} {}", hash::config_hash(&spec)));
        }
        ui::lines(out);
        return Ok(());
    }
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(project)
            .map(|s| s + "\n")
            .map_err(|e| e.to_string()),
        Format::Yaml => serde_saphyr::to_string(project).map_err(|e| e.to_string()),
    };
    let text = text.map_err(|e| Error::failed(format!("cannot print the config: {e}")))?;
    ui::print(&text);
    Ok(())
}
