"""docs/walkthrough.md, run: every ```sh block, in order, with bash, against a fresh
`nextflix up` on 127.0.0.1 (the doc reads its addresses from AWS_ENDPOINT_URL and WEB_URL).

Each block runs in its own `bash -e -o pipefail`, carrying on what the blocks before it
set (variables and functions), as one terminal session would. Each must exit 0; then the
outputs that show the tutorial's behaviour are checked."""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading

import pytest

from conftest import HERE, _free_port, _wait_http, nextflix_bin

ROOT = os.path.dirname(os.path.dirname(HERE))
DOC = os.path.join(ROOT, "docs", "walkthrough.md")

pytestmark = pytest.mark.skipif(
    os.environ.get("CONFORMANCE_PEER") == "moto",
    reason="the walkthrough runs against nextflix up",
)


def sh_blocks(text):
    return re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M)


@pytest.fixture(scope="module")
def up():
    binary = nextflix_bin()
    if not os.path.exists(binary):
        pytest.skip(f"nextflix binary not found at {binary} (set NEXTFLIX_BIN)")
    state = tempfile.mkdtemp(prefix="nextflix-walkthrough-")
    web, catalog, endpoint = _free_port(), _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "REDIS_URL"}
    log = open(os.path.join(state, "up.log"), "wb")
    proc = subprocess.Popen(
        [
            binary, "up",
            "--web-bind", f"127.0.0.1:{web}",
            "--catalog-bind", f"127.0.0.1:{catalog}",
            "--endpoint-bind", f"127.0.0.1:{endpoint}",
            "--state-dir", state,
        ],
        stdout=subprocess.PIPE,
        stderr=log,
        env=env,
        text=True,
    )
    # `nextflix up` prints its URLs once every part is ready, ending with "Ctrl-C".
    ready = threading.Event()
    printed = []

    def read():
        for line in proc.stdout:
            printed.append(line)
            if "Ctrl-C" in line:
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(60):
        proc.kill()
        pytest.fail("nextflix up did not print its URLs: " + "".join(printed))
    urls = {"endpoint": f"http://127.0.0.1:{endpoint}", "web": f"http://127.0.0.1:{web}"}
    _wait_http(urls["endpoint"] + "/_nextflix/ready", 10, proc, ok=lambda s: s == 200)
    yield urls
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


@pytest.fixture(scope="module")
def walkthrough(up):
    """Runs every block; returns [(source, stdout)]."""
    with open(DOC, encoding="utf-8") as f:
        blocks = sh_blocks(f.read())
    assert len(blocks) >= 10, "docs/walkthrough.md lost its sh blocks"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "REDIS_URL"}
    # The venv running this suite has boto3 and the AWS CLI.
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["AWS_ENDPOINT_URL"] = up["endpoint"]
    env["WEB_URL"] = up["web"]
    session = tempfile.NamedTemporaryFile("w", prefix="walkthrough-session-", suffix=".sh", delete=False)
    session.close()
    results = []
    try:
        for i, block in enumerate(blocks):
            script = (
                f"set -a\nsource {session.name}\nset +a\nset -e -o pipefail\n"
                f"{block}\n"
                "set +e\n"
                f"{{ declare -p | grep -v -E '^declare -[a-zA-Z]*r' "
                f"| grep -v -E '^declare -[-a-zA-Z]* (BASH[A-Z_]*|EUID|PPID|UID|SHELLOPTS|PWD|OLDPWD|SHLVL|_|PIPESTATUS|FUNCNAME|GROUPS|DIRSTACK|HIST[A-Z]*|IFS|OPT[A-Z]*|COMP_[A-Z]*|LINENO|RANDOM|SECONDS|SRANDOM|EPOCH[A-Z]*)='; "
                f"declare -f; }} > {session.name}\n"
            )
            proc = subprocess.Popen(
                ["bash", "-c", script],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
            try:
                out, err = proc.communicate(timeout=180)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                out, err = proc.communicate()
                pytest.fail(f"block {i} timed out:\n{block}\n{out}\n{err}")
            finally:
                # Whatever a block left running in the background (a consumer) stops here.
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            assert proc.returncode == 0, (
                f"walkthrough block {i} exited {proc.returncode}:\n{block}\n--- stdout\n{out}\n--- stderr\n{err}"
            )
            results.append((block, out))
    finally:
        os.unlink(session.name)
    return results


def output_of(walkthrough, snippet):
    found = [out for block, out in walkthrough if snippet in block]
    assert found, f"no block contains {snippet!r}"
    return found[0]


def test_every_block_runs(walkthrough):
    assert all(isinstance(out, str) for _, out in walkthrough)


def test_the_queue_has_the_tutorials_attributes(walkthrough):
    out = output_of(walkthrough, "create-queue --endpoint-url \"$AWS_ENDPOINT_URL\" \\\n  --queue-name netflix-events")
    assert "/000000000000/netflix-events" in out
    attributes = json.loads(out[out.index("{"):])["Attributes"]
    assert attributes == {
        "VisibilityTimeout": "60",
        "MessageRetentionPeriod": "86400",
        "DelaySeconds": "0",
        "MaximumMessageSize": "262144",
    }


def test_send_receive_delete_and_redelivery(walkthrough):
    out = output_of(walkthrough, "walkthrough-1")
    assert '"activityId": "walkthrough-1"' in out.replace('\\"', '"')
    out = output_of(walkthrough, "walkthrough-2")
    assert "walkthrough-2" in out and "received 2 times" in out


def test_the_web_events_reach_the_tutorials_consumer(walkthrough):
    posted = output_of(walkthrough, "/api/analytics")
    events = [json.loads(line) for line in posted.splitlines() if line.startswith("{\"activityId\"")]
    assert [e["mediaId"] for e in events] == [100001, 100002, 100003]
    consumer = output_of(walkthrough, "CONSUMER=$!")
    assert consumer.count("Deleted message: ") == 3
    for event in events:
        assert event["activityId"] in consumer
    assert "Error" not in consumer


def test_competing_consumers_share_the_messages(walkthrough):
    out = output_of(walkthrough, "for n in 1 2 3")
    assert "distinct messages received: 12" in out
    assert "received twice: 0" in out
    shares = [int(n) for n in re.findall(r"consumer-[123]\.log:(\d+)", out)]
    assert len(shares) == 3 and sum(shares) == 12


def test_topic_subscriptions_policy_and_publish(walkthrough):
    topic = output_of(walkthrough, "create-topic")
    assert "arn:aws:sns:us-east-1:000000000000:netflix-events-topic" in topic
    assert "Nextflix events" in topic
    policy = output_of(walkthrough, "allow_topic \"$QUEUE_URL\"")
    statement = json.loads(policy[policy.index("{\"Version\""):].splitlines()[0])["Statement"][0]
    assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"].endswith(":netflix-events-topic")
    denied = output_of(walkthrough, "outcome=denied&limit=1")
    delivery = json.loads(denied.strip().splitlines()[-1])["deliveries"][0]
    assert delivery["outcome"] == "denied"
    assert delivery["endpoint"].endswith(":netflix-events-audit")


def test_one_publish_reaches_every_queue(walkthrough):
    out = output_of(walkthrough, 'for url in "$QUEUE_URL" "$AUDIT_URL"')
    _, events_part, audit_part = re.split(r"^== .*$", out, flags=re.M)
    assert "published-1" in events_part and "published-2" in events_part
    assert "published-2" in audit_part and "published-1" not in audit_part


def test_the_console_and_the_bucket(walkthrough):
    out = output_of(walkthrough, "/_console")
    assert "<title>Console" in out
    assert '"name": "netflix-events-audit"' in out
    # One object per web event: <sessionId>/<activityId>.json.
    assert len(re.findall(r"\S+/[0-9a-f-]{36}\.json", out)) == 3
