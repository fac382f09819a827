//! The recommendation and streaming services' APIs over events from several
//! sessions; readiness, status and metrics.

use std::time::{Duration, Instant};

use nextflix_services::{AwsSettings, Kind, ServiceConfig};
use serde_json::{Value, json};

use crate::support::{Env, event, ids, metric, spawn, wait_for};

async fn processed(env: &Env, url: &str, n: u64) {
    let status_url = format!("{url}/status");
    wait_for(20, "events to be processed", async || {
        let (_, body) = env.get(&status_url).await;
        (body["eventsProcessed"] == n).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recommendations_trending_and_warm_titles() {
    let env = Env::start().await;
    let rec_q = env.queue("recommendation", 30, 5).await;
    let stream_q = env.queue("streaming", 30, 5).await;
    let topic = env.topic_to(&[(&rec_q, false), (&stream_q, false)]).await;
    let state = env.dir.path().join("state");
    let rec = env.service(Kind::Recommendation, &rec_q, &state).await;
    let streaming = env.service(Kind::Streaming, &stream_q, &state).await;

    for (session, media) in [
        ("s1", 100001),
        ("s1", 100002),
        ("s2", 100001),
        ("s2", 100002),
        ("s2", 100003),
    ] {
        env.publish(&topic, &event(session, json!(media)).1).await;
    }
    processed(&env, &rec.url(), 5).await;
    processed(&env, &streaming.url(), 5).await;
    env.publish(&topic, &event("s3", json!(100001)).1).await;
    processed(&env, &rec.url(), 6).await;
    processed(&env, &streaming.url(), 6).await;

    // Because you watched 100001: what s1 and s2 watched with it, then its genre.
    let (status, body) = env
        .get(&format!(
            "{}/recommendations?sessionId=s3&limit=6",
            rec.url()
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sessionId"], "s3");
    let rows = body["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{body}");
    assert_eq!(rows[0]["because"]["mediaId"], "100001");
    assert_eq!(rows[0]["because"]["title"], "The Shawshank Redemption");
    assert_eq!(rows[0]["because"]["type"], "movie");
    let items = rows[0]["items"].as_array().unwrap();
    assert_eq!(items.len(), 6, "{body}");
    assert_eq!(ids(&rows[0]["items"])[..2], ["100002", "100003"]);
    assert_eq!(items[0]["reason"], "coViewed");
    assert_eq!(items[0]["sessions"], 2);
    assert_eq!(items[1]["sessions"], 1);
    assert!(items[0]["title"].is_string());
    for item in &items[2..] {
        assert_eq!(item["reason"], "sameGenre", "{body}");
        assert!(item["title"].is_string());
        assert_ne!(item["mediaId"], "100001");
    }
    // s2 gets a row per recent title, none recommending what s2 watched.
    let (_, body) = env
        .get(&format!("{}/recommendations?sessionId=s2", rec.url()))
        .await;
    let rows = body["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    for row in rows {
        for id in ids(&row["items"]) {
            assert!(
                !["100001", "100002", "100003"].contains(&id.as_str()),
                "{body}"
            );
        }
    }
    let (_, body) = env
        .get(&format!("{}/recommendations?sessionId=nobody", rec.url()))
        .await;
    assert_eq!(body["rows"], json!([]));

    let (status, trending) = env.get(&format!("{}/trending?limit=2", rec.url())).await;
    assert_eq!(status, 200);
    assert_eq!(trending["windowSeconds"], 3600);
    assert_eq!(ids(&trending["items"]), ["100001", "100002"]);
    assert_eq!(trending["items"][0]["views"], 3);
    assert_eq!(trending["items"][1]["views"], 2);

    // The streaming service warmed what s3 will likely play after 100001.
    let (status, warm) = env.get(&format!("{}/warm", streaming.url())).await;
    assert_eq!(status, 200);
    let first = &warm["items"][0];
    assert_eq!(first["mediaId"], "100002", "{warm}");
    assert_eq!(first["reason"]["kind"], "coViewed");
    assert_eq!(first["reason"]["after"]["mediaId"], "100001");
    assert_eq!(
        first["reason"]["after"]["title"],
        "The Shawshank Redemption"
    );
    assert!(first["title"].is_string());
    let kinds: Vec<&Value> = warm["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["reason"]["kind"])
        .collect();
    assert!(kinds.contains(&&json!("sameGenre")), "{warm}");

    // Bad input.
    for path in [
        "/recommendations",
        "/recommendations?sessionId=s1&limit=abc",
        "/trending?limit=0",
        "/trending?window=999999999",
    ] {
        let (status, body) = env.get(&format!("{}{path}", rec.url())).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(body["error"].is_string(), "{path}");
    }
    let (status, _) = env.get(&format!("{}/warm?limit=-1", streaming.url())).await;
    assert_eq!(status, 400);

    // Readiness, status, metrics.
    let (status, text) = env.text(&format!("{}/ready", rec.url())).await;
    assert_eq!((status, text.as_str()), (200, "OK"));
    let (_, status_body) = env.get(&format!("{}/status", rec.url())).await;
    assert_eq!(status_body["service"], "recommendation");
    assert_eq!(status_body["ready"], true);
    assert_eq!(status_body["queueUrl"], rec_q.url.as_str());
    assert_eq!(status_body["state"]["sessions"], 3);
    let (_, metrics) = env.text(&format!("{}/metrics", streaming.url())).await;
    assert_eq!(metric(&metrics, "streaming_events_processed_total"), 6.0);
    assert!(metrics.contains("streaming_http_request_duration_seconds"));

    rec.shutdown().await.unwrap();
    streaming.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_ready_until_the_queue_answers_and_stops_promptly() {
    let env = Env::start().await;
    // Nothing listens on port 9 of 127.0.0.1.
    let config = ServiceConfig {
        kind: Kind::User,
        queue_url: "http://127.0.0.1:9/000000000000/user".into(),
        catalog_url: env.catalog.url(),
        state_dir: env.dir.path().join("state"),
        workers: 1,
        aws: AwsSettings {
            endpoint_url: Some("http://127.0.0.1:9".into()),
            region: Some("us-east-1".into()),
            credentials: Some(("test".into(), "test".into())),
        },
    };
    let service = spawn(config).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, _) = env.text(&format!("{}/ready", service.url())).await;
    assert_eq!(status, 503);
    let (_, body) = env.get(&format!("{}/status", service.url())).await;
    assert_eq!(body["ready"], false);
    let started = Instant::now();
    service.shutdown().await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
}
