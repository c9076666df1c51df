"""The two tools as the benchmark drives them: a worker pool started before a pass (and stopped after
it), one synchronous pass started from the command line, and the job's own start and end times.

A pass is timed from the job's start to its end as each tool records them (interpreter start-up and
worker start-up excluded); the command's wall time is recorded beside it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis
from rq import Worker

from .services import Services

REPO = Path(__file__).resolve().parents[2]
LZ_BIN = REPO / ".venv" / "bin"
READY_TIMEOUT_S = 60.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class PassRun:
    wall_s: float
    job_s: float
    rc: int
    output: str
    timed_out: bool = False
    job_start: float = 0.0  # epoch seconds, as the tool recorded it


# ---- worker memory ------------------------------------------------------------------------------------


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def process_tree(root: int) -> list[int]:
    children, tree, todo = _children_map(), [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, ()))
    return tree


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a live process has used so far (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def pss_kib(pid: int) -> int:
    """Proportional set size: pages shared by forked workers are split between them, not counted twice."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class MemorySampler:
    """Samples the summed PSS of a process tree every `interval` seconds and keeps the peak (it runs in
    irods-lite's process, so it samples rarely: reading /proc costs GIL time irods-lite would use); also the
    CPU seconds the tree used while sampled (a process's last sample counts, so sampling often matters
    only for processes that exit mid-run)."""

    def __init__(self, root: int, interval: float = 1.0) -> None:
        self.root, self.interval = root, interval
        self.peak_kib = 0
        self.peak_processes = 0
        self._cpu_first: dict[int, float] = {}
        self._cpu_last: dict[int, float] = {}
        self._started = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> None:
        tree = process_tree(self.root)
        self.peak_kib = max(self.peak_kib, sum(pss_kib(p) for p in tree))
        self.peak_processes = max(self.peak_processes, len(tree))
        for pid in tree:
            used = cpu_seconds(pid)
            if used:
                self._cpu_first.setdefault(pid, 0.0 if self._started else used)
                self._cpu_last[pid] = used

    @property
    def cpu_s(self) -> float:
        return sum(last - self._cpu_first.get(pid, 0.0) for pid, last in self._cpu_last.items())

    def __enter__(self) -> MemorySampler:
        self.sample()  # the baseline: what the workers used starting up is not the pass's
        self._started = True
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


# ---- the tools -------------------------------------------------------------------------------------------


class Tool:
    """What differs between the tools: how workers start and signal readiness, the pass command, timing."""

    key = ""
    label = ""

    def __init__(self, services: Services, logdir: Path, workers: int) -> None:
        self.services, self.logdir, self.count = services, logdir, workers
        self.redis_url = services.redis_urls[self.key]
        logdir.mkdir(parents=True, exist_ok=True)

    def env(self) -> dict[str, str]:
        return {**os.environ, **self.services.irods_env()}

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url)

    def worker_command(self, name: str) -> list[str]:
        raise NotImplementedError

    def wait_ready(self, proc: subprocess.Popen[bytes], name: str) -> None:
        raise NotImplementedError

    def pass_command(self, source: Path, target: str, handler: Path, job: str) -> list[str]:
        raise NotImplementedError

    has_one_shot = False  # a command that starts its own workers for one pass (no pool running)

    def one_shot_command(self, source: Path, target: str, handler: Path, job: str) -> list[str]:
        raise NotImplementedError

    def job_times(self, job: str) -> tuple[float, float]:
        """The job's (start, end) epoch seconds as the tool recorded them."""
        raise NotImplementedError

    @contextmanager
    def timing(self, job: str) -> Iterator[None]:
        yield

    @contextmanager
    def workers(self, label: str) -> Iterator[subprocess.Popen[bytes]]:
        name = f"bench-{uuid.uuid4().hex[:8]}"
        log = open(self.logdir / f"{self.key}-{label}-workers.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            self.worker_command(name), env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            self.wait_ready(proc, name)
            yield proc
        finally:
            _stop_group(proc)
            log.close()

    def run_pass(
        self, source: Path, target: str, handler: Path, job: str, label: str, timeout: float, one_shot: bool = False
    ) -> PassRun:
        cmd = (self.one_shot_command if one_shot else self.pass_command)(source, target, handler, job)
        out_path = self.logdir / f"{self.key}-{label}-pass.log"
        with open(out_path, "wb") as out, self.timing(job):
            started = time.perf_counter()
            proc = subprocess.Popen(cmd, env=self.env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                rc = proc.wait(timeout=timeout)
                timed_out = False
            except subprocess.TimeoutExpired:
                _stop_group(proc)
                rc, timed_out = -1, True
            wall = time.perf_counter() - started
        output = out_path.read_text(errors="replace")
        begun, ended = self.job_times(job)
        job_s = ended - begun if begun and ended else float("nan")
        return PassRun(wall, job_s, rc, output[-2000:], timed_out, begun)


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """Stop a process we started, and its children (its own session), warmly first."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


class LzIngest(Tool):
    key = "lz"
    label = "lz-ingest"

    def worker_command(self, name: str) -> list[str]:
        return [str(LZ_BIN / "lz-ingest"), "worker", "-c", str(self.count), "--redis-url", self.redis_url]

    def wait_ready(self, proc: subprocess.Popen[bytes], name: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        conn = self.redis()
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"lz-ingest workers exited with {proc.returncode}")
            mine = set(process_tree(proc.pid))
            if sum(1 for w in Worker.all(connection=conn) if w.pid in mine) >= self.count:
                return
            time.sleep(0.05)
        raise RuntimeError("lz-ingest workers not ready in time")

    def pass_command(self, source: Path, target: str, handler: Path, job: str) -> list[str]:
        cmd = [str(LZ_BIN / "lz-ingest"), "start", str(source), target, "--synchronous", "--workers", "0"]
        return cmd + ["--redis-url", self.redis_url, "--job-name", job, "--event_handler", str(handler)]

    has_one_shot = True

    def one_shot_command(self, source: Path, target: str, handler: Path, job: str) -> list[str]:
        """`lz-ingest rescan` with its own workers, as many as the pool would have."""
        cmd = [str(LZ_BIN / "lz-ingest"), "rescan", str(source), target, "--workers", str(self.count)]
        return cmd + ["--redis-url", self.redis_url, "--job-name", job, "--event_handler", str(handler)]

    def job_times(self, job: str) -> tuple[float, float]:
        state = self.redis().hgetall(f"lz:state:{job}")
        return float(state.get(b"started", 0)), float(state.get(b"finished", 0))


class OldFramework(Tool):
    """irods-capability-automated-ingest 0.7.0: Celery workers, `irods_sync start --synchronous`."""

    key = "old"
    label = "old 0.7.0"
    POLL_S = 0.02

    def __init__(self, services: Services, logdir: Path, workers: int, venv_python: Path) -> None:
        super().__init__(services, logdir, workers)
        self.python = venv_python
        self._times: dict[str, tuple[float, float]] = {}

    def env(self) -> dict[str, str]:
        return {**super().env(), "CELERY_BROKER_URL": self.redis_url}

    def _celery(self, *args: str) -> list[str]:
        return [str(self.python), "-m", "celery", "-A", "irods_capability_automated_ingest", *args]

    def worker_command(self, name: str) -> list[str]:
        # as its README runs it; -l error keeps Celery's own per-task lines out of the measurement
        queues = "restart,path,file"
        return self._celery("worker", "-Q", queues, "-c", str(self.count), "-n", f"{name}@%h", "-l", "error")

    def wait_ready(self, proc: subprocess.Popen[bytes], name: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        ping = self._celery("inspect", "ping", "-t", "1", "-d", f"{name}@{socket.gethostname()}")
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"celery worker exited with {proc.returncode}")
            done = subprocess.run(ping, env=self.env(), capture_output=True, check=False)
            if done.returncode == 0 and b"pong" in done.stdout:
                return
            time.sleep(0.2)
        raise RuntimeError("celery workers not ready in time")

    def pass_command(self, source: Path, target: str, handler: Path, job: str) -> list[str]:
        module = "irods_capability_automated_ingest.irods_sync"
        return [str(self.python), "-m", module, "start", str(source), target, "--synchronous"] + [
            "--job_name",
            job,
            "--event_handler",
            str(handler),
        ]

    @contextmanager
    def timing(self, job: str) -> Iterator[None]:
        """The old tool records its start (irods_ingest_job_start_time) but not its end: the last task
        to finish deletes the job's cleanup key, which this polls for every 20 ms."""
        stop = threading.Event()
        conn = self.redis()
        start_key, cleanup_key = f"irods_ingest_job_start_time:/{job}", f"cleanup:/{job}"
        times = [0.0, 0.0]

        def poll() -> None:
            while not stop.is_set():
                if not times[0]:
                    raw = conn.get(start_key)
                    times[0] = float(raw) if raw else 0.0
                if times[0] and not conn.exists(cleanup_key):
                    times[1] = time.time()
                    return
                stop.wait(self.POLL_S)

        thread = threading.Thread(target=poll, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            self._times[job] = (times[0], times[1])

    def job_times(self, job: str) -> tuple[float, float]:
        return self._times.get(job, (0.0, 0.0))
