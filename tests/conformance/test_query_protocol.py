"""The Query protocol (form-encoded Action=...&Version=2012-11-05, XML answers), as
older SDKs, boto2-era code and curl users speak it. Raw HTTP, signed with SigV4 unless
a test says otherwise."""

import base64
from urllib.parse import urlencode

import pytest
import requests

from conftest import SQS_XMLNS, sign, local, md5_of_attributes, md5_of_body, query_code, unique_name

pytestmark = pytest.mark.once


def _create(query, name=None, **params):
    name = name or unique_name("qp")
    r = query("CreateQueue", {"QueueName": name, **params})
    assert r.status == 200, r
    return name, r.text_of("CreateQueueResult/QueueUrl")


def _request_id_ok(r):
    rid = r.text_of("ResponseMetadata/RequestId")
    assert rid, f"no ResponseMetadata/RequestId in {r}"


def test_create_queue_xml_shape(query, target):
    name = unique_name("qp")
    r = query(
        "CreateQueue",
        {
            "QueueName": name,
            "Attribute.1.Name": "VisibilityTimeout",
            "Attribute.1.Value": "40",
            "Attribute.2.Name": "DelaySeconds",
            "Attribute.2.Value": "0",
            "Tag.1.Key": "team",
            "Tag.1.Value": "search",
        },
    )
    assert r.status == 200, r
    assert r.headers.get("Content-Type", "").startswith(("text/xml", "application/xml")), r.headers
    assert r.root.tag == f"{{{SQS_XMLNS}}}CreateQueueResponse", r.root.tag
    url = r.text_of("CreateQueueResult/QueueUrl")
    assert url.startswith(f"http://{target.host}/") and url.endswith("/" + name), url
    _request_id_ok(r)

    a = query("GetQueueAttributes", {"QueueUrl": url, "AttributeName.1": "VisibilityTimeout", "AttributeName.2": "QueueArn"})
    assert a.status == 200, a
    got = {x.findtext(f"{{{SQS_XMLNS}}}Name"): x.findtext(f"{{{SQS_XMLNS}}}Value") for x in a.findall("GetQueueAttributesResult/Attribute")}
    assert got["VisibilityTimeout"] == "40"
    assert got["QueueArn"].endswith(":" + name)
    assert set(got) == {"VisibilityTimeout", "QueueArn"}

    t = query("ListQueueTags", {"QueueUrl": url})
    assert t.status == 200, t
    tags = {x.findtext(f"{{{SQS_XMLNS}}}Key"): x.findtext(f"{{{SQS_XMLNS}}}Value") for x in t.findall("ListQueueTagsResult/Tag")}
    assert tags == {"team": "search"}
    query("DeleteQueue", {"QueueUrl": url})


def test_get_queue_url_and_list_queues(query):
    name, url = _create(query)
    r = query("GetQueueUrl", {"QueueName": name})
    assert r.status == 200, r
    assert r.root.tag == f"{{{SQS_XMLNS}}}GetQueueUrlResponse"
    assert r.text_of("GetQueueUrlResult/QueueUrl") == url
    _request_id_ok(r)
    lst = query("ListQueues", {"QueueNamePrefix": name})
    assert lst.status == 200, lst
    assert [e.text for e in lst.findall("ListQueuesResult/QueueUrl")] == [url]
    query("DeleteQueue", {"QueueUrl": url})


def test_get_attributes_all(query):
    _, url = _create(query)
    r = query("GetQueueAttributes", {"QueueUrl": url, "AttributeName.1": "All"})
    assert r.status == 200, r
    names = {x.findtext(f"{{{SQS_XMLNS}}}Name") for x in r.findall("GetQueueAttributesResult/Attribute")}
    assert {
        "QueueArn",
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
        "CreatedTimestamp",
        "LastModifiedTimestamp",
        "VisibilityTimeout",
        "MaximumMessageSize",
        "MessageRetentionPeriod",
        "DelaySeconds",
        "ReceiveMessageWaitTimeSeconds",
    } <= names
    query("DeleteQueue", {"QueueUrl": url})


def test_send_receive_delete_with_attributes(query):
    _, url = _create(query)
    attrs = {
        "event": {"DataType": "String", "StringValue": "MovieDetailsViewedEvent"},
        "mediaId": {"DataType": "Number", "StringValue": "550"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01binary\xff"},
    }
    body = "<event>&\"query\" \u00e9</event>"
    s = query(
        "SendMessage",
        {
            "QueueUrl": url,
            "MessageBody": body,
            "MessageAttribute.1.Name": "event",
            "MessageAttribute.1.Value.DataType": "String",
            "MessageAttribute.1.Value.StringValue": "MovieDetailsViewedEvent",
            "MessageAttribute.2.Name": "mediaId",
            "MessageAttribute.2.Value.DataType": "Number",
            "MessageAttribute.2.Value.StringValue": "550",
            "MessageAttribute.3.Name": "blob",
            "MessageAttribute.3.Value.DataType": "Binary",
            "MessageAttribute.3.Value.BinaryValue": base64.b64encode(b"\x00\x01binary\xff").decode(),
        },
    )
    assert s.status == 200, s
    assert s.root.tag == f"{{{SQS_XMLNS}}}SendMessageResponse"
    assert s.text_of("SendMessageResult/MD5OfMessageBody") == md5_of_body(body)
    assert s.text_of("SendMessageResult/MD5OfMessageAttributes") == md5_of_attributes(attrs)
    message_id = s.text_of("SendMessageResult/MessageId")
    assert message_id
    _request_id_ok(s)

    r = query(
        "ReceiveMessage",
        {
            "QueueUrl": url,
            "AttributeName.1": "All",
            "MessageAttributeName.1": "All",
            "MaxNumberOfMessages": "10",
            "WaitTimeSeconds": "1",
        },
    )
    assert r.status == 200, r
    assert r.root.tag == f"{{{SQS_XMLNS}}}ReceiveMessageResponse"
    msgs = r.findall("ReceiveMessageResult/Message")
    assert len(msgs) == 1
    m = msgs[0]
    q = lambda tag: f"{{{SQS_XMLNS}}}{tag}"  # noqa: E731
    assert m.findtext(q("MessageId")) == message_id
    assert m.findtext(q("Body")) == body
    assert m.findtext(q("MD5OfBody")) == md5_of_body(body)
    assert m.findtext(q("MD5OfMessageAttributes")) == md5_of_attributes(attrs)
    handle = m.findtext(q("ReceiptHandle"))
    assert handle
    system = {a.findtext(q("Name")): a.findtext(q("Value")) for a in m.findall(q("Attribute"))}
    assert system["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(system)
    user = {}
    for a in m.findall(q("MessageAttribute")):
        v = a.find(q("Value"))
        user[a.findtext(q("Name"))] = {local(c.tag): c.text for c in v}
    assert user["event"] == {"StringValue": "MovieDetailsViewedEvent", "DataType": "String"}
    assert user["mediaId"] == {"StringValue": "550", "DataType": "Number"}
    assert user["blob"]["DataType"] == "Binary"
    assert base64.b64decode(user["blob"]["BinaryValue"]) == b"\x00\x01binary\xff"

    d = query("DeleteMessage", {"QueueUrl": url, "ReceiptHandle": handle})
    assert d.status == 200, d
    assert d.root.tag == f"{{{SQS_XMLNS}}}DeleteMessageResponse"
    _request_id_ok(d)
    empty = query("ReceiveMessage", {"QueueUrl": url})
    assert empty.status == 200 and empty.findall("ReceiveMessageResult/Message") == []
    assert empty.find("ReceiveMessageResult") is not None
    query("DeleteQueue", {"QueueUrl": url})


def test_send_message_batch_and_delete_batch(query):
    _, url = _create(query)
    params = {"QueueUrl": url}
    for i in range(1, 4):
        params[f"SendMessageBatchRequestEntry.{i}.Id"] = f"e{i}"
        params[f"SendMessageBatchRequestEntry.{i}.MessageBody"] = f"body {i}"
    params["SendMessageBatchRequestEntry.3.MessageAttribute.1.Name"] = "n"
    params["SendMessageBatchRequestEntry.3.MessageAttribute.1.Value.DataType"] = "Number"
    params["SendMessageBatchRequestEntry.3.MessageAttribute.1.Value.StringValue"] = "3"
    params["SendMessageBatchRequestEntry.4.Id"] = "bad"
    params["SendMessageBatchRequestEntry.4.MessageBody"] = "late"
    params["SendMessageBatchRequestEntry.4.DelaySeconds"] = "901"
    r = query("SendMessageBatch", params)
    assert r.status == 200, r
    assert r.root.tag == f"{{{SQS_XMLNS}}}SendMessageBatchResponse"
    q = lambda tag: f"{{{SQS_XMLNS}}}{tag}"  # noqa: E731
    ok = {e.findtext(q("Id")): e for e in r.findall("SendMessageBatchResult/SendMessageBatchResultEntry")}
    assert set(ok) == {"e1", "e2", "e3"}
    for i in range(1, 4):
        assert ok[f"e{i}"].findtext(q("MD5OfMessageBody")) == md5_of_body(f"body {i}")
        assert ok[f"e{i}"].findtext(q("MessageId"))
    assert ok["e3"].findtext(q("MD5OfMessageAttributes")) == md5_of_attributes({"n": {"DataType": "Number", "StringValue": "3"}})
    failed = r.findall("SendMessageBatchResult/BatchResultErrorEntry")
    assert len(failed) == 1
    assert failed[0].findtext(q("Id")) == "bad"
    assert failed[0].findtext(q("SenderFault")) == "true"
    assert failed[0].findtext(q("Code")) == "InvalidParameterValue"
    _request_id_ok(r)

    handles = []
    for _ in range(5):
        rr = query("ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": "10", "WaitTimeSeconds": "1"})
        handles += [m.findtext(q("ReceiptHandle")) for m in rr.findall("ReceiveMessageResult/Message")]
        if len(handles) >= 3:
            break
    assert len(handles) == 3
    params = {"QueueUrl": url}
    for i, h in enumerate(handles, 1):
        params[f"DeleteMessageBatchRequestEntry.{i}.Id"] = f"d{i}"
        params[f"DeleteMessageBatchRequestEntry.{i}.ReceiptHandle"] = h
    d = query("DeleteMessageBatch", params)
    assert d.status == 200, d
    assert sorted(e.findtext(q("Id")) for e in d.findall("DeleteMessageBatchResult/DeleteMessageBatchResultEntry")) == [
        "d1",
        "d2",
        "d3",
    ]
    query("DeleteQueue", {"QueueUrl": url})


def test_set_attributes_tags_and_purge(query):
    _, url = _create(query)
    r = query("SetQueueAttributes", {"QueueUrl": url, "Attribute.1.Name": "DelaySeconds", "Attribute.1.Value": "5"})
    assert r.status == 200, r
    assert r.root.tag == f"{{{SQS_XMLNS}}}SetQueueAttributesResponse"
    a = query("GetQueueAttributes", {"QueueUrl": url, "AttributeName.1": "DelaySeconds"})
    assert a.text_of("GetQueueAttributesResult/Attribute/Value") == "5"
    assert query("TagQueue", {"QueueUrl": url, "Tag.1.Key": "a", "Tag.1.Value": "1", "Tag.2.Key": "b", "Tag.2.Value": "2"}).status == 200
    assert query("UntagQueue", {"QueueUrl": url, "TagKey.1": "a"}).status == 200
    t = query("ListQueueTags", {"QueueUrl": url})
    q = lambda tag: f"{{{SQS_XMLNS}}}{tag}"  # noqa: E731
    assert {x.findtext(q("Key")): x.findtext(q("Value")) for x in t.findall("ListQueueTagsResult/Tag")} == {"b": "2"}
    p = query("PurgeQueue", {"QueueUrl": url})
    assert p.status == 200, p
    assert p.root.tag == f"{{{SQS_XMLNS}}}PurgeQueueResponse"
    query("DeleteQueue", {"QueueUrl": url})


def test_change_visibility_and_permissions(query):
    _, url = _create(query)
    query("SendMessage", {"QueueUrl": url, "MessageBody": "cv"})
    r = query("ReceiveMessage", {"QueueUrl": url, "WaitTimeSeconds": "1", "VisibilityTimeout": "30"})
    handle = r.text_of("ReceiveMessageResult/Message/ReceiptHandle")
    c = query("ChangeMessageVisibility", {"QueueUrl": url, "ReceiptHandle": handle, "VisibilityTimeout": "0"})
    assert c.status == 200, c
    again = query("ReceiveMessage", {"QueueUrl": url, "WaitTimeSeconds": "1"})
    assert again.text_of("ReceiveMessageResult/Message/Body") == "cv"
    ap = query(
        "AddPermission",
        {"QueueUrl": url, "Label": "p1", "AWSAccountId.1": "111122223333", "ActionName.1": "SendMessage"},
    )
    assert ap.status == 200, ap
    pol = query("GetQueueAttributes", {"QueueUrl": url, "AttributeName.1": "Policy"})
    assert "p1" in (pol.text_of("GetQueueAttributesResult/Attribute/Value") or "")
    rp = query("RemovePermission", {"QueueUrl": url, "Label": "p1"})
    assert rp.status == 200, rp
    query("DeleteQueue", {"QueueUrl": url})


def test_error_xml_shape_unknown_queue(query):
    r = query("GetQueueUrl", {"QueueName": unique_name("missing")})
    assert r.status == 400, r
    assert r.root is not None, r
    assert local(r.root.tag) == "ErrorResponse"
    assert r.text_of("Error/Type") == "Sender"
    assert r.text_of("Error/Code") == query_code("QueueDoesNotExist") == "AWS.SimpleQueueService.NonExistentQueue"
    assert r.text_of("Error/Message")
    assert r.text_of("RequestId")


@pytest.mark.aws_only
def test_error_codes_over_query(query):
    _, url = _create(query)
    cases = [
        ("DeleteMessage", {"QueueUrl": url, "ReceiptHandle": "garbage"}, 404, "ReceiptHandleIsInvalid"),
        ("SendMessage", {"QueueUrl": url, "MessageBody": "nul \x01"}, 400, "InvalidMessageContents"),
        ("ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": "11"}, 400, "InvalidParameterValue"),
        ("SetQueueAttributes", {"QueueUrl": url, "Attribute.1.Name": "Bogus", "Attribute.1.Value": "1"}, 400, "InvalidAttributeName"),
        (
            "SendMessageBatch",
            {"QueueUrl": url, "SendMessageBatchRequestEntry.1.Id": "x", "SendMessageBatchRequestEntry.1.MessageBody": "a",
             "SendMessageBatchRequestEntry.2.Id": "x", "SendMessageBatchRequestEntry.2.MessageBody": "b"},
            400,
            query_code("BatchEntryIdsNotDistinct"),
        ),
        ("CreateQueue", {"QueueName": "bad name!"}, 400, "InvalidParameterValue"),
    ]
    failures = []
    for action, params, status, code in cases:
        r = query(action, params)
        if (r.status, r.error_code) != (status, code) or r.text_of("Error/Type") != "Sender":
            failures.append(f"{action}: want {status} {code}, got {r.status} {r.error_code} type={r.text_of('Error/Type')}")
    query("DeleteQueue", {"QueueUrl": url})
    assert not failures, "\n".join(failures)


@pytest.mark.aws_only
def test_unknown_action(query):
    r = query("FlyToTheMoon", {})
    assert 400 <= r.status < 500, r
    assert r.error_code == "InvalidAction", r


def test_missing_action(endpoint):
    url = endpoint + "/"
    body = "Version=2012-11-05&QueueName=x"
    headers = sign("POST", url, {"Content-Type": "application/x-www-form-urlencoded"}, body)
    resp = requests.post(url, data=body, headers=headers, timeout=10)
    assert 400 <= resp.status_code < 500, resp.text


def test_unsigned_requests_are_accepted(query):
    name = unique_name("qp")
    r = query("CreateQueue", {"QueueName": name}, signed=False)
    assert r.status == 200, r
    url = r.text_of("CreateQueueResult/QueueUrl")
    s = query("SendMessage", {"QueueUrl": url, "MessageBody": "anon"}, signed=False)
    assert s.status == 200, s
    query("DeleteQueue", {"QueueUrl": url}, signed=False)


def test_queue_url_as_request_path(query, endpoint):
    # Older clients post to the queue URL itself and omit QueueUrl.
    _, url = _create(query)
    path = url[url.index("/", len("http://")):]
    s = query("SendMessage", {"MessageBody": "via path"}, path=path)
    assert s.status == 200, s
    r = query("ReceiveMessage", {"WaitTimeSeconds": "1"}, path=path)
    assert r.status == 200, r
    assert r.text_of("ReceiveMessageResult/Message/Body") == "via path"
    query("DeleteQueue", {"QueueUrl": url})


@pytest.mark.aws_only
def test_get_request_with_query_string(endpoint, query):
    name, url = _create(query)
    # Signed for SQS, so that a server with several services on one port can route it.
    get_url = endpoint + "/?" + urlencode({"Action": "GetQueueUrl", "Version": "2012-11-05", "QueueName": name})
    resp = requests.get(get_url, headers=sign("GET", get_url, {}, ""), timeout=10)
    assert resp.status_code == 200, resp.text
    assert url in resp.text
    query("DeleteQueue", {"QueueUrl": url})


@pytest.mark.aws_only
def test_fifo_over_query(query):
    name, url = _create(
        query,
        unique_name("qp") + ".fifo",
        **{"Attribute.1.Name": "FifoQueue", "Attribute.1.Value": "true",
           "Attribute.2.Name": "ContentBasedDeduplication", "Attribute.2.Value": "true"},
    )
    s = query("SendMessage", {"QueueUrl": url, "MessageBody": "f", "MessageGroupId": "g"})
    assert s.status == 200, s
    assert s.text_of("SendMessageResult/SequenceNumber")
    r = query(
        "ReceiveMessage",
        {"QueueUrl": url, "AttributeName.1": "MessageGroupId", "AttributeName.2": "SequenceNumber", "WaitTimeSeconds": "1"},
    )
    q = lambda tag: f"{{{SQS_XMLNS}}}{tag}"  # noqa: E731
    m = r.find("ReceiveMessageResult/Message")
    got = {a.findtext(q("Name")): a.findtext(q("Value")) for a in m.findall(q("Attribute"))}
    assert got["MessageGroupId"] == "g"
    assert got["SequenceNumber"] == s.text_of("SendMessageResult/SequenceNumber")
    missing = query("SendMessage", {"QueueUrl": url, "MessageBody": "no group"})
    assert missing.status == 400 and missing.error_code == "MissingParameter", missing
    query("DeleteQueue", {"QueueUrl": url})


def test_body_with_carriage_returns_and_markup_survives_xml(query):
    # XML parsers turn a literal CR or CRLF into LF; the body must come back exactly,
    # so CR has to be escaped (&#xD;) in the XML answer.
    _, url = _create(query)
    body = "line1\r\nline2\rline3\n]]> <tag attr=\"v\"> & ' \t end"
    attr = {"note": {"DataType": "String", "StringValue": "a\r\nb <&> \r"}}
    s = query(
        "SendMessage",
        {
            "QueueUrl": url,
            "MessageBody": body,
            "MessageAttribute.1.Name": "note",
            "MessageAttribute.1.Value.DataType": "String",
            "MessageAttribute.1.Value.StringValue": attr["note"]["StringValue"],
        },
    )
    assert s.status == 200, s
    assert s.text_of("SendMessageResult/MD5OfMessageBody") == md5_of_body(body)
    assert s.text_of("SendMessageResult/MD5OfMessageAttributes") == md5_of_attributes(attr)
    r = query("ReceiveMessage", {"QueueUrl": url, "WaitTimeSeconds": "1", "MessageAttributeName.1": "All"})
    assert r.status == 200, r
    assert r.text_of("ReceiveMessageResult/Message/Body") == body
    assert r.text_of("ReceiveMessageResult/Message/MessageAttribute/Value/StringValue") == attr["note"]["StringValue"]
    assert r.text_of("ReceiveMessageResult/Message/MD5OfBody") == md5_of_body(body)
    query("DeleteQueue", {"QueueUrl": url})
