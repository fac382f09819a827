//! What the tests start, all on 127.0.0.1 and each on its own port: the real
//! catalog (in-process), the frontend (in-process), and real peers as processes
//! (moto's server for S3/SQS/SNS, redis-server, chromedriver with headless Chromium).
//! Every process is killed when its handle drops.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use nextflix_common::server::ServerHandle;
use nextflix_web::{AwsCredentials, Config};
use serde_json::Value;

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// Waits until something accepts connections on the port.
pub async fn wait_for_port(port: u16, what: &str, timeout: Duration) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < timeout,
            "{what} did not listen on 127.0.0.1:{port} within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A child process, killed on drop.
pub struct Proc(std::process::Child);

impl Proc {
    pub fn spawn(program: &str, args: &[&str]) -> Self {
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program} (is it installed?): {e}"));
        Proc(child)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `../shared/catalog` beside the project (or `$NEXTFLIX_SHARED_CATALOG`).
pub fn shared_catalog_dir() -> PathBuf {
    let dir = std::env::var_os("NEXTFLIX_SHARED_CATALOG")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/catalog")
        });
    assert!(
        dir.join("data_movies.json").is_file(),
        "the original catalog data is expected in {} (set NEXTFLIX_SHARED_CATALOG)",
        dir.display()
    );
    dir
}

/// Where screenshots go: `artifacts/` at the top of the project (gitignored).
pub fn artifacts_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../artifacts");
    std::fs::create_dir_all(&dir).expect("the artifacts folder");
    dir
}

/// The real catalog, in-process.
pub struct Catalog {
    pub server: ServerHandle,
    _state: tempfile::TempDir,
    _data: Option<tempfile::TempDir>,
}

impl Catalog {
    /// The built-in catalog.
    pub async fn builtin() -> Self {
        Self::start(None, None).await
    }

    /// The original data files.
    pub async fn shared() -> Self {
        Self::start(Some(shared_catalog_dir()), None).await
    }

    /// A catalog of exactly these movies and shows (TMDB records).
    pub async fn with_records(movies: &[Value], shows: &[Value]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let keyed = |records: &[Value]| {
            let map: serde_json::Map<String, Value> = records
                .iter()
                .map(|r| (r["id"].to_string(), r.clone()))
                .collect();
            Value::Object(map).to_string()
        };
        std::fs::write(dir.path().join("data_movies.json"), keyed(movies)).unwrap();
        std::fs::write(dir.path().join("data_tv.json"), keyed(shows)).unwrap();
        let path = dir.path().to_owned();
        Self::start(Some(path), Some(dir)).await
    }

    async fn start(data_dir: Option<PathBuf>, data: Option<tempfile::TempDir>) -> Self {
        Self::start_on(data_dir, data, "127.0.0.1:0").await
    }

    /// The built-in catalog on a given address (to come up after the frontend).
    pub async fn builtin_on(addr: &str) -> Self {
        Self::start_on(None, None, addr).await
    }

    async fn start_on(
        data_dir: Option<PathBuf>,
        data: Option<tempfile::TempDir>,
        addr: &str,
    ) -> Self {
        let state = tempfile::tempdir().unwrap();
        let config = nextflix_catalog::Config {
            data_dir,
            state_dir: state.path().to_owned(),
        };
        let router = nextflix_catalog::build(&config).expect("the catalog loads");
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let server = nextflix_common::server::spawn(listener, router).unwrap();
        Catalog {
            server,
            _state: state,
            _data: data,
        }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }
}

/// The frontend, in-process.
pub struct Web {
    pub server: ServerHandle,
    pub client: reqwest::Client,
}

impl Web {
    pub async fn start(config: Config) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = nextflix_web::spawn(config, listener)
            .await
            .expect("the frontend starts");
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Web { server, client }
    }

    /// A frontend on `catalog` with nothing else configured.
    pub async fn on(catalog: &str) -> Self {
        Self::start(config(catalog)).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url())
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let r = self.get(path).await;
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }

    pub async fn post(&self, path: &str, body: &str, cookie: Option<&str>) -> (u16, Value) {
        let mut request = self
            .client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(id) = cookie {
            request = request.header("cookie", format!("session_id={id}"));
        }
        let r = request.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }
}

/// A configuration with the catalog and nothing else.
pub fn config(catalog: &str) -> Config {
    Config {
        catalog_url: catalog.to_owned(),
        ..Config::default()
    }
}

/// The session id a response sets, if it sets one.
pub fn set_cookie_session(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("session_id="))
        .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
}

/// moto's server: S3, SQS and SNS on one port.
pub struct Moto {
    pub url: String,
    _proc: Proc,
}

impl Moto {
    pub async fn start() -> Self {
        let port = free_port();
        let proc = Proc::spawn("moto_server", &["-H", "127.0.0.1", "-p", &port.to_string()]);
        wait_for_port(port, "moto_server", Duration::from_secs(60)).await;
        Moto {
            url: format!("http://127.0.0.1:{port}"),
            _proc: proc,
        }
    }

    pub async fn sdk(&self) -> SdkConfig {
        sdk_config(&self.url).await
    }

    /// The frontend's configuration for this endpoint (test credentials).
    pub fn web_config(&self, catalog: &str) -> Config {
        Config {
            aws_region: Some("us-east-1".to_owned()),
            aws_endpoint_url: Some(self.url.clone()),
            aws_credentials: Some(test_credentials()),
            ..config(catalog)
        }
    }
}

pub fn test_credentials() -> AwsCredentials {
    AwsCredentials {
        access_key_id: "test".to_owned(),
        secret_access_key: "test".to_owned(),
    }
}

pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await
}

pub fn s3_client(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(true)
            .build(),
    )
}

pub async fn create_bucket(sdk: &SdkConfig, name: &str) {
    s3_client(sdk)
        .create_bucket()
        .bucket(name)
        .send()
        .await
        .expect("create the bucket");
}

/// Creates a queue; returns its URL and ARN.
pub async fn create_queue(sdk: &SdkConfig, name: &str) -> (String, String) {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let url = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .expect("create the queue")
        .queue_url
        .expect("a queue URL");
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("the queue's ARN");
    let arn = attributes
        .attributes
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .cloned()
        })
        .expect("a queue ARN");
    (url, arn)
}

/// Creates a topic with these queues (ARNs) subscribed; returns the topic ARN.
pub async fn create_topic(sdk: &SdkConfig, name: &str, queue_arns: &[&str]) -> String {
    let sns = aws_sdk_sns::Client::new(sdk);
    let arn = sns
        .create_topic()
        .name(name)
        .send()
        .await
        .expect("create the topic")
        .topic_arn
        .expect("a topic ARN");
    for queue in queue_arns {
        sns.subscribe()
            .topic_arn(&arn)
            .protocol("sqs")
            .endpoint(*queue)
            .send()
            .await
            .expect("subscribe the queue");
    }
    arn
}

/// Waits for one message on the queue, deletes it, and returns its body.
pub async fn receive_one(sdk: &SdkConfig, queue_url: &str) -> String {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let start = Instant::now();
    loop {
        let out = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(1)
            .wait_time_seconds(2)
            .send()
            .await
            .expect("receive from the queue");
        if let Some(message) = out.messages.unwrap_or_default().into_iter().next() {
            if let Some(handle) = &message.receipt_handle {
                sqs.delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .expect("delete the message");
            }
            return message.body.unwrap_or_default();
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no message on {queue_url}"
        );
    }
}

/// The event inside an SNS notification delivered to SQS (or the body itself
/// when it is not a notification).
pub fn unwrap_notification(body: &str) -> Value {
    let value: Value = serde_json::from_str(body).expect("a JSON message");
    match value.get("Message").and_then(Value::as_str) {
        Some(inner) if value.get("Type").and_then(Value::as_str) == Some("Notification") => {
            serde_json::from_str(inner).expect("a JSON event in the notification")
        }
        _ => value,
    }
}

/// An S3 object's content type and body.
pub async fn get_object(sdk: &SdkConfig, bucket: &str, key: &str) -> (Option<String>, Vec<u8>) {
    let out = s3_client(sdk)
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("object {bucket}/{key}: {e:?}"));
    let content_type = out.content_type.clone();
    let body = out.body.collect().await.unwrap().into_bytes().to_vec();
    (content_type, body)
}

/// redis-server on a random port, without persistence.
pub struct Redis {
    pub url: String,
    _proc: Proc,
}

impl Redis {
    pub async fn start() -> Self {
        let port = free_port();
        let proc = Proc::spawn(
            "redis-server",
            &[
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
        );
        wait_for_port(port, "redis-server", Duration::from_secs(20)).await;
        Redis {
            url: format!("redis://127.0.0.1:{port}"),
            _proc: proc,
        }
    }

    pub async fn connection(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }
}

/// Only one browser at a time: the machine has two cores.
pub static BROWSER_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// chromedriver on a random port and a headless Chromium session with a fresh profile.
pub struct Browser {
    pub client: fantoccini::Client,
    _driver: Proc,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn start() -> Self {
        let driver_bin =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".to_owned());
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
        let port = free_port();
        let driver = Proc::spawn(
            &driver_bin,
            &[&format!("--port={port}"), "--allowed-ips=127.0.0.1"],
        );
        wait_for_port(port, "chromedriver", Duration::from_secs(30)).await;
        let profile = tempfile::tempdir().unwrap();
        let args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-gpu".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--window-size=1366,900".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            serde_json::json!({ "binary": chromium, "args": args }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = fantoccini::ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a Chromium session through chromedriver");
        Browser {
            client,
            _driver: driver,
            _profile: profile,
        }
    }

    /// Polls a JavaScript expression until it is truthy; returns its value.
    pub async fn wait_for_js(&self, expression: &str, what: &str) -> Value {
        let start = Instant::now();
        loop {
            let value = self
                .client
                .execute(&format!("return ({expression});"), vec![])
                .await
                .expect("run a script in the page");
            let truthy = match &value {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return value;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "timed out waiting for {what} ({expression})"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn js(&self, expression: &str) -> Value {
        self.client
            .execute(&format!("return ({expression});"), vec![])
            .await
            .expect("run a script in the page")
    }

    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("a screenshot");
        std::fs::write(artifacts_dir().join(name), png).expect("save the screenshot");
    }

    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}
