"""A bucket as a landing zone, through the CLI, RQ workers and irods-lite: register passes over many prefixes
and a flat keyspace (listed in parallel key ranges), a no-change pass, and the delete mode applied to S3."""

from __future__ import annotations

import time
from pathlib import Path

from tests.engine_fixtures import Ingest
from tests.integration.engine.jobtools import handler_file
from tests.integration.engine.test_put import counts
from tests.integration.s3.conftest import Bucket
from tests.integration.s3.fill import fill


def catalog(ingest: Ingest) -> dict[str, tuple[int, int, str]]:
    """logical path -> (size, mtime, physical path) of every object under the target."""
    found = {}
    for path, obj in ingest.objects().items():
        replica = obj.replicas[0]  # type: ignore[attr-defined]
        found[path] = (obj.size, int(obj.modify_time.timestamp()), replica.path)  # type: ignore[attr-defined]
    return found


def delete_handler(tmp_path: Path, mode: str) -> str:
    body = f"@staticmethod\ndef delete_mode(meta):\n    return DeleteMode.{mode}\n"
    return str(handler_file(tmp_path, body, name=f"delete_{mode.lower()}.py"))


def test_registering_5000_objects_over_prefixes_and_a_flat_keyspace(
    ingest: Ingest, bucket: Bucket, tmp_path: Path
) -> None:
    flat = {f"flat/obj{i:05d}": b"x" * (i % 7) for i in range(2500)}
    tree = {f"tree/d{d:02d}/f{i:02d}": b"y" * (d + 1) for d in range(50) for i in range(50)}
    fill(bucket, {**flat, **tree})
    started = time.time()
    result = ingest.rescan(bucket.uri, *bucket.options())
    assert result.code == 0, result.err + result.out
    assert counts(result).get("registered") == 5000, result.out
    held = catalog(ingest)
    assert len(held) == 5000
    size, mtime, physical = held[f"{ingest.target}/flat/obj00003"]
    assert (size, physical) == (3, f"/{bucket.name}/{bucket.prefix}/flat/obj00003")
    assert started - 120 < mtime <= time.time()  # LastModified, as the listing gave it
    assert held[f"{ingest.target}/tree/d07/f11"][2] == f"/{bucket.name}/{bucket.prefix}/tree/d07/f11"

    again = ingest.rescan(bucket.uri, *bucket.options())
    assert again.code == 0, again.err + again.out
    assert counts(again).get("skipped") == 5000 and "registered" not in counts(again), again.out

    gone = [f"flat/obj{i:05d}" for i in range(0, 2500, 97)] + [f"tree/d13/f{i:02d}" for i in range(50)]
    for rest in gone:
        bucket.delete(rest)
    bucket.put("flat/obj00001", b"longer now")
    handler = delete_handler(tmp_path, "UNREGISTER")
    third = ingest.rescan(bucket.uri, *bucket.options(), "--event_handler", handler)
    assert third.code == 0, third.err + third.out
    assert counts(third).get("updated") == 1, third.out
    after = catalog(ingest)
    assert set(after) == set(held) - {f"{ingest.target}/{rest}" for rest in gone}
    assert after[f"{ingest.target}/flat/obj00001"][0] == len(b"longer now")
