"""What only our endpoint has: admin routes, the virtual clock (long timeouts without
sleeping), durability across restarts, and its command-line options. Skipped against
other servers."""

import json
import shutil
import tempfile
import time

import pytest
import requests

from conftest import attrs, make_client, md5_of_attributes, queue_arn, receive_all, start_nextflix, unique_name

pytestmark = pytest.mark.once


@pytest.fixture
def nx(nextflix_only):
    return nextflix_only


def _peek(base, name):
    for path in (f"/_nextflix/sqs/queues/{name}/messages", f"/_nextflix/sqs/{name}/messages"):
        resp = requests.get(base + path, timeout=10)
        if resp.status_code == 200:
            return resp.json()
    pytest.fail(f"no admin peek route answered for {name}: {resp.status_code} {resp.text[:200]}")


def test_ready(nx):
    resp = requests.get(nx.url + "/_nextflix/ready", timeout=5)
    assert resp.status_code == 200
    assert resp.text.strip() == "OK"


def test_admin_peek_does_not_consume(nx, sqs, make_queue):
    name = unique_name()
    url = make_queue(name)
    sqs.send_message(QueueUrl=url, MessageBody="peek at me")
    doc = _peek(nx.url, name)
    assert "peek at me" in json.dumps(doc)
    m = sqs.receive_message(QueueUrl=url, AttributeNames=["ApproximateReceiveCount"], WaitTimeSeconds=1)["Messages"][0]
    assert m["Body"] == "peek at me"
    assert m["Attributes"]["ApproximateReceiveCount"] == "1"


def test_admin_unknown_route_is_404(nx):
    resp = requests.get(nx.url + "/_nextflix/no/such/route", timeout=5)
    assert resp.status_code == 404


def test_clock_advance_refused_on_real_clock(nx):
    resp = requests.post(nx.url + "/_nextflix/clock/advance?seconds=5", timeout=5)
    assert 400 <= resp.status_code < 500


# ------------------------------------------------------------------ virtual clock


@pytest.fixture(scope="module")
def vclock(target):
    if not target.is_nextflix:
        pytest.skip("needs the nextflix endpoint")
    t = start_nextflix(["--virtual-clock"])
    client = make_client(t.url)

    def advance(seconds):
        resp = requests.post(t.url + f"/_nextflix/clock/advance?seconds={seconds}", timeout=5)
        assert resp.status_code == 200, resp.text

    yield t, client, advance
    t.stop()
    shutil.rmtree(t.state_dir, ignore_errors=True)


def _vqueue(client, **attributes):
    return client.create_queue(QueueName=unique_name("vc"), Attributes={k: str(v) for k, v in attributes.items()})["QueueUrl"]


def test_virtual_clock_visibility_timeout(vclock):
    _, c, advance = vclock
    url = _vqueue(c, VisibilityTimeout=600)
    c.send_message(QueueUrl=url, MessageBody="slow")
    c.receive_message(QueueUrl=url)["Messages"][0]
    advance(599)
    assert c.receive_message(QueueUrl=url).get("Messages", []) == []
    advance(2)
    m = c.receive_message(QueueUrl=url, AttributeNames=["ApproximateReceiveCount"])["Messages"][0]
    assert m["Attributes"]["ApproximateReceiveCount"] == "2"


def test_virtual_clock_retention(vclock):
    _, c, advance = vclock
    url = _vqueue(c, MessageRetentionPeriod=60)
    c.send_message(QueueUrl=url, MessageBody="expires")
    advance(59)
    assert attrs(c, url, "ApproximateNumberOfMessages")["ApproximateNumberOfMessages"] == "1"
    advance(2)
    assert c.receive_message(QueueUrl=url).get("Messages", []) == []
    assert attrs(c, url, "ApproximateNumberOfMessages")["ApproximateNumberOfMessages"] == "0"


def test_virtual_clock_max_delay(vclock):
    _, c, advance = vclock
    url = _vqueue(c)
    c.send_message(QueueUrl=url, MessageBody="in 15 minutes", DelaySeconds=900)
    advance(899)
    assert c.receive_message(QueueUrl=url).get("Messages", []) == []
    assert attrs(c, url, "ApproximateNumberOfMessagesDelayed")["ApproximateNumberOfMessagesDelayed"] == "1"
    advance(2)
    assert [m["Body"] for m in c.receive_message(QueueUrl=url)["Messages"]] == ["in 15 minutes"]


def test_virtual_clock_fifo_dedup_window(vclock):
    _, c, advance = vclock
    url = c.create_queue(QueueName=unique_name("vc") + ".fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    c.send_message(QueueUrl=url, MessageBody="one", MessageGroupId="g", MessageDeduplicationId="d")
    m = c.receive_message(QueueUrl=url)["Messages"][0]
    c.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    advance(240)
    c.send_message(QueueUrl=url, MessageBody="dup", MessageGroupId="g", MessageDeduplicationId="d")
    assert c.receive_message(QueueUrl=url).get("Messages", []) == []
    advance(61)
    c.send_message(QueueUrl=url, MessageBody="after window", MessageGroupId="g", MessageDeduplicationId="d")
    assert [m["Body"] for m in c.receive_message(QueueUrl=url)["Messages"]] == ["after window"]


def test_virtual_clock_purge_window(vclock):
    from botocore.exceptions import ClientError

    _, c, advance = vclock
    url = _vqueue(c)
    c.purge_queue(QueueUrl=url)
    with pytest.raises(ClientError):
        c.purge_queue(QueueUrl=url)
    advance(61)
    c.purge_queue(QueueUrl=url)


def test_virtual_clock_dlq_after_visibility_expiry(vclock):
    _, c, advance = vclock
    dlq = _vqueue(c)
    src = _vqueue(
        c, VisibilityTimeout=300, RedrivePolicy=json.dumps({"deadLetterTargetArn": queue_arn(c, dlq), "maxReceiveCount": 2})
    )
    c.send_message(QueueUrl=src, MessageBody="poison")
    for _ in range(2):
        assert len(c.receive_message(QueueUrl=src).get("Messages", [])) == 1
        advance(301)
    assert c.receive_message(QueueUrl=src).get("Messages", []) == []
    assert [m["Body"] for m in c.receive_message(QueueUrl=dlq)["Messages"]] == ["poison"]


# ------------------------------------------------------------------ durability


def test_state_survives_restart(target):
    if not target.is_nextflix:
        pytest.skip("needs the nextflix endpoint")
    state = tempfile.mkdtemp(prefix="nextflix-durable-")
    t = start_nextflix(state_dir=state)
    problems = []

    def check(cond, what):
        if not cond:
            problems.append(what)

    try:
        c = make_client(t.url)
        url = c.create_queue(
            QueueName="durable", Attributes={"VisibilityTimeout": "600", "DelaySeconds": "0"}, tags={"k": "v"}
        )["QueueUrl"]
        attributes = {
            "n": {"DataType": "Number", "StringValue": "42"},
            "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        }
        sent = [
            c.send_message(QueueUrl=url, MessageBody=f"keep {i}", MessageAttributes=attributes)["MessageId"]
            for i in range(3)
        ]
        inflight = c.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"][0]
        c.send_message(QueueUrl=url, MessageBody="delayed", DelaySeconds=600)
        furl = c.create_queue(QueueName="durable.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        s1 = c.send_message(QueueUrl=furl, MessageBody="f1", MessageGroupId="g", MessageDeduplicationId="1")

        t.start_again()  # SIGTERM, then the same command on the same state dir
        c = make_client(t.url)
        check(c.get_queue_url(QueueName="durable")["QueueUrl"] == url, "queue URL changed")
        a = attrs(c, url)
        check(a["VisibilityTimeout"] == "600", f"VisibilityTimeout {a['VisibilityTimeout']}")
        counts = {k: a[k] for k in a if k.startswith("ApproximateNumber")}
        want = {
            "ApproximateNumberOfMessages": "2",
            "ApproximateNumberOfMessagesNotVisible": "1",
            "ApproximateNumberOfMessagesDelayed": "1",
        }
        check(counts == want, f"counters after restart {counts}, want {want} (in-flight/delayed state lost?)")
        check(c.list_queue_tags(QueueUrl=url).get("Tags") == {"k": "v"}, "tags lost")
        got = receive_all(
            c, url, 3, timeout=2, MessageAttributeNames=["All"], AttributeNames=["ApproximateReceiveCount", "SentTimestamp"]
        )
        ids = sorted(m["MessageId"] for m in got)
        for m in got:
            check(m["MD5OfMessageAttributes"] == md5_of_attributes(attributes), "message attributes changed across restart")
            check(m["Attributes"]["ApproximateReceiveCount"] == "1", f"receive count {m['Attributes']}")
        want_ids = sorted(x for x in sent if x != inflight["MessageId"])
        check(ids == want_ids, f"visible messages after restart {ids}, want {want_ids} (the in-flight one must stay hidden)")
        # The receipt handle issued before the restart still works, and the message
        # received before the restart keeps its receive count.
        try:
            c.change_message_visibility(QueueUrl=url, ReceiptHandle=inflight["ReceiptHandle"], VisibilityTimeout=0)
        except Exception as err:  # noqa: BLE001
            problems.append(f"pre-restart receipt handle refused: {err}")
        again = c.receive_message(QueueUrl=url, AttributeNames=["ApproximateReceiveCount"], WaitTimeSeconds=1).get(
            "Messages", []
        )
        check(
            [m["Attributes"]["ApproximateReceiveCount"] for m in again] == ["2"],
            f"receive count after restart {[m['Attributes'] for m in again]}",
        )
        for m in again:
            c.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        # FIFO: deduplication and sequence numbers carry over.
        dup = c.send_message(QueueUrl=furl, MessageBody="f1", MessageGroupId="g", MessageDeduplicationId="1")
        check(dup["MessageId"] == s1["MessageId"], "FIFO dedup window lost across restart")
        s2 = c.send_message(QueueUrl=furl, MessageBody="f2", MessageGroupId="g", MessageDeduplicationId="2")
        check(int(s2["SequenceNumber"]) > int(s1["SequenceNumber"]), "FIFO sequence numbers restarted")
        bodies = [m["Body"] for m in receive_all(c, furl, 3, timeout=2)]
        check(bodies == ["f1", "f2"], f"FIFO messages after restart {bodies}")
    finally:
        t.stop()
        shutil.rmtree(state, ignore_errors=True)
    assert not problems, "\n".join(problems)


def test_account_id_and_no_admin(target):
    if not target.is_nextflix:
        pytest.skip("needs the nextflix endpoint")
    t = start_nextflix(["--account-id", "123456789012", "--no-admin"])
    try:
        c = make_client(t.url)
        url = c.create_queue(QueueName="acct")["QueueUrl"]
        assert url == f"{t.url}/123456789012/acct"
        assert queue_arn(c, url) == "arn:aws:sqs:us-east-1:123456789012:acct"
        assert requests.get(t.url + "/_nextflix/sqs/queues", timeout=5).status_code == 404
        assert requests.get(t.url + "/_nextflix/ready", timeout=5).status_code == 200
    finally:
        t.stop()
        shutil.rmtree(t.state_dir, ignore_errors=True)


def test_host_header_shapes_queue_url(nx, sqs, make_queue):
    name = unique_name()
    make_queue(name)
    resp = requests.post(
        nx.url + "/",
        data=json.dumps({"QueueName": name}),
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "AmazonSQS.GetQueueUrl",
            "Host": "sqs.example.test:4566",
        },
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    url = resp.json()["QueueUrl"]
    assert url.startswith("http://sqs.example.test:4566/") and url.endswith("/" + name), url
    # A URL naming another host still reaches the queue (resolved by its path).
    sqs.send_message(QueueUrl=url, MessageBody="other host")
    got = receive_all(sqs, name, 1)
    assert [m["Body"] for m in got] == ["other host"]


def test_messages_with_attributes_survive_restart(target):
    """Every kind of message must come back after a restart, byte for byte."""
    if not target.is_nextflix:
        pytest.skip("needs the nextflix endpoint")
    state = tempfile.mkdtemp(prefix="nextflix-durable-")
    t = start_nextflix(state_dir=state)
    cases = {
        "plain": {},
        "string": {"MessageAttributes": {"s": {"DataType": "String", "StringValue": "x"}}},
        "number": {"MessageAttributes": {"n": {"DataType": "Number.int", "StringValue": "42"}}},
        "binary": {"MessageAttributes": {"b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}}},
        "trace": {
            "MessageSystemAttributes": {
                "AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-5759e988-bd862e3fe1be46a994272793"}
            }
        },
        "fifo": {"MessageGroupId": "g", "MessageDeduplicationId": "d"},
    }
    lost = []
    try:
        c = make_client(t.url)
        urls = {}
        for kind, extra in cases.items():
            if kind == "fifo":
                urls[kind] = c.create_queue(QueueName="kinds.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
            else:
                urls[kind] = c.create_queue(QueueName=f"kinds-{kind}")["QueueUrl"]
            c.send_message(QueueUrl=urls[kind], MessageBody=f"body {kind}", **extra)
        t.start_again()
        c = make_client(t.url)
        for kind, url in urls.items():
            got = c.receive_message(
                QueueUrl=url, MessageAttributeNames=["All"], MessageSystemAttributeNames=["All"]
            ).get("Messages", [])
            if [m["Body"] for m in got] != [f"body {kind}"]:
                lost.append(kind)
                continue
            m = got[0]
            want_attrs = cases[kind].get("MessageAttributes")
            if want_attrs:
                if m.get("MD5OfMessageAttributes") != md5_of_attributes(want_attrs):
                    lost.append(f"{kind} (attributes changed)")
            if kind == "trace" and m["Attributes"].get("AWSTraceHeader") != cases["trace"]["MessageSystemAttributes"]["AWSTraceHeader"]["StringValue"]:
                lost.append("trace (AWSTraceHeader changed)")
    finally:
        t.stop()
        shutil.rmtree(state, ignore_errors=True)
    assert not lost, f"messages lost or changed across a restart: {lost}"


def test_queue_configuration_survives_restart(target):
    if not target.is_nextflix:
        pytest.skip("needs the nextflix endpoint")
    state = tempfile.mkdtemp(prefix="nextflix-durable-")
    t = start_nextflix(state_dir=state)
    changed = []
    try:
        c = make_client(t.url)
        dlq = c.create_queue(QueueName="conf-dlq")["QueueUrl"]
        dlq_arn = queue_arn(c, dlq)
        src = c.create_queue(
            QueueName="conf-src",
            Attributes={
                "VisibilityTimeout": "45",
                "MessageRetentionPeriod": "7200",
                "DelaySeconds": "0",
                "MaximumMessageSize": "2048",
                "ReceiveMessageWaitTimeSeconds": "3",
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1}),
            },
        )["QueueUrl"]
        c.set_queue_attributes(
            QueueUrl=dlq,
            Attributes={"RedriveAllowPolicy": json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [queue_arn(c, src)]})},
        )
        c.add_permission(QueueUrl=src, Label="keep", AWSAccountIds=["111122223333"], Actions=["SendMessage"])
        fifo = c.create_queue(
            QueueName="conf.fifo",
            Attributes={
                "FifoQueue": "true",
                "ContentBasedDeduplication": "true",
                "DeduplicationScope": "messageGroup",
                "FifoThroughputLimit": "perMessageGroupId",
            },
        )["QueueUrl"]
        # A dead-lettered message, with its source.
        c.send_message(QueueUrl=src, MessageBody="poison")
        m = c.receive_message(QueueUrl=src, WaitTimeSeconds=1)["Messages"][0]
        c.change_message_visibility(QueueUrl=src, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
        c.receive_message(QueueUrl=src, WaitTimeSeconds=1)
        before = {u: attrs(c, u) for u in (src, dlq, fifo)}
        deleted = c.create_queue(QueueName="conf-deleted")["QueueUrl"]
        c.delete_queue(QueueUrl=deleted)

        t.start_again()
        c = make_client(t.url)
        after = {u: attrs(c, u) for u in (src, dlq, fifo)}
        for u in (src, dlq, fifo):
            for k, v in before[u].items():
                if k.startswith("Approximate") or k == "LastModifiedTimestamp":
                    continue
                if k in ("Policy", "RedrivePolicy", "RedriveAllowPolicy"):
                    same = json.loads(after[u].get(k, "null")) == json.loads(v)
                else:
                    same = after[u].get(k) == v
                if not same:
                    changed.append(f"{u.rsplit('/', 1)[1]} {k}: {v!r} -> {after[u].get(k)!r}")
        if c.list_dead_letter_source_queues(QueueUrl=dlq).get("queueUrls") != [src]:
            changed.append("ListDeadLetterSourceQueues lost the source")
        got = c.receive_message(QueueUrl=dlq, MessageSystemAttributeNames=["All"], WaitTimeSeconds=1).get("Messages", [])
        if [x["Body"] for x in got] != ["poison"]:
            changed.append(f"dead-lettered message after restart: {got}")
        elif got[0]["Attributes"].get("DeadLetterQueueSourceArn") != queue_arn(c, src):
            changed.append(f"DeadLetterQueueSourceArn after restart: {got[0]['Attributes']}")
        urls = c.list_queues(QueueNamePrefix="conf-").get("QueueUrls", [])
        if sorted(urls) != sorted([src, dlq]):
            changed.append(f"queues after restart: {urls}")
    finally:
        t.stop()
        shutil.rmtree(state, ignore_errors=True)
    assert not changed, "\n".join(changed)


def test_virtual_clock_dlq_retention_counts_from_first_send(vclock):
    # Standard queues: "the expiration of a message is always based on its original
    # enqueue timestamp"; moving to a dead-letter queue does not reset it.
    _, c, advance = vclock
    dlq = _vqueue(c, MessageRetentionPeriod=120)
    src = _vqueue(
        c,
        VisibilityTimeout=50,
        MessageRetentionPeriod=3600,
        RedrivePolicy=json.dumps({"deadLetterTargetArn": queue_arn(c, dlq), "maxReceiveCount": 1}),
    )
    c.send_message(QueueUrl=src, MessageBody="old")
    c.receive_message(QueueUrl=src)["Messages"][0]
    advance(100)
    assert c.receive_message(QueueUrl=src).get("Messages", []) == []  # moved now, at t=100 s
    assert attrs(c, dlq, "ApproximateNumberOfMessages")["ApproximateNumberOfMessages"] == "1"
    advance(30)  # t=130 s: past 120 s from the first send
    assert c.receive_message(QueueUrl=dlq).get("Messages", []) == []


def test_virtual_clock_in_flight_message_expires(vclock):
    _, c, advance = vclock
    url = _vqueue(c, MessageRetentionPeriod=60, VisibilityTimeout=600)
    c.send_message(QueueUrl=url, MessageBody="in flight")
    c.receive_message(QueueUrl=url)["Messages"][0]
    advance(61)
    a = attrs(c, url, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
    assert a == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}
