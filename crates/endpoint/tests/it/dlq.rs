//! Dead-letter queues: RedrivePolicy, RedriveAllowPolicy, ListDeadLetterSourceQueues
//! and message move tasks back to the source.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Client, attr_u64, bodies, start};

async fn arn(sqs: &Client, queue_url: &str) -> String {
    sqs.attributes(queue_url).await["QueueArn"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn redrive(target_arn: &str, max: u32) -> String {
    json!({"deadLetterTargetArn": target_arn, "maxReceiveCount": max}).to_string()
}

/// A source queue whose messages go to a new DLQ after two receives.
async fn source_and_dlq(sqs: &Client, prefix: &str) -> (String, String, String, String) {
    let dlq = sqs.create_queue(&format!("{prefix}-dlq"), json!({})).await;
    let dlq_arn = arn(sqs, &dlq).await;
    let source = sqs
        .create_queue(
            &format!("{prefix}-source"),
            json!({"RedrivePolicy": redrive(&dlq_arn, 2)}),
        )
        .await;
    let source_arn = arn(sqs, &source).await;
    (source, source_arn, dlq, dlq_arn)
}

/// A receive that puts what it gets straight back (VisibilityTimeout 0).
async fn touch(sqs: &Client, queue_url: &str) -> Vec<Value> {
    sqs.receive(
        queue_url,
        json!({"VisibilityTimeout": 0, "MaxNumberOfMessages": 10}),
    )
    .await
}

#[tokio::test]
async fn the_third_receive_moves_a_message_to_the_dlq() {
    let (_endpoint, sqs) = start().await;
    let (source, source_arn, dlq, dlq_arn) = source_and_dlq(&sqs, "redrive").await;
    let policy: Value = serde_json::from_str(
        sqs.attributes(&source).await["RedrivePolicy"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(policy["deadLetterTargetArn"], dlq_arn.as_str());
    assert_eq!(policy["maxReceiveCount"], 2);

    let sent = sqs.send(&source, "poison").await;
    for n in 1..=2 {
        let got = touch(&sqs, &source).await;
        assert_eq!(bodies(&got), ["poison"], "receive {n}");
        assert_eq!(attr_u64(&got[0], "ApproximateReceiveCount"), n);
    }
    assert!(touch(&sqs, &source).await.is_empty(), "third receive");
    assert_eq!(sqs.count(&source, "ApproximateNumberOfMessages").await, 0);
    assert_eq!(sqs.count(&dlq, "ApproximateNumberOfMessages").await, 1);
    let dead = sqs.receive_now(&dlq, 10).await;
    assert_eq!(bodies(&dead), ["poison"]);
    assert_eq!(dead[0]["MessageId"], sent["MessageId"]);
    assert_eq!(
        dead[0]["Attributes"]["DeadLetterQueueSourceArn"],
        source_arn.as_str()
    );
}

#[tokio::test]
async fn a_dlq_lists_its_source_queues() {
    let (_endpoint, sqs) = start().await;
    let (source, _, dlq, dlq_arn) = source_and_dlq(&sqs, "sources").await;
    let second = sqs
        .create_queue(
            "sources-second",
            json!({"RedrivePolicy": redrive(&dlq_arn, 5)}),
        )
        .await;
    sqs.create_queue("sources-unrelated", json!({})).await;
    let answer = sqs
        .ok("ListDeadLetterSourceQueues", json!({"QueueUrl": dlq}))
        .await;
    let mut urls: Vec<String> = answer["queueUrls"]
        .as_array()
        .unwrap_or_else(|| panic!("no queue URLs in {answer}"))
        .iter()
        .map(|u| u.as_str().unwrap().to_owned())
        .collect();
    urls.sort();
    let mut want = vec![source.clone(), second];
    want.sort();
    assert_eq!(urls, want);
    // Paged.
    let page = sqs
        .ok(
            "ListDeadLetterSourceQueues",
            json!({"QueueUrl": dlq, "MaxResults": 1}),
        )
        .await;
    let token = page["NextToken"].as_str().expect("a next token").to_owned();
    let rest = sqs
        .ok(
            "ListDeadLetterSourceQueues",
            json!({"QueueUrl": dlq, "MaxResults": 1, "NextToken": token}),
        )
        .await;
    assert!(rest.get("NextToken").is_none_or(Value::is_null), "{rest}");
    let no_sources = sqs
        .ok("ListDeadLetterSourceQueues", json!({"QueueUrl": source}))
        .await;
    assert!(
        no_sources["queueUrls"]
            .as_array()
            .is_some_and(Vec::is_empty),
        "{no_sources}"
    );
}

#[tokio::test]
async fn a_redrive_allow_policy_can_refuse_sources() {
    let (_endpoint, sqs) = start().await;
    let closed = sqs
        .create_queue(
            "closed-dlq",
            json!({"RedriveAllowPolicy": json!({"redrivePermission": "denyAll"}).to_string()}),
        )
        .await;
    let closed_arn = arn(&sqs, &closed).await;
    let e = sqs
        .err(
            "CreateQueue",
            json!({"QueueName": "closed-source", "Attributes": {"RedrivePolicy": redrive(&closed_arn, 3)}}),
        )
        .await;
    assert_eq!(e.kind, "InvalidParameterValue");
    let plain = sqs.create_queue("closed-plain", json!({})).await;
    let e = sqs
        .err(
            "SetQueueAttributes",
            json!({"QueueUrl": plain, "Attributes": {"RedrivePolicy": redrive(&closed_arn, 3)}}),
        )
        .await;
    assert_eq!(e.kind, "InvalidParameterValue");
    assert!(sqs.attributes(&plain).await.get("RedrivePolicy").is_none());

    // byQueue lets the named sources in and no others.
    let allowed_arn = arn(&sqs, &plain).await;
    let picky = sqs
        .create_queue(
            "picky-dlq",
            json!({"RedriveAllowPolicy": json!({"redrivePermission": "byQueue",
                   "sourceQueueArns": [allowed_arn]}).to_string()}),
        )
        .await;
    let picky_arn = arn(&sqs, &picky).await;
    sqs.ok(
        "SetQueueAttributes",
        json!({"QueueUrl": plain, "Attributes": {"RedrivePolicy": redrive(&picky_arn, 3)}}),
    )
    .await;
    let e = sqs
        .err(
            "CreateQueue",
            json!({"QueueName": "picky-other", "Attributes": {"RedrivePolicy": redrive(&picky_arn, 3)}}),
        )
        .await;
    assert_eq!(e.kind, "InvalidParameterValue");

    // A target that does not exist, or of the other type, is refused too.
    let e = sqs
        .err(
            "CreateQueue",
            json!({"QueueName": "nowhere-source", "Attributes": {"RedrivePolicy":
                   redrive("arn:aws:sqs:us-east-1:000000000000:nowhere", 3)}}),
        )
        .await;
    assert_eq!(e.kind, "InvalidParameterValue");
    let e = sqs
        .err(
            "CreateQueue",
            json!({"QueueName": "typed-source.fifo", "Attributes": {"FifoQueue": "true",
                   "RedrivePolicy": redrive(&allowed_arn, 3)}}),
        )
        .await;
    assert_eq!(e.kind, "InvalidParameterValue");
}

async fn wait_for_task(sqs: &Client, dlq_arn: &str) -> Value {
    let started = Instant::now();
    loop {
        let answer = sqs
            .ok("ListMessageMoveTasks", json!({"SourceArn": dlq_arn}))
            .await;
        let task = answer["Results"][0].clone();
        if task["Status"] != "RUNNING" {
            return task;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the task is still running: {task}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_move_task_takes_dead_letters_back_to_their_source() {
    let (_endpoint, sqs) = start().await;
    let (source, source_arn, dlq, dlq_arn) = source_and_dlq(&sqs, "move").await;
    for i in 0..3 {
        sqs.send(&source, &format!("m{i}")).await;
    }
    for _ in 0..2 {
        assert_eq!(touch(&sqs, &source).await.len(), 3);
    }
    assert!(touch(&sqs, &source).await.is_empty());
    assert_eq!(sqs.count(&dlq, "ApproximateNumberOfMessages").await, 3);

    // Only a DLQ can be a move task's source.
    let e = sqs
        .err("StartMessageMoveTask", json!({"SourceArn": source_arn}))
        .await;
    assert_eq!(e.kind, "InvalidParameterValue");

    let started = sqs
        .ok("StartMessageMoveTask", json!({"SourceArn": dlq_arn}))
        .await;
    assert!(
        started["TaskHandle"]
            .as_str()
            .is_some_and(|h| !h.is_empty())
    );
    let task = wait_for_task(&sqs, &dlq_arn).await;
    assert_eq!(task["Status"], "COMPLETED", "{task}");
    assert_eq!(task["ApproximateNumberOfMessagesMoved"], 3, "{task}");
    assert_eq!(task["SourceArn"], dlq_arn.as_str());

    assert_eq!(sqs.count(&dlq, "ApproximateNumberOfMessages").await, 0);
    let back = sqs.receive_now(&source, 10).await;
    let mut got = bodies(&back);
    got.sort();
    assert_eq!(got, ["m0", "m1", "m2"]);
    // Back in the source, the messages start counting again.
    assert!(
        back.iter()
            .all(|m| attr_u64(m, "ApproximateReceiveCount") == 1)
    );
}

#[tokio::test]
async fn a_move_task_may_name_its_destination() {
    let (_endpoint, sqs) = start().await;
    let (source, _, dlq, dlq_arn) = source_and_dlq(&sqs, "dest").await;
    let elsewhere = sqs.create_queue("dest-elsewhere", json!({})).await;
    let elsewhere_arn = arn(&sqs, &elsewhere).await;
    sqs.send(&source, "x").await;
    for _ in 0..3 {
        touch(&sqs, &source).await;
    }
    assert_eq!(sqs.count(&dlq, "ApproximateNumberOfMessages").await, 1);
    sqs.ok(
        "StartMessageMoveTask",
        json!({"SourceArn": dlq_arn, "DestinationArn": elsewhere_arn}),
    )
    .await;
    let task = wait_for_task(&sqs, &dlq_arn).await;
    assert_eq!(task["Status"], "COMPLETED", "{task}");
    assert_eq!(task["DestinationArn"], elsewhere_arn.as_str());
    assert_eq!(bodies(&sqs.receive_now(&elsewhere, 10).await), ["x"]);
    assert!(sqs.receive_now(&source, 10).await.is_empty());
}

#[tokio::test]
async fn a_move_task_sends_each_dead_letter_back_to_its_own_source() {
    let (_endpoint, sqs) = start().await;
    let (first, _, dlq, dlq_arn) = source_and_dlq(&sqs, "two").await;
    let second = sqs
        .create_queue("two-second", json!({"RedrivePolicy": redrive(&dlq_arn, 2)}))
        .await;
    sqs.send(&first, "from first").await;
    sqs.send(&second, "from second").await;
    for q in [&first, &second] {
        for _ in 0..3 {
            touch(&sqs, q).await;
        }
    }
    assert_eq!(sqs.count(&dlq, "ApproximateNumberOfMessages").await, 2);
    sqs.ok("StartMessageMoveTask", json!({"SourceArn": dlq_arn}))
        .await;
    let task = wait_for_task(&sqs, &dlq_arn).await;
    assert_eq!(task["Status"], "COMPLETED", "{task}");
    assert_eq!(bodies(&sqs.receive_now(&first, 10).await), ["from first"]);
    assert_eq!(bodies(&sqs.receive_now(&second, 10).await), ["from second"]);
}

#[tokio::test]
async fn a_move_task_to_a_deleted_source_fails_and_keeps_the_messages() {
    let (_endpoint, sqs) = start().await;
    let (source, _, dlq, dlq_arn) = source_and_dlq(&sqs, "orphan").await;
    // A second source keeps the DLQ a DLQ once the first is gone.
    sqs.create_queue(
        "orphan-other",
        json!({"RedrivePolicy": redrive(&dlq_arn, 2)}),
    )
    .await;
    sqs.send(&source, "orphaned").await;
    for _ in 0..3 {
        touch(&sqs, &source).await;
    }
    sqs.ok("DeleteQueue", json!({"QueueUrl": source})).await;
    sqs.ok("StartMessageMoveTask", json!({"SourceArn": dlq_arn}))
        .await;
    let task = wait_for_task(&sqs, &dlq_arn).await;
    assert_eq!(task["Status"], "FAILED", "{task}");
    assert!(task["FailureReason"].as_str().is_some(), "{task}");
    assert_eq!(bodies(&sqs.receive_now(&dlq, 10).await), ["orphaned"]);
    let e = sqs
        .err(
            "CancelMessageMoveTask",
            json!({"TaskHandle": "no-such-task"}),
        )
        .await;
    assert_eq!(e.kind, "ResourceNotFoundException");
}
