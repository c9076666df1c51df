"""Scenarios: each is a small class naming its source tree, target, handler and what the catalog must
hold afterwards. `run_scenario` does the rest the same way for every tool: start the tool's workers,
zero irods-lite's counters, run one synchronous pass while sampling the workers' memory, read the
counters and the tool's Redis, stop the workers, check the catalog.

Every timed pass is preceded by the machine-speed probe (probe.py), recorded with the pass: which
pairs of passes are fair to compare is decided afterwards, from all the run's probes (pairs.py).

Adding a scenario (a watcher, an S3 source) is a subclass here plus its name in SCENARIOS.
"""

from __future__ import annotations

import glob
import math
import os
import resource
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import probe
from .pairs import SHORT_PAIRS
from .services import HOME, Check, Services, check_catalog, redis_snapshot
from .tools import CLOCK_TICKS, LZ_BIN, MemorySampler, PassRun, Tool, cpu_seconds
from .trees import Tree, mutate

MIB = 1 << 20
HANDLER_TEMPLATE = """\
# Written by bench/compare; the same file serves both tools.
from irods_capability_automated_ingest.core import Core
from irods_capability_automated_ingest.utils import DeleteMode, Operation


class event_handler(Core):
    @staticmethod
    def operation(session, meta, **options):
        return {operation}

    @staticmethod
    def delete_mode(meta):
        return DeleteMode.{delete_mode}
"""


def write_handlers(directory: Path) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    specs = {
        "register": ("Operation.REGISTER_SYNC", "DO_NOT_DELETE"),
        "put": ("Operation.PUT", "DO_NOT_DELETE"),
        "register_unregister": ("Operation.REGISTER_SYNC", "UNREGISTER"),
    }
    paths = {}
    for name, (operation, delete_mode) in specs.items():
        paths[name] = directory / f"handler_{name}.py"
        paths[name].write_text(HANDLER_TEMPLATE.format(operation=operation, delete_mode=delete_mode))
    return paths


@dataclass
class Lane:
    """One tool at one latency: its own small-file tree (scenarios change it) and target collections."""

    tool: Tool
    latency_ms: float
    tree: Tree
    large: Tree | None
    base: str


@dataclass
class Context:
    services: Services
    handlers: dict[str, Path]
    workdir: Path
    timeout_s: float
    py_spy_dir: Path | None = None


@dataclass
class Outcome:
    scenario: str
    tool: str
    latency_ms: float
    files: int
    bytes: int
    wall_s: float
    job_s: float
    rc: int
    files_per_s: float
    mb_per_s: float
    calls_total: int
    calls_per_file: float
    calls_per_file_by_api: dict[str, float]
    redis: dict[str, Any]
    cpu_s: dict[str, float]
    worker_cpu_ms_per_file: float
    worker_peak_pss_mib: float
    worker_processes: int
    check_ok: bool
    check: str
    extra: dict[str, Any] = field(default_factory=dict)
    pair: int = 0  # which turn of the tools this pass was (the scenario's passes pair up by it)
    probe_cpu_s: float = math.nan  # the machine-speed probe taken just before the pass
    probe_io_s: float = math.nan
    one_shot: bool = False  # the command ran its own workers (no pool was running)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Scenario:
    name = ""
    title = ""
    handler = "register"
    put = False
    target_leaf = "reg"
    pairs = SHORT_PAIRS  # turns of the tools when a pass is short (pairs.pairs_wanted); one when long
    fresh = False  # an initial pass: each repetition needs a target of its own
    one_shot = False  # the tool's one-shot command (its own workers) where it has one, no pool running

    def __init__(self, rep: int = 0) -> None:
        self.rep = rep

    def tree(self, lane: Lane) -> Tree:
        return lane.tree

    def target(self, lane: Lane) -> str:
        """The scenario's collection; a repeated initial pass goes to a new one (later scenarios use the first)."""
        leaf = f"{self.target_leaf}-rep{self.rep}" if self.fresh and self.rep else self.target_leaf
        return f"{lane.base}/{leaf}"

    def prepare(self, ctx: Context, lane: Lane) -> dict[str, Any]:
        """Change the source before the pass (untimed); what it returns is recorded with the outcome."""
        return {}

    def finish(self, run: PassRun, total_bytes: int) -> dict[str, Any]:
        """Right after the pass command returned (the workers still up); what it returns is recorded."""
        return {}

    def after(self, ctx: Context, lane: Lane, outcome: Outcome) -> None:
        """Clean-up after the check (untimed): a repetition's keys go, so that later scenarios see the
        tool's Redis as a single pass would have left it (the old tool keys its cache by path and target)."""
        if self.fresh and self.rep:
            conn = lane.tool.redis()
            for name in list(conn.scan_iter(match=f"*{self.target(lane)}*", count=1000)):
                conn.delete(name)


class RegisterInitial(Scenario):
    name, title, fresh = "register_initial", "initial REGISTER_SYNC", True


class NoChange(Scenario):
    name, title = "nochange", "no-change second pass"
    pairs = 5  # a pass of under a second: single passes vary by ±25% on a shared machine


class NoChangeOneShot(NoChange):
    """The no-change pass as a one-shot command: `lz-ingest rescan` starting its own workers, beside the
    old tool's `irods_sync start --synchronous` with its Celery workers running (it has no one-shot form)."""

    name, title, one_shot = "nochange_oneshot", "no-change pass, one-shot command", True
    pairs = 3


class PutInitial(Scenario):
    name, title, handler, put, target_leaf = "put_initial", "initial PUT", "put", True, "put"
    fresh = True


class Modified(Scenario):
    name, title, handler = "modified", "10% modified, 1% deleted (UNREGISTER)", "register_unregister"
    modify, delete = 0.10, 0.01

    def prepare(self, ctx: Context, lane: Lane) -> dict[str, Any]:
        modified, deleted = mutate(lane.tree, self.modify, self.delete)
        return {"modified": len(modified), "deleted": len(deleted)}


class LargePut(Scenario):
    name, title, handler, put, target_leaf = "large_put", "large files PUT", "put", True, "large"
    fresh = True

    def tree(self, lane: Lane) -> Tree:
        assert lane.large is not None
        return lane.large

    def prepare(self, ctx: Context, lane: Lane) -> dict[str, Any]:
        """The plain copy this pass is compared with, measured here, just before it, the same way."""
        copy = plain_copy(self.tree(lane), ctx.workdir / "plain-copy")
        os.sync()  # the copy's file removal is not flushed on this pass's time
        return {"plain_copy": copy}

    def finish(self, run: PassRun, total_bytes: int) -> dict[str, Any]:
        """Also the rate to durable bytes: from the job's start until a sync() after it has returned,
        so that neither the copy nor a tool is credited with bytes still in the page cache."""
        os.sync()
        seconds = time.time() - run.job_start if run.job_start else math.nan
        return {"durable_s": round(seconds, 3), "durable_mb_per_s": round(total_bytes / MIB / seconds, 1)}

    def after(self, ctx: Context, lane: Lane, outcome: Outcome) -> None:
        super().after(ctx, lane, outcome)
        remove_vault_copies(ctx.services, self.target(lane))


SCENARIOS: dict[str, type[Scenario]] = {
    cls.name: cls for cls in (RegisterInitial, NoChange, NoChangeOneShot, PutInitial, Modified, LargePut)
}


def plain_copy(tree: Tree, dest: Path) -> dict[str, Any]:
    """The same bytes copied file by file onto the same disk (shutil.copyfile, as cp does): the limit here."""
    dest.mkdir(parents=True, exist_ok=True)
    os.sync()
    paths = tree.paths()
    started = time.perf_counter()
    for path in paths:
        shutil.copyfile(path, dest / path.name)
    seconds = time.perf_counter() - started
    os.sync()
    durable = time.perf_counter() - started
    total = sum(p.stat().st_size for p in paths)
    shutil.rmtree(dest)
    return {
        "files": len(paths),
        "bytes": total,
        "seconds": round(seconds, 3),
        "mb_per_s": round(total / MIB / seconds, 1),
        "durable_s": round(durable, 3),
        "durable_mb_per_s": round(total / MIB / durable, 1),
    }


def remove_vault_copies(services: Services, target: str) -> None:
    """Large put copies are checked once; their bytes need not stay on disk."""
    from .services import catalog_objects

    for obj in catalog_objects(services, target).values():
        if obj.physical.startswith(str(services.lite.data_dir)):
            Path(obj.physical).unlink(missing_ok=True)


def run_scenario(ctx: Context, lane: Lane, scenario: Scenario) -> Outcome:
    extra = scenario.prepare(ctx, lane)
    tree = scenario.tree(lane)
    tree.settle()
    tool, lite = lane.tool, ctx.services.lite
    label = f"{scenario.name}-{int(lane.latency_ms)}ms"
    job = f"bench-{label}-{uuid.uuid4().hex[:8]}"
    total_bytes = sum(p.stat().st_size for p in tree.paths())
    redis_pid = ctx.services.redis_pids.get(tool.key) or 0
    one_shot = scenario.one_shot and tool.has_one_shot
    with _pool(tool, label, not one_shot) as pool:
        speed = probe.measure(ctx.workdir)  # the pool is up and idle: the machine as the pass will find it
        lite.reset_counts()
        before = (_own_cpu(), resource.getrusage(resource.RUSAGE_CHILDREN), cpu_seconds(redis_pid), _busy_cpu())
        sampler = MemorySampler(pool) if pool else NoPool()
        with sampler as memory, profiled(ctx.py_spy_dir if pool else None, pool, f"{tool.key}-{label}"):
            handler = ctx.handlers[scenario.handler]
            run = tool.run_pass(tree.root, scenario.target(lane), handler, job, label, ctx.timeout_s, one_shot)
            extra.update(scenario.finish(run, total_bytes))
            children = resource.getrusage(resource.RUSAGE_CHILDREN)  # the pass command, just reaped
        counts = lite.call_counts()
        cpu = {
            "workers": round(memory.cpu_s, 2),
            "irods_lite": round(_own_cpu() - before[0], 2),  # this process: irods-lite's threads, the pollers
            "redis": round(cpu_seconds(redis_pid) - before[2], 2),
            "command": round(children.ru_utime + children.ru_stime - before[1].ru_utime - before[1].ru_stime, 2),
        }
        # CPU the whole machine used meanwhile, less ours: other sessions' load skews a run
        cpu["outside"] = round(max(0.0, _busy_cpu() - before[3] - sum(cpu.values())), 2)
        redis = redis_snapshot(tool.redis(), str(tree.root))
    for leftover in glob.glob(f"/tmp/event_handler{job.replace('.', '__')}*.py"):
        os.unlink(leftover)  # the old tool writes each job's handler there
    lite.set_latency(0)  # checks are not part of the measurement
    check = _check(ctx.services, scenario, lane, tree, run.rc)
    lite.set_latency(lane.latency_ms)
    files = tree.files
    calls = sum(counts.values())
    outcome = Outcome(
        scenario=scenario.name,
        tool=tool.key,
        latency_ms=lane.latency_ms,
        files=files,
        bytes=total_bytes,
        wall_s=round(run.wall_s, 3),
        job_s=round(run.job_s, 3),
        rc=run.rc,
        files_per_s=round(files / run.job_s, 1) if run.job_s > 0 else math.nan,
        mb_per_s=round(total_bytes / MIB / run.job_s, 1) if run.job_s > 0 else math.nan,
        calls_total=calls,
        calls_per_file=round(calls / files, 3) if files else math.nan,
        calls_per_file_by_api={str(api): round(n / files, 3) for api, n in sorted(counts.items())},
        redis=redis,
        cpu_s=cpu,
        worker_cpu_ms_per_file=round(1000 * cpu["workers"] / files, 2) if files else math.nan,
        worker_peak_pss_mib=round(memory.peak_kib / 1024, 1),
        worker_processes=memory.peak_processes,
        check_ok=check.ok and run.rc == 0 and not run.timed_out,
        check=check.detail if run.rc == 0 else f"exit {run.rc}: {run.output[-300:]!r}; {check.detail}",
        extra=extra,
        pair=scenario.rep,
        probe_cpu_s=speed.cpu_s,
        probe_io_s=speed.io_s,
        one_shot=one_shot,
    )
    scenario.after(ctx, lane, outcome)
    return outcome


@contextmanager
def _pool(tool: Tool, label: str, wanted: bool) -> Iterator[int]:
    """The tool's worker pool for one pass, as the pid of its process group; 0 when the command runs its own."""
    if not wanted:
        yield 0
        return
    with tool.workers(label) as workers:
        yield workers.pid


class NoPool:
    """What MemorySampler reports when no pool ran (the one-shot command's workers count as the command's CPU)."""

    cpu_s = 0.0
    peak_kib = 0
    peak_processes = 0

    def __enter__(self) -> NoPool:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


@contextmanager
def profiled(out_dir: Path | None, pid: int, name: str) -> Iterator[None]:
    """With --py-spy DIR: sample the worker processes during the pass (collapsed stacks, py-spy's raw format)."""
    if out_dir is None:
        yield
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    spies = []
    # the workers, and this process (irods-lite's threads: is the server ever the bottleneck?)
    for target, suffix in ((pid, ""), (os.getpid(), "-irods-lite")):
        cmd = [str(LZ_BIN / "py-spy"), "record", "--pid", str(target), "--format", "raw", "--rate", "200"]
        cmd += ["--nonblocking", "--output", str(out_dir / f"{name}{suffix}.txt")]
        cmd += ["--subprocesses"] if target == pid else []
        spies.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    time.sleep(0.5)  # attached before the pass starts
    try:
        yield
    finally:
        for spy in spies:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)


def _busy_cpu() -> float:
    """Non-idle CPU seconds of the whole machine since boot (/proc/stat)."""
    with open("/proc/stat") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


def _own_cpu() -> float:
    t = os.times()
    return t.user + t.system


def _check(services: Services, scenario: Scenario, lane: Lane, tree: Tree, rc: int) -> Check:
    try:
        return check_catalog(services, scenario.target(lane), tree.root, scenario.put, tree.files)
    except Exception as exc:  # a missing target collection is a failed check, not a crashed benchmark
        return Check(False, f"check failed: {type(exc).__name__}: {exc}")


def lane_base(tool: Tool, latency_ms: float, tag: str = "") -> str:
    return f"{HOME}/bench/{tool.key}-{int(latency_ms)}ms{tag}-{int(time.time())}"
