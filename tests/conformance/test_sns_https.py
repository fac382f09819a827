"""SNS `https` subscriptions: an HTTPS subscriber on 127.0.0.1 whose certificate comes
from a test CA gets the SubscriptionConfirmation and the notifications when the endpoint
trusts that CA (`--sns-trust-store`), and nothing (a logged `failed`) when it does not."""

import datetime
import ipaddress
import json
import queue as queue_mod
import ssl
import threading
import time
import urllib.request
import http.server

import boto3
import pytest
from botocore.config import Config
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import ACCESS_KEY, REGION, SECRET_KEY, start_nextflix, unique_name


def _make_ca_and_server(tmp_path):
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nextflix test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = tmp_path / "ca.pem"
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_pem = tmp_path / "server.pem"
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem = tmp_path / "server.key"
    key_pem.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_pem, cert_pem, key_pem


class _Subscriber(http.server.BaseHTTPRequestHandler):
    inbox = None

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.inbox.put((dict(self.headers), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def https_subscriber(tmp_path, target):
    if not target.is_nextflix:
        pytest.skip("the trust store is ours")
    ca_pem, cert_pem, key_pem = _make_ca_and_server(tmp_path)
    inbox = queue_mod.Queue()
    handler = type("Subscriber", (_Subscriber,), {"inbox": inbox})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_pem, key_pem)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/sns", inbox, ca_pem
    finally:
        server.shutdown()
        server.server_close()


def _sns(url):
    return boto3.client("sns", endpoint_url=url, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                        aws_secret_access_key=SECRET_KEY, config=Config(retries={"max_attempts": 1}))


def test_https_subscriber_trusted_through_the_trust_store(https_subscriber):
    url, inbox, ca_pem = https_subscriber
    endpoint = start_nextflix(["--sns-trust-store", str(ca_pem)])
    try:
        sns = _sns(endpoint.url)
        topic = sns.create_topic(Name=unique_name("https"))["TopicArn"]
        assert sns.subscribe(TopicArn=topic, Protocol="https", Endpoint=url)["SubscriptionArn"] == "pending confirmation"
        headers, body = inbox.get(timeout=30)
        confirmation = json.loads(body)
        assert confirmation["Type"] == "SubscriptionConfirmation"
        with urllib.request.urlopen(confirmation["SubscribeURL"], timeout=10) as resp:
            assert resp.status == 200
        sns.publish(TopicArn=topic, Message="over TLS")
        headers, body = inbox.get(timeout=30)
        assert headers.get("x-amz-sns-message-type") == "Notification"
        assert json.loads(body)["Message"] == "over TLS"
    finally:
        endpoint.stop()


def test_an_untrusted_https_subscriber_gets_nothing_and_the_log_says_why(https_subscriber):
    url, inbox, _ = https_subscriber
    endpoint = start_nextflix()
    try:
        sns = _sns(endpoint.url)
        topic = sns.create_topic(Name=unique_name("https-untrusted"))["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="https", Endpoint=url)
        failed = []
        deadline = time.time() + 15
        while time.time() < deadline and not failed:
            with urllib.request.urlopen(endpoint.url + "/_nextflix/sns/deliveries?outcome=failed", timeout=10) as r:
                failed = json.loads(r.read())["deliveries"]
            time.sleep(0.1)
        assert failed, "the failed confirmation is logged"
        assert "SubscriptionConfirmation" in failed[0]["detail"]
        assert inbox.empty()
    finally:
        endpoint.stop()
