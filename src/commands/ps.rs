//! `devenv ps`: the project's containers as a table or JSON.

use serde::Serialize;

use super::session::Session;
use crate::cli::{GlobalArgs, PsArgs};
use crate::engine::{ContainerInfo, Health};
use crate::error::Error;
use crate::ui;

#[derive(Serialize)]
struct Row<'a> {
    id: &'a str,
    name: &'a str,
    service: &'a str,
    state: &'a str,
    health: Option<&'a str>,
    exit_code: Option<i64>,
    image: &'a str,
    status: &'a str,
    created: i64,
    ports: Vec<PortRow<'a>>,
}

#[derive(Serialize)]
struct PortRow<'a> {
    host_ip: &'a str,
    host_port: u16,
    container_port: u16,
    protocol: &'a str,
}

fn health_name(h: Option<Health>) -> Option<&'static str> {
    h.map(|h| match h {
        Health::Starting => "starting",
        Health::Healthy => "healthy",
        Health::Unhealthy => "unhealthy",
    })
}

fn row(c: &ContainerInfo) -> Row<'_> {
    Row {
        id: &c.id,
        name: &c.name,
        service: &c.service,
        state: c.state.as_str(),
        health: health_name(c.health),
        exit_code: c.exit_code,
        image: &c.image,
        status: &c.status,
        created: c.created,
        ports: c
            .ports
            .iter()
            .map(|p| PortRow {
                host_ip: &p.host_ip,
                host_port: p.host_port,
                container_port: p.container_port,
                protocol: &p.protocol,
            })
            .collect(),
    }
}

/// How long a running container has run since it was last started, from the engine's
/// status text (`Up 3 minutes (healthy)` gives `3 minutes`); the creation time would count
/// from before a `stop` and `start`.
fn running_for(status: &str) -> String {
    let Some(up) = status.strip_prefix("Up ") else {
        return "-".to_owned();
    };
    let up = up.split(" (").next().unwrap_or(up);
    let mut chars = up.chars();
    match chars.next() {
        // "About a minute", "Less than a second" read better in lower case in a column.
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => "-".to_owned(),
    }
}

pub async fn run(global: &GlobalArgs, args: &PsArgs) -> Result<(), Error> {
    let session = Session::open(global).await?;
    let containers = session.containers(args.all, false).await?;
    if args.json {
        let rows: Vec<Row> = containers.iter().map(row).collect();
        let text = serde_json::to_string_pretty(&rows)
            .map_err(|e| Error::failed(format!("cannot print JSON: {e}")))?;
        ui::print(&(text + "\n"));
        return Ok(());
    }
    let rows: Vec<Vec<String>> = containers
        .iter()
        .map(|c| {
            let ports = c
                .ports
                .iter()
                .map(|p| {
                    format!(
                        "{}:{}->{}/{}",
                        p.host_ip, p.host_port, p.container_port, p.protocol
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            let state = match c.exit_code {
                Some(code) => format!("{} ({code})", c.state.as_str()),
                None => c.state.as_str().to_owned(),
            };
            let running_for = if c.state == crate::engine::ContainerState::Running {
                running_for(&c.status)
            } else {
                "-".to_owned()
            };
            vec![
                c.service.clone(),
                c.name.clone(),
                state,
                health_name(c.health).unwrap_or("").to_owned(),
                ports,
                c.image.clone(),
                running_for,
            ]
        })
        .collect();
    ui::print(&ui::table::render(
        &[
            "SERVICE",
            "CONTAINER",
            "STATE",
            "HEALTH",
            "PORTS",
            "IMAGE",
            "RUNNING FOR",
        ],
        &rows,
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::running_for;

    #[test]
    fn running_for_counts_from_the_last_start() {
        assert_eq!(running_for("Up 3 minutes (healthy)"), "3 minutes");
        assert_eq!(running_for("Up About a minute"), "about a minute");
        assert_eq!(running_for("Up Less than a second"), "less than a second");
        assert_eq!(running_for("Exited (1) 2 seconds ago"), "-");
        assert_eq!(running_for("Up "), "-");
    }
}
