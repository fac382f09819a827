//! How fast one service drains a backlog (ignored by default: a measurement, not a
//! check). `cargo test -p nextflix-services --release --test it -- --ignored --nocapture`.

use std::time::Instant;

use nextflix_services::Kind;

use crate::support::{Env, fill, wait_for};

const EVENTS: u64 = 2000;

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
        fill(&env, &queue.url, EVENTS).await;
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
