//! The deployment in `deploy/` and `.github/`, checked without a Docker engine and
//! without contacting any host: `docker-compose config` validates compose.yaml, every
//! container's and every systemd unit's command is parsed by the real binary, the
//! healthcheck probes run against real servers on 127.0.0.1, the topology container's
//! output matches the queue URLs the services are given, `systemd-analyze verify`
//! checks the units, `deploy.sh --dry-run` prints its commands and runs none of them
//! (stubs of docker, ssh and scp record any call), and the workflow parses.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::support::{Server, nextflix};

const SERVICES: [(&str, u16); 4] = [
    ("search", 8101),
    ("recommendation", 8102),
    ("streaming", 8103),
    ("user", 8104),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn output(command: &mut Command, what: &str) -> Output {
    command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"))
}

/// YAML to JSON through Python's yaml module (PyYAML: a dependency of docker-compose
/// and of the AWS CLI that the test script installs).
fn yaml_to_json(yaml: &str) -> Value {
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 is needed to read YAML (scripts/test.sh installs it)");
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(yaml.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the YAML does not parse (or python3 has no yaml module): {}",
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `docker-compose -f deploy/compose.yaml ARGS` with none of the file's settings
/// coming from this environment.
fn docker_compose(args: &[&str]) -> Output {
    let mut command = Command::new("docker-compose");
    command
        .current_dir(root())
        .args(["-f", "deploy/compose.yaml"])
        .args(args);
    for var in [
        "AWS_REGION",
        "NEXTFLIX_IMAGE",
        "WEB_PORT",
        "CATALOG_PORT",
        "ENDPOINT_PORT",
        "RUST_LOG",
        "DOCKER_HOST",
        "COMPOSE_FILE",
        "COMPOSE_PROJECT_NAME",
    ] {
        command.env_remove(var);
    }
    match command.output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "docker-compose is not installed: the issue asks for `docker compose config` \
             validation; scripts/test.sh installs Debian's docker-compose \
             (apt-get install docker-compose)"
        ),
        Err(e) => panic!("cannot run docker-compose: {e}"),
    }
}

/// The compose file as docker-compose resolves it (anchors merged, variables set).
fn resolved_compose() -> Value {
    let out = docker_compose(&["config"]);
    assert!(
        out.status.success(),
        "docker-compose config: {}",
        text(&out.stderr)
    );
    yaml_to_json(&text(&out.stdout))
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// `nextflix ARGS --help` succeeds: clap has parsed every flag before `--help`.
fn assert_parses(args: &[String], whose: &str) {
    let out = output(
        nextflix().args(args).arg("--help"),
        &format!("nextflix {args:?}"),
    );
    assert!(
        out.status.success(),
        "{whose}: `nextflix {}` is not a valid command line: {}",
        args.join(" "),
        text(&out.stderr)
    );
}

/// The port a healthcheck probes and the path it asks for.
fn probe_target(probe: &str) -> (u16, String) {
    let port = probe
        .split("/dev/tcp/127.0.0.1/")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("the probe has no /dev/tcp/127.0.0.1/PORT: {probe}"));
    let path = probe
        .split("GET ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("the probe sends no GET: {probe}"))
        .to_owned();
    (port, path)
}

/// Runs a healthcheck's probe with its port replaced by `port`.
fn probe_succeeds(probe: &str, from: u16, port: u16) -> bool {
    let probe = probe.replace(
        &format!("/dev/tcp/127.0.0.1/{from}"),
        &format!("/dev/tcp/127.0.0.1/{port}"),
    );
    output(Command::new("bash").args(["-c", &probe]), "bash")
        .status
        .success()
}

fn port_of(url: &str) -> u16 {
    url.rsplit(':').next().unwrap().parse().unwrap()
}

#[test]
fn compose_config_validates() {
    let out = docker_compose(&["config", "-q"]);
    assert!(
        out.status.success(),
        "docker-compose -f deploy/compose.yaml config -q failed:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn every_container_runs_a_real_subcommand_and_is_wired_as_the_tutorial_deploys() {
    let compose = resolved_compose();
    let services = compose["services"].as_object().unwrap();
    let names: BTreeSet<&str> = services.keys().map(String::as_str).collect();
    let mut want: BTreeSet<&str> = ["endpoint", "topology", "catalog", "web", "redis"].into();
    want.extend(SERVICES.iter().map(|(kind, _)| *kind));
    assert_eq!(names, want);
    assert!(
        services["redis"]["image"]
            .as_str()
            .unwrap()
            .starts_with("redis:")
    );

    for (name, service) in services {
        if name == "redis" {
            continue;
        }
        assert_eq!(service["image"], "nextflix:latest", "{name}");
        let command = strings(&service["command"]);
        assert_parses(&command, &format!("compose service {name}"));
        if name == "topology" {
            assert_eq!(command[..2], ["topology", "apply"]);
            assert_eq!(service["restart"], "no");
            assert_eq!(
                service["depends_on"]["endpoint"]["condition"],
                "service_healthy"
            );
            continue;
        }
        // Listens on every interface, on the port its healthcheck probes.
        let bind = command
            .windows(2)
            .find(|w| w[0] == "--bind")
            .map(|w| w[1].clone())
            .unwrap_or_else(|| panic!("{name} has no --bind"));
        assert!(bind.starts_with("0.0.0.0:"), "{name} binds {bind}");
        let probe = strings(&service["healthcheck"]["test"]);
        assert_eq!(probe[..3], ["CMD", "bash", "-c"], "{name}");
        let (port, path) = probe_target(&probe[3]);
        assert_eq!(bind, format!("0.0.0.0:{port}"), "{name}");
        let ready = if name == "endpoint" {
            "/_nextflix/ready"
        } else {
            "/ready"
        };
        assert_eq!(path, ready, "{name}");
        // State in the volume mounted where the image keeps it.
        let volumes = strings(&service["volumes"]);
        assert!(
            volumes.iter().any(|v| v.contains(":/var/lib/nextflix")),
            "{name}: {volumes:?}"
        );
    }

    let env = |name: &str, key: &str| -> String {
        services[name]["environment"][key]
            .as_str()
            .unwrap_or_else(|| panic!("{name} has no {key}"))
            .to_owned()
    };
    assert_eq!(env("web", "MOVIE_CATALOG_SERVICE"), "http://catalog:8080");
    assert_eq!(env("web", "AWS_ENDPOINT_URL"), "http://endpoint:4566");
    assert_eq!(env("web", "AWS_REGION"), "us-east-1");
    assert_eq!(env("web", "REDIS_URL"), "redis://redis:6379");
    assert_eq!(env("web", "AWS_S3_BUCKET"), "nextflix-events");
    assert_eq!(
        env("web", "AWS_SNS_TOPIC_ARN"),
        "arn:aws:sns:us-east-1:000000000000:netflix-events-topic"
    );
    for key in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
        assert!(!env("web", key).is_empty());
    }
    for (kind, _) in SERVICES {
        assert_eq!(
            env(kind, "SERVICE_QUEUE_URL"),
            format!("http://endpoint:4566/000000000000/{kind}")
        );
    }
    for name in ["web", "search", "recommendation", "streaming", "user"] {
        assert_eq!(
            services[name]["depends_on"]["topology"]["condition"], "service_completed_successfully",
            "{name} must start after the topology exists"
        );
        assert_eq!(
            services[name]["depends_on"]["catalog"]["condition"], "service_healthy",
            "{name}"
        );
    }
    assert_eq!(
        services["web"]["depends_on"]["redis"]["condition"],
        "service_healthy"
    );
}

#[test]
fn the_healthchecks_and_the_topology_container_work_against_real_parts() {
    let compose = resolved_compose();
    let services = &compose["services"];
    let probe = |name: &str| strings(&services[name]["healthcheck"]["test"])[3].clone();

    // The endpoint's probe, against a real endpoint: ready is 200.
    let state = tempfile::tempdir().unwrap();
    let endpoint = Server::start(&["endpoint", "--in-memory"], &[]);
    let endpoint_port = port_of(&endpoint.url);
    assert!(probe_succeeds(&probe("endpoint"), 4566, endpoint_port));
    // ... and the catalog's against a real catalog.
    let catalog = Server::start(&["catalog"], &[("NEXTFLIX_STATE_DIR", state.path())]);
    assert!(probe_succeeds(
        &probe("catalog"),
        8080,
        port_of(&catalog.url)
    ));
    // A probe fails when nothing answers 200: the endpoint has no /ready.
    let web_probe = probe("web");
    assert!(!probe_succeeds(&web_probe, 3000, endpoint_port));
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    assert!(!probe_succeeds(&probe("endpoint"), 4566, closed_port));

    // The topology container's command and environment, against the real endpoint:
    // the queues it creates are the ones the services are given.
    let command = strings(&services["topology"]["command"]);
    let mut apply = nextflix();
    apply.args(&command).env_clear();
    for (key, value) in services["topology"]["environment"].as_object().unwrap() {
        apply.env(key, value.as_str().unwrap());
    }
    apply.env("AWS_ENDPOINT_URL", &endpoint.url);
    let out = output(&mut apply, "nextflix topology apply");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed: BTreeMap<String, String> = text(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let web_env = &services["web"]["environment"];
    assert_eq!(
        printed["AWS_SNS_TOPIC_ARN"],
        web_env["AWS_SNS_TOPIC_ARN"].as_str().unwrap()
    );
    assert_eq!(
        printed["AWS_S3_BUCKET"],
        web_env["AWS_S3_BUCKET"].as_str().unwrap()
    );
    let host = endpoint.url.trim_start_matches("http://");
    for (kind, _) in SERVICES {
        let given = services[kind]["environment"]["SERVICE_QUEUE_URL"]
            .as_str()
            .unwrap()
            .replace("endpoint:4566", host);
        assert_eq!(
            printed[&format!("{}_QUEUE_URL", kind.to_uppercase())],
            given
        );
    }
    // Applying again (a container restart) changes nothing and still succeeds.
    let again = output(&mut apply, "nextflix topology apply");
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert_eq!(text(&again.stdout), text(&out.stdout));
}

/// The unit files, by name.
fn units() -> BTreeMap<String, String> {
    let dir = root().join("deploy/systemd");
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e == "service" || e == "target")
        })
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect()
}

fn directives<'a>(unit: &'a str, key: &str) -> Vec<&'a str> {
    unit.lines()
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .collect()
}

#[test]
fn every_systemd_unit_runs_a_real_subcommand_as_a_hardened_dedicated_user() {
    let units = units();
    let names: BTreeSet<&str> = units.keys().map(String::as_str).collect();
    for want in [
        "nextflix-endpoint.service",
        "nextflix-catalog.service",
        "nextflix-web.service",
        "nextflix-topology.service",
        "nextflix-service@.service",
        "nextflix.target",
    ] {
        assert!(names.contains(want), "deploy/systemd has no {want}");
    }
    let target = &units["nextflix.target"];
    for (name, unit) in &units {
        if name.ends_with(".target") {
            continue;
        }
        let instances: Vec<String> = if name.contains("@.") {
            SERVICES.iter().map(|(k, _)| (*k).to_owned()).collect()
        } else {
            vec![String::new()]
        };
        for instance in instances {
            let exec = directives(unit, "ExecStart");
            assert_eq!(exec.len(), 1, "{name}");
            let words: Vec<String> = exec[0]
                .replace("%i", &instance)
                .split_whitespace()
                .map(str::to_owned)
                .collect();
            assert_eq!(words[0], "/usr/local/bin/nextflix", "{name}");
            assert_parses(&words[1..], name);
            let unit_name = name.replace("@.", &format!("@{instance}."));
            assert!(
                target.contains(&unit_name),
                "nextflix.target does not want {unit_name}"
            );
        }
        for (key, want) in [
            ("User", "nextflix"),
            ("Group", "nextflix"),
            ("StateDirectory", "nextflix"),
            ("Restart", "on-failure"),
            ("NoNewPrivileges", "yes"),
            ("ProtectSystem", "strict"),
            ("ProtectHome", "yes"),
            ("PrivateTmp", "yes"),
            ("CapabilityBoundingSet", ""),
            ("Environment", "NEXTFLIX_STATE_DIR=%S/nextflix"),
        ] {
            assert!(
                directives(unit, key).contains(&want),
                "{name}: no {key}={want}"
            );
        }
        assert!(
            directives(unit, "EnvironmentFile").contains(&"-/etc/nextflix/nextflix.env"),
            "{name}: no EnvironmentFile"
        );
        assert!(
            directives(unit, "WantedBy").contains(&"nextflix.target"),
            "{name}"
        );
    }
}

#[test]
fn systemd_analyze_verifies_the_units() {
    let Ok(version) = Command::new("systemd-analyze").arg("--version").output() else {
        println!("note: systemd-analyze is not installed; the units were checked by parsing only");
        return;
    };
    assert!(version.status.success());
    // The units as installed, with ExecStart pointing at the binary under test and the
    // template instantiated once per service.
    let dir = tempfile::tempdir().unwrap();
    let binary = env!("CARGO_BIN_EXE_nextflix");
    let mut files = Vec::new();
    for (name, unit) in units() {
        let unit = unit.replace("/usr/local/bin/nextflix", binary);
        let names: Vec<String> = if name.contains("@.") {
            SERVICES
                .iter()
                .map(|(k, _)| name.replace("@.", &format!("@{k}.")))
                .chain([name.clone()])
                .collect()
        } else {
            vec![name.clone()]
        };
        for n in names {
            std::fs::write(dir.path().join(&n), &unit).unwrap();
            if !n.contains("@.") {
                files.push(format!("./{n}"));
            }
        }
    }
    let out = output(
        Command::new("systemd-analyze")
            .current_dir(dir.path())
            .args(["verify", "--man=no"])
            .args(&files),
        "systemd-analyze verify",
    );
    let stderr = text(&out.stderr);
    assert!(
        out.status.success(),
        "systemd-analyze verify {files:?}:\n{stderr}"
    );
    for complaint in ["Unknown", "ignoring", "not executable", "Failed", "Invalid"] {
        assert!(
            !stderr.contains(complaint),
            "systemd-analyze verify complains:\n{stderr}"
        );
    }
}

/// A directory of stubs for the commands deploy.sh must not run in a dry run: each
/// records its call in `calls` and fails.
fn stubs(dir: &Path) -> PathBuf {
    let calls = dir.join("calls");
    for name in ["docker", "ssh", "scp", "curl", "rsync"] {
        let path = dir.join(name);
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\necho \"{name} $*\" >> '{}'\nexit 1\n",
                calls.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    calls
}

fn deploy_sh(args: &[&str], env: &[(&str, &str)], stub_dir: &Path) -> Output {
    let path = format!(
        "{}:{}",
        stub_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new("bash");
    command
        .arg(root().join("deploy/deploy.sh"))
        .args(args)
        .env("PATH", path);
    for var in [
        "DEPLOY_HOST",
        "DEPLOY_USER",
        "DEPLOY_PORT",
        "DEPLOY_SSH_KEY",
        "DEPLOY_DIR",
        "DEPLOY_DOCKER",
        "DEPLOY_WEB_PORT",
        "NEXTFLIX_IMAGE",
        "DOCKER",
        "SSH_OPTS",
    ] {
        command.env_remove(var);
    }
    command.envs(env.iter().copied());
    output(&mut command, "deploy/deploy.sh")
}

#[test]
fn deploy_dry_run_prints_the_docker_and_ssh_commands_and_runs_none() {
    let syntax = output(
        Command::new("bash")
            .arg("-n")
            .arg(root().join("deploy/deploy.sh")),
        "bash -n",
    );
    assert!(syntax.status.success(), "{}", text(&syntax.stderr));

    let stub_dir = tempfile::tempdir().unwrap();
    let calls = stubs(stub_dir.path());
    // deploy.invalid cannot resolve (RFC 2606); the stubs catch any call anyway.
    let env = [
        ("DEPLOY_HOST", "deploy.invalid"),
        ("DEPLOY_USER", "ci"),
        ("DEPLOY_SSH_KEY", "/nonexistent/key"),
        ("NEXTFLIX_IMAGE", "nextflix:test"),
    ];
    let out = deploy_sh(&["--dry-run"], &env, stub_dir.path());
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        !calls.exists(),
        "a dry run ran: {}",
        std::fs::read_to_string(&calls).unwrap()
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines.iter().all(|l| l.starts_with("+ ")),
        "every line is a command: {stdout}"
    );
    let root = root();
    let expect_in_order = [
        format!(
            "docker build -f {}/deploy/Dockerfile -t nextflix:test {}",
            root.display(),
            root.display()
        ),
        "docker save nextflix:test | gzip -1 | ssh -o BatchMode=yes".to_owned(),
        "-i /nonexistent/key -p 22 ci@deploy.invalid 'gunzip | docker load'".to_owned(),
        "ci@deploy.invalid 'mkdir -p nextflix".to_owned(),
        format!(
            "scp -o BatchMode=yes -o ConnectTimeout=15 -i /nonexistent/key -P 22 {}/deploy/compose.yaml ci@deploy.invalid:nextflix/compose.yaml",
            root.display()
        ),
        "ci@deploy.invalid 'cd nextflix && docker compose -p nextflix up -d --remove-orphans'"
            .to_owned(),
        "curl -fsS -o /dev/null http://127.0.0.1:3000/ready".to_owned(),
    ];
    let mut at = 0;
    for want in &expect_in_order {
        let found = lines[at..]
            .iter()
            .position(|l| l.contains(want.as_str()))
            .unwrap_or_else(|| panic!("no {want:?} after line {at} in:\n{stdout}"));
        at += found;
    }
    assert!(stdout.contains("NEXTFLIX_IMAGE=%s"), "{stdout}");

    // --no-build ships an existing image: no build line.
    let out = deploy_sh(&["--dry-run", "--no-build"], &env, stub_dir.path());
    assert!(out.status.success());
    assert!(!text(&out.stdout).contains("docker build"));
    assert!(text(&out.stdout).contains("docker save nextflix:test"));

    // Without a host it stops before doing anything.
    let out = deploy_sh(
        &["--dry-run"],
        &[("NEXTFLIX_IMAGE", "nextflix:test")],
        stub_dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("DEPLOY_HOST"));
    assert!(!calls.exists());
}

#[test]
fn the_dockerfile_builds_a_small_non_root_runtime_with_the_binary_as_entrypoint() {
    let root = root();
    let dockerfile = std::fs::read_to_string(root.join("deploy/Dockerfile")).unwrap();
    let froms: Vec<&str> = dockerfile
        .lines()
        .filter(|l| l.starts_with("FROM "))
        .collect();
    assert_eq!(froms.len(), 2, "{froms:?}");
    assert!(froms[0].contains("rust:") && froms[0].contains("slim"));
    assert!(froms[1].contains("debian:") && froms[1].contains("-slim"));
    let runtime = dockerfile.split(froms[1]).nth(1).unwrap();
    assert!(runtime.contains("ca-certificates"));
    assert!(runtime.contains("USER nextflix"));
    assert!(runtime.contains("ENTRYPOINT [\"nextflix\"]"));
    let copies: Vec<&str> = runtime.lines().filter(|l| l.starts_with("COPY")).collect();
    assert_eq!(
        copies,
        ["COPY --from=build /out/nextflix /usr/local/bin/nextflix"]
    );
    let ignore = std::fs::read_to_string(root.join(".dockerignore")).unwrap();
    let lines: Vec<&str> = ignore.lines().collect();
    for want in ["*", "!Cargo.toml", "!Cargo.lock", "!crates/"] {
        assert!(lines.contains(&want), ".dockerignore has no {want}");
    }
}

#[test]
fn the_workflow_tests_builds_and_deploys_on_push_to_main() {
    let yaml = std::fs::read_to_string(root().join(".github/workflows/deploy.yml")).unwrap();
    let workflow = yaml_to_json(&yaml);
    // YAML 1.1 reads the key `on` as true.
    let on = workflow
        .get("on")
        .or_else(|| workflow.get("true"))
        .expect("no `on`");
    assert_eq!(strings(&on["push"]["branches"]), ["main"]);
    let jobs = workflow["jobs"].as_object().unwrap();
    for job in ["test", "image", "deploy"] {
        assert!(jobs.contains_key(job), "no job {job}");
        assert!(
            jobs[job]["steps"].as_array().is_some_and(|s| !s.is_empty()),
            "{job}"
        );
    }
    assert_eq!(strings(&jobs["deploy"]["needs"]), ["test", "image"]);
    let runs = |job: &str| -> String {
        jobs[job]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["run"].as_str())
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(runs("test").contains("./scripts/test.sh"));
    assert!(yaml.contains("file: deploy/Dockerfile"));
    assert!(runs("deploy").contains("deploy/deploy.sh --no-build"));
    for secret in ["DEPLOY_HOST", "DEPLOY_USER", "DEPLOY_SSH_KEY"] {
        assert!(
            yaml.contains(&format!("secrets.{secret}")),
            "the workflow does not use the secret {secret}"
        );
    }
}
