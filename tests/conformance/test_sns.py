"""SNS through boto3 (and its JSON 1.0 or Query protocol, whichever botocore speaks for SNS):
every action the endpoint serves, and AWS's errors for bad input."""

import json

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import ACCESS_KEY, REGION, SECRET_KEY, unique_name


@pytest.fixture(scope="module")
def clients(target):
    if not target.is_nextflix:
        pytest.skip("SNS is tested against our endpoint")
    make = lambda service: boto3.client(service, endpoint_url=target.url, region_name=REGION,
                                        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                                        config=Config(retries={"max_attempts": 1}))
    return make("sns"), make("sqs")


def code(call):
    with pytest.raises(ClientError) as exc:
        call()
    return exc.value.response["Error"]["Code"]


def subscribed_queue(sns, sqs, topic, raw=False, policy=True, **attributes):
    url = sqs.create_queue(QueueName=unique_name("snsq"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    if policy:
        statement = {"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
                     "Resource": arn, "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({"Statement": [statement]})})
    if raw:
        attributes["RawMessageDelivery"] = "true"
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes=attributes,
                        ReturnSubscriptionArn=True)["SubscriptionArn"]
    return url, sub


def test_every_action(clients):
    sns, sqs = clients
    name = unique_name("topic")
    topic = sns.create_topic(Name=name, Attributes={"DisplayName": "All actions"},
                             Tags=[{"Key": "team", "Value": "web"}])["TopicArn"]
    assert topic.endswith(":" + name)
    assert sns.create_topic(Name=name, Attributes={"DisplayName": "All actions"})["TopicArn"] == topic
    assert topic in [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    sns.set_topic_attributes(TopicArn=topic, AttributeName="DisplayName", AttributeValue="Renamed")
    assert sns.get_topic_attributes(TopicArn=topic)["Attributes"]["DisplayName"] == "Renamed"
    sns.tag_resource(ResourceArn=topic, Tags=[{"Key": "env", "Value": "test"}])
    sns.untag_resource(ResourceArn=topic, TagKeys=["team"])
    assert sns.list_tags_for_resource(ResourceArn=topic)["Tags"] == [{"Key": "env", "Value": "test"}]

    url, sub = subscribed_queue(sns, sqs, topic, raw=True)
    assert sub in [s["SubscriptionArn"] for s in sns.list_subscriptions()["Subscriptions"]]
    assert [s["SubscriptionArn"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]] == [sub]
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicy",
                                    AttributeValue=json.dumps({"kind": ["movie"]}))
    attrs = sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
    assert attrs["RawMessageDelivery"] == "true" and json.loads(attrs["FilterPolicy"]) == {"kind": ["movie"]}

    ok = sns.publish(TopicArn=topic, Message="movie night",
                     MessageAttributes={"kind": {"DataType": "String", "StringValue": "movie"}})
    sns.publish(TopicArn=topic, Message="filtered", MessageAttributes={"kind": {"DataType": "String", "StringValue": "tv"}})
    batch = sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
        {"Id": "one", "Message": "batch", "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "movie"}}},
        {"Id": "two", "Message": "batch tv", "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "tv"}}},
    ])
    assert sorted(e["Id"] for e in batch["Successful"]) == ["one", "two"] and batch["Failed"] == []
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
    assert sorted(m["Body"] for m in got) == ["batch", "movie night"]
    assert ok["MessageId"]

    sns.unsubscribe(SubscriptionArn=sub)
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
    sns.delete_topic(TopicArn=topic)
    assert topic not in [t["TopicArn"] for t in sns.list_topics()["Topics"]]


def test_envelope_and_message_structure(clients):
    sns, sqs = clients
    topic = sns.create_topic(Name=unique_name("env"))["TopicArn"]
    url, _ = subscribed_queue(sns, sqs, topic)
    sns.publish(TopicArn=topic, Subject="Hi", MessageStructure="json",
                Message=json.dumps({"default": "plain", "sqs": "for queues"}))
    body = json.loads(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"][0]["Body"])
    assert body["Type"] == "Notification" and body["Message"] == "for queues" and body["Subject"] == "Hi"
    assert body["TopicArn"] == topic and body["SignatureVersion"] in ("1", "2")


def test_a_queue_without_the_policy_gets_nothing(clients):
    sns, sqs = clients
    topic = sns.create_topic(Name=unique_name("nopolicy"))["TopicArn"]
    url, _ = subscribed_queue(sns, sqs, topic, policy=False)
    sns.publish(TopicArn=topic, Message="denied")
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []) == []


def test_bad_input_gets_awss_errors(clients):
    sns, sqs = clients
    missing = f"arn:aws:sns:{REGION}:000000000000:{unique_name('missing')}"
    assert code(lambda: sns.publish(TopicArn=missing, Message="x")) == "NotFound"
    assert code(lambda: sns.get_topic_attributes(TopicArn=missing)) == "NotFound"
    assert code(lambda: sns.create_topic(Name="bad name!")) == "InvalidParameter"
    topic = sns.create_topic(Name=unique_name("bad"))["TopicArn"]
    assert code(lambda: sns.publish(TopicArn=topic, Message="")) == "InvalidParameter"
    assert code(lambda: sns.publish(TopicArn=topic, Message="x" * 262_145)) == "InvalidParameter"
    assert code(lambda: sns.publish(TopicArn=topic, Message="{}", MessageStructure="json")) == "InvalidParameter"
    assert code(lambda: sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint="not-an-arn")) == "InvalidParameter"
    assert code(lambda: sns.subscribe(TopicArn=topic, Protocol="carrier-pigeon", Endpoint="x")) == "InvalidParameter"
    assert code(lambda: sns.subscribe(TopicArn=topic, Protocol="sqs",
                                      Endpoint=f"arn:aws:sqs:{REGION}:000000000000:q",
                                      Attributes={"FilterPolicy": "{\"a\": \"no list\"}"})) == "InvalidParameter"
    assert code(lambda: sns.set_topic_attributes(TopicArn=topic, AttributeName="Nope", AttributeValue="1")) == "InvalidParameter"
    assert code(lambda: sns.unsubscribe(SubscriptionArn=topic + ":00000000-0000-0000-0000-000000000000")) == "NotFound"
    assert code(lambda: sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
        {"Id": "same", "Message": "a"}, {"Id": "same", "Message": "b"}])) == "BatchEntryIdsNotDistinct"
    assert code(lambda: sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
        {"Id": f"e{i}", "Message": "m"} for i in range(11)])) == "TooManyEntriesInBatchRequest"
    fifo = sns.create_topic(Name=unique_name("order") + ".fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    assert code(lambda: sns.publish(TopicArn=fifo, Message="no group")) == "InvalidParameter"
