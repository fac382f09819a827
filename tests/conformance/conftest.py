"""Fixtures for the SQS conformance suite.

The target is, in order of preference:
  * SQS_ENDPOINT_URL, used as is (must point at 127.0.0.1);
  * CONFORMANCE_PEER=moto: a moto_server started on a free port;
  * otherwise `$NEXTFLIX_BIN endpoint --bind 127.0.0.1:<port> --state-dir <tmp>`.
"""

import base64
import hashlib
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import boto3
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

REGION = "us-east-1"
ACCESS_KEY = "test"
SECRET_KEY = "test"
SQS_XMLNS = "http://queue.amazonaws.com/doc/2012-11-05/"
HERE = os.path.dirname(os.path.abspath(__file__))


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "aws_only: follows AWS's documented behaviour where moto is known to deviate",
    )
    config.addinivalue_line(
        "markers", "nextflix_only: needs the nextflix endpoint itself (admin routes, restarts)"
    )
    config.addinivalue_line(
        "markers", "once: about timing or the raw wire; run over one SDK protocol only"
    )


def pytest_collection_modifyitems(config, items):
    """Tests marked `once` (their subject is timing or a raw wire, not the SDK protocol)
    run over the first protocol only. Against moto, tests marked aws_only are expected
    failures (moto deviates from AWS)."""
    keep, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        protocol = callspec.params.get("sqs") if callspec else None
        if protocol is not None and protocol != PROTOCOLS[0] and item.get_closest_marker("once"):
            dropped.append(item)
        else:
            keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
    if os.environ.get("CONFORMANCE_PEER") != "moto" or os.environ.get("SQS_ENDPOINT_URL"):
        return
    for item in items:
        marker = item.get_closest_marker("aws_only")
        if marker is not None:
            reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "moto deviates from AWS")
            item.add_marker(pytest.mark.xfail(reason=f"moto: {reason}", strict=False))


# --------------------------------------------------------------------------- target


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url, deadline_s, proc=None, ok=lambda status: status < 500):
    deadline = time.monotonic() + deadline_s
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"target exited early with status {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if ok(resp.status):
                    return
        except urllib.error.HTTPError as err:
            if ok(err.code):
                return
            last = err
        except OSError as err:
            last = err
        time.sleep(0.05)
    raise RuntimeError(f"target not ready at {url}: {last}")


class Target:
    """A running SQS-compatible server."""

    def __init__(self, url, kind, proc=None, state_dir=None, argv=None, log=None):
        self.url = url.rstrip("/")
        self.kind = kind  # "external", "moto" or "nextflix"
        self.proc = proc
        self.state_dir = state_dir
        self.argv = argv
        self.log = log

    @property
    def is_moto(self):
        return self.kind == "moto"

    @property
    def is_nextflix(self):
        return self.kind == "nextflix"

    @property
    def host(self):
        return urlsplit(self.url).netloc

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def start_again(self):
        """Restarts a nextflix target on the same port and state dir."""
        assert self.argv is not None
        self.stop()
        self.proc = subprocess.Popen(self.argv, stdout=self.log, stderr=subprocess.STDOUT)
        _wait_http(self.url + "/_nextflix/ready", 30, self.proc, ok=lambda s: s == 200)


def nextflix_bin():
    path = os.environ.get("NEXTFLIX_BIN")
    if not path:
        target_dir = os.environ.get(
            "CARGO_TARGET_DIR", os.path.expanduser("~/.cache/nextflix-ci/target")
        )
        path = os.path.join(target_dir, "debug", "nextflix")
    return path


def start_nextflix(extra_args=(), state_dir=None):
    binary = nextflix_bin()
    if not os.path.exists(binary):
        pytest.exit(f"nextflix binary not found at {binary} (set NEXTFLIX_BIN)", returncode=2)
    port = _free_port()
    own_dir = state_dir is None
    if own_dir:
        state_dir = tempfile.mkdtemp(prefix="nextflix-conformance-")
    argv = [binary, "endpoint", "--bind", f"127.0.0.1:{port}", "--state-dir", state_dir, *extra_args]
    log = open(os.path.join(state_dir, "..", os.path.basename(state_dir) + ".log"), "ab")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(url + "/_nextflix/ready", 30, proc, ok=lambda s: s == 200)
    except Exception:
        proc.kill()
        raise
    return Target(url, "nextflix", proc=proc, state_dir=state_dir, argv=argv, log=log)


def start_moto():
    exe = shutil.which("moto_server")
    if exe is None:
        pytest.exit("moto_server not found (install moto[server])", returncode=2)
    port = _free_port()
    log = open(os.path.join(tempfile.gettempdir(), f"moto-conformance-{port}.log"), "ab")
    proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    _wait_http(url + "/moto-api/", 30, proc)
    return Target(url, "moto", proc=proc)


@pytest.fixture(scope="session")
def target():
    for key, value in (
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
        ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
        ("AWS_DEFAULT_REGION", REGION),
    ):
        os.environ[key] = value
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)
    explicit = os.environ.get("SQS_ENDPOINT_URL")
    if explicit:
        host = urlsplit(explicit).hostname
        if host not in ("127.0.0.1", "localhost"):
            pytest.exit("SQS_ENDPOINT_URL must point at 127.0.0.1", returncode=2)
        t = Target(explicit, "external")
    elif os.environ.get("CONFORMANCE_PEER") == "moto":
        t = start_moto()
    else:
        t = start_nextflix()
    yield t
    t.stop()


@pytest.fixture(scope="session")
def endpoint(target):
    return target.url


def make_client(endpoint_url, **config):
    cfg = Config(
        retries={"max_attempts": 1, "mode": "standard"},
        connect_timeout=5,
        read_timeout=40,
        **config,
    )
    return boto3.client(
        "sqs",
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=cfg,
    )


# The SDK wire protocols the boto3-driven tests run over: JSON 1.0 (today's boto3 and
# CLI) and Query (form-encoded, XML answers: older SDKs), through botocore either way.
PROTOCOLS = [p.strip() for p in os.environ.get("SQS_PROTOCOLS", "json,query").split(",") if p.strip()]


@pytest.fixture(scope="session", params=PROTOCOLS)
def sqs(request, endpoint):
    """A botocore SQS client over one of the PROTOCOLS."""
    if request.param == "query":
        from query_client import make_query_client

        client = make_query_client(endpoint)
    else:
        client = make_client(endpoint)
    client.protocol_name = request.param
    return client


@pytest.fixture(scope="session")
def sqs_json(endpoint):
    """A plain boto3 client (JSON protocol), for setup and checks around other clients."""
    return make_client(endpoint)


@pytest.fixture(scope="session")
def sqs_novalidate(endpoint):
    """A client that skips botocore's own parameter validation, so the server sees bad input."""
    return make_client(endpoint, parameter_validation=False)


# --------------------------------------------------------------------------- queues


def unique_name(prefix="cf"):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class QueueFactory:
    def __init__(self, sqs):
        self.sqs = sqs
        self.urls = []

    def __call__(self, name=None, fifo=False, **attributes):
        name = name or unique_name()
        attrs = {k: str(v) for k, v in attributes.items()}
        if fifo:
            if not name.endswith(".fifo"):
                name += ".fifo"
            attrs.setdefault("FifoQueue", "true")
        if attrs:
            url = self.sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
        else:
            url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        self.urls.append(url)
        return url

    def cleanup(self):
        for url in self.urls:
            try:
                self.sqs.delete_queue(QueueUrl=url)
            except Exception:
                pass


@pytest.fixture
def make_queue(sqs):
    factory = QueueFactory(sqs)
    yield factory
    factory.cleanup()


@pytest.fixture
def queue(make_queue):
    """A fresh standard queue with a 2 s visibility timeout."""
    return make_queue(VisibilityTimeout=2)


@pytest.fixture
def fifo_queue(make_queue):
    return make_queue(fifo=True, VisibilityTimeout=2)


def queue_arn(sqs, url):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def attrs(sqs, url, *names):
    names = list(names) or ["All"]
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names).get("Attributes", {})


def receive_all(sqs, url, expected, timeout=5.0, **kwargs):
    """Receives until `expected` messages were collected or the timeout passes."""
    got = []
    deadline = time.monotonic() + timeout
    # Received messages stay hidden while collecting, whatever the queue's own timeout.
    kwargs.setdefault("VisibilityTimeout", 30)
    while len(got) < expected and time.monotonic() < deadline:
        resp = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=min(10, expected - len(got)), WaitTimeSeconds=1, **kwargs
        )
        got.extend(resp.get("Messages", []))
    return got


def drain(sqs, url, **kwargs):
    """Receives (keeping messages hidden) until a 1-second long poll comes back empty."""
    kwargs.setdefault("VisibilityTimeout", 30)
    got = []
    while True:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, **kwargs).get("Messages", [])
        if not msgs:
            return got
        got.extend(msgs)
        assert len(got) < 1000


# --------------------------------------------------------------------------- errors


def error_of(exc_info):
    """(Code, QueryErrorCode, HTTP status) of a botocore ClientError.

    For SQS's JSON protocol botocore takes Code from the x-amzn-query-error header
    (the old Query code, e.g. AWS.SimpleQueueService.NonExistentQueue) and keeps the
    JSON __type's short name in QueryErrorCode (e.g. QueueDoesNotExist).
    """
    exc = exc_info.value if hasattr(exc_info, "value") else exc_info
    assert isinstance(exc, ClientError), exc
    err = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return err.get("Code"), err.get("QueryErrorCode"), status


def assert_error(exc_info, code, json_type=None, status=400):
    got_code, got_type, got_status = error_of(exc_info)
    assert got_status != 500, f"server error: {exc_info.value}"
    assert got_code == code, f"expected error code {code!r}, got {got_code!r} ({exc_info.value})"
    if json_type is not None:
        assert got_type == json_type, f"expected __type {json_type!r}, got {got_type!r}"
    if status is not None:
        assert got_status == status, f"expected HTTP {status}, got {got_status}"


# Modeled errors: JSON __type short name -> (Query code, HTTP status), from the SQS
# Smithy model (awsQueryError trait). None: no awsQueryError trait, so no
# x-amzn-query-error header is needed and the Query code equals the __type name.
SQS_ERRORS = {
    "QueueDoesNotExist": ("AWS.SimpleQueueService.NonExistentQueue", 400),
    "QueueNameExists": ("QueueAlreadyExists", 400),
    "QueueDeletedRecently": ("AWS.SimpleQueueService.QueueDeletedRecently", 400),
    "InvalidAttributeName": (None, 400),
    "InvalidAttributeValue": (None, 400),
    "InvalidMessageContents": (None, 400),
    "InvalidIdFormat": (None, 400),
    "TooManyEntriesInBatchRequest": ("AWS.SimpleQueueService.TooManyEntriesInBatchRequest", 400),
    "EmptyBatchRequest": ("AWS.SimpleQueueService.EmptyBatchRequest", 400),
    "BatchEntryIdsNotDistinct": ("AWS.SimpleQueueService.BatchEntryIdsNotDistinct", 400),
    "InvalidBatchEntryId": ("AWS.SimpleQueueService.InvalidBatchEntryId", 400),
    "BatchRequestTooLong": ("AWS.SimpleQueueService.BatchRequestTooLong", 400),
    "ReceiptHandleIsInvalid": ("ReceiptHandleIsInvalid", 404),
    "MessageNotInflight": ("AWS.SimpleQueueService.MessageNotInflight", 400),
    "PurgeQueueInProgress": ("AWS.SimpleQueueService.PurgeQueueInProgress", 403),
    "OverLimit": ("OverLimit", 403),
    "ResourceNotFoundException": ("ResourceNotFoundException", 404),
    "UnsupportedOperation": ("AWS.SimpleQueueService.UnsupportedOperation", 400),
    "InvalidAddress": ("InvalidAddress", 404),
    "InvalidSecurity": ("InvalidSecurity", 403),
}


def query_code(json_type):
    """The Query-protocol error code of a modeled SQS error."""
    code, _ = SQS_ERRORS[json_type]
    return code or json_type


def _is_xml_error(exc_info):
    exc = exc_info.value if hasattr(exc_info, "value") else exc_info
    headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    return "xml" in headers.get("content-type", "")


def assert_sqs_error(exc_info, json_type, status=None):
    """Asserts a modeled SQS error. Over JSON: the __type and, where the model gives one,
    the Query code that x-amzn-query-error carries. Over Query: the <Code>."""
    code, default_status = SQS_ERRORS[json_type]
    got_code, got_type, got_status = error_of(exc_info)
    want_status = status if status is not None else default_status
    assert got_status != 500, f"server error: {exc_info.value}"
    if _is_xml_error(exc_info):
        want = code or json_type
        assert got_code == want, f"expected <Code>{want}</Code>, got {got_code!r} ({exc_info.value})"
        assert got_status == want_status, f"expected HTTP {want_status}, got {got_status} ({exc_info.value})"
        return
    if code is None:
        # botocore: Code is the __type name, or the header's code if one was sent.
        assert json_type in (got_code, got_type), (
            f"expected {json_type}, got Code={got_code!r} __type={got_type!r} ({exc_info.value})"
        )
        if got_type is not None:
            assert got_type == json_type and got_code == json_type, (got_code, got_type)
    else:
        assert (got_code, got_type) == (code, json_type), (
            f"expected Code={code!r} (x-amzn-query-error) and __type {json_type!r}, "
            f"got Code={got_code!r} __type={got_type!r} ({exc_info.value})"
        )
    assert got_status == want_status, f"expected HTTP {want_status}, got {got_status} ({exc_info.value})"


def assert_invalid_parameter(exc_info, codes=("InvalidParameterValue",)):
    """A common (unmodeled) validation error such as InvalidParameterValue."""
    got_code, got_type, got_status = error_of(exc_info)
    assert got_status == 400, f"expected HTTP 400, got {got_status} ({exc_info.value})"
    assert got_code in codes, f"expected one of {codes}, got Code={got_code!r} ({exc_info.value})"


# --------------------------------------------------------------------------- MD5s


def _md5_field(buf, data):
    buf += struct.pack(">I", len(data))
    buf += data


def md5_of_attributes(attributes):
    """AWS's MD5 of message (or message system) attributes."""
    if not attributes:
        return None
    buf = bytearray()
    for name in sorted(attributes):
        value = attributes[name]
        data_type = value["DataType"]
        _md5_field(buf, name.encode("utf-8"))
        _md5_field(buf, data_type.encode("utf-8"))
        if "StringValue" in value:
            buf += b"\x01"
            _md5_field(buf, value["StringValue"].encode("utf-8"))
        elif "BinaryValue" in value:
            buf += b"\x02"
            blob = value["BinaryValue"]
            if isinstance(blob, str):
                blob = base64.b64decode(blob)
            _md5_field(buf, bytes(blob))
        else:
            raise ValueError(f"unsupported attribute {name}: {value}")
    return hashlib.md5(bytes(buf)).hexdigest()


def md5_of_body(body):
    return hashlib.md5(body.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- raw HTTP


def sign(method, url, headers, body):
    req = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "sqs", REGION).add_auth(req)
    return dict(req.headers.items())


class QueryResponse:
    def __init__(self, resp):
        self.resp = resp
        self.status = resp.status_code
        self.headers = resp.headers
        self.text = resp.text
        self.root = None
        if resp.content:
            try:
                self.root = ET.fromstring(resp.content)
            except ET.ParseError:
                self.root = None

    def find(self, path):
        return self.root.find(ns_path(path), NS) if self.root is not None else None

    def findall(self, path):
        return self.root.findall(ns_path(path), NS) if self.root is not None else []

    def text_of(self, path):
        el = self.find(path)
        return None if el is None else (el.text or "")

    @property
    def error_code(self):
        return self.text_of("Error/Code")

    def __repr__(self):
        return f"<QueryResponse {self.status} {self.text[:500]!r}>"


NS = {"q": SQS_XMLNS}


def ns_path(path):
    """'A/B' -> 'q:A/q:B' in the SQS namespace."""
    parts = []
    for part in path.split("/"):
        if part in (".", "..", "") or part.startswith("{") or part.startswith("q:"):
            parts.append(part)
        else:
            parts.append("q:" + part)
    return "/".join(parts)


def local(tag):
    return tag.rsplit("}", 1)[-1]


@pytest.fixture(scope="session")
def query(endpoint):
    """query(action, params, signed=True, path='/') -> QueryResponse (form-encoded Query protocol)."""

    def call(action, params=None, signed=True, path="/", version="2012-11-05"):
        form = {"Action": action}
        if version:
            form["Version"] = version
        form.update({k: str(v) for k, v in (params or {}).items()})
        body = requests.models.RequestEncodingMixin._encode_params(form)
        url = endpoint + path
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        if signed:
            headers = sign("POST", url, headers, body)
        resp = requests.post(url, data=body.encode("utf-8"), headers=headers, timeout=40)
        return QueryResponse(resp)

    return call


@pytest.fixture(scope="session")
def json_call(endpoint):
    """json_call(action, payload, signed=True) -> requests.Response (raw JSON 1.0 protocol)."""

    def call(action, payload=None, signed=True, raw_body=None, target_header=None):
        body = raw_body if raw_body is not None else json.dumps(payload or {})
        headers = {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": target_header or f"AmazonSQS.{action}",
        }
        url = endpoint + "/"
        if signed:
            headers = sign("POST", url, headers, body)
        return requests.post(url, data=body.encode("utf-8") if isinstance(body, str) else body, headers=headers, timeout=40)

    return call


# --------------------------------------------------------------------------- admin


@pytest.fixture(scope="session")
def admin(target):
    """Raw access to the nextflix admin routes; skips the test when they are missing."""

    class Admin:
        def get(self, path):
            resp = requests.get(target.url + "/_nextflix" + path, timeout=10)
            if resp.status_code == 404 and not resp.text.strip().startswith("{"):
                pytest.skip(f"admin route {path} not available")
            return resp

        def post(self, path, **kwargs):
            resp = requests.post(target.url + "/_nextflix" + path, timeout=10, **kwargs)
            if resp.status_code == 404:
                pytest.skip(f"admin route {path} not available")
            return resp

    if not target.is_nextflix and target.kind != "external":
        pytest.skip("admin routes exist only on the nextflix endpoint")
    return Admin()


@pytest.fixture
def nextflix_only(target):
    if not target.is_nextflix:
        pytest.skip("needs the nextflix endpoint started by this suite")
    return target
