//! What a received message carries: the system attributes asked for and no
//! others, the trace header, message attributes by name or prefix.

use serde_json::json;

use crate::support::start;

#[tokio::test]
async fn only_the_system_attributes_asked_for_come_back() {
    let (_endpoint, sqs) = start().await;
    let q = sqs.create_queue("sys-attrs", json!({})).await;
    let sent = sqs
        .ok(
            "SendMessage",
            json!({"QueueUrl": q, "MessageBody": "traced",
                   "MessageSystemAttributes": {"AWSTraceHeader": {"DataType": "String",
                       "StringValue": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"}}}),
        )
        .await;
    assert!(
        sent["MD5OfMessageSystemAttributes"]
            .as_str()
            .is_some_and(|m| m.len() == 32),
        "{sent}"
    );
    let got = sqs
        .ok(
            "ReceiveMessage",
            json!({"QueueUrl": q, "VisibilityTimeout": 0,
                   "MessageSystemAttributeNames": ["ApproximateReceiveCount", "AWSTraceHeader"]}),
        )
        .await;
    let attributes = got["Messages"][0]["Attributes"].as_object().unwrap();
    let mut names: Vec<&String> = attributes.keys().collect();
    names.sort();
    assert_eq!(names, ["AWSTraceHeader", "ApproximateReceiveCount"]);
    assert_eq!(
        attributes["AWSTraceHeader"],
        "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
    );
    // The older AttributeNames field works the same way.
    let got = sqs
        .ok(
            "ReceiveMessage",
            json!({"QueueUrl": q, "VisibilityTimeout": 0, "AttributeNames": ["SentTimestamp"]}),
        )
        .await;
    let attributes = got["Messages"][0]["Attributes"].as_object().unwrap();
    assert_eq!(attributes.keys().collect::<Vec<_>>(), ["SentTimestamp"]);
    let e = sqs
        .err(
            "SendMessage",
            json!({"QueueUrl": q, "MessageBody": "x",
                   "MessageSystemAttributes": {"Other": {"DataType": "String", "StringValue": "v"}}}),
        )
        .await;
    assert_eq!(e.kind, "InvalidParameterValue");
}

#[tokio::test]
async fn message_attributes_are_picked_by_name_or_prefix() {
    let (_endpoint, sqs) = start().await;
    let q = sqs.create_queue("msg-attr-names", json!({})).await;
    let s = |v: &str| json!({"DataType": "String", "StringValue": v});
    sqs.ok(
        "SendMessage",
        json!({"QueueUrl": q, "MessageBody": "x", "MessageAttributes": {
            "order.id": s("1"), "order.total": s("2"), "customer": s("3"),
            "price": {"DataType": "Number.euros", "StringValue": "-1.5e2"}}}),
    )
    .await;
    let names_for = |wanted: serde_json::Value| {
        let (sqs, q) = (sqs.clone(), q.clone());
        async move {
            let got = sqs
                .ok(
                    "ReceiveMessage",
                    json!({"QueueUrl": q, "VisibilityTimeout": 0, "MessageAttributeNames": wanted}),
                )
                .await;
            let message = &got["Messages"][0];
            let mut names: Vec<String> = message["MessageAttributes"]
                .as_object()
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            names.sort();
            (names, message["MD5OfMessageAttributes"].clone())
        }
    };
    let (all, all_md5) = names_for(json!(["All"])).await;
    assert_eq!(all, ["customer", "order.id", "order.total", "price"]);
    assert!(all_md5.is_string());
    assert_eq!(names_for(json!([".*"])).await.0, all);
    assert_eq!(
        names_for(json!(["order.*"])).await.0,
        ["order.id", "order.total"]
    );
    assert_eq!(
        names_for(json!(["customer", "price"])).await.0,
        ["customer", "price"]
    );
    let (none, none_md5) = names_for(json!([])).await;
    assert!(none.is_empty());
    assert!(none_md5.is_null(), "an MD5 of no attributes: {none_md5}");
    let got = sqs
        .ok(
            "ReceiveMessage",
            json!({"QueueUrl": q, "VisibilityTimeout": 0, "MessageAttributeNames": ["price"]}),
        )
        .await;
    assert_eq!(
        got["Messages"][0]["MessageAttributes"]["price"],
        json!({"DataType": "Number.euros", "StringValue": "-1.5e2"})
    );
}
