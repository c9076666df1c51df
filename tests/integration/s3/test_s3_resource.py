"""A registered S3 object reads back through iRODS: irods-lite's `s3` resource reads `/bucket/key` replicas
through boto3 from the test's endpoint, as the iRODS S3 resource plugin does."""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from lz_ingest.irods_lite.config import LiteConfig, ResourceSpec
from lz_ingest.irods_lite.s3_resource import S3Endpoint
from lz_ingest.irods_lite.server import LiteServer
from tests.engine_fixtures import Ingest
from tests.integration.engine.jobtools import handler_file
from tests.integration.engine.test_put import counts
from tests.integration.s3.conftest import Bucket
from tests.irods_fixtures import LITE_RESOURCES, LITE_USERS, _lite_zone


@pytest.fixture
def s3_ingest(
    bucket: Bucket, redis_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Ingest]:
    """`ingest` against an irods-lite of its own whose resource s3Resc keeps its objects in the test's bucket."""
    endpoint = S3Endpoint(bucket.endpoint.url, bucket.endpoint.access_key, bucket.endpoint.secret_key)
    resources = (*LITE_RESOURCES, ResourceSpec("s3Resc", "s3", vault=f"/{bucket.name}/{bucket.prefix}"))
    with tempfile.TemporaryDirectory(prefix="irods-lite-s3-") as tmp:
        config = LiteConfig(Path(tmp), port=0, version="4.3.4", users=LITE_USERS, resources=resources, s3=endpoint)
        server = LiteServer(config).start()
        try:
            zone = _lite_zone(server)
            for name, value in (
                ("IRODS_HOST", zone.host),
                ("IRODS_PORT", str(zone.port)),
                ("IRODS_USER_NAME", zone.admin),
                ("IRODS_ZONE_NAME", zone.zone),
                ("IRODS_PASSWORD", zone.admin_password),
                ("LZ_INGEST_REDIS_URL", redis_url),
                ("XDG_STATE_HOME", f"{tmp}/state"),
            ):
                monkeypatch.setenv(name, value)
            for var in ("IRODS_ENVIRONMENT_FILE", "IRODS_AUTHENTICATION_FILE"):
                monkeypatch.delenv(var, raising=False)
            yield Ingest(zone, redis_url, f"{zone.home()}/s3-{uuid.uuid4().hex[:8]}", capsys)
        finally:
            server.stop()


def test_objects_registered_on_an_s3_resource_read_back_through_irods(
    s3_ingest: Ingest, bucket: Bucket, tmp_path: Path
) -> None:
    data = {"one.txt": b"first object", "deep/two.bin": os.urandom(3 * 1024 * 1024 + 17)}
    for rest, body in data.items():
        bucket.put(rest, body)
    body = (
        "@staticmethod\ndef operation(session, meta, **options):\n    return Operation.REGISTER_SYNC\n"
        "@staticmethod\ndef to_resource(session, meta, **options):\n    return 's3Resc'\n"
    )
    hdlr = str(handler_file(tmp_path, body, name="to_s3.py"))
    result = s3_ingest.rescan(bucket.uri, *bucket.options(), "--event_handler", hdlr, "--checksum")
    assert result.code == 0, result.err + result.out
    assert counts(result).get("registered") == 2
    with s3_ingest.session() as s:
        for rest, expected in data.items():
            obj = s.data_objects.get(f"{s3_ingest.target}/{rest}")
            assert obj.replicas[0].resource_name == "s3Resc"
            assert obj.replicas[0].path == f"/{bucket.name}/{bucket.prefix}/{rest}"
            assert obj.checksum == "sha2:" + base64.b64encode(hashlib.sha256(expected).digest()).decode()
            with s.data_objects.open(obj.path, "r") as f:
                assert f.read() == expected
