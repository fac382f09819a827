//! SNS over real HTTP: fan-out to SQS under queue policies, raw delivery, filter
//! policies, per-protocol messages, HTTP subscriptions (confirmation, retries
//! by the delivery policy, the subscription's dead-letter queue), FIFO topics,
//! the Query protocol's shapes, and the delivery log explaining every outcome.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use crate::support::{Client, start};

/// Runs an SNS action over the JSON 1.0 protocol.
async fn sns(client: &Client, action: &str, input: Value) -> Result<Value, (u16, Value)> {
    let response = client
        .http
        .post(format!("{}/", client.url))
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", format!("SNS_20100331.{action}"))
        .body(input.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if status == 200 {
        Ok(body)
    } else {
        Err((status, body))
    }
}

async fn sns_ok(client: &Client, action: &str, input: Value) -> Value {
    sns(client, action, input)
        .await
        .unwrap_or_else(|e| panic!("{action}: {e:?}"))
}

fn allow_topic(queue_arn: &str, topic_arn: &str) -> String {
    json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage", "Resource": queue_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}}]})
    .to_string()
}

/// A queue subscribed to the topic, with the tutorial's policy unless `policy` is false.
async fn subscribed_queue(
    client: &Client,
    topic: &str,
    name: &str,
    policy: bool,
    attributes: Value,
) -> (String, String) {
    let url = client.create_queue(name, json!({})).await;
    let arn = client.attributes(&url).await["QueueArn"]
        .as_str()
        .unwrap()
        .to_owned();
    if policy {
        client
            .ok(
                "SetQueueAttributes",
                json!({"QueueUrl": url, "Attributes": {"Policy": allow_topic(&arn, topic)}}),
            )
            .await;
    }
    let sub = sns_ok(
        client,
        "Subscribe",
        json!({"TopicArn": topic, "Protocol": "sqs", "Endpoint": arn, "Attributes": attributes}),
    )
    .await;
    (url, sub["SubscriptionArn"].as_str().unwrap().to_owned())
}

async fn deliveries(client: &Client, query: &str) -> Vec<Value> {
    let (status, text) = client
        .get_text(&format!("/_nextflix/sns/deliveries?{query}"))
        .await;
    assert_eq!(status, 200);
    serde_json::from_str::<Value>(&text).unwrap()["deliveries"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn publish_reaches_queues_whose_policy_allows_the_topic() {
    let (_endpoint, client) = start().await;
    let topic = sns_ok(
        &client,
        "CreateTopic",
        json!({"Name": "events", "Attributes": {"DisplayName": "Events"}}),
    )
    .await["TopicArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let (allowed, _) = subscribed_queue(&client, &topic, "sns-allowed", true, json!({})).await;
    let (denied, _) = subscribed_queue(&client, &topic, "sns-denied", false, json!({})).await;
    let published = sns_ok(
        &client,
        "Publish",
        json!({"TopicArn": topic, "Message": "{\"mediaId\":7}", "Subject": "viewed",
               "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "movie"}}}),
    )
    .await;
    let messages = client.receive_now(&allowed, 10).await;
    assert_eq!(messages.len(), 1);
    let envelope: Value = serde_json::from_str(messages[0]["Body"].as_str().unwrap()).unwrap();
    assert_eq!(envelope["Type"], "Notification");
    assert_eq!(envelope["MessageId"], published["MessageId"]);
    assert_eq!(envelope["TopicArn"], topic.as_str());
    assert_eq!(envelope["Subject"], "viewed");
    assert_eq!(envelope["Message"], "{\"mediaId\":7}");
    assert_eq!(
        envelope["MessageAttributes"]["kind"],
        json!({"Type": "String", "Value": "movie"})
    );
    assert!(envelope["Timestamp"].as_str().unwrap().ends_with('Z'));
    assert!(
        envelope["UnsubscribeURL"]
            .as_str()
            .unwrap()
            .contains("Action=Unsubscribe")
    );
    assert!(client.receive_now(&denied, 10).await.is_empty());
    let refused = deliveries(&client, "outcome=denied&queue=sns-denied").await;
    assert_eq!(refused.len(), 1);
    assert!(
        refused[0]["detail"].as_str().unwrap().contains("no Policy"),
        "{refused:?}"
    );
    let counts = sns_ok(&client, "GetTopicAttributes", json!({"TopicArn": topic})).await;
    assert_eq!(counts["Attributes"]["SubscriptionsConfirmed"], "2");
    assert_eq!(counts["Attributes"]["DisplayName"], "Events");
}

#[tokio::test]
async fn raw_delivery_filter_policies_and_message_structure() {
    let (_endpoint, client) = start().await;
    let topic = sns_ok(&client, "CreateTopic", json!({"Name": "filtered"})).await["TopicArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let (raw, _) = subscribed_queue(
        &client,
        &topic,
        "sns-raw-movies",
        true,
        json!({"RawMessageDelivery": "true", "FilterPolicy": "{\"kind\":[\"movie\"],\"rating\":[{\"numeric\":[\">=\",7]}]}"}),
    )
    .await;
    let (all, _) = subscribed_queue(&client, &topic, "sns-everything", true, json!({})).await;
    let publish = |kind: &str, rating: &str| {
        json!({"TopicArn": topic, "Message": format!("{kind} {rating}"),
               "MessageAttributes": {"kind": {"DataType": "String", "StringValue": kind},
                                     "rating": {"DataType": "Number", "StringValue": rating}}})
    };
    sns_ok(&client, "Publish", publish("tv", "9")).await;
    sns_ok(&client, "Publish", publish("movie", "5")).await;
    sns_ok(&client, "Publish", publish("movie", "8")).await;
    let got = client
        .receive(&raw, json!({"MaxNumberOfMessages": 10, "MessageAttributeNames": ["All"], "WaitTimeSeconds": 0}))
        .await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        got[0]["Body"], "movie 8",
        "raw delivery: the body as published"
    );
    assert_eq!(got[0]["MessageAttributes"]["kind"]["StringValue"], "movie");
    assert_eq!(client.receive_now(&all, 10).await.len(), 3);
    let filtered = deliveries(&client, "outcome=filtered_out").await;
    assert_eq!(filtered.len(), 2);
    assert!(
        filtered
            .iter()
            .any(|d| d["detail"].as_str().unwrap().contains("kind"))
    );
    assert!(
        filtered
            .iter()
            .any(|d| d["detail"].as_str().unwrap().contains("rating"))
    );

    // MessageStructure=json: each protocol its own text, `default` required.
    sns_ok(
        &client,
        "Publish",
        json!({"TopicArn": topic, "MessageStructure": "json", "Message": "{\"default\":\"plain\",\"sqs\":\"for queues\"}"}),
    )
    .await;
    let envelope: Value = serde_json::from_str(
        client.receive_now(&all, 1).await[0]["Body"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(envelope["Message"], "for queues");
    let (status, error) = sns(
        &client,
        "Publish",
        json!({"TopicArn": topic, "MessageStructure": "json", "Message": "{\"sqs\":\"x\"}"}),
    )
    .await
    .unwrap_err();
    assert_eq!(status, 400);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("No default entry"),
        "{error}"
    );
    // A bad filter policy is refused with AWS's code.
    let (status, error) = sns(
        &client,
        "Subscribe",
        json!({"TopicArn": topic, "Protocol": "sqs", "Endpoint": "arn:aws:sqs:us-east-1:000000000000:x", "Attributes": {"FilterPolicy": "{\"a\":\"not-a-list\"}"}}),
    )
    .await
    .unwrap_err();
    assert_eq!(status, 400);
    assert_eq!(
        error["__type"],
        "com.amazonaws.sns#InvalidParameterException"
    );
}

#[derive(Clone, Default)]
struct Subscriber {
    received: Arc<Mutex<Vec<(String, Value)>>>,
    failures_left: Arc<Mutex<u32>>,
}

async fn subscriber_handler(
    State(sub): State<Subscriber>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let kind = headers
        .get("x-amz-sns-message-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let value: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    sub.received.lock().unwrap().push((kind.clone(), value));
    let mut left = sub.failures_left.lock().unwrap();
    if kind == "Notification" && *left > 0 {
        *left -= 1;
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    StatusCode::OK
}

async fn start_subscriber(failures: u32) -> (Subscriber, String) {
    let sub = Subscriber::default();
    *sub.failures_left.lock().unwrap() = failures;
    let router = axum::Router::new()
        .route("/hook", axum::routing::post(subscriber_handler))
        .with_state(sub.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (sub, url)
}

async fn wait_for(sub: &Subscriber, kind: &str, count: usize) -> Vec<Value> {
    for _ in 0..200 {
        let got: Vec<Value> = sub
            .received
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| k == kind)
            .map(|(_, v)| v.clone())
            .collect();
        if got.len() >= count {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{count} {kind} message(s) did not arrive");
}

const QUICK_RETRIES: &str = r#"{"healthyRetryPolicy":{"numRetries":3,"numNoDelayRetries":0,"numMinDelayRetries":0,"numMaxDelayRetries":0,"minDelayTarget":5,"maxDelayTarget":5,"backoffFunction":"linear"}}"#;

#[tokio::test]
async fn http_subscriptions_confirm_then_retry_by_the_delivery_policy() {
    let (endpoint, client) = start().await;
    let topic = sns_ok(&client, "CreateTopic", json!({"Name": "hooks"})).await["TopicArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let (sub, hook) = start_subscriber(2).await;
    let answer = sns_ok(
        &client,
        "Subscribe",
        json!({"TopicArn": topic, "Protocol": "http", "Endpoint": hook}),
    )
    .await;
    assert_eq!(answer["SubscriptionArn"], "pending confirmation");
    let confirmation = wait_for(&sub, "SubscriptionConfirmation", 1)
        .await
        .remove(0);
    assert_eq!(confirmation["Type"], "SubscriptionConfirmation");
    // Unconfirmed: nothing is delivered yet.
    sns_ok(
        &client,
        "Publish",
        json!({"TopicArn": topic, "Message": "too early"}),
    )
    .await;
    // Confirm by visiting the SubscribeURL, as a subscriber does.
    let subscribe_url = confirmation["SubscribeURL"].as_str().unwrap();
    let visited = client.http.get(subscribe_url).send().await.unwrap();
    assert_eq!(visited.status(), 200);
    let arn = visited.text().await.unwrap();
    assert!(arn.contains(&topic), "{arn}");
    let listed = sns_ok(
        &client,
        "ListSubscriptionsByTopic",
        json!({"TopicArn": topic}),
    )
    .await;
    let sub_arn = listed["Subscriptions"][0]["SubscriptionArn"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(sub_arn.starts_with(&topic));
    sns_ok(
        &client,
        "SetSubscriptionAttributes",
        json!({"SubscriptionArn": sub_arn, "AttributeName": "DeliveryPolicy", "AttributeValue": QUICK_RETRIES}),
    )
    .await;

    let published = sns_ok(
        &client,
        "Publish",
        json!({"TopicArn": topic, "Message": "hello"}),
    )
    .await;
    let message_id = published["MessageId"].as_str().unwrap().to_owned();
    wait_for(&sub, "Notification", 1).await;
    // Two failures, each followed by a retry 5 s later on the virtual clock.
    for attempt in 2..=3 {
        for _ in 0..100 {
            if deliveries(&client, "outcome=retrying").await.len() >= attempt - 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        endpoint.advance(Duration::from_secs(5));
        wait_for(&sub, "Notification", attempt).await;
    }
    let notifications = wait_for(&sub, "Notification", 3).await;
    assert!(
        notifications.iter().all(|n| n["Message"] == "hello"),
        "only the confirmed-time publish is delivered"
    );
    for _ in 0..100 {
        if !deliveries(&client, "outcome=delivered").await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(deliveries(&client, "outcome=retrying").await.len(), 2);
    let delivered = deliveries(
        &client,
        &format!("outcome=delivered&subscription={sub_arn}&message_id={message_id}"),
    )
    .await;
    assert_eq!(delivered.len(), 1);
    assert!(
        delivered[0]["detail"]
            .as_str()
            .unwrap()
            .contains("attempt 3")
    );
}

#[tokio::test]
async fn an_undeliverable_message_goes_to_the_subscriptions_dead_letter_queue() {
    let (endpoint, client) = start().await;
    let topic = sns_ok(&client, "CreateTopic", json!({"Name": "dead-hooks"})).await["TopicArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let dlq = client.create_queue("hook-dlq", json!({})).await;
    let dlq_arn = client.attributes(&dlq).await["QueueArn"]
        .as_str()
        .unwrap()
        .to_owned();
    client
        .ok(
            "SetQueueAttributes",
            json!({"QueueUrl": dlq, "Attributes": {"Policy": allow_topic(&dlq_arn, &topic)}}),
        )
        .await;
    let (sub, hook) = start_subscriber(u32::MAX).await;
    sns_ok(
        &client,
        "Subscribe",
        json!({"TopicArn": topic, "Protocol": "http", "Endpoint": hook, "ReturnSubscriptionArn": true,
               "Attributes": {"DeliveryPolicy": QUICK_RETRIES, "RedrivePolicy": format!("{{\"deadLetterTargetArn\":\"{dlq_arn}\"}}")}}),
    )
    .await;
    let confirmation = wait_for(&sub, "SubscriptionConfirmation", 1)
        .await
        .remove(0);
    sns_ok(
        &client,
        "ConfirmSubscription",
        json!({"TopicArn": topic, "Token": confirmation["Token"]}),
    )
    .await;
    sns_ok(
        &client,
        "Publish",
        json!({"TopicArn": topic, "Message": "nobody home"}),
    )
    .await;
    for attempt in 1..=4 {
        wait_for(&sub, "Notification", attempt).await;
        tokio::time::sleep(Duration::from_millis(30)).await;
        endpoint.advance(Duration::from_secs(5));
    }
    let mut dead = Vec::new();
    for _ in 0..200 {
        dead = client.receive_now(&dlq, 10).await;
        if !dead.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(dead.len(), 1);
    let envelope: Value = serde_json::from_str(dead[0]["Body"].as_str().unwrap()).unwrap();
    assert_eq!(envelope["Message"], "nobody home");
    assert_eq!(deliveries(&client, "outcome=dead_lettered").await.len(), 1);
    assert!(
        deliveries(&client, "outcome=failed").await[0]["detail"]
            .as_str()
            .unwrap()
            .contains("gave up after 4 attempts")
    );
}

#[tokio::test]
async fn fifo_topics_deliver_in_group_order_once() {
    let (_endpoint, client) = start().await;
    let topic = sns_ok(
        &client,
        "CreateTopic",
        json!({"Name": "orders.fifo", "Attributes": {"FifoTopic": "true", "ContentBasedDeduplication": "true"}}),
    )
    .await["TopicArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = client
        .create_queue("orders.fifo", json!({"FifoQueue": "true"}))
        .await;
    let arn = client.attributes(&url).await["QueueArn"]
        .as_str()
        .unwrap()
        .to_owned();
    client
        .ok(
            "SetQueueAttributes",
            json!({"QueueUrl": url, "Attributes": {"Policy": allow_topic(&arn, &topic)}}),
        )
        .await;
    sns_ok(&client, "Subscribe", json!({"TopicArn": topic, "Protocol": "sqs", "Endpoint": arn, "Attributes": {"RawMessageDelivery": "true"}})).await;
    let first = sns_ok(
        &client,
        "Publish",
        json!({"TopicArn": topic, "Message": "one", "MessageGroupId": "g"}),
    )
    .await;
    sns_ok(
        &client,
        "Publish",
        json!({"TopicArn": topic, "Message": "two", "MessageGroupId": "g"}),
    )
    .await;
    let again = sns_ok(
        &client,
        "Publish",
        json!({"TopicArn": topic, "Message": "one", "MessageGroupId": "g"}),
    )
    .await;
    assert_eq!(
        again["MessageId"], first["MessageId"],
        "content-based deduplication"
    );
    assert!(first["SequenceNumber"].is_string());
    let got = client
        .receive(
            &url,
            json!({"MaxNumberOfMessages": 10, "WaitTimeSeconds": 0}),
        )
        .await;
    let bodies: Vec<&str> = got.iter().map(|m| m["Body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["one", "two"]);
    let (status, _) = sns(
        &client,
        "Publish",
        json!({"TopicArn": topic, "Message": "no group"}),
    )
    .await
    .unwrap_err();
    assert_eq!(status, 400);
}

#[tokio::test]
async fn the_query_protocol_speaks_snss_xml() {
    let (_endpoint, client) = start().await;
    let created = client
        .query(&[
            ("Action", "CreateTopic"),
            ("Name", "query-topic"),
            ("Attributes.entry.1.key", "DisplayName"),
            ("Attributes.entry.1.value", "Query & XML"),
            ("Tags.member.1.Key", "team"),
            ("Tags.member.1.Value", "web"),
        ])
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert!(
        created.body.contains(
            "<CreateTopicResult><TopicArn>arn:aws:sns:us-east-1:000000000000:query-topic</TopicArn>"
        ),
        "{}",
        created.body
    );
    let listed = client.query(&[("Action", "ListTopics")]).await;
    assert!(
        listed.body.contains("<Topics><member><TopicArn>"),
        "{}",
        listed.body
    );
    let attributes = client
        .query(&[
            ("Action", "GetTopicAttributes"),
            ("TopicArn", "arn:aws:sns:us-east-1:000000000000:query-topic"),
        ])
        .await;
    assert!(
        attributes
            .body
            .contains("<entry><key>DisplayName</key><value>Query &amp; XML</value></entry>"),
        "{}",
        attributes.body
    );
    let tags = client
        .query(&[
            ("Action", "ListTagsForResource"),
            (
                "ResourceArn",
                "arn:aws:sns:us-east-1:000000000000:query-topic",
            ),
        ])
        .await;
    assert!(
        tags.body
            .contains("<Tags><member><Key>team</Key><Value>web</Value></member></Tags>"),
        "{}",
        tags.body
    );
    let missing = client
        .query(&[
            ("Action", "Publish"),
            ("TopicArn", "arn:aws:sns:us-east-1:000000000000:nope"),
            ("Message", "x"),
        ])
        .await;
    assert_eq!(missing.status, 404);
    assert!(
        missing.body.contains("<Code>NotFound</Code>"),
        "{}",
        missing.body
    );
    assert!(
        missing
            .body
            .contains("http://sns.amazonaws.com/doc/2010-03-31/")
    );
}

#[tokio::test]
async fn a_delivery_the_queue_policy_denies_goes_to_the_dead_letter_queue() {
    let (_endpoint, client) = start().await;
    let topic = sns_ok(&client, "CreateTopic", json!({"Name": "denied-dlq"})).await["TopicArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let dlq = client.create_queue("denied-dlq", json!({})).await;
    let dlq_arn = client.attributes(&dlq).await["QueueArn"]
        .as_str()
        .unwrap()
        .to_owned();
    client
        .ok(
            "SetQueueAttributes",
            json!({"QueueUrl": dlq, "Attributes": {"Policy": allow_topic(&dlq_arn, &topic)}}),
        )
        .await;
    let (closed, _) = subscribed_queue(
        &client,
        &topic,
        "no-policy",
        false,
        json!({"RedrivePolicy": format!("{{\"deadLetterTargetArn\":\"{dlq_arn}\"}}")}),
    )
    .await;
    sns_ok(
        &client,
        "Publish",
        json!({"TopicArn": topic, "Message": "refused"}),
    )
    .await;
    assert!(client.receive_now(&closed, 10).await.is_empty());
    let dead = client.receive_now(&dlq, 10).await;
    assert_eq!(dead.len(), 1);
    let envelope: Value = serde_json::from_str(dead[0]["Body"].as_str().unwrap()).unwrap();
    assert_eq!(envelope["Message"], "refused");
    assert_eq!(deliveries(&client, "outcome=denied").await.len(), 1);
    assert_eq!(deliveries(&client, "outcome=dead_lettered").await.len(), 1);
}

#[tokio::test]
async fn the_rest_of_the_actions_list_tag_batch_and_remove() {
    let (_endpoint, client) = start().await;
    let topic = sns_ok(
        &client,
        "CreateTopic",
        json!({"Name": "lifecycle", "Tags": [{"Key": "team", "Value": "web"}]}),
    )
    .await["TopicArn"]
        .as_str()
        .unwrap()
        .to_owned();
    // Tags.
    sns_ok(&client, "TagResource", json!({"ResourceArn": topic, "Tags": [{"Key": "env", "Value": "test"}, {"Key": "team", "Value": "video"}]})).await;
    sns_ok(
        &client,
        "UntagResource",
        json!({"ResourceArn": topic, "TagKeys": ["env"]}),
    )
    .await;
    let tags = sns_ok(
        &client,
        "ListTagsForResource",
        json!({"ResourceArn": topic}),
    )
    .await;
    assert_eq!(tags["Tags"], json!([{"Key": "team", "Value": "video"}]));
    let (status, error) = sns(
        &client,
        "ListTagsForResource",
        json!({"ResourceArn": "arn:aws:sns:us-east-1:000000000000:nope"}),
    )
    .await
    .unwrap_err();
    assert_eq!(status, 404);
    assert_eq!(
        error["__type"],
        "com.amazonaws.sns#ResourceNotFoundException"
    );

    // Subscriptions: listed, described, removed.
    let (queue, sub) = subscribed_queue(
        &client,
        &topic,
        "lifecycle-q",
        true,
        json!({"RawMessageDelivery": "true"}),
    )
    .await;
    let all = sns_ok(&client, "ListSubscriptions", json!({})).await;
    assert!(
        all["Subscriptions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["SubscriptionArn"] == sub.as_str())
    );
    let described = sns_ok(
        &client,
        "GetSubscriptionAttributes",
        json!({"SubscriptionArn": sub}),
    )
    .await;
    assert_eq!(described["Attributes"]["RawMessageDelivery"], "true");
    assert_eq!(described["Attributes"]["Protocol"], "sqs");
    assert_eq!(described["Attributes"]["TopicArn"], topic.as_str());
    assert_eq!(described["Attributes"]["PendingConfirmation"], "false");

    // PublishBatch: each entry delivered; a bad entry fails alone; batch rules.
    let batch = sns_ok(
        &client,
        "PublishBatch",
        json!({"TopicArn": topic, "PublishBatchRequestEntries": [
            {"Id": "a", "Message": "first"}, {"Id": "b", "Message": "second"}, {"Id": "c", "Message": ""}]}),
    )
    .await;
    assert_eq!(batch["Successful"].as_array().unwrap().len(), 2);
    assert_eq!(batch["Failed"][0]["Id"], "c");
    assert_eq!(batch["Failed"][0]["SenderFault"], true);
    let mut bodies: Vec<String> = client
        .receive(
            &queue,
            json!({"MaxNumberOfMessages": 10, "WaitTimeSeconds": 0}),
        )
        .await
        .iter()
        .map(|m| m["Body"].as_str().unwrap().to_owned())
        .collect();
    bodies.sort();
    assert_eq!(bodies, ["first", "second"]);
    let (_, error) = sns(&client, "PublishBatch", json!({"TopicArn": topic, "PublishBatchRequestEntries": [{"Id": "x", "Message": "1"}, {"Id": "x", "Message": "2"}]}))
        .await
        .unwrap_err();
    assert_eq!(
        error["__type"],
        "com.amazonaws.sns#BatchEntryIdsNotDistinctException"
    );
    let eleven: Vec<Value> = (0..11)
        .map(|i| json!({"Id": format!("e{i}"), "Message": "m"}))
        .collect();
    let (_, error) = sns(
        &client,
        "PublishBatch",
        json!({"TopicArn": topic, "PublishBatchRequestEntries": eleven}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        error["__type"],
        "com.amazonaws.sns#TooManyEntriesInBatchRequestException"
    );

    // Unsubscribe: nothing more arrives; the topic counts it as deleted.
    sns_ok(&client, "Unsubscribe", json!({"SubscriptionArn": sub})).await;
    sns_ok(
        &client,
        "Publish",
        json!({"TopicArn": topic, "Message": "after unsubscribe"}),
    )
    .await;
    assert!(client.receive_now(&queue, 10).await.is_empty());
    let attributes = sns_ok(&client, "GetTopicAttributes", json!({"TopicArn": topic})).await;
    assert_eq!(attributes["Attributes"]["SubscriptionsDeleted"], "1");
    let (status, _) = sns(
        &client,
        "GetSubscriptionAttributes",
        json!({"SubscriptionArn": sub}),
    )
    .await
    .unwrap_err();
    assert_eq!(status, 404);

    // DeleteTopic: gone from the list, publishing to it is NotFound, deleting again succeeds.
    sns_ok(&client, "DeleteTopic", json!({"TopicArn": topic})).await;
    let topics = sns_ok(&client, "ListTopics", json!({})).await;
    assert!(
        !topics["Topics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["TopicArn"] == topic.as_str())
    );
    let (status, error) = sns(
        &client,
        "Publish",
        json!({"TopicArn": topic, "Message": "x"}),
    )
    .await
    .unwrap_err();
    assert_eq!(status, 404);
    assert_eq!(error["__type"], "com.amazonaws.sns#NotFoundException");
    sns_ok(&client, "DeleteTopic", json!({"TopicArn": topic})).await;
}

/// A publish answers once its HTTP/S deliveries are durably scheduled: retries
/// pending at a shutdown go on after the restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_retries_pending_at_a_restart_go_on_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = crate::support::start_with(Some(dir.path()), true).await;
    let client = Client::new(&endpoint.url());
    let topic = sns_ok(&client, "CreateTopic", json!({"Name": "durable-hooks"})).await["TopicArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let (sub, hook) = start_subscriber(1).await;
    sns_ok(
        &client,
        "Subscribe",
        json!({"TopicArn": topic, "Protocol": "http", "Endpoint": hook, "Attributes": {"DeliveryPolicy": QUICK_RETRIES}}),
    )
    .await;
    let confirmation = wait_for(&sub, "SubscriptionConfirmation", 1)
        .await
        .remove(0);
    sns_ok(
        &client,
        "ConfirmSubscription",
        json!({"TopicArn": topic, "Token": confirmation["Token"]}),
    )
    .await;
    sns_ok(
        &client,
        "Publish",
        json!({"TopicArn": topic, "Message": "survives"}),
    )
    .await;
    wait_for(&sub, "Notification", 1).await; // the first attempt, refused
    for _ in 0..100 {
        if !deliveries(&client, "outcome=retrying").await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    endpoint.shutdown().await.unwrap();

    let endpoint = crate::support::start_with(Some(dir.path()), true).await;
    endpoint.advance(Duration::from_secs(6));
    let got = wait_for(&sub, "Notification", 2).await;
    assert_eq!(got[1]["Message"], "survives");
    let client = Client::new(&endpoint.url());
    for _ in 0..100 {
        if !deliveries(&client, "outcome=delivered").await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let delivered = deliveries(&client, "outcome=delivered").await;
    assert!(
        delivered
            .iter()
            .any(|d| d["detail"].as_str().unwrap().contains("attempt 2")),
        "{delivered:?}"
    );
    endpoint.shutdown().await.unwrap();
}
