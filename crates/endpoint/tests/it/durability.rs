//! With a state dir, what was acknowledged survives a restart of the endpoint on
//! the same dir: sent messages that were not deleted, queues with their attributes
//! and tags; deleted messages and queues stay gone; in-flight messages come back
//! visible.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use nextflix_endpoint::Endpoint;
use serde_json::json;

use crate::support::{Client, body, drain_bodies, receipt, start_with};

/// An endpoint keeping its state in `dir`.
async fn start_on(dir: &Path) -> Endpoint {
    start_with(Some(dir), true).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_right_after_shutdown_opens_the_store() {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..5 {
        let endpoint = start_with(Some(dir.path()), true).await;
        let sqs = Client::new(&endpoint.url());
        sqs.create_queue("reopened", json!({})).await;
        sqs.send(&format!("{}/000000000000/reopened", sqs.url), "m")
            .await;
        endpoint.shutdown().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_changes_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = start_on(dir.path()).await;
    let sqs = Client::new(&endpoint.url());
    let q = sqs
        .create_queue(
            "durable",
            json!({"VisibilityTimeout": "45", "MessageRetentionPeriod": "86400"}),
        )
        .await;
    sqs.ok(
        "TagQueue",
        json!({"QueueUrl": q, "Tags": {"team": "video", "env": "test"}}),
    )
    .await;
    let fifo = sqs
        .create_queue(
            "durable.fifo",
            json!({"FifoQueue": "true", "ContentBasedDeduplication": "true"}),
        )
        .await;
    let gone = sqs.create_queue("durable-deleted", json!({})).await;
    sqs.send(&gone, "with its queue").await;
    sqs.ok("DeleteQueue", json!({"QueueUrl": gone})).await;

    let mut kept = BTreeSet::new();
    for i in 0..20 {
        sqs.send(&q, &format!("single-{i}")).await;
        kept.insert(format!("single-{i}"));
    }
    let entries: Vec<_> = (0..10)
        .map(|i| json!({"Id": format!("b{i}"), "MessageBody": format!("batch-{i}")}))
        .collect();
    sqs.ok(
        "SendMessageBatch",
        json!({"QueueUrl": q, "Entries": entries}),
    )
    .await;
    kept.extend((0..10).map(|i| format!("batch-{i}")));
    // Delete five, one of them through a batch; leave five more in flight.
    let taken = sqs.receive_now(&q, 10).await;
    assert_eq!(taken.len(), 10);
    for m in &taken[..4] {
        sqs.delete(&q, receipt(m)).await;
        kept.remove(body(m));
    }
    let answer = sqs
        .ok(
            "DeleteMessageBatch",
            json!({"QueueUrl": q, "Entries": [{"Id": "x", "ReceiptHandle": receipt(&taken[4])}]}),
        )
        .await;
    assert_eq!(answer["Successful"].as_array().unwrap().len(), 1);
    kept.remove(body(&taken[4]));
    // taken[5..] stay in flight (45 s) across the restart.
    for i in 0..3 {
        sqs.ok(
            "SendMessage",
            json!({"QueueUrl": fifo, "MessageBody": format!("f{i}"), "MessageGroupId": "g"}),
        )
        .await;
    }
    let fifo_attributes = sqs.attributes(&fifo).await;

    endpoint.shutdown().await.unwrap();
    drop(sqs);

    let endpoint = start_on(dir.path()).await;
    let sqs = Client::new(&endpoint.url());
    let q = sqs.ok("GetQueueUrl", json!({"QueueName": "durable"})).await["QueueUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    let attributes = sqs.attributes(&q).await;
    assert_eq!(attributes["VisibilityTimeout"], "45");
    assert_eq!(attributes["MessageRetentionPeriod"], "86400");
    let tags = sqs.ok("ListQueueTags", json!({"QueueUrl": q})).await;
    assert_eq!(tags["Tags"], json!({"team": "video", "env": "test"}));
    // Messages in flight at the shutdown stay hidden until their visibility
    // timeout (45 s) ends; then every kept message is there.
    endpoint.advance(Duration::from_secs(46));
    assert_eq!(
        sqs.count(&q, "ApproximateNumberOfMessages").await,
        kept.len() as u64
    );
    let got: BTreeSet<String> = drain_bodies(&sqs, &q).await.into_iter().collect();
    assert_eq!(got, kept);

    let fifo_after = sqs.attributes(&fifo).await;
    assert_eq!(fifo_after["FifoQueue"], "true");
    assert_eq!(
        fifo_after["ContentBasedDeduplication"],
        fifo_attributes["ContentBasedDeduplication"]
    );
    assert_eq!(fifo_after["QueueArn"], fifo_attributes["QueueArn"]);
    let order: Vec<String> = drain_bodies(&sqs, &fifo).await;
    assert_eq!(order, ["f0", "f1", "f2"]);

    let e = sqs
        .err("GetQueueUrl", json!({"QueueName": "durable-deleted"}))
        .await;
    assert_eq!(e.kind, "QueueDoesNotExist");
    endpoint.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purges_attribute_changes_and_new_messages_after_a_restart_also_last() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = start_on(dir.path()).await;
    let sqs = Client::new(&endpoint.url());
    let purged = sqs.create_queue("purged", json!({})).await;
    for i in 0..5 {
        sqs.send(&purged, &format!("p{i}")).await;
    }
    sqs.ok("PurgeQueue", json!({"QueueUrl": purged})).await;
    sqs.send(&purged, "after the purge").await;
    let changed = sqs.create_queue("changed", json!({})).await;
    sqs.ok(
        "SetQueueAttributes",
        json!({"QueueUrl": changed, "Attributes": {"DelaySeconds": "7"}}),
    )
    .await;
    sqs.ok(
        "UntagQueue",
        json!({"QueueUrl": changed, "TagKeys": ["none"]}),
    )
    .await;
    endpoint.shutdown().await.unwrap();

    // Twice: a restarted endpoint keeps writing to the same store.
    for round in 0..2 {
        let endpoint = start_on(dir.path()).await;
        let sqs = Client::new(&endpoint.url());
        // What the last round drained is still in flight: let it come back. Each
        // start's virtual clock begins at the real time, so each round advances
        // past the previous round's deadline.
        endpoint.advance(Duration::from_secs(31 * (round + 1)));
        assert_eq!(
            sqs.attributes(&changed).await["DelaySeconds"],
            "7",
            "round {round}"
        );
        let mut got = drain_bodies(&sqs, &purged).await;
        got.sort();
        let mut want = vec!["after the purge".to_owned()];
        want.extend((0..round).map(|r| format!("round-{r}")));
        want.sort();
        assert_eq!(got, want, "round {round}");
        sqs.send(&purged, &format!("round-{round}")).await;
        endpoint.advance(Duration::from_secs(1));
        endpoint.shutdown().await.unwrap();
    }
}

/// FIFO deduplication is a promise for five minutes: a producer that retries a
/// send across a restart of the endpoint must not get a second copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_deduplication_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = start_on(dir.path()).await;
    let sqs = Client::new(&endpoint.url());
    let q = sqs
        .create_queue("dedup-restart.fifo", json!({"FifoQueue": "true"}))
        .await;
    let first = sqs.send_fifo(&q, "once", "g", "retry-me").await;
    endpoint.shutdown().await.unwrap();

    let endpoint = start_on(dir.path()).await;
    let sqs = Client::new(&endpoint.url());
    let retried = sqs.send_fifo(&q, "once", "g", "retry-me").await;
    assert_eq!(retried["MessageId"], first["MessageId"]);
    assert_eq!(sqs.count(&q, "ApproximateNumberOfMessages").await, 1);
    endpoint.shutdown().await.unwrap();
}

/// A message in flight at a (graceful) restart stays hidden until its timeout:
/// the receipt handed out before the restart still deletes it, and a long poll
/// waiting after the restart wakes when the timeout ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_messages_keep_their_receipts_and_timeouts_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = start_on(dir.path()).await;
    let sqs = Client::new(&endpoint.url());
    let q = sqs
        .create_queue("in-flight-restart", json!({"VisibilityTimeout": "10"}))
        .await;
    sqs.send(&q, "deleted after").await;
    sqs.send(&q, "retried after").await;
    let taken = sqs.receive_now(&q, 10).await;
    assert_eq!(taken.len(), 2);
    endpoint.shutdown().await.unwrap();

    let endpoint = start_on(dir.path()).await;
    let sqs = Client::new(&endpoint.url());
    let doomed = taken.iter().find(|m| body(m) == "deleted after").unwrap();
    sqs.delete(&q, receipt(doomed)).await;
    let waiter = {
        let (sqs, q) = (sqs.clone(), q.clone());
        tokio::spawn(async move { sqs.receive(&q, json!({"WaitTimeSeconds": 20})).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiter.is_finished(), "still in flight after the restart");
    endpoint.advance(Duration::from_secs(11));
    let got = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("the long poll did not wake when the restored timeout ended")
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(body(&got[0]), "retried after");
    assert_eq!(
        crate::support::attr_u64(&got[0], "ApproximateReceiveCount"),
        2
    );
    assert!(
        sqs.receive_now(&q, 10).await.is_empty(),
        "the deleted one is gone"
    );
    endpoint.shutdown().await.unwrap();
}

/// Topics, subscriptions, buckets and objects are as durable as queues: after a
/// restart the topic still fans out, and every acknowledged object reads back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_subscriptions_and_objects_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = start_on(dir.path()).await;
    let sqs = Client::new(&endpoint.url());
    let sns = |action: &str, input: serde_json::Value| {
        let http = sqs.http.clone();
        let url = endpoint.url();
        let action = action.to_owned();
        async move {
            let r = http
                .post(format!("{url}/"))
                .header("content-type", "application/x-amz-json-1.0")
                .header("x-amz-target", format!("SNS_20100331.{action}"))
                .body(input.to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{action}");
            r.json::<serde_json::Value>().await.unwrap()
        }
    };
    let topic = sns(
        "CreateTopic",
        json!({"Name": "kept", "Attributes": {"DisplayName": "Kept"}}),
    )
    .await["TopicArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let q = sqs.create_queue("kept-sub", json!({})).await;
    let arn = sqs.attributes(&q).await["QueueArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let policy = json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": arn}]});
    sqs.ok(
        "SetQueueAttributes",
        json!({"QueueUrl": q, "Attributes": {"Policy": policy.to_string()}}),
    )
    .await;
    sns("Subscribe", json!({"TopicArn": topic, "Protocol": "sqs", "Endpoint": arn, "Attributes": {"RawMessageDelivery": "true"}})).await;
    let http = sqs.http.clone();
    assert!(
        http.put(format!("{}/kept-bucket", endpoint.url()))
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
    );
    for i in 0..5 {
        let r = http
            .put(format!(
                "{}/kept-bucket/dir/object-{i}.json",
                endpoint.url()
            ))
            .header("content-type", "application/json")
            .header("x-amz-meta-index", i.to_string())
            .body(format!("{{\"i\":{i}}}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    endpoint.shutdown().await.unwrap();

    let endpoint = start_on(dir.path()).await;
    let sqs = Client::new(&endpoint.url());
    let http = sqs.http.clone();
    let attributes = {
        let r = http
            .post(format!("{}/", endpoint.url()))
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", "SNS_20100331.GetTopicAttributes")
            .body(json!({"TopicArn": topic}).to_string())
            .send()
            .await
            .unwrap();
        r.json::<serde_json::Value>().await.unwrap()
    };
    assert_eq!(attributes["Attributes"]["DisplayName"], "Kept");
    assert_eq!(attributes["Attributes"]["SubscriptionsConfirmed"], "1");
    let r = http
        .post(format!("{}/", endpoint.url()))
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", "SNS_20100331.Publish")
        .body(json!({"TopicArn": topic, "Message": "after the restart"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let got = sqs.receive_now(&q, 1).await;
    assert_eq!(body(&got[0]), "after the restart");
    for i in 0..5 {
        let r = http
            .get(format!(
                "{}/kept-bucket/dir/object-{i}.json",
                endpoint.url()
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["x-amz-meta-index"], i.to_string().as_str());
        assert_eq!(r.text().await.unwrap(), format!("{{\"i\":{i}}}"));
    }
    endpoint.shutdown().await.unwrap();
}
