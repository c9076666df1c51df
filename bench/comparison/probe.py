"""The machine-speed probe taken before every timed pass: two fixed workloads, timed.

The workloads never adapt to the machine (that would hide the slowdown they are there to show): a
pure-Python integer loop (what both tools' workers mostly do) and creating, stat-ing, reading and
removing small files (what a scan of a landing zone does to the file system, page cache included).
Each takes a few hundred milliseconds on an idle 2-core machine of 2026.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from .pairs import Probe

CPU_ROUNDS = 3_000_000
IO_FILES = 1_000
IO_BYTES = b"x" * 512


def cpu_workload(rounds: int = CPU_ROUNDS) -> int:
    """A fixed amount of interpreter work; returns its result so that nothing can skip it."""
    x = 0
    for i in range(rounds):
        x = (x * 31 + i) % 1_000_003
    return x


def io_workload(directory: Path, files: int = IO_FILES) -> int:
    """Create, stat, read and remove `files` small files in a fresh directory; returns the bytes read."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"p{i:05}" for i in range(files)]
    for path in paths:
        path.write_bytes(IO_BYTES)
    read = 0
    for entry in os.scandir(directory):
        entry.stat()
        with open(entry.path, "rb") as fh:
            read += len(fh.read())
    shutil.rmtree(directory)
    return read


def measure(workdir: Path) -> Probe:
    """Time both workloads, one after the other, in this process."""
    started = time.perf_counter()
    cpu_workload()
    cpu_s = time.perf_counter() - started
    started = time.perf_counter()
    io_workload(workdir / "probe")
    return Probe(round(cpu_s, 4), round(time.perf_counter() - started, 4))
