//! The `session_id` cookie, and session records in a real Redis or in the
//! embedded store.

use std::time::Duration;

use redis::AsyncCommands;
use serde_json::Value;

use crate::support::{Catalog, Redis, Web, config, free_port, set_cookie_session};

async fn get_with_cookie(web: &Web, path: &str, session: &str) -> reqwest::Response {
    web.client
        .get(web.url(path))
        .header("cookie", format!("theme=dark; session_id={session}"))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_cookie_has_the_original_attributes() {
    let catalog = Catalog::builtin().await;
    let web = Web::on(&catalog.url()).await;
    let first = web.get("/").await;
    let cookie = first.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("session_id="), "{cookie}");
    for attribute in ["HttpOnly", "Max-Age=86400", "Path=/", "SameSite=Lax"] {
        assert!(cookie.contains(attribute), "{attribute} not in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "{cookie}");
    // Behind a proxy that terminates HTTPS, the cookie is Secure.
    let https = web
        .client
        .get(web.url("/"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert!(
        https.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .ends_with("; Secure")
    );
    // So it is always with --cookie-secure.
    let secure = Web::start(nextflix_web::Config {
        cookie_secure: true,
        ..config(&catalog.url())
    })
    .await;
    let r = secure.get("/browse").await;
    assert!(
        r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .ends_with("; Secure")
    );
    // The API routes that need no session set none.
    assert!(
        web.get("/api/discover")
            .await
            .headers()
            .get("set-cookie")
            .is_none()
    );
}

#[tokio::test]
async fn embedded_sessions_are_kept_until_they_expire() {
    let catalog = Catalog::builtin().await;
    let web = Web::start(nextflix_web::Config {
        session_ttl: Duration::from_secs(1),
        ..config(&catalog.url())
    })
    .await;
    let id = set_cookie_session(&web.get("/").await).unwrap();
    let again = get_with_cookie(&web, "/browse", &id).await;
    assert_eq!(
        set_cookie_session(&again),
        None,
        "a live session keeps its cookie"
    );
    // An unknown or malformed id gets a new session.
    let unknown = get_with_cookie(&web, "/", "0b6f3c1e-8a1d-4c57-9d43-3f0e6f1f6a21").await;
    assert!(set_cookie_session(&unknown).is_some_and(|n| n != id));
    let garbage = get_with_cookie(&web, "/", "<script>").await;
    assert!(set_cookie_session(&garbage).is_some());
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let expired = get_with_cookie(&web, "/", &id).await;
    assert!(set_cookie_session(&expired).is_some_and(|n| n != id));
}

#[tokio::test]
async fn embedded_sessions_survive_a_restart_with_a_state_dir() {
    let catalog = Catalog::builtin().await;
    let state = tempfile::tempdir().unwrap();
    let web = Web::start(nextflix_web::Config {
        state_dir: Some(state.path().to_owned()),
        ..config(&catalog.url())
    })
    .await;
    let id = set_cookie_session(&web.get("/").await).unwrap();
    let file = state.path().join("web/sessions.json");
    let start = std::time::Instant::now();
    while !std::fs::read_to_string(&file).is_ok_and(|s| s.contains(&id)) {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "sessions not saved"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    web.server.shutdown().await.unwrap();
    let web = Web::start(nextflix_web::Config {
        state_dir: Some(state.path().to_owned()),
        ..config(&catalog.url())
    })
    .await;
    let again = get_with_cookie(&web, "/browse", &id).await;
    assert_eq!(set_cookie_session(&again), None);
}

#[tokio::test]
async fn redis_keeps_the_session_records() {
    let redis = Redis::start().await;
    let catalog = Catalog::builtin().await;
    let web = Web::start(nextflix_web::Config {
        redis_url: Some(redis.url.clone()),
        ..config(&catalog.url())
    })
    .await;
    let id = set_cookie_session(&web.get("/").await).unwrap();
    let mut conn = redis.connection().await;
    let key = format!("session:{id}");
    let record: String = conn.get(&key).await.unwrap();
    let record: Value = serde_json::from_str(&record).unwrap();
    assert!(record["createdAt"].as_u64().is_some(), "{record}");
    assert!(record["userData"].is_object(), "{record}");
    let ttl: i64 = conn.ttl(&key).await.unwrap();
    assert!((86_000..=86_400).contains(&ttl), "ttl {ttl}");
    // The cookie's session is found in Redis: no new cookie.
    let again = get_with_cookie(&web, "/browse", &id).await;
    assert_eq!(set_cookie_session(&again), None);
    // Gone from Redis (expired): a new session.
    let () = conn.del(&key).await.unwrap();
    let renewed = get_with_cookie(&web, "/", &id).await;
    let new_id = set_cookie_session(&renewed).unwrap();
    assert_ne!(new_id, id);
    let exists: bool = conn.exists(format!("session:{new_id}")).await.unwrap();
    assert!(exists);
    // The analytics event carries the Redis session.
    let (status, event) = web
        .post("/api/analytics", r#"{"mediaId": 3}"#, Some(&new_id))
        .await;
    assert_eq!(status, 200);
    assert_eq!(event["sessionId"], new_id.as_str());
}

#[tokio::test]
async fn a_redis_that_is_down_does_not_break_pages() {
    let catalog = Catalog::builtin().await;
    let web = Web::start(nextflix_web::Config {
        redis_url: Some(format!("redis://127.0.0.1:{}", free_port())),
        ..config(&catalog.url())
    })
    .await;
    let r = web.get("/").await;
    assert_eq!(r.status(), 200);
    assert!(set_cookie_session(&r).is_some());
}
