//! DelaySeconds (queue default and per message) and MessageRetentionPeriod, on the
//! virtual clock.

use std::time::Duration;

use serde_json::json;

use crate::support::{bodies, receipt, start};

#[tokio::test]
async fn a_queue_delay_holds_messages_back() {
    let (endpoint, sqs) = start().await;
    let q = sqs
        .create_queue("delayed", json!({"DelaySeconds": "10"}))
        .await;
    sqs.send(&q, "later").await;
    assert!(sqs.receive_now(&q, 10).await.is_empty());
    assert_eq!(sqs.count(&q, "ApproximateNumberOfMessagesDelayed").await, 1);
    assert_eq!(sqs.count(&q, "ApproximateNumberOfMessages").await, 0);

    endpoint.advance(Duration::from_secs(9));
    assert!(sqs.receive_now(&q, 10).await.is_empty());
    endpoint.advance(Duration::from_secs(1));
    assert_eq!(sqs.count(&q, "ApproximateNumberOfMessagesDelayed").await, 0);
    assert_eq!(sqs.count(&q, "ApproximateNumberOfMessages").await, 1);
    let got = sqs.receive_now(&q, 10).await;
    assert_eq!(bodies(&got), ["later"]);
}

#[tokio::test]
async fn a_message_delay_overrides_the_queue_delay() {
    let (endpoint, sqs) = start().await;
    let plain = sqs.create_queue("delay-per-message", json!({})).await;
    sqs.ok(
        "SendMessage",
        json!({"QueueUrl": plain, "MessageBody": "in 5 s", "DelaySeconds": 5}),
    )
    .await;
    sqs.send(&plain, "now").await;
    assert_eq!(bodies(&sqs.receive_now(&plain, 10).await), ["now"]);
    assert_eq!(
        sqs.count(&plain, "ApproximateNumberOfMessagesDelayed")
            .await,
        1
    );

    // A queue with a delay: DelaySeconds 0 on the message sends it at once.
    let slow = sqs
        .create_queue("delay-queue-900", json!({"DelaySeconds": "900"}))
        .await;
    sqs.ok(
        "SendMessageBatch",
        json!({"QueueUrl": slow, "Entries": [
            {"Id": "a", "MessageBody": "zero", "DelaySeconds": 0},
            {"Id": "b", "MessageBody": "default"},
        ]}),
    )
    .await;
    let zero = sqs.receive_now(&slow, 10).await;
    assert_eq!(bodies(&zero), ["zero"]);
    sqs.delete(&slow, receipt(&zero[0])).await;

    endpoint.advance(Duration::from_secs(5));
    assert_eq!(bodies(&sqs.receive_now(&plain, 10).await), ["in 5 s"]);
    assert!(sqs.receive_now(&slow, 10).await.is_empty());
    endpoint.advance(Duration::from_secs(895));
    assert_eq!(bodies(&sqs.receive_now(&slow, 10).await), ["default"]);
}

#[tokio::test]
async fn delays_out_of_range_are_refused() {
    let (_endpoint, sqs) = start().await;
    let q = sqs.create_queue("delay-range", json!({})).await;
    let e = sqs
        .err(
            "SendMessage",
            json!({"QueueUrl": q, "MessageBody": "x", "DelaySeconds": 901}),
        )
        .await;
    assert_eq!(e.kind, "InvalidParameterValue");
    let e = sqs
        .err(
            "SetQueueAttributes",
            json!({"QueueUrl": q, "Attributes": {"DelaySeconds": "-1"}}),
        )
        .await;
    assert_eq!(e.kind, "InvalidAttributeValue");
    let fifo = sqs
        .create_queue("delay-range.fifo", json!({"FifoQueue": "true"}))
        .await;
    let e = sqs
        .err(
            "SendMessage",
            json!({"QueueUrl": fifo, "MessageBody": "x", "MessageGroupId": "g",
                   "MessageDeduplicationId": "d", "DelaySeconds": 5}),
        )
        .await;
    assert_eq!(e.kind, "InvalidParameterValue");
}

#[tokio::test]
async fn messages_older_than_the_retention_period_are_gone() {
    let (endpoint, sqs) = start().await;
    let q = sqs
        .create_queue("short-lived", json!({"MessageRetentionPeriod": "60"}))
        .await;
    sqs.send(&q, "visible").await;
    sqs.send(&q, "in flight").await;
    let taken = sqs
        .receive(
            &q,
            json!({"MaxNumberOfMessages": 1, "VisibilityTimeout": 3600}),
        )
        .await;
    assert_eq!(taken.len(), 1);
    endpoint.advance(Duration::from_secs(30));
    sqs.send(&q, "young").await;
    assert_eq!(sqs.count(&q, "ApproximateNumberOfMessages").await, 2);

    endpoint.advance(Duration::from_secs(31));
    // 61 s after the first two: both gone, in flight or not; the young one stays.
    assert_eq!(sqs.count(&q, "ApproximateNumberOfMessages").await, 1);
    assert_eq!(
        sqs.count(&q, "ApproximateNumberOfMessagesNotVisible").await,
        0
    );
    let left = sqs.receive_now(&q, 10).await;
    assert_eq!(bodies(&left), ["young"]);
    endpoint.advance(Duration::from_secs(30));
    assert_eq!(
        sqs.count(&q, "ApproximateNumberOfMessagesNotVisible").await,
        0
    );
}

#[tokio::test]
async fn shortening_the_retention_drops_old_messages() {
    let (endpoint, sqs) = start().await;
    let q = sqs.create_queue("retention-change", json!({})).await;
    sqs.send(&q, "old").await;
    endpoint.advance(Duration::from_secs(120));
    sqs.send(&q, "new").await;
    sqs.ok(
        "SetQueueAttributes",
        json!({"QueueUrl": q, "Attributes": {"MessageRetentionPeriod": "60"}}),
    )
    .await;
    assert_eq!(bodies(&sqs.receive_now(&q, 10).await), ["new"]);
}
