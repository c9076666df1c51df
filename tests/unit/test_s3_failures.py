"""S3 failures as one line that names what to fix, never a credential."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from lz_ingest.errors import ConfigError
from lz_ingest.sources.s3 import S3Source, failure
from lz_ingest.sources.s3_settings import S3Settings, from_options, source_uri

SETTINGS = S3Settings(endpoint_url="http://127.0.0.1:9")


def client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


@pytest.mark.parametrize(
    ("exc", "line"),
    [
        (client_error("AccessDenied", 403), "bucket b: access denied"),
        (client_error("403", 403), "bucket b: access denied"),
        (client_error("NoSuchBucket", 404), "bucket b: no such bucket"),
        (client_error("404", 404), "bucket b: no such bucket"),
        (client_error("SignatureDoesNotMatch", 403), "bucket b: the secret key does not match the access key"),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:9"), "cannot reach the S3 endpoint http://127.0.0.1:9"),
    ],
)
def test_failures_are_one_line(exc: Exception, line: str) -> None:
    assert failure(exc, "b", SETTINGS) == line


def test_no_credentials_says_where_they_come_from() -> None:
    assert failure(NoCredentialsError(), "b", SETTINGS).startswith("no S3 credentials: give --s3_keypair FILE")


def test_the_old_options_become_the_recorded_uri_without_secrets(tmp_path: object) -> None:
    values = {
        "s3_keypair": "/etc/keys",
        "s3_endpoint_domain": "minio.local:9000",
        "s3_insecure_connection": True,
        "s3_region_name": "eu-west-1",
        "s3_multipart_chunksize_in_mib": 16,
    }
    uri = source_uri("/bucket/landing/zone", values)
    assert uri.startswith("s3://bucket/landing/zone?")
    source = S3Source.from_uri(uri)
    assert (source.bucket, source.prefix, source.root) == ("bucket", "landing/zone", "/bucket/landing/zone")
    assert source.settings == S3Settings(
        endpoint_url="http://minio.local:9000", region="eu-west-1", multipart_chunk_mib=16, keypair="/etc/keys"
    )
    assert source.uri == uri
    assert source_uri("/local/dir", {}) == "/local/dir"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"s3_endpoint_url": "ftp://x"}, "expected http://host"),
        ({"s3_proxy_url": "http://user:pw@proxy:3128"}, "credentials do not belong in the URL"),
        ({"s3_endpoint_url": "http://a", "s3_endpoint_domain": "b"}, "give one of them"),
    ],
)
def test_bad_s3_options_are_refused(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        from_options(values)


def test_a_prefix_that_cannot_be_a_path_is_refused() -> None:
    with pytest.raises(ConfigError, match="cannot be a path"):
        S3Source.from_uri("s3://bucket/a/../b")
