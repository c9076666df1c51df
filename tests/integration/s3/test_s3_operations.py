"""Every operation from a bucket, through the CLI, RQ workers and irods-lite: registers record `/bucket/key`,
puts stream the bytes (a 40 MiB multipart object in parallel ranges, its ETag checked), PUT_APPEND sends
what grew, --checksum records the iRODS checksum, PUT_SYNC's delete modes apply; credentials from a key
pair file or the standard chain, and a missing bucket or missing credentials are one line."""

from __future__ import annotations

import base64
import hashlib
import io
import os
from pathlib import Path

import pytest
from boto3.s3.transfer import TransferConfig

from tests.engine_fixtures import Ingest
from tests.integration.engine.jobtools import handler_file
from tests.integration.engine.test_put import content, counts, data_object
from tests.integration.s3.conftest import Bucket
from tests.integration.s3.proxy import corrupting_proxy

MIB = 1024 * 1024
GET_FILE_DESCRIPTOR_INFO_APN = 20000


def handler(tmp_path: Path, operation: str, delete_mode: str = "DO_NOT_DELETE", resource: str | None = None) -> str:
    body = (
        f"@staticmethod\ndef operation(session, meta, **options):\n    return Operation.{operation}\n"
        f"@staticmethod\ndef delete_mode(meta):\n    return DeleteMode.{delete_mode}\n"
    )
    if resource:
        body += f"@staticmethod\ndef to_resource(session, meta, **options):\n    return {resource!r}\n"
    return str(handler_file(tmp_path, body, name=f"{operation.lower()}_{delete_mode.lower()}_{resource}.py"))


def sha2(data: bytes) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def run(ingest: Ingest, bucket: Bucket, *args: str) -> dict[str, int]:
    result = ingest.rescan(bucket.uri, *bucket.options(), *args)
    assert result.code == 0, result.err + result.out
    return counts(result)


def test_registers_record_the_bucket_key_as_physical_path_and_replicas_go_to_to_resource(
    ingest: Ingest, bucket: Bucket, tmp_path: Path
) -> None:
    bucket.put("a.txt", b"alpha")
    bucket.put("sub/b.txt", b"bravo!")
    assert run(ingest, bucket, "--event_handler", handler(tmp_path, "REGISTER_SYNC")).get("registered") == 2
    obj = data_object(ingest, f"{ingest.target}/sub/b.txt")
    assert (obj.size, obj.replicas[0].path) == (6, f"/{bucket.name}/{bucket.prefix}/sub/b.txt")
    replica = handler(tmp_path, "REGISTER_AS_REPLICA_SYNC", resource=ingest.zone.second_resource)
    assert run(ingest, bucket, "--event_handler", replica).get("replicated") == 2
    obj = data_object(ingest, f"{ingest.target}/a.txt")
    assert sorted(r.resource_name for r in obj.replicas) == sorted(["demoResc", ingest.zone.second_resource])
    assert {r.path for r in obj.replicas} == {f"/{bucket.name}/{bucket.prefix}/a.txt"}


def test_put_streams_a_40_mib_multipart_object_in_parallel_with_its_etag_checked(
    ingest: Ingest, bucket: Bucket, tmp_path: Path
) -> None:
    big = os.urandom(40 * MIB + 321)
    parts = TransferConfig(multipart_threshold=MIB, multipart_chunksize=7 * MIB)  # not the 8 MiB fallback
    bucket.client.upload_fileobj(io.BytesIO(big), bucket.name, bucket.key("big.bin"), Config=parts)
    assert bucket.client.head_object(Bucket=bucket.name, Key=bucket.key("big.bin"))["ETag"].endswith('-6"')
    bucket.put("small.txt", b"small")
    lite = ingest.zone.lite
    if lite:
        lite.reset_counts()
    found = run(ingest, bucket, "--event_handler", handler(tmp_path, "PUT"), "--checksum")
    assert found.get("uploaded") == 2, found
    if lite:
        assert lite.call_counts().get(GET_FILE_DESCRIPTOR_INFO_APN, 0) >= 1  # the parallel path was taken
    assert content(ingest, f"{ingest.target}/big.bin") == big
    obj = data_object(ingest, f"{ingest.target}/big.bin")
    assert obj.size == len(big) and obj.checksum == sha2(big)
    assert [r.status for r in obj.replicas] == ["1"]
    assert content(ingest, f"{ingest.target}/small.txt") == b"small"
    assert data_object(ingest, f"{ingest.target}/small.txt").checksum == sha2(b"small")


def test_put_sync_uploads_changes_again_and_put_append_sends_what_grew(
    ingest: Ingest, bucket: Bucket, tmp_path: Path
) -> None:
    log = os.urandom(300_000)
    bucket.put("log", log)
    bucket.put("doc", b"version one")
    assert run(ingest, bucket, "--event_handler", handler(tmp_path, "PUT_SYNC")).get("uploaded") == 2
    bucket.put("doc", b"version two, longer")
    assert run(ingest, bucket, "--event_handler", handler(tmp_path, "PUT_SYNC")).get("overwritten") == 1
    assert content(ingest, f"{ingest.target}/doc") == b"version two, longer"

    grown = log + os.urandom(70_000)
    bucket.put("log", grown)
    assert run(ingest, bucket, "--event_handler", handler(tmp_path, "PUT_APPEND")).get("appended") == 1
    assert content(ingest, f"{ingest.target}/log") == grown
    rewritten = os.urandom(len(grown) + 10)  # grew, but its start changed: uploaded whole
    bucket.put("log", rewritten)
    assert run(ingest, bucket, "--event_handler", handler(tmp_path, "PUT_APPEND")).get("overwritten") == 1
    assert content(ingest, f"{ingest.target}/log") == rewritten


@pytest.mark.parametrize("mode", ["TRASH", "NO_TRASH"])
def test_put_sync_applies_its_delete_mode_to_removed_objects(
    ingest: Ingest, bucket: Bucket, tmp_path: Path, mode: str
) -> None:
    for name in ("keep", "gone", "dir/gone"):
        bucket.put(name, name.encode())
    sync = handler(tmp_path, "PUT_SYNC", mode)
    assert run(ingest, bucket, "--event_handler", sync).get("uploaded") == 3
    bucket.delete("gone")
    bucket.delete("dir/gone")
    found = run(ingest, bucket, "--event_handler", sync, "--max-delete", "1")
    assert found.get(f"deleted_{mode.lower()}") == 2, found
    assert set(ingest.objects()) == {f"{ingest.target}/keep"}


def test_hostile_keys_are_put_inside_the_target(ingest: Ingest, bucket: Bucket, tmp_path: Path) -> None:
    hostile = {"../up": b"1", "a//b": b"2", "/lead": b"3", "ctl\x01x": b"4", "%pc": b"5", "d/./e": b"6"}
    for key, data in hostile.items():
        bucket.put(key, data)
    assert run(ingest, bucket, "--event_handler", handler(tmp_path, "PUT")).get("uploaded") == len(hostile)
    held = {path: content(ingest, path) for path in ingest.objects()}
    assert all(path.startswith(ingest.target + "/") for path in held)
    assert sorted(held.values()) == sorted(hostile.values())
    assert held[f"{ingest.target}/%../up"] == b"1" and held[f"{ingest.target}/a/%/b"] == b"2"


def test_credentials_from_a_key_pair_file_or_the_environment_and_their_absence_is_one_line(
    ingest: Ingest, bucket: Bucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket.put("one", b"1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    keys = (bucket.endpoint.access_key, bucket.endpoint.secret_key)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    refused = ingest.rescan(bucket.uri, *bucket.options())
    assert refused.code != 0
    assert (
        refused.err.strip()
        .splitlines()[-1]
        .endswith(
            "no S3 credentials: give --s3_keypair FILE, or set "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or a profile) "
            "in the environment of the command and of the workers"
        )
    )
    keypair = tmp_path / "keypair"
    keypair.write_text(f"{keys[0]}\n{keys[1]}\n")
    old_form = ingest.rescan(f"/{bucket.name}/{bucket.prefix}", "--s3_keypair", str(keypair), *bucket.options())
    assert old_form.code == 0, old_form.err + old_form.out
    assert counts(old_form).get("registered") == 1
    with ingest.session() as s:
        recorded = s.data_objects.get(f"{ingest.target}/one")
    assert recorded.replicas[0].path == f"/{bucket.name}/{bucket.prefix}/one"
    assert keys[1] not in old_form.err + old_form.out


def test_a_missing_bucket_is_one_line(ingest: Ingest, bucket: Bucket) -> None:
    result = ingest.rescan(f"s3://no-such-bucket-{bucket.prefix}/x", *bucket.options())
    assert result.code != 0
    lines = [line for line in result.err.strip().splitlines() if line]
    assert lines[-1].endswith(f"bucket no-such-bucket-{bucket.prefix}: no such bucket"), result.err
    assert "Traceback" not in result.err


def test_bytes_that_do_not_match_the_etag_are_never_finalized(ingest: Ingest, bucket: Bucket, tmp_path: Path) -> None:
    big = os.urandom(34 * MIB)
    parts = TransferConfig(multipart_threshold=MIB, multipart_chunksize=5 * MIB)
    bucket.client.upload_fileobj(io.BytesIO(big), bucket.name, bucket.key("big.bin"), Config=parts)
    bucket.put("small.txt", b"small object")
    with corrupting_proxy(bucket.endpoint.url) as url:
        result = ingest.rescan(bucket.uri, "--s3-endpoint-url", url, "--event_handler", handler(tmp_path, "PUT"))
    assert result.code == 1, result.err + result.out
    assert counts(result).get("failed") == 2, result.out
    assert not ingest.objects()  # both new objects removed again, nothing half-written left
    failures = ingest.run("failures", result.err.split("job ")[1].split()[0])
    assert failures.out.count("do not match the object's ETag") == 2, failures.out
