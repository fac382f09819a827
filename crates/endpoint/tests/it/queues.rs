//! Queue metadata: tags, policies and permissions, attribute round trips.

use serde_json::{Value, json};

use crate::support::start;

#[tokio::test]
async fn tags_are_added_replaced_removed_and_limited() {
    let (_endpoint, sqs) = start().await;
    let q = sqs.create_queue("tagged", json!({})).await;
    let tags = |sqs: &crate::support::Client| {
        let (sqs, q) = (sqs.clone(), q.clone());
        async move { sqs.ok("ListQueueTags", json!({"QueueUrl": q})).await["Tags"].clone() }
    };
    sqs.ok(
        "TagQueue",
        json!({"QueueUrl": q, "Tags": {"a": "1", "b": "2"}}),
    )
    .await;
    sqs.ok("TagQueue", json!({"QueueUrl": q, "Tags": {"b": "3"}}))
        .await;
    assert_eq!(tags(&sqs).await, json!({"a": "1", "b": "3"}));
    sqs.ok("UntagQueue", json!({"QueueUrl": q, "TagKeys": ["a", "zz"]}))
        .await;
    assert_eq!(tags(&sqs).await, json!({"b": "3"}));
    let many: serde_json::Map<String, Value> =
        (0..50).map(|i| (format!("k{i}"), json!("v"))).collect();
    let e = sqs
        .err("TagQueue", json!({"QueueUrl": q, "Tags": many}))
        .await;
    assert_eq!(e.kind, "InvalidParameterValue", "51 tags");
    let e = sqs
        .err("TagQueue", json!({"QueueUrl": q, "Tags": {"": "v"}}))
        .await;
    assert_eq!(e.kind, "InvalidParameterValue");
    let e = sqs
        .err(
            "TagQueue",
            json!({"QueueUrl": q, "Tags": {"k": "v".repeat(257)}}),
        )
        .await;
    assert_eq!(e.kind, "InvalidParameterValue");
    assert_eq!(tags(&sqs).await, json!({"b": "3"}));
}

#[tokio::test]
async fn permissions_edit_the_queue_policy() {
    let (_endpoint, sqs) = start().await;
    let q = sqs.create_queue("shared", json!({})).await;
    sqs.ok(
        "AddPermission",
        json!({"QueueUrl": q, "Label": "partner", "AWSAccountIds": ["111122223333"],
               "Actions": ["SendMessage", "ReceiveMessage"]}),
    )
    .await;
    let policy: Value =
        serde_json::from_str(sqs.attributes(&q).await["Policy"].as_str().unwrap()).unwrap();
    let statement = &policy["Statement"][0];
    assert_eq!(statement["Sid"], "partner");
    assert_eq!(
        statement["Principal"]["AWS"],
        json!(["arn:aws:iam::111122223333:root"])
    );
    assert_eq!(
        statement["Action"],
        json!(["SQS:SendMessage", "SQS:ReceiveMessage"])
    );
    let e = sqs
        .err(
            "AddPermission",
            json!({"QueueUrl": q, "Label": "partner", "AWSAccountIds": ["111122223333"],
                   "Actions": ["SendMessage"]}),
        )
        .await;
    assert_eq!(e.kind, "InvalidParameterValue", "a label twice");
    let e = sqs
        .err(
            "AddPermission",
            json!({"QueueUrl": q, "Label": "bad", "AWSAccountIds": ["111122223333"],
                   "Actions": ["CreateQueue"]}),
        )
        .await;
    assert_eq!(
        e.kind, "InvalidParameterValue",
        "an action no permission covers"
    );
    sqs.ok(
        "RemovePermission",
        json!({"QueueUrl": q, "Label": "partner"}),
    )
    .await;
    assert!(sqs.attributes(&q).await.get("Policy").is_none());
    let e = sqs
        .err(
            "RemovePermission",
            json!({"QueueUrl": q, "Label": "partner"}),
        )
        .await;
    assert_eq!(e.kind, "InvalidParameterValue");
}

#[tokio::test]
async fn settable_attributes_round_trip_and_bad_values_are_refused() {
    let (_endpoint, sqs) = start().await;
    let q = sqs.create_queue("settable", json!({})).await;
    let settings = json!({
        "DelaySeconds": "12",
        "MaximumMessageSize": "2048",
        "MessageRetentionPeriod": "3600",
        "ReceiveMessageWaitTimeSeconds": "3",
        "VisibilityTimeout": "99",
    });
    sqs.ok(
        "SetQueueAttributes",
        json!({"QueueUrl": q, "Attributes": settings}),
    )
    .await;
    let attributes = sqs.attributes(&q).await;
    for (name, value) in settings.as_object().unwrap() {
        assert_eq!(&attributes[name], value, "{name}");
    }
    for (name, bad) in [
        ("MaximumMessageSize", "1023"),
        ("MessageRetentionPeriod", "59"),
        ("MessageRetentionPeriod", "1209601"),
        ("ReceiveMessageWaitTimeSeconds", "21"),
        ("VisibilityTimeout", "ten"),
        ("Policy", "{not json"),
        ("RedrivePolicy", "{\"maxReceiveCount\": 3}"),
    ] {
        let e = sqs
            .err(
                "SetQueueAttributes",
                json!({"QueueUrl": q, "Attributes": {name: bad}}),
            )
            .await;
        assert!(
            e.kind == "InvalidAttributeValue" || e.kind == "InvalidParameterValue",
            "{name}={bad}: {e:?}"
        );
    }
    // Nothing of a refused change was applied.
    assert_eq!(sqs.attributes(&q).await, attributes);
}
