//! Many clients at once: no message is handed to two consumers while it is in
//! flight, none is lost, and FIFO groups stay in order with one consumer each.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Client, body, receipt, start};

/// Sends `count` messages from `senders` tasks, in batches of up to ten.
async fn send_all(sqs: &Client, q: &str, bodies: Vec<Value>, senders: usize) {
    let chunks: Vec<Vec<Value>> = bodies.chunks(10).map(<[Value]>::to_vec).collect();
    let queue = Arc::new(Mutex::new(chunks));
    let mut tasks = Vec::new();
    for _ in 0..senders {
        let (sqs, q, queue) = (sqs.clone(), q.to_owned(), queue.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let Some(chunk) = queue.lock().unwrap().pop() else {
                    return;
                };
                let entries: Vec<Value> = chunk
                    .into_iter()
                    .enumerate()
                    .map(|(i, mut entry)| {
                        entry["Id"] = json!(format!("e{i}"));
                        entry
                    })
                    .collect();
                let n = entries.len();
                let answer = sqs
                    .ok(
                        "SendMessageBatch",
                        json!({"QueueUrl": q, "Entries": entries}),
                    )
                    .await;
                assert_eq!(answer["Successful"].as_array().unwrap().len(), n);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// `consumers` tasks receive and delete until `expected` messages were seen;
/// every delivery is recorded (before its delete) in order.
async fn consume(sqs: &Client, q: &str, consumers: usize, expected: usize) -> Vec<Value> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for _ in 0..consumers {
        let (sqs, q, seen) = (sqs.clone(), q.to_owned(), seen.clone());
        tasks.push(tokio::spawn(async move {
            while seen.lock().unwrap().len() < expected {
                let got = sqs
                    .receive(
                        &q,
                        json!({"MaxNumberOfMessages": 10, "WaitTimeSeconds": 0,
                               "VisibilityTimeout": 3600}),
                    )
                    .await;
                if got.is_empty() {
                    // The clock is virtual: a long poll would wait for good.
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
                seen.lock().unwrap().extend(got.iter().cloned());
                let entries: Vec<Value> = got
                    .iter()
                    .enumerate()
                    .map(|(i, m)| json!({"Id": format!("d{i}"), "ReceiptHandle": receipt(m)}))
                    .collect();
                let answer = sqs
                    .ok(
                        "DeleteMessageBatch",
                        json!({"QueueUrl": q, "Entries": entries}),
                    )
                    .await;
                assert_eq!(answer["Failed"], json!([]), "{answer}");
            }
        }));
    }
    let all = tokio::time::timeout(Duration::from_secs(30), async {
        for t in tasks {
            t.await.unwrap();
        }
    })
    .await;
    let seen = seen.lock().unwrap().clone();
    assert!(all.is_ok(), "only {} of {expected} delivered", seen.len());
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_consumers_never_share_a_message() {
    const N: usize = 2000;
    let (_endpoint, sqs) = start().await;
    let q = sqs.create_queue("busy", json!({})).await;
    let entries: Vec<Value> = (0..N)
        .map(|i| json!({"MessageBody": format!("m{i}")}))
        .collect();
    let producer = {
        let (sqs, q) = (sqs.clone(), q.clone());
        tokio::spawn(async move { send_all(&sqs, &q, entries, 4).await })
    };
    let seen = consume(&sqs, &q, 8, N).await;
    producer.await.unwrap();
    let mut unique = HashSet::new();
    for m in &seen {
        assert!(
            unique.insert(body(m).to_owned()),
            "{} delivered twice",
            body(m)
        );
    }
    assert_eq!(unique.len(), N);
    assert_eq!(sqs.count(&q, "ApproximateNumberOfMessages").await, 0);
    assert_eq!(
        sqs.count(&q, "ApproximateNumberOfMessagesNotVisible").await,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_fifo_consumers_keep_each_group_in_order() {
    const GROUPS: usize = 6;
    const PER_GROUP: usize = 40;
    let (_endpoint, sqs) = start().await;
    let q = sqs
        .create_queue(
            "busy.fifo",
            json!({"FifoQueue": "true", "ContentBasedDeduplication": "true"}),
        )
        .await;
    // One sender per group keeps each group's send order.
    let mut senders = Vec::new();
    for g in 0..GROUPS {
        let (sqs, q) = (sqs.clone(), q.clone());
        senders.push(tokio::spawn(async move {
            for i in 0..PER_GROUP {
                sqs.ok(
                    "SendMessage",
                    json!({"QueueUrl": q, "MessageBody": format!("g{g}-{i:03}"),
                           "MessageGroupId": format!("g{g}")}),
                )
                .await;
            }
        }));
    }
    let seen = consume(&sqs, &q, 6, GROUPS * PER_GROUP).await;
    for s in senders {
        s.await.unwrap();
    }
    let mut by_group: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in &seen {
        let group = m["Attributes"]["MessageGroupId"]
            .as_str()
            .unwrap()
            .to_owned();
        by_group.entry(group).or_default().push(body(m).to_owned());
    }
    assert_eq!(by_group.len(), GROUPS);
    for (group, delivered) in by_group {
        let want: Vec<String> = (0..PER_GROUP).map(|i| format!("{group}-{i:03}")).collect();
        assert_eq!(delivered, want, "group {group}");
    }
}
