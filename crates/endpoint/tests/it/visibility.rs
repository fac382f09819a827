//! Visibility timeouts: in flight until the timeout, then visible again with a
//! higher receive count; ChangeMessageVisibility and its errors; deletes with old
//! receipts.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{attr_u64, body, receipt, start};

/// A ChangeMessageVisibility request.
fn change(queue_url: &str, handle: &str, timeout: i64) -> Value {
    json!({"QueueUrl": queue_url, "ReceiptHandle": handle, "VisibilityTimeout": timeout})
}

#[tokio::test]
async fn a_message_comes_back_after_its_visibility_timeout() {
    let (endpoint, sqs) = start().await;
    let q = sqs
        .create_queue("vis", json!({"VisibilityTimeout": "30"}))
        .await;
    sqs.send(&q, "hello").await;
    let first = sqs.receive_now(&q, 10).await;
    assert_eq!(first.len(), 1);
    assert_eq!(body(&first[0]), "hello");
    assert_eq!(attr_u64(&first[0], "ApproximateReceiveCount"), 1);
    assert_eq!(
        sqs.count(&q, "ApproximateNumberOfMessagesNotVisible").await,
        1
    );
    assert_eq!(sqs.count(&q, "ApproximateNumberOfMessages").await, 0);

    endpoint.advance(Duration::from_secs(29));
    assert!(sqs.receive_now(&q, 10).await.is_empty(), "still in flight");
    endpoint.advance(Duration::from_secs(2));
    let second = sqs.receive_now(&q, 10).await;
    assert_eq!(second.len(), 1);
    assert_eq!(second[0]["MessageId"], first[0]["MessageId"]);
    assert_eq!(attr_u64(&second[0], "ApproximateReceiveCount"), 2);
    // The first receive's time is kept.
    assert_eq!(
        attr_u64(&second[0], "ApproximateFirstReceiveTimestamp"),
        attr_u64(&first[0], "ApproximateFirstReceiveTimestamp")
    );
    assert_ne!(receipt(&second[0]), receipt(&first[0]));
}

#[tokio::test]
async fn a_receive_may_set_its_own_visibility_timeout() {
    let (endpoint, sqs) = start().await;
    let q = sqs.create_queue("vis-own", json!({})).await;
    sqs.send(&q, "m").await;
    let got = sqs
        .receive(&q, json!({"VisibilityTimeout": 5, "WaitTimeSeconds": 0}))
        .await;
    assert_eq!(got.len(), 1);
    endpoint.advance(Duration::from_secs(4));
    assert!(sqs.receive_now(&q, 1).await.is_empty());
    endpoint.advance(Duration::from_secs(1));
    assert_eq!(sqs.receive_now(&q, 1).await.len(), 1);
}

#[tokio::test]
async fn changing_visibility_to_zero_makes_the_message_visible_at_once() {
    let (endpoint, sqs) = start().await;
    let q = sqs.create_queue("vis-zero", json!({})).await;
    sqs.send(&q, "m").await;
    let got = sqs.receive_now(&q, 1).await;
    sqs.ok("ChangeMessageVisibility", change(&q, receipt(&got[0]), 0))
        .await;
    let again = sqs.receive_now(&q, 1).await;
    assert_eq!(again.len(), 1);
    assert_eq!(attr_u64(&again[0], "ApproximateReceiveCount"), 2);

    // Extending works the other way: still hidden after the original 30 s.
    sqs.ok(
        "ChangeMessageVisibility",
        change(&q, receipt(&again[0]), 100),
    )
    .await;
    endpoint.advance(Duration::from_secs(31));
    assert!(sqs.receive_now(&q, 1).await.is_empty());
    endpoint.advance(Duration::from_secs(70));
    assert_eq!(sqs.receive_now(&q, 1).await.len(), 1);
}

#[tokio::test]
async fn change_visibility_batch_reports_each_entry() {
    let (_endpoint, sqs) = start().await;
    let q = sqs.create_queue("vis-batch", json!({})).await;
    sqs.send(&q, "a").await;
    let got = sqs.receive_now(&q, 1).await;
    let answer = sqs
        .ok(
            "ChangeMessageVisibilityBatch",
            json!({"QueueUrl": q, "Entries": [
                {"Id": "good", "ReceiptHandle": receipt(&got[0]), "VisibilityTimeout": 0},
                {"Id": "bad", "ReceiptHandle": "garbage", "VisibilityTimeout": 0},
            ]}),
        )
        .await;
    assert_eq!(answer["Successful"], json!([{"Id": "good"}]));
    assert_eq!(answer["Failed"][0]["Id"], "bad");
    assert_eq!(answer["Failed"][0]["Code"], "ReceiptHandleIsInvalid");
    assert_eq!(answer["Failed"][0]["SenderFault"], true);
    assert_eq!(sqs.receive_now(&q, 1).await.len(), 1);
}

#[tokio::test]
async fn visibility_changes_on_bad_receipts_get_aws_errors() {
    let (endpoint, sqs) = start().await;
    let q = sqs.create_queue("vis-errors", json!({})).await;
    let other = sqs.create_queue("vis-errors-other", json!({})).await;
    sqs.send(&q, "m").await;
    let first = sqs.receive_now(&q, 1).await;

    let e = sqs
        .err("ChangeMessageVisibility", change(&q, "garbage", 10))
        .await;
    assert_eq!((e.status, e.kind.as_str()), (404, "ReceiptHandleIsInvalid"));
    assert_eq!(
        e.query_error.as_deref(),
        Some("ReceiptHandleIsInvalid;Sender")
    );

    // A well-formed handle of another queue is not valid here either.
    let e = sqs
        .err(
            "ChangeMessageVisibility",
            change(&other, receipt(&first[0]), 1),
        )
        .await;
    assert_eq!(e.kind, "ReceiptHandleIsInvalid");

    let e = sqs
        .err(
            "ChangeMessageVisibility",
            change(&q, receipt(&first[0]), 43_201),
        )
        .await;
    assert_eq!(e.kind, "InvalidParameterValue");

    // Visible again: the old handle no longer has the message in flight.
    endpoint.advance(Duration::from_secs(31));
    let e = sqs
        .err(
            "ChangeMessageVisibility",
            change(&q, receipt(&first[0]), 10),
        )
        .await;
    assert_eq!(e.kind, "MessageNotInflight");
    assert_eq!(
        e.query_error.as_deref(),
        Some("AWS.SimpleQueueService.MessageNotInflight;Sender")
    );

    // Received again: the first handle is stale, the second one works.
    let second = sqs.receive_now(&q, 1).await;
    let e = sqs
        .err(
            "ChangeMessageVisibility",
            change(&q, receipt(&first[0]), 10),
        )
        .await;
    assert_eq!(e.kind, "MessageNotInflight");
    sqs.ok(
        "ChangeMessageVisibility",
        change(&q, receipt(&second[0]), 10),
    )
    .await;

    // Deleted: the message does not exist any more.
    sqs.delete(&q, receipt(&second[0])).await;
    let e = sqs
        .err(
            "ChangeMessageVisibility",
            change(&q, receipt(&second[0]), 10),
        )
        .await;
    assert_eq!(e.kind, "InvalidParameterValue");
    assert!(e.message.contains("ReceiptHandle"), "{}", e.message);
}

#[tokio::test]
async fn the_total_visibility_of_a_message_is_at_most_twelve_hours() {
    let (endpoint, sqs) = start().await;
    let q = sqs.create_queue("vis-limit", json!({})).await;
    sqs.send(&q, "m").await;
    let got = sqs.receive_now(&q, 1).await;
    endpoint.advance(Duration::from_secs(10));
    let e = sqs
        .err(
            "ChangeMessageVisibility",
            change(&q, receipt(&got[0]), 43_200),
        )
        .await;
    assert_eq!(e.kind, "InvalidParameterValue");
    sqs.ok(
        "ChangeMessageVisibility",
        change(&q, receipt(&got[0]), 43_190),
    )
    .await;
}

#[tokio::test]
async fn deleting_with_a_stale_receipt_keeps_a_message_received_again() {
    let (endpoint, sqs) = start().await;
    let q = sqs.create_queue("vis-stale-delete", json!({})).await;
    sqs.send(&q, "m").await;
    let first = sqs.receive_now(&q, 1).await;
    endpoint.advance(Duration::from_secs(31));
    let second = sqs.receive_now(&q, 1).await;
    assert_eq!(second.len(), 1);
    // A standard queue answers success to the stale handle and keeps the message.
    sqs.delete(&q, receipt(&first[0])).await;
    assert_eq!(
        sqs.count(&q, "ApproximateNumberOfMessagesNotVisible").await,
        1
    );
    sqs.delete(&q, receipt(&second[0])).await;
    assert_eq!(
        sqs.count(&q, "ApproximateNumberOfMessagesNotVisible").await,
        0
    );
    endpoint.advance(Duration::from_secs(31));
    assert!(sqs.receive_now(&q, 1).await.is_empty(), "deleted for good");
    // Deleting again is idempotent.
    sqs.delete(&q, receipt(&second[0])).await;
    let e = sqs
        .err(
            "DeleteMessage",
            json!({"QueueUrl": q, "ReceiptHandle": "not-a-handle"}),
        )
        .await;
    assert_eq!(e.kind, "ReceiptHandleIsInvalid");
}

/// AWS: "You must provide the most recently received receipt handle when you
/// request to delete the message (otherwise, the request succeeds, but the message
/// will not be deleted)." An older handle must not delete the message once it is
/// visible again after a later receive.
#[tokio::test]
async fn a_stale_receipt_does_not_delete_a_message_that_is_visible_again() {
    let (endpoint, sqs) = start().await;
    let q = sqs.create_queue("vis-stale-visible", json!({})).await;
    sqs.send(&q, "m").await;
    let first = sqs.receive_now(&q, 1).await;
    endpoint.advance(Duration::from_secs(31));
    assert_eq!(sqs.receive_now(&q, 1).await.len(), 1);
    endpoint.advance(Duration::from_secs(31));
    // Visible again (asking makes sure the queue has caught up with the clock).
    assert_eq!(sqs.count(&q, "ApproximateNumberOfMessages").await, 1);
    sqs.delete(&q, receipt(&first[0])).await;
    assert_eq!(
        sqs.count(&q, "ApproximateNumberOfMessages").await,
        1,
        "the first receive's handle deleted the message"
    );
}
