//! The engine layer against the real Docker engine, one project per test, cleaned by label.

mod common;

use std::collections::BTreeMap;
use std::process::{Command, Stdio as ProcessStdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use devenv::engine::{
    BuildProgress, BuildRequest, ContainerLabels, ContainerState, Endpoint, Engine, EngineError,
    Ensured, ExecRequest, Health, LogOptions, Stdio, StreamKind, labels, pack_paths,
    project_labels, resolve_endpoint_with,
};
use devenv::plan::spec::{ContainerSpec, HealthSpec, PortSpec};
use futures_util::StreamExt;

use common::{Cleanup, STRAY_LABEL, TEST_IMAGE, docker_ok, ensure_test_image, unique_project};

async fn engine() -> Engine {
    ensure_test_image();
    Engine::connect().await.expect("the local engine answers")
}

fn owner(project: &str, service: &str) -> ContainerLabels {
    ContainerLabels {
        project: project.to_owned(),
        service: service.to_owned(),
        config_hash: format!("hash-of-{service}"),
        oneoff: false,
        config_files: vec!["/tmp/dev.yml".to_owned()],
        version: "0.1.0-test".to_owned(),
    }
}

fn sleeper() -> ContainerSpec {
    ContainerSpec {
        image: TEST_IMAGE.to_owned(),
        command: Some(vec!["sleep".to_owned(), "300".to_owned()]),
        ..Default::default()
    }
}

type Lines = Arc<Mutex<Vec<(StreamKind, String)>>>;

/// A line sink for `Stdio::Capture` and what it collected.
fn capture() -> (devenv::engine::OutputSink, Lines) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = {
        let lines = Arc::clone(&lines);
        Box::new(move |kind: StreamKind, line: &[u8]| {
            lines
                .lock()
                .expect("lock")
                .push((kind, String::from_utf8_lossy(line).into_owned()));
        })
    };
    (sink, lines)
}

fn collected(lines: &Lines) -> Vec<(StreamKind, String)> {
    lines.lock().expect("lock").clone()
}

#[tokio::test]
async fn connect_negotiates_the_servers_api_version() {
    let started = Instant::now();
    let engine = engine().await;
    eprintln!("connect + negotiate: {:?}", started.elapsed());
    let server_api = docker_ok(&["version", "--format", "{{.Server.APIVersion}}"]);
    assert_eq!(engine.api_version(), server_api);
    let version = engine.server_version().await.expect("version");
    assert_eq!(
        version,
        docker_ok(&["version", "--format", "{{.Server.Version}}"])
    );
}

#[tokio::test]
async fn container_lifecycle_round_trips_its_labels() {
    let engine = engine().await;
    let project = unique_project();
    let _cleanup = Cleanup::new(&project);

    let mut spec = sleeper();
    spec.environment
        .insert("GREETING".to_owned(), "hello".to_owned());
    spec.labels
        .insert("com.example.team".to_owned(), "web".to_owned());
    let name = format!("{project}-web-1");

    let t = Instant::now();
    let id = engine
        .create(&name, &spec, &owner(&project, "web"))
        .await
        .expect("create");
    eprintln!("create: {:?}", t.elapsed());

    let t = Instant::now();
    let listed = engine.list(&project, true).await.expect("list");
    eprintln!("list (1 container): {:?}", t.elapsed());
    assert_eq!(listed.len(), 1);
    let info = &listed[0];
    assert_eq!(info.id, id);
    assert_eq!(info.name, name);
    assert_eq!(info.service, "web");
    assert!(!info.oneoff);
    assert_eq!(info.state, ContainerState::Created);
    assert_eq!(info.config_hash.as_deref(), Some("hash-of-web"));
    let stored: ContainerSpec =
        serde_json::from_str(info.config_json.as_deref().expect("config label")).expect("json");
    assert_eq!(stored, spec);
    assert_eq!(
        info.labels.get("com.example.team").map(String::as_str),
        Some("web")
    );
    assert_eq!(
        info.labels.get(labels::CONFIG_FILES).map(String::as_str),
        Some("/tmp/dev.yml")
    );
    assert_eq!(
        info.labels.get(labels::VERSION).map(String::as_str),
        Some("0.1.0-test")
    );
    assert!(info.created > 0);

    // Not running yet: absent from the running-only list.
    assert!(engine.list(&project, false).await.expect("list").is_empty());

    let t = Instant::now();
    engine.start(&id).await.expect("start");
    eprintln!("start: {:?}", t.elapsed());
    engine
        .start(&id)
        .await
        .expect("starting a running container is fine");
    let running = engine.list(&project, false).await.expect("list");
    assert_eq!(running.len(), 1);
    assert_eq!(running[0].state, ContainerState::Running);
    assert!(running[0].status.starts_with("Up"), "{}", running[0].status);
    let env = docker_ok(&["inspect", "--format", "{{json .Config.Env}}", &id]);
    assert!(env.contains("GREETING=hello"), "{env}");

    // busybox sleep as PID 1 ignores SIGTERM, so the stop ends in SIGKILL after 1 s.
    let t = Instant::now();
    engine
        .stop(&id, Some(Duration::from_secs(1)))
        .await
        .expect("stop");
    eprintln!("stop (1 s grace, then kill): {:?}", t.elapsed());
    let stopped = engine.list(&project, true).await.expect("list");
    assert_eq!(stopped[0].state, ContainerState::Exited);
    assert_eq!(stopped[0].exit_code, Some(137));

    let t = Instant::now();
    engine.remove(&id, false, true).await.expect("remove");
    eprintln!("remove: {:?}", t.elapsed());
    assert!(engine.list(&project, true).await.expect("list").is_empty());
}

#[tokio::test]
async fn a_name_held_by_an_unlabelled_container_is_a_name_conflict() {
    let engine = engine().await;
    let project = unique_project();
    let _cleanup = Cleanup::new(&project);
    let name = format!("{project}-web-1");
    let stray_label = format!("{STRAY_LABEL}={project}");
    docker_ok(&[
        "create",
        "--name",
        &name,
        "--label",
        &stray_label,
        TEST_IMAGE,
    ]);

    let err = engine
        .create(&name, &sleeper(), &owner(&project, "web"))
        .await
        .expect_err("the name is taken");
    match &err {
        EngineError::NameConflict { name: n } => assert_eq!(n, &name),
        other => panic!("expected NameConflict, got {other:?}"),
    }
    assert!(err.to_string().contains(&name), "{err}");
    // The stranger is left alone and devenv's list does not see it.
    assert!(engine.list(&project, true).await.expect("list").is_empty());
    assert_eq!(
        docker_ok(&["inspect", "--format", "{{.State.Status}}", &name]),
        "created"
    );
}

#[tokio::test]
async fn removing_stopping_or_killing_a_missing_container_is_fine() {
    let engine = engine().await;
    let missing = format!("{}-gone", unique_project());
    engine.remove(&missing, true, true).await.expect("remove");
    engine.stop(&missing, None).await.expect("stop");
    engine.kill(&missing, None).await.expect("kill");
    match engine.start(&missing).await {
        Err(EngineError::NotFound { kind, name }) => {
            assert_eq!(kind, "container");
            assert_eq!(name, missing);
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
}

#[tokio::test]
async fn ports_are_published_on_the_address_the_spec_names() {
    let engine = engine().await;
    let project = unique_project();
    let _cleanup = Cleanup::new(&project);
    let mut spec = sleeper();
    spec.ports.push(PortSpec {
        host_ip: "127.0.0.1".to_owned(),
        host_port: None,
        container_port: 80,
        protocol: "tcp".to_owned(),
    });
    let id = engine
        .create(&format!("{project}-web-1"), &spec, &owner(&project, "web"))
        .await
        .expect("create");
    engine.start(&id).await.expect("start");

    let info = engine.list(&project, false).await.expect("list");
    assert_eq!(info[0].ports.len(), 1, "{:?}", info[0].ports);
    let port = &info[0].ports[0];
    assert_eq!(port.host_ip, "127.0.0.1");
    assert_eq!(port.container_port, 80);
    assert_eq!(port.protocol, "tcp");
    assert!(port.host_port > 0);

    let bindings = docker_ok(&[
        "inspect",
        "--format",
        "{{json .HostConfig.PortBindings}}",
        &id,
    ]);
    assert!(bindings.contains(r#""HostIp":"127.0.0.1""#), "{bindings}");
    let live = docker_ok(&["port", &id, "80/tcp"]);
    assert_eq!(live, format!("127.0.0.1:{}", port.host_port));
}

#[tokio::test]
async fn a_host_port_already_taken_is_port_in_use() {
    let engine = engine().await;
    let project = unique_project();
    let _cleanup = Cleanup::new(&project);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let taken = listener.local_addr().expect("addr").port();

    let mut spec = sleeper();
    spec.ports.push(PortSpec {
        host_ip: "127.0.0.1".to_owned(),
        host_port: Some(taken.to_string()),
        container_port: 80,
        protocol: "tcp".to_owned(),
    });
    let id = engine
        .create(&format!("{project}-web-1"), &spec, &owner(&project, "web"))
        .await
        .expect("create");
    let err = engine.start(&id).await.expect_err("the port is taken");
    match &err {
        EngineError::PortInUse { port, host_ip, .. } => {
            assert_eq!(*port, Some(taken));
            assert_eq!(host_ip.as_deref(), Some("127.0.0.1"));
        }
        other => panic!("expected PortInUse, got {other:?}"),
    }
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{taken}")),
        "{err}"
    );
    drop(listener);
}

#[tokio::test]
async fn networks_and_volumes_are_ensured_idempotently() {
    let engine = engine().await;
    let project = unique_project();
    let _cleanup = Cleanup::new(&project);
    let labels = project_labels(&project, "0.1.0-test");
    let network = format!("{project}_default");
    let volume = format!("{project}_data");

    let t = Instant::now();
    assert_eq!(
        engine
            .ensure_network(&network, &labels)
            .await
            .expect("network"),
        Ensured::Created
    );
    eprintln!("ensure_network (create): {:?}", t.elapsed());
    assert_eq!(
        engine
            .ensure_network(&network, &labels)
            .await
            .expect("network"),
        Ensured::Existed
    );
    let networks = engine.list_networks(&project).await.expect("list");
    assert_eq!(networks.len(), 1, "{networks:?}");
    assert_eq!(networks[0].name, network);

    assert!(!engine.volume_exists(&volume).await.expect("exists"));
    assert_eq!(
        engine
            .ensure_volume(&volume, None, &labels)
            .await
            .expect("volume"),
        Ensured::Created
    );
    assert_eq!(
        engine
            .ensure_volume(&volume, None, &labels)
            .await
            .expect("volume"),
        Ensured::Existed
    );
    assert!(engine.volume_exists(&volume).await.expect("exists"));
    let volumes = engine.list_volumes(&project).await.expect("list");
    assert_eq!(volumes.len(), 1);
    assert_eq!(volumes[0].name, volume);
    assert_eq!(volumes[0].driver, "local");

    // A volume someone else made is used but never removed.
    let foreign = format!("{project}_foreign");
    docker_ok(&[
        "volume",
        "create",
        "--label",
        &format!("{STRAY_LABEL}={project}"),
        &foreign,
    ]);
    assert_eq!(
        engine
            .ensure_volume(&foreign, None, &labels)
            .await
            .expect("volume"),
        Ensured::Foreign
    );
    let err = engine
        .remove_volume(&project, &foreign)
        .await
        .expect_err("not ours");
    assert!(err.to_string().contains("leaves it alone"), "{err}");
    assert!(engine.volume_exists(&foreign).await.expect("exists"));

    engine
        .remove_network(&project, &network)
        .await
        .expect("rm network");
    engine
        .remove_network(&project, &network)
        .await
        .expect("rm again");
    engine
        .remove_volume(&project, &volume)
        .await
        .expect("rm volume");
    engine
        .remove_volume(&project, &volume)
        .await
        .expect("rm again");
    assert!(
        engine
            .list_networks(&project)
            .await
            .expect("list")
            .is_empty()
    );
    assert!(!engine.volume_exists(&volume).await.expect("exists"));
}

#[tokio::test]
async fn containers_join_every_network_with_their_aliases() {
    let engine = engine().await;
    let project = unique_project();
    let _cleanup = Cleanup::new(&project);
    let labels = project_labels(&project, "0.1.0-test");
    let (back, front) = (format!("{project}_back"), format!("{project}_front"));
    engine
        .ensure_network(&back, &labels)
        .await
        .expect("network");
    engine
        .ensure_network(&front, &labels)
        .await
        .expect("network");

    let mut spec = sleeper();
    spec.networks.insert(back.clone(), vec!["db".to_owned()]);
    spec.networks
        .insert(front.clone(), vec!["db-front".to_owned()]);
    let id = engine
        .create(&format!("{project}-db-1"), &spec, &owner(&project, "db"))
        .await
        .expect("create");
    engine.start(&id).await.expect("start");

    let nets = docker_ok(&[
        "inspect",
        "--format",
        "{{json .NetworkSettings.Networks}}",
        &id,
    ]);
    let nets: serde_json::Value = serde_json::from_str(&nets).expect("json");
    let aliases = |net: &str| -> Vec<String> {
        nets[net]["Aliases"]
            .as_array()
            .unwrap_or_else(|| panic!("{net} joined: {nets}"))
            .iter()
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect()
    };
    assert!(aliases(&back).contains(&"db".to_owned()), "{nets}");
    assert!(aliases(&front).contains(&"db-front".to_owned()), "{nets}");
    assert_eq!(nets.as_object().map(|o| o.len()), Some(2), "{nets}");

    // Another container on the network resolves the alias.
    let mut client = sleeper();
    client.command = Some(vec!["nslookup".to_owned(), "db".to_owned()]);
    client
        .networks
        .insert(back.clone(), vec!["client".to_owned()]);
    let client_id = engine
        .create(
            &format!("{project}-client-1"),
            &client,
            &owner(&project, "client"),
        )
        .await
        .expect("create");
    engine.start(&client_id).await.expect("start");
    assert_eq!(engine.wait(&client_id).await.expect("wait"), 0);
}

fn write_context(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, text) in files {
        let full = dir.path().join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(full, text).expect("write");
    }
    dir
}

#[tokio::test]
async fn build_sends_a_context_that_honours_dockerignore() {
    let engine = engine().await;
    let project = unique_project();
    let _cleanup = Cleanup::new(&project);
    // The classic builder drops a Dockerfile that .dockerignore lists after reading it, so
    // the Dockerfile's presence is not checked in the image.
    let dockerfile = format!(
        "FROM {TEST_IMAGE}\nWORKDIR /ctx\nCOPY . .\nRUN test ! -e ignored.txt\nRUN test ! -e logs/debug.log\nRUN test -e kept.txt && test -e logs/keep.log\n"
    );
    let ctx = write_context(&[
        ("Dockerfile", &dockerfile),
        (
            ".dockerignore",
            "ignored.txt\nlogs\n!logs/keep.log\nDockerfile\n",
        ),
        ("ignored.txt", "secret"),
        ("kept.txt", "kept"),
        ("logs/debug.log", "noise"),
        ("logs/keep.log", "keep"),
    ]);
    let tag = format!("{project}-web:latest");
    let request = BuildRequest {
        service: "web".to_owned(),
        context: ctx.path().to_path_buf(),
        tag: tag.clone(),
        labels: project_labels(&project, "0.1.0-test"),
        args: BTreeMap::from([("UNUSED".to_owned(), "1".to_owned())]),
        ..Default::default()
    };
    let mut steps = Vec::new();
    let t = Instant::now();
    let id = engine
        .build(&request, |p| {
            if let BuildProgress::Step(step) = p {
                steps.push(step);
            }
        })
        .await
        .expect("build");
    eprintln!("build (8 steps, tiny context): {:?}", t.elapsed());
    assert!(id.starts_with("sha256:"), "{id}");
    // Six steps of the Dockerfile, then one LABEL step per label the build adds.
    assert_eq!(steps.len(), 8, "{steps:?}");
    assert!(steps[3].contains("RUN test ! -e ignored.txt"), "{steps:?}");
    assert_eq!(
        engine.image_id(&tag).await.expect("inspect"),
        Some(id.clone())
    );
    let label = docker_ok(&[
        "image",
        "inspect",
        "--format",
        "{{index .Config.Labels \"dev.devenv.project\"}}",
        &tag,
    ]);
    assert_eq!(label, project);

    // The files really are in the image, and the ignored one really is not.
    let mut spec = sleeper();
    spec.image = tag.clone();
    spec.command = Some(vec!["cat".to_owned(), "/ctx/kept.txt".to_owned()]);
    let cid = engine
        .create(&format!("{project}-web-1"), &spec, &owner(&project, "web"))
        .await
        .expect("create");
    let (sink, lines) = capture();
    let code = engine
        .run_attached(
            &cid,
            false,
            false,
            Stdio::Capture {
                stdin: None,
                on_line: sink,
            },
        )
        .await
        .expect("run");
    assert_eq!(code, 0);
    assert_eq!(
        collected(&lines),
        vec![(StreamKind::Stdout, "kept".to_owned())]
    );

    assert_eq!(
        engine
            .image_id(&format!("{project}-missing:latest"))
            .await
            .expect("inspect"),
        None
    );
}

#[tokio::test]
async fn a_failing_build_names_the_service_the_step_and_its_output() {
    let engine = engine().await;
    let project = unique_project();
    let _cleanup = Cleanup::new(&project);
    let dockerfile = format!(
        "FROM {TEST_IMAGE}\nRUN echo preparing-assets && echo compile-error-marker >&2 && exit 3\nRUN echo never\n"
    );
    let ctx = write_context(&[("Dockerfile", &dockerfile)]);
    let request = BuildRequest {
        service: "assets".to_owned(),
        context: ctx.path().to_path_buf(),
        tag: format!("{project}-assets:latest"),
        labels: project_labels(&project, "0.1.0-test"),
        ..Default::default()
    };
    let err = engine.build(&request, |_| {}).await.expect_err("fails");
    match &err {
        EngineError::BuildFailed {
            service,
            step,
            output,
        } => {
            assert_eq!(service, "assets");
            let step = step.as_deref().expect("a step");
            assert!(step.starts_with("Step 2/"), "{step}");
            assert!(step.contains(" : RUN echo preparing-assets"), "{step}");
            assert!(output.contains("preparing-assets"), "{output}");
            assert!(output.contains("compile-error-marker"), "{output}");
            assert!(output.contains("returned a non-zero code: 3"), "{output}");
            assert!(!output.contains("Step 1/"), "{output}");
        }
        other => panic!("expected BuildFailed, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.starts_with("failed to build the image of service `assets` at `Step 2/"),
        "{text}"
    );

    // A context that does not exist fails as a build of that service too.
    let request = BuildRequest {
        context: ctx.path().join("nope"),
        ..request
    };
    let err = engine.build(&request, |_| {}).await.expect_err("fails");
    assert!(
        matches!(err, EngineError::BuildFailed { ref service, .. } if service == "assets"),
        "{err:?}"
    );
    assert!(err.to_string().contains("nope"), "{err}");
}

#[tokio::test]
async fn pulling_an_image_that_cannot_be_had_fails_quickly() {
    let engine = engine().await;
    let reference = format!("{}/nothing:latest", unique_project());
    let t = Instant::now();
    let err = engine
        .pull(&reference, |_| {})
        .await
        .expect_err("no registry");
    let took = t.elapsed();
    eprintln!("failed pull: {took:?}");
    match &err {
        EngineError::PullFailed { image, cause } => {
            assert_eq!(image, &reference);
            assert!(!cause.is_empty());
        }
        other => panic!("expected PullFailed, got {other:?}"),
    }
    let said = err.to_string();
    assert!(said.contains("there is no registry here"), "{said}");
    assert!(said.contains("`build:` section"), "{said}");
    // The repo's script makes only the demo's base image; it is not advice for this one.
    assert!(!said.contains("scripts/base-image"), "{said}");
    assert!(took < Duration::from_secs(30), "{took:?}");
}

#[tokio::test]
async fn exec_returns_the_exit_code_and_captures_both_streams() {
    let engine = engine().await;
    let project = unique_project();
    let _cleanup = Cleanup::new(&project);
    let id = engine
        .create(
            &format!("{project}-web-1"),
            &sleeper(),
            &owner(&project, "web"),
        )
        .await
        .expect("create");
    engine.start(&id).await.expect("start");

    let request = ExecRequest {
        cmd: vec![
            "sh".to_owned(),
            "-c".to_owned(),
            "echo \"$GREETING from $(pwd) as $(id -un)\"; echo oops >&2; exit 3".to_owned(),
        ],
        env: BTreeMap::from([("GREETING".to_owned(), "hi".to_owned())]),
        user: Some("nobody".to_owned()),
        workdir: Some("/tmp".to_owned()),
        ..Default::default()
    };
    let (sink, lines) = capture();
    let t = Instant::now();
    let code = engine
        .exec(
            &id,
            &request,
            Stdio::Capture {
                stdin: None,
                on_line: sink,
            },
        )
        .await
        .expect("exec");
    eprintln!("exec round trip: {:?}", t.elapsed());
    assert_eq!(code, 3);
    let mut got = collected(&lines);
    got.sort_by_key(|(kind, _)| *kind == StreamKind::Stderr);
    assert_eq!(
        got,
        vec![
            (StreamKind::Stdout, "hi from /tmp as nobody".to_owned()),
            (StreamKind::Stderr, "oops".to_owned()),
        ]
    );

    // Input given to a captured exec reaches the command and is closed after.
    let (sink, lines) = capture();
    let request = ExecRequest {
        cmd: vec!["sh".to_owned(), "-c".to_owned(), "wc -l".to_owned()],
        ..Default::default()
    };
    let code = engine
        .exec(
            &id,
            &request,
            Stdio::Capture {
                stdin: Some(Bytes::from_static(b"a\nb\n")),
                on_line: sink,
            },
        )
        .await
        .expect("exec");
    assert_eq!(code, 0);
    assert_eq!(
        collected(&lines),
        vec![(StreamKind::Stdout, "2".to_owned())]
    );

    // A stopped container cannot exec: the engine's reason comes through.
    engine.kill(&id, None).await.expect("kill");
    engine.wait(&id).await.expect("wait");
    let (sink, _) = capture();
    let err = engine
        .exec(
            &id,
            &request,
            Stdio::Capture {
                stdin: None,
                on_line: sink,
            },
        )
        .await
        .expect_err("not running");
    assert!(err.to_string().contains("is not running"), "{err}");
}

fn oneoff_spec(cmd: &[&str]) -> ContainerSpec {
    ContainerSpec {
        image: TEST_IMAGE.to_owned(),
        command: Some(cmd.iter().map(|s| s.to_string()).collect()),
        stdin_open: true,
        ..Default::default()
    }
}

#[tokio::test]
async fn run_attached_feeds_stdin_and_returns_the_exit_code() {
    let engine = engine().await;
    let project = unique_project();
    let _cleanup = Cleanup::new(&project);
    let mut run_owner = owner(&project, "tools");
    run_owner.oneoff = true;

    let id = engine
        .create(
            &format!("{project}-tools-run-1"),
            &oneoff_spec(&["cat"]),
            &run_owner,
        )
        .await
        .expect("create");
    let (sink, lines) = capture();
    let t = Instant::now();
    let code = engine
        .run_attached(
            &id,
            false,
            true,
            Stdio::Capture {
                stdin: Some(Bytes::from_static(b"x\ny")),
                on_line: sink,
            },
        )
        .await
        .expect("run");
    eprintln!("run_attached (attach, start, cat, wait): {:?}", t.elapsed());
    assert_eq!(code, 0);
    assert_eq!(
        collected(&lines),
        vec![
            (StreamKind::Stdout, "x".to_owned()),
            (StreamKind::Stdout, "y".to_owned())
        ]
    );
    let listed = engine.list(&project, true).await.expect("list");
    assert!(listed[0].oneoff);

    let id = engine
        .create(
            &format!("{project}-tools-run-2"),
            &oneoff_spec(&["sh", "-c", "read line; echo \"got $line\" >&2; exit 7"]),
            &run_owner,
        )
        .await
        .expect("create");
    let (sink, lines) = capture();
    let code = engine
        .run_attached(
            &id,
            false,
            true,
            Stdio::Capture {
                stdin: Some(Bytes::from_static(b"ping\n")),
                on_line: sink,
            },
        )
        .await
        .expect("run");
    assert_eq!(code, 7);
    assert_eq!(
        collected(&lines),
        vec![(StreamKind::Stderr, "got ping".to_owned())]
    );
}

/// The child half of the next test: runs only when that test starts this binary again with
/// the project in the environment and a pipe on stdin.
#[tokio::test]
#[ignore = "run by run_attached_inherits_a_piped_stdin in a child process"]
async fn child_run_attached_with_inherited_stdio() {
    let Ok(project) = std::env::var("DEVENV_TEST_CHILD_PROJECT") else {
        return;
    };
    let engine = Engine::connect().await.expect("connect");
    let mut run_owner = owner(&project, "tools");
    run_owner.oneoff = true;
    let id = engine
        .create(
            &format!("{project}-tools-run-1"),
            &oneoff_spec(&["cat"]),
            &run_owner,
        )
        .await
        .expect("create");
    let code = engine
        .run_attached(&id, false, true, Stdio::Inherit)
        .await
        .expect("run");
    assert_eq!(code, 0);

    // exec with inherited stdio: stdin is already at its end, so `cat` ends at once.
    let sleeper_id = engine
        .create(
            &format!("{project}-web-1"),
            &sleeper(),
            &owner(&project, "web"),
        )
        .await
        .expect("create");
    engine.start(&sleeper_id).await.expect("start");
    let request = ExecRequest {
        cmd: vec![
            "sh".to_owned(),
            "-c".to_owned(),
            "cat; echo exec-done; echo exec-err >&2; exit 6".to_owned(),
        ],
        tty: true,
        ..Default::default()
    };
    let code = engine
        .exec(&sleeper_id, &request, Stdio::Inherit)
        .await
        .expect("exec");
    assert_eq!(code, 6);
}

#[tokio::test]
async fn run_attached_inherits_a_piped_stdin() {
    // `echo x | devenv run tools cat` in miniature: this process's stdin is a pipe that ends.
    ensure_test_image();
    let project = unique_project();
    let _cleanup = Cleanup::new(&project);
    let exe = std::env::current_exe().expect("test binary");
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "child_run_attached_with_inherited_stdio",
            "--ignored",
            "--nocapture",
        ])
        .env("DEVENV_TEST_CHILD_PROJECT", &project)
        .stdin(ProcessStdio::piped())
        .stdout(ProcessStdio::piped())
        .stderr(ProcessStdio::piped())
        .spawn()
        .expect("spawn child");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(b"piped-through-cat\n").expect("write");
    }
    // A child stuck on its stdin would hang the suite: give it a minute, then end it.
    let pid = child.id();
    let waiting = tokio::task::spawn_blocking(move || child.wait_with_output());
    let output = match tokio::time::timeout(Duration::from_secs(60), waiting).await {
        Ok(joined) => joined.expect("join").expect("child output"),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("the child did not finish within 60 s: stdin EOF never reached the container?");
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("1 passed"), "the child test ran:\n{stdout}");
    assert!(stdout.contains("piped-through-cat\n"), "{stdout}");
    // Not terminals, so no TTY: the streams stay apart.
    assert!(stdout.contains("exec-done\n"), "{stdout}");
    assert!(!stdout.contains("exec-err"), "{stdout}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("exec-err\n"), "{stderr}");
}

#[tokio::test]
async fn upload_puts_files_in_place_and_delete_removes_them() {
    let engine = engine().await;
    let project = unique_project();
    let _cleanup = Cleanup::new(&project);
    let id = engine
        .create(
            &format!("{project}-web-1"),
            &sleeper(),
            &owner(&project, "web"),
        )
        .await
        .expect("create");
    engine.start(&id).await.expect("start");

    let local = write_context(&[
        ("app/models/user.rb", "class User; end"),
        ("README", "read me"),
    ]);
    let tar = pack_paths(
        local.path(),
        &[
            std::path::PathBuf::from("app"),
            std::path::PathBuf::from("README"),
        ],
        &|_, _| false,
    )
    .expect("pack");
    let t = Instant::now();
    engine.upload(&id, "/tmp", tar).await.expect("upload");
    eprintln!("upload: {:?}", t.elapsed());

    let cat = |path: &str| ExecRequest {
        cmd: vec!["cat".to_owned(), path.to_owned()],
        ..Default::default()
    };
    let (sink, lines) = capture();
    let code = engine
        .exec(
            &id,
            &cat("/tmp/app/models/user.rb"),
            Stdio::Capture {
                stdin: None,
                on_line: sink,
            },
        )
        .await
        .expect("exec");
    assert_eq!(code, 0);
    assert_eq!(
        collected(&lines),
        vec![(StreamKind::Stdout, "class User; end".to_owned())]
    );

    engine
        .delete_paths(
            &id,
            &[
                "/tmp/app/models".to_owned(),
                "/tmp/README".to_owned(),
                "/tmp/never-there".to_owned(),
            ],
        )
        .await
        .expect("delete");
    let (sink, _) = capture();
    let code = engine
        .exec(
            &id,
            &ExecRequest {
                cmd: vec![
                    "sh".to_owned(),
                    "-c".to_owned(),
                    "test -d /tmp/app && test ! -e /tmp/app/models && test ! -e /tmp/README"
                        .to_owned(),
                ],
                ..Default::default()
            },
            Stdio::Capture {
                stdin: None,
                on_line: sink,
            },
        )
        .await
        .expect("exec");
    assert_eq!(code, 0);

    let err = engine
        .upload(&id, "/no/such/dir", Bytes::new())
        .await
        .expect_err("missing directory");
    assert!(
        matches!(
            err,
            EngineError::NotFound {
                kind: "directory",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn logs_and_wait_report_what_the_container_did() {
    let engine = engine().await;
    let project = unique_project();
    let _cleanup = Cleanup::new(&project);
    let mut spec = sleeper();
    spec.command = Some(vec![
        "sh".to_owned(),
        "-c".to_owned(),
        "echo one; echo two >&2; printf three; exit 5".to_owned(),
    ]);
    let id = engine
        .create(&format!("{project}-job-1"), &spec, &owner(&project, "job"))
        .await
        .expect("create");
    engine.start(&id).await.expect("start");
    assert_eq!(engine.wait(&id).await.expect("wait"), 5);

    let lines: Vec<(StreamKind, String)> = engine
        .logs(&id, &LogOptions::default())
        .map(|r| r.map(|c| (c.kind, String::from_utf8_lossy(&c.line).into_owned())))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("logs");
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        vec![
            (StreamKind::Stdout, "one".to_owned()),
            (StreamKind::Stdout, "three".to_owned()),
            (StreamKind::Stderr, "two".to_owned()),
        ]
    );

    let tail: Vec<_> = engine
        .logs(
            &id,
            &LogOptions {
                tail: Some(1),
                timestamps: true,
                ..Default::default()
            },
        )
        .collect::<Vec<_>>()
        .await;
    assert_eq!(tail.len(), 1, "{tail:?}");
    let line = tail[0].as_ref().expect("line");
    // RFC 3339 timestamp first.
    assert!(line.line.starts_with(b"20"), "{:?}", line.line);

    let listed = engine.list(&project, true).await.expect("list");
    assert_eq!(listed[0].exit_code, Some(5));

    let missing = engine
        .logs(&format!("{project}-nope"), &LogOptions::default())
        .collect::<Vec<_>>()
        .await;
    assert!(
        matches!(missing.first(), Some(Err(EngineError::NotFound { .. }))),
        "{missing:?}"
    );
}

#[tokio::test]
async fn health_is_read_from_the_list_and_from_inspect() {
    let engine = engine().await;
    let project = unique_project();
    let _cleanup = Cleanup::new(&project);
    let mut spec = sleeper();
    spec.healthcheck = Some(HealthSpec {
        test: vec![
            "CMD-SHELL".to_owned(),
            "echo probing; test -e /tmp/ready".to_owned(),
        ],
        interval_ns: Some(200_000_000),
        timeout_ns: Some(2_000_000_000),
        retries: Some(1),
        start_period_ns: None,
    });
    let id = engine
        .create(&format!("{project}-db-1"), &spec, &owner(&project, "db"))
        .await
        .expect("create");
    engine.start(&id).await.expect("start");

    let until = |want: Health| {
        let engine = engine.clone();
        let id = id.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(15);
            loop {
                let check = engine.inspect_health(&id).await.expect("inspect");
                if let Some(check) = check.filter(|c| c.status == want) {
                    return check;
                }
                assert!(Instant::now() < deadline, "never became {want:?}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    let check = until(Health::Unhealthy).await;
    assert_eq!(check.last_output.as_deref(), Some("probing"));
    assert!(check.failing_streak >= 1);
    assert_eq!(
        engine.list(&project, false).await.expect("list")[0].health,
        Some(Health::Unhealthy)
    );

    docker_ok(&["exec", &id, "touch", "/tmp/ready"]);
    until(Health::Healthy).await;
    assert_eq!(
        engine.list(&project, false).await.expect("list")[0].health,
        Some(Health::Healthy)
    );

    let plain = engine
        .create(
            &format!("{project}-web-1"),
            &sleeper(),
            &owner(&project, "web"),
        )
        .await
        .expect("create");
    assert_eq!(engine.inspect_health(&plain).await.expect("inspect"), None);
}

#[tokio::test]
async fn an_unreachable_engine_is_reported_within_two_seconds() {
    for host in ["unix:///nonexistent.sock", "tcp://127.0.0.1:1"] {
        let endpoint = resolve_endpoint_with(
            &|name| (name == "DOCKER_HOST").then(|| host.to_owned()),
            None,
        )
        .expect("resolves");
        let t = Instant::now();
        let err = Engine::connect_to(endpoint)
            .await
            .expect_err("nothing there");
        let took = t.elapsed();
        eprintln!("unreachable {host}: {took:?}: {err}");
        assert!(took < Duration::from_secs(2), "{host}: {took:?}");
        match &err {
            EngineError::Unreachable { address, cause } => {
                assert_eq!(address, host);
                assert!(!cause.is_empty());
            }
            other => panic!("expected Unreachable, got {other:?}"),
        }
        let text = err.to_string();
        assert!(text.contains(host), "{text}");
        assert!(text.contains("start Docker"), "{text}");
        assert!(!text.contains("hyper"), "{text}");
    }

    // Something that accepts the connection but never answers: the connect timeout applies,
    // not bollard's two-minute request timeout.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = silent.local_addr().expect("addr").port();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let endpoint = Endpoint {
        host: format!("tcp://127.0.0.1:{port}"),
        tls: None,
        origin: "test".to_owned(),
    };
    let t = Instant::now();
    let err = Engine::connect_to(endpoint).await.expect_err("no answer");
    let took = t.elapsed();
    holder.abort();
    eprintln!("silent tcp://127.0.0.1:{port}: {took:?}: {err}");
    assert!(took >= Duration::from_millis(1900), "{took:?}");
    assert!(took < Duration::from_millis(2500), "{took:?}");
    assert!(err.to_string().contains("no answer within 2 s"), "{err}");
    assert!(matches!(err, EngineError::Unreachable { .. }), "{err:?}");
}

/// The child half of the next test: an attached one-off with a TTY, run inside `script`'s
/// pseudo-terminal.
#[tokio::test]
#[ignore = "run by run_attached_with_a_tty_sizes_it_and_restores_the_terminal under script(1)"]
async fn child_run_attached_with_a_tty() {
    let Ok(project) = std::env::var("DEVENV_TEST_CHILD_PROJECT") else {
        return;
    };
    let engine = Engine::connect().await.expect("connect");
    let mut run_owner = owner(&project, "console");
    run_owner.oneoff = true;
    let mut spec = oneoff_spec(&[
        "sh",
        "-c",
        // API 1.41 cannot size a TTY before start, so the first resize races the program;
        // wait for it rather than for a guessed delay.
        "while [ -z \"$(stty size 2>/dev/null)\" ]; do sleep 0.02; done; \
         echo size-$(stty size | tr ' ' x); read line; echo size-$(stty size | tr ' ' x); echo got-$line; exit 4",
    ]);
    spec.tty = true;
    let id = engine
        .create(&format!("{project}-console-run-1"), &spec, &run_owner)
        .await
        .expect("create");
    let code = engine
        .run_attached(&id, true, true, Stdio::Inherit)
        .await
        .expect("run");
    assert_eq!(code, 4);
}

#[test]
fn run_attached_with_a_tty_sizes_it_and_restores_the_terminal() {
    use std::io::{Read, Write};
    ensure_test_image();
    let project = unique_project();
    let _cleanup = Cleanup::new(&project);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().display();
    let exe = std::env::current_exe().expect("test binary");
    // script(1) gives the child a pseudo-terminal. The shell inside sizes it, records its
    // settings, runs the child in the background (stdin explicitly from the terminal), and
    // when told to, resizes the terminal and signals the child as a window manager would.
    let shell = format!(
        "stty rows 33 cols 111; stty -g > {d}/before; \
         {exe} --exact child_run_attached_with_a_tty --ignored --nocapture 0</dev/tty & child=$!; \
         while [ ! -e {d}/resize ]; do sleep 0.05; done; \
         stty rows 40 cols 120; kill -WINCH $child; touch {d}/resized; \
         wait $child; echo child-exit=$?; stty -g > {d}/after",
        exe = exe.display()
    );
    let script = Command::new("script")
        .args(["-qec", &shell, "/dev/null"])
        .env("DEVENV_TEST_CHILD_PROJECT", &project)
        .stdin(ProcessStdio::piped())
        .stdout(ProcessStdio::piped())
        .stderr(ProcessStdio::piped())
        .spawn()
        .expect("spawn script");
    // A failed assertion must not leave script and its shell looping behind.
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut script = KillOnDrop(script);
    let output = Arc::new(Mutex::new(String::new()));
    let reader = {
        let output = Arc::clone(&output);
        let mut stdout = script.0.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                output
                    .lock()
                    .expect("lock")
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        })
    };
    let wait_for = |what: &dyn Fn() -> bool, label: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !what() {
            if Instant::now() >= deadline {
                let seen = output.lock().map(|o| o.clone()).unwrap_or_default();
                panic!("timed out waiting for {label}; output so far:\n{seen}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    };

    wait_for(
        &|| output.lock().expect("lock").contains("size-33x111"),
        "the first size",
    );
    std::fs::write(dir.path().join("resize"), "").expect("signal resize");
    wait_for(&|| dir.path().join("resized").exists(), "the resize");
    // SIGWINCH → resize call is local and quick; give it a moment before the next `stty size`.
    std::thread::sleep(Duration::from_millis(500));
    let mut stdin = script.0.stdin.take().expect("stdin");
    stdin.write_all(b"hello\r").expect("type");
    stdin.flush().expect("flush");
    wait_for(
        &|| output.lock().expect("lock").contains("child-exit="),
        "the child to end",
    );
    drop(stdin);
    let status = script.0.wait().expect("script ends");
    reader.join().expect("reader");
    let output = output.lock().expect("lock").clone();
    assert!(status.success(), "{output}");
    assert!(output.contains("size-40x120"), "{output}");
    assert!(output.contains("got-hello"), "{output}");
    assert!(output.contains("child-exit=0"), "{output}");
    let before = std::fs::read_to_string(dir.path().join("before")).expect("before");
    let after = std::fs::read_to_string(dir.path().join("after")).expect("after");
    assert_eq!(before, after, "terminal settings restored");
}

/// A stand-in engine that answers the version handshake and then hangs up on every other
/// request: the real engine cannot be made to vanish in a shared test run.
async fn vanishing_engine() -> (String, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head);
                if head.starts_with("GET /version") {
                    let body =
                        r#"{"Version":"20.10.0","ApiVersion":"1.41","MinAPIVersion":"1.12"}"#;
                    let response = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                }
                // Anything else: drop the connection without a word.
            });
        }
    });
    (format!("tcp://{addr}"), server)
}

#[tokio::test]
async fn an_engine_that_goes_away_mid_command_is_lost() {
    let (host, server) = vanishing_engine().await;
    let endpoint = Endpoint {
        host: host.clone(),
        tls: None,
        origin: "test".to_owned(),
    };
    let engine = Engine::connect_to(endpoint).await.expect("handshake works");
    assert_eq!(engine.api_version(), "1.41");
    let err = engine.list("whatever", true).await.expect_err("hung up");
    server.abort();
    match &err {
        EngineError::Lost { address, op, .. } => {
            assert_eq!(address, &host);
            assert!(op.contains("list the containers"), "{op}");
        }
        other => panic!("expected Lost, got {other:?}"),
    }
    assert!(err.is_connection_lost());
    let text = err.to_string();
    assert!(
        text.starts_with("lost the docker engine at tcp://127.0.0.1:"),
        "{text}"
    );
    assert!(!text.contains("hyper"), "{text}");
    eprintln!("{text}");
}

/// Starts this test binary again to run one ignored child test, with the project and a file
/// for the child's result in its environment.
fn spawn_child(test: &str, project: &str, result: &std::path::Path) -> std::process::Child {
    Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", test, "--ignored", "--nocapture"])
        .env("DEVENV_TEST_CHILD_PROJECT", project)
        .env("DEVENV_TEST_CHILD_RESULT", result)
        .stdin(ProcessStdio::null())
        .stdout(ProcessStdio::piped())
        .stderr(ProcessStdio::piped())
        .spawn()
        .expect("spawn child")
}

/// Reads a child's stdout until `marker` shows up (or 60 s pass), returning what it read.
fn read_until(stdout: &mut std::process::ChildStdout, marker: &str) -> String {
    use std::io::Read;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    while !seen.contains(marker) {
        assert!(Instant::now() < deadline, "no `{marker}` in:\n{seen}");
        match stdout.read(&mut buf) {
            Ok(0) => panic!("the child closed its output before `{marker}`:\n{seen}"),
            Ok(n) => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
            Err(e) => panic!("reading the child: {e}"),
        }
    }
    seen
}

/// Waits for a child for up to 60 s, killing it after that.
fn wait_or_kill(child: &mut std::process::Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().expect("try_wait").is_some() {
            return;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the child did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The child half of the broken-pipe test.
#[tokio::test]
#[ignore = "run by run_attached_stops_a_one_off_whose_output_nobody_reads"]
async fn child_run_attached_into_a_closed_pipe() {
    let (Ok(project), Ok(result)) = (
        std::env::var("DEVENV_TEST_CHILD_PROJECT"),
        std::env::var("DEVENV_TEST_CHILD_RESULT"),
    ) else {
        return;
    };
    let engine = Engine::connect().await.expect("connect");
    let mut run_owner = owner(&project, "spam");
    run_owner.oneoff = true;
    let spec = ContainerSpec {
        image: TEST_IMAGE.to_owned(),
        command: Some(vec!["yes".to_owned()]),
        ..Default::default()
    };
    let id = engine
        .create(&format!("{project}-spam-run-1"), &spec, &run_owner)
        .await
        .expect("create");
    let code = engine
        .run_attached(&id, false, false, Stdio::Inherit)
        .await
        .expect("run");
    std::fs::write(result, code.to_string()).expect("write result");
}

#[test]
fn run_attached_stops_a_one_off_whose_output_nobody_reads() {
    // `devenv run spam yes | head -1`: once the reader is gone the run must end.
    ensure_test_image();
    let project = unique_project();
    let _cleanup = Cleanup::new(&project);
    let dir = tempfile::tempdir().expect("tempdir");
    let result = dir.path().join("result");
    let mut child = spawn_child("child_run_attached_into_a_closed_pipe", &project, &result);
    let mut stdout = child.stdout.take().expect("stdout");
    read_until(&mut stdout, "y\ny\ny\n");
    drop(stdout);
    wait_or_kill(&mut child);
    let code = std::fs::read_to_string(&result).expect("the child recorded its exit code");
    assert_eq!(code, "141");
    let state = docker_ok(&[
        "ps",
        "-a",
        "--filter",
        &format!("label=dev.devenv.project={project}"),
        "--format",
        "{{.State}}",
    ]);
    assert_eq!(state, "exited");
}

/// The child half of the signal test.
#[tokio::test]
#[ignore = "run by run_attached_passes_ctrl_c_to_the_container"]
async fn child_run_attached_receiving_a_signal() {
    let (Ok(project), Ok(result)) = (
        std::env::var("DEVENV_TEST_CHILD_PROJECT"),
        std::env::var("DEVENV_TEST_CHILD_RESULT"),
    ) else {
        return;
    };
    let engine = Engine::connect().await.expect("connect");
    let mut run_owner = owner(&project, "worker");
    run_owner.oneoff = true;
    let spec = ContainerSpec {
        image: TEST_IMAGE.to_owned(),
        command: Some(vec![
            "sh".to_owned(),
            "-c".to_owned(),
            "trap 'echo got-int; exit 9' INT; echo ready; while true; do sleep 0.1; done"
                .to_owned(),
        ]),
        ..Default::default()
    };
    let id = engine
        .create(&format!("{project}-worker-run-1"), &spec, &run_owner)
        .await
        .expect("create");
    let code = engine
        .run_attached(&id, false, false, Stdio::Inherit)
        .await
        .expect("run");
    std::fs::write(result, code.to_string()).expect("write result");
}

#[test]
fn run_attached_passes_ctrl_c_to_the_container() {
    use std::io::Read;
    ensure_test_image();
    let project = unique_project();
    let _cleanup = Cleanup::new(&project);
    let dir = tempfile::tempdir().expect("tempdir");
    let result = dir.path().join("result");
    let mut child = spawn_child("child_run_attached_receiving_a_signal", &project, &result);
    let mut stdout = child.stdout.take().expect("stdout");
    let mut seen = read_until(&mut stdout, "ready\n");
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    wait_or_kill(&mut child);
    stdout.read_to_string(&mut seen).expect("rest of output");
    let code = std::fs::read_to_string(&result).expect("the child recorded its exit code");
    assert_eq!(code, "9", "{seen}");
    assert!(seen.contains("got-int"), "{seen}");
}

/// Runs `openssl` with the arguments in `dir`, failing the test on error.
fn openssl(dir: &std::path::Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, as DOCKER_CERT_PATH
/// expects them (ca.pem, cert.pem, key.pem) plus the server's pair.
fn make_certificates(dir: &std::path::Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=devenv-test-ca",
    ]);
    openssl(dir, &ca);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("client.ext"),
        "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n",
    )
    .expect("write");
    for (key, csr, cert, ext, cn) in [
        (
            "server-key.pem",
            "server.csr",
            "server.pem",
            "server.ext",
            "/CN=127.0.0.1",
        ),
        (
            "key.pem",
            "client.csr",
            "cert.pem",
            "client.ext",
            "/CN=devenv-client",
        ),
    ] {
        let mut req = vec!["req"];
        req.extend(ec);
        req.extend(["-keyout", key, "-out", csr, "-subj", cn]);
        openssl(dir, &req);
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca-key.pem",
                "-CAcreateserial",
                "-out",
                cert,
                "-days",
                "2",
                "-extfile",
                ext,
            ],
        );
    }
}

#[tokio::test]
async fn a_tls_engine_is_reached_with_the_client_certificates() {
    use tokio::io::AsyncBufReadExt;
    let dir = tempfile::tempdir().expect("tempdir");
    make_certificates(dir.path());
    let www = dir.path().join("www");
    std::fs::create_dir(&www).expect("mkdir");
    std::fs::write(
        www.join("version"),
        r#"{"Version":"20.10.0","ApiVersion":"1.41","MinAPIVersion":"1.12"}"#,
    )
    .expect("write");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    // openssl's test server stands in for a TLS engine: it demands a client certificate
    // signed by the CA and serves GET /version from the www directory.
    let mut server = tokio::process::Command::new("openssl")
        .args(["s_server", "-accept", &format!("127.0.0.1:{port}")])
        .args(["-cert", "../server.pem", "-key", "../server-key.pem"])
        .args(["-CAfile", "../ca.pem", "-Verify", "1", "-WWW"])
        .current_dir(&www)
        .stdin(ProcessStdio::null())
        .stdout(ProcessStdio::piped())
        .stderr(ProcessStdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start openssl s_server");
    let mut lines = tokio::io::BufReader::new(server.stdout.take().expect("stdout")).lines();
    let ready = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("ACCEPT") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(ready, Ok(true), "openssl s_server did not start");

    let cert_dir = dir.path().to_string_lossy().into_owned();
    let host = format!("tcp://127.0.0.1:{port}");
    let vars = BTreeMap::from([
        ("DOCKER_HOST", host.clone()),
        ("DOCKER_TLS_VERIFY", "1".to_owned()),
        ("DOCKER_CERT_PATH", cert_dir.clone()),
    ]);
    let endpoint = resolve_endpoint_with(&|name| vars.get(name).cloned(), None).expect("resolves");
    assert!(endpoint.tls.is_some());
    let engine = Engine::connect_to(endpoint)
        .await
        .expect("TLS handshake and version");
    assert_eq!(engine.api_version(), "1.41");

    // Without the certificates the same address is refused, with the reason.
    let endpoint = Endpoint {
        host: host.clone(),
        tls: None,
        origin: "test".to_owned(),
    };
    let err = Engine::connect_to(endpoint)
        .await
        .expect_err("plain HTTP to a TLS port");
    assert!(matches!(err, EngineError::Unreachable { .. }), "{err:?}");

    // Certificates that are not there are named.
    let vars = BTreeMap::from([
        ("DOCKER_HOST", host),
        ("DOCKER_TLS_VERIFY", "1".to_owned()),
        ("DOCKER_CERT_PATH", format!("{cert_dir}/missing")),
    ]);
    let endpoint = resolve_endpoint_with(&|name| vars.get(name).cloned(), None).expect("resolves");
    let err = Engine::connect_to(endpoint)
        .await
        .expect_err("no certificates");
    assert!(
        err.to_string().contains("missing/ca.pem does not exist"),
        "{err}"
    );
    server.kill().await.expect("stop s_server");
}
