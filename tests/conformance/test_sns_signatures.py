"""SNS message signatures, checked the way AWS tells a subscriber to check them
("Verifying the signatures of Amazon SNS messages"): build the canonical string
from the message's own fields, download the certificate at SigningCertURL, and
verify Signature with its public key (SHA1withRSA for SignatureVersion 1,
SHA256withRSA for 2). Through an SQS subscription (the envelope) and an HTTP
subscriber (SubscriptionConfirmation, then a Notification)."""

import base64
import http.server
import json
import queue as queue_mod
import threading
import time
import urllib.request

import boto3
import pytest
from botocore.config import Config
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from conftest import ACCESS_KEY, REGION, SECRET_KEY, unique_name

pytestmark = pytest.mark.nextflix_only

NOTIFICATION_FIELDS = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
CONFIRMATION_FIELDS = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]


def canonical_string(message):
    """AWS's string to sign, from the message's own fields (Subject only when present)."""
    if message["Type"] == "Notification":
        names = NOTIFICATION_FIELDS
    else:
        names = CONFIRMATION_FIELDS
    out = []
    for name in names:
        if name == "Subject" and message.get("Subject") is None:
            continue
        out.append(f"{name}\n{message[name]}\n")
    return "".join(out).encode("utf-8")


def verify(message):
    """Raises unless the message's signature verifies against its SigningCertURL."""
    with urllib.request.urlopen(message["SigningCertURL"], timeout=10) as resp:
        pem = resp.read()
    cert = x509.load_pem_x509_certificate(pem)
    digest = {"1": hashes.SHA1(), "2": hashes.SHA256()}[message["SignatureVersion"]]
    signature = base64.b64decode(message["Signature"])
    cert.public_key().verify(signature, canonical_string(message), padding.PKCS1v15(), digest)


def client(service, endpoint):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=40),
    )


@pytest.fixture(scope="module")
def sns(target, endpoint):
    if not target.is_nextflix:
        pytest.skip("signatures are checked against the nextflix endpoint")
    return client("sns", endpoint)


@pytest.fixture(scope="module")
def sqs_client(endpoint):
    return client("sqs", endpoint)


def subscribed_queue(sns, sqs, topic_arn):
    url = sqs.create_queue(QueueName=unique_name("sig"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
    return url


def receive_one(sqs, url):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2, MaxNumberOfMessages=1).get("Messages", [])
        if got:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
            return json.loads(got[0]["Body"])
    raise AssertionError("no message arrived")


@pytest.mark.parametrize("version", [None, "1", "2"])
@pytest.mark.parametrize("subject", [None, "Episode 1 is out"])
def test_sqs_envelope_signature_verifies(sns, sqs_client, endpoint, version, subject):
    topic_arn = sns.create_topic(Name=unique_name("sigtopic"))["TopicArn"]
    if version is not None:
        sns.set_topic_attributes(TopicArn=topic_arn, AttributeName="SignatureVersion", AttributeValue=version)
    url = subscribed_queue(sns, sqs_client, topic_arn)
    publish = {"TopicArn": topic_arn, "Message": 'line one\nline "two" with ünïcode'}
    if subject is not None:
        publish["Subject"] = subject
    sns.publish(**publish)
    envelope = receive_one(sqs_client, url)

    assert envelope["SignatureVersion"] == (version or "1")
    assert envelope["SigningCertURL"] == f"{endpoint}/_nextflix/sns/SimpleNotificationService.pem"
    assert ("Subject" in envelope) == (subject is not None)
    # AWS's order: Timestamp, SignatureVersion, Signature, SigningCertURL, UnsubscribeURL.
    keys = list(envelope)
    at = keys.index("Timestamp")
    assert keys[at : at + 5] == ["Timestamp", "SignatureVersion", "Signature", "SigningCertURL", "UnsubscribeURL"]
    verify(envelope)

    # A changed field no longer verifies; neither does the other hash.
    with pytest.raises(InvalidSignature):
        verify(dict(envelope, Message=envelope["Message"] + "!"))
    with pytest.raises(InvalidSignature):
        verify(dict(envelope, SignatureVersion="2" if envelope["SignatureVersion"] == "1" else "1"))


def test_bad_signature_version_is_rejected(sns):
    from botocore.exceptions import ClientError

    topic_arn = sns.create_topic(Name=unique_name("sigtopic"))["TopicArn"]
    with pytest.raises(ClientError) as exc:
        sns.set_topic_attributes(TopicArn=topic_arn, AttributeName="SignatureVersion", AttributeValue="3")
    assert exc.value.response["Error"]["Code"] == "InvalidParameter"


def test_certificate_is_served(sns, endpoint):
    with urllib.request.urlopen(endpoint + "/_nextflix/sns/SimpleNotificationService.pem", timeout=10) as resp:
        pem = resp.read()
    cert = x509.load_pem_x509_certificate(pem)
    assert cert.public_key().key_size == 2048


class _Subscriber(http.server.BaseHTTPRequestHandler):
    inbox = None

    def do_POST(self):  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        self.inbox.put((dict(self.headers), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def http_subscriber():
    inbox = queue_mod.Queue()
    handler = type("Subscriber", (_Subscriber,), {"inbox": inbox})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/sns", inbox
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("version", ["1", "2"])
def test_http_subscriber_verifies_confirmation_and_notification(sns, http_subscriber, version):
    url, inbox = http_subscriber
    topic_arn = sns.create_topic(Name=unique_name("sigtopic"), Attributes={"SignatureVersion": version})[
        "TopicArn"
    ]
    sns.subscribe(TopicArn=topic_arn, Protocol="http", Endpoint=url)

    headers, body = inbox.get(timeout=30)
    confirmation = json.loads(body)
    assert headers.get("x-amz-sns-message-type") == "SubscriptionConfirmation"
    assert confirmation["Type"] == "SubscriptionConfirmation"
    assert confirmation["SignatureVersion"] == version
    verify(confirmation)
    with pytest.raises(InvalidSignature):
        verify(dict(confirmation, Token=confirmation["Token"] + "x"))

    # Confirm the way a subscriber does: GET the SubscribeURL.
    with urllib.request.urlopen(confirmation["SubscribeURL"], timeout=10) as resp:
        assert resp.status == 200
        assert b"SubscriptionArn" in resp.read()

    sns.publish(TopicArn=topic_arn, Message="the notification", Subject="Hello")
    headers, body = inbox.get(timeout=30)
    notification = json.loads(body)
    assert headers.get("x-amz-sns-message-type") == "Notification"
    assert notification["Type"] == "Notification"
    assert notification["Message"] == "the notification"
    assert notification["SignatureVersion"] == version
    verify(notification)


def test_certificate_survives_a_restart_and_is_served_without_admin(sns):
    from conftest import start_nextflix

    first = start_nextflix()
    try:
        with urllib.request.urlopen(first.url + "/_nextflix/sns/SimpleNotificationService.pem", timeout=10) as r:
            before = r.read()
        state_dir = first.state_dir
    finally:
        first.stop()
    second = start_nextflix(["--no-admin"], state_dir=state_dir)
    try:
        with urllib.request.urlopen(second.url + "/_nextflix/sns/SimpleNotificationService.pem", timeout=10) as r:
            after = r.read()
    finally:
        second.stop()
    assert after == before
    x509.load_pem_x509_certificate(after)
