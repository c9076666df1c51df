"""--provenance: each object written carries the job, the ingest time, the worker host (and a checked
checksum), so a data steward can trace it back to its ingest."""

from __future__ import annotations

import datetime
import socket
import time
from pathlib import Path
from typing import Any

from tests.engine_fixtures import Ingest, write_tree

from .test_put import content, counts, handler_file, rewrite

JOB, TIME, HOST, CHECKED = (
    "lz_ingest::job",
    "lz_ingest::ingested_at",
    "lz_ingest::worker_host",
    "lz_ingest::checksum_verified",
)


def provenance(obj: Any) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for m in obj.metadata.items():
        if m.name.startswith("lz_ingest::"):
            found.setdefault(m.name, []).append(m.value)
    return found


def ingest_time(value: str) -> float:
    return datetime.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC).timestamp()


def test_registered_objects_carry_job_time_host_and_the_checked_checksum(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.dat": "a", "sub/b.dat": "b"})
    before = time.time()
    result = ingest.rescan(src, "--provenance", "--checksum", "--job_name", "traced")
    assert result.code == 0, result.out + result.err
    for obj in ingest.objects().values():
        avus = provenance(obj)
        assert avus[JOB] == ["traced"] and avus[HOST] == [socket.gethostname()] and avus[CHECKED] == ["true"]
        assert before - 1 <= ingest_time(avus[TIME][0]) <= time.time() + 1


def test_without_the_option_nothing_is_added(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"plain.dat": "p"})
    assert ingest.rescan(src).code == 0
    assert provenance(ingest.objects()[f"{ingest.target}/plain.dat"]) == {}


def test_an_object_uploaded_again_gets_the_new_ingest_time_in_place_of_the_old(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"v.dat": "version 1"})
    handler = handler_file(tmp_path, "PUT_SYNC")
    assert ingest.rescan(src, "--event_handler", handler, "--provenance", "--job_name", "first").code == 0
    first = provenance(ingest.objects()[f"{ingest.target}/v.dat"])
    assert CHECKED not in first
    time.sleep(1.1)  # the time has whole seconds
    rewrite(src / "v.dat", b"version 2")
    again = ingest.rescan(src, "--event_handler", handler, "--provenance", "--job_name", "second")
    assert counts(again)["overwritten"] == 1, again.out
    second = provenance(ingest.objects()[f"{ingest.target}/v.dat"])
    assert second[JOB] == ["second"] and len(second[TIME]) == 1
    assert ingest_time(second[TIME][0]) > ingest_time(first[TIME][0])
    assert content(ingest, f"{ingest.target}/v.dat") == b"version 2"
