//! The MovieDetailsViewedEvent (SPEC 1.2) and where it goes: an S3 object
//! `<sessionId>/<activityId>.json`, and the SNS topic (or, with a queue and no
//! topic, the SQS queue).
//!
//! Events bound for the topic (or queue) go through a batcher: a task that sends
//! at most [`IN_FLIGHT`] calls at once and, while they are in flight, lets events
//! queue; each call takes whatever is queued, up to [`MAX_BATCH`] events and
//! [`MAX_BATCH_BYTES`], as one PublishBatch (SendMessageBatch), or as one Publish
//! (SendMessage) when a single event is waiting. So under load ten events cost one
//! call, and a lone event waits for nothing. Each event learns its own entry's
//! outcome: a request is answered only once its own event is stored and published.
//!
//! Only the official AWS SDK for Rust talks to AWS here, configured by the standard
//! chain (environment, profile, ...) plus the settings of [`Config`], so that real AWS
//! and a local endpoint are the same code path. This module knows nothing of HTTP
//! requests: the handler builds an [`Event`] and calls [`Publisher::send`].

use std::sync::Arc;
use std::time::Duration;

use aws_config::meta::region::RegionProviderChain;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::{
    RequestChecksumCalculation, ResponseChecksumValidation, StalledStreamProtectionConfig,
};
use aws_sdk_s3::primitives::ByteStream;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::config::{Config, non_empty};

/// One MovieDetailsViewedEvent, fields in the original's order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// A UUID v4, new for every event.
    pub activity_id: String,
    /// The visitor's session (the `session_id` cookie).
    pub session_id: String,
    /// ISO-8601 UTC with milliseconds, as JavaScript's `toISOString()`.
    pub timestamp: String,
    /// The id the page sent, as it sent it (a number or a string).
    pub media_id: Value,
}

impl Event {
    /// A new event for `media_id`, viewed now in `session_id`.
    pub fn new(session_id: &str, media_id: Value) -> Self {
        Self {
            activity_id: uuid::Uuid::new_v4().to_string(),
            session_id: session_id.to_owned(),
            timestamp: crate::time::now_iso8601(),
            media_id,
        }
    }

    /// The S3 key of the event: `<sessionId>/<activityId>.json`.
    pub fn object_key(&self) -> String {
        format!("{}/{}.json", self.session_id, self.activity_id)
    }
}

/// Which destination an event could not reach, and why.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} the event: {message}")]
pub struct PublishError {
    /// `store (S3 PutObject)`, `publish (SNS Publish)` or `send (SQS SendMessage)`.
    pub action: &'static str,
    /// The SDK's error with its chain of causes.
    pub message: String,
}

impl PublishError {
    fn new(action: &'static str, err: &(dyn std::error::Error + 'static)) -> Self {
        Self {
            action,
            message: aws_sdk_s3::error::DisplayErrorContext(err).to_string(),
        }
    }
}

/// The most entries of one PublishBatch or SendMessageBatch (AWS's limit).
pub const MAX_BATCH: usize = 10;
/// The largest total of the messages of one batch (AWS's limit: 256 KiB).
pub const MAX_BATCH_BYTES: usize = 256 * 1024;
/// Calls to the topic (or queue) in flight at once; more events wait and are
/// batched. A few calls at once keep the latency of a lone event at one call,
/// while under load most calls carry a full batch.
pub const IN_FLIGHT: usize = 4;

/// Where events are published: the topic, or the queue when there is no topic.
#[derive(Debug, Clone)]
enum Notify {
    Sns(aws_sdk_sns::Client, String),
    Sqs(aws_sdk_sqs::Client, String),
}

/// An event waiting for its call, and who waits for the outcome.
struct Queued {
    body: String,
    done: oneshot::Sender<Result<(), PublishError>>,
}

/// The handle of the batcher task; the task ends when every handle is dropped.
#[derive(Debug, Clone)]
struct Batcher {
    queue: mpsc::UnboundedSender<Queued>,
    /// The same destination, for a caller without a runtime to batch in.
    notify: Notify,
}

impl Batcher {
    fn start(notify: Notify) -> Self {
        let (queue, rx) = mpsc::unbounded_channel();
        tokio::spawn(run_batcher(notify.clone(), rx));
        Self { queue, notify }
    }

    /// Queues `body` and waits for the outcome of its own entry.
    async fn send(&self, body: String) -> Result<(), PublishError> {
        let (done, outcome) = oneshot::channel();
        if let Err(mpsc::error::SendError(queued)) = self.queue.send(Queued { body, done }) {
            // The task is gone (its runtime stopped): send it directly.
            return self.notify.one(queued.body).await;
        }
        outcome.await.unwrap_or_else(|_| {
            Err(PublishError {
                action: self.notify.action(1),
                message: "the event was dropped before it was sent".to_owned(),
            })
        })
    }
}

/// Takes batches off the queue while at most [`IN_FLIGHT`] calls are in flight.
async fn run_batcher(notify: Notify, mut rx: mpsc::UnboundedReceiver<Queued>) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut carried: Option<Queued> = None;
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let first = match carried.take() {
            Some(queued) => queued,
            None => match rx.recv().await {
                Some(queued) => queued,
                None => return,
            },
        };
        let batch = fill_batch(first, &mut rx, &mut carried);
        let notify = notify.clone();
        tokio::spawn(async move {
            notify.deliver(batch).await;
            drop(slot);
        });
    }
}

/// `first` and whatever is queued after it, within AWS's limits of a batch; an
/// event that would go over the byte limit is `carried` to the next batch.
fn fill_batch(
    first: Queued,
    rx: &mut mpsc::UnboundedReceiver<Queued>,
    carried: &mut Option<Queued>,
) -> Vec<Queued> {
    let mut bytes = first.body.len();
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        let Ok(next) = rx.try_recv() else {
            break;
        };
        if bytes + next.body.len() > MAX_BATCH_BYTES {
            *carried = Some(next);
            break;
        }
        bytes += next.body.len();
        batch.push(next);
    }
    batch
}

impl Notify {
    fn action(&self, entries: usize) -> &'static str {
        match (self, entries) {
            (Notify::Sns(..), 1) => "publish (SNS Publish)",
            (Notify::Sns(..), _) => "publish (SNS PublishBatch)",
            (Notify::Sqs(..), 1) => "send (SQS SendMessage)",
            (Notify::Sqs(..), _) => "send (SQS SendMessageBatch)",
        }
    }

    /// Sends the batch and tells each event the outcome of its own entry.
    async fn deliver(&self, mut batch: Vec<Queued>) {
        if batch.len() == 1 {
            let queued = batch.remove(0);
            let outcome = self.one(queued.body).await;
            let _ = queued.done.send(outcome);
            return;
        }
        let bodies: Vec<String> = batch
            .iter_mut()
            .map(|q| std::mem::take(&mut q.body))
            .collect();
        let outcomes = self.many(bodies).await;
        for (queued, outcome) in batch.into_iter().zip(outcomes) {
            let _ = queued.done.send(outcome);
        }
    }

    /// One Publish (SendMessage).
    async fn one(&self, body: String) -> Result<(), PublishError> {
        let action = self.action(1);
        match self {
            Notify::Sns(client, arn) => client
                .publish()
                .topic_arn(arn)
                .message(body)
                .send()
                .await
                .map(drop)
                .map_err(|e| PublishError::new(action, &e)),
            Notify::Sqs(client, url) => client
                .send_message()
                .queue_url(url)
                .message_body(body)
                .send()
                .await
                .map(drop)
                .map_err(|e| PublishError::new(action, &e)),
        }
    }

    /// One PublishBatch (SendMessageBatch) of `bodies`, whose entries are
    /// named by their index; the outcome of each, in order.
    async fn many(&self, bodies: Vec<String>) -> Vec<Result<(), PublishError>> {
        let action = self.action(bodies.len());
        let count = bodies.len();
        let failed = |e: &(dyn std::error::Error + 'static)| PublishError::new(action, e);
        let answer: Result<Vec<Result<(), String>>, PublishError> = async {
            Ok(match self {
                Notify::Sns(client, arn) => {
                    let entries = bodies.into_iter().enumerate().map(|(i, body)| {
                        aws_sdk_sns::types::PublishBatchRequestEntry::builder()
                            .id(i.to_string())
                            .message(body)
                            .build()
                    });
                    let out = client
                        .publish_batch()
                        .topic_arn(arn)
                        .set_publish_batch_request_entries(Some(
                            entries.collect::<Result<_, _>>().map_err(|e| failed(&e))?,
                        ))
                        .send()
                        .await
                        .map_err(|e| failed(&e))?;
                    entry_outcomes(
                        count,
                        out.successful().iter().filter_map(|s| s.id()),
                        out.failed().iter().map(|f| (f.id(), f.code(), f.message())),
                    )
                }
                Notify::Sqs(client, url) => {
                    let entries = bodies.into_iter().enumerate().map(|(i, body)| {
                        aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                            .id(i.to_string())
                            .message_body(body)
                            .build()
                    });
                    let out = client
                        .send_message_batch()
                        .queue_url(url)
                        .set_entries(Some(
                            entries.collect::<Result<_, _>>().map_err(|e| failed(&e))?,
                        ))
                        .send()
                        .await
                        .map_err(|e| failed(&e))?;
                    entry_outcomes(
                        count,
                        out.successful().iter().map(|s| s.id()),
                        out.failed().iter().map(|f| (f.id(), f.code(), f.message())),
                    )
                }
            })
        }
        .await;
        match answer {
            Ok(outcomes) => outcomes
                .into_iter()
                .map(|o| o.map_err(|message| PublishError { action, message }))
                .collect(),
            // The call failed as a whole: so did every entry.
            Err(err) => (0..count)
                .map(|_| {
                    Err(PublishError {
                        action,
                        message: err.message.clone(),
                    })
                })
                .collect(),
        }
    }
}

/// The outcome of each of `count` entries named `0`..`count` from a batch's
/// answer: successful ids, and failed ones with their code and message. An entry
/// the answer does not name is a failure too.
fn entry_outcomes<'a>(
    count: usize,
    successful: impl Iterator<Item = &'a str>,
    failed: impl Iterator<Item = (&'a str, &'a str, Option<&'a str>)>,
) -> Vec<Result<(), String>> {
    let mut outcomes: Vec<Result<(), String>> =
        vec![Err("the batch's answer has no result for this entry".to_owned()); count];
    let index = |id: &str| id.parse::<usize>().ok().filter(|&i| i < count);
    for id in successful {
        if let Some(i) = index(id) {
            outcomes[i] = Ok(());
        }
    }
    for (id, code, message) in failed {
        if let Some(i) = index(id) {
            outcomes[i] = Err(match message {
                Some(message) => format!("{code}: {message}"),
                None => code.to_owned(),
            });
        }
    }
    outcomes
}

/// The configured destinations, with their clients built once.
#[derive(Debug, Clone, Default)]
pub struct Publisher {
    s3: Option<(aws_sdk_s3::Client, String)>,
    notify: Option<Batcher>,
}

impl Publisher {
    /// Builds the clients of the destinations `config` names (none when it names
    /// none, so that a frontend without AWS never touches the AWS chain).
    pub async fn new(config: &Config) -> Self {
        let bucket = non_empty(&config.s3_bucket);
        let topic = non_empty(&config.sns_topic_arn);
        // As in the original: the queue is used only when there is no topic.
        let queue = non_empty(&config.sqs_queue_url).filter(|_| topic.is_none());
        if bucket.is_none() && topic.is_none() && queue.is_none() {
            return Self::default();
        }
        let sdk = sdk_config(config).await;
        let s3 = bucket.map(|bucket| {
            // A local endpoint has no per-bucket host names: path-style addressing.
            let path_style = sdk.endpoint_url().is_some();
            let conf = aws_sdk_s3::config::Builder::from(&sdk)
                .force_path_style(path_style)
                .build();
            (aws_sdk_s3::Client::from_conf(conf), bucket.to_owned())
        });
        let notify = match (topic, queue) {
            (Some(arn), _) => Some(Notify::Sns(aws_sdk_sns::Client::new(&sdk), arn.to_owned())),
            (None, Some(url)) => Some(Notify::Sqs(aws_sdk_sqs::Client::new(&sdk), url.to_owned())),
            (None, None) => None,
        };
        Self {
            s3,
            notify: notify.map(Batcher::start),
        }
    }

    /// What this publisher does with an event, for logs: e.g. `s3+sns`.
    pub fn describe(&self) -> String {
        let parts: Vec<&str> = [
            self.s3.as_ref().map(|_| "s3"),
            self.notify.as_ref().map(|b| match b.notify {
                Notify::Sns(..) => "sns",
                Notify::Sqs(..) => "sqs",
            }),
        ]
        .into_iter()
        .flatten()
        .collect();
        if parts.is_empty() {
            "none".to_owned()
        } else {
            parts.join("+")
        }
    }

    /// Stores and publishes the event, both at once; the first failure is the error.
    pub async fn send(&self, event: &Event) -> Result<(), PublishError> {
        let body = serde_json::to_string(event).map_err(|e| PublishError::new("encode", &e))?;
        let store = async {
            let Some((client, bucket)) = &self.s3 else {
                return Ok(());
            };
            client
                .put_object()
                .bucket(bucket)
                .key(event.object_key())
                .content_type("application/json")
                .body(ByteStream::from(body.clone().into_bytes()))
                .send()
                .await
                .map(drop)
                .map_err(|e| PublishError::new("store (S3 PutObject)", &e))
        };
        let notify = async {
            match &self.notify {
                Some(batcher) => batcher.send(body.clone()).await,
                None => Ok(()),
            }
        };
        let (stored, notified) = tokio::join!(store, notify);
        stored.and(notified)
    }
}

/// The standard AWS chain, with the region, endpoint and credentials of `config`
/// when it gives them, and timeouts short enough for a page's request.
async fn sdk_config(config: &Config) -> SdkConfig {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_attempt_timeout(Duration::from_secs(5))
        .operation_timeout(Duration::from_secs(15))
        .build();
    let region = RegionProviderChain::first_try(
        non_empty(&config.aws_region).map(|r| Region::new(r.to_owned())),
    )
    .or_default_provider()
    .or_else(Region::from_static("us-east-1"));
    // An event is a few hundred bytes: no stalled-stream watchdog, and checksums only
    // where the API requires them (S3 would otherwise add a CRC trailer to each put).
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(region)
        .timeout_config(timeouts)
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
    if let Some(endpoint) = non_empty(&config.aws_endpoint_url) {
        loader = loader.endpoint_url(endpoint);
    }
    if let Some(credentials) = &config.aws_credentials {
        loader = loader.credentials_provider(aws_sdk_s3::config::Credentials::new(
            &credentials.access_key_id,
            &credentials.secret_access_key,
            None,
            None,
            "nextflix-web-config",
        ));
    }
    loader.load().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_answers_map_to_their_own_entries() {
        let outcomes = entry_outcomes(
            4,
            ["2", "0", "7", "x"].into_iter(),
            [
                ("1", "InternalError", Some("disk full")),
                ("9", "Nope", None),
            ]
            .into_iter(),
        );
        assert_eq!(outcomes[0], Ok(()));
        assert_eq!(outcomes[1], Err("InternalError: disk full".to_owned()));
        assert_eq!(outcomes[2], Ok(()));
        // Named by neither list: a failure, never a silent success.
        assert!(outcomes[3].as_ref().unwrap_err().contains("no result"));
    }

    fn queued(body: String) -> (Queued, oneshot::Receiver<Result<(), PublishError>>) {
        let (done, rx) = oneshot::channel();
        (Queued { body, done }, rx)
    }

    #[test]
    fn batches_keep_to_the_entry_and_byte_limits() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut waiting = Vec::new();
        for _ in 0..25 {
            let (q, w) = queued("e".repeat(100));
            tx.send(q).unwrap();
            waiting.push(w);
        }
        let mut carried = None;
        let mut sizes = Vec::new();
        while let Ok(first) = rx.try_recv() {
            sizes.push(fill_batch(first, &mut rx, &mut carried).len());
            assert!(carried.is_none());
        }
        assert_eq!(sizes, [10, 10, 5]);

        // Three messages of 100 KiB: the third would pass 256 KiB, so it waits.
        for _ in 0..3 {
            let (q, w) = queued("m".repeat(100 * 1024));
            tx.send(q).unwrap();
            waiting.push(w);
        }
        let first = rx.try_recv().unwrap();
        let batch = fill_batch(first, &mut rx, &mut carried);
        assert_eq!(batch.len(), 2);
        let next = carried.take().expect("the third is carried over");
        let batch = fill_batch(next, &mut rx, &mut carried);
        assert_eq!(batch.len(), 1);
        assert!(carried.is_none());
    }

    #[test]
    fn the_event_has_the_original_shape() {
        let event = Event::new("s-1", serde_json::json!(550));
        let value = serde_json::to_value(&event).unwrap();
        let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 4);
        assert_eq!(value["sessionId"], "s-1");
        assert_eq!(value["mediaId"], 550);
        assert!(uuid::Uuid::parse_str(&event.activity_id).is_ok());
        assert_eq!(event.timestamp.len(), 24);
        assert!(event.timestamp.ends_with('Z'));
        assert_eq!(
            event.object_key(),
            format!("s-1/{}.json", event.activity_id)
        );
    }
}
