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

/// "3 minutes", "2 hours": how long ago a Unix time was.
fn age(created: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(created);
    let secs = (now - created).max(0);
    let (n, unit) = match secs {
        0..60 => (secs, "second"),
        60..3600 => (secs / 60, "minute"),
        3600..86400 => (secs / 3600, "hour"),
        _ => (secs / 86400, "day"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
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
                age(c.created)
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
