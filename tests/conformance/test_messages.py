"""Messages on standard queues over the JSON protocol: send, receive, delete, MD5s,
attributes, visibility, delays, long polling, batches, purge."""

import base64
import threading
import time

import pytest
from botocore.exceptions import ClientError

from conftest import (
    assert_invalid_parameter,
    assert_sqs_error,
    attrs,
    md5_of_attributes,
    md5_of_body,
    receive_all,
)

TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


def test_send_receive_delete(sqs, queue):
    body = '{"activityId": "a1", "mediaId": 42}'
    sent = sqs.send_message(QueueUrl=queue, MessageBody=body)
    assert sent["MD5OfMessageBody"] == md5_of_body(body)
    assert sent["MessageId"]
    assert "MD5OfMessageAttributes" not in sent
    resp = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)
    msgs = resp["Messages"]
    assert len(msgs) == 1
    m = msgs[0]
    assert m["Body"] == body
    assert m["MessageId"] == sent["MessageId"]
    assert m["MD5OfBody"] == md5_of_body(body)
    assert m["ReceiptHandle"]
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
    a = attrs(sqs, queue, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
    assert a == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}
    assert "Messages" not in sqs.receive_message(QueueUrl=queue) or not sqs.receive_message(QueueUrl=queue)["Messages"]


def test_empty_receive_has_no_messages_key(sqs, queue):
    resp = sqs.receive_message(QueueUrl=queue)
    assert resp.get("Messages", []) == []


def test_unicode_body_round_trip(sqs, queue):
    body = "Nextflix \u00e9\u00e8 \u4e2d\u6587 \U0001F3AC tab\there\nnewline\r\n<xml>&amp;</xml> \"quotes\""
    sent = sqs.send_message(QueueUrl=queue, MessageBody=body)
    assert sent["MD5OfMessageBody"] == md5_of_body(body)
    m = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"][0]
    assert m["Body"] == body
    assert m["MD5OfBody"] == md5_of_body(body)


def test_delete_twice_is_fine(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="x")
    m = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"][0]
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])


def test_queue_name_accepted_as_queue_url(sqs, make_queue):
    # AWS accepts a bare queue name where a QueueUrl is expected; the tutorial's
    # consumer relies on it (queue_name passed as QueueUrl).
    url = make_queue()
    name = url.rsplit("/", 1)[1]
    sqs.send_message(QueueUrl=name, MessageBody="by-name")
    m = sqs.receive_message(QueueUrl=name, WaitTimeSeconds=1)["Messages"][0]
    assert m["Body"] == "by-name"
    sqs.delete_message(QueueUrl=name, ReceiptHandle=m["ReceiptHandle"])
    assert attrs(sqs, url, "ApproximateNumberOfMessages")["ApproximateNumberOfMessages"] == "0"


# ------------------------------------------------------------------ attributes and MD5s

MESSAGE_ATTRIBUTES = {
    "event": {"DataType": "String", "StringValue": "MovieDetailsViewedEvent"},
    "mediaId": {"DataType": "Number", "StringValue": "550"},
    "score": {"DataType": "Number.float", "StringValue": "7.25"},
    "thumb": {"DataType": "Binary", "BinaryValue": b"\x00\x01\x02\xff binary"},
    "session.id": {"DataType": "String.uuid", "StringValue": "3f2504e0-4f89-11d3-9a0c-0305e82c3301"},
    "raw": {"DataType": "Binary.gzip", "BinaryValue": b"\x1f\x8b\x08"},
    "unicode": {"DataType": "String", "StringValue": "h\u00e9llo \U0001F3AC"},
}


def _normalize(attributes):
    out = {}
    for name, value in attributes.items():
        v = {"DataType": value["DataType"]}
        if "StringValue" in value:
            v["StringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            v["BinaryValue"] = bytes(value["BinaryValue"])
        out[name] = v
    return out


def test_message_attributes_round_trip_with_md5(sqs, queue):
    body = "with attributes"
    sent = sqs.send_message(QueueUrl=queue, MessageBody=body, MessageAttributes=MESSAGE_ATTRIBUTES)
    assert sent["MD5OfMessageBody"] == md5_of_body(body)
    assert sent["MD5OfMessageAttributes"] == md5_of_attributes(MESSAGE_ATTRIBUTES)
    m = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"], WaitTimeSeconds=1)["Messages"][0]
    assert _normalize(m["MessageAttributes"]) == _normalize(MESSAGE_ATTRIBUTES)
    assert m["MD5OfMessageAttributes"] == md5_of_attributes(MESSAGE_ATTRIBUTES)
    assert m["MD5OfBody"] == md5_of_body(body)


def test_message_attributes_not_returned_unless_asked(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="x", MessageAttributes=MESSAGE_ATTRIBUTES)
    m = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"][0]
    assert "MessageAttributes" not in m


def test_message_attribute_name_filter_and_prefix(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="x", MessageAttributes=MESSAGE_ATTRIBUTES)
    m = sqs.receive_message(
        QueueUrl=queue, MessageAttributeNames=["event", "session.*"], WaitTimeSeconds=1
    )["Messages"][0]
    assert set(m["MessageAttributes"]) == {"event", "session.id"}
    returned = {k: MESSAGE_ATTRIBUTES[k] for k in ("event", "session.id")}
    assert m["MD5OfMessageAttributes"] == md5_of_attributes(returned)


def test_message_attributes_all_via_dot_star(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="x", MessageAttributes=MESSAGE_ATTRIBUTES)
    m = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=[".*"], WaitTimeSeconds=1)["Messages"][0]
    assert set(m["MessageAttributes"]) == set(MESSAGE_ATTRIBUTES)


def test_system_attributes_on_receive(sqs, queue):
    before_ms = int(time.time() * 1000)
    sqs.send_message(QueueUrl=queue, MessageBody="sys")
    m = sqs.receive_message(
        QueueUrl=queue, MessageSystemAttributeNames=["All"], VisibilityTimeout=1, WaitTimeSeconds=1
    )["Messages"][0]
    a = m["Attributes"]
    assert a["ApproximateReceiveCount"] == "1"
    sent_ts = int(a["SentTimestamp"])
    first_ts = int(a["ApproximateFirstReceiveTimestamp"])
    assert before_ms - 5000 <= sent_ts <= before_ms + 5000
    assert sent_ts <= first_ts <= int(time.time() * 1000) + 1000
    assert a["SenderId"]
    assert "MessageGroupId" not in a and "SequenceNumber" not in a
    sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
    m2 = sqs.receive_message(
        QueueUrl=queue, AttributeNames=["ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp"], WaitTimeSeconds=1
    )["Messages"][0]
    assert m2["Attributes"]["ApproximateReceiveCount"] == "2"
    assert int(m2["Attributes"]["ApproximateFirstReceiveTimestamp"]) == first_ts
    assert set(m2["Attributes"]) == {"ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp"}


def test_legacy_attribute_names_parameter(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="sys")
    m = sqs.receive_message(QueueUrl=queue, AttributeNames=["All"], WaitTimeSeconds=1)["Messages"][0]
    assert {"SentTimestamp", "ApproximateReceiveCount", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(
        m["Attributes"]
    )


@pytest.mark.aws_only
def test_aws_trace_header(sqs, queue):
    system = {"AWSTraceHeader": {"DataType": "String", "StringValue": TRACE}}
    sent = sqs.send_message(QueueUrl=queue, MessageBody="traced", MessageSystemAttributes=system)
    assert sent["MD5OfMessageSystemAttributes"] == md5_of_attributes(system)
    m = sqs.receive_message(
        QueueUrl=queue, MessageSystemAttributeNames=["AWSTraceHeader"], WaitTimeSeconds=1
    )["Messages"][0]
    assert m["Attributes"] == {"AWSTraceHeader": TRACE}


@pytest.mark.aws_only
def test_message_attribute_errors(sqs, queue):
    bad_cases = [
        {"a": {"DataType": "String", "StringValue": ""}},
        {"a": {"DataType": "Number", "StringValue": "not-a-number"}},
        {"a": {"DataType": "Nope", "StringValue": "x"}},
        {"AWS.reserved": {"DataType": "String", "StringValue": "x"}},
        {"bad name!": {"DataType": "String", "StringValue": "x"}},
        {f"a{i}": {"DataType": "String", "StringValue": "x"} for i in range(11)},
    ]
    for case in bad_cases:
        with pytest.raises(ClientError) as exc:
            sqs.send_message(QueueUrl=queue, MessageBody="x", MessageAttributes=case)
        assert_invalid_parameter(exc, ("InvalidParameterValue", "InvalidParameterCombination"))
    assert attrs(sqs, queue, "ApproximateNumberOfMessages")["ApproximateNumberOfMessages"] == "0"


# ------------------------------------------------------------------ body validation


@pytest.mark.aws_only
def test_invalid_characters_in_body(sqs, queue):
    for body in ["bad \x00 nul", "bad \x01 ctl", "bad \x1f unit sep", "bad \ufffe"]:
        with pytest.raises(ClientError) as exc:
            sqs.send_message(QueueUrl=queue, MessageBody=body)
        assert_sqs_error(exc, "InvalidMessageContents")


def test_message_too_large(sqs, make_queue):
    url = make_queue(MaximumMessageSize=1024)
    sqs.send_message(QueueUrl=url, MessageBody="x" * 1024)
    with pytest.raises(ClientError) as exc:
        sqs.send_message(QueueUrl=url, MessageBody="x" * 1025)
    assert_invalid_parameter(exc)


@pytest.mark.aws_only
def test_message_size_counts_attributes(sqs, make_queue):
    url = make_queue(MaximumMessageSize=1024)
    with pytest.raises(ClientError) as exc:
        sqs.send_message(
            QueueUrl=url,
            MessageBody="x" * 1000,
            MessageAttributes={"pad": {"DataType": "String", "StringValue": "y" * 100}},
        )
    assert_invalid_parameter(exc)


def test_large_message_within_default_limit(sqs, queue):
    body = "L" * 262144
    sent = sqs.send_message(QueueUrl=queue, MessageBody=body)
    assert sent["MD5OfMessageBody"] == md5_of_body(body)
    m = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"][0]
    assert m["Body"] == body


@pytest.mark.once
@pytest.mark.aws_only
def test_empty_body_is_rejected(sqs_novalidate, queue):
    with pytest.raises(ClientError) as exc:
        sqs_novalidate.send_message(QueueUrl=queue, MessageBody="")
    assert_invalid_parameter(exc, ("MissingParameter", "InvalidParameterValue"))


def test_send_delay_out_of_range(sqs, queue):
    with pytest.raises(ClientError) as exc:
        sqs.send_message(QueueUrl=queue, MessageBody="x", DelaySeconds=901)
    assert_invalid_parameter(exc)


# ------------------------------------------------------------------ receive parameters


@pytest.mark.once
@pytest.mark.parametrize("count", [0, 11, -1])
def test_max_number_of_messages_out_of_range(sqs_novalidate, queue, count):
    with pytest.raises(ClientError) as exc:
        sqs_novalidate.receive_message(QueueUrl=queue, MaxNumberOfMessages=count)
    assert_invalid_parameter(exc)


def test_receive_visibility_timeout_out_of_range(sqs, queue):
    with pytest.raises(ClientError) as exc:
        sqs.receive_message(QueueUrl=queue, VisibilityTimeout=43201)
    assert_invalid_parameter(exc)


def test_wait_time_out_of_range(sqs, queue):
    with pytest.raises(ClientError) as exc:
        sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=21)
    assert_invalid_parameter(exc)


def test_receive_up_to_ten(sqs, queue):
    for i in range(15):
        sqs.send_message(QueueUrl=queue, MessageBody=f"m{i}")
    resp = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=30, WaitTimeSeconds=1)
    assert 1 <= len(resp["Messages"]) <= 10
    rest = receive_all(sqs, queue, 15 - len(resp["Messages"]), MessageAttributeNames=["All"])
    bodies = [m["Body"] for m in resp["Messages"] + rest]
    assert sorted(bodies) == sorted(f"m{i}" for i in range(15))
    assert len({m["ReceiptHandle"] for m in resp["Messages"] + rest}) == 15


# ------------------------------------------------------------------ visibility


@pytest.mark.once
def test_message_comes_back_after_visibility_timeout(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="retry me")
    first = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=1, WaitTimeSeconds=1)["Messages"][0]
    assert sqs.receive_message(QueueUrl=queue).get("Messages", []) == []
    a = attrs(sqs, queue, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
    assert a == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "1"}
    time.sleep(1.2)
    again = sqs.receive_message(QueueUrl=queue, AttributeNames=["ApproximateReceiveCount"], WaitTimeSeconds=2)[
        "Messages"
    ][0]
    assert again["MessageId"] == first["MessageId"]
    assert again["ReceiptHandle"] != first["ReceiptHandle"]
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=again["ReceiptHandle"])


@pytest.mark.once
def test_queue_visibility_timeout_applies(sqs, make_queue):
    url = make_queue(VisibilityTimeout=1)
    sqs.send_message(QueueUrl=url, MessageBody="q")
    sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"][0]
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []
    time.sleep(1.2)
    assert len(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2)["Messages"]) == 1


def test_visibility_timeout_zero_on_receive(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="v0")
    sqs.receive_message(QueueUrl=queue, VisibilityTimeout=0, WaitTimeSeconds=1)["Messages"][0]
    m = sqs.receive_message(QueueUrl=queue, AttributeNames=["ApproximateReceiveCount"], WaitTimeSeconds=1)["Messages"][0]
    assert m["Attributes"]["ApproximateReceiveCount"] == "2"


def test_change_visibility_to_zero(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="cv")
    m = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=30, WaitTimeSeconds=1)["Messages"][0]
    sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
    again = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"][0]
    assert again["MessageId"] == m["MessageId"]


@pytest.mark.once
def test_change_visibility_extends(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="ext")
    m = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=1, WaitTimeSeconds=1)["Messages"][0]
    sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=30)
    time.sleep(1.3)
    assert sqs.receive_message(QueueUrl=queue).get("Messages", []) == []


@pytest.mark.aws_only
def test_change_visibility_errors(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="err")
    m = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"][0]
    with pytest.raises(ClientError) as exc:
        sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=43201)
    assert_invalid_parameter(exc)
    with pytest.raises(ClientError) as exc:
        sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle="not-a-handle", VisibilityTimeout=5)
    assert_sqs_error(exc, "ReceiptHandleIsInvalid")


@pytest.mark.aws_only
def test_delete_with_bad_receipt_handle(sqs, queue):
    with pytest.raises(ClientError) as exc:
        sqs.delete_message(QueueUrl=queue, ReceiptHandle="garbage-handle")
    assert_sqs_error(exc, "ReceiptHandleIsInvalid")


@pytest.mark.aws_only
def test_delete_with_handle_from_other_queue(sqs, make_queue):
    a = make_queue()
    b = make_queue()
    sqs.send_message(QueueUrl=a, MessageBody="x")
    m = sqs.receive_message(QueueUrl=a, WaitTimeSeconds=1)["Messages"][0]
    with pytest.raises(ClientError) as exc:
        sqs.delete_message(QueueUrl=b, ReceiptHandle=m["ReceiptHandle"])
    assert_sqs_error(exc, "ReceiptHandleIsInvalid")


# ------------------------------------------------------------------ delays


@pytest.mark.once
def test_per_message_delay(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="later", DelaySeconds=1)
    assert attrs(sqs, queue, "ApproximateNumberOfMessagesDelayed")["ApproximateNumberOfMessagesDelayed"] == "1"
    assert sqs.receive_message(QueueUrl=queue).get("Messages", []) == []
    time.sleep(1.1)
    m = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=2)["Messages"][0]
    assert m["Body"] == "later"


@pytest.mark.once
def test_queue_delay(sqs, make_queue):
    url = make_queue(DelaySeconds=1)
    sqs.send_message(QueueUrl=url, MessageBody="queue-delayed")
    assert attrs(sqs, url, "ApproximateNumberOfMessagesDelayed")["ApproximateNumberOfMessagesDelayed"] == "1"
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []
    start = time.monotonic()
    m = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=3)["Messages"][0]
    assert m["Body"] == "queue-delayed"
    assert time.monotonic() - start < 2.5


def test_message_delay_overrides_queue_delay(sqs, make_queue):
    url = make_queue(DelaySeconds=60)
    sqs.send_message(QueueUrl=url, MessageBody="now", DelaySeconds=0)
    m = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"][0]
    assert m["Body"] == "now"


# ------------------------------------------------------------------ long polling


@pytest.mark.once
def test_long_poll_returns_soon_after_send(sqs, queue, endpoint):
    from conftest import make_client

    sender = make_client(endpoint)

    def send_later():
        time.sleep(0.5)
        sender.send_message(QueueUrl=queue, MessageBody="wake up")

    t = threading.Thread(target=send_later)
    start = time.monotonic()
    t.start()
    resp = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=10)
    elapsed = time.monotonic() - start
    t.join()
    assert [m["Body"] for m in resp.get("Messages", [])] == ["wake up"]
    assert 0.4 <= elapsed < 3.0, elapsed


@pytest.mark.once
def test_empty_long_poll_waits(sqs, queue):
    start = time.monotonic()
    resp = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)
    elapsed = time.monotonic() - start
    assert resp.get("Messages", []) == []
    assert 0.9 <= elapsed < 2.5, elapsed


@pytest.mark.once
def test_queue_receive_wait_time_is_default(sqs, make_queue):
    url = make_queue(ReceiveMessageWaitTimeSeconds=1)
    start = time.monotonic()
    resp = sqs.receive_message(QueueUrl=url)
    elapsed = time.monotonic() - start
    assert resp.get("Messages", []) == []
    assert 0.9 <= elapsed < 2.5, elapsed


@pytest.mark.once
def test_short_poll_overrides_queue_wait(sqs, make_queue):
    url = make_queue(ReceiveMessageWaitTimeSeconds=5)
    start = time.monotonic()
    sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)
    assert time.monotonic() - start < 0.8


@pytest.mark.once
def test_long_poll_wakes_on_visibility_expiry(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="again")
    sqs.receive_message(QueueUrl=queue, VisibilityTimeout=1, WaitTimeSeconds=1)["Messages"][0]
    start = time.monotonic()
    resp = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=5)
    elapsed = time.monotonic() - start
    assert [m["Body"] for m in resp.get("Messages", [])] == ["again"]
    assert elapsed < 2.5, elapsed


@pytest.mark.once
def test_long_poll_wakes_on_delay_expiry(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="delayed", DelaySeconds=1)
    start = time.monotonic()
    resp = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=5)
    elapsed = time.monotonic() - start
    assert [m["Body"] for m in resp.get("Messages", [])] == ["delayed"]
    assert 0.8 <= elapsed < 2.5, elapsed


@pytest.mark.once
def test_competing_long_polls_get_one_each(sqs, make_queue, endpoint):
    from conftest import make_client

    queue = make_queue(VisibilityTimeout=30)

    results = []
    lock = threading.Lock()

    def poll():
        client = make_client(endpoint)
        resp = client.receive_message(QueueUrl=queue, WaitTimeSeconds=3)
        with lock:
            results.append([m["Body"] for m in resp.get("Messages", [])])

    threads = [threading.Thread(target=poll) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    sqs.send_message(QueueUrl=queue, MessageBody="only-one")
    for t in threads:
        t.join()
    flat = [b for r in results for b in r]
    assert flat == ["only-one"], results


# ------------------------------------------------------------------ computed counters


def test_approximate_counters(sqs, make_queue):
    url = make_queue(VisibilityTimeout=30)
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"c{i}")
    sqs.send_message(QueueUrl=url, MessageBody="delayed", DelaySeconds=60)
    got = receive_all(sqs, url, 1)
    assert len(got) == 1
    a = attrs(
        sqs, url, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"
    )
    assert a == {
        "ApproximateNumberOfMessages": "2",
        "ApproximateNumberOfMessagesNotVisible": "1",
        "ApproximateNumberOfMessagesDelayed": "1",
    }


# ------------------------------------------------------------------ batches


def test_send_message_batch(sqs, queue):
    entries = [
        {"Id": f"e{i}", "MessageBody": f"batch {i}", "MessageAttributes": {"n": {"DataType": "Number", "StringValue": str(i)}}}
        for i in range(10)
    ]
    resp = sqs.send_message_batch(QueueUrl=queue, Entries=entries)
    assert resp.get("Failed", []) == []
    ok = {e["Id"]: e for e in resp["Successful"]}
    assert set(ok) == {f"e{i}" for i in range(10)}
    for i in range(10):
        e = ok[f"e{i}"]
        assert e["MD5OfMessageBody"] == md5_of_body(f"batch {i}")
        assert e["MD5OfMessageAttributes"] == md5_of_attributes(entries[i]["MessageAttributes"])
        assert e["MessageId"]
    got = receive_all(sqs, queue, 10, MessageAttributeNames=["All"])
    assert sorted(m["Body"] for m in got) == sorted(f"batch {i}" for i in range(10))
    for m in got:
        assert m["MD5OfMessageAttributes"] == md5_of_attributes(m["MessageAttributes"])


@pytest.mark.aws_only
def test_send_message_batch_with_delay_and_trace(sqs, queue):
    system = {"AWSTraceHeader": {"DataType": "String", "StringValue": TRACE}}
    resp = sqs.send_message_batch(
        QueueUrl=queue,
        Entries=[
            {"Id": "now", "MessageBody": "now", "MessageSystemAttributes": system},
            {"Id": "later", "MessageBody": "later", "DelaySeconds": 60},
        ],
    )
    ok = {e["Id"]: e for e in resp["Successful"]}
    assert ok["now"]["MD5OfMessageSystemAttributes"] == md5_of_attributes(system)
    msgs = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"], WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in msgs] == ["now"]
    assert msgs[0]["Attributes"]["AWSTraceHeader"] == TRACE


def test_send_message_batch_partial_failure(sqs, queue):
    resp = sqs.send_message_batch(
        QueueUrl=queue,
        Entries=[
            {"Id": "good", "MessageBody": "fine"},
            {"Id": "bad", "MessageBody": "too late", "DelaySeconds": 901},
        ],
    )
    assert [e["Id"] for e in resp["Successful"]] == ["good"]
    assert len(resp["Failed"]) == 1
    failed = resp["Failed"][0]
    assert failed["Id"] == "bad"
    assert failed["SenderFault"] is True
    assert failed["Code"] == "InvalidParameterValue"


@pytest.mark.aws_only
def test_send_message_batch_invalid_body_entry(sqs, queue):
    resp = sqs.send_message_batch(
        QueueUrl=queue,
        Entries=[{"Id": "good", "MessageBody": "fine"}, {"Id": "bad", "MessageBody": "nul \x00"}],
    )
    assert [e["Id"] for e in resp["Successful"]] == ["good"]
    assert [(f["Id"], f["SenderFault"]) for f in resp["Failed"]] == [("bad", True)]
    assert resp["Failed"][0]["Code"] in ("InvalidMessageContents", "InvalidParameterValue")


@pytest.mark.aws_only
def test_batch_too_many_entries(sqs, queue):
    entries = [{"Id": f"e{i}", "MessageBody": "x"} for i in range(11)]
    with pytest.raises(ClientError) as exc:
        sqs.send_message_batch(QueueUrl=queue, Entries=entries)
    assert_sqs_error(exc, "TooManyEntriesInBatchRequest")
    with pytest.raises(ClientError) as exc:
        sqs.delete_message_batch(QueueUrl=queue, Entries=[{"Id": f"e{i}", "ReceiptHandle": f"h{i}"} for i in range(11)])
    assert_sqs_error(exc, "TooManyEntriesInBatchRequest")
    with pytest.raises(ClientError) as exc:
        sqs.change_message_visibility_batch(
            QueueUrl=queue, Entries=[{"Id": f"e{i}", "ReceiptHandle": f"h{i}", "VisibilityTimeout": 1} for i in range(11)]
        )
    assert_sqs_error(exc, "TooManyEntriesInBatchRequest")


@pytest.mark.once
@pytest.mark.aws_only
def test_batch_empty(sqs_novalidate, queue):
    for call in (
        lambda: sqs_novalidate.send_message_batch(QueueUrl=queue, Entries=[]),
        lambda: sqs_novalidate.delete_message_batch(QueueUrl=queue, Entries=[]),
        lambda: sqs_novalidate.change_message_visibility_batch(QueueUrl=queue, Entries=[]),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert_sqs_error(exc, "EmptyBatchRequest")


@pytest.mark.aws_only
def test_batch_ids_not_distinct(sqs, queue):
    with pytest.raises(ClientError) as exc:
        sqs.send_message_batch(
            QueueUrl=queue, Entries=[{"Id": "same", "MessageBody": "a"}, {"Id": "same", "MessageBody": "b"}]
        )
    assert_sqs_error(exc, "BatchEntryIdsNotDistinct")
    with pytest.raises(ClientError) as exc:
        sqs.delete_message_batch(
            QueueUrl=queue, Entries=[{"Id": "same", "ReceiptHandle": "a"}, {"Id": "same", "ReceiptHandle": "b"}]
        )
    assert_sqs_error(exc, "BatchEntryIdsNotDistinct")
    assert attrs(sqs, queue, "ApproximateNumberOfMessages")["ApproximateNumberOfMessages"] == "0"


@pytest.mark.parametrize("bad_id", ["has space", "dot.id", "x" * 81, "star*"])
def test_batch_invalid_entry_id(sqs, queue, bad_id):
    with pytest.raises(ClientError) as exc:
        sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": bad_id, "MessageBody": "a"}])
    assert_sqs_error(exc, "InvalidBatchEntryId")


def test_batch_entry_id_limits_ok(sqs, queue):
    good = "A-_z9" + "x" * 75
    resp = sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": good, "MessageBody": "a"}])
    assert [e["Id"] for e in resp["Successful"]] == [good]


def test_batch_request_too_long(sqs, make_queue):
    url = make_queue(MaximumMessageSize=1048576)
    entries = [{"Id": f"e{i}", "MessageBody": "b" * 110_000} for i in range(10)]
    with pytest.raises(ClientError) as exc:
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert_sqs_error(exc, "BatchRequestTooLong")


def test_delete_message_batch(sqs, queue):
    for i in range(3):
        sqs.send_message(QueueUrl=queue, MessageBody=f"d{i}")
    got = receive_all(sqs, queue, 3)
    entries = [{"Id": f"m{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)]
    entries.append({"Id": "bogus", "ReceiptHandle": "not-a-real-handle"})
    resp = sqs.delete_message_batch(QueueUrl=queue, Entries=entries)
    assert sorted(e["Id"] for e in resp["Successful"]) == ["m0", "m1", "m2"]
    assert len(resp["Failed"]) == 1
    f = resp["Failed"][0]
    assert (f["Id"], f["SenderFault"], f["Code"]) == ("bogus", True, "ReceiptHandleIsInvalid")
    a = attrs(sqs, queue, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
    assert a == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}


def test_change_message_visibility_batch(sqs, queue):
    for i in range(2):
        sqs.send_message(QueueUrl=queue, MessageBody=f"v{i}")
    got = receive_all(sqs, queue, 2, VisibilityTimeout=30)
    assert len(got) == 2
    resp = sqs.change_message_visibility_batch(
        QueueUrl=queue,
        Entries=[
            {"Id": "a", "ReceiptHandle": got[0]["ReceiptHandle"], "VisibilityTimeout": 0},
            {"Id": "b", "ReceiptHandle": got[1]["ReceiptHandle"], "VisibilityTimeout": 0},
            {"Id": "c", "ReceiptHandle": "bogus", "VisibilityTimeout": 0},
        ],
    )
    assert sorted(e["Id"] for e in resp["Successful"]) == ["a", "b"]
    assert [(f["Id"], f["SenderFault"], f["Code"]) for f in resp["Failed"]] == [("c", True, "ReceiptHandleIsInvalid")]
    again = receive_all(sqs, queue, 2)
    assert sorted(m["Body"] for m in again) == ["v0", "v1"]


# ------------------------------------------------------------------ purge


def test_purge_queue(sqs, make_queue):
    url = make_queue()
    for i in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=f"p{i}")
    sqs.send_message(QueueUrl=url, MessageBody="delayed", DelaySeconds=30)
    sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)
    sqs.purge_queue(QueueUrl=url)
    time.sleep(0.2)
    a = attrs(
        sqs, url, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"
    )
    assert a == {
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
        "ApproximateNumberOfMessagesDelayed": "0",
    }
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []) == []
    sqs.send_message(QueueUrl=url, MessageBody="after purge")
    m = receive_all(sqs, url, 1)
    assert [x["Body"] for x in m] == ["after purge"]


@pytest.mark.aws_only
def test_purge_twice_within_60s_is_in_progress(sqs, make_queue):
    url = make_queue()
    sqs.purge_queue(QueueUrl=url)
    with pytest.raises(ClientError) as exc:
        sqs.purge_queue(QueueUrl=url)
    assert_sqs_error(exc, "PurgeQueueInProgress")


def test_binary_attribute_base64_in_wire(json_call, sqs, queue):
    # On the JSON wire, BinaryValue travels base64-encoded.
    payload = {
        "QueueUrl": queue,
        "MessageBody": "bin",
        "MessageAttributes": {"b": {"DataType": "Binary", "BinaryValue": base64.b64encode(b"\x00\xffxyz").decode()}},
    }
    resp = json_call("SendMessage", payload)
    assert resp.status_code == 200, resp.text
    assert resp.json()["MD5OfMessageAttributes"] == md5_of_attributes(
        {"b": {"DataType": "Binary", "BinaryValue": b"\x00\xffxyz"}}
    )
    raw = json_call("ReceiveMessage", {"QueueUrl": queue, "MessageAttributeNames": ["All"], "WaitTimeSeconds": 1})
    assert raw.status_code == 200, raw.text
    m = raw.json()["Messages"][0]
    assert base64.b64decode(m["MessageAttributes"]["b"]["BinaryValue"]) == b"\x00\xffxyz"
    assert m["MessageAttributes"]["b"]["DataType"] == "Binary"


def test_send_message_batch_all_entries_failing_is_still_200(sqs, queue):
    resp = sqs.send_message_batch(
        QueueUrl=queue,
        Entries=[
            {"Id": "a", "MessageBody": "x", "DelaySeconds": 901},
            {"Id": "b", "MessageBody": "y", "DelaySeconds": 901},
        ],
    )
    assert resp.get("Successful", []) == []
    assert sorted(f["Id"] for f in resp["Failed"]) == ["a", "b"]
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
