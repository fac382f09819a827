"""Queue management over the JSON protocol: create, find, list, attributes, tags,
permissions, deletion."""

import json
import re
import time

import pytest
from botocore.exceptions import ClientError

from conftest import (
    REGION,
    assert_invalid_parameter,
    assert_sqs_error,
    attrs,
    queue_arn,
    unique_name,
)

ACCOUNT_RE = r"\d{12}"


def test_create_queue_returns_url_on_host(sqs, target, make_queue):
    name = unique_name()
    url = make_queue(name)
    assert re.fullmatch(rf"http://{re.escape(target.host)}/{ACCOUNT_RE}/{re.escape(name)}", url), url


def test_create_queue_is_idempotent_with_same_attributes(sqs, make_queue):
    name = unique_name()
    url = make_queue(name, VisibilityTimeout=7)
    again = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "7"})["QueueUrl"]
    assert again == url
    plain = sqs.create_queue(QueueName=name)["QueueUrl"]
    assert plain == url


def test_create_queue_with_different_attributes_is_queue_name_exists(sqs, make_queue):
    name = unique_name()
    make_queue(name, VisibilityTimeout=7)
    with pytest.raises(ClientError) as exc:
        sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "8"})
    assert_sqs_error(exc, "QueueNameExists")


@pytest.mark.parametrize(
    "name",
    ["has space", "bad!char", "x" * 81, "", "dots.in.name", "slash/name"],
    ids=["space", "bang", "too-long", "empty", "dots", "slash"],
)
def test_create_queue_bad_names(sqs, name):
    with pytest.raises(ClientError) as exc:
        sqs.create_queue(QueueName=name)
    assert_invalid_parameter(exc, ("InvalidParameterValue", "MissingParameter"))


def test_create_queue_name_limits(sqs, make_queue):
    name = unique_name("a-_")
    name += "z" * (80 - len(name))
    assert len(name) == 80
    url = make_queue(name)
    assert url.endswith("/" + name)


@pytest.mark.aws_only
def test_fifo_name_without_fifo_attribute_is_rejected(sqs):
    with pytest.raises(ClientError) as exc:
        sqs.create_queue(QueueName=unique_name() + ".fifo")
    assert_invalid_parameter(exc, ("InvalidParameterValue",))


def test_fifo_attribute_without_fifo_suffix_is_rejected(sqs):
    with pytest.raises(ClientError) as exc:
        sqs.create_queue(QueueName=unique_name(), Attributes={"FifoQueue": "true"})
    assert_invalid_parameter(exc, ("InvalidParameterValue", "InvalidAttributeValue"))


def test_get_queue_url(sqs, make_queue):
    name = unique_name()
    url = make_queue(name)
    assert sqs.get_queue_url(QueueName=name)["QueueUrl"] == url


def test_get_queue_url_unknown_queue(sqs):
    with pytest.raises(ClientError) as exc:
        sqs.get_queue_url(QueueName=unique_name("missing"))
    assert_sqs_error(exc, "QueueDoesNotExist")


def test_get_queue_url_with_owner_account(sqs, make_queue):
    name = unique_name()
    url = make_queue(name)
    account = url.rstrip("/").split("/")[-2]
    got = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
    assert got == url


def test_delete_queue(sqs, make_queue):
    name = unique_name()
    url = make_queue(name)
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(ClientError) as exc:
        sqs.get_queue_url(QueueName=name)
    assert_sqs_error(exc, "QueueDoesNotExist")
    with pytest.raises(ClientError) as exc:
        sqs.send_message(QueueUrl=url, MessageBody="x")
    assert_sqs_error(exc, "QueueDoesNotExist")


def test_delete_unknown_queue(sqs, make_queue):
    url = make_queue()
    missing = url.rsplit("/", 1)[0] + "/" + unique_name("missing")
    with pytest.raises(ClientError) as exc:
        sqs.delete_queue(QueueUrl=missing)
    assert_sqs_error(exc, "QueueDoesNotExist")


def test_operations_on_unknown_queue(sqs, make_queue):
    url = make_queue()
    missing = url.rsplit("/", 1)[0] + "/" + unique_name("missing")
    calls = [
        lambda: sqs.get_queue_attributes(QueueUrl=missing, AttributeNames=["All"]),
        lambda: sqs.set_queue_attributes(QueueUrl=missing, Attributes={"DelaySeconds": "1"}),
        lambda: sqs.send_message(QueueUrl=missing, MessageBody="x"),
        lambda: sqs.receive_message(QueueUrl=missing),
        lambda: sqs.purge_queue(QueueUrl=missing),
        lambda: sqs.list_queue_tags(QueueUrl=missing),
        lambda: sqs.tag_queue(QueueUrl=missing, Tags={"a": "b"}),
    ]
    for call in calls:
        with pytest.raises(ClientError) as exc:
            call()
        assert_sqs_error(exc, "QueueDoesNotExist")


def test_list_queues_with_prefix(sqs, make_queue):
    prefix = unique_name("lq")
    urls = sorted(make_queue(f"{prefix}-{i}") for i in range(3))
    other = make_queue()
    listed = sqs.list_queues(QueueNamePrefix=prefix).get("QueueUrls", [])
    assert sorted(listed) == urls
    everything = sqs.list_queues().get("QueueUrls", [])
    assert set(urls) | {other} <= set(everything)


def test_list_queues_no_match_has_no_urls(sqs):
    resp = sqs.list_queues(QueueNamePrefix=unique_name("nothing"))
    assert resp.get("QueueUrls", []) == []


def test_list_queues_pagination(sqs, make_queue):
    prefix = unique_name("pg")
    urls = {make_queue(f"{prefix}-{i}") for i in range(5)}
    seen = []
    token = None
    pages = 0
    while True:
        kwargs = {"QueueNamePrefix": prefix, "MaxResults": 2}
        if token:
            kwargs["NextToken"] = token
        resp = sqs.list_queues(**kwargs)
        page = resp.get("QueueUrls", [])
        assert len(page) <= 2
        seen.extend(page)
        pages += 1
        token = resp.get("NextToken")
        if not token:
            break
        assert pages < 10
    assert pages == 3
    assert sorted(seen) == sorted(urls)


@pytest.mark.aws_only
def test_list_queues_max_results_out_of_range(sqs):
    with pytest.raises(ClientError) as exc:
        sqs.list_queues(MaxResults=1001)
    assert_invalid_parameter(exc)


@pytest.mark.aws_only
def test_default_attributes(sqs, make_queue):
    name = unique_name()
    url = make_queue(name)
    a = attrs(sqs, url)
    assert a["VisibilityTimeout"] == "30"
    assert a["MessageRetentionPeriod"] == "345600"
    assert a["DelaySeconds"] == "0"
    assert a["ReceiveMessageWaitTimeSeconds"] == "0"
    assert a["ApproximateNumberOfMessages"] == "0"
    assert a["ApproximateNumberOfMessagesNotVisible"] == "0"
    assert a["ApproximateNumberOfMessagesDelayed"] == "0"
    account = url.split("/")[-2]
    assert a["QueueArn"] == f"arn:aws:sqs:{REGION}:{account}:{name}"
    now = time.time()
    assert abs(int(a["CreatedTimestamp"]) - now) < 60
    assert abs(int(a["LastModifiedTimestamp"]) - now) < 60
    assert "FifoQueue" not in a
    assert "RedrivePolicy" not in a


@pytest.mark.aws_only
def test_default_maximum_message_size_is_1_mib(sqs, make_queue):
    # AWS raised the limit and the default to 1 MiB (1,048,576 bytes) in 2025.
    url = make_queue()
    assert attrs(sqs, url, "MaximumMessageSize")["MaximumMessageSize"] == "1048576"


def test_attribute_round_trip_on_create(sqs, make_queue):
    url = make_queue(
        VisibilityTimeout=45,
        MessageRetentionPeriod=86400,
        DelaySeconds=3,
        MaximumMessageSize=262144,
        ReceiveMessageWaitTimeSeconds=2,
    )
    a = attrs(sqs, url)
    assert a["VisibilityTimeout"] == "45"
    assert a["MessageRetentionPeriod"] == "86400"
    assert a["DelaySeconds"] == "3"
    assert a["MaximumMessageSize"] == "262144"
    assert a["ReceiveMessageWaitTimeSeconds"] == "2"


def test_tutorial_queue_configuration(sqs, make_queue):
    # The tutorial's netflix-events queue: 60 s visibility, 1 day retention, no delay, 256 KiB.
    url = make_queue(
        VisibilityTimeout=60, MessageRetentionPeriod=86400, DelaySeconds=0, MaximumMessageSize=262144
    )
    a = attrs(sqs, url, "VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "MaximumMessageSize")
    assert a == {
        "VisibilityTimeout": "60",
        "MessageRetentionPeriod": "86400",
        "DelaySeconds": "0",
        "MaximumMessageSize": "262144",
    }


@pytest.mark.aws_only
def test_set_queue_attributes_round_trip(sqs, make_queue):
    url = make_queue()
    before = int(attrs(sqs, url, "LastModifiedTimestamp")["LastModifiedTimestamp"])
    time.sleep(1.05)
    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={
            "VisibilityTimeout": "0",
            "MessageRetentionPeriod": "60",
            "DelaySeconds": "900",
            "MaximumMessageSize": "1024",
            "ReceiveMessageWaitTimeSeconds": "20",
        },
    )
    a = attrs(sqs, url)
    assert a["VisibilityTimeout"] == "0"
    assert a["MessageRetentionPeriod"] == "60"
    assert a["DelaySeconds"] == "900"
    assert a["MaximumMessageSize"] == "1024"
    assert a["ReceiveMessageWaitTimeSeconds"] == "20"
    assert int(a["LastModifiedTimestamp"]) > before
    assert int(a["CreatedTimestamp"]) <= before


def test_set_queue_attributes_upper_limits(sqs, make_queue):
    url = make_queue()
    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={
            "VisibilityTimeout": "43200",
            "MessageRetentionPeriod": "1209600",
            "MaximumMessageSize": "1048576",
        },
    )
    a = attrs(sqs, url, "VisibilityTimeout", "MessageRetentionPeriod", "MaximumMessageSize")
    assert a == {"VisibilityTimeout": "43200", "MessageRetentionPeriod": "1209600", "MaximumMessageSize": "1048576"}


def test_get_selected_attributes_only(sqs, make_queue):
    url = make_queue()
    a = attrs(sqs, url, "VisibilityTimeout", "QueueArn")
    assert set(a) == {"VisibilityTimeout", "QueueArn"}


def test_get_attributes_without_names_returns_none(sqs, make_queue):
    url = make_queue()
    resp = sqs.get_queue_attributes(QueueUrl=url)
    assert resp.get("Attributes", {}) == {}


@pytest.mark.aws_only
@pytest.mark.parametrize(
    "name,value",
    [
        ("VisibilityTimeout", "43201"),
        ("VisibilityTimeout", "-1"),
        ("VisibilityTimeout", "abc"),
        ("MessageRetentionPeriod", "59"),
        ("MessageRetentionPeriod", "1209601"),
        ("DelaySeconds", "901"),
        ("MaximumMessageSize", "1023"),
        ("MaximumMessageSize", "1048577"),
        ("ReceiveMessageWaitTimeSeconds", "21"),
    ],
)
def test_set_invalid_attribute_values(sqs, make_queue, name, value):
    url = make_queue()
    with pytest.raises(ClientError) as exc:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={name: value})
    assert_sqs_error(exc, "InvalidAttributeValue")


@pytest.mark.aws_only
@pytest.mark.parametrize("name,value", [("VisibilityTimeout", "43201"), ("DelaySeconds", "901")])
def test_create_with_invalid_attribute_values(sqs, name, value):
    with pytest.raises(ClientError) as exc:
        sqs.create_queue(QueueName=unique_name(), Attributes={name: value})
    assert_sqs_error(exc, "InvalidAttributeValue")


@pytest.mark.aws_only
def test_set_unknown_attribute_name(sqs, make_queue):
    url = make_queue()
    with pytest.raises(ClientError) as exc:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"NoSuchAttribute": "1"})
    assert_sqs_error(exc, "InvalidAttributeName")


@pytest.mark.aws_only
def test_create_with_unknown_attribute_name(sqs):
    with pytest.raises(ClientError) as exc:
        sqs.create_queue(QueueName=unique_name(), Attributes={"NoSuchAttribute": "1"})
    assert_sqs_error(exc, "InvalidAttributeName")


def test_get_unknown_attribute_name(sqs, make_queue):
    url = make_queue()
    with pytest.raises(ClientError) as exc:
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["NoSuchAttribute"])
    assert_sqs_error(exc, "InvalidAttributeName")


@pytest.mark.aws_only
def test_fifo_only_attribute_on_standard_queue(sqs):
    with pytest.raises(ClientError) as exc:
        sqs.create_queue(QueueName=unique_name(), Attributes={"ContentBasedDeduplication": "true"})
    assert_sqs_error(exc, "InvalidAttributeName")


def test_fifo_queue_attributes(sqs, make_queue):
    name = unique_name() + ".fifo"
    url = make_queue(name, fifo=True)
    assert url.endswith("/" + name)
    a = attrs(sqs, url)
    assert a["FifoQueue"] == "true"
    assert a["ContentBasedDeduplication"] == "false"
    assert a["DeduplicationScope"] == "queue"
    assert a["FifoThroughputLimit"] == "perQueue"
    assert a["QueueArn"].endswith(":" + name)


def test_fifo_high_throughput_attributes_round_trip(sqs, make_queue):
    url = make_queue(
        fifo=True,
        ContentBasedDeduplication="true",
        DeduplicationScope="messageGroup",
        FifoThroughputLimit="perMessageGroupId",
    )
    a = attrs(sqs, url, "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit")
    assert a == {
        "ContentBasedDeduplication": "true",
        "DeduplicationScope": "messageGroup",
        "FifoThroughputLimit": "perMessageGroupId",
    }
    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={"ContentBasedDeduplication": "false", "DeduplicationScope": "queue", "FifoThroughputLimit": "perQueue"},
    )
    a = attrs(sqs, url, "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit")
    assert a == {"ContentBasedDeduplication": "false", "DeduplicationScope": "queue", "FifoThroughputLimit": "perQueue"}


@pytest.mark.aws_only
def test_fifo_bad_deduplication_scope(sqs):
    with pytest.raises(ClientError) as exc:
        sqs.create_queue(
            QueueName=unique_name() + ".fifo", Attributes={"FifoQueue": "true", "DeduplicationScope": "nope"}
        )
    assert_sqs_error(exc, "InvalidAttributeValue")


def test_policy_round_trip(sqs, make_queue):
    url = make_queue()
    arn = queue_arn(sqs, url)
    policy = {
        "Version": "2012-10-17",
        "Id": "netflix-events-policy",
        "Statement": [
            {
                "Sid": "topic-to-queue",
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": f"arn:aws:sns:{REGION}:000000000000:netflix-events-topic"}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    got = json.loads(attrs(sqs, url, "Policy")["Policy"])
    assert got == policy
    # An empty policy removes it.
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""})
    assert "Policy" not in attrs(sqs, url, "All")


@pytest.mark.aws_only
def test_invalid_policy_is_rejected(sqs, make_queue):
    url = make_queue()
    with pytest.raises(ClientError) as exc:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": "{not json"})
    assert_sqs_error(exc, "InvalidAttributeValue")


@pytest.mark.aws_only
def test_redrive_policies_round_trip(sqs, make_queue):
    dlq = make_queue()
    dlq_arn = queue_arn(sqs, dlq)
    src = make_queue()
    src_arn = queue_arn(sqs, src)
    sqs.set_queue_attributes(
        QueueUrl=dlq,
        Attributes={"RedriveAllowPolicy": json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [src_arn]})},
    )
    sqs.set_queue_attributes(
        QueueUrl=src,
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 4})},
    )
    rp = json.loads(attrs(sqs, src, "RedrivePolicy")["RedrivePolicy"])
    assert rp["deadLetterTargetArn"] == dlq_arn
    assert int(rp["maxReceiveCount"]) == 4
    rap = json.loads(attrs(sqs, dlq, "RedriveAllowPolicy")["RedriveAllowPolicy"])
    assert rap == {"redrivePermission": "byQueue", "sourceQueueArns": [src_arn]}
    # An empty RedrivePolicy removes it.
    sqs.set_queue_attributes(QueueUrl=src, Attributes={"RedrivePolicy": ""})
    assert "RedrivePolicy" not in attrs(sqs, src)


def test_redrive_policy_to_missing_queue_is_rejected(sqs, make_queue):
    url = make_queue()
    account = url.split("/")[-2]
    bogus = json.dumps(
        {"deadLetterTargetArn": f"arn:aws:sqs:{REGION}:{account}:{unique_name('missing')}", "maxReceiveCount": 2}
    )
    with pytest.raises(ClientError) as exc:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": bogus})
    assert_invalid_parameter(exc, ("InvalidParameterValue", "InvalidAttributeValue", "AWS.SimpleQueueService.NonExistentQueue"))


@pytest.mark.aws_only
def test_redrive_policy_malformed_is_rejected(sqs, make_queue):
    url = make_queue()
    for bad in ["{not json", json.dumps({"maxReceiveCount": 2})]:
        with pytest.raises(ClientError) as exc:
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": bad})
        assert_invalid_parameter(exc, ("InvalidParameterValue", "InvalidAttributeValue"))


@pytest.mark.aws_only
def test_redrive_deny_all_blocks_source(sqs, make_queue):
    dlq = make_queue(RedriveAllowPolicy=json.dumps({"redrivePermission": "denyAll"}))
    dlq_arn = queue_arn(sqs, dlq)
    src = make_queue()
    with pytest.raises(ClientError) as exc:
        sqs.set_queue_attributes(
            QueueUrl=src,
            Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})},
        )
    assert_invalid_parameter(exc, ("InvalidParameterValue", "InvalidAttributeValue"))


@pytest.mark.aws_only
def test_standard_queue_cannot_use_fifo_dlq(sqs, make_queue):
    dlq = make_queue(fifo=True)
    src = make_queue()
    with pytest.raises(ClientError) as exc:
        sqs.set_queue_attributes(
            QueueUrl=src,
            Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": queue_arn(sqs, dlq), "maxReceiveCount": 2})},
        )
    assert_invalid_parameter(exc, ("InvalidParameterValue", "InvalidAttributeValue"))


# ------------------------------------------------------------------ tags


def test_tags_lifecycle(sqs, make_queue):
    url = make_queue()
    assert sqs.list_queue_tags(QueueUrl=url).get("Tags", {}) == {}
    sqs.tag_queue(QueueUrl=url, Tags={"team": "recommendation", "env": "dev"})
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "recommendation", "env": "dev"}
    sqs.tag_queue(QueueUrl=url, Tags={"env": "prod"})
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "recommendation", "env": "prod"}
    sqs.untag_queue(QueueUrl=url, TagKeys=["team", "not-there"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"env": "prod"}


def test_create_queue_with_tags(sqs, make_queue):
    name = unique_name()
    url = sqs.create_queue(QueueName=name, tags={"service": "search"})["QueueUrl"]
    make_queue.urls.append(url)
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"service": "search"}


@pytest.mark.aws_only
def test_too_many_tags(sqs, make_queue):
    url = make_queue()
    with pytest.raises(ClientError) as exc:
        sqs.tag_queue(QueueUrl=url, Tags={f"k{i}": "v" for i in range(51)})
    assert_invalid_parameter(exc, ("InvalidParameterValue", "InvalidParameterCombination"))


# ------------------------------------------------------------------ permissions


def _statements(sqs, url):
    raw = attrs(sqs, url, "Policy").get("Policy")
    if not raw:
        return []
    return json.loads(raw)["Statement"]


def test_add_and_remove_permission(sqs, make_queue):
    url = make_queue()
    arn = queue_arn(sqs, url)
    sqs.add_permission(
        QueueUrl=url, Label="AliceSend", AWSAccountIds=["111122223333"], Actions=["SendMessage", "ReceiveMessage"]
    )
    stmts = _statements(sqs, url)
    assert len(stmts) == 1
    st = stmts[0]
    assert st["Sid"] == "AliceSend"
    assert st["Effect"] == "Allow"
    assert st["Resource"] == arn
    actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
    assert sorted(a.lower() for a in actions) == ["sqs:receivemessage", "sqs:sendmessage"]
    principal = json.dumps(st["Principal"])
    assert "111122223333" in principal
    sqs.add_permission(QueueUrl=url, Label="BobAll", AWSAccountIds=["444455556666"], Actions=["*"])
    assert sorted(s["Sid"] for s in _statements(sqs, url)) == ["AliceSend", "BobAll"]
    sqs.remove_permission(QueueUrl=url, Label="AliceSend")
    assert [s["Sid"] for s in _statements(sqs, url)] == ["BobAll"]


def test_add_permission_duplicate_label(sqs, make_queue):
    url = make_queue()
    sqs.add_permission(QueueUrl=url, Label="dup", AWSAccountIds=["111122223333"], Actions=["SendMessage"])
    with pytest.raises(ClientError) as exc:
        sqs.add_permission(QueueUrl=url, Label="dup", AWSAccountIds=["111122223333"], Actions=["SendMessage"])
    assert_invalid_parameter(exc)


def test_remove_unknown_permission(sqs, make_queue):
    url = make_queue()
    with pytest.raises(ClientError) as exc:
        sqs.remove_permission(QueueUrl=url, Label="nope")
    assert_invalid_parameter(exc)


def test_add_permission_unknown_queue(sqs, make_queue):
    url = make_queue()
    missing = url.rsplit("/", 1)[0] + "/" + unique_name("missing")
    with pytest.raises(ClientError) as exc:
        sqs.add_permission(QueueUrl=missing, Label="x", AWSAccountIds=["111122223333"], Actions=["SendMessage"])
    assert_sqs_error(exc, "QueueDoesNotExist")
