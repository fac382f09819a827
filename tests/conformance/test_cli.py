"""The AWS CLI (`aws sqs ...`) against the endpoint, checking its JSON output."""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from conftest import REGION, md5_of_body, unique_name

pytestmark = pytest.mark.once


def _aws_exe():
    exe = shutil.which("aws")
    if exe is None:
        candidate = os.path.join(os.path.dirname(sys.executable), "aws")
        if os.path.exists(candidate):
            exe = candidate
    return exe


@pytest.fixture(scope="module")
def aws(endpoint):
    exe = _aws_exe()
    if exe is None:
        pytest.skip("the AWS CLI is not installed")
    home = tempfile.mkdtemp(prefix="conformance-cli-")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.path.join(home, "config"),
        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, "credentials"),
        "AWS_PAGER": "",
        "AWS_MAX_ATTEMPTS": "1",
    }

    def run(*args, check=True):
        cmd = [exe, "sqs", *args, "--endpoint-url", endpoint, "--output", "json"]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
        out = proc.stdout.strip()
        return (json.loads(out) if out else {}), proc

    yield run
    shutil.rmtree(home, ignore_errors=True)


def test_cli_queue_lifecycle(aws, target):
    name = unique_name("cli")
    created, _ = aws(
        "create-queue",
        "--queue-name",
        name,
        "--attributes",
        "VisibilityTimeout=60,MessageRetentionPeriod=86400,DelaySeconds=0,MaximumMessageSize=262144",
    )
    url = created["QueueUrl"]
    assert url.startswith(f"http://{target.host}/") and url.endswith("/" + name)

    got, _ = aws("get-queue-url", "--queue-name", name)
    assert got == {"QueueUrl": url}

    attrs, _ = aws("get-queue-attributes", "--queue-url", url, "--attribute-names", "All")
    a = attrs["Attributes"]
    assert a["VisibilityTimeout"] == "60"
    assert a["MessageRetentionPeriod"] == "86400"
    assert a["DelaySeconds"] == "0"
    assert a["MaximumMessageSize"] == "262144"
    assert a["QueueArn"].endswith(":" + name)

    body = json.dumps({"activityId": "x", "mediaId": 7})
    sent, _ = aws(
        "send-message",
        "--queue-url",
        url,
        "--message-body",
        body,
        "--message-attributes",
        json.dumps({"event": {"DataType": "String", "StringValue": "MovieDetailsViewedEvent"}}),
    )
    assert sent["MD5OfMessageBody"] == md5_of_body(body)
    assert sent["MessageId"]
    assert sent["MD5OfMessageAttributes"]

    received, _ = aws(
        "receive-message",
        "--queue-url",
        url,
        "--max-number-of-messages",
        "1",
        "--wait-time-seconds",
        "1",
        "--attribute-names",
        "All",
        "--message-attribute-names",
        "All",
    )
    msgs = received["Messages"]
    assert len(msgs) == 1
    m = msgs[0]
    assert m["Body"] == body
    assert m["MessageId"] == sent["MessageId"]
    assert m["MessageAttributes"]["event"]["StringValue"] == "MovieDetailsViewedEvent"
    assert m["Attributes"]["ApproximateReceiveCount"] == "1"

    _, proc = aws("delete-message", "--queue-url", url, "--receipt-handle", m["ReceiptHandle"])
    assert proc.stdout.strip() == ""

    aws("delete-queue", "--queue-url", url)
    _, proc = aws("get-queue-url", "--queue-name", name, check=False)
    assert proc.returncode != 0
    assert "NonExistentQueue" in proc.stderr or "QueueDoesNotExist" in proc.stderr, proc.stderr


@pytest.mark.aws_only
def test_cli_batch_and_fifo(aws, sqs_json):
    name = unique_name("cli") + ".fifo"
    url = aws(
        "create-queue", "--queue-name", name, "--attributes", "FifoQueue=true,ContentBasedDeduplication=true"
    )[0]["QueueUrl"]
    entries = [{"Id": f"e{i}", "MessageBody": f"fifo {i}", "MessageGroupId": "g"} for i in range(3)]
    sent, _ = aws("send-message-batch", "--queue-url", url, "--entries", json.dumps(entries))
    assert sorted(e["Id"] for e in sent["Successful"]) == ["e0", "e1", "e2"]
    assert all(e["SequenceNumber"] for e in sent["Successful"])
    got, _ = aws("receive-message", "--queue-url", url, "--max-number-of-messages", "10", "--wait-time-seconds", "1")
    assert [m["Body"] for m in got["Messages"]] == ["fifo 0", "fifo 1", "fifo 2"]
    deletes = [{"Id": f"d{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got["Messages"])]
    deleted, _ = aws("delete-message-batch", "--queue-url", url, "--entries", json.dumps(deletes))
    assert sorted(e["Id"] for e in deleted["Successful"]) == ["d0", "d1", "d2"]
    sqs_json.delete_queue(QueueUrl=url)


def test_cli_tags_and_purge(aws, sqs_json):
    name = unique_name("cli")
    url = aws("create-queue", "--queue-name", name, "--tags", "team=streaming")[0]["QueueUrl"]
    tags, _ = aws("list-queue-tags", "--queue-url", url)
    assert tags["Tags"] == {"team": "streaming"}
    sqs_json.send_message(QueueUrl=url, MessageBody="x")
    aws("purge-queue", "--queue-url", url)
    counts = sqs_json.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert counts["Attributes"]["ApproximateNumberOfMessages"] == "0"
    sqs_json.delete_queue(QueueUrl=url)
