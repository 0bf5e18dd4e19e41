//! Interactive sessions: `exec` and attached one-off runs, on our stdio or captured by line.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::OnceLock;
use std::time::Duration;

use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::query_parameters::{
    AttachContainerOptions, ResizeContainerTTYOptions, ResizeExecOptions,
};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{Mutex, mpsc};

use super::Engine;
use super::containers::{StreamKind, output_chunk, split_lines};
use super::error::{EngineError, Failure, failure};
use super::terminal::{RawMode, stdio_is_terminal, window_size};

/// Receives each output line (without its newline).
pub type OutputSink = Box<dyn FnMut(StreamKind, &[u8]) + Send>;

/// Where a session's input comes from and its output goes.
pub enum Stdio {
    /// This process's stdin, stdout and stderr. A TTY is used when one is asked for and both
    /// stdin and stdout are terminals; the local terminal is then raw for the session.
    Inherit,
    /// Output to a callback line by line (watch actions, tests); `stdin`, if given, is sent
    /// and then closed.
    Capture {
        stdin: Option<Bytes>,
        on_line: OutputSink,
    },
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecRequest {
    pub cmd: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub user: Option<String>,
    pub workdir: Option<String>,
    /// Allow a TTY (it is used only with [`Stdio::Inherit`] on terminals, or when capturing).
    pub tty: bool,
    pub privileged: bool,
}

type Output = Pin<
    Box<dyn Stream<Item = Result<bollard::container::LogOutput, bollard::errors::Error>> + Send>,
>;
type Input = Pin<Box<dyn AsyncWrite + Send>>;

/// What to resize when the local window changes.
#[derive(Clone)]
enum ResizeTarget {
    Exec(String),
    Container(String),
}

/// How one attached session is run.
struct Session {
    stdio: Stdio,
    tty: bool,
    attach_stdin: bool,
    resize: ResizeTarget,
    /// Pass SIGINT/SIGTERM/SIGQUIT/SIGHUP on to this container (non-TTY runs, like
    /// `docker run`'s sig-proxy); with a TTY, Ctrl-C travels as a byte instead.
    proxy_signals_to: Option<String>,
    op: String,
}

/// Why a session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SessionEnd {
    /// The remote side closed its output: the process is done.
    OutputEnded,
    /// Our own stdout went away (`devenv run … | head`): nobody reads any more.
    LocalOutputClosed,
}

/// The exit code a shell reports for a process ended by SIGPIPE.
const SIGPIPE_EXIT: i64 = 128 + 13;

impl Engine {
    /// Runs a command in a running container and returns its exit code.
    pub async fn exec(
        &self,
        container: &str,
        request: &ExecRequest,
        stdio: Stdio,
    ) -> Result<i64, EngineError> {
        let op = format!("run `{}` in container `{container}`", request.cmd.join(" "));
        let tty = match &stdio {
            Stdio::Inherit => request.tty && stdio_is_terminal(),
            Stdio::Capture { .. } => request.tty,
        };
        let attach_stdin = match &stdio {
            Stdio::Inherit => true,
            Stdio::Capture { stdin, .. } => stdin.is_some(),
        };
        let env: Vec<String> = request
            .env
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let config = CreateExecOptions::<String> {
            attach_stdin: Some(attach_stdin),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: Some(tty),
            env: (!env.is_empty()).then_some(env),
            cmd: Some(request.cmd.clone()),
            privileged: Some(request.privileged),
            user: request.user.clone(),
            working_dir: request.workdir.clone(),
            ..Default::default()
        };
        let created =
            self.docker
                .create_exec(container, config)
                .await
                .map_err(|e| match failure(e) {
                    Failure::Status { code: 404, .. } => EngineError::NotFound {
                        kind: "container",
                        name: container.to_owned(),
                    },
                    other => self.classify(op.clone(), other),
                })?;
        let exec_id = created.id;
        let started = self
            .docker
            .start_exec(
                &exec_id,
                Some(StartExecOptions {
                    detach: false,
                    tty,
                    output_capacity: None,
                }),
            )
            .await
            .map_err(|e| self.error(op.clone(), e))?;
        let StartExecResults::Attached { output, input } = started else {
            return Err(EngineError::Api {
                op,
                message: "the engine started the command detached".to_owned(),
            });
        };
        let end = self
            .session(
                output,
                input,
                Session {
                    stdio,
                    tty,
                    attach_stdin,
                    resize: ResizeTarget::Exec(exec_id.clone()),
                    proxy_signals_to: None,
                    op: op.clone(),
                },
            )
            .await?;
        if end == SessionEnd::LocalOutputClosed {
            // The command may be blocked writing to us; its exit code would never come.
            return Ok(SIGPIPE_EXIT);
        }
        self.exec_exit_code(&exec_id, &op).await
    }

    /// The exit code of a finished exec. Its output can end a moment before the engine has
    /// recorded the exit, so ask again briefly while it still says "running".
    async fn exec_exit_code(&self, exec_id: &str, op: &str) -> Result<i64, EngineError> {
        for attempt in 0..50u64 {
            let inspect = self
                .docker
                .inspect_exec(exec_id)
                .await
                .map_err(|e| self.error(op.to_owned(), e))?;
            if inspect.running != Some(true)
                && let Some(code) = inspect.exit_code
            {
                return Ok(code);
            }
            tokio::time::sleep(Duration::from_millis(10 * (attempt + 1).min(10))).await;
        }
        Err(EngineError::Api {
            op: op.to_owned(),
            message: "the command's output ended but the engine reports no exit code".to_owned(),
        })
    }

    /// Attaches to a created container, starts it, relays stdio until it exits and returns
    /// its exit code: the core of a one-off `run`. `tty` must match how the container was
    /// created; `stdin` attaches input (the container needs `stdin_open`), and when the input
    /// ends the container's stdin is closed, so `echo x | devenv run s cat` prints x and ends.
    pub async fn run_attached(
        &self,
        id: &str,
        tty: bool,
        stdin: bool,
        stdio: Stdio,
    ) -> Result<i64, EngineError> {
        let op = format!("attach to container `{id}`");
        let attach_stdin = stdin
            && match &stdio {
                Stdio::Inherit => true,
                Stdio::Capture { stdin, .. } => stdin.is_some(),
            };
        let options = AttachContainerOptions {
            detach_keys: None,
            logs: false,
            stream: true,
            stdin: attach_stdin,
            stdout: true,
            stderr: true,
        };
        let attached = self
            .docker
            .attach_container(id, Some(options))
            .await
            .map_err(|e| match failure(e) {
                Failure::Status { code: 404, .. } => EngineError::NotFound {
                    kind: "container",
                    name: id.to_owned(),
                },
                other => self.classify(op.clone(), other),
            })?;
        self.docker
            .start_container(id, None)
            .await
            .map_err(|e| self.start_error(id, e))?;
        let proxy = !tty && matches!(stdio, Stdio::Inherit);
        let session = self.session(
            attached.output,
            attached.input,
            Session {
                stdio,
                tty,
                attach_stdin,
                resize: ResizeTarget::Container(id.to_owned()),
                proxy_signals_to: proxy.then(|| id.to_owned()),
                op,
            },
        );
        // The exit code is asked for while the output still flows, as `docker run` does: the
        // engine answers once the container is down, and asking only after the output ended
        // added a round trip and the tail of the relay to every one-off.
        let wait = self.wait(id);
        tokio::pin!(session, wait);
        let mut code = None;
        let end = loop {
            tokio::select! {
                end = &mut session => break end?,
                exited = &mut wait, if code.is_none() => code = Some(exited),
            }
        };
        if end == SessionEnd::LocalOutputClosed {
            // A one-off that keeps writing with no reader would never end: stop it, and
            // report what a shell reports for a broken pipe.
            self.kill(id, None).await?;
            match code {
                Some(exited) => exited?,
                None => wait.await?,
            };
            return Ok(SIGPIPE_EXIT);
        }
        match code {
            Some(exited) => exited,
            None => wait.await,
        }
    }

    /// Relays one attached session until its output ends.
    async fn session(
        &self,
        output: Output,
        mut input: Input,
        session: Session,
    ) -> Result<SessionEnd, EngineError> {
        let Session {
            stdio,
            tty,
            attach_stdin,
            resize,
            proxy_signals_to,
            op,
        } = session;
        let chunks = {
            let engine = self.clone();
            let op = op.clone();
            output.map(move |item| match item {
                Ok(out) => Ok(output_chunk(out)),
                Err(e) => Err(engine.error(op.clone(), e)),
            })
        };
        match stdio {
            Stdio::Capture { stdin, mut on_line } => {
                let feeder = tokio::spawn(async move {
                    if let Some(bytes) = stdin {
                        // A process that exits without reading its input is not an error.
                        let _ = input.write_all(&bytes).await;
                    }
                    let _ = input.shutdown().await;
                    // Keep the write half alive until told otherwise: dropping it early
                    // would not close more than shutdown already did.
                    input
                });
                let mut lines = std::pin::pin!(split_lines(chunks));
                let mut result = Ok(SessionEnd::OutputEnded);
                while let Some(item) = lines.next().await {
                    match item {
                        Ok(chunk) => on_line(chunk.kind, &chunk.line),
                        Err(e) => {
                            result = Err(e);
                            break;
                        }
                    }
                }
                feeder.abort();
                result
            }
            Stdio::Inherit => {
                // The guard lives until this arm ends, whichever way it ends.
                let _raw =
                    if tty && stdio_is_terminal() {
                        Some(RawMode::enable(libc::STDIN_FILENO).map_err(|e| {
                            EngineError::local("switch the terminal to raw mode", e)
                        })?)
                    } else {
                        None
                    };
                // Size the remote TTY before relaying, so the first thing the program prints
                // already fits; API 1.41 cannot set the size at create.
                let resizer = if tty {
                    // Listen before the first resize, so a change in between is not lost.
                    use tokio::signal::unix::{SignalKind, signal};
                    let changes = signal(SignalKind::window_change()).ok();
                    self.initial_resize(&resize).await;
                    changes.map(|changes| {
                        let engine = self.clone();
                        tokio::spawn(
                            async move { engine.follow_window_changes(resize, changes).await },
                        )
                    })
                } else {
                    None
                };
                let feeder = attach_stdin.then(|| {
                    tokio::spawn(async move {
                        forward_stdin(&mut input).await;
                        input
                    })
                });
                let proxy = proxy_signals_to.map(|id| {
                    // Registered here, before any output is relayed, so a signal sent once the
                    // user sees output is never the default (fatal) one.
                    let listeners = terminating_signals();
                    let engine = self.clone();
                    tokio::spawn(async move { engine.proxy_signals(&id, listeners).await })
                });
                let result = relay_to_stdio(chunks).await;
                for task in [proxy, resizer].into_iter().flatten() {
                    task.abort();
                }
                if let Some(task) = feeder {
                    task.abort();
                }
                result
            }
        }
    }

    /// Sends the container each terminating signal this process receives, so Ctrl-C stops
    /// the one-off rather than leaving it running behind a dead CLI.
    async fn proxy_signals(
        &self,
        id: &str,
        listeners: Vec<(tokio::signal::unix::Signal, &'static str)>,
    ) {
        let (tx, mut rx) = mpsc::channel::<&'static str>(8);
        let mut tasks = Vec::new();
        for (mut stream, name) in listeners {
            let tx = tx.clone();
            tasks.push(tokio::spawn(async move {
                while stream.recv().await.is_some() {
                    if tx.send(name).await.is_err() {
                        return;
                    }
                }
            }));
        }
        drop(tx);
        // The listeners end with this task, which is aborted when the session ends.
        struct AbortAll(Vec<tokio::task::JoinHandle<()>>);
        impl Drop for AbortAll {
            fn drop(&mut self) {
                for task in &self.0 {
                    task.abort();
                }
            }
        }
        let _guard = AbortAll(tasks);
        while let Some(name) = rx.recv().await {
            // Best effort: the container may already be on its way out.
            let _ = self.kill(id, Some(name)).await;
        }
    }

    /// Gives the remote TTY the local window's size, if there is a local window.
    async fn resize_to_window(&self, target: &ResizeTarget) -> bool {
        let Some((rows, cols)) = window_size() else {
            return true;
        };
        let (h, w) = (i32::from(rows), i32::from(cols));
        let result = match target {
            ResizeTarget::Exec(id) => {
                self.docker
                    .resize_exec(id, ResizeExecOptions { h, w })
                    .await
            }
            ResizeTarget::Container(id) => {
                self.docker
                    .resize_container_tty(id, ResizeContainerTTYOptions { h, w })
                    .await
            }
        };
        result.is_ok()
    }

    /// The first resize can come too early for a process that is still starting; try again
    /// a few times, as the docker CLI does. A size that never sticks only leaves the default.
    async fn initial_resize(&self, target: &ResizeTarget) {
        for attempt in 1..=10u64 {
            if self.resize_to_window(target).await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10 * attempt)).await;
        }
    }

    /// Resizes the remote TTY on every SIGWINCH until the session ends.
    async fn follow_window_changes(
        &self,
        target: ResizeTarget,
        mut changes: tokio::signal::unix::Signal,
    ) {
        while changes.recv().await.is_some() {
            // A failed resize only leaves the old size; the session goes on.
            self.resize_to_window(&target).await;
        }
    }
}

/// Listeners for the signals `docker run` passes on to its container. Once registered they
/// replace the default action for the rest of the process, which ends with the run anyway.
fn terminating_signals() -> Vec<(tokio::signal::unix::Signal, &'static str)> {
    use tokio::signal::unix::{SignalKind, signal};
    [
        (SignalKind::interrupt(), "SIGINT"),
        (SignalKind::terminate(), "SIGTERM"),
        (SignalKind::quit(), "SIGQUIT"),
        (SignalKind::hangup(), "SIGHUP"),
    ]
    .into_iter()
    .filter_map(|(kind, name)| signal(kind).ok().map(|stream| (stream, name)))
    .collect()
}

/// Writes a session's output to this process's stdout and stderr as it arrives.
async fn relay_to_stdio<S>(chunks: S) -> Result<SessionEnd, EngineError>
where
    S: Stream<Item = Result<(StreamKind, Bytes), EngineError>>,
{
    let mut stdout = tokio::io::stdout();
    let mut stderr = tokio::io::stderr();
    let mut chunks = std::pin::pin!(chunks);
    while let Some(item) = chunks.next().await {
        let (kind, bytes) = item?;
        let result = match kind {
            StreamKind::Stderr => write_flush(&mut stderr, &bytes).await,
            StreamKind::Stdout | StreamKind::Console => write_flush(&mut stdout, &bytes).await,
        };
        if result.is_err() {
            return Ok(SessionEnd::LocalOutputClosed);
        }
    }
    Ok(SessionEnd::OutputEnded)
}

async fn write_flush<W: AsyncWrite + Unpin>(w: &mut W, bytes: &[u8]) -> std::io::Result<()> {
    w.write_all(bytes).await?;
    w.flush().await
}

/// This process's stdin, read by one thread for the life of the process. A thread of its own,
/// not tokio's blocking pool, because a read blocked on a terminal would otherwise hold up the
/// runtime's shutdown; chunks not consumed by one session stay for the next.
fn stdin_chunks() -> &'static Mutex<mpsc::Receiver<Bytes>> {
    static CHUNKS: OnceLock<Mutex<mpsc::Receiver<Bytes>>> = OnceLock::new();
    CHUNKS.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Bytes>(16);
        // If the thread cannot be started, `tx` is dropped and stdin reads as empty.
        let _ = std::thread::Builder::new()
            .name("devenv-stdin".to_owned())
            .spawn(move || {
                use std::io::Read;
                let mut stdin = std::io::stdin();
                let mut buf = vec![0u8; 16 * 1024];
                loop {
                    match stdin.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => {
                            if tx.blocking_send(Bytes::copy_from_slice(&buf[..n])).is_err() {
                                break;
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(_) => break,
                    }
                }
            });
        Mutex::new(rx)
    })
}

/// Copies this process's stdin into the session, then closes the session's input so the
/// remote process sees end of file.
async fn forward_stdin(input: &mut Input) {
    let mut chunks = stdin_chunks().lock().await;
    while let Some(bytes) = chunks.recv().await {
        if input.write_all(&bytes).await.is_err() {
            return;
        }
        if input.flush().await.is_err() {
            return;
        }
    }
    let _ = input.shutdown().await;
}
