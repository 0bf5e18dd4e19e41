//! The engine's error type: every bollard failure is classified here into a user-facing message.

use std::error::Error as StdError;

use bollard::errors::Error as BollardError;

/// What went wrong talking to the Docker engine. `Display` is a lowercase sentence for the user,
/// with the fix in it where there is one; none of them shows a raw transport error.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(
        "cannot reach the docker engine at {address}: {cause}; start Docker (e.g. `sudo service docker start`) or point DOCKER_HOST / DOCKER_CONTEXT at a running engine"
    )]
    Unreachable { address: String, cause: String },

    #[error(
        "the container name `{name}` is taken by a container devenv does not manage; remove or rename it (`docker rm -f {name}`) or choose another project name"
    )]
    NameConflict { name: String },

    #[error("{kind} `{name}` does not exist")]
    NotFound { kind: &'static str, name: String },

    #[error("{}", port_in_use_message(host_ip.as_deref(), *port))]
    PortInUse {
        port: Option<u16>,
        host_ip: Option<String>,
        container: String,
        message: String,
    },

    #[error("{}", build_failed_message(service, step.as_deref(), output))]
    BuildFailed {
        service: String,
        /// The builder's step header (`Step 3/5 : RUN make`), when it got that far.
        step: Option<String>,
        /// The last lines the failing step printed, then the builder's own error.
        output: String,
    },

    #[error(
        "cannot pull image `{image}`: {cause}; there is no registry here, so build the image locally{} or give the service a `build:` section",
        super::images::local_base_hint(image)
    )]
    PullFailed { image: String, cause: String },

    #[error("lost the docker engine at {address} while trying to {op}: {cause}")]
    Lost {
        address: String,
        op: String,
        cause: String,
    },

    #[error("cannot {op}: {message}")]
    Api { op: String, message: String },

    /// Local I/O around an engine call: reading a build context, the terminal, stdin.
    #[error("cannot {op}: {cause}")]
    Local { op: String, cause: String },
}

fn port_in_use_message(host_ip: Option<&str>, port: Option<u16>) -> String {
    let addr = match (host_ip, port) {
        (Some(ip), Some(port)) if !ip.is_empty() => format!("{ip}:{port}"),
        (_, Some(port)) => port.to_string(),
        _ => "a published port".to_owned(),
    };
    format!(
        "port {addr} is already in use on the host; stop whatever listens there or publish another host port"
    )
}

fn build_failed_message(service: &str, step: Option<&str>, output: &str) -> String {
    let mut text = format!("failed to build the image of service `{service}`");
    if let Some(step) = step {
        text.push_str(&format!(" at `{step}`"));
    }
    let output = output.trim_end();
    if !output.is_empty() {
        text.push_str(":\n");
        text.push_str(output);
    }
    text
}

impl EngineError {
    /// True when the engine itself is gone, so a long-running loop (watch, logs) should end.
    pub fn is_connection_lost(&self) -> bool {
        matches!(
            self,
            EngineError::Unreachable { .. } | EngineError::Lost { .. }
        )
    }

    pub(crate) fn local(op: impl Into<String>, err: impl std::fmt::Display) -> EngineError {
        EngineError::Local {
            op: op.into(),
            cause: lowercase_first(&err.to_string()),
        }
    }
}

/// How a failed call went wrong, before it is given a meaning for the operation at hand.
pub(crate) enum Failure {
    /// The engine answered with an HTTP error status.
    Status { code: u16, message: String },
    /// The engine could not be reached or dropped the connection.
    Transport { cause: String },
    /// A streamed operation (pull, build) reported an error in its stream.
    Stream { message: String },
    /// Anything else bollard can say: bad JSON, bad URL, …
    Other { message: String },
}

pub(crate) fn failure(err: BollardError) -> Failure {
    match err {
        BollardError::DockerResponseServerError {
            status_code,
            message,
        } => Failure::Status {
            code: status_code,
            message: message.trim().to_owned(),
        },
        BollardError::DockerStreamError { error } => Failure::Stream {
            message: error.trim().to_owned(),
        },
        BollardError::RequestTimeoutError => Failure::Transport {
            cause: "the engine did not answer in time".to_owned(),
        },
        BollardError::SocketNotFoundError(path) => Failure::Transport {
            cause: format!("no socket at {path}"),
        },
        ref e @ (BollardError::HyperResponseError { .. }
        | BollardError::HyperLegacyError { .. }
        | BollardError::IOError { .. }) => Failure::Transport {
            cause: root_cause(e),
        },
        other => Failure::Other {
            message: root_cause(&other),
        },
    }
}

/// The innermost message of an error chain, lowercased: `connection refused (os error 111)`
/// says more than hyper's `client error (Connect)` around it.
pub(crate) fn root_cause(err: &(dyn StdError + 'static)) -> String {
    let mut current: &(dyn StdError + 'static) = err;
    while let Some(next) = current.source() {
        current = next;
    }
    let text = current.to_string();
    let text = if text.is_empty() {
        err.to_string()
    } else {
        text
    };
    lowercase_first(text.trim())
}

pub(crate) fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        // Keep acronyms and identifiers (`EOF`, `DOCKER_HOST`) as they are.
        Some(first) if chars.clone().next().is_some_and(|c| c.is_uppercase()) => {
            let mut s = first.to_string();
            s.push_str(chars.as_str());
            s
        }
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Finds `host:port` in the engine's port-conflict messages, which come in two shapes:
/// `Bind for 127.0.0.1:8080 failed: port is already allocated` and
/// `listen tcp4 0.0.0.0:8080: bind: address already in use`.
pub(crate) fn parse_port_conflict(message: &str) -> (Option<String>, Option<u16>) {
    let words: Vec<&str> = message.split_whitespace().collect();
    for (i, word) in words.iter().enumerate() {
        let follows_marker = i > 0
            && (words[i - 1] == "for"
                || words[i - 1].starts_with("tcp")
                || words[i - 1].starts_with("udp")
                || words[i - 1].starts_with("sctp"));
        if !follows_marker {
            continue;
        }
        let candidate = word.trim_end_matches(':');
        if let Some((host, port)) = candidate.rsplit_once(':')
            && let Ok(port) = port.parse::<u16>()
        {
            let host = host.trim_start_matches('[').trim_end_matches(']');
            return (Some(host.to_owned()), Some(port));
        }
    }
    (None, None)
}

pub(crate) fn is_port_conflict(message: &str) -> bool {
    message.contains("port is already allocated") || message.contains("address already in use")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_pull_of_the_demo_base_names_the_script_that_makes_it() {
        let pull = |image: &str| {
            EngineError::PullFailed {
                image: image.to_owned(),
                cause: "no such host".to_owned(),
            }
            .to_string()
        };
        assert!(
            pull("debian:bookworm-slim").contains(
                "build the image locally (scripts/base-image makes it with debootstrap) or give"
            ),
            "{}",
            pull("debian:bookworm-slim")
        );
        assert!(
            pull("redis:7").contains("so build the image locally or give the service a `build:`")
        );
    }

    #[test]
    fn port_conflict_messages_name_the_address() {
        let allocated = "driver failed programming external connectivity on endpoint web (abc): Bind for 127.0.0.1:8080 failed: port is already allocated";
        assert_eq!(
            parse_port_conflict(allocated),
            (Some("127.0.0.1".to_owned()), Some(8080))
        );
        let in_use = "driver failed programming external connectivity on endpoint web (abc): Error starting userland proxy: listen tcp4 0.0.0.0:5432: bind: address already in use";
        assert_eq!(
            parse_port_conflict(in_use),
            (Some("0.0.0.0".to_owned()), Some(5432))
        );
        assert_eq!(parse_port_conflict("something else"), (None, None));
    }

    #[test]
    fn lowercases_sentences_but_not_acronyms() {
        assert_eq!(lowercase_first("Connection refused"), "connection refused");
        assert_eq!(lowercase_first("EOF"), "EOF");
        assert_eq!(lowercase_first(""), "");
    }

    #[test]
    fn messages_read_as_sentences() {
        let err = EngineError::PortInUse {
            port: Some(8080),
            host_ip: Some("127.0.0.1".to_owned()),
            container: "web".to_owned(),
            message: String::new(),
        };
        assert_eq!(
            err.to_string(),
            "port 127.0.0.1:8080 is already in use on the host; stop whatever listens there or publish another host port"
        );
        let err = EngineError::BuildFailed {
            service: "web".to_owned(),
            step: Some("Step 2/2 : RUN false".to_owned()),
            output: "boom\n".to_owned(),
        };
        assert_eq!(
            err.to_string(),
            "failed to build the image of service `web` at `Step 2/2 : RUN false`:\nboom"
        );
    }
}
