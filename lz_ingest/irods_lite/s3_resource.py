"""irods-lite's `s3` resource type: replicas whose bytes are S3 objects, as the iRODS S3 resource plugin keeps them.

A replica's physical path is `/bucket/key` (the plugin's convention; the resource's vault is `/bucket/prefix`).
irods-lite reads such a replica through boto3 from the endpoint in its configuration (LiteConfig.s3), with
ranged GETs, so that an object registered on this resource reads back through iRODS; checksums are computed
from the object's bytes. Writes to an `s3` resource (put, replicate onto it) are refused with
SYS_NOT_SUPPORTED: the tests that need an s3 resource only register and read.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

from . import errors as E
from .errors import IrodsError

S3_TYPE = "s3"
READ_BLOCK = 8 * 1024 * 1024


@dataclass(frozen=True)
class S3Endpoint:
    """Where an `s3` resource's objects are: an endpoint URL and the keys irods-lite reads them with."""

    url: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"

    def client(self) -> Any:  # a boto3 S3 client (botocore's types are generated at run time)
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(s3={"addressing_style": "path"}),
        )


def split(physical_path: str) -> tuple[str, str]:
    """(bucket, key) of `/bucket/key`."""
    bucket, _, key = physical_path.lstrip("/").partition("/")
    if not bucket or not key:
        raise IrodsError(E.SYS_INVALID_FILE_PATH, f"{physical_path}: not /bucket/key")
    return bucket, key


class ObjectReader:
    """A read-only, seekable view of one object: each read is one ranged GET from the position."""

    def __init__(self, client: Any, physical_path: str) -> None:
        self.client = client
        self.bucket, self.key = split(physical_path)
        try:
            self.size = int(client.head_object(Bucket=self.bucket, Key=self.key)["ContentLength"])
        except Exception as exc:
            raise IrodsError(E.UNIX_FILE_OPEN_ERR, f"cannot open s3 object {physical_path}: {exc}") from None
        self.position = 0

    def read(self, length: int = -1) -> bytes:
        end = self.size if length < 0 else min(self.size, self.position + length)
        if end <= self.position:
            return b""
        answer = self.client.get_object(Bucket=self.bucket, Key=self.key, Range=f"bytes={self.position}-{end - 1}")
        data = bytes(answer["Body"].read())
        self.position += len(data)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        self.position = max(0, {0: 0, 1: self.position, 2: self.size}[whence] + offset)
        return self.position

    def tell(self) -> int:
        return self.position

    def close(self) -> None:
        pass


class S3Vaults:
    """The server's view of its `s3` resources: one client for the configured endpoint."""

    def __init__(self, endpoint: S3Endpoint | None) -> None:
        self.endpoint = endpoint
        self._client: Any = None

    def _connected(self) -> Any:
        if self.endpoint is None:
            raise IrodsError(E.SYS_NOT_SUPPORTED, "irods-lite has no S3 endpoint configured for its s3 resources")
        if self._client is None:
            self._client = self.endpoint.client()
        return self._client

    def open(self, physical_path: str) -> ObjectReader:
        return ObjectReader(self._connected(), physical_path)

    def sha2(self, physical_path: str) -> str:
        reader, digest = self.open(physical_path), hashlib.sha256()
        while block := reader.read(READ_BLOCK):
            digest.update(block)
        return "sha2:" + base64.b64encode(digest.digest()).decode()


def refuse_write(resource_type: str, name: str) -> None:
    if resource_type == S3_TYPE:
        raise IrodsError(E.SYS_NOT_SUPPORTED, f"irods-lite's s3 resource {name} is read-only (register, then read)")
