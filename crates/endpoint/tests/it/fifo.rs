//! FIFO queues: order within a group, a group locked while one of its messages is
//! in flight, deduplication (by id, by content, per group) within five minutes,
//! sequence numbers, and receive attempt ids.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Client, attr_u64, bodies, body, receipt, start};

async fn fifo_queue(sqs: &Client, name: &str, extra: Value) -> String {
    let mut attributes = json!({"FifoQueue": "true"});
    if let (Some(a), Value::Object(extra)) = (attributes.as_object_mut(), extra) {
        a.extend(extra);
    }
    sqs.create_queue(name, attributes).await
}

fn group_of(m: &Value) -> String {
    m["Attributes"]["MessageGroupId"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn messages_of_a_group_come_in_order() {
    let (_endpoint, sqs) = start().await;
    let q = fifo_queue(&sqs, "order.fifo", json!({})).await;
    for i in 0..5 {
        sqs.send_fifo(&q, &format!("a{i}"), "A", &format!("a{i}"))
            .await;
        sqs.send_fifo(&q, &format!("b{i}"), "B", &format!("b{i}"))
            .await;
    }
    let got = sqs.receive_now(&q, 10).await;
    assert_eq!(got.len(), 10);
    for group in ["A", "B"] {
        let in_group: Vec<String> = got
            .iter()
            .filter(|m| group_of(m) == group)
            .map(|m| body(m).to_owned())
            .collect();
        let want: Vec<String> = (0..5)
            .map(|i| format!("{}{i}", group.to_lowercase()))
            .collect();
        assert_eq!(in_group, want);
    }
}

#[tokio::test]
async fn a_group_is_locked_while_a_message_of_it_is_in_flight() {
    let (endpoint, sqs) = start().await;
    let q = fifo_queue(&sqs, "lock.fifo", json!({})).await;
    sqs.send_fifo(&q, "g1-first", "g1", "1").await;
    sqs.send_fifo(&q, "g1-second", "g1", "2").await;
    sqs.send_fifo(&q, "g2-only", "g2", "3").await;

    let first = sqs.receive_now(&q, 1).await;
    assert_eq!(bodies(&first), ["g1-first"]);
    // g1 is locked: only g2's message is handed out.
    let second = sqs.receive_now(&q, 10).await;
    assert_eq!(bodies(&second), ["g2-only"]);
    sqs.delete(&q, receipt(&second[0])).await;
    assert!(sqs.receive_now(&q, 10).await.is_empty());

    // The timeout ends: g1's head comes again, not the second message.
    endpoint.advance(Duration::from_secs(31));
    let again = sqs.receive_now(&q, 1).await;
    assert_eq!(bodies(&again), ["g1-first"]);
    assert_eq!(attr_u64(&again[0], "ApproximateReceiveCount"), 2);
    // The first receipt is stale in a FIFO queue.
    let e = sqs
        .err(
            "DeleteMessage",
            json!({"QueueUrl": q, "ReceiptHandle": receipt(&first[0])}),
        )
        .await;
    assert_eq!(e.kind, "ReceiptHandleIsInvalid");
    sqs.delete(&q, receipt(&again[0])).await;
    assert_eq!(bodies(&sqs.receive_now(&q, 10).await), ["g1-second"]);
}

#[tokio::test]
async fn a_deduplication_id_is_remembered_for_five_minutes() {
    let (endpoint, sqs) = start().await;
    let q = fifo_queue(&sqs, "dedup.fifo", json!({})).await;
    let first = sqs.send_fifo(&q, "one", "g", "same-id").await;
    endpoint.advance(Duration::from_secs(299));
    let repeat = sqs.send_fifo(&q, "one again", "g", "same-id").await;
    assert_eq!(repeat["MessageId"], first["MessageId"]);
    assert_eq!(repeat["SequenceNumber"], first["SequenceNumber"]);
    assert_eq!(sqs.count(&q, "ApproximateNumberOfMessages").await, 1);

    // Past five minutes the id is new again.
    endpoint.advance(Duration::from_secs(2));
    let later = sqs.send_fifo(&q, "one, later", "g", "same-id").await;
    assert_ne!(later["MessageId"], first["MessageId"]);
    assert_eq!(sqs.count(&q, "ApproximateNumberOfMessages").await, 2);
    let got = sqs.receive_now(&q, 10).await;
    assert_eq!(bodies(&got), ["one", "one, later"]);
    assert_eq!(got[0]["Attributes"]["MessageDeduplicationId"], "same-id");
}

#[tokio::test]
async fn content_based_deduplication_hashes_the_body() {
    let (endpoint, sqs) = start().await;
    let q = fifo_queue(
        &sqs,
        "content.fifo",
        json!({"ContentBasedDeduplication": "true"}),
    )
    .await;
    let send = |body: &str| json!({"QueueUrl": q, "MessageBody": body, "MessageGroupId": "g"});
    let a = sqs.ok("SendMessage", send("same body")).await;
    let b = sqs.ok("SendMessage", send("same body")).await;
    let c = sqs.ok("SendMessage", send("other body")).await;
    assert_eq!(a["MessageId"], b["MessageId"]);
    assert_ne!(a["MessageId"], c["MessageId"]);
    assert_eq!(sqs.count(&q, "ApproximateNumberOfMessages").await, 2);
    endpoint.advance(Duration::from_secs(5 * 60 + 1));
    let d = sqs.ok("SendMessage", send("same body")).await;
    assert_ne!(a["MessageId"], d["MessageId"]);
    assert_eq!(sqs.count(&q, "ApproximateNumberOfMessages").await, 3);

    // Without content-based deduplication an id is required.
    let plain = fifo_queue(&sqs, "no-content.fifo", json!({})).await;
    let e = sqs
        .err(
            "SendMessage",
            json!({"QueueUrl": plain, "MessageBody": "x", "MessageGroupId": "g"}),
        )
        .await;
    assert_eq!(e.kind, "InvalidParameterValue");
    let e = sqs
        .err(
            "SendMessage",
            json!({"QueueUrl": plain, "MessageBody": "x", "MessageDeduplicationId": "d"}),
        )
        .await;
    assert_eq!(e.kind, "MissingParameter");
}

#[tokio::test]
async fn deduplication_scope_message_group_keeps_groups_apart() {
    let (_endpoint, sqs) = start().await;
    let q = fifo_queue(
        &sqs,
        "per-group.fifo",
        json!({"DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"}),
    )
    .await;
    let a = sqs.send_fifo(&q, "a", "g1", "dup").await;
    let b = sqs.send_fifo(&q, "b", "g2", "dup").await;
    let c = sqs.send_fifo(&q, "c", "g1", "dup").await;
    assert_ne!(a["MessageId"], b["MessageId"]);
    assert_eq!(a["MessageId"], c["MessageId"]);
    assert_eq!(sqs.count(&q, "ApproximateNumberOfMessages").await, 2);

    // Queue scope (the default): the same id in another group is a duplicate.
    let whole = fifo_queue(&sqs, "per-queue.fifo", json!({})).await;
    let a = sqs.send_fifo(&whole, "a", "g1", "dup").await;
    let b = sqs.send_fifo(&whole, "b", "g2", "dup").await;
    assert_eq!(a["MessageId"], b["MessageId"]);

    // perMessageGroupId throughput needs messageGroup scope.
    let e = sqs
        .err(
            "CreateQueue",
            json!({"QueueName": "bad-limit.fifo", "Attributes": {"FifoQueue": "true",
                   "FifoThroughputLimit": "perMessageGroupId"}}),
        )
        .await;
    assert_eq!(e.kind, "InvalidAttributeValue");
}

#[tokio::test]
async fn sequence_numbers_increase() {
    let (_endpoint, sqs) = start().await;
    let q = fifo_queue(&sqs, "seq.fifo", json!({})).await;
    let other = fifo_queue(&sqs, "seq-other.fifo", json!({})).await;
    let mut last = 0u128;
    for i in 0..6 {
        let target = if i % 2 == 0 { &q } else { &other };
        let answer = sqs
            .send_fifo(
                target,
                &format!("m{i}"),
                &format!("g{}", i % 3),
                &format!("d{i}"),
            )
            .await;
        let seq = answer["SequenceNumber"].as_str().unwrap();
        assert!(
            seq.len() <= 128 && seq.bytes().all(|b| b.is_ascii_digit()),
            "{seq}"
        );
        let n: u128 = seq.parse().unwrap();
        assert!(n > last, "{n} after {last}");
        last = n;
    }
    let batch = sqs
        .ok(
            "SendMessageBatch",
            json!({"QueueUrl": q, "Entries": [
                {"Id": "x", "MessageBody": "x", "MessageGroupId": "g", "MessageDeduplicationId": "x"},
                {"Id": "y", "MessageBody": "y", "MessageGroupId": "g", "MessageDeduplicationId": "y"},
            ]}),
        )
        .await;
    let seqs: Vec<u128> = batch["Successful"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["SequenceNumber"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(seqs.len(), 2);
    assert!(last < seqs[0] && seqs[0] < seqs[1], "{seqs:?}");
    let got = sqs.receive_now(&q, 10).await;
    let received: Vec<u128> = got
        .iter()
        .map(|m| {
            m["Attributes"]["SequenceNumber"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    let mut sorted = received.clone();
    sorted.sort();
    assert_eq!(received, sorted);
    assert_eq!(&received[received.len() - 2..], &seqs[..]);
}

#[tokio::test]
async fn a_retried_receive_attempt_gets_the_same_messages() {
    let (_endpoint, sqs) = start().await;
    let q = fifo_queue(&sqs, "attempt.fifo", json!({})).await;
    for i in 0..3 {
        sqs.send_fifo(&q, &format!("m{i}"), "g", &format!("{i}"))
            .await;
    }
    let attempt = |id: &str| json!({"MaxNumberOfMessages": 2, "ReceiveRequestAttemptId": id});
    let first = sqs.receive(&q, attempt("try-1")).await;
    assert_eq!(bodies(&first), ["m0", "m1"]);
    let retry = sqs.receive(&q, attempt("try-1")).await;
    assert_eq!(bodies(&retry), ["m0", "m1"]);
    let ids = |ms: &[Value]| {
        ms.iter()
            .map(|m| m["MessageId"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&retry), ids(&first));
    assert_eq!(
        retry
            .iter()
            .map(|m| receipt(m).to_owned())
            .collect::<Vec<_>>(),
        first
            .iter()
            .map(|m| receipt(m).to_owned())
            .collect::<Vec<_>>()
    );
    // A new attempt id finds the group locked.
    assert!(sqs.receive(&q, attempt("try-2")).await.is_empty());
    // Once they are deleted the group moves on.
    for m in &first {
        sqs.delete(&q, receipt(m)).await;
    }
    assert_eq!(bodies(&sqs.receive(&q, attempt("try-3")).await), ["m2"]);
}
