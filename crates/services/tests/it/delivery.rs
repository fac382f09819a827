//! The three shapes of a message (SNS envelope, raw delivery, plain SQS) are all
//! processed, then deleted; the APIs of the user and search services show them.

use nextflix_services::Kind;
use serde_json::json;

use crate::support::{Env, event, ids, metric, wait_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envelope_raw_and_plain_events_are_processed_and_deleted() {
    let env = Env::start().await;
    let user_q = env.queue("user", 30, 5).await;
    let search_q = env.queue("search", 30, 5).await;
    // The user queue gets the SNS envelope, the search queue raw delivery.
    let topic = env.topic_to(&[(&user_q, false), (&search_q, true)]).await;
    let state = env.dir.path().join("state");
    let user = env.service(Kind::User, &user_q, &state).await;
    let search = env.service(Kind::Search, &search_q, &state).await;

    let (_, published) = event("viewer-1", json!(100001));
    env.publish(&topic, &published).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let (plain_id, plain) = event("viewer-1", json!("200001"));
    env.send(&user_q, &plain).await;
    env.send(&search_q, &plain).await;

    let history_url = format!("{}/history?sessionId=viewer-1", user.url());
    let history = wait_for(20, "two titles in the history", async || {
        let (status, body) = env.get(&history_url).await;
        (status == 200 && ids(&body["items"]).len() == 2).then_some(body)
    })
    .await;
    assert_eq!(history["sessionId"], "viewer-1");
    assert_eq!(ids(&history["items"]), ["200001", "100001"]);
    assert_eq!(history["items"][0]["activityId"], plain_id.as_str());
    assert!(
        history["items"][0]["viewedAt"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );

    let popular_url = format!("{}/popular", search.url());
    let popular = wait_for(20, "two popular titles", async || {
        let (status, body) = env.get(&popular_url).await;
        (status == 200 && ids(&body["items"]).len() == 2).then_some(body)
    })
    .await;
    let items = popular["items"].as_array().unwrap();
    let titles: Vec<&str> = items.iter().filter_map(|i| i["title"].as_str()).collect();
    assert!(titles.contains(&"The Shawshank Redemption"), "{popular}");
    assert!(titles.contains(&"Breaking Bad"), "{popular}");
    assert!(items.iter().all(|i| i["views"] == 1));
    let types: Vec<&str> = items.iter().filter_map(|i| i["type"].as_str()).collect();
    assert!(types.contains(&"movie") && types.contains(&"tv"));
    let (_, ranks) = env
        .get(&format!("{}/popularity?ids=100001,999", search.url()))
        .await;
    assert_eq!(ranks["items"], json!({"100001": 1, "999": 0}));

    // Deleted after the work: both queues drain.
    wait_for(20, "the queues to drain", async || {
        (env.messages(&user_q.url).await == 0 && env.messages(&search_q.url).await == 0)
            .then_some(())
    })
    .await;
    let (_, metrics) = env.text(&format!("{}/metrics", user.url())).await;
    assert_eq!(metric(&metrics, "user_events_processed_total"), 2.0);
    assert_eq!(metric(&metrics, "user_messages_deleted_total"), 2.0);
    assert_eq!(metric(&metrics, "user_events_failed_total"), 0.0);
    assert!(metrics.contains("user_batch_size_count"));

    // Bad input is a 400 with a JSON error.
    let (status, body) = env.get(&format!("{}/history", user.url())).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("sessionId"));
    let (status, body) = env
        .get(&format!("{}/history?sessionId=x&limit=0", user.url()))
        .await;
    assert_eq!(status, 400);
    assert!(body["error"].is_string());
    let (status, body) = env.get(&format!("{}/popularity", search.url())).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = env.get(&format!("{}/nowhere", search.url())).await;
    assert_eq!(status, 404);
    assert!(body["error"].is_string());

    user.shutdown().await.unwrap();
    search.shutdown().await.unwrap();
}
