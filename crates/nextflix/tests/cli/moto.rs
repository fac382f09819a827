//! The same parts against a different AWS-compatible backend: moto's server (pip's
//! `moto[server]`, which scripts/test.sh installs) instead of our embedded endpoint.
//! `nextflix topology apply` creates the topology there; the catalog, the four
//! services and the web run as `nextflix` processes pointed at it; an event posted
//! to the web reaches every service through moto's SNS and SQS, and the bucket.
//! Skipped, saying so, when `moto_server` cannot be found.

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Server, nextflix};

/// moto's server on its own port, killed on drop.
struct Moto {
    child: Child,
    url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `moto_server` on PATH, else in the project's test venv (`.venv/bin`).
fn moto_server() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin")])
        .map(|dir| dir.join("moto_server"))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

impl Moto {
    fn start(program: &Path) -> Moto {
        let port = free_port();
        let child = Command::new(program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let moto = Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "moto_server did not listen on 127.0.0.1:{port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        moto
    }
}

/// Polls `check` until it returns `Ok`, or fails with what it last saw.
async fn poll<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let start = Instant::now();
    loop {
        match check().await {
            Ok(value) => return value,
            Err(last) if start.elapsed() >= timeout => {
                panic!("{what}: not within {timeout:?}; last seen: {last}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

async fn get_json(http: &reqwest::Client, url: &str) -> Result<Value, String> {
    let response = http.get(url).send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{url}: HTTP {status}: {body}"));
    }
    serde_json::from_str(&body).map_err(|e| format!("{url}: {e}: {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_services_and_the_web_run_against_moto() {
    let Some(program) = moto_server() else {
        eprintln!(
            "SKIPPED the_services_and_the_web_run_against_moto: moto_server is not on PATH \
             (scripts/test.sh installs it in .venv; by hand: pip install 'moto[server]')"
        );
        return;
    };
    let moto = Moto::start(&program);
    let state = tempfile::tempdir().unwrap();
    let aws = |extra: &[(&'static str, String)]| -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("AWS_ENDPOINT_URL", moto.url.clone()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
            ("NEXTFLIX_STATE_DIR", state.path().display().to_string()),
        ];
        env.extend(extra.iter().cloned());
        env
    };
    let as_paths = |env: &[(&'static str, String)]| -> Vec<(&'static str, PathBuf)> {
        env.iter().map(|(k, v)| (*k, PathBuf::from(v))).collect()
    };

    // The topology, on moto.
    let mut apply = nextflix();
    apply
        .args(["topology", "apply"])
        .env_remove("NEXTFLIX_TOPOLOGY");
    for (k, v) in aws(&[]) {
        apply.env(k, v);
    }
    let out = apply.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "topology apply on moto failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let applied: BTreeMap<String, String> = stdout
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    for key in [
        "AWS_SNS_TOPIC_ARN",
        "AWS_S3_BUCKET",
        "SEARCH_QUEUE_URL",
        "RECOMMENDATION_QUEUE_URL",
        "STREAMING_QUEUE_URL",
        "USER_QUEUE_URL",
    ] {
        assert!(applied.contains_key(key), "{key} not in {stdout}");
    }
    assert!(
        applied["USER_QUEUE_URL"].starts_with(&moto.url),
        "the queues are moto's: {stdout}"
    );

    // The parts, as processes.
    let env = as_paths(&aws(&[]));
    let env_refs: Vec<(&str, &Path)> = env.iter().map(|(k, v)| (*k, v.as_path())).collect();
    let catalog = Server::start(&["catalog"], &env_refs);
    let kinds = ["search", "recommendation", "streaming", "user"];
    let services: BTreeMap<&str, Server> = kinds
        .iter()
        .map(|kind| {
            let queue = &applied[&format!("{}_QUEUE_URL", kind.to_uppercase())];
            let server = Server::start(
                &[
                    "service",
                    kind,
                    "--queue-url",
                    queue,
                    "--catalog-url",
                    &catalog.url,
                ],
                &env_refs,
            );
            (*kind, server)
        })
        .collect();
    let web_env = as_paths(&aws(&[
        ("AWS_SNS_TOPIC_ARN", applied["AWS_SNS_TOPIC_ARN"].clone()),
        ("AWS_S3_BUCKET", applied["AWS_S3_BUCKET"].clone()),
        (
            "RECOMMENDATION_SERVICE",
            services["recommendation"].url.clone(),
        ),
        ("USER_SERVICE", services["user"].url.clone()),
        (
            "MOVIE_IMAGE_URL",
            format!("http://127.0.0.1:{}/t/p/", free_port()),
        ),
    ]));
    let web_refs: Vec<(&str, &Path)> = web_env.iter().map(|(k, v)| (*k, v.as_path())).collect();
    let web = Server::start(&["web", "--catalog-url", &catalog.url], &web_refs);

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    // Every service answers /ready once its queue (on moto) has answered.
    for (kind, server) in &services {
        let url = format!("{}/ready", server.url);
        poll(
            &format!("the {kind} service ready on moto's queue"),
            Duration::from_secs(30),
            || async {
                let r = http.get(&url).send().await.map_err(|e| e.to_string())?;
                if r.status() == 200 {
                    Ok(())
                } else {
                    Err(format!("HTTP {}", r.status()))
                }
            },
        )
        .await;
    }

    // A visitor with a session opens a title's details.
    let titles = get_json(&http, &format!("{}/discover?type=movie", catalog.url))
        .await
        .unwrap();
    let media_id = titles[0]["id"].clone();
    let page = http
        .get(format!("{}/browse", web.url))
        .send()
        .await
        .unwrap();
    assert!(page.status().is_success());
    let cookie = page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let response = http
        .post(format!("{}/api/analytics", web.url))
        .header("cookie", &cookie)
        .json(&json!({"mediaId": media_id}))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let event: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 200, "POST /api/analytics against moto: {event}");
    let session = event["sessionId"].as_str().unwrap().to_owned();
    let activity = event["activityId"].as_str().unwrap().to_owned();
    let posted = Instant::now();

    // Every service processes it, through moto's SNS → SQS.
    for (kind, server) in &services {
        let url = format!("{}/status", server.url);
        poll(
            &format!("the {kind} service processing the event from moto"),
            Duration::from_secs(20),
            || async {
                let status = get_json(&http, &url).await?;
                if status["eventsProcessed"] == 1 {
                    Ok(status)
                } else {
                    Err(status.to_string())
                }
            },
        )
        .await;
    }
    eprintln!(
        "moto: the four services processed the event {:?} after the POST",
        posted.elapsed()
    );

    // The user service's history has it; the bucket (moto's S3) holds it.
    let history = get_json(
        &http,
        &format!("{}/history?sessionId={session}", services["user"].url),
    )
    .await
    .unwrap();
    assert_eq!(
        history["items"][0]["mediaId"],
        media_id.to_string().trim_matches('"'),
        "{history}"
    );
    assert_eq!(history["items"][0]["activityId"], activity, "{history}");
    // (Signed: moto, like S3, refuses an anonymous GetObject on a private bucket.)
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(&moto.url)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    let object = s3
        .get_object()
        .bucket(&applied["AWS_S3_BUCKET"])
        .key(format!("{session}/{activity}.json"))
        .send()
        .await
        .expect("the event's object in moto's S3");
    assert_eq!(object.content_type(), Some("application/json"));
    let body = object.body.collect().await.unwrap().into_bytes();
    let stored: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(stored, event);

    // And the web shows the visitor's own rows from the services (it asks them with
    // a short timeout and leaves a slow one's row out, hence the polling).
    let browse = format!("{}/browse", web.url);
    poll(
        "the personal rows on /browse",
        Duration::from_secs(15),
        || async {
            let page = http
                .get(&browse)
                .header("cookie", &cookie)
                .send()
                .await
                .map_err(|e| e.to_string())?
                .text()
                .await
                .map_err(|e| e.to_string())?;
            if page.contains("Recently viewed") && page.contains("Trending now") {
                Ok(())
            } else {
                Err("no Recently viewed and Trending now rows".to_owned())
            }
        },
    )
    .await;
}
