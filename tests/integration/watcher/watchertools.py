"""Running `lz-ingest watcher` as a real process against the test zone and Redis, and inspecting results."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.engine_fixtures import Ingest
from tests.integration.engine.jobtools import LZ_INGEST, client, wait_until

SETTLE = "0.4"


def events(ingest: Ingest, job: str) -> dict[str, str]:
    return client(ingest.redis_url).hgetall(f"lz:events:{job}")


def job_state(ingest: Ingest, job: str) -> dict[str, str]:
    return client(ingest.redis_url).hgetall(f"lz:state:{job}")


@contextmanager
def watcher(
    ingest: Ingest, source: Path, job: str, *args: str, workers: int = 2, target: str | None = None
) -> Iterator[subprocess.Popen[str]]:
    """`lz-ingest watcher SOURCE TARGET --job_name JOB --settle 0.4 --workers N ...` until it is watching and
    its start rescan is over; stopped with SIGTERM (unless the test ended it) and its output kept on failure."""
    argv = [LZ_INGEST, "watcher", str(source), target or ingest.target, "--job_name", job, "--settle", SETTLE]
    argv += ["--workers", str(workers), *args]
    with started(argv) as proc:
        wait_watching(ingest, job, proc)
        yield proc


@contextmanager
def started(argv: list[str], **kwargs: Any) -> Iterator[subprocess.Popen[str]]:
    log = tempfile.TemporaryFile("w+")  # noqa: SIM115
    proc = subprocess.Popen(argv, stdout=log, stderr=log, text=True, start_new_session=True, **kwargs)
    proc.log = log  # type: ignore[attr-defined]
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # its worker processes too
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait(timeout=30)
        log.seek(0)
        text = log.read()
        log.close()
        if os.environ.get("LZ_TEST_LOG"):
            with open(os.environ["LZ_TEST_LOG"], "a") as out:
                out.write(text)


def output(proc: subprocess.Popen[str]) -> str:
    log = proc.log  # type: ignore[attr-defined]
    log.seek(0)
    text: str = log.read()
    return text[-3000:]


def wait_watching(ingest: Ingest, job: str, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    def ready() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"watcher exited {proc.returncode}: {output(proc)}")
        state, seen = job_state(ingest, job), events(ingest, job)
        return state.get("status") == "watching" and bool(seen.get("heartbeat")) and bool(state.get("pass_id"))

    wait_until(ready, timeout, f"watcher {job} watching, its start rescan over", every=0.1)


def catalog(ingest: Ingest) -> dict[str, tuple[int, bytes | None]]:
    """logical path (relative to the target) -> (size, content for small objects)."""
    found = {}
    for path, obj in ingest.objects().items():
        found[path.removeprefix(ingest.target + "/")] = (obj.size, None)  # type: ignore[attr-defined]
    return found


def wait_catalog(ingest: Ingest, expected: set[str], timeout: float = 60, exact: bool = True) -> dict[str, Any]:
    def landed() -> dict[str, Any] | None:
        found = catalog(ingest)
        ok = set(found) == expected if exact else expected <= set(found)
        return found if ok else None

    try:
        return wait_until(landed, timeout, f"{len(expected)} objects in the catalog", every=0.25)  # type: ignore[no-any-return]
    except AssertionError:
        found = set(catalog(ingest))
        missing, extra = sorted(expected - found)[:10], sorted(found - expected)[:10]
        raise AssertionError(f"missing {missing}, extra {extra}") from None


def read(ingest: Ingest, relative: str) -> bytes:
    with ingest.session() as s, s.data_objects.open(f"{ingest.target}/{relative}", "r") as f:
        data: bytes = f.read()
    return data


def replica_paths(ingest: Ingest, relative: str) -> list[str]:
    with ingest.session() as s:
        return [r.path for r in s.data_objects.get(f"{ingest.target}/{relative}").replicas]


def write_slowly(path: Path, chunks: int, chunk: bytes, seconds: float) -> None:
    with open(path, "wb") as f:
        for _ in range(chunks):
            f.write(chunk)
            f.flush()
            time.sleep(seconds / chunks)
