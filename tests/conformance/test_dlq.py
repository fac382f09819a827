"""Dead-letter queues: redrive after maxReceiveCount, ListDeadLetterSourceQueues,
message move tasks back to the source."""

import json
import time

import pytest
from botocore.exceptions import ClientError

from conftest import assert_invalid_parameter, assert_sqs_error, error_of, attrs, queue_arn, receive_all


def _with_dlq(sqs, make_queue, max_receive=2, fifo=False):
    dlq = make_queue(fifo=fifo)
    dlq_arn = queue_arn(sqs, dlq)
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive})
    src = make_queue(fifo=fifo, VisibilityTimeout=30, RedrivePolicy=policy)
    return src, dlq, dlq_arn


def _fail_once(sqs, url):
    """Receives one message and gives it back at once (a failed processing attempt)."""
    msgs = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
    for m in msgs:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
    return msgs


def test_message_moves_to_dlq_after_max_receive_count(sqs, make_queue):
    src, dlq, _ = _with_dlq(sqs, make_queue, max_receive=2)
    sent = sqs.send_message(
        QueueUrl=src,
        MessageBody="poison",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "poison"}},
    )
    assert len(_fail_once(sqs, src)) == 1
    assert len(_fail_once(sqs, src)) == 1
    # The third receive finds the count exceeded: the message goes to the DLQ instead.
    assert sqs.receive_message(QueueUrl=src, WaitTimeSeconds=1).get("Messages", []) == []
    got = receive_all(sqs, dlq, 1, MessageAttributeNames=["All"])
    assert len(got) == 1
    m = got[0]
    assert m["MessageId"] == sent["MessageId"]
    assert m["Body"] == "poison"
    assert m["MessageAttributes"]["kind"]["StringValue"] == "poison"
    a = attrs(sqs, src, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
    assert a == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}


@pytest.mark.aws_only
def test_dlq_message_has_source_arn(sqs, make_queue):
    src, dlq, _ = _with_dlq(sqs, make_queue, max_receive=1)
    src_arn = queue_arn(sqs, src)
    sqs.send_message(QueueUrl=src, MessageBody="poison")
    _fail_once(sqs, src)
    sqs.receive_message(QueueUrl=src, WaitTimeSeconds=1)
    got = receive_all(sqs, dlq, 1, MessageSystemAttributeNames=["DeadLetterQueueSourceArn"])
    assert got[0]["Attributes"]["DeadLetterQueueSourceArn"] == src_arn


def test_message_deleted_before_limit_stays_out_of_dlq(sqs, make_queue):
    src, dlq, _ = _with_dlq(sqs, make_queue, max_receive=2)
    sqs.send_message(QueueUrl=src, MessageBody="ok")
    _fail_once(sqs, src)
    m = sqs.receive_message(QueueUrl=src, WaitTimeSeconds=1)["Messages"][0]
    sqs.delete_message(QueueUrl=src, ReceiptHandle=m["ReceiptHandle"])
    assert sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1).get("Messages", []) == []


def test_fifo_dlq(sqs, make_queue):
    src, dlq, _ = _with_dlq(sqs, make_queue, max_receive=1, fifo=True)
    sqs.send_message(QueueUrl=src, MessageBody="f1", MessageGroupId="g", MessageDeduplicationId="1")
    sqs.send_message(QueueUrl=src, MessageBody="f2", MessageGroupId="g", MessageDeduplicationId="2")
    first = sqs.receive_message(QueueUrl=src, MaxNumberOfMessages=1, WaitTimeSeconds=1)["Messages"][0]
    assert first["Body"] == "f1"
    sqs.change_message_visibility(QueueUrl=src, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0)
    nxt = sqs.receive_message(QueueUrl=src, MaxNumberOfMessages=1, WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in nxt] == ["f2"]
    moved = receive_all(sqs, dlq, 1, MessageSystemAttributeNames=["MessageGroupId"])
    assert [m["Body"] for m in moved] == ["f1"]
    assert moved[0]["Attributes"]["MessageGroupId"] == "g"


@pytest.mark.aws_only
def test_list_dead_letter_source_queues(sqs, make_queue):
    dlq = make_queue()
    dlq_arn = queue_arn(sqs, dlq)
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})
    a = make_queue(RedrivePolicy=policy)
    b = make_queue(RedrivePolicy=policy)
    make_queue()
    resp = sqs.list_dead_letter_source_queues(QueueUrl=dlq)
    assert sorted(resp["queueUrls"]) == sorted([a, b])
    page = sqs.list_dead_letter_source_queues(QueueUrl=dlq, MaxResults=1)
    assert len(page["queueUrls"]) == 1
    assert page.get("NextToken")
    rest = sqs.list_dead_letter_source_queues(QueueUrl=dlq, MaxResults=1, NextToken=page["NextToken"])
    assert sorted(page["queueUrls"] + rest["queueUrls"]) == sorted([a, b])


def test_list_dead_letter_source_queues_none(sqs, make_queue):
    url = make_queue()
    assert sqs.list_dead_letter_source_queues(QueueUrl=url).get("queueUrls", []) == []


def test_list_dead_letter_source_queues_unknown_queue(sqs, make_queue):
    url = make_queue()
    with pytest.raises(ClientError) as exc:
        sqs.list_dead_letter_source_queues(QueueUrl=url + "-missing")
    assert_sqs_error(exc, "QueueDoesNotExist")


def _dead_letter(sqs, make_queue, count=3):
    src, dlq, dlq_arn = _with_dlq(sqs, make_queue, max_receive=1)
    for i in range(count):
        sqs.send_message(QueueUrl=src, MessageBody=f"dead {i}")
    for _ in range(count * 3):
        if attrs(sqs, dlq, "ApproximateNumberOfMessages")["ApproximateNumberOfMessages"] == str(count):
            break
        msgs = sqs.receive_message(QueueUrl=src, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        for m in msgs:
            sqs.change_message_visibility(QueueUrl=src, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
    assert attrs(sqs, dlq, "ApproximateNumberOfMessages")["ApproximateNumberOfMessages"] == str(count)
    return src, dlq, dlq_arn


def _wait_task_done(sqs, source_arn, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        results = sqs.list_message_move_tasks(SourceArn=source_arn, MaxResults=10)["Results"]
        if results and results[0]["Status"] in ("COMPLETED", "FAILED", "CANCELLED"):
            return results
        time.sleep(0.2)
    raise AssertionError(f"move task did not finish: {results}")


@pytest.mark.aws_only
def test_message_move_task_back_to_source(sqs, make_queue):
    src, dlq, dlq_arn = _dead_letter(sqs, make_queue, count=3)
    handle = sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
    assert handle
    results = _wait_task_done(sqs, dlq_arn)
    task = results[0]
    assert task["Status"] == "COMPLETED"
    assert task["SourceArn"] == dlq_arn
    assert task["ApproximateNumberOfMessagesMoved"] == 3
    assert "StartedTimestamp" in task
    got = receive_all(sqs, src, 3)
    assert sorted(m["Body"] for m in got) == ["dead 0", "dead 1", "dead 2"]
    assert attrs(sqs, dlq, "ApproximateNumberOfMessages")["ApproximateNumberOfMessages"] == "0"


@pytest.mark.aws_only
def test_message_move_task_to_explicit_destination(sqs, make_queue):
    _, dlq, dlq_arn = _dead_letter(sqs, make_queue, count=2)
    dest = make_queue()
    dest_arn = queue_arn(sqs, dest)
    sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=dest_arn, MaxNumberOfMessagesPerSecond=50)
    results = _wait_task_done(sqs, dlq_arn)
    assert results[0]["Status"] == "COMPLETED"
    assert results[0].get("DestinationArn") == dest_arn
    got = receive_all(sqs, dest, 2)
    assert sorted(m["Body"] for m in got) == ["dead 0", "dead 1"]


@pytest.mark.aws_only
def test_message_move_task_from_non_dlq_is_rejected(sqs, make_queue):
    url = make_queue()
    with pytest.raises(ClientError) as exc:
        sqs.start_message_move_task(SourceArn=queue_arn(sqs, url))
    assert_invalid_parameter(exc, ("InvalidParameterValue", "AWS.SimpleQueueService.UnsupportedOperation"))


@pytest.mark.aws_only
def test_message_move_task_unknown_source(sqs, make_queue):
    url = make_queue()
    arn = queue_arn(sqs, url) + "-missing"
    with pytest.raises(ClientError) as exc:
        sqs.start_message_move_task(SourceArn=arn)
    assert_sqs_error(exc, "ResourceNotFoundException")


@pytest.mark.aws_only
def test_cancel_unknown_move_task(sqs):
    with pytest.raises(ClientError) as exc:
        sqs.cancel_message_move_task(TaskHandle="bm90LWEtcmVhbC10YXNr")
    code, _, _ = error_of(exc)
    if code == "InvalidParameterValue":  # a handle that does not even parse
        assert_invalid_parameter(exc)
    else:
        assert_sqs_error(exc, "ResourceNotFoundException")


@pytest.mark.aws_only
def test_list_message_move_tasks_empty(sqs, make_queue):
    dlq = make_queue()
    dlq_arn = queue_arn(sqs, dlq)
    make_queue(RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1}))
    assert sqs.list_message_move_tasks(SourceArn=dlq_arn).get("Results", []) == []


@pytest.mark.once
@pytest.mark.aws_only
def test_cancel_running_message_move_task(sqs, make_queue):
    src, dlq, dlq_arn = _dead_letter(sqs, make_queue, count=10)
    handle = sqs.start_message_move_task(SourceArn=dlq_arn, MaxNumberOfMessagesPerSecond=1)["TaskHandle"]
    running = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
    assert running[0]["Status"] == "RUNNING"
    assert running[0]["TaskHandle"] == handle
    assert running[0]["MaxNumberOfMessagesPerSecond"] == 1
    # A second task on the same source is refused while one runs.
    with pytest.raises(ClientError) as exc:
        sqs.start_message_move_task(SourceArn=dlq_arn)
    assert error_of(exc)[2] == 400
    resp = sqs.cancel_message_move_task(TaskHandle=handle)
    assert isinstance(resp["ApproximateNumberOfMessagesMoved"], int)
    assert resp["ApproximateNumberOfMessagesMoved"] < 10
    results = _wait_task_done(sqs, dlq_arn)
    assert results[0]["Status"] == "CANCELLED"
    moved = results[0]["ApproximateNumberOfMessagesMoved"]
    left = int(attrs(sqs, dlq, "ApproximateNumberOfMessages")["ApproximateNumberOfMessages"])
    assert moved + left == 10
    assert left > 0


@pytest.mark.aws_only
@pytest.mark.parametrize("count", [0, 1001])
def test_max_receive_count_out_of_range(sqs, make_queue, count):
    dlq = make_queue()
    src = make_queue()
    policy = json.dumps({"deadLetterTargetArn": queue_arn(sqs, dlq), "maxReceiveCount": count})
    with pytest.raises(ClientError) as exc:
        sqs.set_queue_attributes(QueueUrl=src, Attributes={"RedrivePolicy": policy})
    assert_invalid_parameter(exc, ("InvalidParameterValue", "InvalidAttributeValue"))


@pytest.mark.aws_only
def test_redrive_allow_policy_by_queue_enforced(sqs, make_queue):
    allowed = make_queue()
    dlq = make_queue(
        RedriveAllowPolicy=json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [queue_arn(sqs, allowed)]})
    )
    policy = json.dumps({"deadLetterTargetArn": queue_arn(sqs, dlq), "maxReceiveCount": 3})
    sqs.set_queue_attributes(QueueUrl=allowed, Attributes={"RedrivePolicy": policy})
    stranger = make_queue()
    with pytest.raises(ClientError) as exc:
        sqs.set_queue_attributes(QueueUrl=stranger, Attributes={"RedrivePolicy": policy})
    assert_invalid_parameter(exc, ("InvalidParameterValue", "InvalidAttributeValue"))


@pytest.mark.aws_only
def test_redrive_allow_policy_malformed(sqs, make_queue):
    url = make_queue()
    for bad in [
        json.dumps({"redrivePermission": "sometimes"}),
        json.dumps({"redrivePermission": "byQueue"}),
        json.dumps({"redrivePermission": "allowAll", "sourceQueueArns": ["arn:aws:sqs:us-east-1:000000000000:x"]}),
    ]:
        with pytest.raises(ClientError) as exc:
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedriveAllowPolicy": bad})
        assert_invalid_parameter(exc, ("InvalidParameterValue", "InvalidAttributeValue"))
