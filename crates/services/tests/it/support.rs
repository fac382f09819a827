//! What the tests share: an endpoint, a catalog, AWS clients, queues with DLQs,
//! a topic, services on ephemeral ports, and waiting for a condition.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::QueueAttributeName;
use nextflix_common::server::ServerHandle;
use nextflix_endpoint::Endpoint;
use nextflix_services::{AwsSettings, Kind, ServiceConfig, ServiceHandle};
use serde_json::Value;
use tokio::net::TcpListener;

pub struct Env {
    pub endpoint: Endpoint,
    pub catalog: ServerHandle,
    pub sqs: aws_sdk_sqs::Client,
    pub sns: aws_sdk_sns::Client,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
}

/// A queue and its dead-letter queue.
pub struct Queue {
    pub url: String,
    pub arn: String,
    pub dlq_url: String,
}

static UNIQUE: AtomicU64 = AtomicU64::new(0);

/// A name no other call in this process gets.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", UNIQUE.fetch_add(1, Ordering::Relaxed))
}

impl Env {
    pub async fn start() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let endpoint = Endpoint::start_local(nextflix_endpoint::Config::default())
            .await
            .unwrap();
        let catalog_config = nextflix_catalog::Config {
            data_dir: None,
            state_dir: dir.path().join("catalog-state"),
        };
        let router = nextflix_catalog::build(&catalog_config).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let catalog = nextflix_common::server::spawn(listener, router).unwrap();
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(endpoint.url())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sqs::config::Credentials::new(
                "test", "test", None, None, "tests",
            ))
            .load()
            .await;
        Env {
            sqs: aws_sdk_sqs::Client::new(&sdk),
            sns: aws_sdk_sns::Client::new(&sdk),
            http: reqwest::Client::new(),
            endpoint,
            catalog,
            dir,
        }
    }

    pub fn aws(&self) -> AwsSettings {
        AwsSettings {
            endpoint_url: Some(self.endpoint.url()),
            region: Some("us-east-1".into()),
            credentials: Some(("test".into(), "test".into())),
        }
    }

    /// A queue with a DLQ after `max_receives` receives.
    pub async fn queue(&self, name: &str, visibility_secs: u32, max_receives: u32) -> Queue {
        let name = unique(name);
        let dlq_url = self
            .sqs
            .create_queue()
            .queue_name(format!("{name}-dlq"))
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let dlq_arn = self.arn(&dlq_url).await;
        let redrive = serde_json::json!({
            "deadLetterTargetArn": dlq_arn,
            "maxReceiveCount": max_receives.to_string(),
        });
        let url = self
            .sqs
            .create_queue()
            .queue_name(&name)
            .attributes(
                QueueAttributeName::VisibilityTimeout,
                visibility_secs.to_string(),
            )
            .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let arn = self.arn(&url).await;
        Queue { url, arn, dlq_url }
    }

    async fn arn(&self, url: &str) -> String {
        self.sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap()
            .remove(&QueueAttributeName::QueueArn)
            .unwrap()
    }

    /// A topic delivering to `queue` (raw delivery or the SNS envelope), with the
    /// queue policy that lets it.
    pub async fn topic_to(&self, queues: &[(&Queue, bool)]) -> String {
        let topic = self
            .sns
            .create_topic()
            .name(unique("events-topic"))
            .send()
            .await
            .unwrap()
            .topic_arn
            .unwrap();
        for (queue, raw) in queues {
            let policy = serde_json::json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue.arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": topic}},
                }],
            });
            self.sqs
                .set_queue_attributes()
                .queue_url(&queue.url)
                .attributes(QueueAttributeName::Policy, policy.to_string())
                .send()
                .await
                .unwrap();
            let mut subscribe = self
                .sns
                .subscribe()
                .topic_arn(&topic)
                .protocol("sqs")
                .endpoint(&queue.arn);
            if *raw {
                subscribe = subscribe.attributes("RawMessageDelivery", "true");
            }
            subscribe.send().await.unwrap();
        }
        topic
    }

    pub async fn publish(&self, topic: &str, body: &str) {
        self.sns
            .publish()
            .topic_arn(topic)
            .message(body)
            .send()
            .await
            .unwrap();
    }

    pub async fn send(&self, queue: &Queue, body: &str) {
        self.sqs
            .send_message()
            .queue_url(&queue.url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }

    /// Visible plus in-flight messages of a queue.
    pub async fn messages(&self, url: &str) -> u64 {
        let (visible, in_flight) = self.counts(url).await;
        visible + in_flight
    }

    /// `(visible, in flight)` messages of a queue.
    pub async fn counts(&self, url: &str) -> (u64, u64) {
        let attributes = self
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap_or_default();
        let count = |k: QueueAttributeName| {
            attributes
                .get(&k)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        (
            count(QueueAttributeName::ApproximateNumberOfMessages),
            count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        )
    }

    pub fn config(&self, kind: Kind, queue: &Queue, state_dir: &Path) -> ServiceConfig {
        ServiceConfig {
            kind,
            queue_url: queue.url.clone(),
            catalog_url: self.catalog.url(),
            state_dir: state_dir.to_owned(),
            workers: 2,
            aws: self.aws(),
        }
    }

    pub async fn service(&self, kind: Kind, queue: &Queue, state_dir: &Path) -> ServiceHandle {
        spawn(self.config(kind, queue, state_dir)).await
    }

    /// GET `url`: the status and the JSON body (`null` when it is not JSON).
    pub async fn get(&self, url: &str) -> (u16, Value) {
        let response = self.http.get(url).send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn text(&self, url: &str) -> (u16, String) {
        let response = self.http.get(url).send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }
}

pub async fn spawn(config: ServiceConfig) -> ServiceHandle {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    nextflix_services::spawn(config, listener).await.unwrap()
}

/// A MovieDetailsViewedEvent as the web sends it: its activityId and its JSON.
pub fn event(session: &str, media: Value) -> (String, String) {
    let activity = unique("activity");
    let body = serde_json::json!({
        "activityId": activity,
        "sessionId": session,
        "timestamp": nextflix_services::event::format_ms(nextflix_services::event::now_ms()),
        "mediaId": media,
    });
    (activity, body.to_string())
}

/// Polls `check` until it gives `Some`, for at most `secs` seconds.
pub async fn wait_for<T>(secs: u64, what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The value of a Prometheus counter or gauge line `name` in `/metrics`.
pub fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|line| {
            let (key, value) = line.split_once(' ')?;
            (key == name).then(|| value.parse().ok())?
        })
        .unwrap_or(0.0)
}

/// The mediaIds of a JSON list of items.
pub fn ids(items: &Value) -> Vec<String> {
    items
        .as_array()
        .map(|a| {
            a.iter()
                .map(|i| i["mediaId"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The titles [`fill`] spreads its events over.
pub const FILL_TITLES: [u64; 10] = [
    100001, 100002, 100003, 100004, 100005, 100006, 100007, 100008, 200001, 200002,
];

/// Sends `n` events (a multiple of 10; 50 sessions, the ten [`FILL_TITLES`]) in
/// batches of 10; the number of events per title.
pub async fn fill(env: &Env, url: &str, n: u64) -> std::collections::HashMap<String, u64> {
    let mut expected = std::collections::HashMap::new();
    for chunk in 0..n / 10 {
        let entries = FILL_TITLES
            .iter()
            .enumerate()
            .map(|(i, media)| {
                *expected.entry(media.to_string()).or_default() += 1;
                let body = event(&format!("viewer-{}", chunk % 50), serde_json::json!(media)).1;
                aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body)
                    .build()
                    .unwrap()
            })
            .collect();
        env.sqs
            .send_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
            .unwrap();
    }
    expected
}
