//! The console at `/_console`: live counts, peeking, sending and purging from the
//! page, escaping, and off with `admin: false`.

use serde_json::json;

use crate::support::{Client, start, start_with};

async fn get(url: &str) -> (u16, String) {
    let response = reqwest::get(url).await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn the_console_shows_queues_and_acts_on_them() {
    let (endpoint, sqs) = start().await;
    let q = sqs.create_queue("console-q", json!({})).await;
    sqs.send(&q, "first <script>alert(1)</script>").await;
    let (status, page) = get(&format!("{}/_console", endpoint.url())).await;
    assert_eq!(status, 200);
    assert!(page.contains("console-q"), "{page}");
    assert!(page.contains("setInterval"), "the page updates itself");
    let (status, live) = get(&format!("{}/_console/live", endpoint.url())).await;
    assert_eq!(status, 200);
    assert!(live.contains("arn:aws:sqs:us-east-1:000000000000:console-q"));

    // Peeking shows the body escaped and changes nothing.
    let (status, peek) = get(&format!("{}/_console/queues/console-q", endpoint.url())).await;
    assert_eq!(status, 200);
    assert!(
        peek.contains("first &lt;script&gt;alert(1)&lt;/script&gt;"),
        "{peek}"
    );
    assert!(!peek.contains("<script>alert"));
    assert_eq!(sqs.count(&q, "ApproximateNumberOfMessages").await, 1);

    // Send from the page (a redirect back), then purge.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let sent = http
        .post(format!("{}/_console/queues/console-q/send", endpoint.url()))
        .form(&[("body", "from the console")])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status().as_u16(), 303);
    assert_eq!(sqs.count(&q, "ApproximateNumberOfMessages").await, 2);
    let purged = http
        .post(format!(
            "{}/_console/queues/console-q/purge",
            endpoint.url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(purged.status().as_u16(), 303);
    assert_eq!(sqs.count(&q, "ApproximateNumberOfMessages").await, 0);
    // A second purge within 60 s is refused, with AWS's reason on the page.
    let again = http
        .post(format!(
            "{}/_console/queues/console-q/purge",
            endpoint.url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 400);
    assert!(again.text().await.unwrap().contains("PurgeQueue"));

    let (status, _) = get(&format!("{}/_console/queues/nope", endpoint.url())).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_console_is_off_without_admin() {
    let endpoint = start_with(None, false).await;
    let sqs = Client::new(&endpoint.url());
    sqs.create_queue("hidden", json!({})).await;
    let (status, _) = get(&format!("{}/_console", endpoint.url())).await;
    assert_eq!(status, 404);
    let response = reqwest::Client::new()
        .post(format!("{}/_console/queues/hidden/purge", endpoint.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
}

#[tokio::test]
async fn system_readiness_waits_for_every_part() {
    let (endpoint, _) = start().await;
    let url = format!("{}/_nextflix/system/ready", endpoint.url());
    let (status, body) = get(&url).await;
    assert_eq!(status, 503, "no parts known yet: {body}");
    assert!(body.contains("topology"), "{body}");
    // One part answering, one not (nothing listens on its port).
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/ready", closed.local_addr().unwrap());
    drop(closed);
    let alive = format!("{}/_nextflix/ready", endpoint.url());
    endpoint.set_system_parts(vec![("alive".into(), alive.clone()), ("dead".into(), dead)]);
    let (status, body) = get(&url).await;
    assert_eq!(status, 503);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["parts"], json!({"alive": true, "dead": false}));
    endpoint.set_system_parts(vec![("alive".into(), alive)]);
    let (status, _) = get(&url).await;
    assert_eq!(status, 200);
}
