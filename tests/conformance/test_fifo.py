"""FIFO queues: ordering within a group, group locking, deduplication, sequence numbers."""

import hashlib
import time

import pytest
from botocore.exceptions import ClientError

from conftest import assert_invalid_parameter, attrs, drain, md5_of_body, receive_all


def _send(sqs, url, body, group="g1", dedup=None, **kw):
    params = {"QueueUrl": url, "MessageBody": body, "MessageGroupId": group}
    if dedup is not None:
        params["MessageDeduplicationId"] = dedup
    params.update(kw)
    return sqs.send_message(**params)


@pytest.mark.aws_only
def test_fifo_send_returns_sequence_number(sqs, fifo_queue):
    r1 = _send(sqs, fifo_queue, "one", dedup="d1")
    r2 = _send(sqs, fifo_queue, "two", dedup="d2")
    assert r1["MD5OfMessageBody"] == md5_of_body("one")
    s1, s2 = r1["SequenceNumber"], r2["SequenceNumber"]
    assert s1.isdigit() and s2.isdigit()
    assert int(s2) > int(s1)


def test_fifo_order_within_group(sqs, fifo_queue):
    for i in range(6):
        _send(sqs, fifo_queue, f"m{i}", dedup=f"d{i}")
    got = []
    while len(got) < 6:
        msgs = sqs.receive_message(QueueUrl=fifo_queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        assert msgs, f"only got {got}"
        for m in msgs:
            got.append(m["Body"])
            sqs.delete_message(QueueUrl=fifo_queue, ReceiptHandle=m["ReceiptHandle"])
    assert got == [f"m{i}" for i in range(6)]


def test_fifo_system_attributes(sqs, fifo_queue):
    sent = _send(sqs, fifo_queue, "attrs", group="grp-A", dedup="dedup-1")
    m = sqs.receive_message(QueueUrl=fifo_queue, MessageSystemAttributeNames=["All"], WaitTimeSeconds=1)["Messages"][0]
    a = m["Attributes"]
    assert a["MessageGroupId"] == "grp-A"
    assert a["MessageDeduplicationId"] == "dedup-1"
    assert a["SequenceNumber"] == sent["SequenceNumber"]
    assert a["ApproximateReceiveCount"] == "1"
    assert "SentTimestamp" in a and "SenderId" in a


def test_fifo_group_locked_while_in_flight(sqs, fifo_queue):
    _send(sqs, fifo_queue, "A1", group="A", dedup="a1")
    _send(sqs, fifo_queue, "A2", group="A", dedup="a2")
    _send(sqs, fifo_queue, "B1", group="B", dedup="b1")
    first = sqs.receive_message(QueueUrl=fifo_queue, MaxNumberOfMessages=1, WaitTimeSeconds=1)["Messages"][0]
    assert first["Body"] == "A1"
    others = sqs.receive_message(QueueUrl=fifo_queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    assert [m["Body"] for m in others] == ["B1"]
    # Group A stays locked until A1 is deleted or comes back.
    assert sqs.receive_message(QueueUrl=fifo_queue, MaxNumberOfMessages=10).get("Messages", []) == []
    sqs.delete_message(QueueUrl=fifo_queue, ReceiptHandle=first["ReceiptHandle"])
    nxt = sqs.receive_message(QueueUrl=fifo_queue, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in nxt] == ["A2"]


def test_fifo_returned_message_keeps_order(sqs, fifo_queue):
    _send(sqs, fifo_queue, "first", dedup="f1")
    _send(sqs, fifo_queue, "second", dedup="f2")
    m = sqs.receive_message(QueueUrl=fifo_queue, MaxNumberOfMessages=1, WaitTimeSeconds=1)["Messages"][0]
    assert m["Body"] == "first"
    sqs.change_message_visibility(QueueUrl=fifo_queue, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
    again = sqs.receive_message(
        QueueUrl=fifo_queue, MaxNumberOfMessages=10, AttributeNames=["ApproximateReceiveCount"], WaitTimeSeconds=1
    )["Messages"]
    assert [x["Body"] for x in again][:1] == ["first"]
    assert again[0]["Attributes"]["ApproximateReceiveCount"] == "2"


@pytest.mark.aws_only
def test_fifo_dedup_by_id(sqs, fifo_queue):
    r1 = _send(sqs, fifo_queue, "payload", dedup="same-id")
    r2 = _send(sqs, fifo_queue, "different payload", dedup="same-id")
    assert r2["MessageId"]
    # AWS accepts the duplicate and answers with the original MessageId and SequenceNumber.
    assert r1["MessageId"] == r2["MessageId"]
    assert r1["SequenceNumber"] == r2["SequenceNumber"]
    got = drain(sqs, fifo_queue)
    assert [m["Body"] for m in got] == ["payload"]
    # Still deduplicated after the original is deleted (5-minute window).
    sqs.delete_message(QueueUrl=fifo_queue, ReceiptHandle=got[0]["ReceiptHandle"])
    _send(sqs, fifo_queue, "payload", dedup="same-id")
    assert sqs.receive_message(QueueUrl=fifo_queue, WaitTimeSeconds=1).get("Messages", []) == []


def test_fifo_content_based_dedup(sqs, make_queue):
    url = make_queue(fifo=True, ContentBasedDeduplication="true")
    sqs.send_message(QueueUrl=url, MessageBody="same body", MessageGroupId="g")
    sqs.send_message(QueueUrl=url, MessageBody="same body", MessageGroupId="g")
    sqs.send_message(QueueUrl=url, MessageBody="other body", MessageGroupId="g")
    got = drain(sqs, url, MessageSystemAttributeNames=["MessageDeduplicationId"])
    assert [m["Body"] for m in got] == ["same body", "other body"]
    assert got[0]["Attributes"]["MessageDeduplicationId"] == hashlib.sha256(b"same body").hexdigest()


def test_fifo_explicit_dedup_id_overrides_content(sqs, make_queue):
    url = make_queue(fifo=True, ContentBasedDeduplication="true")
    sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g", MessageDeduplicationId="x1")
    sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g", MessageDeduplicationId="x2")
    got = receive_all(sqs, url, 2, timeout=3)
    assert [m["Body"] for m in got] == ["same", "same"]


@pytest.mark.aws_only
def test_fifo_dedup_scope_message_group(sqs, make_queue):
    url = make_queue(fifo=True, DeduplicationScope="messageGroup", FifoThroughputLimit="perMessageGroupId")
    _send(sqs, url, "in A", group="A", dedup="shared")
    _send(sqs, url, "in B", group="B", dedup="shared")
    _send(sqs, url, "in A again", group="A", dedup="shared")
    got = drain(sqs, url)
    assert sorted(m["Body"] for m in got) == ["in A", "in B"]


def test_fifo_dedup_scope_queue(sqs, fifo_queue):
    _send(sqs, fifo_queue, "in A", group="A", dedup="shared")
    _send(sqs, fifo_queue, "in B", group="B", dedup="shared")
    got = drain(sqs, fifo_queue)
    assert [m["Body"] for m in got] == ["in A"]


def test_fifo_requires_message_group_id(sqs, fifo_queue):
    with pytest.raises(ClientError) as exc:
        sqs.send_message(QueueUrl=fifo_queue, MessageBody="x", MessageDeduplicationId="d")
    assert_invalid_parameter(exc, ("MissingParameter",))


def test_fifo_requires_dedup_id_or_content_based(sqs, fifo_queue):
    with pytest.raises(ClientError) as exc:
        sqs.send_message(QueueUrl=fifo_queue, MessageBody="x", MessageGroupId="g")
    assert_invalid_parameter(exc)


def test_fifo_rejects_per_message_delay(sqs, fifo_queue):
    with pytest.raises(ClientError) as exc:
        _send(sqs, fifo_queue, "x", dedup="d", DelaySeconds=5)
    assert_invalid_parameter(exc)


@pytest.mark.aws_only
@pytest.mark.parametrize("group", ["has space", "g" * 129])
def test_fifo_invalid_message_group_id(sqs, fifo_queue, group):
    with pytest.raises(ClientError) as exc:
        _send(sqs, fifo_queue, "x", group=group, dedup="d")
    assert_invalid_parameter(exc)


@pytest.mark.once
def test_fifo_queue_delay(sqs, make_queue):
    url = make_queue(fifo=True, DelaySeconds=1)
    _send(sqs, url, "delayed", dedup="d")
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []
    time.sleep(1.1)
    assert [m["Body"] for m in receive_all(sqs, url, 1)] == ["delayed"]


@pytest.mark.aws_only
def test_fifo_send_message_batch(sqs, fifo_queue):
    resp = sqs.send_message_batch(
        QueueUrl=fifo_queue,
        Entries=[
            {"Id": f"e{i}", "MessageBody": f"b{i}", "MessageGroupId": "g", "MessageDeduplicationId": f"d{i}"}
            for i in range(5)
        ],
    )
    assert resp.get("Failed", []) == []
    by_id = {e["Id"]: e for e in resp["Successful"]}
    seqs = [int(by_id[f"e{i}"]["SequenceNumber"]) for i in range(5)]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5
    got = []
    while len(got) < 5:
        msgs = sqs.receive_message(QueueUrl=fifo_queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        assert msgs
        for m in msgs:
            got.append(m["Body"])
            sqs.delete_message(QueueUrl=fifo_queue, ReceiptHandle=m["ReceiptHandle"])
    assert got == [f"b{i}" for i in range(5)]


def test_fifo_counters(sqs, fifo_queue):
    _send(sqs, fifo_queue, "a", dedup="1")
    _send(sqs, fifo_queue, "b", dedup="2")
    sqs.receive_message(QueueUrl=fifo_queue, MaxNumberOfMessages=1, WaitTimeSeconds=1)
    a = attrs(sqs, fifo_queue, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
    assert a == {"ApproximateNumberOfMessages": "1", "ApproximateNumberOfMessagesNotVisible": "1"}


@pytest.mark.aws_only
def test_standard_queue_accepts_message_group_id(sqs, queue):
    # Since 2025 a MessageGroupId on a standard queue enables fair queues instead of failing.
    sqs.send_message(QueueUrl=queue, MessageBody="fair", MessageGroupId="tenant-1")
    m = sqs.receive_message(QueueUrl=queue, MessageSystemAttributeNames=["MessageGroupId"], WaitTimeSeconds=1)[
        "Messages"
    ][0]
    assert m["Attributes"]["MessageGroupId"] == "tenant-1"


def test_fifo_batch_receive_keeps_order_per_group(sqs, fifo_queue):
    for body, group in [("A1", "A"), ("B1", "B"), ("A2", "A"), ("B2", "B"), ("A3", "A")]:
        _send(sqs, fifo_queue, body, group=group, dedup=body)
    got = [m["Body"] for m in drain(sqs, fifo_queue)]
    assert sorted(got) == ["A1", "A2", "A3", "B1", "B2"]
    assert [b for b in got if b.startswith("A")] == ["A1", "A2", "A3"]
    assert [b for b in got if b.startswith("B")] == ["B1", "B2"]
