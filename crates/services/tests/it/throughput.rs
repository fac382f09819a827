//! How fast one service drains a backlog (ignored by default: a measurement, not a
//! check). `cargo test -p nextflix-services --release --test it -- --ignored --nocapture`.

use std::time::Instant;

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use nextflix_services::Kind;
use serde_json::json;

use crate::support::{Env, event, wait_for};

const EVENTS: u64 = 2000;

/// Sends `EVENTS` events (50 sessions, 10 titles) in batches of 10.
async fn fill(env: &Env, url: &str) {
    for chunk in 0..EVENTS / 10 {
        let entries = (0..10)
            .map(|i| {
                let body = event(&format!("viewer-{}", chunk % 50), json!(100001 + i)).1;
                SendMessageBatchRequestEntry::builder()
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement"]
async fn a_backlog_of_two_thousand_events() {
    let env = Env::start().await;
    for (kind, workers) in [
        (Kind::User, 1),
        (Kind::User, 4),
        (Kind::Search, 4),
        (Kind::Recommendation, 4),
    ] {
        let queue = env.queue(kind.name(), 30, 5).await;
        fill(&env, &queue.url).await;
        let state = env.dir.path().join(format!("state-{kind}-{workers}"));
        let mut config = env.config(kind, &queue, &state);
        config.workers = workers;
        let started = Instant::now();
        let service = crate::support::spawn(config).await;
        let status_url = format!("{}/status", service.url());
        wait_for(300, "the backlog", async || {
            let (_, body) = env.get(&status_url).await;
            (body["eventsProcessed"] == EVENTS).then_some(())
        })
        .await;
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{kind} service, {workers} worker(s): {EVENTS} events in {secs:.2} s = {:.0} events/s",
            EVENTS as f64 / secs
        );
        service.shutdown().await.unwrap();
    }
}
