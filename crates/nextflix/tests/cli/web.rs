//! `nextflix web`: help, and serving the frontend over a running catalog until
//! SIGTERM.

use crate::support::{Server, run};

#[test]
fn help_explains_the_flags_and_their_environment() {
    let (ok, out, _) = run(&["--help"]);
    assert!(ok);
    assert!(out.contains("web"), "{out}");
    let (ok, out, _) = run(&["web", "--help"]);
    assert!(ok);
    for needle in [
        "--bind",
        "WEB_BIND",
        "127.0.0.1:3000",
        "--catalog-url",
        "MOVIE_CATALOG_SERVICE",
        "--image-url",
        "MOVIE_IMAGE_URL",
        "AWS_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_S3_BUCKET",
        "AWS_SQS_QUEUE_URL",
        "AWS_SNS_TOPIC_ARN",
        "REDIS_URL",
        "--cookie-secure",
        "--state-dir",
        "/api/analytics",
    ] {
        assert!(out.contains(needle), "{needle} not in\n{out}");
    }
}

#[tokio::test]
async fn serves_the_pages_over_the_catalog_and_stops_on_sigterm() {
    let state = tempfile::tempdir().unwrap();
    let env = [("NEXTFLIX_STATE_DIR", state.path())];
    let catalog = Server::start(&["catalog"], &env);
    let mut web = Server::start(&["web", "--catalog-url", &catalog.url], &env);
    let client = reqwest::Client::new();
    let ready = client
        .get(format!("{}/ready", web.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.text().await.unwrap(), "OK");
    let browse = client
        .get(format!("{}/browse", web.url))
        .send()
        .await
        .unwrap();
    assert_eq!(browse.status(), 200);
    assert!(
        browse.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("session_id=")
    );
    assert!(browse.text().await.unwrap().contains("Only on Nextflix"));
    let status = web.signal("TERM");
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
}
