"""A botocore SQS client that speaks the Query protocol (form-encoded requests, XML
answers), the way boto3 did before SQS moved to JSON and older SDKs still do.

botocore ships only SQS's JSON model now, so this takes that model and puts back what
the Query protocol needs from SQS's Smithy model: the protocol, the XML names of list
and map members (awsQuery xmlName/xmlFlattened traits) and the result wrappers. The
request serializer and the XML response parser are botocore's own.
"""

import copy
import gzip
import json
import os
import tempfile

import botocore.session
from botocore.config import Config

API_VERSION = "2012-11-05"

# (structure, member) -> XML name, from the SQS Smithy model's xmlName traits.
MEMBER_XML_NAMES = {
    ("AddPermissionRequest", "AWSAccountIds"): "AWSAccountId",
    ("AddPermissionRequest", "Actions"): "ActionName",
    ("ChangeMessageVisibilityBatchRequest", "Entries"): "ChangeMessageVisibilityBatchRequestEntry",
    ("ChangeMessageVisibilityBatchResult", "Successful"): "ChangeMessageVisibilityBatchResultEntry",
    ("ChangeMessageVisibilityBatchResult", "Failed"): "BatchResultErrorEntry",
    ("CreateQueueRequest", "Attributes"): "Attribute",
    ("CreateQueueRequest", "tags"): "Tag",
    ("DeleteMessageBatchRequest", "Entries"): "DeleteMessageBatchRequestEntry",
    ("DeleteMessageBatchResult", "Successful"): "DeleteMessageBatchResultEntry",
    ("DeleteMessageBatchResult", "Failed"): "BatchResultErrorEntry",
    ("GetQueueAttributesRequest", "AttributeNames"): "AttributeName",
    ("GetQueueAttributesResult", "Attributes"): "Attribute",
    ("ListDeadLetterSourceQueuesResult", "queueUrls"): "QueueUrl",
    ("ListMessageMoveTasksResult", "Results"): "ListMessageMoveTasksResultEntry",
    ("ListQueuesResult", "QueueUrls"): "QueueUrl",
    ("ListQueueTagsResult", "Tags"): "Tag",
    ("Message", "Attributes"): "Attribute",
    ("Message", "MessageAttributes"): "MessageAttribute",
    ("ReceiveMessageRequest", "AttributeNames"): "AttributeName",
    ("ReceiveMessageRequest", "MessageSystemAttributeNames"): "AttributeName",
    ("ReceiveMessageRequest", "MessageAttributeNames"): "MessageAttributeName",
    ("ReceiveMessageResult", "Messages"): "Message",
    ("SendMessageBatchRequest", "Entries"): "SendMessageBatchRequestEntry",
    ("SendMessageBatchRequestEntry", "MessageAttributes"): "MessageAttribute",
    ("SendMessageBatchRequestEntry", "MessageSystemAttributes"): "MessageSystemAttribute",
    ("SendMessageBatchResult", "Successful"): "SendMessageBatchResultEntry",
    ("SendMessageBatchResult", "Failed"): "BatchResultErrorEntry",
    ("SendMessageRequest", "MessageAttributes"): "MessageAttribute",
    ("SendMessageRequest", "MessageSystemAttributes"): "MessageSystemAttribute",
    ("SetQueueAttributesRequest", "Attributes"): "Attribute",
    ("TagQueueRequest", "Tags"): "Tag",
    ("UntagQueueRequest", "TagKeys"): "TagKey",
}

# map shape -> (key XML name, value XML name)
MAP_XML_NAMES = {
    "MessageBodyAttributeMap": ("Name", "Value"),
    "MessageBodySystemAttributeMap": ("Name", "Value"),
    "MessageSystemAttributeMap": ("Name", "Value"),
    "QueueAttributeMap": ("Name", "Value"),
    "TagMap": ("Key", "Value"),
}


def query_model():
    """SQS's service model turned into a Query-protocol model."""
    import botocore

    path = os.path.join(os.path.dirname(botocore.__file__), "data", "sqs", API_VERSION, "service-2.json.gz")
    with gzip.open(path) as f:
        model = json.load(f)
    model = copy.deepcopy(model)
    meta = model["metadata"]
    meta["protocol"] = "query"
    meta["protocols"] = ["query"]
    meta["xmlNamespace"] = f"http://queue.amazonaws.com/doc/{API_VERSION}/"
    for key in ("jsonVersion", "targetPrefix", "awsQueryCompatible"):
        meta.pop(key, None)
    for (struct, member), name in MEMBER_XML_NAMES.items():
        model["shapes"][struct]["members"][member]["locationName"] = name
    for shape, (key_name, value_name) in MAP_XML_NAMES.items():
        model["shapes"][shape]["key"]["locationName"] = key_name
        model["shapes"][shape]["value"]["locationName"] = value_name
    for name, op in model["operations"].items():
        if "output" in op:
            op["output"]["resultWrapper"] = f"{name}Result"
    return model


_MODEL_DIR = None


def _model_dir():
    global _MODEL_DIR
    if _MODEL_DIR is None:
        root = tempfile.mkdtemp(prefix="sqs-query-model-")
        target = os.path.join(root, "sqs", API_VERSION)
        os.makedirs(target)
        with open(os.path.join(target, "service-2.json"), "w") as f:
            json.dump(query_model(), f)
        _MODEL_DIR = root
    return _MODEL_DIR


def make_query_client(endpoint_url, region="us-east-1", key="test", secret="test"):
    session = botocore.session.Session()
    loader = session.get_component("data_loader")
    loader.search_paths.insert(0, _model_dir())
    return session.create_client(
        "sqs",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=40),
    )
