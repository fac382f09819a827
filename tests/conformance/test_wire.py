"""The JSON 1.0 wire format itself, and robustness: whatever arrives, the answer is an
AWS-shaped error and never a 500."""

import json
import os

import pytest
import requests

from conftest import sign, unique_name

pytestmark = pytest.mark.once

ACTIONS = [
    "AddPermission", "CancelMessageMoveTask", "ChangeMessageVisibility", "ChangeMessageVisibilityBatch",
    "CreateQueue", "DeleteMessage", "DeleteMessageBatch", "DeleteQueue", "GetQueueAttributes", "GetQueueUrl",
    "ListDeadLetterSourceQueues", "ListMessageMoveTasks", "ListQueueTags", "ListQueues", "PurgeQueue",
    "ReceiveMessage", "RemovePermission", "SendMessage", "SendMessageBatch", "SetQueueAttributes",
    "StartMessageMoveTask", "TagQueue", "UntagQueue",
]


def _json_error(resp):
    assert 400 <= resp.status_code < 500, f"{resp.status_code}: {resp.text[:300]}"
    body = resp.json()
    assert "__type" in body, body
    return body


def test_json_success_headers(json_call):
    resp = json_call("ListQueues", {})
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"].startswith("application/x-amz-json-1.0")
    assert resp.headers.get("x-amzn-RequestId")
    json.loads(resp.text)


def test_json_error_shape_queue_does_not_exist(json_call):
    resp = json_call("GetQueueUrl", {"QueueName": unique_name("missing")})
    assert resp.status_code == 400, resp.text
    assert resp.headers["Content-Type"].startswith("application/x-amz-json-1.0")
    body = resp.json()
    assert body["__type"] == "com.amazonaws.sqs#QueueDoesNotExist"
    assert body.get("message") or body.get("Message")
    assert resp.headers.get("x-amzn-query-error") == "AWS.SimpleQueueService.NonExistentQueue;Sender"
    assert resp.headers.get("x-amzn-RequestId")


def test_json_error_shape_queue_name_exists(json_call, sqs, make_queue):
    name = unique_name()
    make_queue(name, VisibilityTimeout=5)
    resp = json_call("CreateQueue", {"QueueName": name, "Attributes": {"VisibilityTimeout": "6"}})
    assert resp.status_code == 400, resp.text
    assert resp.json()["__type"] == "com.amazonaws.sqs#QueueNameExists"
    assert resp.headers.get("x-amzn-query-error") == "QueueAlreadyExists;Sender"


def test_json_invalid_parameter_value_has_query_code(json_call, queue):
    resp = json_call("ReceiveMessage", {"QueueUrl": queue, "MaxNumberOfMessages": 11})
    _json_error(resp)
    assert resp.headers.get("x-amzn-query-error") == "InvalidParameterValue;Sender"


def test_unsigned_json_is_accepted(json_call):
    resp = json_call("ListQueues", {}, signed=False)
    assert resp.status_code == 200, resp.text


@pytest.mark.aws_only
def test_unknown_json_operation(json_call):
    resp = json_call("FlyToTheMoon", {})
    body = _json_error(resp)
    assert body["__type"].split("#")[-1] in ("UnknownOperationException", "InvalidAction"), body


@pytest.mark.aws_only
def test_bad_target_prefix(json_call):
    resp = json_call("ListQueues", {}, target_header="AmazonSNS.ListQueues")
    assert 400 <= resp.status_code < 500, resp.text


@pytest.mark.aws_only
@pytest.mark.parametrize(
    "raw",
    ["{not json", "[]", "null", "\"string\"", "\x00\x01\x02", "{\"QueueName\": }", "{" * 1000],
    ids=["broken", "array", "null", "string", "binary", "truncated", "deep"],
)
def test_garbage_json_body(json_call, raw):
    resp = json_call("CreateQueue", raw_body=raw)
    _json_error(resp)


@pytest.mark.aws_only
@pytest.mark.parametrize(
    "payload",
    [
        {"QueueUrl": 123, "MessageBody": "x"},
        {"QueueUrl": "q", "MessageBody": ["x"]},
        {"QueueUrl": "q", "MessageBody": "x", "DelaySeconds": "ten"},
        {"QueueUrl": "q", "MessageBody": "x", "MessageAttributes": "nope"},
        {"QueueUrl": "q", "MessageBody": "x", "MessageAttributes": {"a": {"DataType": "String"}}},
        {"QueueUrl": "q", "MessageBody": "x", "MessageAttributes": {"a": {"StringValue": "s"}}},
        {"QueueUrl": "q", "MessageBody": "x", "MessageAttributes": {"a": {"DataType": "Binary", "BinaryValue": "***not base64***"}}},
    ],
    ids=["url-number", "body-list", "delay-string", "attrs-string", "attr-no-value", "attr-no-type", "bad-base64"],
)
def test_wrong_types_are_client_errors(json_call, payload):
    _json_error(json_call("SendMessage", payload))


@pytest.mark.aws_only
def test_wrong_types_in_receive(json_call, queue):
    _json_error(json_call("ReceiveMessage", {"QueueUrl": queue, "MaxNumberOfMessages": "ten"}))
    _json_error(json_call("ReceiveMessage", {"QueueUrl": queue, "WaitTimeSeconds": -5}))
    _json_error(json_call("ReceiveMessage", {"QueueUrl": queue, "MaxNumberOfMessages": 1e30}))


@pytest.mark.aws_only
@pytest.mark.parametrize("action", ACTIONS)
def test_every_action_with_empty_input_never_500(json_call, action):
    resp = json_call(action, {})
    assert resp.status_code < 500, f"{action}: {resp.status_code} {resp.text[:300]}"
    if resp.status_code != 200:
        _json_error(resp)
    else:
        assert action == "ListQueues", f"{action} accepted an empty request: {resp.text[:300]}"


@pytest.mark.aws_only
@pytest.mark.parametrize("action", ACTIONS)
def test_every_action_over_query_with_no_params_never_500(query, action):
    r = query(action, {})
    assert r.status < 500, f"{action}: {r.status} {r.text[:300]}"
    if r.status != 200:
        assert r.root is not None and r.root.tag.endswith("ErrorResponse"), r
        assert r.error_code, r
    else:
        assert action == "ListQueues", f"{action} accepted an empty request: {r.text[:300]}"


@pytest.mark.aws_only
def test_missing_required_parameter(json_call):
    resp = json_call("CreateQueue", {})
    _json_error(resp)
    q = resp.headers.get("x-amzn-query-error", "")
    assert q.split(";")[0] in ("MissingParameter", "InvalidParameterValue"), q


@pytest.mark.aws_only
def test_random_bytes_post(endpoint):
    resp = requests.post(endpoint + "/", data=os.urandom(4096), timeout=10)
    assert 400 <= resp.status_code < 500, resp.text[:300]


def test_oversized_request_is_rejected_not_crashing(json_call, queue):
    resp = json_call("SendMessage", {"QueueUrl": queue, "MessageBody": "z" * (3 * 1024 * 1024)})
    assert 400 <= resp.status_code < 500, resp.text[:300]


def test_unknown_queue_url_forms(json_call):
    for url in ["http://127.0.0.1:1/000000000000/" + unique_name("nope"), "not a url at all", "/000000000000/"]:
        resp = json_call("GetQueueAttributes", {"QueueUrl": url, "AttributeNames": ["All"]})
        body = _json_error(resp)
        assert body["__type"].split("#")[-1] in ("QueueDoesNotExist", "InvalidAddress"), (url, body)


def test_signed_with_other_region_and_keys(endpoint):
    # Any credentials and any region in the signature are accepted.
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    body = json.dumps({})
    req = AWSRequest(
        method="POST",
        url=endpoint + "/",
        data=body,
        headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.ListQueues"},
    )
    SigV4Auth(Credentials("AKIDEXAMPLE", "secret-other", "session-token"), "sqs", "eu-west-3").add_auth(req)
    resp = requests.post(endpoint + "/", data=body, headers=dict(req.headers.items()), timeout=10)
    assert resp.status_code == 200, resp.text


def test_content_type_variants(endpoint):
    url = endpoint + "/"
    body = json.dumps({})
    for ctype in ("application/x-amz-json-1.0", "application/x-amz-json-1.0; charset=utf-8"):
        headers = sign("POST", url, {"Content-Type": ctype, "X-Amz-Target": "AmazonSQS.ListQueues"}, body)
        resp = requests.post(url, data=body, headers=headers, timeout=10)
        assert resp.status_code == 200, (ctype, resp.status_code, resp.text[:200])
