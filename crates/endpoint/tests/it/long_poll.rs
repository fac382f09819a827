//! Long polling is event-driven: a waiting receive returns as soon as a message is
//! sent or becomes visible, not when it next looks. The clock is virtual, so a
//! wait can only end early by an event (or by advancing the clock).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::support::{Client, attr_u64, bodies, start};

/// How long a woken long poll may take to answer, on a busy test machine.
const PROMPT: Duration = Duration::from_millis(500);

/// A receive waiting up to 20 s, in the background: what it got, and when.
fn long_poll(sqs: &Client, queue_url: &str) -> JoinHandle<(Vec<Value>, Instant)> {
    let (sqs, q) = (sqs.clone(), queue_url.to_owned());
    tokio::spawn(async move {
        let got = sqs.receive(&q, json!({"WaitTimeSeconds": 20})).await;
        (got, Instant::now())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_receive_returns_when_a_message_is_sent() {
    let (_endpoint, sqs) = start().await;
    let q = sqs.create_queue("lp-send", json!({})).await;
    let waiter = long_poll(&sqs, &q);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiter.is_finished(), "returned before anything was sent");
    let sent = Instant::now();
    sqs.send(&q, "wake up").await;
    let (got, at) = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("the long poll did not wake")
        .unwrap();
    assert_eq!(bodies(&got), ["wake up"]);
    let latency = at.saturating_duration_since(sent);
    assert!(latency < PROMPT, "woke {latency:?} after the send");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_default_wait_applies_and_ends_with_the_clock() {
    let (endpoint, sqs) = start().await;
    let q = sqs
        .create_queue("lp-default", json!({"ReceiveMessageWaitTimeSeconds": "20"}))
        .await;
    let waiter = {
        let (sqs, q) = (sqs.clone(), q.clone());
        tokio::spawn(async move { sqs.receive(&q, json!({})).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !waiter.is_finished(),
        "the queue's 20 s wait was not applied"
    );
    endpoint.advance(Duration::from_secs(19));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!waiter.is_finished(), "gave up before 20 s");
    endpoint.advance(Duration::from_secs(1));
    let got = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("the wait did not end with the clock")
        .unwrap();
    assert!(got.is_empty());

    // WaitTimeSeconds 0 on the request overrides the queue's default.
    let started = Instant::now();
    assert!(
        sqs.receive(&q, json!({"WaitTimeSeconds": 0}))
            .await
            .is_empty()
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_receive_wakes_when_a_visibility_timeout_ends() {
    let (endpoint, sqs) = start().await;
    let q = sqs
        .create_queue("lp-visibility", json!({"VisibilityTimeout": "10"}))
        .await;
    sqs.send(&q, "retry me").await;
    assert_eq!(sqs.receive_now(&q, 1).await.len(), 1);
    let waiter = long_poll(&sqs, &q);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiter.is_finished());
    // Past the visibility timeout, well before the wait's end.
    let moved = Instant::now();
    endpoint.advance(Duration::from_secs(11));
    let (got, at) = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("the long poll did not wake when the message became visible")
        .unwrap();
    assert_eq!(bodies(&got), ["retry me"]);
    assert_eq!(attr_u64(&got[0], "ApproximateReceiveCount"), 2);
    let latency = at.saturating_duration_since(moved);
    assert!(latency < PROMPT, "woke {latency:?} after the clock moved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_receive_wakes_when_a_delay_ends() {
    let (endpoint, sqs) = start().await;
    let q = sqs
        .create_queue("lp-delay", json!({"DelaySeconds": "5"}))
        .await;
    sqs.send(&q, "delayed").await;
    let waiter = long_poll(&sqs, &q);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiter.is_finished());
    endpoint.advance(Duration::from_secs(5));
    let got = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("the long poll did not wake when the delay ended")
        .unwrap()
        .0;
    assert_eq!(bodies(&got), ["delayed"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_receive_fails_when_its_queue_is_deleted() {
    let (_endpoint, sqs) = start().await;
    let q = sqs.create_queue("lp-deleted", json!({})).await;
    let waiter = {
        let (sqs, q) = (sqs.clone(), q.clone());
        tokio::spawn(async move {
            sqs.call(
                "ReceiveMessage",
                json!({"QueueUrl": q, "WaitTimeSeconds": 20}),
            )
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    sqs.ok("DeleteQueue", json!({"QueueUrl": q})).await;
    let result = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("the long poll did not end with its queue")
        .unwrap();
    assert_eq!(result.unwrap_err().kind, "QueueDoesNotExist");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_long_polls_each_get_one_of_a_thousand_messages() {
    const N: usize = 1000;
    let (_endpoint, sqs) = start().await;
    let q = sqs.create_queue("lp-thousand", json!({})).await;
    let started = Instant::now();
    let mut polls = Vec::with_capacity(N);
    for _ in 0..N {
        let (client, q) = (sqs.clone(), q.clone());
        polls.push(tokio::spawn(async move {
            client
                .receive(&q, json!({"WaitTimeSeconds": 20, "MaxNumberOfMessages": 1}))
                .await
        }));
    }
    // Let every poll reach the server and start waiting.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        polls.iter().all(|p| !p.is_finished()),
        "a poll returned early"
    );
    let mut senders = Vec::new();
    for chunk in 0..N / 10 {
        let (sqs, q) = (sqs.clone(), q.clone());
        senders.push(tokio::spawn(async move {
            let entries: Vec<_> = (0..10)
                .map(|i| json!({"Id": format!("e{i}"), "MessageBody": format!("m{}", chunk * 10 + i)}))
                .collect();
            let answer = sqs
                .ok(
                    "SendMessageBatch",
                    json!({"QueueUrl": q, "Entries": entries}),
                )
                .await;
            assert_eq!(answer["Successful"].as_array().unwrap().len(), 10);
        }));
    }
    for s in senders {
        s.await.unwrap();
    }
    let mut seen = HashSet::new();
    let all = tokio::time::timeout(Duration::from_secs(20), async {
        for p in polls {
            let got = p.await.unwrap();
            assert_eq!(got.len(), 1, "a poll came back with {got:?}");
            assert!(
                seen.insert(bodies(&got)[0].clone()),
                "a message was delivered twice"
            );
        }
    })
    .await;
    assert!(all.is_ok(), "only {} polls got a message", seen.len());
    assert_eq!(seen.len(), N);
    assert_eq!(sqs.count(&q, "ApproximateNumberOfMessages").await, 0);
    assert_eq!(
        sqs.count(&q, "ApproximateNumberOfMessagesNotVisible").await,
        N as u64
    );
    assert!(started.elapsed() < Duration::from_secs(15));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_fifo_receive_wakes_when_its_group_is_unlocked() {
    let (_endpoint, sqs) = start().await;
    let q = sqs
        .create_queue("lp-group.fifo", json!({"FifoQueue": "true"}))
        .await;
    sqs.send_fifo(&q, "head", "g", "1").await;
    sqs.send_fifo(&q, "next", "g", "2").await;
    let head = sqs.receive_now(&q, 1).await;
    assert_eq!(bodies(&head), ["head"]);
    let waiter = long_poll(&sqs, &q);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiter.is_finished(), "the group is locked");
    // Deleting the head unlocks the group: the next message may be received now.
    let deleted = Instant::now();
    sqs.delete(&q, crate::support::receipt(&head[0])).await;
    let (got, at) = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("the long poll did not wake when the group was unlocked")
        .unwrap();
    assert_eq!(bodies(&got), ["next"]);
    let latency = at.saturating_duration_since(deleted);
    assert!(latency < PROMPT, "woke {latency:?} after the delete");
}
