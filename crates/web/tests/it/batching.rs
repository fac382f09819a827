//! Events to the topic (or queue) are batched under load: PublishBatch
//! (SendMessageBatch) of up to ten, each request answered with the outcome of its
//! own entry. A fake AWS endpoint answers slowly, so that concurrent events queue
//! and batch, and fails the entries of one media id, so that a failed entry must
//! be the 500 of exactly the request it came from.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::support::{Catalog, Web, config, test_credentials};

/// What the fake endpoint saw: every call's entries (message bodies).
#[derive(Default, Clone)]
struct Seen(Arc<Mutex<Vec<Vec<String>>>>);

/// The media id whose events the fake endpoint refuses.
const FAILING: &str = "fail-me";

fn fails(message: &str) -> bool {
    serde_json::from_str::<Value>(message).unwrap()["mediaId"] == FAILING
}

/// A fake SNS (Query protocol) and SQS (JSON protocol) on one port.
async fn fake_aws(seen: Seen) -> String {
    let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
        let seen = seen.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            match headers.get("x-amz-target").and_then(|t| t.to_str().ok()) {
                Some(target) => sqs(&seen, target, &body),
                None => sns(&seen, &body),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn sns(seen: &Seen, body: &[u8]) -> Response {
    let form: HashMap<String, String> = form_urlencoded::parse(body).into_owned().collect();
    let xml = |status: StatusCode, body: String| {
        (status, [("content-type", "text/xml")], body).into_response()
    };
    match form["Action"].as_str() {
        "Publish" => {
            let message = form["Message"].clone();
            seen.0.lock().unwrap().push(vec![message.clone()]);
            if fails(&message) {
                return xml(
                    StatusCode::BAD_REQUEST,
                    "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameter</Code><Message>refused</Message></Error><RequestId>r</RequestId></ErrorResponse>".to_owned(),
                );
            }
            xml(
                StatusCode::OK,
                "<PublishResponse><PublishResult><MessageId>m</MessageId></PublishResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></PublishResponse>".to_owned(),
            )
        }
        "PublishBatch" => {
            let mut entries = Vec::new();
            for n in 1.. {
                let Some(id) = form.get(&format!("PublishBatchRequestEntries.member.{n}.Id"))
                else {
                    break;
                };
                let message = &form[&format!("PublishBatchRequestEntries.member.{n}.Message")];
                entries.push((id.clone(), message.clone()));
            }
            seen.0
                .lock()
                .unwrap()
                .push(entries.iter().map(|(_, m)| m.clone()).collect());
            let (mut ok, mut failed) = (String::new(), String::new());
            // Answered in reverse order: the ids, not the positions, must count.
            for (id, message) in entries.iter().rev() {
                if fails(message) {
                    failed += &format!(
                        "<member><Id>{id}</Id><Code>InternalError</Code><Message>entry refused</Message><SenderFault>false</SenderFault></member>"
                    );
                } else {
                    ok += &format!("<member><Id>{id}</Id><MessageId>m-{id}</MessageId></member>");
                }
            }
            xml(
                StatusCode::OK,
                format!(
                    "<PublishBatchResponse><PublishBatchResult><Successful>{ok}</Successful><Failed>{failed}</Failed></PublishBatchResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></PublishBatchResponse>"
                ),
            )
        }
        other => xml(StatusCode::BAD_REQUEST, format!("unexpected {other}")),
    }
}

fn sqs(seen: &Seen, target: &str, body: &[u8]) -> Response {
    let input: Value = serde_json::from_slice(body).unwrap();
    let reply = |status: StatusCode, body: Value| {
        (
            status,
            [("content-type", "application/x-amz-json-1.0")],
            body.to_string(),
        )
            .into_response()
    };
    match target {
        "AmazonSQS.SendMessage" => {
            let message = input["MessageBody"].as_str().unwrap().to_owned();
            seen.0.lock().unwrap().push(vec![message.clone()]);
            if fails(&message) {
                return reply(
                    StatusCode::BAD_REQUEST,
                    json!({"__type": "com.amazonaws.sqs#InvalidMessageContents", "message": "refused"}),
                );
            }
            reply(
                StatusCode::OK,
                json!({"MessageId": "m", "MD5OfMessageBody": "x"}),
            )
        }
        "AmazonSQS.SendMessageBatch" => {
            let entries = input["Entries"].as_array().unwrap();
            seen.0.lock().unwrap().push(
                entries
                    .iter()
                    .map(|e| e["MessageBody"].as_str().unwrap().to_owned())
                    .collect(),
            );
            let (mut ok, mut failed) = (Vec::new(), Vec::new());
            for entry in entries.iter().rev() {
                let id = entry["Id"].clone();
                if fails(entry["MessageBody"].as_str().unwrap()) {
                    failed.push(json!({"Id": id, "Code": "InternalError", "Message": "entry refused", "SenderFault": false}));
                } else {
                    ok.push(json!({"Id": id, "MessageId": "m", "MD5OfMessageBody": "x"}));
                }
            }
            reply(StatusCode::OK, json!({"Successful": ok, "Failed": failed}))
        }
        other => reply(StatusCode::BAD_REQUEST, json!({"message": other})),
    }
}

/// Posts 40 events at once, every fourth one failing at the endpoint; checks
/// each answer against its own event, and that the calls were batched.
async fn each_request_gets_its_own_entrys_outcome(config: nextflix_web::Config, seen: &Seen) {
    let web = Arc::new(Web::start(config).await);
    let mut requests = tokio::task::JoinSet::new();
    for i in 0..40 {
        let web = web.clone();
        requests.spawn(async move {
            let media = if i % 4 == 0 { json!(FAILING) } else { json!(i) };
            let (status, answer) = web
                .post(
                    "/api/analytics",
                    &json!({"mediaId": media}).to_string(),
                    None,
                )
                .await;
            (media, status, answer)
        });
    }
    let mut answered = Vec::new();
    while let Some(done) = requests.join_next().await {
        answered.push(done.unwrap());
    }
    let calls = seen.0.lock().unwrap().clone();
    let sent: Vec<&String> = calls.iter().flatten().collect();
    assert_eq!(sent.len(), 40, "every event is sent once: {calls:?}");
    assert!(
        calls.iter().all(|c| c.len() <= 10),
        "no batch over ten: {calls:?}"
    );
    assert!(
        calls
            .iter()
            .any(|c| c.len() > 1 && c.iter().any(|m| fails(m)) && c.iter().any(|m| !fails(m))),
        "some batch mixes failing and good entries: {calls:?}"
    );
    for (media, status, answer) in answered {
        if media == FAILING {
            assert_eq!(status, 500, "{answer}");
            assert_eq!(answer["type"], "Error");
        } else {
            assert_eq!(status, 200, "{media}: {answer}");
            assert_eq!(answer["mediaId"], media);
            // Its own event was among those sent, and succeeded there.
            let id = answer["activityId"].as_str().unwrap();
            assert_eq!(sent.iter().filter(|m| m.contains(id)).count(), 1);
        }
    }
    let metrics = web.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("web_events_total{outcome=\"failed\"} 10"),
        "{metrics}"
    );
    assert!(
        metrics.contains("web_events_total{outcome=\"sent\"} 30"),
        "{metrics}"
    );
}

fn aws_config(catalog: &str, endpoint: &str) -> nextflix_web::Config {
    nextflix_web::Config {
        aws_region: Some("us-east-1".to_owned()),
        aws_endpoint_url: Some(endpoint.to_owned()),
        aws_credentials: Some(test_credentials()),
        ..config(catalog)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_publish_batch_entry_is_the_500_of_its_own_request() {
    let catalog = Catalog::builtin().await;
    let seen = Seen::default();
    let endpoint = fake_aws(seen.clone()).await;
    let config = nextflix_web::Config {
        sns_topic_arn: Some("arn:aws:sns:us-east-1:000000000000:netflix-events-topic".to_owned()),
        ..aws_config(&catalog.url(), &endpoint)
    };
    each_request_gets_its_own_entrys_outcome(config, &seen).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_send_message_batch_entry_is_the_500_of_its_own_request() {
    let catalog = Catalog::builtin().await;
    let seen = Seen::default();
    let endpoint = fake_aws(seen.clone()).await;
    let config = nextflix_web::Config {
        sqs_queue_url: Some(format!("{endpoint}/000000000000/netflix-events")),
        ..aws_config(&catalog.url(), &endpoint)
    };
    each_request_gets_its_own_entrys_outcome(config, &seen).await;
}
