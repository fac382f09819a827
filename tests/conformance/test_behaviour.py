"""More of SQS's documented behaviour: sizes in bytes, encryption flags, receive attempt
ids, recreating deleted queues, concurrency, and pollers that go away."""

import json
import threading
import time

import pytest
import requests
from botocore.exceptions import ClientError

from conftest import (
    SQS_XMLNS,
    assert_invalid_parameter,
    assert_sqs_error,
    attrs,
    make_client,
    queue_arn,
    receive_all,
    sign,
    unique_name,
)


@pytest.mark.aws_only
def test_message_size_is_counted_in_bytes(sqs, make_queue):
    url = make_queue(MaximumMessageSize=1024)
    sqs.send_message(QueueUrl=url, MessageBody="\u00e9" * 512)  # 1024 bytes
    with pytest.raises(ClientError) as exc:
        sqs.send_message(QueueUrl=url, MessageBody="\u00e9" * 513)  # 1026 bytes, 513 characters
    assert_invalid_parameter(exc)


def test_sqs_managed_sse_round_trip(sqs, make_queue):
    url = make_queue(SqsManagedSseEnabled="false")
    assert attrs(sqs, url, "SqsManagedSseEnabled")["SqsManagedSseEnabled"] == "false"
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"SqsManagedSseEnabled": "true"})
    assert attrs(sqs, url, "SqsManagedSseEnabled")["SqsManagedSseEnabled"] == "true"


@pytest.mark.aws_only
def test_fifo_receive_request_attempt_id_replays(sqs, fifo_queue):
    for i in range(3):
        sqs.send_message(QueueUrl=fifo_queue, MessageBody=f"r{i}", MessageGroupId="g", MessageDeduplicationId=f"r{i}")
    first = sqs.receive_message(
        QueueUrl=fifo_queue, MaxNumberOfMessages=2, ReceiveRequestAttemptId="attempt-1", VisibilityTimeout=30, WaitTimeSeconds=1
    )["Messages"]
    # A retried call with the same attempt id (e.g. after a network error) gets the same
    # messages and receipt handles back.
    again = sqs.receive_message(
        QueueUrl=fifo_queue, MaxNumberOfMessages=2, ReceiveRequestAttemptId="attempt-1", VisibilityTimeout=30, WaitTimeSeconds=1
    )["Messages"]
    assert [m["MessageId"] for m in again] == [m["MessageId"] for m in first]
    assert [m["ReceiptHandle"] for m in again] == [m["ReceiptHandle"] for m in first]


@pytest.mark.aws_only
def test_recreate_right_after_delete_is_queue_deleted_recently(sqs, make_queue):
    name = unique_name()
    url = make_queue(name)
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(ClientError) as exc:
        sqs.create_queue(QueueName=name)
    assert_sqs_error(exc, "QueueDeletedRecently")


def test_change_visibility_batch_entry_out_of_range(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="x")
    m = receive_all(sqs, queue, 1)[0]
    resp = sqs.change_message_visibility_batch(
        QueueUrl=queue, Entries=[{"Id": "big", "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 43201}]
    )
    assert resp.get("Successful", []) == []
    assert [(f["Id"], f["SenderFault"], f["Code"]) for f in resp["Failed"]] == [("big", True, "InvalidParameterValue")]


@pytest.mark.once
def test_concurrent_producers_and_consumers(sqs, make_queue, endpoint):
    url = make_queue(VisibilityTimeout=30)
    producers, per_producer = 4, 25
    total = producers * per_producer
    seen = []
    lock = threading.Lock()
    stop = threading.Event()
    errors = []

    def produce(p):
        try:
            c = make_client(endpoint)
            for i in range(per_producer):
                c.send_message(QueueUrl=url, MessageBody=f"p{p}-{i}")
        except Exception as err:  # noqa: BLE001
            errors.append(err)

    def consume():
        try:
            c = make_client(endpoint)
            while not stop.is_set():
                msgs = c.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
                for m in msgs:
                    with lock:
                        seen.append(m["Body"])
                if msgs:
                    c.delete_message_batch(
                        QueueUrl=url,
                        Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)],
                    )
        except Exception as err:  # noqa: BLE001
            errors.append(err)

    consumers = [threading.Thread(target=consume) for _ in range(4)]
    for t in consumers:
        t.start()
    threads = [threading.Thread(target=produce, args=(p,)) for p in range(producers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with lock:
            if len(seen) >= total:
                break
        time.sleep(0.05)
    stop.set()
    for t in consumers:
        t.join()
    assert not errors, errors
    assert len(seen) == total, f"{len(seen)} deliveries for {total} messages"
    assert sorted(seen) == sorted(f"p{p}-{i}" for p in range(producers) for i in range(per_producer))
    a = attrs(sqs, url, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
    assert a == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}


@pytest.mark.once
@pytest.mark.aws_only
def test_abandoned_long_poll_does_not_swallow_a_message(sqs, make_queue, endpoint):
    url = make_queue(VisibilityTimeout=30)
    body = json.dumps({"QueueUrl": url, "WaitTimeSeconds": 5})
    headers = sign(
        "POST",
        endpoint + "/",
        {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.ReceiveMessage"},
        body,
    )
    # A poller that gives up (client timeout) long before its WaitTimeSeconds ends.
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(endpoint + "/", data=body, headers=headers, timeout=0.5)
    time.sleep(0.3)
    sqs.send_message(QueueUrl=url, MessageBody="for a live consumer")
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2).get("Messages", [])
    assert [m["Body"] for m in got] == ["for a live consumer"], "the message went to a poller that had gone away"


@pytest.mark.once
def test_query_list_dead_letter_source_queues_shape(sqs, make_queue, query):
    dlq = make_queue()
    src = make_queue(RedrivePolicy=json.dumps({"deadLetterTargetArn": queue_arn(sqs, dlq), "maxReceiveCount": 2}))
    r = query("ListDeadLetterSourceQueues", {"QueueUrl": dlq})
    assert r.status == 200, r
    assert r.root.tag == f"{{{SQS_XMLNS}}}ListDeadLetterSourceQueuesResponse"
    assert [e.text for e in r.findall("ListDeadLetterSourceQueuesResult/QueueUrl")] == [src]


@pytest.mark.once
def test_query_more_error_codes(query, make_queue, sqs):
    name = unique_name()
    url = make_queue(name, VisibilityTimeout=5)
    r = query("CreateQueue", {"QueueName": name, "Attribute.1.Name": "VisibilityTimeout", "Attribute.1.Value": "6"})
    assert (r.status, r.error_code) == (400, "QueueAlreadyExists"), r
    params = {"QueueUrl": url}
    for i in range(1, 12):
        params[f"SendMessageBatchRequestEntry.{i}.Id"] = f"e{i}"
        params[f"SendMessageBatchRequestEntry.{i}.MessageBody"] = "x"
    r = query("SendMessageBatch", params)
    assert (r.status, r.error_code) == (400, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"), r
    r = query("SendMessageBatch", {"QueueUrl": url})
    assert (r.status, r.error_code) == (400, "AWS.SimpleQueueService.EmptyBatchRequest"), r


@pytest.mark.once
def test_long_poll_returns_at_once_when_messages_are_there(sqs, make_queue):
    url = make_queue(VisibilityTimeout=30)
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"ready {i}")
    start = time.monotonic()
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=5).get("Messages", [])
    elapsed = time.monotonic() - start
    # It does not wait to fill the batch: whatever is there comes back at once.
    assert 1 <= len(got) <= 3
    assert elapsed < 1.0, elapsed


@pytest.mark.once
@pytest.mark.aws_only
def test_long_poll_wakes_when_fifo_group_unlocks(sqs, make_queue):
    url = make_queue(fifo=True, VisibilityTimeout=30)
    for i in range(2):
        sqs.send_message(QueueUrl=url, MessageBody=f"A{i}", MessageGroupId="A", MessageDeduplicationId=f"a{i}")
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=1)["Messages"][0]
    other = make_client(sqs.meta.endpoint_url)

    def delete_later():
        time.sleep(0.5)
        other.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])

    t = threading.Thread(target=delete_later)
    start = time.monotonic()
    t.start()
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=5).get("Messages", [])
    elapsed = time.monotonic() - start
    t.join()
    assert [m["Body"] for m in got] == ["A1"]
    assert elapsed < 2.5, elapsed


@pytest.mark.once
def test_long_poll_wakes_on_change_visibility_to_zero(sqs, make_queue):
    url = make_queue(VisibilityTimeout=30)
    sqs.send_message(QueueUrl=url, MessageBody="give back")
    m = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"][0]
    other = make_client(sqs.meta.endpoint_url)

    def release_later():
        time.sleep(0.5)
        other.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)

    t = threading.Thread(target=release_later)
    start = time.monotonic()
    t.start()
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5).get("Messages", [])
    elapsed = time.monotonic() - start
    t.join()
    assert [x["Body"] for x in got] == ["give back"]
    assert elapsed < 2.5, elapsed


@pytest.mark.once
@pytest.mark.aws_only
def test_query_trace_header_and_system_attribute_md5(query, make_queue):
    from conftest import md5_of_attributes

    url = make_queue()
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    s = query(
        "SendMessage",
        {
            "QueueUrl": url,
            "MessageBody": "traced",
            "MessageSystemAttribute.1.Name": "AWSTraceHeader",
            "MessageSystemAttribute.1.Value.DataType": "String",
            "MessageSystemAttribute.1.Value.StringValue": trace,
        },
    )
    assert s.status == 200, s
    assert s.text_of("SendMessageResult/MD5OfMessageSystemAttributes") == md5_of_attributes(
        {"AWSTraceHeader": {"DataType": "String", "StringValue": trace}}
    )
    r = query("ReceiveMessage", {"QueueUrl": url, "AttributeName.1": "AWSTraceHeader", "WaitTimeSeconds": "1"})
    q = lambda tag: f"{{{SQS_XMLNS}}}{tag}"  # noqa: E731
    m = r.find("ReceiveMessageResult/Message")
    got = {a.findtext(q("Name")): a.findtext(q("Value")) for a in m.findall(q("Attribute"))}
    assert got == {"AWSTraceHeader": trace}


@pytest.mark.aws_only
def test_stale_receipt_handle_does_not_delete(sqs, make_queue):
    # DeleteMessage needs the most recent receipt handle; with an older one "the request
    # succeeds, but the message will not be deleted" (DeleteMessage, API reference).
    url = make_queue(VisibilityTimeout=30)
    sqs.send_message(QueueUrl=url, MessageBody="twice")
    old = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"][0]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=old["ReceiptHandle"], VisibilityTimeout=0)
    new = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"][0]
    assert new["MessageId"] == old["MessageId"] and new["ReceiptHandle"] != old["ReceiptHandle"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=old["ReceiptHandle"])
    assert attrs(sqs, url, "ApproximateNumberOfMessagesNotVisible")["ApproximateNumberOfMessagesNotVisible"] == "1"
    sqs.delete_message(QueueUrl=url, ReceiptHandle=new["ReceiptHandle"])
    assert attrs(sqs, url, "ApproximateNumberOfMessagesNotVisible")["ApproximateNumberOfMessagesNotVisible"] == "0"


@pytest.mark.once
def test_query_list_queues_pagination(query, make_queue):
    prefix = unique_name("qpg")
    urls = {make_queue(f"{prefix}-{i}") for i in range(3)}
    seen, token, pages = [], None, 0
    while True:
        params = {"QueueNamePrefix": prefix, "MaxResults": "2"}
        if token:
            params["NextToken"] = token
        r = query("ListQueues", params)
        assert r.status == 200, r
        seen += [e.text for e in r.findall("ListQueuesResult/QueueUrl")]
        token = r.text_of("ListQueuesResult/NextToken")
        pages += 1
        if not token or pages > 5:
            break
    assert pages == 2
    assert sorted(seen) == sorted(urls)


@pytest.mark.aws_only
def test_queue_url_of_another_account_is_not_this_queue(sqs, make_queue):
    name = unique_name()
    url = make_queue(name)
    account = url.rstrip("/").split("/")[-2]
    other = "999999999999" if account != "999999999999" else "111111111111"
    foreign = url.replace(f"/{account}/", f"/{other}/")
    with pytest.raises(ClientError) as exc:
        sqs.send_message(QueueUrl=foreign, MessageBody="x")
    assert_sqs_error(exc, "QueueDoesNotExist")
    with pytest.raises(ClientError) as exc:
        sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=other)
    assert_sqs_error(exc, "QueueDoesNotExist")


@pytest.mark.once
def test_a_thousand_messages_through_batches(sqs, make_queue, endpoint, target):
    url = make_queue(VisibilityTimeout=60)
    total = 1000 if not target.is_moto else 200  # moto is slow; keep its run short
    start = time.monotonic()
    for base in range(0, total, 10):
        resp = sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"bulk {base + i}"} for i in range(10)]
        )
        assert len(resp["Successful"]) == 10, resp.get("Failed")
    assert attrs(sqs, url, "ApproximateNumberOfMessages")["ApproximateNumberOfMessages"] == str(total)
    seen = []
    lock = threading.Lock()

    def consume():
        c = make_client(endpoint)
        while True:
            msgs = c.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
            if not msgs:
                return
            with lock:
                seen.extend(m["Body"] for m in msgs)
            c.delete_message_batch(
                QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)]
            )

    threads = [threading.Thread(target=consume) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    assert set(seen) == {f"bulk {i}" for i in range(total)}
    if elapsed < 60:  # no visibility timeout ran out: each message exactly once
        assert len(seen) == total, f"{len(seen) - total} duplicate deliveries"
    assert attrs(sqs, url, "ApproximateNumberOfMessages")["ApproximateNumberOfMessages"] == "0"
    assert elapsed < 30, f"1000 messages took {elapsed:.1f} s"
