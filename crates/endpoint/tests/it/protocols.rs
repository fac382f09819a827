//! The wire: the Query protocol end to end, queue URLs from the Host header, MD5s,
//! and garbage of every kind answered with a 4xx AWS error, never a 500.

use md5::{Digest, Md5};
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::support::{Client, form, start, xml_all};

fn md5_hex(data: &str) -> String {
    hex::encode(Md5::digest(data.as_bytes()))
}

#[tokio::test]
async fn the_query_protocol_sends_and_receives() {
    let (_endpoint, sqs) = start().await;
    let created = sqs
        .query(&[
            ("Action", "CreateQueue"),
            ("QueueName", "by-query"),
            ("Attribute.1.Name", "VisibilityTimeout"),
            ("Attribute.1.Value", "40"),
            ("Tag.1.Key", "team"),
            ("Tag.1.Value", "web"),
        ])
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert!(
        created.body.contains("<CreateQueueResponse"),
        "{}",
        created.body
    );
    let q = created.text("QueueUrl").unwrap();
    assert_eq!(q, format!("{}/000000000000/by-query", sqs.url));
    assert!(created.text("RequestId").is_some());

    let body = "a <tag> & \"quotes\"\r\n";
    let sent = sqs
        .query(&[
            ("Action", "SendMessage"),
            ("QueueUrl", &q),
            ("MessageBody", body),
            ("MessageAttribute.1.Name", "color"),
            ("MessageAttribute.1.Value.DataType", "String"),
            ("MessageAttribute.1.Value.StringValue", "red"),
        ])
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert_eq!(sent.text("MD5OfMessageBody"), Some(md5_hex(body)));
    assert!(sent.text("MD5OfMessageAttributes").is_some());
    let message_id = sent.text("MessageId").unwrap();

    let got = sqs
        .query(&[
            ("Action", "ReceiveMessage"),
            ("QueueUrl", &q),
            ("AttributeName.1", "All"),
            ("MessageAttributeName.1", "All"),
        ])
        .await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.all("Message").len(), 1);
    assert_eq!(got.text("MessageId"), Some(message_id));
    assert_eq!(got.text("Body").as_deref(), Some(body));
    assert_eq!(got.text("MD5OfBody"), Some(md5_hex(body)));
    assert_eq!(got.text("StringValue").as_deref(), Some("red"));
    let attribute_names = got.all("Name");
    assert!(attribute_names.contains(&"ApproximateReceiveCount".to_owned()));
    assert!(attribute_names.contains(&"color".to_owned()));
    let handle = got.text("ReceiptHandle").unwrap();

    let attrs = sqs
        .query(&[
            ("Action", "GetQueueAttributes"),
            ("QueueUrl", &q),
            ("AttributeName.1", "VisibilityTimeout"),
            ("AttributeName.2", "ApproximateNumberOfMessagesNotVisible"),
        ])
        .await;
    let values = attrs.all("Value");
    assert_eq!(attrs.all("Name").len(), 2, "{}", attrs.body);
    assert!(values.contains(&"40".to_owned()) && values.contains(&"1".to_owned()));
    let tags = sqs
        .query(&[("Action", "ListQueueTags"), ("QueueUrl", &q)])
        .await;
    assert_eq!(tags.text("Key").as_deref(), Some("team"));

    let deleted = sqs
        .query(&[
            ("Action", "DeleteMessageBatch"),
            ("QueueUrl", &q),
            ("DeleteMessageBatchRequestEntry.1.Id", "one"),
            ("DeleteMessageBatchRequestEntry.1.ReceiptHandle", &handle),
            ("DeleteMessageBatchRequestEntry.2.Id", "two"),
            ("DeleteMessageBatchRequestEntry.2.ReceiptHandle", "junk"),
        ])
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    let ok = xml_all(&deleted.body, "DeleteMessageBatchResultEntry");
    assert_eq!(ok.len(), 1, "{}", deleted.body);
    assert!(ok[0].contains("<Id>one</Id>"));
    let failed = xml_all(&deleted.body, "BatchResultErrorEntry");
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0].contains("<Code>ReceiptHandleIsInvalid</Code>"),
        "{}",
        failed[0]
    );
    assert_eq!(
        sqs.count(&q, "ApproximateNumberOfMessagesNotVisible").await,
        0
    );

    // GET with the parameters in the URL, on the queue's own path.
    let listed = sqs
        .http
        .get(format!(
            "{}/?Action=ListQueues&QueueNamePrefix=by-",
            sqs.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    let text = listed.text().await.unwrap();
    assert_eq!(xml_all(&text, "QueueUrl"), vec![q.clone()]);
    let on_path = sqs
        .http
        .post(&q)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("Action", "SendMessage"),
            ("MessageBody", "via path"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(on_path.status(), 200, "{}", on_path.text().await.unwrap());
}

/// AWS's documented MD5 of message attributes: by name, each as length-prefixed
/// name and type, a transport byte (1 string, 2 binary) and the length-prefixed value.
fn attributes_md5(attributes: &[(&str, &str, &[u8])]) -> String {
    let mut bytes = Vec::new();
    for (name, data_type, value) in attributes {
        for part in [name.as_bytes(), data_type.as_bytes()] {
            bytes.extend_from_slice(&(part.len() as u32).to_be_bytes());
            bytes.extend_from_slice(part);
        }
        bytes.push(if data_type.starts_with("Binary") {
            2
        } else {
            1
        });
        bytes.extend_from_slice(&(value.len() as u32).to_be_bytes());
        bytes.extend_from_slice(value);
    }
    hex::encode(Md5::digest(&bytes))
}

#[tokio::test]
async fn json_answers_carry_aws_md5s() {
    let (_endpoint, sqs) = start().await;
    let q = sqs.create_queue("md5", json!({})).await;
    let body = "Nextflix ✓";
    let sent = sqs
        .ok(
            "SendMessage",
            json!({"QueueUrl": q, "MessageBody": body, "MessageAttributes": {
                "s": {"DataType": "String", "StringValue": "v"},
                "n": {"DataType": "Number", "StringValue": "42"},
                "b": {"DataType": "Binary", "BinaryValue": "AAEC"},
            }}),
        )
        .await;
    assert_eq!(sent["MD5OfMessageBody"], md5_hex(body));
    let want = attributes_md5(&[
        ("b", "Binary", b"\x00\x01\x02"),
        ("n", "Number", b"42"),
        ("s", "String", b"v"),
    ]);
    assert_eq!(sent["MD5OfMessageAttributes"], want.as_str());
    let got = sqs.receive_now(&q, 1).await;
    assert_eq!(got[0]["MD5OfBody"], md5_hex(body));
    assert_eq!(got[0]["MD5OfMessageAttributes"], want.as_str());
    assert_eq!(got[0]["MessageAttributes"]["b"]["BinaryValue"], "AAEC");
    assert_eq!(got[0]["MessageAttributes"]["n"]["StringValue"], "42");
    // Only the attributes asked for come back, with their own MD5.
    let again = sqs
        .ok(
            "ChangeMessageVisibility",
            json!({"QueueUrl": q, "ReceiptHandle": got[0]["ReceiptHandle"], "VisibilityTimeout": 0}),
        )
        .await;
    assert_eq!(again, json!({}));
    let only = sqs
        .ok(
            "ReceiveMessage",
            json!({"QueueUrl": q, "MessageAttributeNames": ["s"]}),
        )
        .await;
    let message = &only["Messages"][0];
    assert_eq!(
        message["MessageAttributes"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["s"]
    );
    assert_eq!(
        message["MD5OfMessageAttributes"],
        attributes_md5(&[("s", "String", b"v")]).as_str()
    );
    // No system attributes unless asked for.
    assert!(message.get("Attributes").is_none(), "{message}");
}

#[tokio::test]
async fn queue_urls_follow_the_host_header() {
    let (_endpoint, sqs) = start().await;
    let answer = sqs
        .json_request("CreateQueue")
        .header("host", "sqs.example.test:4566")
        .body(json!({"QueueName": "hosted"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let value: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(
        value["QueueUrl"],
        "http://sqs.example.test:4566/000000000000/hosted"
    );
    let forwarded = sqs
        .json_request("GetQueueUrl")
        .header("host", "queues.example.test")
        .header("x-forwarded-proto", "https")
        .body(json!({"QueueName": "hosted"}).to_string())
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(
        forwarded["QueueUrl"],
        "https://queues.example.test/000000000000/hosted"
    );
    // Any host in a queue URL names the same queue.
    sqs.send("http://sqs.example.test:4566/000000000000/hosted", "x")
        .await;
    let local = format!("{}/000000000000/hosted", sqs.url);
    assert_eq!(sqs.receive_now(&local, 1).await.len(), 1);
    let listed = sqs.ok("ListQueues", json!({})).await;
    assert_eq!(listed["QueueUrls"], json!([local]));
}

/// Sends raw bytes and checks the answer is a 4xx AWS error of `protocol`.
async fn assert_refused(sqs: &Client, target: Option<&str>, content_type: &str, body: Vec<u8>) {
    let mut request = sqs
        .http
        .post(format!("{}/", sqs.url))
        .header("content-type", content_type);
    if let Some(target) = target {
        request = request.header("x-amz-target", target);
    }
    let response = request.body(body.clone()).send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert!(
        (400..500).contains(&status),
        "{status} for {target:?} {:?}: {text}",
        String::from_utf8_lossy(&body)
    );
    if target.is_some() {
        let value: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not a JSON error: {text}"));
        assert!(
            value["__type"]
                .as_str()
                .is_some_and(|t| t.starts_with("com.amazonaws.sqs#")),
            "{text}"
        );
    } else {
        assert!(text.contains("<ErrorResponse"), "{text}");
        assert!(text.contains("<Code>"), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_gets_a_4xx_aws_error_never_a_500() {
    let (_endpoint, sqs) = start().await;
    let q = sqs.create_queue("garbage", json!({})).await;
    let json_ct = "application/x-amz-json-1.0";
    let form_ct = "application/x-www-form-urlencoded";
    let send = Some("AmazonSQS.SendMessage");
    let receive = Some("AmazonSQS.ReceiveMessage");

    // Wrong JSON types.
    for (target, body) in [
        (
            receive,
            json!({"QueueUrl": q, "MaxNumberOfMessages": "ten"}),
        ),
        (receive, json!({"QueueUrl": q, "MaxNumberOfMessages": 1.5})),
        (
            receive,
            json!({"QueueUrl": q, "MaxNumberOfMessages": 1e300}),
        ),
        (receive, json!({"QueueUrl": q, "AttributeNames": "All"})),
        (receive, json!({"QueueUrl": 12})),
        (
            send,
            json!({"QueueUrl": q, "MessageBody": {"nested": true}}),
        ),
        (
            send,
            json!({"QueueUrl": q, "MessageBody": "x", "MessageAttributes": [1, 2]}),
        ),
        (
            send,
            json!({"QueueUrl": q, "MessageBody": "x", "DelaySeconds": "soon"}),
        ),
        (
            send,
            json!({"QueueUrl": q, "MessageBody": "x", "DelaySeconds": -99999999999i64}),
        ),
        (
            Some("AmazonSQS.SendMessageBatch"),
            json!({"QueueUrl": q, "Entries": "x"}),
        ),
        (
            Some("AmazonSQS.SendMessageBatch"),
            json!({"QueueUrl": q, "Entries": [1]}),
        ),
        (
            Some("AmazonSQS.CreateQueue"),
            json!({"QueueName": "x", "Attributes": {"DelaySeconds": 5}}),
        ),
        (Some("AmazonSQS.CreateQueue"), json!({"QueueName": ["x"]})),
        (
            Some("AmazonSQS.TagQueue"),
            json!({"QueueUrl": q, "Tags": null}),
        ),
        (Some("AmazonSQS.ListQueues"), json!({"MaxResults": 0})),
        (Some("AmazonSQS.ListQueues"), json!({"NextToken": "!!!"})),
        (Some("AmazonSQS.Bogus"), json!({})),
        (Some("AmazonSQS."), json!({})),
        (Some("DynamoDB_20120810.ListTables"), json!({})),
        (Some("nonsense"), json!({})),
    ] {
        assert_refused(&sqs, target, json_ct, body.to_string().into_bytes()).await;
    }
    // Not JSON objects.
    for body in ["[1,2]", "\"text\"", "{", "null", "42", "{\"a\":}"] {
        assert_refused(&sqs, send, json_ct, body.as_bytes().to_vec()).await;
    }
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert_refused(&sqs, send, json_ct, deep.into_bytes()).await;
    // Query requests without or with a bad action.
    assert_refused(&sqs, None, form_ct, b"QueueName=x".to_vec()).await;
    assert_refused(&sqs, None, form_ct, b"Action=&QueueName=x".to_vec()).await;
    assert_refused(&sqs, None, form_ct, b"Action=Bogus".to_vec()).await;
    assert_refused(
        &sqs,
        None,
        form_ct,
        b"Action=ReceiveMessage&QueueUrl=x&MaxNumberOfMessages=ten".to_vec(),
    )
    .await;
    assert_refused(
        &sqs,
        None,
        form_ct,
        b"Action=SendMessageBatch&SendMessageBatchRequestEntry.x.Id=1".to_vec(),
    )
    .await;
    assert_refused(
        &sqs,
        None,
        form_ct,
        b"Action=CreateQueue&QueueName=q&Attribute.1.Name=VisibilityTimeout&Attribute.1.Value.Deep=1"
            .to_vec(),
    )
    .await;

    // Random bytes, seeded so a failure can be replayed.
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
    for round in 0..150 {
        let len = rng.random_range(0..2048);
        let bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        let (target, ct) = match round % 3 {
            0 => (send, json_ct),
            1 => (Some("AmazonSQS.CreateQueue"), json_ct),
            _ => (None, form_ct),
        };
        assert_refused(&sqs, target, ct, bytes).await;
    }
    // Still serving.
    sqs.send(&q, "still here").await;
    assert_eq!(sqs.receive_now(&q, 10).await.len(), 1);
}

/// Past the body limit the answer is still an AWS error an SDK can parse.
#[tokio::test]
async fn an_oversized_request_is_refused_with_an_aws_error() {
    let (_endpoint, sqs) = start().await;
    let q = sqs.create_queue("oversized", json!({})).await;
    let body = json!({"QueueUrl": q, "MessageBody": "z".repeat(17 * 1024 * 1024)}).to_string();
    let response = sqs
        .json_request("SendMessage")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert!((400..500).contains(&status), "{status}");
    assert!(text.contains("com.amazonaws.sqs#"), "{status}: {text}");
}

/// The JSON protocol's CreateQueue names its tags `tags` (lower case, as the SDKs
/// send them); TagQueue and the Query protocol use `Tags` / `Tag.N.Key`.
#[tokio::test]
async fn create_queue_takes_tags_in_every_spelling() {
    let (_endpoint, sqs) = start().await;
    for (name, field) in [("tags-lower", "tags"), ("tags-upper", "Tags")] {
        let q = sqs
            .ok(
                "CreateQueue",
                json!({"QueueName": name, field: {"team": "video"}}),
            )
            .await["QueueUrl"]
            .as_str()
            .unwrap()
            .to_owned();
        let tags = sqs.ok("ListQueueTags", json!({"QueueUrl": q})).await;
        assert_eq!(tags["Tags"], json!({"team": "video"}), "{field}");
    }
}
