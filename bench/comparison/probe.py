"""The machine-speed probe taken before every timed pass: two fixed workloads, timed.

The workloads never adapt to the machine (that would hide the slowdown they are there to show): a
pure-Python integer loop (what both tools' workers mostly do) and stat-ing, reading and rewriting in
place a fixed set of small files (what a scan of a landing zone does to the file system, page cache
included). The files are created once and kept: creating and removing files on every probe made the
probe itself slower run after run on ext4 (66 ms to 673 ms in 12 probes on an idle machine), which
would have marked every later pair unreliable. Each workload takes a few hundred milliseconds on an
idle 2-core machine of 2026.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from .pairs import Probe

CPU_ROUNDS = 3_000_000
IO_FILES = 2_000
IO_ROUNDS = 5
IO_BYTES = b"x" * 512


def cpu_workload(rounds: int = CPU_ROUNDS) -> int:
    """A fixed amount of interpreter work; returns its result so that nothing can skip it."""
    x = 0
    for i in range(rounds):
        x = (x * 31 + i) % 1_000_003
    return x


def io_files(directory: Path, files: int = IO_FILES) -> list[Path]:
    """The probe's small files, created the first time (untimed) and kept for the whole run."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"p{i:05}" for i in range(files)]
    for path in paths:
        if not path.exists():
            path.write_bytes(IO_BYTES)
    return paths


def io_workload(paths: list[Path], rounds: int = IO_ROUNDS) -> int:
    """Stat, read and rewrite in place every file, `rounds` times, then list and stat the directory;
    nothing is allocated or freed, so the file system is in the same state afterwards. Returns bytes read."""
    read = 0
    for _ in range(rounds):
        for path in paths:
            os.stat(path)
            with open(path, "r+b") as fh:
                data = fh.read()
                fh.seek(0)
                fh.write(data)
            read += len(data)
        for entry in os.scandir(paths[0].parent):
            entry.stat()
    return read


def measure(workdir: Path) -> Probe:
    """Time both workloads, one after the other, in this process."""
    paths = io_files(workdir / "probe")
    started = time.perf_counter()
    cpu_workload()
    cpu_s = time.perf_counter() - started
    started = time.perf_counter()
    io_workload(paths)
    return Probe(round(cpu_s, 4), round(time.perf_counter() - started, 4))
