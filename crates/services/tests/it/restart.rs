//! A service stopped half-way loses nothing, and its state survives a restart.

use std::collections::HashMap;

use nextflix_services::Kind;
use serde_json::{Value, json};

use crate::support::{Env, event, fill, wait_for};

async fn total_views(env: &Env, url: &str) -> u64 {
    let (_, body) = env.get(&format!("{url}/popular?limit=100")).await;
    body["items"]
        .as_array()
        .map(|items| items.iter().filter_map(|i| i["views"].as_u64()).sum())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_stopped_half_way_loses_nothing() {
    const EVENTS: u64 = 400;
    let env = Env::start().await;
    let queue = env.queue("search", 2, 10).await;
    let state = env.dir.path().join("state");
    let expected = fill(&env, &queue.url, EVENTS).await;
    let mut config = env.config(Kind::Search, &queue, &state);
    config.workers = 4;
    let first = crate::support::spawn(config.clone()).await;
    let first_url = first.url();
    wait_for(20, "some events processed", async || {
        (total_views(&env, &first_url).await > 0).then_some(())
    })
    .await;
    first.shutdown().await.unwrap();
    // Stopped half-way: what it did not finish is still on the queue.
    let left = env.messages(&queue.url).await;
    assert!(left > 0 && left < EVENTS, "{left} messages left");

    let second = crate::support::spawn(config).await;
    let second_url = second.url();
    wait_for(30, "every event", async || {
        (total_views(&env, &second_url).await == EVENTS && env.messages(&queue.url).await == 0)
            .then_some(())
    })
    .await;
    let (_, body) = env.get(&format!("{second_url}/popular?limit=100")).await;
    let got: HashMap<String, u64> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["mediaId"].as_str().unwrap().to_owned(),
                i["views"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, expected);
    second.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_survives_a_restart() {
    let env = Env::start().await;
    let user_q = env.queue("user", 30, 5).await;
    let rec_q = env.queue("recommendation", 30, 5).await;
    let topic = env.topic_to(&[(&user_q, true), (&rec_q, false)]).await;
    let state = env.dir.path().join("state");
    let user = env.service(Kind::User, &user_q, &state).await;
    let rec = env.service(Kind::Recommendation, &rec_q, &state).await;
    for media in [100001, 100002, 200001] {
        env.publish(&topic, &event("viewer", json!(media)).1).await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let snapshot = async |user: &str, rec: &str| -> (Value, Value, Value) {
        (
            env.get(&format!("{user}/history?sessionId=viewer")).await.1,
            env.get(&format!("{rec}/trending")).await.1,
            env.get(&format!("{rec}/recommendations?sessionId=viewer"))
                .await
                .1,
        )
    };
    let (user_url, rec_url) = (user.url(), rec.url());
    let before = wait_for(20, "three events in both services", async || {
        let snap = snapshot(&user_url, &rec_url).await;
        let trending_views: u64 = snap.1["items"]
            .as_array()
            .map(|a| a.iter().filter_map(|i| i["views"].as_u64()).sum())
            .unwrap_or(0);
        (snap.0["items"].as_array().map_or(0, Vec::len) == 3 && trending_views == 3).then_some(snap)
    })
    .await;
    assert_eq!(before.2["rows"].as_array().map_or(0, Vec::len), 3);
    user.shutdown().await.unwrap();
    rec.shutdown().await.unwrap();
    assert!(state.join("services/user.json").is_file());
    assert!(state.join("services/recommendation.json").is_file());

    let user = env.service(Kind::User, &user_q, &state).await;
    let rec = env.service(Kind::Recommendation, &rec_q, &state).await;
    let after = snapshot(&user.url(), &rec.url()).await;
    assert_eq!(after, before);
    user.shutdown().await.unwrap();
    rec.shutdown().await.unwrap();
}

// Under load a worker's receive can be answered (its messages in flight) just as
// shutdown starts: the consumer then releases what that answer brings too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_stuck_at_shutdown_is_released_to_the_queue() {
    let env = Env::start().await;
    let queue = env.queue("search", 60, 5).await;
    let state = env.dir.path().join("state");
    // A catalog that accepts connections and never answers: the batch hangs.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    for i in 0..3 {
        env.send(&queue, &event(&format!("viewer-{i}"), json!(100001)).1)
            .await;
    }
    let mut config = env.config(Kind::Search, &queue, &state);
    config.catalog_url = silent_url;
    // However the endpoint splits the messages into batches, all of them hang.
    config.workers = 3;
    let stuck = crate::support::spawn(config.clone()).await;
    wait_for(20, "the batch in flight", async || {
        (env.counts(&queue.url).await == (0, 3)).then_some(())
    })
    .await;
    stuck.shutdown().await.unwrap();
    // Released (visibility 0), not left hidden for the 60 s visibility timeout.
    assert_eq!(env.counts(&queue.url).await, (3, 0));
    hold.abort();

    config.catalog_url = env.catalog.url();
    let service = crate::support::spawn(config).await;
    let url = service.url();
    wait_for(20, "the three events", async || {
        (total_views(&env, &url).await == 3 && env.messages(&queue.url).await == 0).then_some(())
    })
    .await;
    service.shutdown().await.unwrap();
}
