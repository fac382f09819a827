//! The admin routes under /_nextflix: readiness, peeking without side effects,
//! metrics, and turning the state-reading routes off.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Client, attr_u64, bodies, start, start_with};

async fn peek(sqs: &Client, queue: &str) -> Value {
    let (status, text) = sqs
        .get_text(&format!("/_nextflix/sqs/queues/{queue}/messages"))
        .await;
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn ready_answers_ok() {
    let (_endpoint, sqs) = start().await;
    assert_eq!(
        sqs.get_text("/_nextflix/ready").await,
        (200, "OK".to_owned())
    );
    assert_eq!(sqs.get_text("/_nextflix/health").await.0, 200);
    assert_eq!(sqs.get_text("/_nextflix/no-such-route").await.0, 404);
}

#[tokio::test]
async fn peeking_changes_nothing() {
    let (endpoint, sqs) = start().await;
    let q = sqs.create_queue("peeked", json!({})).await;
    sqs.send(&q, "first").await;
    sqs.send(&q, "second").await;
    sqs.ok(
        "SendMessage",
        json!({"QueueUrl": q, "MessageBody": "third", "DelaySeconds": 60}),
    )
    .await;
    let taken = sqs.receive_now(&q, 1).await;
    assert_eq!(bodies(&taken), ["first"]);

    for _ in 0..3 {
        let seen = peek(&sqs, "peeked").await;
        assert_eq!(seen["queue"], "peeked");
        let messages = seen["messages"].as_array().unwrap();
        let state_of = |body: &str| {
            let m = messages
                .iter()
                .find(|m| m["body"] == body)
                .unwrap_or_else(|| panic!("{body} not peeked: {seen}"));
            (
                m["state"].as_str().unwrap().to_owned(),
                m["receive_count"].as_u64().unwrap(),
            )
        };
        assert_eq!(state_of("first"), ("in_flight".to_owned(), 1));
        assert_eq!(state_of("second"), ("visible".to_owned(), 0));
        assert_eq!(state_of("third"), ("delayed".to_owned(), 0));
    }
    assert_eq!(sqs.count(&q, "ApproximateNumberOfMessages").await, 1);
    assert_eq!(
        sqs.count(&q, "ApproximateNumberOfMessagesNotVisible").await,
        1
    );
    assert_eq!(sqs.count(&q, "ApproximateNumberOfMessagesDelayed").await, 1);
    // The peeked messages are received as if never looked at.
    let next = sqs.receive_now(&q, 10).await;
    assert_eq!(bodies(&next), ["second"]);
    assert_eq!(attr_u64(&next[0], "ApproximateReceiveCount"), 1);
    endpoint.advance(Duration::from_secs(31));
    let again = sqs.receive_now(&q, 10).await;
    assert_eq!(bodies(&again), ["first", "second"]);
    assert_eq!(attr_u64(&again[0], "ApproximateReceiveCount"), 2);

    let limited = sqs
        .get_text("/_nextflix/sqs/queues/peeked/messages?limit=1")
        .await;
    let limited: Value = serde_json::from_str(&limited.1).unwrap();
    assert_eq!(limited["messages"].as_array().unwrap().len(), 1);
    assert_eq!(
        sqs.get_text("/_nextflix/sqs/queues/absent/messages")
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn metrics_count_requests_and_messages() {
    let (_endpoint, sqs) = start().await;
    let q = sqs.create_queue("measured", json!({})).await;
    sqs.send(&q, "a").await;
    sqs.send(&q, "b").await;
    sqs.receive_now(&q, 1).await;
    sqs.err("GetQueueUrl", json!({"QueueName": "absent"})).await;
    let (status, text) = sqs.get_text("/_nextflix/metrics").await;
    assert_eq!(status, 200);
    let line = |prefix: &str| {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .parse::<f64>()
            .unwrap()
    };
    assert_eq!(line("endpoint_sqs_queues "), 1.0);
    assert_eq!(
        line("endpoint_sqs_messages{queue=\"measured\",state=\"visible\"}"),
        1.0
    );
    assert_eq!(
        line("endpoint_sqs_messages{queue=\"measured\",state=\"in_flight\"}"),
        1.0
    );
    let sends = text
        .lines()
        .find(|l| {
            l.starts_with("endpoint_requests_duration_seconds_count")
                && l.contains("action=\"SendMessage\"")
                && l.contains("outcome=\"ok\"")
        })
        .unwrap_or_else(|| panic!("no SendMessage count in\n{text}"));
    assert!(sends.ends_with(" 2"), "{sends}");
    assert!(
        text.lines().any(
            |l| l.starts_with("endpoint_requests_duration_seconds_count")
                && l.contains("action=\"GetQueueUrl\"")
                && l.contains("outcome=\"QueueDoesNotExist\"")
        ),
        "{text}"
    );
}

#[tokio::test]
async fn admin_off_hides_the_state_routes() {
    let endpoint = start_with(None, false).await;
    let sqs = Client::new(&endpoint.url());
    let q = sqs.create_queue("private", json!({})).await;
    sqs.send(&q, "secret").await;
    assert_eq!(sqs.get_text("/_nextflix/ready").await.0, 200);
    let (status, text) = sqs.get_text("/_nextflix/sqs/queues/private/messages").await;
    assert_eq!(status, 404);
    assert!(!text.contains("secret"), "{text}");
    let (status, text) = sqs.get_text("/_nextflix/sqs/queues").await;
    assert_eq!(status, 404);
    assert!(!text.contains("private"), "{text}");
    let advanced = sqs
        .http
        .post(format!("{}/_nextflix/clock/advance?seconds=100", sqs.url))
        .send()
        .await
        .unwrap();
    assert_eq!(advanced.status(), 404);
    // The queue itself works as ever.
    assert_eq!(bodies(&sqs.receive_now(&q, 1).await), ["secret"]);
}

#[tokio::test]
async fn the_clock_route_moves_a_virtual_clock() {
    let (_endpoint, sqs) = start().await;
    let q = sqs
        .create_queue("clocked", json!({"DelaySeconds": "30"}))
        .await;
    sqs.send(&q, "later").await;
    let (_, before) = sqs.get_text("/_nextflix/clock").await;
    let before: Value = serde_json::from_str(&before).unwrap();
    assert_eq!(before["virtual"], true);
    let moved = sqs
        .http
        .post(format!("{}/_nextflix/clock/advance?seconds=30", sqs.url))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), 200);
    let moved: Value = moved.json().await.unwrap();
    assert_eq!(
        moved["now_ms"].as_u64().unwrap(),
        before["now_ms"].as_u64().unwrap() + 30_000
    );
    assert_eq!(bodies(&sqs.receive_now(&q, 1).await), ["later"]);
    let refused = sqs
        .http
        .post(format!("{}/_nextflix/clock/advance?seconds=-1", sqs.url))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
}
