//! An in-process endpoint on a virtual clock and a small client that speaks both
//! wire protocols over real HTTP: JSON 1.0 (`X-Amz-Target`) and Query (form in,
//! XML out).

use std::path::Path;
use std::time::Duration;

use nextflix_endpoint::{Config, Endpoint};
use serde_json::{Value, json};

/// An endpoint on a virtual clock, in memory unless `state_dir` is given.
pub async fn start_with(state_dir: Option<&Path>, admin: bool) -> Endpoint {
    Endpoint::start_local(Config {
        state_dir: state_dir.map(Path::to_path_buf),
        virtual_clock: true,
        admin,
        ..Default::default()
    })
    .await
    .expect("endpoint starts")
}

/// An in-memory endpoint on a virtual clock and a client for it.
pub async fn start() -> (Endpoint, Client) {
    let endpoint = start_with(None, true).await;
    let client = Client::new(&endpoint.url());
    (endpoint, client)
}

/// An AWS error as the JSON protocol carries it.
#[derive(Debug, Clone)]
pub struct AwsError {
    pub status: u16,
    /// `__type` without the `com.amazonaws.sqs#` prefix.
    pub kind: String,
    /// The `x-amzn-query-error` header: `<legacy code>;<Sender|Receiver>`.
    pub query_error: Option<String>,
    pub message: String,
}

/// A Query-protocol answer: status and XML text.
#[derive(Debug, Clone)]
pub struct XmlAnswer {
    pub status: u16,
    pub body: String,
}

impl XmlAnswer {
    /// The text of the first `<tag>` element, if any.
    pub fn text(&self, tag: &str) -> Option<String> {
        xml_all(&self.body, tag).into_iter().next()
    }

    pub fn all(&self, tag: &str) -> Vec<String> {
        xml_all(&self.body, tag)
    }
}

/// The inner text of every `<tag>...</tag>` (no attributes, not nested in itself),
/// with the five XML entities and `&#xD;` decoded.
pub fn xml_all(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else { break };
        out.push(
            after[..end]
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
                .replace("&#xD;", "\r")
                .replace("&amp;", "&"),
        );
        rest = &after[end + close.len()..];
    }
    out
}

#[derive(Debug, Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub url: String,
}

impl Client {
    pub fn new(url: &str) -> Client {
        Client {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            url: url.to_owned(),
        }
    }

    /// A JSON-protocol request as sent, for tests that tweak headers or body.
    pub fn json_request(&self, action: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}/", self.url))
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", format!("AmazonSQS.{action}"))
    }

    /// Runs `action` over the JSON protocol: the answer's JSON, or AWS's error.
    pub async fn call(&self, action: &str, input: Value) -> Result<Value, AwsError> {
        let response = self
            .json_request(action)
            .body(input.to_string())
            .send()
            .await
            .expect("request reaches the endpoint");
        decode_json_answer(response).await
    }

    /// Like [`Client::call`], panicking on an error.
    pub async fn ok(&self, action: &str, input: Value) -> Value {
        match self.call(action, input).await {
            Ok(v) => v,
            Err(e) => panic!("{action} failed: {e:?}"),
        }
    }

    /// Like [`Client::call`], expecting an error.
    pub async fn err(&self, action: &str, input: Value) -> AwsError {
        match self.call(action, input).await {
            Ok(v) => panic!("{action} succeeded but should have failed: {v}"),
            Err(e) => e,
        }
    }

    /// Runs a Query-protocol request (form-encoded POST).
    pub async fn query(&self, params: &[(&str, &str)]) -> XmlAnswer {
        let response = self
            .http
            .post(format!("{}/", self.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(params))
            .send()
            .await
            .expect("request reaches the endpoint");
        XmlAnswer {
            status: response.status().as_u16(),
            body: response.text().await.unwrap(),
        }
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.text().await.unwrap_or_default(),
        )
    }

    // ---- Shorthands over the JSON protocol ----------------------------------

    pub async fn create_queue(&self, name: &str, attributes: Value) -> String {
        let answer = self
            .ok(
                "CreateQueue",
                json!({"QueueName": name, "Attributes": attributes}),
            )
            .await;
        answer["QueueUrl"].as_str().unwrap().to_owned()
    }

    pub async fn send(&self, queue_url: &str, body: &str) -> Value {
        self.ok(
            "SendMessage",
            json!({"QueueUrl": queue_url, "MessageBody": body}),
        )
        .await
    }

    pub async fn send_fifo(&self, queue_url: &str, body: &str, group: &str, dedup: &str) -> Value {
        self.ok(
            "SendMessage",
            json!({"QueueUrl": queue_url, "MessageBody": body, "MessageGroupId": group,
                   "MessageDeduplicationId": dedup}),
        )
        .await
    }

    /// ReceiveMessage with every system attribute, plus `extra` fields.
    pub async fn receive(&self, queue_url: &str, extra: Value) -> Vec<Value> {
        let mut input = json!({"QueueUrl": queue_url, "MessageSystemAttributeNames": ["All"],
                               "MessageAttributeNames": ["All"]});
        if let (Some(input), Value::Object(extra)) = (input.as_object_mut(), extra) {
            input.extend(extra);
        }
        let answer = self.ok("ReceiveMessage", input).await;
        answer["Messages"].as_array().cloned().unwrap_or_default()
    }

    /// Receives up to `max` immediately (no wait).
    pub async fn receive_now(&self, queue_url: &str, max: u32) -> Vec<Value> {
        self.receive(
            queue_url,
            json!({"MaxNumberOfMessages": max, "WaitTimeSeconds": 0}),
        )
        .await
    }

    pub async fn delete(&self, queue_url: &str, receipt: &str) {
        self.ok(
            "DeleteMessage",
            json!({"QueueUrl": queue_url, "ReceiptHandle": receipt}),
        )
        .await;
    }

    pub async fn attributes(&self, queue_url: &str) -> Value {
        self.ok(
            "GetQueueAttributes",
            json!({"QueueUrl": queue_url, "AttributeNames": ["All"]}),
        )
        .await["Attributes"]
            .clone()
    }

    /// One queue attribute as a number.
    pub async fn count(&self, queue_url: &str, name: &str) -> u64 {
        let attributes = self.attributes(queue_url).await;
        attributes[name]
            .as_str()
            .unwrap_or_else(|| panic!("no attribute {name} in {attributes}"))
            .parse()
            .unwrap()
    }
}

async fn decode_json_answer(response: reqwest::Response) -> Result<Value, AwsError> {
    let status = response.status().as_u16();
    let query_error = response
        .headers()
        .get("x-amzn-query-error")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = response.text().await.unwrap();
    let value: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("answer is not JSON ({e}), status {status}: {text:?}"));
    if status == 200 {
        return Ok(value);
    }
    let kind = value["__type"]
        .as_str()
        .unwrap_or_else(|| panic!("error without __type: {text}"));
    Err(AwsError {
        status,
        kind: kind
            .strip_prefix("com.amazonaws.sqs#")
            .unwrap_or_else(|| panic!("__type without the SQS namespace: {kind}"))
            .to_owned(),
        query_error,
        message: value["message"].as_str().unwrap_or_default().to_owned(),
    })
}

/// `application/x-www-form-urlencoded` of `params`.
pub fn form(params: &[(&str, &str)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        out.append_pair(k, v);
    }
    out.finish()
}

/// A message attribute (`ApproximateReceiveCount`, ...) as a number.
pub fn attr_u64(message: &Value, name: &str) -> u64 {
    message["Attributes"][name]
        .as_str()
        .unwrap_or_else(|| panic!("no attribute {name} in {message}"))
        .parse()
        .unwrap()
}

pub fn body(message: &Value) -> &str {
    message["Body"].as_str().unwrap()
}

pub fn receipt(message: &Value) -> &str {
    message["ReceiptHandle"].as_str().unwrap()
}

pub fn bodies(messages: &[Value]) -> Vec<String> {
    messages.iter().map(|m| body(m).to_owned()).collect()
}

/// Receives (VisibilityTimeout 0 is not used: messages are taken out of the way)
/// until the queue answers empty; returns every body seen, deleting nothing.
pub async fn drain_bodies(client: &Client, queue_url: &str) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let batch = client.receive_now(queue_url, 10).await;
        if batch.is_empty() {
            return seen;
        }
        seen.extend(bodies(&batch));
    }
}
