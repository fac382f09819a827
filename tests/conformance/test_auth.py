"""SigV4 verification (`nextflix endpoint --auth`): signed requests from boto3 and the
AWS CLI pass for SQS, SNS and S3 (including aws-chunked uploads and SigV4 presigned
URLs); a wrong secret, an unknown key, a missing signature or a tampered presigned URL
get AWS's errors in each protocol's shape. Runs only against our endpoint."""

import os
import subprocess
import tempfile
import urllib.error
import urllib.request

import boto3
import botocore.config
import pytest
from botocore.exceptions import ClientError

from conftest import start_nextflix

KEY, SECRET = "AKIDNEXTFLIXTEST", "test-secret-for-auth"


@pytest.fixture(scope="module")
def authed(target):
    if not target.is_nextflix:
        pytest.skip("--auth is ours")
    keys = tempfile.NamedTemporaryFile("w", suffix=".keys", delete=False)
    keys.write(f"# test keys\n{KEY} {SECRET}\nAKIDSECOND second-secret\n")
    keys.close()
    started = start_nextflix(["--auth", "--credentials", keys.name])
    yield started
    started.stop()
    os.unlink(keys.name)


def client(authed, service, key=KEY, secret=SECRET, **config):
    return boto3.client(
        service,
        endpoint_url=authed.url,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=botocore.config.Config(retries={"max_attempts": 1}, **config),
    )


def error_of(call):
    with pytest.raises(ClientError) as exc:
        call()
    return exc.value.response["Error"]["Code"], exc.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_signed_requests_pass_for_every_service(authed):
    sqs = client(authed, "sqs")
    url = sqs.create_queue(QueueName="auth-queue")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="signed")
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "signed"
    second = client(authed, "sqs", key="AKIDSECOND", secret="second-secret")
    assert url in second.list_queues()["QueueUrls"]
    sns = client(authed, "sns")
    assert sns.create_topic(Name="auth-topic")["TopicArn"].endswith(":auth-topic")
    s3 = client(authed, "s3")
    s3.create_bucket(Bucket="auth-bucket")
    s3.put_object(Bucket="auth-bucket", Key="a key/with space+plus.json", Body=b'{"ok":1}')
    got = s3.get_object(Bucket="auth-bucket", Key="a key/with space+plus.json")
    assert got["Body"].read() == b'{"ok":1}'


@pytest.mark.parametrize("service", ["sqs", "sns", "s3"])
def test_a_wrong_secret_or_an_unknown_key_is_refused(authed, service):
    def call(c):
        return getattr(c, {"sqs": "list_queues", "sns": "list_topics", "s3": "list_buckets"}[service])()

    assert error_of(lambda: call(client(authed, service, secret="not-the-secret"))) == ("SignatureDoesNotMatch", 403)
    unknown = "InvalidAccessKeyId" if service == "s3" else "InvalidClientTokenId"
    assert error_of(lambda: call(client(authed, service, key="AKIDUNKNOWN"))) == (unknown, 403)


def test_an_unsigned_request_is_refused(authed):
    for path, code in [("/?Action=ListQueues", b"MissingAuthenticationToken"), ("/auth-bucket/x", b"AccessDenied")]:
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(authed.url + path)
        assert exc.value.code == 403
        assert code in exc.value.read()


def test_sigv4_presigned_urls_work_until_tampered(authed):
    s3 = client(authed, "s3", signature_version="s3v4")
    s3.create_bucket(Bucket="auth-presigned")
    s3.put_object(Bucket="auth-presigned", Key="k.txt", Body=b"hello")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "auth-presigned", "Key": "k.txt"}, ExpiresIn=60)
    assert "X-Amz-Signature=" in url
    assert urllib.request.urlopen(url).read() == b"hello"
    tampered = url.replace("k.txt", "other.txt")
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(tampered)
    assert exc.value.code == 403
    assert b"SignatureDoesNotMatch" in exc.value.read()


def test_the_aws_cli_signs_and_passes(authed):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET, AWS_DEFAULT_REGION="us-east-1")
    env.pop("AWS_ENDPOINT_URL", None)
    out = subprocess.run(
        ["aws", "--endpoint-url", authed.url, "sqs", "create-queue", "--queue-name", "auth-cli"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    env["AWS_SECRET_ACCESS_KEY"] = "wrong"
    out = subprocess.run(
        ["aws", "--endpoint-url", authed.url, "sqs", "list-queues"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode != 0
    assert "SignatureDoesNotMatch" in out.stderr
