"""The S3 subset through boto3 and the AWS CLI: buckets, objects with metadata and
checksums (boto3 sends aws-chunked bodies with CRC trailers), ranges, listings with
prefixes, delimiters and continuation tokens, copies, batch deletes, and S3's errors."""

import os
import subprocess
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError


@pytest.fixture(scope="module")
def s3(target):
    if not target.is_nextflix:
        pytest.skip("the S3 subset is tested against our endpoint")
    return boto3.client(
        "s3",
        endpoint_url=target.url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
    )


@pytest.fixture
def bucket(s3):
    name = f"cf-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    yield name
    for obj in s3.list_objects_v2(Bucket=name).get("Contents", []):
        s3.delete_object(Bucket=name, Key=obj["Key"])
    s3.delete_bucket(Bucket=name)


def code_of(call):
    with pytest.raises(ClientError) as exc:
        call()
    return exc.value.response["Error"]["Code"], exc.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_objects_round_trip_with_metadata_and_etag(s3, bucket):
    import hashlib

    body = b'{"activityId": "a", "mediaId": 7}'
    put = s3.put_object(Bucket=bucket, Key="session/activity.json", Body=body,
                        ContentType="application/json", Metadata={"source": "web"}, CacheControl="no-cache")
    assert put["ETag"] == '"%s"' % hashlib.md5(body).hexdigest()
    got = s3.get_object(Bucket=bucket, Key="session/activity.json")
    assert got["Body"].read() == body
    assert got["ContentType"] == "application/json"
    assert got["Metadata"] == {"source": "web"}
    assert got["CacheControl"] == "no-cache"
    assert got["ETag"] == put["ETag"]
    head = s3.head_object(Bucket=bucket, Key="session/activity.json")
    assert head["ContentLength"] == len(body)
    # Checksums sent by the SDK come back when asked for.
    checked = s3.get_object(Bucket=bucket, Key="session/activity.json", ChecksumMode="ENABLED")
    assert checked["Body"].read() == body


def test_ranges(s3, bucket):
    s3.put_object(Bucket=bucket, Key="r", Body=b"0123456789")
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=2-4")["Body"].read() == b"234"
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=-3")["Body"].read() == b"789"
    part = s3.get_object(Bucket=bucket, Key="r", Range="bytes=8-")
    assert part["ContentRange"] == "bytes 8-9/10"
    assert code_of(lambda: s3.get_object(Bucket=bucket, Key="r", Range="bytes=20-30")) == ("InvalidRange", 416)


def test_listing_prefixes_delimiters_and_pages(s3, bucket):
    keys = [f"s{i % 3}/a{i:02}.json" for i in range(12)] + ["top.json"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    grouped = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [c["Prefix"] for c in grouped["CommonPrefixes"]] == ["s0/", "s1/", "s2/"]
    assert [o["Key"] for o in grouped["Contents"]] == ["top.json"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="s1/")["Contents"]] == sorted(k for k in keys if k.startswith("s1/"))
    seen, token = [], None
    while True:
        kwargs = {"Bucket": bucket, "MaxKeys": 5}
        if token:
            kwargs["ContinuationToken"] = token
        page = s3.list_objects_v2(**kwargs)
        seen += [o["Key"] for o in page.get("Contents", [])]
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert seen == sorted(keys)
    after = s3.list_objects_v2(Bucket=bucket, StartAfter="s2/a11.json")
    assert [o["Key"] for o in after["Contents"]] == ["top.json"]
    v1 = s3.list_objects(Bucket=bucket, Prefix="s0/")
    assert len(v1["Contents"]) == 4


def test_copy_and_batch_delete(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"copy me", ContentType="text/plain", Metadata={"a": "1"})
    s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    copied = s3.get_object(Bucket=bucket, Key="dst")
    assert copied["Body"].read() == b"copy me" and copied["Metadata"] == {"a": "1"}
    s3.copy_object(Bucket=bucket, Key="dst2", CopySource=f"{bucket}/src", MetadataDirective="REPLACE",
                   Metadata={"b": "2"}, ContentType="application/octet-stream")
    assert s3.head_object(Bucket=bucket, Key="dst2")["Metadata"] == {"b": "2"}
    deleted = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "src"}, {"Key": "dst"}, {"Key": "never-was"}]})
    assert sorted(d["Key"] for d in deleted["Deleted"]) == ["dst", "never-was", "src"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["dst2"]


def test_errors(s3, bucket):
    assert code_of(lambda: s3.get_object(Bucket=bucket, Key="missing")) == ("NoSuchKey", 404)
    assert code_of(lambda: s3.get_object(Bucket="no-such-bucket-here", Key="k")) == ("NoSuchBucket", 404)
    assert code_of(lambda: s3.head_object(Bucket=bucket, Key="missing"))[1] == 404
    assert code_of(lambda: s3.create_bucket(Bucket="Bad_Name")) == ("InvalidBucketName", 400)
    s3.put_object(Bucket=bucket, Key="keep", Body=b"x")
    assert code_of(lambda: s3.delete_bucket(Bucket=bucket)) == ("BucketNotEmpty", 409)
    s3.delete_object(Bucket=bucket, Key="keep")
    s3.delete_object(Bucket=bucket, Key="keep")  # deleting a missing key succeeds
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert bucket in names
    s3.head_bucket(Bucket=bucket)


def test_the_aws_cli_copies_and_lists(s3, bucket, target, tmp_path):
    source = tmp_path / "event.json"
    source.write_bytes(b'{"from": "cli"}' * 1000)
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1")
    run = lambda *args: subprocess.run(["aws", "--endpoint-url", target.url, "s3", *args], env=env,
                                       capture_output=True, text=True, timeout=60)
    out = run("cp", str(source), f"s3://{bucket}/cli/event.json")
    assert out.returncode == 0, out.stderr
    out = run("ls", f"s3://{bucket}/cli/")
    assert "event.json" in out.stdout and "15000" in out.stdout
    back = tmp_path / "back.json"
    out = run("cp", f"s3://{bucket}/cli/event.json", str(back))
    assert out.returncode == 0, out.stderr
    assert back.read_bytes() == source.read_bytes()


def test_multipart_uploads(s3, bucket):
    import hashlib

    part1, part2 = b"a" * (5 * 1024 * 1024), b"b" * 1000
    upload = s3.create_multipart_upload(Bucket=bucket, Key="big.bin", ContentType="application/x-test",
                                        Metadata={"kind": "multi"})["UploadId"]
    e1 = s3.upload_part(Bucket=bucket, Key="big.bin", UploadId=upload, PartNumber=1, Body=part1)["ETag"]
    e2 = s3.upload_part(Bucket=bucket, Key="big.bin", UploadId=upload, PartNumber=2, Body=part2)["ETag"]
    assert e1 == '"%s"' % hashlib.md5(part1).hexdigest()
    # Out of order, or a wrong ETag: refused, the upload stays.
    assert code_of(lambda: s3.complete_multipart_upload(
        Bucket=bucket, Key="big.bin", UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": e2}, {"PartNumber": 1, "ETag": e1}]})) == ("InvalidPartOrder", 400)
    assert code_of(lambda: s3.complete_multipart_upload(
        Bucket=bucket, Key="big.bin", UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e2}]}))[0] == "InvalidPart"
    done = s3.complete_multipart_upload(Bucket=bucket, Key="big.bin", UploadId=upload,
                                        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    digest = hashlib.md5(hashlib.md5(part1).digest() + hashlib.md5(part2).digest()).hexdigest()
    assert done["ETag"] == f'"{digest}-2"'
    got = s3.get_object(Bucket=bucket, Key="big.bin")
    assert got["Body"].read() == part1 + part2
    assert got["ContentType"] == "application/x-test" and got["Metadata"] == {"kind": "multi"}
    assert code_of(lambda: s3.upload_part(Bucket=bucket, Key="big.bin", UploadId=upload, PartNumber=3, Body=b"x"))[0] == "NoSuchUpload"
    # Parts under 5 MiB but the last are refused; an aborted upload is gone.
    small = s3.create_multipart_upload(Bucket=bucket, Key="small.bin")["UploadId"]
    s1 = s3.upload_part(Bucket=bucket, Key="small.bin", UploadId=small, PartNumber=1, Body=b"tiny")["ETag"]
    s2 = s3.upload_part(Bucket=bucket, Key="small.bin", UploadId=small, PartNumber=2, Body=b"tail")["ETag"]
    assert code_of(lambda: s3.complete_multipart_upload(
        Bucket=bucket, Key="small.bin", UploadId=small,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": s1}, {"PartNumber": 2, "ETag": s2}]}))[0] == "EntityTooSmall"
    s3.abort_multipart_upload(Bucket=bucket, Key="small.bin", UploadId=small)
    assert code_of(lambda: s3.abort_multipart_upload(Bucket=bucket, Key="small.bin", UploadId=small))[0] == "NoSuchUpload"


def test_the_aws_cli_copies_a_large_file_in_parts(s3, bucket, target, tmp_path):
    import os as _os

    source = tmp_path / "large.bin"
    source.write_bytes(_os.urandom(20 * 1024 * 1024))
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1")
    out = subprocess.run(["aws", "--endpoint-url", target.url, "s3", "cp", str(source), f"s3://{bucket}/large.bin"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    head = s3.head_object(Bucket=bucket, Key="large.bin")
    assert head["ContentLength"] == 20 * 1024 * 1024
    assert head["ETag"].endswith('-3"'), head["ETag"]
    back = tmp_path / "back.bin"
    out = subprocess.run(["aws", "--endpoint-url", target.url, "s3", "cp", f"s3://{bucket}/large.bin", str(back)],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert back.read_bytes() == source.read_bytes()
