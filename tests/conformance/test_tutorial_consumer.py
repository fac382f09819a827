"""The tutorial's consumer script, run as-is in several competing instances, given only
AWS_ENDPOINT_URL, dummy credentials and its two placeholders in its environment."""

import json
import os
import subprocess
import sys
import threading
import time
import uuid

import pytest

from conftest import HERE, REGION, attrs, unique_name

pytestmark = pytest.mark.once

SCRIPT = os.path.join(HERE, "tutorial_consumer.py")


class Consumer:
    def __init__(self, endpoint, queue_name):
        env = {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_REGION": REGION,
            "QUEUE_NAME": queue_name,
        }
        # Keep the interpreter's own paths working (a venv needs nothing from the environment).
        self.proc = subprocess.Popen(
            [sys.executable, "-u", SCRIPT],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=HERE,
        )
        self.lines = []
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            with self.lock:
                self.lines.append(line.rstrip("\n"))

    def snapshot(self):
        with self.lock:
            return list(self.lines)

    def received(self):
        return [l[len("Received message: "):] for l in self.snapshot() if l.startswith("Received message: ")]

    def deleted(self):
        return [l[len("Deleted message: "):] for l in self.snapshot() if l.startswith("Deleted message: ")]

    def errors(self):
        return [l for l in self.snapshot() if l.startswith("Error") or "Traceback" in l]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(timeout=5)


def _event(i):
    return json.dumps(
        {
            "activityId": str(uuid.uuid4()),
            "sessionId": "s-" + str(i % 4),
            "timestamp": "2026-01-01T00:00:00.000Z",
            "mediaId": 1000 + i,
        }
    )


def _wait(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.mark.parametrize("address", ["name", "url"])
def test_three_competing_tutorial_consumers(sqs, make_queue, endpoint, address):
    name = unique_name("netflix-events")
    url = make_queue(name, VisibilityTimeout=60, MessageRetentionPeriod=86400, DelaySeconds=0, MaximumMessageSize=262144)
    consumers = [Consumer(endpoint, name if address == "name" else url) for _ in range(3)]
    try:
        # Give each a moment to start its first long poll.
        time.sleep(1.0)
        for c in consumers:
            assert c.proc.poll() is None, c.snapshot()
        n = 30
        bodies = [_event(i) for i in range(n)]
        for body in bodies:
            sqs.send_message(QueueUrl=url, MessageBody=body)
        done = _wait(lambda: sum(len(c.deleted()) for c in consumers) >= n, 30)
        received = [b for c in consumers for b in c.received()]
        deleted = [d for c in consumers for d in c.deleted()]
        errors = [e for c in consumers for e in c.errors()]
        assert not errors, errors
        assert done, f"only {len(deleted)} of {n} processed"
        # Every message processed exactly once across the instances.
        assert sorted(received) == sorted(bodies)
        assert len(set(deleted)) == n
        busy = [len(c.received()) for c in consumers]
        assert sum(1 for b in busy if b > 0) >= 2, f"one instance did all the work: {busy}"
        a = attrs(sqs, url, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
        assert a == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}
    finally:
        for c in consumers:
            c.stop()


def test_message_of_a_crashed_consumer_is_processed_by_another(sqs, make_queue, endpoint):
    name = unique_name("netflix-events")
    url = make_queue(name, VisibilityTimeout=1)
    body = _event(99)
    sqs.send_message(QueueUrl=url, MessageBody=body)
    # A consumer takes the message and dies before deleting it.
    taken = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in taken] == [body]
    consumer = Consumer(endpoint, url)
    try:
        assert _wait(lambda: len(consumer.deleted()) == 1, 15), consumer.snapshot()
        assert consumer.received() == [body]
        assert consumer.deleted() == [taken[0]["MessageId"]]
        assert not consumer.errors(), consumer.snapshot()
    finally:
        consumer.stop()
    a = attrs(sqs, url, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
    assert a == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}
