//! Redeliveries are not counted twice; a message that is not an event is left on
//! the queue and reaches the dead-letter queue after maxReceiveCount receives.

use nextflix_services::Kind;
use serde_json::json;

use crate::support::{Env, event, metric, wait_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_event_is_not_counted_twice() {
    let env = Env::start().await;
    let queue = env.queue("search", 30, 5).await;
    let state = env.dir.path().join("state");
    let search = env.service(Kind::Search, &queue, &state).await;
    let (_, body) = event("viewer", json!(100001));
    let envelope = json!({
        "Type": "Notification",
        "MessageId": "0c5b4f10-0000-4000-8000-000000000000",
        "TopicArn": "arn:aws:sns:us-east-1:000000000000:netflix-events-topic",
        "Message": body,
    })
    .to_string();
    env.send(&queue, &body).await;
    env.send(&queue, &body).await;
    env.send(&queue, &envelope).await;

    let metrics_url = format!("{}/metrics", search.url());
    wait_for(20, "three messages handled", async || {
        let (_, text) = env.text(&metrics_url).await;
        (metric(&text, "search_messages_deleted_total") == 3.0).then_some(())
    })
    .await;
    let (_, text) = env.text(&metrics_url).await;
    assert_eq!(metric(&text, "search_events_processed_total"), 1.0);
    assert_eq!(metric(&text, "search_events_duplicate_total"), 2.0);
    let (_, popular) = env.get(&format!("{}/popular", search.url())).await;
    assert_eq!(popular["items"][0]["mediaId"], "100001");
    assert_eq!(popular["items"][0]["views"], 1);
    assert_eq!(env.messages(&queue.url).await, 0);
    search.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_message_ends_in_the_dead_letter_queue() {
    let env = Env::start().await;
    let queue = env.queue("user", 1, 2).await;
    let state = env.dir.path().join("state");
    let user = env.service(Kind::User, &queue, &state).await;
    env.send(&queue, "this is not an event {").await;
    let (_, good) = event("viewer", json!(200001));
    env.send(&queue, &good).await;

    let history_url = format!("{}/history?sessionId=viewer", user.url());
    wait_for(20, "the good event", async || {
        let (_, body) = env.get(&history_url).await;
        (body["items"][0]["mediaId"] == "200001").then_some(())
    })
    .await;
    let dead = wait_for(30, "the poison message in the DLQ", async || {
        let received = env
            .sqs
            .receive_message()
            .queue_url(&queue.dlq_url)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        received.messages.unwrap_or_default().into_iter().next()
    })
    .await;
    assert_eq!(dead.body(), Some("this is not an event {"));
    wait_for(20, "the queue to drain", async || {
        (env.messages(&queue.url).await == 0).then_some(())
    })
    .await;
    let (_, text) = env.text(&format!("{}/metrics", user.url())).await;
    assert!(metric(&text, "user_events_failed_total") >= 2.0, "{text}");
    assert_eq!(metric(&text, "user_events_processed_total"), 1.0);
    user.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_waits_for_the_catalog_then_is_kept_without_its_title() {
    let env = Env::start().await;
    let queue = env.queue("search", 1, 10).await;
    let state = env.dir.path().join("state");
    let mut config = env.config(Kind::Search, &queue, &state);
    // Nothing listens on port 9: every catalog look-up fails.
    config.catalog_url = "http://127.0.0.1:9".into();
    let search = crate::support::spawn(config).await;
    env.send(&queue, &event("viewer", json!(100001)).1).await;
    let popular_url = format!("{}/popular", search.url());
    let popular = wait_for(20, "the event applied without its title", async || {
        let (_, body) = env.get(&popular_url).await;
        (body["items"][0]["views"] == 1).then_some(body)
    })
    .await;
    assert_eq!(popular["items"][0]["mediaId"], "100001");
    assert_eq!(popular["items"][0]["title"], serde_json::Value::Null);
    let (_, text) = env.text(&format!("{}/metrics", search.url())).await;
    // Failed on the first receives, applied on the third.
    assert_eq!(
        metric(&text, "search_events_failed_total"),
        f64::from(nextflix_services::service::DEGRADE_AFTER - 1)
    );
    wait_for(20, "the queue to drain", async || {
        (env.messages(&queue.url).await == 0).then_some(())
    })
    .await;
    search.shutdown().await.unwrap();
}
