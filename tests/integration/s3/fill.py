"""Filling a test prefix quickly: moto serves one request at a time per thread, so puts go 16 at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.integration.s3.conftest import Bucket


def fill(bucket: Bucket, objects: dict[str, bytes]) -> None:
    with ThreadPoolExecutor(16) as pool:
        for future in [pool.submit(bucket.put, rest, data) for rest, data in objects.items()]:
            future.result()
