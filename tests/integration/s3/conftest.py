"""An S3 endpoint for the S3 source's tests: moto in server mode (a subprocess on a free port, reached over
HTTP through boto3 like any endpoint), or a real S3-compatible endpoint given LZ_S3_ENDPOINT_URL, with its
keys in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and a bucket the tests may write in LZ_S3_BUCKET.

Every test gets its own prefix (and on moto its own bucket), so tests never see each other's objects.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

MOTO_KEYS = ("lz-test-access", "lz-test-secret")


@dataclass(frozen=True)
class Endpoint:
    url: str
    bucket: str
    access_key: str
    secret_key: str
    real: bool


@dataclass
class Bucket:
    """One test's prefix in the session's bucket, with a client to fill it."""

    endpoint: Endpoint
    prefix: str
    client: Any

    @property
    def name(self) -> str:
        return self.endpoint.bucket

    @property
    def uri(self) -> str:
        return f"s3://{self.endpoint.bucket}/{self.prefix}"

    def key(self, rest: str) -> str:
        return f"{self.prefix}/{rest}"

    def put(self, rest: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.name, Key=self.key(rest), Body=data)

    def delete(self, rest: str) -> None:
        self.client.delete_object(Bucket=self.name, Key=self.key(rest))

    def options(self) -> list[str]:
        """The command-line options that reach this endpoint (credentials come from the environment)."""
        return ["--s3-endpoint-url", self.endpoint.url, "--s3_region_name", "us-east-1"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _client(url: str, access: str, secret: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=access,
        aws_secret_access_key=secret,
        config=Config(s3={"addressing_style": "path"}, max_pool_connections=32),
    )


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    real_url = os.environ.get("LZ_S3_ENDPOINT_URL")
    if real_url:
        bucket = os.environ.get("LZ_S3_BUCKET")
        if not bucket:
            pytest.skip("LZ_S3_ENDPOINT_URL needs LZ_S3_BUCKET (a bucket the tests may write in)")
        yield Endpoint(real_url, bucket, os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"], True)
        return
    port = _free_port()
    log = Path(tmp_path_factory.mktemp("moto")) / "moto.log"
    moto = str(Path(sys.executable).parent / "moto_server")
    with log.open("wb") as out:
        process = subprocess.Popen([moto, "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"moto_server did not start: {log.read_text()[-2000:]}") from None
                time.sleep(0.2)
        bucket = f"lz-test-{uuid.uuid4().hex[:8]}"
        _client(url, *MOTO_KEYS).create_bucket(Bucket=bucket)
        yield Endpoint(url, bucket, *MOTO_KEYS, False)
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def bucket(s3_endpoint: Endpoint, monkeypatch: pytest.MonkeyPatch) -> Iterator[Bucket]:
    """A fresh prefix; the standard chain's environment variables hold the endpoint's keys."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_endpoint.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_endpoint.secret_key)
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(var, raising=False)
    client = _client(s3_endpoint.url, s3_endpoint.access_key, s3_endpoint.secret_key)
    if not s3_endpoint.real:  # moto lists a bucket by walking all of its keys: one bucket per test
        s3_endpoint = replace(s3_endpoint, bucket=f"lz-test-{uuid.uuid4().hex[:12]}")
        client.create_bucket(Bucket=s3_endpoint.bucket)
    found = Bucket(s3_endpoint, f"t-{uuid.uuid4().hex[:10]}", client)
    yield found
    if s3_endpoint.real:
        paginator = client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=found.name, Prefix=found.prefix + "/"):
            batch = [{"Key": item["Key"]} for item in page.get("Contents", ())]
            if batch:
                client.delete_objects(Bucket=found.name, Delete={"Objects": batch})
