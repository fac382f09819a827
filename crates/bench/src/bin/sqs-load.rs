//! `sqs-load`: a load client for SQS servers speaking the JSON 1.0 protocol
//! (`POST /`, `X-Amz-Target: AmazonSQS.<Action>`), over N HTTP/1.1 keep-alive
//! connections.
//!
//! ```text
//! sqs-load --url http://127.0.0.1:PORT --queue NAME --workload WORKLOAD [options]
//! ```
//!
//! Workloads (each creates its queue first; CreateQueue is idempotent):
//! - `send`: SendMessage, one message per request, for `--duration` seconds.
//! - `batch`: SendMessageBatch, 10 messages per request, for `--duration` seconds.
//! - `fill`: SendMessageBatch until `--messages` messages were sent (no time limit).
//! - `recv` (or `recv+delete`): ReceiveMessage (up to 10) then DeleteMessageBatch of what came, for
//!   `--duration` seconds or until a receive finds the queue empty; a sample is
//!   the pair.
//! - `longpoll`: `--samples` times: a receiver waits (WaitTimeSeconds=20), then a
//!   sender sends one message; the sample is from the send's start to the
//!   receive's return (the receiver's connection is already waiting, so this is
//!   the server's wake-up plus one request's travel).
//! - `fanout`: SNS. Creates a topic `<queue>-topic` and four queues
//!   `<queue>-fan-0..3` (each with a policy letting the topic send, subscribed with
//!   raw delivery); then `--samples` times: four receivers wait, one Publish is
//!   sent; the sample is from the Publish's start until all four receives have
//!   returned (publish-to-visible in every queue).
//! - `publish`: SNS Publish to that topic over every connection for `--duration`
//!   seconds; msgs/s counts publishes (each is four deliveries).
//! - `count`: prints the queue's message count (visible + in flight + delayed).
//! - `purge`: deletes and recreates nothing; PurgeQueue.
//!
//! Prints one line on stdout, fields separated by spaces:
//! `msgs_per_s p50_ms p99_ms p999_ms messages requests errors elapsed_s server_cpu_s`
//! (`count` prints the count alone). With `--server-pid`, server_cpu_s is the CPU
//! time the server process and its descendants used during the run.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpStream;

type Sender = SendRequest<Full<Bytes>>;
type Error = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Clone)]
struct Options {
    url: String,
    addr: SocketAddr,
    host: String,
    queue: String,
    workload: String,
    connections: usize,
    duration: Duration,
    messages: u64,
    samples: usize,
    body_size: usize,
    threads: usize,
    server_pid: Option<u32>,
    gap: Duration,
}

const USAGE: &str = "usage: sqs-load --url http://HOST:PORT --queue NAME --workload \
send|batch|fill|recv|longpoll|fanout|publish|count|purge [--connections 64] [--duration 10] \
[--messages N] [--samples 300] [--body-size 300] [--threads 2] [--server-pid PID] \
[--gap-ms 5]";

fn parse_options() -> Result<Options, Error> {
    let mut args = std::env::args().skip(1);
    let mut url = None;
    let mut queue = "bench".to_owned();
    let mut workload = None;
    let mut connections = 64;
    let mut duration = 10.0;
    let mut messages = 100_000;
    let mut samples = 300;
    let mut body_size = 300;
    let mut threads = 2;
    let mut server_pid = None;
    let mut gap_ms = 5.0;
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--url" => url = Some(value),
            "--queue" => queue = value,
            "--workload" => workload = Some(value),
            "--connections" => connections = value.parse()?,
            "--duration" => duration = value.parse()?,
            "--messages" => messages = value.parse()?,
            "--samples" => samples = value.parse()?,
            "--body-size" => body_size = value.parse()?,
            "--threads" => threads = value.parse()?,
            "--server-pid" => server_pid = Some(value.parse()?),
            "--gap-ms" => gap_ms = value.parse()?,
            _ => return Err(format!("unknown flag {flag}\n{USAGE}").into()),
        }
    }
    let url = url.ok_or(USAGE)?;
    let host = url
        .strip_prefix("http://")
        .ok_or("--url must be http://HOST:PORT")?
        .trim_end_matches('/')
        .to_owned();
    let addr = tokio::net::lookup_host(&host)
        .await_blocking()?
        .next()
        .ok_or("cannot resolve the host")?;
    Ok(Options {
        url,
        addr,
        host,
        queue,
        workload: workload.ok_or(USAGE)?,
        connections: connections.max(1),
        duration: Duration::from_secs_f64(duration),
        messages,
        samples,
        body_size,
        threads: threads.max(1),
        server_pid,
        gap: Duration::from_secs_f64(gap_ms / 1000.0),
    })
}

/// Resolving before the runtime exists.
trait AwaitBlocking {
    type Output;
    fn await_blocking(self) -> Self::Output;
}

impl<F: std::future::Future> AwaitBlocking for F {
    type Output = F::Output;
    fn await_blocking(self) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime")
            .block_on(self)
    }
}

/// An unsigned request still names its service and region in a SigV4
/// Authorization header: servers that host several services (moto) route on it.
const AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/sqs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0000000000000000000000000000000000000000000000000000000000000000";

const SNS_AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/sns/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0000000000000000000000000000000000000000000000000000000000000000";

/// One keep-alive connection (opened again if the server closes it).
struct Conn {
    sender: Sender,
    addr: SocketAddr,
    host: String,
}

async fn handshake(addr: SocketAddr) -> Result<Sender, Error> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

impl Conn {
    async fn open(addr: SocketAddr, host: &str) -> Result<Conn, Error> {
        Ok(Conn {
            sender: handshake(addr).await?,
            addr,
            host: host.to_owned(),
        })
    }

    /// Sends one SQS request; Ok((status, body)).
    async fn call(&mut self, action: &str, body: Bytes) -> Result<(u16, Bytes), Error> {
        self.call_target(&format!("AmazonSQS.{action}"), AUTHORIZATION, body)
            .await
    }

    /// Sends one SNS request (JSON 1.0); Ok((status, body)).
    async fn call_sns(&mut self, action: &str, body: Bytes) -> Result<(u16, Bytes), Error> {
        self.call_target(&format!("SNS_20100331.{action}"), SNS_AUTHORIZATION, body)
            .await
    }

    async fn call_target(
        &mut self,
        target: &str,
        authorization: &str,
        body: Bytes,
    ) -> Result<(u16, Bytes), Error> {
        let request = Request::post("/")
            .header("host", &self.host)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", target)
            .header("x-amz-date", "20260101T000000Z")
            .header("authorization", authorization)
            .body(Full::new(body))
            .expect("valid request parts");
        // A server that answers `Connection: close` (moto's) costs a new connection
        // per request, as it would any client.
        if self.sender.is_closed() || self.sender.ready().await.is_err() {
            self.sender = handshake(self.addr).await?;
            self.sender.ready().await?;
        }
        let response = self.sender.send_request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}

fn body_text(size: usize) -> String {
    // Printable, varied, nothing that JSON must escape.
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_.:";
    (0..size)
        .map(|i| ALPHABET[(i * 7 + i / 13) % ALPHABET.len()] as char)
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct QueueUrlAnswer {
    queue_url: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ReceiveAnswer {
    #[serde(default)]
    messages: Vec<ReceivedAnswer>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ReceivedAnswer {
    receipt_handle: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BatchAnswer {
    #[serde(default)]
    successful: Vec<serde_json::Value>,
    #[serde(default)]
    failed: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AttributesAnswer {
    #[serde(default)]
    attributes: std::collections::BTreeMap<String, String>,
}

fn short(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned()
}

async fn create_queue(opts: &Options) -> Result<String, Error> {
    let mut conn = Conn::open(opts.addr, &opts.host).await?;
    let body = json!({ "QueueName": opts.queue }).to_string();
    let (status, answer) = conn.call("CreateQueue", body.into()).await?;
    if status != 200 {
        return Err(format!("CreateQueue: HTTP {status}: {}", short(&answer)).into());
    }
    Ok(serde_json::from_slice::<QueueUrlAnswer>(&answer)?.queue_url)
}

/// What one connection measured.
#[derive(Default)]
struct Tally {
    /// Sample latencies in microseconds.
    latencies: Vec<u32>,
    messages: u64,
    requests: u64,
    errors: u64,
    first_error: Option<String>,
}

impl Tally {
    fn error(&mut self, what: String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(what);
        }
    }

    fn merge(&mut self, other: Tally) {
        self.latencies.extend(other.latencies);
        self.messages += other.messages;
        self.requests += other.requests;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

fn micros(d: Duration) -> u32 {
    d.as_micros().min(u128::from(u32::MAX)) as u32
}

/// When every connection stops asking.
#[derive(Clone)]
struct Stop {
    deadline: Option<Instant>,
    /// For `fill`: messages still to send (claimed 10 at a time).
    budget: Option<Arc<AtomicU64>>,
    /// For `recv`: set once a receive finds nothing.
    drained: Arc<AtomicBool>,
}

impl Stop {
    fn done(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d) || self.drained.load(Ordering::Relaxed)
    }

    /// Claims up to `n` messages of the budget; 0 when it is spent.
    fn claim(&self, n: u64) -> u64 {
        match &self.budget {
            None => n,
            Some(budget) => {
                let mut left = budget.load(Ordering::Relaxed);
                loop {
                    if left == 0 {
                        return 0;
                    }
                    let take = left.min(n);
                    match budget.compare_exchange(
                        left,
                        left - take,
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    ) {
                        Ok(_) => return take,
                        Err(now) => left = now,
                    }
                }
            }
        }
    }
}

fn send_body(url: &str, text: &str) -> Bytes {
    json!({ "QueueUrl": url, "MessageBody": text })
        .to_string()
        .into()
}

fn batch_body(url: &str, text: &str, n: u64) -> Bytes {
    let entries: Vec<_> = (0..n)
        .map(|i| json!({ "Id": i.to_string(), "MessageBody": text }))
        .collect();
    json!({ "QueueUrl": url, "Entries": entries })
        .to_string()
        .into()
}

async fn run_send(mut conn: Conn, url: String, text: String, stop: Stop) -> Tally {
    let body = send_body(&url, &text);
    let mut tally = Tally::default();
    while !stop.done() {
        let started = Instant::now();
        match conn.call("SendMessage", body.clone()).await {
            Ok((200, _)) => {
                tally.latencies.push(micros(started.elapsed()));
                tally.messages += 1;
            }
            Ok((status, answer)) => tally.error(format!("HTTP {status}: {}", short(&answer))),
            Err(e) => {
                tally.error(e.to_string());
                break;
            }
        }
        tally.requests += 1;
    }
    tally
}

/// Records a batch call's outcome (SendMessageBatch or DeleteMessageBatch); false
/// when the connection failed and the caller should stop.
fn batch_outcome(
    tally: &mut Tally,
    started: Instant,
    what: &str,
    result: Result<(u16, Bytes), Error>,
) -> bool {
    match result {
        Ok((200, answer)) => match serde_json::from_slice::<BatchAnswer>(&answer) {
            Ok(batch) if batch.failed.is_empty() => {
                tally.latencies.push(micros(started.elapsed()));
                tally.messages += batch.successful.len() as u64;
            }
            Ok(batch) => tally.error(format!("{} {what} entries failed", batch.failed.len())),
            Err(e) => tally.error(format!("unreadable {what} answer: {e}")),
        },
        Ok((status, answer)) => tally.error(format!("HTTP {status}: {}", short(&answer))),
        Err(e) => {
            tally.error(e.to_string());
            return false;
        }
    }
    tally.requests += 1;
    true
}

async fn run_batch(mut conn: Conn, url: String, text: String, stop: Stop) -> Tally {
    let full = batch_body(&url, &text, 10);
    let mut tally = Tally::default();
    while !stop.done() {
        let n = stop.claim(10);
        if n == 0 {
            break;
        }
        let body = if n == 10 {
            full.clone()
        } else {
            batch_body(&url, &text, n)
        };
        let started = Instant::now();
        let result = conn.call("SendMessageBatch", body).await;
        if !batch_outcome(&mut tally, started, "send", result) {
            break;
        }
    }
    tally
}

async fn run_recv(mut conn: Conn, url: String, stop: Stop) -> Tally {
    let receive = Bytes::from(
        json!({ "QueueUrl": url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 0, "VisibilityTimeout": 60 })
            .to_string(),
    );
    let mut tally = Tally::default();
    while !stop.done() {
        let started = Instant::now();
        let handles = match conn.call("ReceiveMessage", receive.clone()).await {
            Ok((200, answer)) => match serde_json::from_slice::<ReceiveAnswer>(&answer) {
                Ok(r) => r.messages,
                Err(e) => {
                    tally.error(format!("unreadable receive answer: {e}"));
                    continue;
                }
            },
            Ok((status, answer)) => {
                tally.error(format!("HTTP {status}: {}", short(&answer)));
                continue;
            }
            Err(e) => {
                tally.error(e.to_string());
                break;
            }
        };
        tally.requests += 1;
        if handles.is_empty() {
            stop.drained.store(true, Ordering::Relaxed);
            break;
        }
        let entries: Vec<_> = handles
            .iter()
            .enumerate()
            .map(|(i, m)| json!({ "Id": i.to_string(), "ReceiptHandle": m.receipt_handle }))
            .collect();
        let delete = json!({ "QueueUrl": url, "Entries": entries }).to_string();
        let result = conn.call("DeleteMessageBatch", delete.into()).await;
        if !batch_outcome(&mut tally, started, "delete", result) {
            break;
        }
    }
    tally
}

async fn run_longpoll(opts: &Options, url: &str, text: &str) -> Result<Tally, Error> {
    let mut receiver = Conn::open(opts.addr, &opts.host).await?;
    let mut sender = Conn::open(opts.addr, &opts.host).await?;
    let receive = Bytes::from(
        json!({ "QueueUrl": url, "MaxNumberOfMessages": 1, "WaitTimeSeconds": 20, "VisibilityTimeout": 60 })
            .to_string(),
    );
    let send = send_body(url, text);
    let mut tally = Tally::default();
    for _ in 0..opts.samples {
        // The receive runs in its own task and notes when its answer is complete.
        let body = receive.clone();
        let mut conn = receiver;
        let waiting = tokio::spawn(async move {
            let result = conn.call("ReceiveMessage", body).await;
            (Instant::now(), result, conn)
        });
        tokio::time::sleep(opts.gap).await;
        let started = Instant::now();
        match sender.call("SendMessage", send.clone()).await {
            Ok((200, _)) => {}
            Ok((status, answer)) => {
                tally.error(format!("send: HTTP {status}: {}", short(&answer)));
                waiting.abort();
                receiver = Conn::open(opts.addr, &opts.host).await?;
                tally.requests += 1;
                continue;
            }
            Err(e) => return Err(e),
        }
        let (returned, result, conn) = waiting.await?;
        receiver = conn;
        tally.requests += 2;
        let handles = match result {
            Ok((200, answer)) => serde_json::from_slice::<ReceiveAnswer>(&answer)?.messages,
            Ok((status, answer)) => {
                tally.error(format!("receive: HTTP {status}: {}", short(&answer)));
                continue;
            }
            Err(e) => return Err(e),
        };
        if returned < started {
            tally.error("the receive returned before the send (was the queue empty?)".into());
            continue;
        }
        if handles.len() != 1 {
            tally.error(format!("the receive returned {} messages", handles.len()));
            continue;
        }
        tally
            .latencies
            .push(micros(returned.saturating_duration_since(started)));
        tally.messages += 1;
        let delete =
            json!({ "QueueUrl": url, "ReceiptHandle": handles[0].receipt_handle }).to_string();
        match sender.call("DeleteMessage", delete.into()).await? {
            (200, _) => {}
            (status, answer) => tally.error(format!("delete: HTTP {status}: {}", short(&answer))),
        }
    }
    Ok(tally)
}

/// The topic and its four subscribed queues of the SNS workloads: (topic ARN, queue URLs).
async fn fanout_setup(opts: &Options) -> Result<(String, Vec<String>), Error> {
    let mut conn = Conn::open(opts.addr, &opts.host).await?;
    let topic_name = format!("{}-topic", opts.queue);
    let (status, answer) = conn
        .call_sns(
            "CreateTopic",
            json!({ "Name": topic_name }).to_string().into(),
        )
        .await?;
    if status != 200 {
        return Err(format!("CreateTopic: HTTP {status}: {}", short(&answer)).into());
    }
    let topic: serde_json::Value = serde_json::from_slice(&answer)?;
    let topic = topic["TopicArn"].as_str().ok_or("no TopicArn")?.to_owned();
    let mut urls = Vec::new();
    for i in 0..4 {
        let name = format!("{}-fan-{i}", opts.queue);
        let (status, answer) = conn
            .call(
                "CreateQueue",
                json!({ "QueueName": name }).to_string().into(),
            )
            .await?;
        if status != 200 {
            return Err(format!("CreateQueue: HTTP {status}: {}", short(&answer)).into());
        }
        let url = serde_json::from_slice::<QueueUrlAnswer>(&answer)?.queue_url;
        let arn = format!("arn:aws:sqs:us-east-1:000000000000:{name}");
        let policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
            "Resource": arn, "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]});
        let body = json!({ "QueueUrl": url, "Attributes": { "Policy": policy.to_string() } });
        conn.call("SetQueueAttributes", body.to_string().into())
            .await?;
        let body = json!({ "TopicArn": topic, "Protocol": "sqs", "Endpoint": arn,
                           "Attributes": { "RawMessageDelivery": "true" } });
        let (status, answer) = conn.call_sns("Subscribe", body.to_string().into()).await?;
        if status != 200 {
            return Err(format!("Subscribe: HTTP {status}: {}", short(&answer)).into());
        }
        urls.push(url);
    }
    Ok((topic, urls))
}

/// Publish-to-visible latency in all four queues, `--samples` times.
async fn run_fanout(opts: &Options, text: &str) -> Result<Tally, Error> {
    let (topic, urls) = fanout_setup(opts).await?;
    let mut receivers = Vec::new();
    for _ in &urls {
        receivers.push(Conn::open(opts.addr, &opts.host).await?);
    }
    let mut sender = Conn::open(opts.addr, &opts.host).await?;
    let publish = Bytes::from(json!({ "TopicArn": topic, "Message": text }).to_string());
    let mut tally = Tally::default();
    for _ in 0..opts.samples {
        let mut waiting = Vec::new();
        for (conn, url) in receivers.drain(..).zip(&urls) {
            let body = Bytes::from(
                json!({ "QueueUrl": url, "MaxNumberOfMessages": 1, "WaitTimeSeconds": 20 })
                    .to_string(),
            );
            let mut conn = conn;
            waiting.push(tokio::spawn(async move {
                let result = conn.call("ReceiveMessage", body).await;
                (Instant::now(), result, conn)
            }));
        }
        tokio::time::sleep(opts.gap).await;
        let started = Instant::now();
        let (status, answer) = sender.call_sns("Publish", publish.clone()).await?;
        tally.requests += 1;
        if status != 200 {
            return Err(format!("Publish: HTTP {status}: {}", short(&answer)).into());
        }
        let mut last = started;
        let mut ok = true;
        for (task, url) in waiting.into_iter().zip(&urls) {
            let (returned, result, conn) = task.await?;
            receivers.push(conn);
            tally.requests += 1;
            last = last.max(returned);
            let handles = match result {
                Ok((200, answer)) => serde_json::from_slice::<ReceiveAnswer>(&answer)?.messages,
                Ok((status, answer)) => {
                    tally.error(format!("receive: HTTP {status}: {}", short(&answer)));
                    ok = false;
                    continue;
                }
                Err(e) => return Err(e),
            };
            if handles.len() != 1 {
                tally.error(format!("a queue received {} messages", handles.len()));
                ok = false;
                continue;
            }
            let delete = json!({ "QueueUrl": url, "ReceiptHandle": handles[0].receipt_handle });
            sender
                .call("DeleteMessage", delete.to_string().into())
                .await?;
        }
        if ok {
            tally
                .latencies
                .push(micros(last.saturating_duration_since(started)));
            tally.messages += 1;
        }
    }
    Ok(tally)
}

/// Publishes for the run's duration; each sample is one Publish.
async fn run_publish(mut conn: Conn, topic: String, text: String, stop: Stop) -> Tally {
    let body = Bytes::from(json!({ "TopicArn": topic, "Message": text }).to_string());
    let mut tally = Tally::default();
    while !stop.done() {
        let started = Instant::now();
        match conn.call_sns("Publish", body.clone()).await {
            Ok((200, _)) => {
                tally.latencies.push(micros(started.elapsed()));
                tally.messages += 1;
            }
            Ok((status, answer)) => tally.error(format!("HTTP {status}: {}", short(&answer))),
            Err(e) => {
                tally.error(e.to_string());
                break;
            }
        }
        tally.requests += 1;
    }
    tally
}

async fn queue_count(opts: &Options, url: &str) -> Result<u64, Error> {
    let mut conn = Conn::open(opts.addr, &opts.host).await?;
    let body = json!({
        "QueueUrl": url,
        "AttributeNames": [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed"
        ]
    })
    .to_string();
    let (status, answer) = conn.call("GetQueueAttributes", body.into()).await?;
    if status != 200 {
        return Err(format!("GetQueueAttributes: HTTP {status}: {}", short(&answer)).into());
    }
    let attributes = serde_json::from_slice::<AttributesAnswer>(&answer)?.attributes;
    Ok(attributes
        .values()
        .filter_map(|v| v.parse::<u64>().ok())
        .sum())
}

/// CPU seconds (user + system) used so far by `pid` and its descendants.
fn cpu_seconds(pid: u32) -> f64 {
    let mut children: std::collections::HashMap<u32, Vec<u32>> = Default::default();
    let mut ticks: std::collections::HashMap<u32, u64> = Default::default();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    for entry in entries.flatten() {
        let Some(p) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        // Fields after the command (which may hold spaces), which ends at the last ')'.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let (Some(ppid), Some(utime), Some(stime)) = (
            fields.get(1).and_then(|f| f.parse::<u32>().ok()),
            fields.get(11).and_then(|f| f.parse::<u64>().ok()),
            fields.get(12).and_then(|f| f.parse::<u64>().ok()),
        ) else {
            continue;
        };
        children.entry(ppid).or_default().push(p);
        ticks.insert(p, utime + stime);
    }
    let mut total = 0;
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        total += ticks.get(&p).copied().unwrap_or(0);
        if let Some(kids) = children.get(&p) {
            todo.extend(kids);
        }
    }
    // USER_HZ is 100 on every Linux this runs on.
    total as f64 / 100.0
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    f64::from(sorted[rank.clamp(1, sorted.len()) - 1]) / 1000.0
}

async fn run(opts: Options) -> Result<(), Error> {
    let url = create_queue(&opts).await?;
    let text = body_text(opts.body_size);
    match opts.workload.as_str() {
        "count" => {
            println!("{}", queue_count(&opts, &url).await?);
            return Ok(());
        }
        "purge" => {
            let mut conn = Conn::open(opts.addr, &opts.host).await?;
            let body = json!({ "QueueUrl": url }).to_string();
            let (status, answer) = conn.call("PurgeQueue", body.into()).await?;
            if status != 200 {
                return Err(format!("PurgeQueue: HTTP {status}: {}", short(&answer)).into());
            }
            return Ok(());
        }
        "send" | "batch" | "fill" | "recv" | "recv+delete" | "longpoll" | "fanout" | "publish" => {}
        other => return Err(format!("unknown workload {other}\n{USAGE}").into()),
    }
    let mut cpu_before = opts.server_pid.map(cpu_seconds);
    let mut started = Instant::now();
    let mut tally = Tally::default();
    let topic = if opts.workload == "publish" {
        Some(fanout_setup(&opts).await?.0)
    } else {
        None
    };
    if opts.workload == "longpoll" {
        tally = run_longpoll(&opts, &url, &text).await?;
    } else if opts.workload == "fanout" {
        tally = run_fanout(&opts, &text).await?;
    } else {
        let mut conns = Vec::with_capacity(opts.connections);
        for _ in 0..opts.connections {
            conns.push(Conn::open(opts.addr, &opts.host).await?);
        }
        let stop = Stop {
            deadline: (opts.workload != "fill").then(|| Instant::now() + opts.duration),
            budget: (opts.workload == "fill").then(|| Arc::new(AtomicU64::new(opts.messages))),
            drained: Arc::new(AtomicBool::new(false)),
        };
        cpu_before = opts.server_pid.map(cpu_seconds);
        started = Instant::now();
        let mut tasks = Vec::with_capacity(conns.len());
        for conn in conns {
            let (url, text, stop) = (url.clone(), text.clone(), stop.clone());
            tasks.push(match opts.workload.as_str() {
                "send" => tokio::spawn(run_send(conn, url, text, stop)),
                "publish" => tokio::spawn(run_publish(
                    conn,
                    topic.clone().unwrap_or_default(),
                    text,
                    stop,
                )),
                "recv" | "recv+delete" => tokio::spawn(run_recv(conn, url, stop)),
                _ => tokio::spawn(run_batch(conn, url, text, stop)),
            });
        }
        for task in tasks {
            tally.merge(task.await?);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = match (opts.server_pid, cpu_before) {
        (Some(pid), Some(before)) => cpu_seconds(pid) - before,
        _ => 0.0,
    };
    if let Some(first) = &tally.first_error {
        eprintln!(
            "sqs-load {} on {}: {} errors, the first: {first}",
            opts.workload, opts.url, tally.errors
        );
    }
    let mut sorted = tally.latencies;
    sorted.sort_unstable();
    println!(
        "{:.0} {:.3} {:.3} {:.3} {} {} {} {:.2} {:.2}",
        tally.messages as f64 / elapsed,
        percentile(&sorted, 50.0),
        percentile(&sorted, 99.0),
        percentile(&sorted, 99.9),
        tally.messages,
        tally.requests,
        tally.errors,
        elapsed,
        cpu
    );
    Ok(())
}

fn main() {
    let opts = match parse_options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(opts.threads)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    if let Err(e) = runtime.block_on(run(opts)) {
        eprintln!("sqs-load: {e}");
        std::process::exit(1);
    }
}
