//! Invalid requests get AWS's error codes in the caller's protocol, never a 500.

use std::time::Duration;

use serde_json::json;

use crate::support::{receipt, start};

fn entries(n: usize) -> Vec<serde_json::Value> {
    (0..n)
        .map(|i| json!({"Id": format!("e{i}"), "MessageBody": "x"}))
        .collect()
}

#[tokio::test]
async fn an_unknown_queue_does_not_exist() {
    let (_endpoint, sqs) = start().await;
    let e = sqs
        .err("GetQueueUrl", json!({"QueueName": "nowhere"}))
        .await;
    assert_eq!((e.status, e.kind.as_str()), (400, "QueueDoesNotExist"));
    assert_eq!(
        e.query_error.as_deref(),
        Some("AWS.SimpleQueueService.NonExistentQueue;Sender")
    );
    let url = format!("{}/000000000000/nowhere", sqs.url);
    for (action, input) in [
        ("SendMessage", json!({"QueueUrl": url, "MessageBody": "x"})),
        ("ReceiveMessage", json!({"QueueUrl": url})),
        ("GetQueueAttributes", json!({"QueueUrl": url})),
        ("PurgeQueue", json!({"QueueUrl": url})),
        ("DeleteQueue", json!({"QueueUrl": url})),
    ] {
        let e = sqs.err(action, input).await;
        assert_eq!(e.kind, "QueueDoesNotExist", "{action}");
    }
    // Another account's queue of the same name is not ours.
    sqs.create_queue("mine", json!({})).await;
    let e = sqs
        .err(
            "SendMessage",
            json!({"QueueUrl": format!("{}/123456789012/mine", sqs.url), "MessageBody": "x"}),
        )
        .await;
    assert_eq!(e.kind, "QueueDoesNotExist");
    let e = sqs.err("SendMessage", json!({"MessageBody": "x"})).await;
    assert_eq!(e.kind, "MissingParameter");
}

#[tokio::test]
async fn bad_queue_names_are_refused() {
    let (_endpoint, sqs) = start().await;
    for bad in [
        "has space",
        "dot.ted",
        &"a".repeat(81),
        "émoji",
        "plain.fifo",
    ] {
        let e = sqs.err("CreateQueue", json!({"QueueName": bad})).await;
        assert_eq!(e.kind, "InvalidParameterValue", "{bad:?}");
    }
    // FifoQueue without the suffix.
    let e = sqs
        .err(
            "CreateQueue",
            json!({"QueueName": "nofifo", "Attributes": {"FifoQueue": "true"}}),
        )
        .await;
    assert_eq!(e.kind, "InvalidParameterValue");
    let e = sqs.err("CreateQueue", json!({"QueueName": ""})).await;
    assert_eq!(e.kind, "MissingParameter");
    let e = sqs.err("CreateQueue", json!({})).await;
    assert_eq!(e.kind, "MissingParameter");
    // The longest names are fine.
    sqs.create_queue(&"a".repeat(80), json!({})).await;
    sqs.create_queue(
        &format!("{}.fifo", "b".repeat(75)),
        json!({"FifoQueue": "true"}),
    )
    .await;
}

#[tokio::test]
async fn batches_must_have_one_to_ten_distinct_valid_ids() {
    let (_endpoint, sqs) = start().await;
    let q = sqs.create_queue("batches", json!({})).await;
    let send = |entries: Vec<serde_json::Value>| json!({"QueueUrl": q, "Entries": entries});

    let e = sqs.err("SendMessageBatch", send(entries(11))).await;
    assert_eq!(e.kind, "TooManyEntriesInBatchRequest");
    assert_eq!(
        e.query_error.as_deref(),
        Some("AWS.SimpleQueueService.TooManyEntriesInBatchRequest;Sender")
    );
    let e = sqs.err("SendMessageBatch", send(vec![])).await;
    assert_eq!(e.kind, "EmptyBatchRequest");
    let e = sqs.err("SendMessageBatch", json!({"QueueUrl": q})).await;
    assert_eq!(e.kind, "EmptyBatchRequest");
    let dup = vec![
        json!({"Id": "same", "MessageBody": "x"}),
        json!({"Id": "same", "MessageBody": "y"}),
    ];
    let e = sqs.err("SendMessageBatch", send(dup)).await;
    assert_eq!(e.kind, "BatchEntryIdsNotDistinct");
    for bad in ["has space", "dot.ted", &"i".repeat(81), ""] {
        let e = sqs
            .err(
                "SendMessageBatch",
                send(vec![json!({"Id": bad, "MessageBody": "x"})]),
            )
            .await;
        assert_eq!(e.kind, "InvalidBatchEntryId", "{bad:?}");
    }
    // Nothing of a refused batch was sent.
    assert_eq!(sqs.count(&q, "ApproximateNumberOfMessages").await, 0);
    let ok = sqs.ok("SendMessageBatch", send(entries(10))).await;
    assert_eq!(ok["Successful"].as_array().unwrap().len(), 10);

    for action in ["DeleteMessageBatch", "ChangeMessageVisibilityBatch"] {
        let e = sqs.err(action, json!({"QueueUrl": q, "Entries": []})).await;
        assert_eq!(e.kind, "EmptyBatchRequest", "{action}");
        let many: Vec<_> = (0..11)
            .map(|i| json!({"Id": format!("r{i}"), "ReceiptHandle": "x", "VisibilityTimeout": 1}))
            .collect();
        let e = sqs
            .err(action, json!({"QueueUrl": q, "Entries": many}))
            .await;
        assert_eq!(e.kind, "TooManyEntriesInBatchRequest", "{action}");
    }
}

#[tokio::test]
async fn message_size_and_characters_are_checked() {
    let (_endpoint, sqs) = start().await;
    let q = sqs
        .create_queue("small", json!({"MaximumMessageSize": "1024"}))
        .await;
    sqs.send(&q, &"x".repeat(1024)).await;
    let e = sqs
        .err(
            "SendMessage",
            json!({"QueueUrl": q, "MessageBody": "x".repeat(1025)}),
        )
        .await;
    assert_eq!(e.kind, "InvalidParameterValue");
    // Attributes count towards the size.
    let e = sqs
        .err(
            "SendMessage",
            json!({"QueueUrl": q, "MessageBody": "x".repeat(1000),
                   "MessageAttributes": {"big": {"DataType": "String", "StringValue": "y".repeat(100)}}}),
        )
        .await;
    assert_eq!(e.kind, "InvalidParameterValue");
    // In a batch, an entry too large fails alone.
    let answer = sqs
        .ok(
            "SendMessageBatch",
            json!({"QueueUrl": q, "Entries": [
                {"Id": "fits", "MessageBody": "ok"},
                {"Id": "big", "MessageBody": "x".repeat(2000)},
                {"Id": "ctl", "MessageBody": "bell \u{7}"},
            ]}),
        )
        .await;
    assert_eq!(answer["Successful"][0]["Id"], "fits");
    let failed = answer["Failed"].as_array().unwrap();
    assert_eq!(failed.len(), 2, "{answer}");
    let code = |id: &str| {
        failed
            .iter()
            .find(|f| f["Id"] == id)
            .map(|f| f["Code"].as_str().unwrap().to_owned())
    };
    assert_eq!(code("big").as_deref(), Some("InvalidParameterValue"));
    assert_eq!(code("ctl").as_deref(), Some("InvalidMessageContents"));

    for bad in ["nul \u{0}", "escape \u{1b}", "lone \u{FFFE}"] {
        let e = sqs
            .err("SendMessage", json!({"QueueUrl": q, "MessageBody": bad}))
            .await;
        assert_eq!(e.kind, "InvalidMessageContents", "{bad:?}");
    }
    sqs.send(&q, "tab\t newline\n cr\r ✓ 😀 \u{E000}").await;
    let e = sqs
        .err("SendMessage", json!({"QueueUrl": q, "MessageBody": ""}))
        .await;
    assert_eq!(e.kind, "MissingParameter");
    let e = sqs
        .err(
            "CreateQueue",
            json!({"QueueName": "too-big", "Attributes": {"MaximumMessageSize": "1048577"}}),
        )
        .await;
    assert_eq!(e.kind, "InvalidAttributeValue");
}

#[tokio::test]
async fn receive_parameters_are_checked() {
    let (_endpoint, sqs) = start().await;
    let q = sqs.create_queue("receive-params", json!({})).await;
    for (field, value) in [
        ("MaxNumberOfMessages", 0),
        ("MaxNumberOfMessages", 11),
        ("VisibilityTimeout", 43_201),
        ("VisibilityTimeout", -1),
        ("WaitTimeSeconds", 21),
    ] {
        let e = sqs
            .err("ReceiveMessage", json!({"QueueUrl": q, field: value}))
            .await;
        assert_eq!(e.kind, "InvalidParameterValue", "{field} {value}");
        assert!(e.message.contains(field), "{}", e.message);
    }
    let e = sqs
        .err(
            "CreateQueue",
            json!({"QueueName": "vt", "Attributes": {"VisibilityTimeout": "43201"}}),
        )
        .await;
    assert_eq!(e.kind, "InvalidAttributeValue");
    sqs.send(&q, "m").await;
    let got = sqs.receive_now(&q, 1).await;
    let e = sqs
        .err(
            "ChangeMessageVisibility",
            json!({"QueueUrl": q, "ReceiptHandle": receipt(&got[0]), "VisibilityTimeout": 43_201}),
        )
        .await;
    assert_eq!(e.kind, "InvalidParameterValue");
}

#[tokio::test]
async fn unknown_attribute_names_are_refused() {
    let (_endpoint, sqs) = start().await;
    let q = sqs.create_queue("attr-names", json!({})).await;
    let e = sqs
        .err(
            "GetQueueAttributes",
            json!({"QueueUrl": q, "AttributeNames": ["VisibilityTimeout", "Bogus"]}),
        )
        .await;
    assert_eq!(e.kind, "InvalidAttributeName");
    let e = sqs
        .err(
            "CreateQueue",
            json!({"QueueName": "bogus-attr", "Attributes": {"Bogus": "1"}}),
        )
        .await;
    assert_eq!(e.kind, "InvalidAttributeName");
    let e = sqs
        .err(
            "SetQueueAttributes",
            json!({"QueueUrl": q, "Attributes": {"FifoQueue": "true"}}),
        )
        .await;
    assert_eq!(e.kind, "InvalidAttributeName");
    let e = sqs
        .err(
            "SetQueueAttributes",
            json!({"QueueUrl": q, "Attributes": {"ContentBasedDeduplication": "true"}}),
        )
        .await;
    assert_eq!(e.kind, "InvalidAttributeName");
    // Asked for by name, only those come back.
    let some = sqs
        .ok(
            "GetQueueAttributes",
            json!({"QueueUrl": q, "AttributeNames": ["VisibilityTimeout", "QueueArn"]}),
        )
        .await;
    let keys: Vec<&String> = some["Attributes"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["QueueArn", "VisibilityTimeout"]);
}

#[tokio::test]
async fn re_creating_a_queue_needs_the_same_attributes() {
    let (_endpoint, sqs) = start().await;
    let q = sqs
        .create_queue("twice", json!({"VisibilityTimeout": "60"}))
        .await;
    assert_eq!(
        sqs.create_queue("twice", json!({"VisibilityTimeout": "60"}))
            .await,
        q
    );
    assert_eq!(sqs.create_queue("twice", json!({})).await, q);
    let e = sqs
        .err(
            "CreateQueue",
            json!({"QueueName": "twice", "Attributes": {"VisibilityTimeout": "61"}}),
        )
        .await;
    assert_eq!(e.kind, "QueueNameExists");
    assert_eq!(e.query_error.as_deref(), Some("QueueAlreadyExists;Sender"));
}

#[tokio::test]
async fn a_deleted_name_is_free_again_after_sixty_seconds() {
    let (endpoint, sqs) = start().await;
    let q = sqs.create_queue("recycled", json!({})).await;
    sqs.send(&q, "old").await;
    sqs.ok("DeleteQueue", json!({"QueueUrl": q})).await;
    let e = sqs
        .err("CreateQueue", json!({"QueueName": "recycled"}))
        .await;
    assert_eq!(e.kind, "QueueDeletedRecently");
    assert_eq!(
        e.query_error.as_deref(),
        Some("AWS.SimpleQueueService.QueueDeletedRecently;Sender")
    );
    endpoint.advance(Duration::from_secs(59));
    let e = sqs
        .err("CreateQueue", json!({"QueueName": "recycled"}))
        .await;
    assert_eq!(e.kind, "QueueDeletedRecently");
    endpoint.advance(Duration::from_secs(2));
    let again = sqs.create_queue("recycled", json!({})).await;
    assert_eq!(again, q);
    // The new queue starts empty.
    assert!(sqs.receive_now(&again, 10).await.is_empty());
}

#[tokio::test]
async fn one_purge_a_minute() {
    let (endpoint, sqs) = start().await;
    let q = sqs.create_queue("purge", json!({})).await;
    sqs.send(&q, "a").await;
    sqs.ok("PurgeQueue", json!({"QueueUrl": q})).await;
    assert_eq!(sqs.count(&q, "ApproximateNumberOfMessages").await, 0);
    sqs.send(&q, "b").await;
    let e = sqs.err("PurgeQueue", json!({"QueueUrl": q})).await;
    assert_eq!((e.status, e.kind.as_str()), (403, "PurgeQueueInProgress"));
    assert_eq!(
        e.query_error.as_deref(),
        Some("AWS.SimpleQueueService.PurgeQueueInProgress;Sender")
    );
    assert_eq!(sqs.count(&q, "ApproximateNumberOfMessages").await, 1);
    endpoint.advance(Duration::from_secs(61));
    sqs.ok("PurgeQueue", json!({"QueueUrl": q})).await;
    assert_eq!(sqs.count(&q, "ApproximateNumberOfMessages").await, 0);
}

#[tokio::test]
async fn message_attributes_are_checked() {
    let (_endpoint, sqs) = start().await;
    let q = sqs.create_queue("msg-attrs", json!({})).await;
    let send = |attributes: serde_json::Value| json!({"QueueUrl": q, "MessageBody": "x", "MessageAttributes": attributes});
    for bad in [
        json!({"n": {"DataType": "Number", "StringValue": "ten"}}),
        json!({"AWS.reserved": {"DataType": "String", "StringValue": "v"}}),
        json!({".dot": {"DataType": "String", "StringValue": "v"}}),
        json!({"t": {"DataType": "Weird", "StringValue": "v"}}),
        json!({"e": {"DataType": "String", "StringValue": ""}}),
        json!({"b": {"DataType": "Binary", "BinaryValue": "%%%"}}),
        json!({"m": {"DataType": "String"}}),
    ] {
        let e = sqs.err("SendMessage", send(bad.clone())).await;
        assert_eq!(e.kind, "InvalidParameterValue", "{bad}");
    }
    let eleven: serde_json::Map<String, serde_json::Value> = (0..11)
        .map(|i| {
            (
                format!("a{i}"),
                json!({"DataType": "String", "StringValue": "v"}),
            )
        })
        .collect();
    let e = sqs.err("SendMessage", send(eleven.into())).await;
    assert_eq!(e.kind, "InvalidParameterValue");
}

#[tokio::test]
async fn both_protocols_give_the_aws_error_shape() {
    let (_endpoint, sqs) = start().await;
    // JSON: __type, message, x-amzn-query-error, a request id.
    let response = sqs
        .json_request("GetQueueUrl")
        .body(json!({"QueueName": "absent"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let headers = response.headers().clone();
    assert_eq!(
        headers["content-type"].to_str().unwrap(),
        "application/x-amz-json-1.0"
    );
    assert!(headers.contains_key("x-amzn-requestid"));
    assert_eq!(
        headers["x-amzn-query-error"].to_str().unwrap(),
        "AWS.SimpleQueueService.NonExistentQueue;Sender"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["__type"], "com.amazonaws.sqs#QueueDoesNotExist");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));

    // Query: <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>.
    let answer = sqs
        .query(&[("Action", "GetQueueUrl"), ("QueueName", "absent")])
        .await;
    assert_eq!(answer.status, 400);
    assert!(answer.body.contains("<ErrorResponse"), "{}", answer.body);
    assert_eq!(answer.text("Type").as_deref(), Some("Sender"));
    assert_eq!(
        answer.text("Code").as_deref(),
        Some("AWS.SimpleQueueService.NonExistentQueue")
    );
    assert!(answer.text("Message").is_some_and(|m| !m.is_empty()));
    assert!(answer.text("RequestId").is_some_and(|m| m.len() >= 16));

    let answer = sqs
        .query(&[
            ("Action", "PurgeQueue"),
            ("QueueUrl", "http://x/000000000000/absent"),
        ])
        .await;
    assert_eq!(
        answer.text("Code").as_deref(),
        Some("AWS.SimpleQueueService.NonExistentQueue")
    );
}

#[tokio::test]
async fn a_batch_of_more_than_a_mebibyte_is_too_long() {
    let (_endpoint, sqs) = start().await;
    let q = sqs.create_queue("long-batch", json!({})).await;
    let big: Vec<_> = (0..5)
        .map(|i| json!({"Id": format!("e{i}"), "MessageBody": "x".repeat(250_000)}))
        .collect();
    let e = sqs
        .err("SendMessageBatch", json!({"QueueUrl": q, "Entries": big}))
        .await;
    assert_eq!(e.kind, "BatchRequestTooLong");
    assert_eq!(sqs.count(&q, "ApproximateNumberOfMessages").await, 0);
    let fits: Vec<_> = (0..4)
        .map(|i| json!({"Id": format!("e{i}"), "MessageBody": "x".repeat(262_144)}))
        .collect();
    let ok = sqs
        .ok("SendMessageBatch", json!({"QueueUrl": q, "Entries": fits}))
        .await;
    assert_eq!(ok["Successful"].as_array().unwrap().len(), 4);
    // One message of the full 1 MiB is fine, one byte more is not.
    sqs.send(&q, &"y".repeat(1_048_576)).await;
    let e = sqs
        .err(
            "SendMessage",
            json!({"QueueUrl": q, "MessageBody": "y".repeat(1_048_577)}),
        )
        .await;
    assert_eq!(e.kind, "InvalidParameterValue");
}

#[tokio::test]
async fn list_queues_pages_and_filters() {
    let (_endpoint, sqs) = start().await;
    for name in ["page-a", "page-b", "page-c", "other"] {
        sqs.create_queue(name, json!({})).await;
    }
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut input = json!({"QueueNamePrefix": "page-", "MaxResults": 2});
        if let Some(t) = &token {
            input["NextToken"] = json!(t);
        }
        let page = sqs.ok("ListQueues", input).await;
        let urls = page["QueueUrls"].as_array().cloned().unwrap_or_default();
        assert!(urls.len() <= 2);
        seen.extend(
            urls.iter()
                .map(|u| u.as_str().unwrap().rsplit('/').next().unwrap().to_owned()),
        );
        match page["NextToken"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ["page-a", "page-b", "page-c"]);
    let e = sqs.err("ListQueues", json!({"MaxResults": 1001})).await;
    assert_eq!(e.kind, "InvalidParameterValue");
}
