//! Images: look up by reference, build from a local context, pull with per-layer progress.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::time::Duration;

use bollard::query_parameters::{BuildImageOptions, CreateImageOptions};
use bytes::Bytes;
use futures_util::StreamExt;

use super::Engine;
use super::context::BuildContext;
use super::error::{EngineError, Failure, failure, lowercase_first};

/// How many lines of a failing step's output the error keeps.
const OUTPUT_TAIL_LINES: usize = 30;

/// Builds and pulls wait on the engine for much longer than ordinary calls: the context upload
/// and the first step happen before the engine sends its response headers.
const LONG_REQUEST: Duration = Duration::from_secs(3600);

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BuildRequest {
    /// The service the image is for, named in errors.
    pub service: String,
    pub context: PathBuf,
    /// Relative to `context` (default `Dockerfile`); may point outside it.
    pub dockerfile: Option<PathBuf>,
    pub args: BTreeMap<String, String>,
    pub target: Option<String>,
    /// The tag the image gets (`<project>-<service>`).
    pub tag: String,
    pub no_cache: bool,
    /// Pull a newer base image first.
    pub pull: bool,
    pub labels: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BuildProgress {
    /// The context is packed and about to be sent.
    ContextPacked { files: usize, bytes: usize },
    /// A builder step began: `Step 2/5 : RUN bundle install`.
    Step(String),
    /// A line the current step printed.
    Output(String),
}

/// One progress message of a pull: per layer (`id`), or for the whole image (`id` empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullProgress {
    pub id: String,
    pub status: String,
    pub current: Option<i64>,
    pub total: Option<i64>,
}

impl Engine {
    /// The ids of several local images, inspected side by side. Missing images are absent
    /// from the map. One inspect answers in about 0.4 ms; a filtered image list costs the
    /// engine over 5 ms, which was most of a no-op `up`.
    pub async fn image_ids(
        &self,
        references: &[String],
    ) -> Result<BTreeMap<String, String>, EngineError> {
        let ids = futures_util::future::try_join_all(references.iter().map(|r| async move {
            Ok::<_, EngineError>(self.image_id(r).await?.map(|id| (r.clone(), id)))
        }))
        .await?;
        Ok(ids.into_iter().flatten().collect())
    }

    /// The id of a local image, `None` when there is no image by that reference.
    pub async fn image_id(&self, reference: &str) -> Result<Option<String>, EngineError> {
        match self.docker.inspect_image(reference).await {
            Ok(image) => Ok(image.id),
            Err(e) => match failure(e) {
                Failure::Status { code: 404, .. } => Ok(None),
                other => Err(self.classify(format!("inspect image `{reference}`"), other)),
            },
        }
    }

    /// Builds an image with the engine's builder and returns its id. A failing build is a
    /// [`EngineError::BuildFailed`] carrying the failing step and the end of its output.
    pub async fn build<F>(
        &self,
        request: &BuildRequest,
        mut progress: F,
    ) -> Result<String, EngineError>
    where
        F: FnMut(BuildProgress) + Send,
    {
        let failed = |step: Option<String>, output: String| EngineError::BuildFailed {
            service: request.service.clone(),
            step,
            output,
        };
        let context_dir = request.context.clone();
        let dockerfile = request.dockerfile.clone();
        let packed = tokio::task::spawn_blocking(move || {
            BuildContext::pack(&context_dir, dockerfile.as_deref())
        })
        .await
        .map_err(|e| EngineError::local("pack the build context", e))?
        .map_err(|e| failed(None, e.to_string()))?;
        progress(BuildProgress::ContextPacked {
            files: packed.files,
            bytes: packed.tar.len(),
        });

        let options = BuildImageOptions {
            dockerfile: packed.dockerfile.clone(),
            t: Some(request.tag.clone()),
            nocache: request.no_cache,
            pull: request.pull.then(|| "1".to_owned()),
            rm: true,
            forcerm: true,
            buildargs: Some(request.args.clone().into_iter().collect()),
            labels: Some(request.labels.clone().into_iter().collect()),
            target: request.target.clone().unwrap_or_default(),
            ..Default::default()
        };
        let docker = self.docker.clone().with_timeout(LONG_REQUEST);
        let body = bollard::body_full(Bytes::from(packed.tar));
        let mut stream = docker.build_image(options, None, Some(body));

        let mut tracker = StepTracker::default();
        let mut built_id: Option<String> = None;
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(text) = info.stream {
                        for event in tracker.feed(&text) {
                            progress(event);
                        }
                    }
                    if let Some(id) = info.aux.and_then(|aux| aux.id) {
                        built_id = Some(id);
                    }
                }
                Err(e) => {
                    tracker.flush();
                    return Err(match failure(e) {
                        Failure::Transport { cause } => EngineError::Lost {
                            address: self.address().to_owned(),
                            op: format!("build the image of service `{}`", request.service),
                            cause,
                        },
                        Failure::Status { message, .. }
                        | Failure::Stream { message }
                        | Failure::Other { message } => {
                            let (step, output) = tracker.failure(&message, request.pull);
                            failed(step, output)
                        }
                    });
                }
            }
        }
        for event in tracker.flush() {
            progress(event);
        }
        match built_id {
            Some(id) => Ok(id),
            None => self.image_id(&request.tag).await?.ok_or_else(|| {
                failed(
                    tracker.step.clone(),
                    "the builder finished without producing an image".to_owned(),
                )
            }),
        }
    }

    /// Pulls an image, reporting each progress message. A reference without tag or digest
    /// means `:latest`, never every tag.
    pub async fn pull<F>(&self, reference: &str, mut progress: F) -> Result<(), EngineError>
    where
        F: FnMut(PullProgress) + Send,
    {
        let (image, tag) = split_reference(reference);
        let options = CreateImageOptions {
            from_image: Some(image),
            tag,
            ..Default::default()
        };
        let docker = self.docker.clone().with_timeout(LONG_REQUEST);
        let mut stream = docker.create_image(Some(options), None, None);
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => progress(PullProgress {
                    id: info.id.unwrap_or_default(),
                    status: info.status.unwrap_or_default(),
                    current: info.progress_detail.as_ref().and_then(|p| p.current),
                    total: info.progress_detail.as_ref().and_then(|p| p.total),
                }),
                Err(e) => {
                    return Err(match failure(e) {
                        Failure::Transport { cause } => EngineError::Lost {
                            address: self.address().to_owned(),
                            op: format!("pull image `{reference}`"),
                            cause,
                        },
                        Failure::Status { message, .. }
                        | Failure::Stream { message }
                        | Failure::Other { message } => EngineError::PullFailed {
                            image: reference.to_owned(),
                            cause: lowercase_first(&message),
                        },
                    });
                }
            }
        }
        Ok(())
    }
}

/// `redis:7` → (`redis`, `7`); `host:5000/app` → (`host:5000/app`, `latest`);
/// `app@sha256:…` → the whole reference, no tag.
fn split_reference(reference: &str) -> (String, Option<String>) {
    if reference.contains('@') {
        return (reference.to_owned(), None);
    }
    let last_component = reference.rfind('/').map(|i| i + 1).unwrap_or(0);
    match reference[last_component..].rfind(':') {
        Some(i) => {
            let split = last_component + i;
            (
                reference[..split].to_owned(),
                Some(reference[split + 1..].to_owned()),
            )
        }
        None => (reference.to_owned(), Some("latest".to_owned())),
    }
}

/// A build line without terminal escape sequences and control characters: tools in a
/// `RUN` colour their output, and those codes would break the progress bars, show up raw in
/// a failure report, or drive the user's terminal.
fn without_escapes(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.next() {
                // CSI: parameters and intermediates up to a final byte in @..~.
                Some('[') => {
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
                // OSC (titles, hyperlinks): up to BEL or ESC \.
                Some(']') => {
                    while let Some(c) = chars.next() {
                        if c == '\u{7}' {
                            break;
                        }
                        if c == '\u{1b}' && chars.peek() == Some(&'\\') {
                            chars.next();
                            break;
                        }
                    }
                }
                // Character set designations carry one more character.
                Some('(' | ')' | '*' | '+') => {
                    chars.next();
                }
                // Any other escape is two characters long.
                _ => {}
            },
            '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Follows the classic builder's text output: which step runs, and the last lines it printed,
/// so a failure can show them.
#[derive(Default)]
struct StepTracker {
    partial: String,
    step: Option<String>,
    tail: VecDeque<String>,
}

impl StepTracker {
    fn feed(&mut self, text: &str) -> Vec<BuildProgress> {
        self.partial.push_str(text);
        let mut events = Vec::new();
        while let Some(pos) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=pos).collect();
            let line = line.trim_end_matches(['\n', '\r']).to_owned();
            events.extend(self.line(line));
        }
        events
    }

    fn flush(&mut self) -> Vec<BuildProgress> {
        if self.partial.is_empty() {
            return Vec::new();
        }
        let line = std::mem::take(&mut self.partial);
        self.line(line).into_iter().collect()
    }

    fn line(&mut self, line: String) -> Option<BuildProgress> {
        let line = without_escapes(&line);
        if line.starts_with("Step ") && line.contains(" : ") {
            self.step = Some(line.clone());
            self.tail.clear();
            return Some(BuildProgress::Step(line));
        }
        // The builder's own bookkeeping is noise in a failure report.
        let trimmed = line.trim_start();
        if trimmed.starts_with("---> ") || trimmed.starts_with("Removing intermediate container") {
            return Some(BuildProgress::Output(line));
        }
        if self.tail.len() == OUTPUT_TAIL_LINES {
            self.tail.pop_front();
        }
        self.tail.push_back(line.clone());
        Some(BuildProgress::Output(line))
    }

    /// The failing step and its output tail followed by the builder's verdict, and a hint
    /// when a `FROM` failed for want of a registry. `pull` says the build asked for fresh base
    /// images (`build --pull`).
    fn failure(&self, message: &str, pull: bool) -> (Option<String>, String) {
        let mut output: Vec<String> = self.tail.iter().cloned().collect();
        output.push(message.trim().to_owned());
        let base = self.step.as_deref().and_then(from_image);
        let registry_trouble = [
            "no such host",
            "pull access denied",
            "manifest unknown",
            "not found",
        ]
        .iter()
        .any(|m| message.contains(m));
        if let Some(base) = base.filter(|_| registry_trouble) {
            output.push(if pull {
                format!(
                    "`--pull` makes the builder fetch `{base}` from its registry, which cannot be reached; without `--pull` the local copy is used"
                )
            } else {
                format!("there is no registry here: make `{base}` locally first{}", local_base_hint(base))
            });
        }
        (self.step.clone(), output.join("\n"))
    }
}

/// The image a `Step 1/5 : FROM image [AS name]` header builds on.
fn from_image(step: &str) -> Option<&str> {
    let (_, instruction) = step.split_once(" : ")?;
    let mut words = instruction.split_whitespace();
    if !words.next()?.eq_ignore_ascii_case("FROM") {
        return None;
    }
    words.find(|w| !w.starts_with("--"))
}

/// Where this repo's scripts make a base image locally, for the images they know.
pub(crate) fn local_base_hint(image: &str) -> &'static str {
    if image == "debian:bookworm-slim" {
        " (scripts/base-image makes it with debootstrap)"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_into_image_and_tag() {
        assert_eq!(
            split_reference("redis:7"),
            ("redis".to_owned(), Some("7".to_owned()))
        );
        assert_eq!(
            split_reference("redis"),
            ("redis".to_owned(), Some("latest".to_owned()))
        );
        assert_eq!(
            split_reference("localhost:5000/app"),
            ("localhost:5000/app".to_owned(), Some("latest".to_owned()))
        );
        assert_eq!(
            split_reference("localhost:5000/app:dev"),
            ("localhost:5000/app".to_owned(), Some("dev".to_owned()))
        );
        assert_eq!(
            split_reference("app@sha256:abc"),
            ("app@sha256:abc".to_owned(), None)
        );
    }

    #[test]
    fn a_from_that_cannot_reach_a_registry_gets_a_hint_that_fits() {
        let mut t = StepTracker::default();
        t.feed("Step 1/2 : FROM --platform=linux/amd64 debian:bookworm-slim AS base\n");
        let refused = "pull access denied for debian, repository does not exist";
        let (_, without) = t.failure(refused, false);
        assert!(
            without.ends_with(
                "there is no registry here: make `debian:bookworm-slim` locally first (scripts/base-image makes it with debootstrap)"
            ),
            "{without}"
        );
        let (_, with_pull) = t.failure(refused, true);
        assert!(
            with_pull.ends_with("without `--pull` the local copy is used"),
            "{with_pull}"
        );
        let mut other = StepTracker::default();
        other.feed("Step 1/1 : FROM alpine:3\n");
        assert!(
            other
                .failure(refused, false)
                .1
                .ends_with("make `alpine:3` locally first")
        );
        // A RUN step that fails is not a registry problem.
        let mut run = StepTracker::default();
        run.feed("Step 2/2 : RUN false\n");
        assert_eq!(run.failure("not found", false).1, "not found");
    }

    #[test]
    fn build_lines_lose_their_escape_sequences() {
        assert_eq!(
            without_escapes("\u{1b}[1;31merror\u{1b}[0m: \u{1b}]0;title\u{7}bad\tthing\u{8}"),
            "error: bad\tthing"
        );
        assert_eq!(
            without_escapes("\u{1b}]8;;http://x\u{1b}\\link\u{1b}]8;;\u{1b}\\ \u{1b}(Bdone"),
            "link done"
        );
        let mut t = StepTracker::default();
        t.feed("Step 1/1 : RUN x\n\u{1b}[33mwarn\u{1b}[m\n");
        assert_eq!(t.failure("failed", false).1, "warn\nfailed");
    }

    #[test]
    fn tracker_keeps_the_failing_steps_output() {
        let mut t = StepTracker::default();
        let events = t.feed(
            "Step 1/2 : FROM busybox\n ---> abc\nStep 2/2 : RUN make\n ---> Running in 1\nbuil",
        );
        assert_eq!(
            events[0],
            BuildProgress::Step("Step 1/2 : FROM busybox".to_owned())
        );
        assert_eq!(events.len(), 4);
        t.feed("ding\nerror: missing\n");
        let (step, output) = t.failure(
            "The command '/bin/sh -c make' returned a non-zero code: 2",
            false,
        );
        assert_eq!(step.as_deref(), Some("Step 2/2 : RUN make"));
        assert_eq!(
            output,
            "building\nerror: missing\nThe command '/bin/sh -c make' returned a non-zero code: 2"
        );
    }
}
