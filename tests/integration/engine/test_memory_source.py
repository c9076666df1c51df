"""The Source seam is real: a pass over an in-memory tree (tests/support/memory_source.py) runs through the
same CLI, scan and sync tasks, RQ, Redis and irods-lite as a local directory, with no filesystem behind it.

The tree lives in this process, so the `mem` scheme is registered here and the pass's tasks run in an
RQ SimpleWorker of this process (`--workers 0` starts none); see the memory source's docstring.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from rq import Queue, SimpleWorker

from lz_ingest.errors import ConfigError
from lz_ingest.sources import registry
from lz_ingest.sources.base import Source
from tests.engine_fixtures import Ingest, Result
from tests.integration.engine.jobtools import QUEUES, counts, handler_file, pass_over, rq_conn, state
from tests.support.memory_source import NO_PHYSICAL_PATH, MemorySource

SETTLED = time.time() - 3600  # an hour old: settled
BIG = os.urandom(3 * 1024 * 1024 + 5)  # several write requests, none of them sent from a descriptor


@pytest.fixture
def memory() -> Iterator[MemorySource]:
    """A fresh tree, served under its own mem:// URI in this process for the test's duration."""
    source = MemorySource(uuid.uuid4().hex[:10], "/data")
    source.put("/data/a.txt", b"alpha", SETTLED)
    source.put("/data/empty", b"", SETTLED)
    source.put("/data/sub/big.bin", BIG, SETTLED)
    source.put("/data/sub/deeper/c.txt", b"see", SETTLED)

    def factory(uri: str) -> Source:
        if uri != source.uri:
            raise ConfigError(f"source {uri}: no such memory tree")
        return source

    registry.register_scheme("mem", factory)
    try:
        yield source
    finally:
        registry.unregister_scheme("mem")


def operation_handler(tmp_path: Path, operation: str, extra: str = "") -> str:
    body = f"@staticmethod\ndef operation(session, meta, **options):\n    return Operation.{operation}\n" + extra
    return str(handler_file(tmp_path, body, name=f"{operation.lower()}_{uuid.uuid4().hex[:6]}.py"))


def run_pass(ingest: Ingest, source: MemorySource, job: str, *args: str) -> Result:
    """`lz-ingest start` with no worker pool, then this process's own worker until every queue is empty."""
    result = ingest.run("start", source.uri, ingest.target, "--job_name", job, "--workers", "0", *args)
    assert result.code == 0, result.err + result.out
    conn = rq_conn(ingest.redis_url)
    SimpleWorker([Queue(q, connection=conn) for q in QUEUES], connection=conn).work(burst=True, logging_level="WARNING")
    assert pass_over(ingest.redis_url, job), state(ingest.redis_url, job)
    return result


def catalog(ingest: Ingest) -> dict[str, bytes]:
    """logical path -> the bytes iRODS returns for it, for every object under the target."""
    found = {}
    with ingest.session() as s:
        for path in ingest.objects():
            with s.data_objects.open(path, "r") as f:
                found[path] = f.read()
    return found


def expected(ingest: Ingest, source: MemorySource) -> dict[str, bytes]:
    return {ingest.target + path.removeprefix(source.root): data for path, data in source.files.items()}


@pytest.mark.parametrize("operation", ["PUT", "PUT_SYNC"])
def test_a_pass_over_a_memory_tree_uploads_every_file(
    ingest: Ingest, tmp_path: Path, memory: MemorySource, operation: str
) -> None:
    run_pass(ingest, memory, "mem-put", "--event_handler", operation_handler(tmp_path, operation))
    c = counts(ingest.redis_url, "mem-put")
    assert c.get("uploaded") == 4 and not c.get("failed"), c
    assert catalog(ingest) == expected(ingest, memory)
    objects = ingest.objects()
    for path, data in memory.files.items():
        obj = objects[ingest.target + path.removeprefix(memory.root)]
        assert obj.size == len(data)  # type: ignore[attr-defined]
        assert int(obj.modify_time.timestamp()) == int(SETTLED)  # type: ignore[attr-defined]
    assert memory.opened == dict.fromkeys(memory.files, 1)  # each file's bytes were read through the source


def test_put_sync_over_a_memory_tree_overwrites_changes_and_trashes_what_went(
    ingest: Ingest, tmp_path: Path, memory: MemorySource
) -> None:
    handler = operation_handler(
        tmp_path,
        "PUT_SYNC",
        "@staticmethod\ndef delete_mode(meta):\n    return DeleteMode.TRASH\n",
    )
    run_pass(ingest, memory, "mem-sync", "--event_handler", handler, "--checksum")
    memory.put("/data/a.txt", b"alpha, rewritten and longer", SETTLED + 60)
    memory.remove("/data/sub/deeper/c.txt")
    memory.opened.clear()
    run_pass(ingest, memory, "mem-sync", "--event_handler", handler, "--checksum", "--max-delete", "1")
    c = counts(ingest.redis_url, "mem-sync")
    assert c.get("overwritten") == 1 and c.get("deleted_trash") == 1 and not c.get("failed"), c
    assert catalog(ingest) == expected(ingest, memory)
    assert memory.opened.get("/data/a.txt", 0) >= 1 and "/data/sub/big.bin" in memory.opened  # checksums compared


def test_register_from_a_memory_tree_is_refused_before_the_job_starts(
    ingest: Ingest, tmp_path: Path, memory: MemorySource
) -> None:
    result = ingest.run("start", memory.uri, ingest.target, "--workers", "0")  # the default: REGISTER_SYNC
    assert result.code != 0
    (line,) = result.err.strip().splitlines()
    assert line.endswith(f"source {memory.uri}: REGISTER_SYNC cannot register from it (/data: {NO_PHYSICAL_PATH})")
    assert not ingest.objects()


def test_a_file_the_handler_registers_fails_with_the_reason_and_the_rest_is_uploaded(
    ingest: Ingest, tmp_path: Path, memory: MemorySource
) -> None:
    handler = handler_file(
        tmp_path,
        "@staticmethod\n"
        "def operation(session, meta, **options):\n"
        "    return Operation.REGISTER_SYNC if meta['path'].endswith('/a.txt') else Operation.PUT\n",
    )
    run_pass(ingest, memory, "mem-mixed", "--event_handler", str(handler))
    c = counts(ingest.redis_url, "mem-mixed")
    assert c.get("uploaded") == 3 and c.get("failed") == 1, c
    failures = ingest.run("failures", "mem-mixed")
    assert f"/data/a.txt\t{NO_PHYSICAL_PATH}\t" in failures.out  # the path once, then its reason
    assert set(catalog(ingest)) == set(expected(ingest, memory)) - {f"{ingest.target}/a.txt"}
