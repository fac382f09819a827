//! `nextflix endpoint` as a user runs it: help, serving on a given address, the
//! AWS SDK for Rust against the real binary, SIGTERM, and durability under SIGKILL
//! (every acknowledged send that was not deleted is there after a crash, and no
//! acknowledged delete comes back).

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sqs::primitives::Blob;
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageAttributeValue, MessageSystemAttributeName,
    QueueAttributeName, SendMessageBatchRequestEntry,
};
use md5::{Digest, Md5};
use serde_json::{Value, json};

use crate::support::{Server, nextflix, run};

fn md5_hex(text: &str) -> String {
    format!("{:x}", Md5::digest(text.as_bytes()))
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `nextflix endpoint --bind 127.0.0.1:PORT --state-dir STATE`, logging to `log`.
fn spawn_endpoint(port: u16, state: &Path, log: &Path) -> Child {
    let log = File::options().create(true).append(true).open(log).unwrap();
    nextflix()
        .args([
            "endpoint",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--state-dir",
        ])
        .arg(state)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// Waits until `/_nextflix/ready` answers; false if the process exited first.
async fn ready(http: &reqwest::Client, url: &str, child: &mut Child) -> bool {
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        if let Ok(r) = http.get(format!("{url}/_nextflix/ready")).send().await
            && r.status() == 200
        {
            return true;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "not ready in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Starts the endpoint on `port`, retrying while the port is not free yet.
async fn start_on(http: &reqwest::Client, port: u16, state: &Path, log: &Path) -> Child {
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..50 {
        let mut child = spawn_endpoint(port, state, log);
        if ready(http, &url, &mut child).await {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the endpoint did not start; its log:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

fn sdk(url: &str) -> aws_sdk_sqs::Client {
    let config = aws_sdk_sqs::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .endpoint_url(url)
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

#[test]
fn help_explains_the_endpoint() {
    let (ok, out, _) = run(&["--help"]);
    assert!(ok);
    assert!(out.contains("endpoint"), "{out}");
    let (ok, out, _) = run(&["endpoint", "--help"]);
    assert!(ok);
    for needle in [
        "SQS",
        "--bind",
        "ENDPOINT_BIND",
        "127.0.0.1:4566",
        "--state-dir",
        "NEXTFLIX_STATE_DIR",
        "--in-memory",
        "--account-id",
        "--virtual-clock",
        "--no-admin",
        "AWS_ENDPOINT_URL",
        "/_nextflix/",
    ] {
        assert!(out.contains(needle), "{needle} not in\n{out}");
    }
    let (ok, _, err) = run(&["endpoint", "--account-id", "12", "--in-memory"]);
    assert!(!ok);
    assert!(err.contains("account-id"), "{err}");
}

#[tokio::test]
async fn serves_on_the_given_address_with_its_state_dir() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let log = dir.path().join("endpoint.log");
    let port = free_port();
    let http = reqwest::Client::new();
    let mut child = start_on(&http, port, &state, &log).await;
    let (status, text) = {
        let r = http
            .get(format!("http://127.0.0.1:{port}/_nextflix/ready"))
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    };
    assert_eq!((status.as_u16(), text.as_str()), (200, "OK"));
    let databases = std::fs::read_dir(state.join("endpoint"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "redb"))
        .count();
    assert!(databases > 0, "no database in the state dir");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_sdk_talks_to_the_binary() {
    let state = tempfile::tempdir().unwrap();
    let server = Server::start(
        &["endpoint", "--state-dir", state.path().to_str().unwrap()],
        &[],
    );
    let sqs = sdk(&server.url);

    let created = sqs
        .create_queue()
        .queue_name("sdk-standard")
        .attributes(QueueAttributeName::VisibilityTimeout, "40")
        .tags("team", "video")
        .send()
        .await
        .unwrap();
    let url = created.queue_url().unwrap().to_owned();
    assert_eq!(url, format!("{}/000000000000/sdk-standard", server.url));

    let attribute = |data_type: &str, value: &str| {
        MessageAttributeValue::builder()
            .data_type(data_type)
            .string_value(value)
            .build()
            .unwrap()
    };
    let binary = vec![0u8, 1, 2, 254, 255];
    let body = "hello ✓ <xml> & \"json\"";
    let sent = sqs
        .send_message()
        .queue_url(&url)
        .message_body(body)
        .message_attributes("text", attribute("String", "words"))
        .message_attributes("price", attribute("Number", "3.14"))
        .message_attributes(
            "raw",
            MessageAttributeValue::builder()
                .data_type("Binary")
                .binary_value(Blob::new(binary.clone()))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(sent.md5_of_message_body(), Some(md5_hex(body).as_str()));
    assert_eq!(sent.md5_of_message_attributes().map(str::len), Some(32));

    let entries: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|id| {
            SendMessageBatchRequestEntry::builder()
                .id(*id)
                .message_body(format!("batch {id}"))
                .message_attributes("n", attribute("Number", "1"))
                .build()
                .unwrap()
        })
        .collect();
    let batch = sqs
        .send_message_batch()
        .queue_url(&url)
        .set_entries(Some(entries))
        .send()
        .await
        .unwrap();
    assert_eq!(batch.successful().len(), 3);
    assert!(batch.failed().is_empty());
    for ok in batch.successful() {
        assert_eq!(
            ok.md5_of_message_body(),
            md5_hex(&format!("batch {}", ok.id())).as_str()
        );
    }

    let mut received = Vec::new();
    let started = Instant::now();
    while received.len() < 4 && started.elapsed() < Duration::from_secs(10) {
        let got = sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .unwrap();
        received.extend(got.messages().iter().cloned());
    }
    assert_eq!(received.len(), 4);
    let first = received
        .iter()
        .find(|m| m.body() == Some(body))
        .expect("the single message");
    assert_eq!(first.message_id(), sent.message_id());
    assert_eq!(first.md5_of_body(), Some(md5_hex(body).as_str()));
    assert_eq!(
        first.md5_of_message_attributes(),
        sent.md5_of_message_attributes()
    );
    let attrs = first.message_attributes().unwrap();
    assert_eq!(attrs["text"].string_value(), Some("words"));
    assert_eq!(attrs["price"].string_value(), Some("3.14"));
    assert_eq!(attrs["price"].data_type(), "Number");
    assert_eq!(
        attrs["raw"].binary_value().map(|b| b.as_ref().to_vec()),
        Some(binary)
    );
    let system = first.attributes().unwrap();
    assert_eq!(
        system
            .get(&MessageSystemAttributeName::ApproximateReceiveCount)
            .map(String::as_str),
        Some("1")
    );
    assert!(system.contains_key(&MessageSystemAttributeName::SentTimestamp));
    assert!(system.contains_key(&MessageSystemAttributeName::SenderId));

    let deletes: Vec<_> = received
        .iter()
        .enumerate()
        .map(|(i, m)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(format!("d{i}"))
                .receipt_handle(m.receipt_handle().unwrap())
                .build()
                .unwrap()
        })
        .collect();
    let deleted = sqs
        .delete_message_batch()
        .queue_url(&url)
        .set_entries(Some(deletes))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.successful().len(), 4);
    assert!(deleted.failed().is_empty());

    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let attributes = attributes.attributes().unwrap();
    let get = |name: QueueAttributeName| attributes.get(&name).map(String::as_str);
    assert_eq!(
        get(QueueAttributeName::ApproximateNumberOfMessages),
        Some("0")
    );
    assert_eq!(
        get(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        Some("0")
    );
    assert_eq!(get(QueueAttributeName::VisibilityTimeout), Some("40"));
    assert_eq!(
        get(QueueAttributeName::QueueArn),
        Some("arn:aws:sqs:us-east-1:000000000000:sdk-standard")
    );
    let tags = sqs.list_queue_tags().queue_url(&url).send().await.unwrap();
    assert_eq!(
        tags.tags().and_then(|t| t.get("team")).map(String::as_str),
        Some("video")
    );

    // FIFO: order within the group, deduplication by content, sequence numbers.
    let fifo = sqs
        .create_queue()
        .queue_name("sdk.fifo")
        .attributes(QueueAttributeName::FifoQueue, "true")
        .attributes(QueueAttributeName::ContentBasedDeduplication, "true")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let mut ids = Vec::new();
    let mut sequence = Vec::new();
    for i in 0..5 {
        let sent = sqs
            .send_message()
            .queue_url(&fifo)
            .message_body(format!("f{i}"))
            .message_group_id("g")
            .send()
            .await
            .unwrap();
        ids.push(sent.message_id().unwrap().to_owned());
        sequence.push(sent.sequence_number().unwrap().parse::<u128>().unwrap());
    }
    assert!(sequence.windows(2).all(|w| w[0] < w[1]), "{sequence:?}");
    let duplicate = sqs
        .send_message()
        .queue_url(&fifo)
        .message_body("f0")
        .message_group_id("g")
        .send()
        .await
        .unwrap();
    assert_eq!(duplicate.message_id(), Some(ids[0].as_str()));
    let got = sqs
        .receive_message()
        .queue_url(&fifo)
        .max_number_of_messages(10)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap();
    let bodies: Vec<&str> = got.messages().iter().filter_map(|m| m.body()).collect();
    assert_eq!(bodies, ["f0", "f1", "f2", "f3", "f4"]);
    let group = got.messages()[0]
        .attributes()
        .unwrap()
        .get(&MessageSystemAttributeName::MessageGroupId)
        .cloned();
    assert_eq!(group.as_deref(), Some("g"));

    let listed = sqs.list_queues().send().await.unwrap();
    let mut urls = listed.queue_urls().to_vec();
    urls.sort();
    let mut want = vec![fifo, url];
    want.sort();
    assert_eq!(urls, want);
    let missing = sqs
        .get_queue_url()
        .queue_name("absent")
        .send()
        .await
        .unwrap_err();
    assert!(
        missing.into_service_error().is_queue_does_not_exist(),
        "not QueueDoesNotExist"
    );
}

/// Waits for the process to exit after SIGTERM: exit 0 and "endpoint stopped".
fn assert_graceful_stop(server: &mut Server) {
    let status = server.signal("TERM");
    assert!(status.success(), "{status}");
    let started = Instant::now();
    let mut seen = Vec::new();
    while started.elapsed() < Duration::from_secs(5) {
        match server.logs.recv_timeout(Duration::from_millis(200)) {
            Ok(line) if line.contains("endpoint stopped") => return,
            Ok(line) => seen.push(line),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(_) => {}
        }
    }
    panic!("no 'endpoint stopped' in the log: {seen:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_it_gracefully() {
    let state = tempfile::tempdir().unwrap();
    let mut server = Server::start(
        &["endpoint", "--state-dir", state.path().to_str().unwrap()],
        &[],
    );
    let http = reqwest::Client::new();
    call(
        &http,
        &server.url,
        "CreateQueue",
        json!({"QueueName": "before-stop"}),
    )
    .await
    .expect("serving");
    tokio::task::spawn_blocking(move || assert_graceful_stop(&mut server))
        .await
        .unwrap();
}

/// The SIGTERM handler is installed before "endpoint listening" is logged, so a
/// SIGTERM right after the process says it is ready still stops it gracefully.
#[test]
fn sigterm_right_after_the_ready_line_is_graceful() {
    for _ in 0..20 {
        let mut server = Server::start(&["endpoint", "--in-memory"], &[]);
        assert_graceful_stop(&mut server);
    }
}

// ---- The crash tests -----------------------------------------------------------

/// A seed from the clock, printed so that a failure can be replayed.
fn seeded(test: &str) -> (u64, Rng) {
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("{test} seed {seed}");
    (seed, Rng(seed | 1))
}

/// An endpoint process on a fixed port and state dir, killed and restarted at will.
struct Crashable {
    _dir: tempfile::TempDir,
    state: PathBuf,
    log: PathBuf,
    port: u16,
    url: String,
    http: reqwest::Client,
    child: Child,
}

impl Crashable {
    async fn start() -> Crashable {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let log = dir.path().join("endpoint.log");
        let port = free_port();
        let http = reqwest::Client::new();
        let child = start_on(&http, port, &state, &log).await;
        Crashable {
            _dir: dir,
            state,
            log,
            port,
            url: format!("http://127.0.0.1:{port}"),
            http,
            child,
        }
    }

    /// SIGKILL, then a new process on the same port and state.
    async fn kill_and_restart(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        self.child = start_on(&self.http, self.port, &self.state, &self.log).await;
    }

    /// SIGTERM (which must exit 0), then a new process on the same port and state.
    async fn terminate_and_restart(&mut self) {
        let term = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(term.success());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "SIGTERM: {status}");
        self.child = start_on(&self.http, self.port, &self.state, &self.log).await;
    }

    /// Every message of `queue`, whatever its state, through the admin peek.
    async fn peek(&self, queue: &str) -> Vec<Value> {
        let peeked: Value = self
            .http
            .get(format!(
                "{}/_nextflix/sqs/queues/{queue}/messages?limit=100000",
                self.url
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let messages = peeked["messages"].as_array().unwrap().clone();
        assert!(messages.len() < 100_000, "the peek may have cut the list");
        messages
    }
}

impl Drop for Crashable {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the clients know for sure about each message body.
#[derive(Default)]
struct Ledger {
    /// Every body a send was tried for.
    tried: BTreeSet<String>,
    /// Sends answered 200 (for a batch: listed in Successful).
    acked: BTreeSet<String>,
    /// Bodies a delete was sent for, whatever came back.
    delete_tried: BTreeSet<String>,
    /// Deletes answered 200 (for a batch: listed in Successful).
    deleted: BTreeSet<String>,
}

/// A small xorshift generator: no dependency, and the seed is printed for replay.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

async fn call(http: &reqwest::Client, url: &str, action: &str, input: Value) -> Option<Value> {
    let response = http
        .post(format!("{url}/"))
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", format!("AmazonSQS.{action}"))
        .body(input.to_string())
        .send()
        .await
        .ok()?;
    if response.status() != 200 {
        return None;
    }
    response.json().await.ok()
}

/// One client connection's loop: sends (single and batch), receives, deletes
/// (single and batch), recording what was acknowledged. Receipts are only used
/// by the server process that handed them out (`generation` counts restarts).
async fn client_loop(
    worker: usize,
    url: String,
    queue: String,
    ledger: Arc<Mutex<Ledger>>,
    generation: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    seed: u64,
) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut rng = Rng(seed | 1);
    let mut n = 0u64;
    while !stop.load(Ordering::Acquire) {
        n += 1;
        let ok = match rng.below(4) {
            0 => {
                let body = format!("w{worker}-{n}");
                ledger.lock().unwrap().tried.insert(body.clone());
                let answer = call(
                    &http,
                    &url,
                    "SendMessage",
                    json!({"QueueUrl": queue, "MessageBody": body}),
                )
                .await;
                if answer.is_some() {
                    ledger.lock().unwrap().acked.insert(body);
                }
                answer.is_some()
            }
            1 => {
                let count = 1 + rng.below(10);
                let bodies: HashMap<String, String> = (0..count)
                    .map(|i| (format!("e{i}"), format!("w{worker}-{n}-{i}")))
                    .collect();
                ledger
                    .lock()
                    .unwrap()
                    .tried
                    .extend(bodies.values().cloned());
                let entries: Vec<Value> = bodies
                    .iter()
                    .map(|(id, body)| json!({"Id": id, "MessageBody": body}))
                    .collect();
                let answer = call(
                    &http,
                    &url,
                    "SendMessageBatch",
                    json!({"QueueUrl": queue, "Entries": entries}),
                )
                .await;
                if let Some(answer) = &answer {
                    assert_eq!(answer["Failed"], json!([]), "{answer}");
                    let mut ledger = ledger.lock().unwrap();
                    for ok in answer["Successful"].as_array().unwrap() {
                        let id = ok["Id"].as_str().unwrap();
                        ledger.acked.insert(bodies[id].clone());
                    }
                }
                answer.is_some()
            }
            _ => {
                let seen = generation.load(Ordering::Acquire);
                let answer = call(
                    &http,
                    &url,
                    "ReceiveMessage",
                    json!({"QueueUrl": queue, "MaxNumberOfMessages": 10}),
                )
                .await;
                let Some(answer) = answer else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                let messages = answer["Messages"].as_array().cloned().unwrap_or_default();
                // Delete about two thirds, the rest stays in flight.
                let doomed: Vec<(String, String)> = messages
                    .iter()
                    .filter(|_| rng.below(3) > 0)
                    .map(|m| {
                        (
                            m["Body"].as_str().unwrap().to_owned(),
                            m["ReceiptHandle"].as_str().unwrap().to_owned(),
                        )
                    })
                    .collect();
                if generation.load(Ordering::Acquire) != seen {
                    continue;
                }
                let (single, batch) = doomed.split_at(doomed.len() / 2);
                let mut all_ok = true;
                for (body, handle) in single {
                    ledger.lock().unwrap().delete_tried.insert(body.clone());
                    let answer = call(
                        &http,
                        &url,
                        "DeleteMessage",
                        json!({"QueueUrl": queue, "ReceiptHandle": handle}),
                    )
                    .await;
                    match answer {
                        Some(_) => {
                            ledger.lock().unwrap().deleted.insert(body.clone());
                        }
                        None => all_ok = false,
                    }
                }
                if !batch.is_empty() {
                    let entries: Vec<Value> = batch
                        .iter()
                        .enumerate()
                        .map(|(i, (_, handle))| json!({"Id": format!("d{i}"), "ReceiptHandle": handle}))
                        .collect();
                    ledger
                        .lock()
                        .unwrap()
                        .delete_tried
                        .extend(batch.iter().map(|(b, _)| b.clone()));
                    let answer = call(
                        &http,
                        &url,
                        "DeleteMessageBatch",
                        json!({"QueueUrl": queue, "Entries": entries}),
                    )
                    .await;
                    match answer {
                        Some(answer) => {
                            let mut ledger = ledger.lock().unwrap();
                            for ok in answer["Successful"].as_array().unwrap() {
                                let i: usize = ok["Id"].as_str().unwrap()[1..].parse().unwrap();
                                ledger.deleted.insert(batch[i].0.clone());
                            }
                        }
                        None => all_ok = false,
                    }
                }
                all_ok
            }
        };
        if !ok {
            // The server is down or restarting.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_sigkill() {
    const WORKERS: usize = 4;
    const KILLS: usize = 4;
    let (seed, mut rng) = seeded("crash test");
    let mut server = Crashable::start().await;
    let (url, http) = (server.url.clone(), server.http.clone());
    let started = Instant::now();
    let queue = call(&http, &url, "CreateQueue", json!({"QueueName": "crash"}))
        .await
        .expect("queue created")["QueueUrl"]
        .as_str()
        .unwrap()
        .to_owned();

    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let generation = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            tokio::spawn(client_loop(
                w,
                url.clone(),
                queue.clone(),
                ledger.clone(),
                generation.clone(),
                stop.clone(),
                rng.next(),
            ))
        })
        .collect();
    for _ in 0..KILLS {
        tokio::time::sleep(Duration::from_millis(600 + rng.below(1400))).await;
        generation.fetch_add(1, Ordering::AcqRel);
        server.kill_and_restart().await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Release);
    for w in workers {
        w.await.unwrap();
    }

    // A graceful restart, then every stored message: the peek lists them all,
    // receives get the visible ones (what was in flight at the stop may stay
    // hidden until its visibility timeout ends).
    server.terminate_and_restart().await;
    let peeked = server.peek("crash").await;
    let body_of = |m: &Value| m["body"].as_str().unwrap().to_owned();
    let present: BTreeSet<String> = peeked.iter().map(body_of).collect();
    assert_eq!(present.len(), peeked.len(), "a body is stored twice");
    let hidden: BTreeSet<String> = peeked
        .iter()
        .filter(|m| m["state"] != "visible")
        .map(body_of)
        .collect();
    let mut drained = Vec::new();
    loop {
        let answer = call(
            &http,
            &url,
            "ReceiveMessage",
            json!({"QueueUrl": queue, "MaxNumberOfMessages": 10, "VisibilityTimeout": 600}),
        )
        .await
        .expect("receive after the restarts");
        let messages = answer["Messages"].as_array().cloned().unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        drained.extend(
            messages
                .iter()
                .map(|m| m["Body"].as_str().unwrap().to_owned()),
        );
    }
    drop(server);
    let received: BTreeSet<String> = drained.iter().cloned().collect();
    assert_eq!(received.len(), drained.len(), "a message came back twice");
    let visible: BTreeSet<String> = present.difference(&hidden).cloned().collect();
    assert_eq!(received, visible, "receives and the peek disagree");

    let ledger = ledger.lock().unwrap();
    eprintln!(
        "crash test: {} sends tried, {} acknowledged, {} deletes tried, {} acknowledged, {} left, {:?}",
        ledger.tried.len(),
        ledger.acked.len(),
        ledger.delete_tried.len(),
        ledger.deleted.len(),
        present.len(),
        started.elapsed()
    );
    let phantom: Vec<_> = present.difference(&ledger.tried).collect();
    assert!(phantom.is_empty(), "never sent: {phantom:?}");
    let lost: Vec<_> = ledger
        .acked
        .difference(&ledger.delete_tried)
        .filter(|b| !present.contains(*b))
        .collect();
    assert!(
        lost.is_empty(),
        "acknowledged sends lost (seed {seed}): {lost:?}"
    );
    let resurrected: Vec<_> = ledger.deleted.intersection(&present).collect();
    assert!(
        resurrected.is_empty(),
        "acknowledged deletes came back (seed {seed}): {resurrected:?}"
    );
    assert!(ledger.acked.len() > 100, "too little load to mean anything");
    assert!(
        ledger.deleted.len() > 20,
        "too few deletes to mean anything"
    );
}

/// A graceful stop waits for requests in flight, but not for long polls to run out
/// their WaitTimeSeconds (up to 20 s, more than the usual grace period before a
/// SIGKILL: 10 s for `docker stop`); the poll gets an answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_does_not_wait_out_long_polls() {
    let state = tempfile::tempdir().unwrap();
    let mut server = Server::start(
        &["endpoint", "--state-dir", state.path().to_str().unwrap()],
        &[],
    );
    let http = reqwest::Client::new();
    let queue = call(
        &http,
        &server.url,
        "CreateQueue",
        json!({"QueueName": "polled"}),
    )
    .await
    .expect("queue created")["QueueUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    let poll = {
        let (http, url) = (http.clone(), server.url.clone());
        tokio::spawn(async move {
            call(
                &http,
                &url,
                "ReceiveMessage",
                json!({"QueueUrl": queue, "WaitTimeSeconds": 20}),
            )
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!poll.is_finished());
    let asked = Instant::now();
    let status = tokio::task::spawn_blocking(move || server.signal("TERM"))
        .await
        .unwrap();
    let took = asked.elapsed();
    assert!(status.success(), "{status}");
    assert!(took < Duration::from_secs(5), "SIGTERM took {took:?}");
    let answer = poll.await.unwrap();
    assert!(
        answer.is_some_and(|a| a.get("Messages").is_none()),
        "the poll got no empty answer"
    );
}

/// Sends `bodies` to a FIFO group as one request (a batch if more than one), the
/// deduplication id being the body, retrying the same request until it is
/// acknowledged (as a producer does when it cannot tell whether a send happened).
/// Returns each body's MessageId as acknowledged.
async fn send_fifo_until_acked(
    http: &reqwest::Client,
    url: &str,
    queue: &str,
    group: &str,
    bodies: &[String],
) -> Vec<(String, String)> {
    loop {
        let answer = if let [body] = bodies {
            call(
                http,
                url,
                "SendMessage",
                json!({"QueueUrl": queue, "MessageBody": body, "MessageGroupId": group,
                       "MessageDeduplicationId": body}),
            )
            .await
            .map(|a| vec![(body.clone(), a["MessageId"].as_str().unwrap().to_owned())])
        } else {
            let entries: Vec<Value> = bodies
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    json!({"Id": format!("e{i}"), "MessageBody": b, "MessageGroupId": group,
                           "MessageDeduplicationId": b})
                })
                .collect();
            call(
                http,
                url,
                "SendMessageBatch",
                json!({"QueueUrl": queue, "Entries": entries}),
            )
            .await
            .map(|a| {
                assert_eq!(a["Failed"], json!([]), "{a}");
                a["Successful"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|ok| {
                        let i: usize = ok["Id"].as_str().unwrap()[1..].parse().unwrap();
                        (
                            bodies[i].clone(),
                            ok["MessageId"].as_str().unwrap().to_owned(),
                        )
                    })
                    .collect()
            })
        };
        match answer {
            Some(ids) => return ids,
            None => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// FIFO under SIGKILL: producers retry unacknowledged sends with the same
/// deduplication ids across restarts. Afterwards no body exists as two messages,
/// each group is in send order, and nothing acknowledged is missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifo_sends_retried_across_sigkill_are_stored_once_in_order() {
    const PRODUCERS: usize = 3;
    const KILLS: usize = 3;
    let (seed, mut rng) = seeded("FIFO crash test");
    let mut server = Crashable::start().await;
    let (url, http) = (server.url.clone(), server.http.clone());
    let queue = call(
        &http,
        &url,
        "CreateQueue",
        json!({"QueueName": "crash.fifo", "Attributes": {"FifoQueue": "true"}}),
    )
    .await
    .expect("queue created")["QueueUrl"]
        .as_str()
        .unwrap()
        .to_owned();

    let stop = Arc::new(AtomicBool::new(false));
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let (url, queue, stop) = (url.clone(), queue.clone(), stop.clone());
            let mut rng = Rng(rng.next() | 1);
            tokio::spawn(async move {
                let http = reqwest::Client::builder()
                    .timeout(Duration::from_secs(5))
                    .build()
                    .unwrap();
                let group = format!("g{p}");
                let mut acked: Vec<(String, String)> = Vec::new();
                let mut next = 0;
                while !stop.load(Ordering::Acquire) {
                    let count = 1 + rng.below(10) as usize;
                    let bodies: Vec<String> = (next..next + count)
                        .map(|i| format!("{group}-{i:05}"))
                        .collect();
                    next += count;
                    acked.extend(send_fifo_until_acked(&http, &url, &queue, &group, &bodies).await);
                }
                acked
            })
        })
        .collect();
    for _ in 0..KILLS {
        tokio::time::sleep(Duration::from_millis(600 + rng.below(1200))).await;
        server.kill_and_restart().await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Release);
    let mut acked: HashMap<String, String> = HashMap::new();
    for p in producers {
        for (body, id) in p.await.unwrap() {
            assert!(
                acked.insert(body.clone(), id).is_none(),
                "{body} acknowledged twice"
            );
        }
    }

    let messages = server.peek("crash.fifo").await;
    drop(server);
    let mut by_group: HashMap<String, Vec<String>> = HashMap::new();
    let mut stored: HashMap<String, String> = HashMap::new();
    for m in &messages {
        let body = m["body"].as_str().unwrap().to_owned();
        let id = m["message_id"].as_str().unwrap().to_owned();
        assert!(
            stored.insert(body.clone(), id).is_none(),
            "{body} is stored twice (seed {seed})"
        );
        by_group
            .entry(m["message_group_id"].as_str().unwrap().to_owned())
            .or_default()
            .push(body);
    }
    eprintln!(
        "FIFO crash test: {} acknowledged, {} stored",
        acked.len(),
        stored.len()
    );
    for (body, id) in &acked {
        assert_eq!(
            stored.get(body),
            Some(id),
            "{body}: acknowledged as {id}, stored as {:?} (seed {seed})",
            stored.get(body)
        );
    }
    for (group, bodies) in by_group {
        let mut sorted = bodies.clone();
        sorted.sort();
        assert_eq!(bodies, sorted, "group {group} out of order (seed {seed})");
    }
    assert!(acked.len() > 100, "too little load to mean anything");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flags_set_the_account_the_clock_and_the_admin_routes() {
    let server = Server::start(
        &[
            "endpoint",
            "--in-memory",
            "--virtual-clock",
            "--account-id",
            "123456789012",
        ],
        &[],
    );
    let http = reqwest::Client::new();
    let url = &server.url;
    let queue = call(&http, url, "CreateQueue", json!({"QueueName": "flagged"}))
        .await
        .expect("queue created")["QueueUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(queue, format!("{url}/123456789012/flagged"));
    let attributes = call(
        &http,
        url,
        "GetQueueAttributes",
        json!({"QueueUrl": queue, "AttributeNames": ["QueueArn"]}),
    )
    .await
    .unwrap();
    assert_eq!(
        attributes["Attributes"]["QueueArn"],
        "arn:aws:sqs:us-east-1:123456789012:flagged"
    );
    call(
        &http,
        url,
        "SendMessage",
        json!({"QueueUrl": queue, "MessageBody": "in an hour", "DelaySeconds": 900}),
    )
    .await
    .unwrap();
    let receive = json!({"QueueUrl": queue});
    let got = call(&http, url, "ReceiveMessage", receive.clone()).await;
    assert!(got.unwrap().get("Messages").is_none(), "delayed");
    let moved = http
        .post(format!("{url}/_nextflix/clock/advance?seconds=900"))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), 200);
    let got = call(&http, url, "ReceiveMessage", receive).await.unwrap();
    assert_eq!(got["Messages"][0]["Body"], "in an hour");

    // --no-admin: the peek and the clock are gone, readiness stays.
    let private = Server::start(&["endpoint", "--in-memory", "--no-admin"], &[]);
    let get = |path: &str| http.get(format!("{}{path}", private.url)).send();
    assert_eq!(get("/_nextflix/ready").await.unwrap().status(), 200);
    assert_eq!(
        get("/_nextflix/sqs/queues/flagged/messages")
            .await
            .unwrap()
            .status(),
        404
    );
}
