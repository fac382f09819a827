//! The consume loop the four services share, through the AWS SDK: long polling
//! (WaitTimeSeconds 20) for batches of up to 10, processing a batch, deleting what
//! succeeded with DeleteMessageBatch, and leaving what failed to come back after
//! its visibility timeout (the queue's RedrivePolicy moves it to the DLQ after
//! maxReceiveCount receives). On shutdown, no new receive starts; a batch in flight
//! is finished within [`GRACE`], or released (ChangeMessageVisibility 0) so that
//! another consumer gets it at once, and so is a batch whose receive was answered
//! just as shutdown began. What a message means is [`Service::process`]'s
//! business, not this module's.

use std::sync::Arc;
use std::time::Duration;

use aws_config::meta::region::RegionProviderChain;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{
    BatchResultErrorEntry, ChangeMessageVisibilityBatchRequestEntry,
    DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName,
};
use tokio::sync::watch;

use crate::config::AwsSettings;
use crate::event::Event;
use crate::service::{Handler, Outcome, Service};

/// Long polling: how long one ReceiveMessage waits for messages.
pub const WAIT_TIME_SECONDS: i32 = 20;
/// The largest batch SQS gives.
pub const BATCH: i32 = 10;
/// How long a batch in flight may still run once shutdown starts.
pub const GRACE: Duration = Duration::from_secs(5);

/// How long a receive interrupted by shutdown may still bring messages to release.
const RECEIVE_GRACE: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// An SQS client from the standard AWS chain, overridden by `aws` where it says so.
pub async fn sqs_client(aws: &AwsSettings) -> aws_sdk_sqs::Client {
    let non_empty = |v: &Option<String>| {
        v.as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(str::to_owned)
    };
    // An attempt must outlive the long poll.
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_attempt_timeout(Duration::from_secs(WAIT_TIME_SECONDS as u64 + 10))
        .build();
    let region = RegionProviderChain::first_try(non_empty(&aws.region).map(Region::new))
        .or_default_provider()
        .or_else(Region::from_static("us-east-1"));
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(region)
        .timeout_config(timeouts);
    if let Some(endpoint) = non_empty(&aws.endpoint_url) {
        loader = loader.endpoint_url(endpoint);
    }
    if let Some((id, secret)) = &aws.credentials {
        loader = loader.credentials_provider(aws_sdk_sqs::config::Credentials::new(
            id,
            secret,
            None,
            None,
            "nextflix-services-config",
        ));
    }
    aws_sdk_sqs::Client::new(&loader.load().await)
}

/// Waits `delay`; true when shutdown started meanwhile.
async fn sleep_or_stop(delay: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    if *stop.borrow() {
        return true;
    }
    tokio::select! {
        _ = stop.changed() => true,
        () = tokio::time::sleep(delay) => false,
    }
}

/// Reaches the queue once (GetQueueAttributes) so that `/ready` turns 200 without
/// waiting for a long poll to end; retries until it succeeds or shutdown starts.
pub(crate) async fn probe<H: Handler>(
    svc: Arc<Service<H>>,
    mut stop: watch::Receiver<bool>,
    interval: Duration,
) {
    while !svc.is_ready() {
        let attempt = svc
            .sqs
            .get_queue_attributes()
            .queue_url(&svc.config.queue_url)
            .send();
        let answer = tokio::select! {
            _ = stop.changed() => return,
            answer = attempt => answer,
        };
        match answer {
            Ok(_) => svc.mark_ready(),
            Err(err) => {
                tracing::warn!(service = %H::KIND, queue = %svc.config.queue_url, err = %DisplayErrorContext(&err), "cannot reach the queue yet");
                if sleep_or_stop(interval, &mut stop).await {
                    return;
                }
            }
        }
    }
}

/// One consumer: receives, processes and deletes until shutdown.
pub(crate) async fn run<H: Handler>(
    svc: Arc<Service<H>>,
    worker: usize,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_millis(500);
    loop {
        if *stop.borrow() {
            break;
        }
        let receive = svc
            .sqs
            .receive_message()
            .queue_url(&svc.config.queue_url)
            .max_number_of_messages(BATCH)
            .wait_time_seconds(WAIT_TIME_SECONDS)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send();
        tokio::pin!(receive);
        let answer = tokio::select! {
            biased;
            _ = stop.changed() => {
                // A long poll cut short by shutdown. If the endpoint has already
                // answered, its messages are in flight: wait a moment for the
                // answer and release them, or they would stay hidden for their
                // whole visibility timeout. A poll still waiting is dropped (the
                // endpoint hands nothing to a closed connection).
                if let Ok(Ok(output)) = tokio::time::timeout(RECEIVE_GRACE, &mut receive).await {
                    let messages = output.messages.unwrap_or_default();
                    if !messages.is_empty() {
                        release(&svc, &messages).await;
                    }
                }
                break;
            }
            answer = &mut receive => answer,
        };
        match answer {
            Err(err) => {
                svc.stats.receive_errors.inc();
                tracing::warn!(service = %H::KIND, worker, err = %DisplayErrorContext(&err), retry_in = ?backoff, "ReceiveMessage failed");
                if sleep_or_stop(backoff, &mut stop).await {
                    break;
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            Ok(output) => {
                svc.mark_ready();
                backoff = Duration::from_millis(500);
                let messages = output.messages.unwrap_or_default();
                if !messages.is_empty() {
                    handle_batch(&svc, worker, messages, &mut stop).await;
                }
            }
        }
    }
    tracing::debug!(service = %H::KIND, worker, "consumer stopped");
}

async fn handle_batch<H: Handler>(
    svc: &Service<H>,
    worker: usize,
    messages: Vec<Message>,
    stop: &mut watch::Receiver<bool>,
) {
    svc.stats.batch_size.observe(messages.len() as f64);
    let events: Vec<_> = messages
        .iter()
        .map(|m| Event::from_body(m.body().unwrap_or_default()))
        .collect();
    let receives: Vec<u32> = messages
        .iter()
        .map(|m| {
            m.attributes()
                .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                .and_then(|n| n.parse().ok())
                .unwrap_or(1)
        })
        .collect();
    let work = svc.process(&events, &receives);
    tokio::pin!(work);
    let outcomes = tokio::select! {
        outcomes = &mut work => Some(outcomes),
        _ = stop.changed() => tokio::time::timeout(GRACE, &mut work).await.ok(),
    };
    let Some(outcomes) = outcomes else {
        tracing::warn!(service = %H::KIND, worker, messages = messages.len(), "shutdown: releasing a batch that did not finish");
        release(svc, &messages).await;
        return;
    };
    let mut done = Vec::new();
    for ((message, outcome), receives) in messages.iter().zip(&outcomes).zip(&receives) {
        match outcome {
            Outcome::Failed(reason) => {
                tracing::warn!(
                    service = %H::KIND,
                    worker,
                    message_id = message.message_id().unwrap_or_default(),
                    receives,
                    %reason,
                    "message not processed: left on the queue"
                );
            }
            Outcome::Applied | Outcome::Duplicate => done.push(message),
        }
    }
    delete(svc, &done).await;
}

/// DeleteMessageBatch for the messages whose work is done.
async fn delete<H: Handler>(svc: &Service<H>, messages: &[&Message]) {
    let entries: Vec<_> = receipts(messages.iter().copied())
        .filter_map(|(id, receipt)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(id)
                .receipt_handle(receipt)
                .build()
                .ok()
        })
        .collect();
    if entries.is_empty() {
        return;
    }
    let count = entries.len();
    let answer = svc
        .sqs
        .delete_message_batch()
        .queue_url(&svc.config.queue_url)
        .set_entries(Some(entries))
        .send()
        .await;
    let failed = answer
        .as_ref()
        .map(|o| o.failed())
        .map_err(DisplayErrorContext);
    let done = settle::<H>(
        "DeleteMessageBatch",
        "they will come back and be skipped as duplicates",
        count,
        failed,
    );
    svc.stats.deleted.inc_by(done);
}

/// ChangeMessageVisibilityBatch 0: the messages are visible again at once.
async fn release<H: Handler>(svc: &Service<H>, messages: &[Message]) {
    let entries: Vec<_> = receipts(messages.iter())
        .filter_map(|(id, receipt)| {
            ChangeMessageVisibilityBatchRequestEntry::builder()
                .id(id)
                .receipt_handle(receipt)
                .visibility_timeout(0)
                .build()
                .ok()
        })
        .collect();
    if entries.is_empty() {
        return;
    }
    let count = entries.len();
    let answer = svc
        .sqs
        .change_message_visibility_batch()
        .queue_url(&svc.config.queue_url)
        .set_entries(Some(entries))
        .send()
        .await;
    let failed = answer
        .as_ref()
        .map(|o| o.failed())
        .map_err(DisplayErrorContext);
    let done = settle::<H>(
        "ChangeMessageVisibilityBatch",
        "they come back after their visibility timeout",
        count,
        failed,
    );
    svc.stats.released.inc_by(done);
}

/// `(batch entry id, receipt handle)` of each message that has a receipt.
fn receipts<'a>(
    messages: impl Iterator<Item = &'a Message>,
) -> impl Iterator<Item = (String, &'a str)> {
    messages
        .enumerate()
        .filter_map(|(i, m)| Some((i.to_string(), m.receipt_handle()?)))
}

/// Logs what a batch call could not do; the number of entries it did.
fn settle<H: Handler>(
    action: &str,
    otherwise: &str,
    count: usize,
    failed: Result<&[BatchResultErrorEntry], impl std::fmt::Display>,
) -> u64 {
    match failed {
        Ok(failed) => {
            for entry in failed {
                tracing::warn!(service = %H::KIND, action, code = entry.code(), message = entry.message().unwrap_or_default(), "an entry failed: {otherwise}");
            }
            count.saturating_sub(failed.len()) as u64
        }
        Err(err) => {
            tracing::warn!(service = %H::KIND, action, %err, "the call failed: {otherwise}");
            0
        }
    }
}
