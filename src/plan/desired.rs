//! The desired state: each service's container name and resolved container spec.

use crate::config::model::{MountType, Project, Service};

use super::spec::{ContainerSpec, HealthSpec, MountKind, MountSpec, PortSpec};

/// Where a published port binds when the config names no address: loopback, so a database
/// port is never exposed on a café's Wi-Fi (compose binds 0.0.0.0).
pub const DEFAULT_HOST_IP: &str = "127.0.0.1";

/// The image a service runs: `image:` if given, else the one devenv builds for it.
pub fn image_name(project: &Project, service: &str, s: &Service) -> String {
    s.image
        .clone()
        .unwrap_or_else(|| format!("{}-{}", project.name, service))
}

/// Compose v2's naming, so users feel at home: `<project>-<service>-1`.
pub fn container_name(project: &Project, service: &str, s: &Service) -> String {
    s.container_name
        .clone()
        .unwrap_or_else(|| format!("{}-{}-1", project.name, service))
}

fn nanos(d: Option<std::time::Duration>) -> Option<i64> {
    d.map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Resolves one service into the spec the engine will be given. Lists whose order does not
/// matter to the container are sorted, so reordering them in the file changes nothing.
pub fn container_spec(project: &Project, service: &str) -> Option<ContainerSpec> {
    let s = project.services.get(service)?;
    let mut mounts: Vec<MountSpec> = s
        .volumes
        .iter()
        .map(|m| MountSpec {
            kind: match m.kind {
                MountType::Bind => MountKind::Bind,
                MountType::Volume => MountKind::Volume,
                MountType::Tmpfs => MountKind::Tmpfs,
            },
            source: match m.kind {
                MountType::Volume => m.source.as_ref().map(|key| {
                    project
                        .volumes
                        .get(key)
                        .map_or_else(|| key.clone(), |v| v.name.clone())
                }),
                _ => m.source.clone(),
            },
            target: m.target.clone(),
            read_only: m.read_only,
            nocopy: m.nocopy,
        })
        .collect();
    mounts.sort_by(|a, b| a.target.cmp(&b.target));
    let mut ports: Vec<PortSpec> = s
        .ports
        .iter()
        .map(|p| PortSpec {
            host_ip: p
                .host_ip
                .clone()
                .unwrap_or_else(|| DEFAULT_HOST_IP.to_owned()),
            host_port: p.published.clone(),
            container_port: p.target,
            protocol: p.protocol.clone(),
        })
        .collect();
    ports.sort_by(|a, b| {
        (a.container_port, &a.protocol, &a.host_ip, &a.host_port).cmp(&(
            b.container_port,
            &b.protocol,
            &b.host_ip,
            &b.host_port,
        ))
    });
    let sorted = |v: &Vec<String>| {
        let mut v = v.clone();
        v.sort();
        v
    };
    let networks = s
        .networks
        .iter()
        .map(|(key, n)| {
            let name = project
                .networks
                .get(key)
                .map_or_else(|| format!("{}_{key}", project.name), |net| net.name.clone());
            let mut aliases = vec![service.to_owned()];
            aliases.extend(n.aliases.iter().cloned());
            (name, aliases)
        })
        .collect();
    Some(ContainerSpec {
        image: image_name(project, service, s),
        command: s.command.clone(),
        entrypoint: s.entrypoint.clone(),
        environment: s
            .environment
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.clone()?)))
            .collect(),
        labels: s.labels.clone(),
        mounts,
        ports,
        tmpfs: sorted(&s.tmpfs),
        working_dir: s.working_dir.clone(),
        user: s.user.clone(),
        tty: s.tty,
        stdin_open: s.stdin_open,
        init: s.init,
        stop_signal: s.stop_signal.clone(),
        stop_timeout: s.stop_grace_period.map(|d| d.as_secs() as i64),
        restart: s.restart.clone(),
        extra_hosts: s.extra_hosts.clone(),
        hostname: s.hostname.clone(),
        healthcheck: s.healthcheck.as_ref().map(|h| HealthSpec {
            test: h.test.clone(),
            interval_ns: nanos(h.interval),
            timeout_ns: nanos(h.timeout),
            retries: h.retries.map(i64::from),
            start_period_ns: nanos(h.start_period),
        }),
        shm_size: s.shm_size,
        ulimits: s
            .ulimits
            .iter()
            .map(|(k, u)| (k.clone(), (u.soft, u.hard)))
            .collect(),
        cap_add: sorted(&s.cap_add),
        cap_drop: sorted(&s.cap_drop),
        privileged: s.privileged,
        platform: s.platform.clone(),
        networks,
    })
}
