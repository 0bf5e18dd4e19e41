//! Decoding the merged YAML tree into the typed `Project`, checking every key and value on the
//! way and collecting every problem with its position instead of stopping at the first.

use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use super::diagnostic::{Diagnostic, Sources, Span, did_you_mean};
use super::model::*;
use super::syntax;
use super::yaml::{Node, Value};

const TOP_KEYS: &[&str] = &[
    "version", "name", "services", "volumes", "networks", "watch",
];
const TOP_UNIMPLEMENTED: &[&str] = &["secrets", "configs", "include", "models"];

const SERVICE_KEYS: &[&str] = &[
    "image",
    "build",
    "command",
    "entrypoint",
    "environment",
    "env_file",
    "ports",
    "volumes",
    "tmpfs",
    "depends_on",
    "healthcheck",
    "working_dir",
    "user",
    "tty",
    "stdin_open",
    "init",
    "stop_signal",
    "stop_grace_period",
    "restart",
    "labels",
    "profiles",
    "extra_hosts",
    "hostname",
    "container_name",
    "platform",
    "pull_policy",
    "shm_size",
    "ulimits",
    "cap_add",
    "cap_drop",
    "privileged",
    "networks",
    "develop",
];
/// Compose keys devenv knows but does not apply: each gets a warning, never silence.
const SERVICE_UNIMPLEMENTED: &[&str] = &[
    "deploy",
    "secrets",
    "configs",
    "logging",
    "network_mode",
    "pid",
    "ipc",
    "security_opt",
    "sysctls",
    "devices",
    "dns",
    "dns_search",
    "dns_opt",
    "expose",
    "links",
    "external_links",
    "cgroup",
    "cgroup_parent",
    "mem_limit",
    "memswap_limit",
    "mem_reservation",
    "mem_swappiness",
    "cpus",
    "cpu_shares",
    "cpu_quota",
    "cpu_period",
    "cpuset",
    "cpu_count",
    "cpu_percent",
    "cpu_rt_runtime",
    "cpu_rt_period",
    "oom_score_adj",
    "oom_kill_disable",
    "storage_opt",
    "userns_mode",
    "volumes_from",
    "domainname",
    "mac_address",
    "isolation",
    "runtime",
    "scale",
    "attach",
    "annotations",
    "blkio_config",
    "device_cgroup_rules",
    "group_add",
    "label_file",
    "post_start",
    "pre_stop",
    "read_only",
    "pids_limit",
    "uts",
    "credential_spec",
    "gpus",
    "extends",
    "stop_grace_period_seconds",
    "models",
    "provider",
    "use_api_socket",
];

/// What decoding needs from outside the tree.
pub struct Context<'a> {
    pub project_name: &'a str,
    pub project_dir: &'a Path,
    /// Variable lookup (process environment over `.env`), for `environment` entries named
    /// without a value.
    pub lookup: &'a dyn Fn(&str) -> Option<String>,
}

pub struct Decoder<'a> {
    ctx: Context<'a>,
    sources: &'a Sources,
    pub diagnostics: Vec<Diagnostic>,
    service_names: Vec<String>,
    /// Where each `depends_on` entry is written, to place cycle errors.
    dependency_spans: HashMap<(String, String), Span>,
    /// First publication of each host address, to catch a port published twice.
    published: HashMap<(String, u16, String), String>,
}

/// Normalizes `a/./b/../c` without touching the filesystem: the path may not exist yet.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

impl<'a> Decoder<'a> {
    pub fn new(ctx: Context<'a>, sources: &'a Sources) -> Decoder<'a> {
        Decoder {
            ctx,
            sources,
            diagnostics: Vec::new(),
            service_names: Vec::new(),
            dependency_spans: HashMap::new(),
            published: HashMap::new(),
        }
    }

    /// The caret span of a node: the width of its text where the source shows it.
    pub fn span(&self, node: &Node) -> Option<Span> {
        if node.pos.line == 0 {
            return None;
        }
        let mut width = 1;
        if let Some(text) = node.scalar_text() {
            let line = self
                .sources
                .line(node.pos.file as usize, node.pos.line as usize)
                .unwrap_or("");
            let rest: String = line.chars().skip(node.pos.col as usize - 1).collect();
            let len = text.chars().count();
            if rest.starts_with('"') || rest.starts_with('\'') {
                // Quoted: underline the quotes too, unless interpolation changed the text.
                let quote = rest.chars().next().unwrap_or('"');
                width = rest[1..].find(quote).map_or(1, |end| end + 2);
            } else if rest.starts_with(&text) {
                width = len.max(1);
            }
        }
        Some(Span {
            pos: node.pos,
            width,
        })
    }

    fn error(&mut self, node: &Node, message: impl Into<String>) {
        let d = Diagnostic::error(message).at(self.span(node));
        self.diagnostics.push(d);
    }

    fn error_hint(&mut self, node: &Node, message: impl Into<String>, hint: impl Into<String>) {
        let d = Diagnostic::error(message).at(self.span(node)).hint(hint);
        self.diagnostics.push(d);
    }

    // ----- scalar helpers: each reports its own error and returns None -----

    fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match node.scalar_text() {
            Some(s) => Some(s),
            None => {
                self.error(
                    node,
                    format!("{what} must be a string, found {}", node.kind()),
                );
                None
            }
        }
    }

    fn boolean(&mut self, node: &Node, what: &str) -> Option<bool> {
        match &node.value {
            Value::Bool(b) => Some(*b),
            // Interpolated values arrive as strings.
            Value::Str(s) if s == "true" => Some(true),
            Value::Str(s) if s == "false" => Some(false),
            _ => {
                self.error(
                    node,
                    format!("{what} must be true or false, found {}", describe(node)),
                );
                None
            }
        }
    }

    fn integer(&mut self, node: &Node, what: &str) -> Option<i64> {
        match &node.value {
            Value::Int(i) => Some(*i),
            Value::Str(s) if s.trim().parse::<i64>().is_ok() => s.trim().parse().ok(),
            _ => {
                self.error(
                    node,
                    format!("{what} must be a whole number, found {}", describe(node)),
                );
                None
            }
        }
    }

    fn duration(&mut self, node: &Node, what: &str) -> Option<Duration> {
        let text = self.string(node, what)?;
        match syntax::parse_duration(&text) {
            Ok(d) => Some(d),
            Err(e) => {
                self.error(node, format!("{what}: {e}"));
                None
            }
        }
    }

    /// A string or a list of strings, as `env_file`, `tmpfs`, `profiles` and globs allow.
    fn string_list(&mut self, node: &Node, what: &str) -> Vec<String> {
        match &node.value {
            Value::Seq(items) => items.iter().filter_map(|i| self.string(i, what)).collect(),
            Value::Null => Vec::new(),
            _ => self.string(node, what).into_iter().collect(),
        }
    }

    /// `command` and `entrypoint`: a list is taken as is, a string is split like a shell would.
    fn command(&mut self, node: &Node, what: &str) -> Option<Vec<String>> {
        match &node.value {
            Value::Seq(items) => Some(items.iter().filter_map(|i| self.string(i, what)).collect()),
            Value::Null => None,
            Value::Map(_) => {
                self.error(
                    node,
                    format!("{what} must be a string or a list, found a mapping"),
                );
                None
            }
            _ => {
                let text = self.string(node, what)?;
                match syntax::shell_split(&text) {
                    Ok(words) => Some(words),
                    Err(e) => {
                        self.error(node, format!("{what} {e}"));
                        None
                    }
                }
            }
        }
    }

    /// A mapping, or a list of `KEY=value` strings (`environment`, `labels`, `args`).
    /// A list entry without `=`, or a null map value, gives `None`.
    fn key_values(&mut self, node: &Node, what: &str) -> Vec<(String, Option<String>, Node)> {
        let mut out = Vec::new();
        match &node.value {
            Value::Map(entries) => {
                for (k, v) in entries {
                    let Some(key) = self.string(k, what) else {
                        continue;
                    };
                    let value = match &v.value {
                        Value::Null => None,
                        Value::Seq(_) | Value::Map(_) => {
                            self.error_hint(
                                v,
                                format!(
                                    "{what}: `{key}` must be a string, number or boolean, found {}",
                                    v.kind()
                                ),
                                "quote the value, or write it on one line",
                            );
                            continue;
                        }
                        _ => v.scalar_text(),
                    };
                    out.push((key, value, k.clone()));
                }
            }
            Value::Seq(items) => {
                for item in items {
                    let Some(text) = self.string(item, what) else {
                        continue;
                    };
                    match text.split_once('=') {
                        Some((k, v)) => out.push((k.to_owned(), Some(v.to_owned()), item.clone())),
                        None => out.push((text, None, item.clone())),
                    }
                }
            }
            Value::Null => {}
            _ => self.error(
                node,
                format!(
                    "{what} must be a mapping or a list of `KEY=value`, found {}",
                    node.kind()
                ),
            ),
        }
        out
    }

    fn string_map(&mut self, node: &Node, what: &str) -> BTreeMap<String, String> {
        self.key_values(node, what)
            .into_iter()
            .map(|(k, v, _)| (k, v.unwrap_or_default()))
            .collect()
    }

    /// Walks a mapping's keys: known ones go to `each`, `x-*` are skipped, known-but-unapplied
    /// compose keys warn, and anything else is an error with a did-you-mean.
    fn fields<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        known: &[&str],
        unimplemented: &[&str],
    ) -> Vec<(&'n str, &'n Node, &'n Node)> {
        let Some(entries) = node.as_map() else {
            if !matches!(node.value, Value::Null) {
                self.error(
                    node,
                    format!("{what} must be a mapping, found {}", node.kind()),
                );
            }
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in entries {
            let Value::Str(key) = &k.value else {
                self.error(
                    k,
                    format!("keys in {what} must be strings, found {}", k.kind()),
                );
                continue;
            };
            if known.contains(&key.as_str()) {
                out.push((key.as_str(), k, v));
            } else if key.starts_with("x-") {
            } else if unimplemented.contains(&key.as_str()) {
                let d = Diagnostic::warning(format!(
                    "`{key}` in {what} is not supported by devenv and is ignored"
                ))
                .at(self.span(k));
                self.diagnostics.push(d);
            } else {
                let candidates = known.iter().chain(unimplemented).copied();
                match did_you_mean(key, candidates) {
                    Some(s) => self.error_hint(
                        k,
                        format!("unknown key `{key}` in {what}"),
                        format!("did you mean `{s}`?"),
                    ),
                    None => self.error_hint(
                        k,
                        format!("unknown key `{key}` in {what}"),
                        format!("expected one of: {}", known.join(", ")),
                    ),
                }
            }
        }
        out
    }

    fn check_service_ref(&mut self, node: &Node, name: &str, what: &str) -> bool {
        if self.service_names.iter().any(|s| s == name) {
            return true;
        }
        let hint = match did_you_mean(name, self.service_names.iter().map(String::as_str)) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("the services are: {}", self.service_names.join(", ")),
        };
        self.error_hint(node, format!("{what} names unknown service `{name}`"), hint);
        false
    }

    // ----- the project -----

    pub fn project(&mut self, root: &Node) -> Project {
        let mut project = Project {
            name: self.ctx.project_name.to_owned(),
            dir: self.ctx.project_dir.to_owned(),
            ..Project::default()
        };
        if matches!(root.value, Value::Null) {
            self.error_hint(
                root,
                "the config is empty",
                "define at least one service under `services:`",
            );
            return project;
        }
        let fields = self.fields(root, "the top level", TOP_KEYS, TOP_UNIMPLEMENTED);
        if let Some((_, _, services)) = fields.iter().find(|(k, _, _)| *k == "services")
            && let Some(entries) = services.as_map()
        {
            self.service_names = entries
                .iter()
                .filter_map(|(k, _)| k.scalar_text())
                .collect();
        }
        let mut services_node = None;
        let mut develop_rules = Vec::new();
        for (key, knode, value) in &fields {
            match *key {
                "volumes" => project.volumes = self.top_volumes(value),
                "networks" => project.networks = self.top_networks(value),
                "services" => services_node = Some((*knode, *value)),
                _ => {}
            }
        }
        // Services come after volumes and networks so references to them can be checked.
        // "No services" only when nothing else is wrong: after a typo (`servces:`) or a
        // document that is no mapping, it would restate that error less clearly.
        let clean = !self.diagnostics.iter().any(Diagnostic::is_error);
        let Some((services_key, services)) = services_node else {
            if clean {
                self.error_hint(
                    root,
                    "the config defines no services",
                    "add a `services:` mapping",
                );
            }
            return project;
        };
        match &services.value {
            Value::Map(entries) if !entries.is_empty() => {
                for (k, v) in entries {
                    let Some(name) = self.string(k, "a service name") else {
                        continue;
                    };
                    if name.is_empty()
                        || !name
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
                    {
                        self.error(k, format!("service name `{name}` may only hold letters, digits, `.`, `_` and `-`"));
                        continue;
                    }
                    let service = self.service(&name, k, v, &project, &mut develop_rules);
                    project.services.insert(name, service);
                }
            }
            Value::Map(_) | Value::Null => self.error_hint(
                services_key,
                "the config defines no services",
                "add a `services:` mapping",
            ),
            _ => self.error_hint(
                services,
                format!(
                    "`services` must be a mapping of service names, found {}",
                    services.kind()
                ),
                "write `services:`, then each service as an indented `name:` with its keys",
            ),
        }
        if let Some((_, _, watch)) = fields.iter().find(|(k, _, _)| *k == "watch") {
            project.watch = self.watch_rules(watch);
        }
        project.watch.extend(develop_rules);
        if project
            .services
            .values()
            .any(|s| s.networks.contains_key("default"))
            && !project.networks.contains_key("default")
        {
            project.networks.insert(
                "default".into(),
                Network {
                    name: format!("{}_default", project.name),
                    ..Network::default()
                },
            );
        }
        self.check_cycles(&project);
        project
    }

    fn top_volumes(&mut self, node: &Node) -> BTreeMap<String, Volume> {
        self.top_objects(node, "volume")
            .into_iter()
            .map(|(k, (name, external, driver, labels))| {
                (
                    k,
                    Volume {
                        name,
                        external,
                        driver,
                        labels,
                    },
                )
            })
            .collect()
    }

    fn top_networks(&mut self, node: &Node) -> BTreeMap<String, Network> {
        self.top_objects(node, "network")
            .into_iter()
            .map(|(k, (name, external, driver, labels))| {
                (
                    k,
                    Network {
                        name,
                        external,
                        driver,
                        labels,
                    },
                )
            })
            .collect()
    }

    /// Top-level `volumes:` and `networks:` share one shape: name, external, driver, labels.
    #[allow(clippy::type_complexity)]
    fn top_objects(
        &mut self,
        node: &Node,
        kind: &str,
    ) -> BTreeMap<String, (String, bool, Option<String>, BTreeMap<String, String>)> {
        let mut out = BTreeMap::new();
        let Some(entries) = node.as_map() else {
            if !matches!(node.value, Value::Null) {
                self.error(
                    node,
                    format!(
                        "top-level `{kind}s` must be a mapping, found {}",
                        node.kind()
                    ),
                );
            }
            return out;
        };
        for (k, v) in entries {
            let Some(key) = self.string(k, &format!("a {kind} name")) else {
                continue;
            };
            let what = format!("{kind} `{key}`");
            let mut name = None;
            let mut external = false;
            let mut driver = None;
            let mut labels = BTreeMap::new();
            let unimplemented: &[&str] = &[
                "driver_opts",
                "ipam",
                "internal",
                "attachable",
                "enable_ipv6",
                "enable_ipv4",
            ];
            for (field, _, value) in self.fields(
                v,
                &what,
                &["name", "external", "driver", "labels"],
                unimplemented,
            ) {
                match field {
                    "name" => name = self.string(value, &format!("`name` of {what}")),
                    "external" => match &value.value {
                        // The old `external: {name: x}` form.
                        Value::Map(_) => {
                            external = true;
                            if let Some(n) = value.get("name") {
                                name = self.string(n, &format!("`external.name` of {what}"));
                            }
                        }
                        _ => {
                            external = self
                                .boolean(value, &format!("`external` of {what}"))
                                .unwrap_or(false)
                        }
                    },
                    "driver" => driver = self.string(value, &format!("`driver` of {what}")),
                    "labels" => labels = self.string_map(value, &format!("label of {what}")),
                    _ => {}
                }
            }
            let name = match (name, external) {
                (Some(n), _) => n,
                (None, true) => key.clone(),
                (None, false) => format!("{}_{}", self.ctx.project_name, key),
            };
            out.insert(key, (name, external, driver, labels));
        }
        out
    }

    fn service(
        &mut self,
        name: &str,
        name_node: &Node,
        node: &Node,
        project: &Project,
        develop_rules: &mut Vec<WatchRule>,
    ) -> Service {
        let mut s = Service::default();
        let what = format!("service `{name}`");
        let mut env_files: Vec<(String, Node, bool)> = Vec::new();
        let mut environment = Vec::new();
        for (key, _, v) in self.fields(node, &what, SERVICE_KEYS, SERVICE_UNIMPLEMENTED) {
            let field = format!("`{key}` of {what}");
            match key {
                "image" => s.image = self.string(v, &field),
                "build" => s.build = self.build(v, &what),
                "command" => s.command = self.command(v, &field),
                "entrypoint" => s.entrypoint = self.command(v, &field),
                "environment" => {
                    environment = self.key_values(v, &format!("`environment` of {what}"))
                }
                "env_file" => {
                    let items: Vec<&Node> = match &v.value {
                        Value::Seq(items) => items.iter().collect(),
                        _ => vec![v],
                    };
                    for item in items {
                        // The long form `{path, required}`: an optional file may be missing.
                        let path_node = item.get("path").unwrap_or(item);
                        let required = match item.get("required") {
                            Some(r) => self.boolean(r, &field).unwrap_or(true),
                            None => true,
                        };
                        if let Some(p) = self.string(path_node, &field) {
                            env_files.push((p, path_node.clone(), required));
                        }
                    }
                }
                "ports" => s.ports = self.ports(v, name),
                "volumes" => s.volumes = self.mounts(v, &what, project),
                "tmpfs" => s.tmpfs = self.string_list(v, &field),
                "depends_on" => s.depends_on = self.depends_on(v, name),
                "healthcheck" => s.healthcheck = self.healthcheck(v, &what),
                "working_dir" => s.working_dir = self.string(v, &field),
                "user" => s.user = self.string(v, &field),
                "tty" => s.tty = self.boolean(v, &field).unwrap_or(false),
                "stdin_open" => s.stdin_open = self.boolean(v, &field).unwrap_or(false),
                "init" => s.init = self.boolean(v, &field),
                "stop_signal" => s.stop_signal = self.string(v, &field),
                "stop_grace_period" => s.stop_grace_period = self.duration(v, &field),
                "restart" => {
                    if let Some(r) = self.string(v, &field) {
                        let base = r.split(':').next().unwrap_or("");
                        if ["no", "always", "on-failure", "unless-stopped"].contains(&base) {
                            s.restart = Some(r);
                        } else {
                            self.error_hint(
                                v,
                                format!("{field}: `{r}` is not a restart policy"),
                                "use no, always, on-failure[:N] or unless-stopped",
                            );
                        }
                    }
                }
                "labels" => s.labels = self.string_map(v, &format!("label of {what}")),
                "profiles" => s.profiles = self.string_list(v, &field),
                "extra_hosts" => {
                    s.extra_hosts = self
                        .key_values(v, &field)
                        .into_iter()
                        .map(|(k, v, _)| match v {
                            Some(ip) => format!("{k}:{ip}"),
                            None => k.replacen('=', ":", 1),
                        })
                        .collect()
                }
                "hostname" => s.hostname = self.string(v, &field),
                "container_name" => s.container_name = self.string(v, &field),
                "platform" => s.platform = self.string(v, &field),
                "pull_policy" => {
                    s.pull_policy = match self.string(v, &field).as_deref() {
                        Some("always") => Some(PullPolicy::Always),
                        Some("never") => Some(PullPolicy::Never),
                        Some("missing" | "if_not_present") => Some(PullPolicy::Missing),
                        Some("build") => Some(PullPolicy::Build),
                        Some(other) => {
                            self.error_hint(
                                v,
                                format!("{field}: `{other}` is not a pull policy"),
                                "use always, never, missing or build",
                            );
                            None
                        }
                        None => None,
                    }
                }
                "shm_size" => {
                    if let Some(text) = self.string(v, &field) {
                        match syntax::parse_size(&text) {
                            Ok(n) => s.shm_size = Some(n),
                            Err(e) => self.error(v, format!("{field}: {e}")),
                        }
                    }
                }
                "ulimits" => s.ulimits = self.ulimits(v, &what),
                "cap_add" => s.cap_add = self.string_list(v, &field),
                "cap_drop" => s.cap_drop = self.string_list(v, &field),
                "privileged" => s.privileged = self.boolean(v, &field).unwrap_or(false),
                "networks" => s.networks = self.service_networks(v, &what, project),
                "develop" => develop_rules.extend(self.develop(v, name)),
                _ => {}
            }
        }
        // A service that is no mapping has had its error already.
        if s.image.is_none() && node.get("build").is_none() && node.as_map().is_some() {
            self.error_hint(
                name_node,
                format!("{what} has neither `image` nor `build`"),
                "add `image: <name>` or `build: <dir>`",
            );
        }
        for (path, node, required) in env_files {
            for (k, v) in self.env_file(&path, &node, required) {
                s.environment.insert(k, v);
            }
        }
        for (k, v, _) in environment {
            let v = v.or_else(|| (self.ctx.lookup)(&k));
            s.environment.insert(k, v);
        }
        if s.networks.is_empty() {
            s.networks
                .insert("default".into(), ServiceNetwork::default());
        }
        s
    }

    fn env_file(
        &mut self,
        path: &str,
        node: &Node,
        required: bool,
    ) -> Vec<(String, Option<String>)> {
        let full = normalize(&self.ctx.project_dir.join(path));
        if !required && !full.exists() {
            return Vec::new();
        }
        let text = match super::read_text(&full) {
            Ok(t) => t,
            Err(d) => {
                self.error(
                    node,
                    format!("env_file: {}", d.message.trim_start_matches("cannot read ")),
                );
                return Vec::new();
            }
        };
        match super::dotenv::parse(&text, self.ctx.lookup) {
            Ok(pairs) => pairs
                .into_iter()
                .map(|(k, v)| {
                    let v = v.or_else(|| (self.ctx.lookup)(&k));
                    (k, v)
                })
                .collect(),
            Err(e) => {
                self.error_hint(
                    node,
                    format!(
                        "env_file `{}` line {}: {}",
                        full.display(),
                        e.line,
                        e.message
                    ),
                    super::dotenv::LINE_FORMS,
                );
                Vec::new()
            }
        }
    }

    fn build(&mut self, node: &Node, what: &str) -> Option<Build> {
        let mut context = None;
        let mut context_node = node;
        let mut build = Build {
            dockerfile: "Dockerfile".into(),
            ..Build::default()
        };
        if let Some(text) = node.scalar_text() {
            context = Some(text);
        } else {
            let unimplemented: &[&str] = &[
                "cache_from",
                "cache_to",
                "labels",
                "network",
                "shm_size",
                "extra_hosts",
                "ssh",
                "secrets",
                "tags",
                "platforms",
                "no_cache",
                "pull",
                "additional_contexts",
                "isolation",
                "privileged",
                "ulimits",
                "entitlements",
                "dockerfile_inline",
            ];
            let fields = self.fields(
                node,
                &format!("`build` of {what}"),
                &["context", "dockerfile", "args", "target"],
                unimplemented,
            );
            for (key, _, v) in fields {
                match key {
                    "context" => {
                        context = self.string(v, &format!("`build.context` of {what}"));
                        context_node = v;
                    }
                    "dockerfile" => {
                        if let Some(d) = self.string(v, &format!("`build.dockerfile` of {what}")) {
                            build.dockerfile = d;
                        }
                    }
                    "args" => {
                        build.args = self
                            .key_values(v, &format!("`build.args` of {what}"))
                            .into_iter()
                            .filter_map(|(k, v, _)| {
                                let v = v.or_else(|| (self.ctx.lookup)(&k))?;
                                Some((k, v))
                            })
                            .collect()
                    }
                    "target" => build.target = self.string(v, &format!("`build.target` of {what}")),
                    _ => {}
                }
            }
        }
        let context = context.unwrap_or_else(|| ".".into());
        let dir = normalize(&self.ctx.project_dir.join(&context));
        if !dir.is_dir() {
            self.error_hint(
                context_node,
                format!("build context `{context}` of {what} does not exist"),
                format!("expected a directory at {}", dir.display()),
            );
            return None;
        }
        build.context = dir;
        Some(build)
    }

    fn ports(&mut self, node: &Node, service: &str) -> Vec<Port> {
        let Value::Seq(items) = &node.value else {
            let hint = match node.scalar_text() {
                Some(one) => format!(
                    "a list of one: `ports: [\"{one}\"]`, or `- \"{one}\"` on the next line"
                ),
                None => "write `ports:` followed by `- \"127.0.0.1:3000:3000\"` items".to_owned(),
            };
            self.error_hint(
                node,
                format!(
                    "`ports` of service `{service}` must be a list, found {}",
                    node.kind()
                ),
                hint,
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items {
            let parsed = match &item.value {
                Value::Map(_) => self.long_port(item, service),
                _ => match item.scalar_text() {
                    Some(text) => syntax::parse_port(&text).map_err(|e| {
                        self.error_hint(item, format!("port `{text}` of service `{service}` {}", fix_grammar(&e)), "write `[ip:]host:container[/protocol]`, such as `127.0.0.1:3000:3000`");
                    }).ok(),
                    None => {
                        self.error(item, format!("a port of service `{service}` must be a string or a mapping, found {}", item.kind()));
                        None
                    }
                },
            };
            for port in parsed.unwrap_or_default() {
                self.check_published_once(&port, item, service);
                out.push(port);
            }
        }
        out
    }

    fn long_port(&mut self, node: &Node, service: &str) -> Option<Vec<Port>> {
        let what = format!("a port of service `{service}`");
        let mut target = None;
        let mut port = Port {
            host_ip: None,
            target: 0,
            published: None,
            protocol: "tcp".into(),
        };
        let mut ok = true;
        for (key, _, v) in self.fields(
            node,
            &what,
            &[
                "target",
                "published",
                "host_ip",
                "protocol",
                "mode",
                "name",
                "app_protocol",
            ],
            &[],
        ) {
            match key {
                "target" => match v.scalar_text().map(|t| syntax::parse_port(&t)) {
                    Some(Ok(p)) if p.len() == 1 && p[0].published.is_none() => {
                        target = Some(p[0].target)
                    }
                    _ => {
                        self.error(
                            v,
                            format!("`target` of {what} must be a port number (1-65535)"),
                        );
                        ok = false;
                    }
                },
                "published" => {
                    let text = self.string(v, &format!("`published` of {what}"));
                    if let Some(text) = text {
                        match syntax::parse_port(&format!("{text}:1")) {
                            Ok(_) => port.published = Some(text),
                            Err(e) => {
                                self.error(v, format!("`published` of {what}: {}", e));
                                ok = false;
                            }
                        }
                    }
                }
                "host_ip" => {
                    let ip = self.string(v, &format!("`host_ip` of {what}"));
                    if let Some(ip) = ip {
                        if ip.parse::<std::net::IpAddr>().is_err() {
                            self.error(
                                v,
                                format!("`host_ip` `{ip}` of {what} is not an IP address"),
                            );
                            ok = false;
                        }
                        port.host_ip = Some(ip);
                    }
                }
                "protocol" => {
                    if let Some(p) = self.string(v, &format!("`protocol` of {what}")) {
                        if let Err(e) = syntax::check_protocol(&p) {
                            self.error(v, format!("{what}: {e}"));
                            ok = false;
                        }
                        port.protocol = p;
                    }
                }
                _ => {}
            }
        }
        match target {
            Some(t) if ok => {
                port.target = t;
                Some(vec![port])
            }
            None if ok => {
                self.error(node, format!("{what} has no `target`"));
                None
            }
            _ => None,
        }
    }

    fn check_published_once(&mut self, port: &Port, node: &Node, service: &str) {
        let Some(published) = &port.published else {
            return;
        };
        let Ok(number) = published.parse::<u16>() else {
            return;
        };
        let ip = port.host_ip.clone().unwrap_or_else(|| "127.0.0.1".into());
        let key = (ip.clone(), number, port.protocol.clone());
        if let Some(first) = self.published.get(&key).cloned() {
            self.error_hint(
                node,
                format!("host port {ip}:{number}/{} is published twice (by service `{first}` and by service `{service}`)", port.protocol),
                "publish each host port once, or pick another host port",
            );
        } else {
            self.published.insert(key, service.to_owned());
        }
    }

    fn mounts(&mut self, node: &Node, what: &str, project: &Project) -> Vec<Mount> {
        let Value::Seq(items) = &node.value else {
            let hint = match node.scalar_text() {
                Some(one) => format!(
                    "a list of one: `volumes: [\"{one}\"]`, or `- \"{one}\"` on the next line"
                ),
                None => "write `volumes:` followed by `- ./src:/app/src` items".to_owned(),
            };
            self.error_hint(
                node,
                format!("`volumes` of {what} must be a list, found {}", node.kind()),
                hint,
            );
            return Vec::new();
        };
        let mut out: Vec<Mount> = Vec::new();
        for item in items {
            let mount = match &item.value {
                Value::Map(_) => self.long_mount(item, what),
                _ => {
                    match item.scalar_text() {
                        Some(text) => match syntax::parse_volume(&text) {
                            Ok(m) => Some(m),
                            Err(e) => {
                                self.error_hint(item, format!("volume `{text}` of {what} {e}"), "write `./host/path:/container/path[:ro]`, `name:/path` or `/path`");
                                None
                            }
                        },
                        None => {
                            self.error(
                                item,
                                format!(
                                    "a volume of {what} must be a string or a mapping, found {}",
                                    item.kind()
                                ),
                            );
                            None
                        }
                    }
                }
            };
            let Some(mut mount) = mount else { continue };
            match mount.kind {
                MountType::Bind => {
                    if let Some(src) = &mount.source {
                        mount.source = Some(self.host_path(src).display().to_string());
                    }
                }
                MountType::Volume => {
                    if let Some(src) = &mount.source
                        && !project.volumes.contains_key(src)
                    {
                        let hint = match did_you_mean(
                            src,
                            project.volumes.keys().map(String::as_str),
                        ) {
                            Some(s) => format!("did you mean `{s}`?"),
                            None => format!(
                                "declare it under the top-level `volumes:` (`volumes: {{{src}: {{}}}}`)"
                            ),
                        };
                        self.error_hint(
                            item,
                            format!("{what} mounts unknown named volume `{src}`"),
                            hint,
                        );
                    }
                }
                MountType::Tmpfs => {}
            }
            if out.iter().any(|m| m.target == mount.target) {
                self.error(
                    item,
                    format!("{what} mounts two volumes at `{}`", mount.target),
                );
            }
            out.push(mount);
        }
        out
    }

    fn host_path(&self, src: &str) -> PathBuf {
        if let Some(rest) = src.strip_prefix('~')
            && let Some(home) = std::env::var_os("HOME")
        {
            return normalize(&PathBuf::from(home).join(rest.trim_start_matches('/')));
        }
        normalize(&self.ctx.project_dir.join(src))
    }

    fn long_mount(&mut self, node: &Node, what: &str) -> Option<Mount> {
        let w = format!("a volume of {what}");
        let mut kind = None;
        let mut mount = Mount {
            kind: MountType::Volume,
            source: None,
            target: String::new(),
            read_only: false,
            create_host_path: false,
            nocopy: false,
        };
        let mut target_node = node;
        for (key, _, v) in self.fields(
            node,
            &w,
            &[
                "type",
                "source",
                "target",
                "read_only",
                "bind",
                "volume",
                "tmpfs",
                "consistency",
            ],
            &[],
        ) {
            match key {
                "type" => {
                    kind = match self.string(v, &format!("`type` of {w}")).as_deref() {
                        Some("bind") => Some(MountType::Bind),
                        Some("volume") => Some(MountType::Volume),
                        Some("tmpfs") => Some(MountType::Tmpfs),
                        Some(other) => {
                            self.error_hint(
                                v,
                                format!("`type` of {w}: `{other}` is not supported"),
                                "use bind, volume or tmpfs",
                            );
                            return None;
                        }
                        None => return None,
                    }
                }
                "source" => mount.source = self.string(v, &format!("`source` of {w}")),
                "target" => {
                    mount.target = self
                        .string(v, &format!("`target` of {w}"))
                        .unwrap_or_default();
                    target_node = v;
                }
                "read_only" => {
                    mount.read_only = self
                        .boolean(v, &format!("`read_only` of {w}"))
                        .unwrap_or(false)
                }
                "bind" => {
                    for (k, _, b) in self.fields(
                        v,
                        &format!("`bind` of {w}"),
                        &["create_host_path", "propagation", "selinux"],
                        &[],
                    ) {
                        if k == "create_host_path" {
                            mount.create_host_path =
                                self.boolean(b, "`bind.create_host_path`").unwrap_or(false);
                        }
                    }
                }
                "volume" => {
                    for (k, _, b) in
                        self.fields(v, &format!("`volume` of {w}"), &["nocopy", "subpath"], &[])
                    {
                        if k == "nocopy" {
                            mount.nocopy = self.boolean(b, "`volume.nocopy`").unwrap_or(false);
                        }
                    }
                }
                "tmpfs" => {
                    self.fields(v, &format!("`tmpfs` of {w}"), &["size", "mode"], &[]);
                }
                _ => {}
            }
        }
        let Some(kind) = kind else {
            self.error_hint(
                node,
                format!("{w} has no `type`"),
                "add `type: bind`, `type: volume` or `type: tmpfs`",
            );
            return None;
        };
        mount.kind = kind;
        if mount.target.is_empty() {
            self.error(target_node, format!("{w} has an empty target"));
            return None;
        }
        if !mount.target.starts_with('/') {
            self.error(
                target_node,
                format!(
                    "target `{}` of {w} is not an absolute path in the container",
                    mount.target
                ),
            );
            return None;
        }
        if kind == MountType::Bind && mount.source.as_deref().unwrap_or("").is_empty() {
            self.error(node, format!("{w} is a bind mount without a `source`"));
            return None;
        }
        Some(mount)
    }

    fn depends_on(&mut self, node: &Node, service: &str) -> BTreeMap<String, Dependency> {
        let mut out = BTreeMap::new();
        let what = format!("`depends_on` of service `{service}`");
        let entries: Vec<(Node, Option<&Node>)> = match &node.value {
            Value::Seq(items) => items.iter().map(|i| (i.clone(), None)).collect(),
            Value::Map(entries) => entries.iter().map(|(k, v)| (k.clone(), Some(v))).collect(),
            _ => {
                self.error(
                    node,
                    format!("{what} must be a list or a mapping, found {}", node.kind()),
                );
                return out;
            }
        };
        for (name_node, detail) in entries {
            let Some(name) = self.string(&name_node, &what) else {
                continue;
            };
            let mut dep = Dependency {
                condition: Condition::ServiceStarted,
                restart: false,
                required: true,
            };
            if let Some(detail) = detail {
                for (key, _, v) in self.fields(
                    detail,
                    &format!("{what} `{name}`"),
                    &["condition", "restart", "required"],
                    &[],
                ) {
                    match key {
                        "condition" => match self.string(v, "`condition`").as_deref() {
                            Some("service_started") => dep.condition = Condition::ServiceStarted,
                            Some("service_healthy") => dep.condition = Condition::ServiceHealthy,
                            Some("service_completed_successfully") => dep.condition = Condition::ServiceCompletedSuccessfully,
                            Some(other) => self.error_hint(v, format!("unknown condition `{other}` in {what}"), "use service_started, service_healthy or service_completed_successfully"),
                            None => {}
                        },
                        "restart" => dep.restart = self.boolean(v, "`restart`").unwrap_or(false),
                        "required" => dep.required = self.boolean(v, "`required`").unwrap_or(true),
                        _ => {}
                    }
                }
            }
            if name == service {
                self.error(&name_node, format!("service `{service}` depends on itself"));
                continue;
            }
            if !self.check_service_ref(&name_node, &name, &what) {
                continue;
            }
            if let Some(span) = self.span(&name_node) {
                self.dependency_spans
                    .insert((service.to_owned(), name.clone()), span);
            }
            out.insert(name, dep);
        }
        out
    }

    fn healthcheck(&mut self, node: &Node, what: &str) -> Option<Healthcheck> {
        let w = format!("`healthcheck` of {what}");
        let mut h = Healthcheck::default();
        for (key, _, v) in self.fields(
            node,
            &w,
            &[
                "test",
                "interval",
                "timeout",
                "retries",
                "start_period",
                "start_interval",
                "disable",
            ],
            &[],
        ) {
            let field = format!("`healthcheck.{key}` of {what}");
            match key {
                "test" => match &v.value {
                    Value::Seq(items) => {
                        h.test = items
                            .iter()
                            .filter_map(|i| self.string(i, &field))
                            .collect();
                        let first = h.test.first().map(String::as_str);
                        if !matches!(first, Some("CMD" | "CMD-SHELL" | "NONE")) {
                            self.error_hint(v, format!("{field} must start with CMD, CMD-SHELL or NONE"), "write `[\"CMD\", \"prog\", \"arg\"]`, `[\"CMD-SHELL\", \"a shell line\"]`, or a plain string");
                        }
                    }
                    _ => {
                        if let Some(line) = self.string(v, &field) {
                            h.test = vec!["CMD-SHELL".into(), line];
                        }
                    }
                },
                "interval" => h.interval = self.duration(v, &field),
                "timeout" => h.timeout = self.duration(v, &field),
                "start_period" => h.start_period = self.duration(v, &field),
                "start_interval" => {
                    self.duration(v, &field);
                }
                "retries" => {
                    h.retries = self.integer(v, &field).and_then(|r| {
                        u32::try_from(r)
                            .map_err(|_| self.error(v, format!("{field} must not be negative")))
                            .ok()
                    })
                }
                "disable" => h.disable = self.boolean(v, &field).unwrap_or(false),
                _ => {}
            }
        }
        if h.disable {
            h.test = vec!["NONE".into()];
        }
        Some(h)
    }

    fn ulimits(&mut self, node: &Node, what: &str) -> BTreeMap<String, Ulimit> {
        let mut out = BTreeMap::new();
        let Some(entries) = node.as_map() else {
            self.error(
                node,
                format!(
                    "`ulimits` of {what} must be a mapping, found {}",
                    node.kind()
                ),
            );
            return out;
        };
        for (k, v) in entries {
            let Some(name) = self.string(k, "a ulimit name") else {
                continue;
            };
            let field = format!("ulimit `{name}` of {what}");
            let limit = match &v.value {
                Value::Map(_) => {
                    let (mut soft, mut hard) = (None, None);
                    for (key, _, n) in self.fields(v, &field, &["soft", "hard"], &[]) {
                        let value = self.integer(n, &format!("`{key}` of {field}"));
                        if key == "soft" {
                            soft = value
                        } else {
                            hard = value
                        }
                    }
                    match (soft, hard) {
                        (Some(soft), Some(hard)) => Some(Ulimit { soft, hard }),
                        _ => {
                            self.error(v, format!("{field} needs both `soft` and `hard`"));
                            None
                        }
                    }
                }
                _ => self.integer(v, &field).map(|n| Ulimit { soft: n, hard: n }),
            };
            if let Some(limit) = limit {
                out.insert(name, limit);
            }
        }
        out
    }

    fn service_networks(
        &mut self,
        node: &Node,
        what: &str,
        project: &Project,
    ) -> BTreeMap<String, ServiceNetwork> {
        let mut out = BTreeMap::new();
        let entries: Vec<(Node, Option<&Node>)> = match &node.value {
            Value::Seq(items) => items.iter().map(|i| (i.clone(), None)).collect(),
            Value::Map(entries) => entries.iter().map(|(k, v)| (k.clone(), Some(v))).collect(),
            _ => {
                self.error(
                    node,
                    format!(
                        "`networks` of {what} must be a list or a mapping, found {}",
                        node.kind()
                    ),
                );
                return out;
            }
        };
        for (name_node, detail) in entries {
            let Some(name) = self.string(&name_node, &format!("a network of {what}")) else {
                continue;
            };
            if name != "default" && !project.networks.contains_key(&name) {
                let hint = match did_you_mean(&name, project.networks.keys().map(String::as_str)) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "declare it under the top-level `networks:`".into(),
                };
                self.error_hint(
                    &name_node,
                    format!("{what} joins unknown network `{name}`"),
                    hint,
                );
                continue;
            }
            let mut net = ServiceNetwork::default();
            if let Some(detail) = detail {
                let unimplemented: &[&str] = &[
                    "ipv4_address",
                    "ipv6_address",
                    "link_local_ips",
                    "mac_address",
                    "priority",
                    "driver_opts",
                    "gw_priority",
                    "interface_name",
                ];
                for (key, _, v) in self.fields(
                    detail,
                    &format!("network `{name}` of {what}"),
                    &["aliases"],
                    unimplemented,
                ) {
                    if key == "aliases" {
                        net.aliases = self.string_list(v, "an alias");
                    }
                }
            }
            out.insert(name, net);
        }
        out
    }

    // ----- watch rules -----

    fn watch_rules(&mut self, node: &Node) -> Vec<WatchRule> {
        let Value::Seq(items) = &node.value else {
            self.error_hint(
                node,
                format!("`watch` must be a list of rules, found {}", node.kind()),
                "write `watch:` followed by `- paths: [...]` items",
            );
            return Vec::new();
        };
        let mut rules = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let what = format!("watch rule {}", i + 1);
            let mut rule = WatchRule {
                paths: Vec::new(),
                ignore: Vec::new(),
                debounce: DEFAULT_DEBOUNCE,
                actions: Vec::new(),
                initial_sync: false,
            };
            let mut ok = true;
            for (key, _, v) in self.fields(
                item,
                &what,
                &["paths", "ignore", "debounce", "actions"],
                &[],
            ) {
                match key {
                    "paths" => rule.paths = self.globs(v, &format!("`paths` of {what}")),
                    "ignore" => rule.ignore = self.globs(v, &format!("`ignore` of {what}")),
                    "debounce" => {
                        rule.debounce = self
                            .duration(v, &format!("`debounce` of {what}"))
                            .unwrap_or(DEFAULT_DEBOUNCE)
                    }
                    "actions" => match &v.value {
                        Value::Seq(actions) => {
                            for a in actions {
                                match self.watch_action(a, &what, &rule.paths) {
                                    Some(a) => rule.actions.push(a),
                                    None => ok = false,
                                }
                            }
                        }
                        _ => self.error(
                            v,
                            format!("`actions` of {what} must be a list, found {}", v.kind()),
                        ),
                    },
                    _ => {}
                }
            }
            // A key that is there but wrong has had its error; "has no" is for absent keys
            // (and a rule that is no mapping at all has had its own).
            let present = |key: &str| item.as_map().is_none() || item.get(key).is_some();
            if rule.paths.is_empty() {
                if !present("paths") {
                    self.error_hint(
                        item,
                        format!("{what} has no `paths`"),
                        "add `paths: [\"app/**\"]` (globs relative to the project directory)",
                    );
                }
                ok = false;
            }
            if rule.actions.is_empty() && ok && !present("actions") {
                self.error_hint(
                    item,
                    format!("{what} has no `actions`"),
                    "add `actions:` with exec, run, restart, rebuild or sync",
                );
                ok = false;
            }
            if ok && !rule.actions.is_empty() {
                rules.push(rule);
            }
        }
        rules
    }

    fn globs(&mut self, node: &Node, what: &str) -> Vec<String> {
        let mut out = Vec::new();
        let items: Vec<&Node> = match &node.value {
            Value::Seq(items) => items.iter().collect(),
            _ => vec![node],
        };
        for item in items {
            let Some(glob) = self.string(item, what) else {
                continue;
            };
            if self.outside_project(&glob) {
                self.error_hint(
                    item,
                    format!("{what}: `{glob}` is outside the project directory"),
                    "write globs relative to the directory of the first config file, without `..`",
                );
                continue;
            }
            match globset::Glob::new(&glob) {
                Ok(_) => out.push(glob),
                Err(e) => self.error(
                    item,
                    format!("{what}: `{glob}` is not a valid glob ({})", e.kind()),
                ),
            }
        }
        out
    }

    /// Whether a watch glob reaches out of the project: `..` anywhere, or an absolute path
    /// elsewhere. The watcher refuses those too, but only when it starts and with no line.
    fn outside_project(&self, glob: &str) -> bool {
        let glob = glob.trim();
        if glob.split('/').any(|part| part == "..") {
            return true;
        }
        if !glob.starts_with('/') {
            return false;
        }
        let dir = self.ctx.project_dir;
        let canonical = std::fs::canonicalize(dir).ok();
        !(Path::new(glob).starts_with(dir)
            || canonical.is_some_and(|c| Path::new(glob).starts_with(c)))
    }

    fn watch_action(&mut self, node: &Node, rule: &str, paths: &[String]) -> Option<WatchAction> {
        const KINDS: &[&str] = &["exec", "run", "restart", "rebuild", "sync"];
        let entries = node.as_map().filter(|e| e.len() == 1);
        let Some([(k, v)]) = entries else {
            self.error_hint(node, format!("an action of {rule} must be a mapping with one key"), "write `- exec: {service: node, command: \"yarn run build\"}`, `- restart: [puma]`, `- rebuild: puma` or `- sync: {service: puma, target: /app}`");
            return None;
        };
        let kind = self.string(k, "an action")?;
        let what = format!("`{kind}` action of {rule}");
        match kind.as_str() {
            "exec" | "run" => {
                let mut service = None;
                let mut command = None;
                for (key, _, f) in self.fields(v, &what, &["service", "command"], &[]) {
                    match key {
                        "service" => {
                            service = self
                                .string(f, &format!("`service` of {what}"))
                                .filter(|s| self.check_service_ref(f, s, &what))
                        }
                        _ => command = self.command(f, &format!("`command` of {what}")),
                    }
                }
                let (Some(service), Some(command)) = (service, command) else {
                    if v.as_map().is_some()
                        && (v.get("service").is_none() || v.get("command").is_none())
                    {
                        self.error(v, format!("{what} needs `service` and `command`"));
                    }
                    return None;
                };
                Some(if kind == "exec" {
                    WatchAction::Exec { service, command }
                } else {
                    WatchAction::Run { service, command }
                })
            }
            "restart" => {
                let list = match &v.value {
                    Value::Map(_) => v.get("services").unwrap_or(v),
                    _ => v,
                };
                let names: Vec<Node> = match &list.value {
                    Value::Seq(items) => items.clone(),
                    _ => vec![list.clone()],
                };
                let mut services = Vec::new();
                let mut ok = true;
                for n in &names {
                    match self.string(n, &what) {
                        Some(s) if self.check_service_ref(n, &s, &what) => services.push(s),
                        _ => ok = false,
                    }
                }
                (ok && !services.is_empty()).then_some(WatchAction::Restart { services })
            }
            "rebuild" => {
                let n = match &v.value {
                    Value::Map(_) => v.get("service").unwrap_or(v),
                    _ => v,
                };
                let service = self.string(n, &what)?;
                self.check_service_ref(n, &service, &what)
                    .then_some(WatchAction::Rebuild { service })
            }
            "sync" => {
                let mut service = None;
                let mut target = None;
                let mut source = None;
                for (key, _, f) in self.fields(v, &what, &["service", "target", "source"], &[]) {
                    match key {
                        "service" => {
                            service = self
                                .string(f, &format!("`service` of {what}"))
                                .filter(|s| self.check_service_ref(f, s, &what))
                        }
                        "target" => target = self.string(f, &format!("`target` of {what}")),
                        _ => source = self.string(f, &format!("`source` of {what}")),
                    }
                }
                let (Some(service), Some(target)) = (service, target) else {
                    if v.get("service").is_none() || v.get("target").is_none() {
                        self.error(v, format!("{what} needs `service` and `target`"));
                    }
                    return None;
                };
                // Without `source`, files sync relative to the literal directory of the first glob.
                let source = source.unwrap_or_else(|| {
                    paths.first().map(|p| literal_prefix(p)).unwrap_or_default()
                });
                Some(WatchAction::Sync {
                    service,
                    source: normalize(&self.ctx.project_dir.join(source)),
                    target,
                })
            }
            other => {
                let hint = match did_you_mean(other, KINDS.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "use exec, run, restart, rebuild or sync".into(),
                };
                self.error_hint(k, format!("unknown action `{other}` in {rule}"), hint);
                None
            }
        }
    }

    /// Compose's `develop.watch` entries, mapped onto devenv's rules.
    fn develop(&mut self, node: &Node, service: &str) -> Vec<WatchRule> {
        let mut rules = Vec::new();
        let what = format!("`develop` of service `{service}`");
        for (key, _, v) in self.fields(node, &what, &["watch"], &[]) {
            if key != "watch" {
                continue;
            }
            let Value::Seq(items) = &v.value else {
                self.error(
                    v,
                    format!(
                        "`develop.watch` of service `{service}` must be a list, found {}",
                        v.kind()
                    ),
                );
                continue;
            };
            for (i, item) in items.iter().enumerate() {
                let w = format!("`develop.watch` entry {} of service `{service}`", i + 1);
                let (mut path, mut action, mut target, mut ignore, mut command) =
                    (None, None, None, Vec::new(), None);
                let mut path_node = None;
                let mut initial_sync = false;
                for (key, _, f) in self.fields(
                    item,
                    &w,
                    &[
                        "path",
                        "action",
                        "target",
                        "ignore",
                        "exec",
                        "include",
                        "initial_sync",
                    ],
                    &[],
                ) {
                    match key {
                        "path" => {
                            path = self.string(f, &format!("`path` of {w}"));
                            path_node = Some(f);
                        }
                        "action" => action = Some((self.string(f, &format!("`action` of {w}")), f)),
                        "target" => target = self.string(f, &format!("`target` of {w}")),
                        "initial_sync" => {
                            initial_sync = self
                                .boolean(f, &format!("`initial_sync` of {w}"))
                                .unwrap_or(false)
                        }
                        "ignore" => ignore = self.string_list(f, &format!("`ignore` of {w}")),
                        "exec" => {
                            for (k, _, c) in self.fields(
                                f,
                                &format!("`exec` of {w}"),
                                &[
                                    "command",
                                    "user",
                                    "privileged",
                                    "working_dir",
                                    "environment",
                                ],
                                &[],
                            ) {
                                if k == "command" {
                                    command = self.command(c, &format!("`exec.command` of {w}"));
                                }
                            }
                        }
                        _ => {}
                    }
                }
                let Some(path) = path else {
                    self.error(item, format!("{w} has no `path`"));
                    continue;
                };
                let Some((Some(action), action_node)) = action else {
                    self.error_hint(
                        item,
                        format!("{w} has no `action`"),
                        "use sync, rebuild, restart, sync+restart or sync+exec",
                    );
                    continue;
                };
                let dir = normalize(&self.ctx.project_dir.join(&path));
                let Ok(rel) = dir.strip_prefix(self.ctx.project_dir) else {
                    self.error_hint(
                        path_node.unwrap_or(item),
                        format!("`path` of {w} is outside the project directory"),
                        "a watched path must be inside the directory of the first config file",
                    );
                    continue;
                };
                let rel = rel.display().to_string();
                let rel = if rel.is_empty() { ".".to_owned() } else { rel };
                let paths = vec![rel.clone(), format!("{rel}/**")];
                let sync = |target: &Option<String>| {
                    target.clone().map(|target| WatchAction::Sync {
                        service: service.to_owned(),
                        source: dir.clone(),
                        target,
                    })
                };
                let actions = match action.as_str() {
                    "rebuild" => vec![WatchAction::Rebuild {
                        service: service.to_owned(),
                    }],
                    "restart" => vec![WatchAction::Restart {
                        services: vec![service.to_owned()],
                    }],
                    "sync" | "sync+restart" | "sync+exec" => {
                        let Some(sync) = sync(&target) else {
                            self.error(item, format!("{w} uses `{action}` but has no `target`"));
                            continue;
                        };
                        let mut actions = vec![sync];
                        if action == "sync+restart" {
                            actions.push(WatchAction::Restart {
                                services: vec![service.to_owned()],
                            });
                        }
                        if action == "sync+exec" {
                            let Some(command) = command.clone() else {
                                self.error(
                                    item,
                                    format!("{w} uses `sync+exec` but has no `exec.command`"),
                                );
                                continue;
                            };
                            actions.push(WatchAction::Exec {
                                service: service.to_owned(),
                                command,
                            });
                        }
                        actions
                    }
                    other => {
                        self.error_hint(
                            action_node,
                            format!("unknown action `{other}` in {w}"),
                            "use sync, rebuild, restart, sync+restart or sync+exec",
                        );
                        continue;
                    }
                };
                rules.push(WatchRule {
                    paths,
                    ignore,
                    debounce: DEFAULT_DEBOUNCE,
                    actions,
                    initial_sync,
                });
            }
        }
        rules
    }

    // ----- whole-project checks -----

    /// Reports each dependency cycle once, naming every service on it.
    fn check_cycles(&mut self, project: &Project) {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            Active,
            Done,
        }
        let mut marks: BTreeMap<&str, Mark> = project
            .services
            .keys()
            .map(|k| (k.as_str(), Mark::New))
            .collect();
        let mut cycles = Vec::new();
        // Depth-first, with an explicit stack: a dependency chain of any length costs heap,
        // not call stack. Each frame is a service and the index of its next dependency.
        for root in project.services.keys() {
            if marks.get(root.as_str()) != Some(&Mark::New) {
                continue;
            }
            let mut path: Vec<(&str, usize)> = vec![(root.as_str(), 0)];
            marks.insert(root.as_str(), Mark::Active);
            while let Some((name, next)) = path.last().copied() {
                let deps: Vec<&String> = project.services[name].depends_on.keys().collect();
                let Some(dep) = deps.get(next) else {
                    marks.insert(name, Mark::Done);
                    path.pop();
                    continue;
                };
                if let Some(top) = path.last_mut() {
                    top.1 += 1;
                }
                match marks.get(dep.as_str()).copied().unwrap_or(Mark::Done) {
                    Mark::New => {
                        marks.insert(dep.as_str(), Mark::Active);
                        path.push((dep.as_str(), 0));
                    }
                    Mark::Active => {
                        let start = path.iter().position(|(s, _)| s == dep).unwrap_or(0);
                        let mut cycle: Vec<String> =
                            path[start..].iter().map(|(s, _)| (*s).to_owned()).collect();
                        cycle.push((*dep).clone());
                        cycles.push(cycle);
                    }
                    Mark::Done => {}
                }
            }
        }
        for cycle in cycles {
            let span = self
                .dependency_spans
                .get(&(cycle[0].clone(), cycle[1].clone()))
                .cloned();
            self.diagnostics.push(
                Diagnostic::error(format!("dependency cycle: {}", cycle.join(" → ")))
                    .at(span)
                    .hint("remove one of these `depends_on` entries"),
            );
        }
    }
}

/// The directory part of a glob before its first wildcard: `app/javascript/**` → `app/javascript`.
pub fn literal_prefix(glob: &str) -> String {
    let mut out = Vec::new();
    for part in glob.split('/') {
        if part.contains(['*', '?', '[', '{']) {
            break;
        }
        out.push(part);
    }
    out.join("/")
}

/// Messages from `syntax` start either with a subject (`container port ...`) or a verb
/// (`is not ...`); after "port `x` of service `y`" a subject needs a colon.
fn fix_grammar(message: &str) -> String {
    if message.starts_with("is ") || message.starts_with("has ") || message.starts_with("maps ") {
        message.to_owned()
    } else {
        format!("is invalid: {message}")
    }
}

fn describe(node: &Node) -> String {
    match node.scalar_text() {
        Some(t) => format!("`{t}`"),
        None => node.kind().to_owned(),
    }
}
