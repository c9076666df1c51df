"""Helpers for the job-control tests: handler files, waiting, Redis inspection, worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis

from lz_ingest.jobs import JobStore
from lz_ingest.worker import WorkerPool

VENV_BIN = Path(sys.executable).parent
LZ_INGEST = str(VENV_BIN / "lz-ingest")
RQ = str(VENV_BIN / "rq")
QUEUES = ("restart", "path", "file")


def handler_file(directory: Path, body: str, name: str = "handler.py") -> Path:
    """A handler file in the old framework's style: `class event_handler(Core)` with the given body."""
    path = directory / name
    path.write_text(
        "import os, time\n"
        "from irods_capability_automated_ingest.core import Core\n"
        "from irods_capability_automated_ingest.utils import Operation, DeleteMode\n\n"
        "class event_handler(Core):\n" + textwrap.indent(textwrap.dedent(body).strip("\n") or "pass", "    ") + "\n"
    )
    return path


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, decode_responses=True)


def rq_conn(url: str) -> redis.Redis:
    """A connection for RQ's own objects (they expect bytes)."""
    return redis.Redis.from_url(url)


def lz_keys(url: str) -> list[str]:
    return sorted(client(url).keys("lz:*"))


def state(url: str, job: str) -> dict[str, str]:
    return client(url).hgetall(f"lz:state:{job}")


def counts(url: str, job: str) -> dict[str, int]:
    store = JobStore(redis.Redis.from_url(url))
    pass_id = store.state(job).get("pass_id")
    return store.counts(pass_id) if pass_id else {}


def pass_over(url: str, job: str) -> bool:
    s = state(url, job)
    return bool(s.get("pass_id")) and s.get("phase") == "done" and s.get("status") != "running"


@contextmanager
def pool(url: str, count: int = 2, queues: tuple[str, ...] = QUEUES) -> Iterator[WorkerPool]:
    workers = WorkerPool(url, queues, count).start()
    try:
        yield workers
    finally:
        workers.stop()


@contextmanager
def process(args: list[str], **kwargs: Any) -> Iterator[subprocess.Popen[str]]:
    """A subprocess in its own session, killed with its whole group if still running afterwards."""
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True, **kwargs
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.communicate(timeout=30)
        try:  # children that outlived their parent (same process group)
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
