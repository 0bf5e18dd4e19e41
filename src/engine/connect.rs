//! Finding the engine (DOCKER_HOST, Docker contexts) and opening a negotiated connection to it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bollard::{API_DEFAULT_VERSION, ClientVersion, Docker};
use sha2::{Digest, Sha256};

use super::error::{EngineError, Failure, failure};

/// How long `connect` waits for the engine's first answer: an engine that is not there should
/// be reported at once, not after bollard's two-minute request timeout.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Per-request timeout for ordinary calls (time to the response headers). Streams (logs,
/// build output, wait) send headers at once, so this does not cut them short.
const REQUEST_TIMEOUT_SECS: u64 = 120;

const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// Where the engine is and how to talk to it, resolved the way the docker CLI does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `unix:///…`, `tcp://host:port`, …
    pub host: String,
    /// Client certificates for TLS (DOCKER_TLS_VERIFY, or a context that has them).
    pub tls: Option<TlsFiles>,
    /// Where the address came from, for messages: `DOCKER_HOST`, `context "remote"`, `default`.
    pub origin: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Resolves the endpoint from the process environment and `~/.docker`.
pub fn resolve_endpoint() -> Result<Endpoint, EngineError> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    resolve_endpoint_with(&|name| std::env::var(name).ok(), home.as_deref())
}

/// The resolution itself, over an injected environment so it can be tested without touching
/// the real one. Order as in the docker CLI: DOCKER_HOST, then DOCKER_CONTEXT, then
/// `currentContext` of config.json, then the default socket.
pub fn resolve_endpoint_with(
    env: &dyn Fn(&str) -> Option<String>,
    home: Option<&Path>,
) -> Result<Endpoint, EngineError> {
    let env = |name: &str| env(name).filter(|v| !v.is_empty());
    let config_dir = env("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| home.map(|h| h.join(".docker")));

    if let Some(host) = env("DOCKER_HOST") {
        let tls = if env("DOCKER_TLS_VERIFY").is_some() {
            let dir = env("DOCKER_CERT_PATH")
                .map(PathBuf::from)
                .or_else(|| config_dir.clone())
                .ok_or_else(|| EngineError::Unreachable {
                    address: host.clone(),
                    cause: "DOCKER_TLS_VERIFY is set but neither DOCKER_CERT_PATH nor HOME is"
                        .to_owned(),
                })?;
            Some(tls_files_in(&dir))
        } else {
            None
        };
        return Ok(Endpoint {
            host,
            tls,
            origin: "DOCKER_HOST".to_owned(),
        });
    }

    let context = match env("DOCKER_CONTEXT") {
        Some(name) => Some(name),
        None => config_dir
            .as_deref()
            .and_then(|dir| current_context(&dir.join("config.json"))),
    };
    match context {
        Some(name) if name != "default" => {
            let Some(dir) = config_dir else {
                return Err(EngineError::Unreachable {
                    address: format!("context \"{name}\""),
                    cause: "cannot find the docker config directory (HOME is not set)".to_owned(),
                });
            };
            context_endpoint(&dir, &name)
        }
        _ => Ok(Endpoint {
            host: DEFAULT_HOST.to_owned(),
            tls: None,
            origin: "default".to_owned(),
        }),
    }
}

fn tls_files_in(dir: &Path) -> TlsFiles {
    TlsFiles {
        ca: dir.join("ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    }
}

fn current_context(config_json: &Path) -> Option<String> {
    let text = std::fs::read_to_string(config_json).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value
        .get("currentContext")?
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Reads `contexts/meta/<sha256(name)>/meta.json`, where the CLI keeps each context's endpoint.
fn context_endpoint(config_dir: &Path, name: &str) -> Result<Endpoint, EngineError> {
    let digest = Sha256::digest(name.as_bytes());
    let id: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let meta_path = config_dir
        .join("contexts")
        .join("meta")
        .join(&id)
        .join("meta.json");
    let unreachable = |cause: String| EngineError::Unreachable {
        address: format!("context \"{name}\""),
        cause,
    };
    let text = std::fs::read_to_string(&meta_path).map_err(|e| {
        unreachable(format!(
            "no such docker context (cannot read {}: {})",
            meta_path.display(),
            super::error::lowercase_first(&e.to_string())
        ))
    })?;
    let meta: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| unreachable(format!("{} is not valid JSON: {e}", meta_path.display())))?;
    let host = meta
        .pointer("/Endpoints/docker/Host")
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| unreachable(format!("{} names no docker host", meta_path.display())))?;
    let tls_dir = config_dir
        .join("contexts")
        .join("tls")
        .join(&id)
        .join("docker");
    let tls = tls_dir
        .join("ca.pem")
        .exists()
        .then(|| tls_files_in(&tls_dir));
    Ok(Endpoint {
        host: host.to_owned(),
        tls,
        origin: format!("context \"{name}\""),
    })
}

/// Opens a client for the endpoint, asks the engine for its API version within
/// [`CONNECT_TIMEOUT`], and pins the client to it.
pub(crate) async fn open(endpoint: &Endpoint) -> Result<Docker, EngineError> {
    let host = endpoint.host.as_str();
    let unreachable = |cause: String| EngineError::Unreachable {
        address: host.to_owned(),
        cause,
    };
    let client = if let Some(path) = host.strip_prefix("unix://") {
        match tokio::time::timeout(CONNECT_TIMEOUT, ping_api_version(path)).await {
            Ok(Some(version)) => {
                return Docker::connect_with_unix(path, REQUEST_TIMEOUT_SECS, &version)
                    .map_err(|e| unreachable(describe(e)));
            }
            Err(_) => {
                return Err(unreachable(format!(
                    "no answer within {} s",
                    CONNECT_TIMEOUT.as_secs()
                )));
            }
            // bollard's negotiation below says better what is wrong.
            Ok(None) => {}
        }
        Docker::connect_with_unix(path, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
    } else if host.starts_with("tcp://")
        || host.starts_with("http://")
        || host.starts_with("https://")
    {
        match &endpoint.tls {
            Some(tls) => {
                for file in [&tls.ca, &tls.cert, &tls.key] {
                    if !file.exists() {
                        return Err(unreachable(format!(
                            "TLS is requested but {} does not exist (set DOCKER_CERT_PATH)",
                            file.display()
                        )));
                    }
                }
                Docker::connect_with_ssl(
                    host,
                    &tls.key,
                    &tls.cert,
                    &tls.ca,
                    REQUEST_TIMEOUT_SECS,
                    API_DEFAULT_VERSION,
                )
            }
            None if host.starts_with("https://") => {
                return Err(unreachable(
                    "an https:// engine needs client certificates: set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH".to_owned(),
                ));
            }
            None => Docker::connect_with_http(host, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION),
        }
    } else {
        let scheme = host.split("://").next().unwrap_or(host);
        return Err(unreachable(format!(
            "devenv cannot talk to `{scheme}` addresses; use unix:// or tcp:// (for ssh, forward the socket with `ssh -L`)"
        )));
    };
    let client = client.map_err(|e| unreachable(describe(e)))?;

    match tokio::time::timeout(CONNECT_TIMEOUT, client.negotiate_version()).await {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(e)) => Err(unreachable(describe(e))),
        Err(_) => Err(unreachable(format!(
            "no answer within {} s",
            CONNECT_TIMEOUT.as_secs()
        ))),
    }
}

/// The API version to use with the engine on a unix socket, from the `Api-Version` header of
/// `HEAD /_ping`, as the docker CLI negotiates: bollard asks `GET /version` instead, which makes
/// the engine query containerd and costs 5 ms of every command against 0.2 ms for the ping.
/// `None` when the answer is not what an engine says; the caller then negotiates through
/// bollard, whose errors describe the fault.
async fn ping_api_version(path: &str) -> Option<ClientVersion> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::UnixStream::connect(path).await.ok()?;
    stream
        .write_all(b"HEAD /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n")
        .await
        .ok()?;
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 512];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 || head.len() > 16 * 1024 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    api_version_of(std::str::from_utf8(&head).ok()?)
}

/// The version a `_ping` response head offers, capped at the newest bollard speaks.
fn api_version_of(head: &str) -> Option<ClientVersion> {
    let mut lines = head.lines();
    if !lines.next()?.split(' ').nth(1)?.starts_with('2') {
        return None;
    }
    let value = lines.find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("api-version")
            .then(|| value.trim())
    })?;
    let (major, minor) = value.split_once('.')?;
    let server = (major.parse::<usize>().ok()?, minor.parse::<usize>().ok()?);
    let ours = (
        API_DEFAULT_VERSION.major_version,
        API_DEFAULT_VERSION.minor_version,
    );
    let (major_version, minor_version) = server.min(ours);
    Some(ClientVersion {
        major_version,
        minor_version,
    })
}

fn describe(err: bollard::errors::Error) -> String {
    match failure(err) {
        Failure::Status { code, message } => {
            format!("the server answered {code} ({message}); is it a docker engine?")
        }
        Failure::Transport { cause } => cause,
        Failure::Stream { message } | Failure::Other { message } => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn the_ping_header_gives_the_api_version() {
        let v = |head: &str| api_version_of(head).map(|v| (v.major_version, v.minor_version));
        assert_eq!(
            v("HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nDocker-Experimental: false\r\n\r\n"),
            Some((1, 41))
        );
        assert_eq!(
            v("HTTP/1.1 200 OK\r\napi-version:1.99\r\n\r\n"),
            Some((
                API_DEFAULT_VERSION.major_version,
                API_DEFAULT_VERSION.minor_version
            ))
        );
        assert_eq!(v("HTTP/1.1 200 OK\r\nServer: nginx\r\n\r\n"), None);
        assert_eq!(v("HTTP/1.1 500 Oops\r\nApi-Version: 1.41\r\n\r\n"), None);
        assert_eq!(v("HTTP/1.1 200 OK\r\nApi-Version: x\r\n\r\n"), None);
    }

    fn resolve(vars: &[(&str, &str)], home: Option<&Path>) -> Result<Endpoint, EngineError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        resolve_endpoint_with(&|name| vars.get(name).cloned(), home)
    }

    #[test]
    fn docker_host_wins_and_tls_uses_cert_path() {
        let ep = resolve(
            &[
                ("DOCKER_HOST", "tcp://10.0.0.1:2376"),
                ("DOCKER_TLS_VERIFY", "1"),
                ("DOCKER_CERT_PATH", "/certs"),
                ("DOCKER_CONTEXT", "other"),
            ],
            None,
        )
        .expect("resolves");
        assert_eq!(ep.host, "tcp://10.0.0.1:2376");
        assert_eq!(ep.origin, "DOCKER_HOST");
        assert_eq!(
            ep.tls,
            Some(TlsFiles {
                ca: "/certs/ca.pem".into(),
                cert: "/certs/cert.pem".into(),
                key: "/certs/key.pem".into(),
            })
        );
    }

    #[test]
    fn no_configuration_means_the_default_socket() {
        let ep = resolve(&[], None).expect("resolves");
        assert_eq!(ep.host, "unix:///var/run/docker.sock");
        assert_eq!(ep.tls, None);
    }

    #[test]
    fn current_context_is_read_from_its_meta_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let docker = dir.path().join(".docker");
        let id: String = Sha256::digest(b"remote")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let meta = docker.join("contexts/meta").join(&id);
        std::fs::create_dir_all(&meta).expect("mkdir");
        std::fs::write(
            meta.join("meta.json"),
            r#"{"Name":"remote","Metadata":{},"Endpoints":{"docker":{"Host":"tcp://192.0.2.7:2375","SkipTLSVerify":false}}}"#,
        )
        .expect("write meta");
        std::fs::write(docker.join("config.json"), r#"{"currentContext":"remote"}"#)
            .expect("write config");

        let ep = resolve(&[], Some(dir.path())).expect("resolves");
        assert_eq!(ep.host, "tcp://192.0.2.7:2375");
        assert_eq!(ep.origin, "context \"remote\"");

        // DOCKER_CONTEXT overrides the config file; an unknown one is an error naming it.
        let err = resolve(&[("DOCKER_CONTEXT", "nope")], Some(dir.path())).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("context \"nope\""), "{text}");
        assert!(text.contains("no such docker context"), "{text}");

        let ep = resolve(&[("DOCKER_CONTEXT", "default")], Some(dir.path())).expect("resolves");
        assert_eq!(ep.host, "unix:///var/run/docker.sock");
    }
}
