"""The landing-zone watcher's latency, losses, backlog drain and footprint (issue 13, "Speed").

    .venv/bin/python bench/watcher.py                          # 50, 200 and 1,000 files/s for 30 s each
    .venv/bin/python bench/watcher.py --rates 200 --seconds 10
    .venv/bin/python bench/watcher.py --burst 30000            # 30,000 files moved in at once
    .venv/bin/python bench/watcher.py --rates 50 --prefill 100000   # into a zone already holding 100,000
    .venv/bin/python bench/watcher.py --observer polling --prefill 100000 --rates 50

Starts irods-lite and a private redis-server, then `lz-ingest watcher` (REGISTER_SYNC, settle 1 s,
--workers 2) on a temporary zone. A writer creates small files at the given rate, each in the
directory of its second, and notes the time it closed each one; a poller lists the catalog
collections that still miss files every 0.2 s (the catalog's create time has 1 s resolution, so the
latency is timed by polling). Prints, per run, the latency from close to catalog (p50/p95/p99), files
lost (not in the catalog 60 s after the writer stopped), the backlog drain time after the writer
stopped, and the watcher process's peak RSS and CPU time (its worker processes not included).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.comparison import services
from bench.comparison.services import HOME
from lz_ingest.irods.listing import list_collections

LZ_BIN = str(Path(sys.executable).parent / "lz-ingest")
DRAIN_LIMIT_S = 60.0


@dataclass(frozen=True)
class Run:
    scenario: str
    files: int
    p50_s: float
    p95_s: float
    p99_s: float
    lost: int
    drain_s: float
    peak_rss_mb: float
    cpu_s: float


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def proc_footprint(pid: int) -> tuple[float, float]:
    """(peak RSS in MB, user+system CPU seconds) of one process, from /proc."""
    peak = 0.0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return round(peak, 1), round((int(fields[11]) + int(fields[12])) / ticks, 2)


class Poller(threading.Thread):
    """Notes when each expected file first appears in the catalog."""

    def __init__(self, svc: services.Services, target: str) -> None:
        super().__init__(daemon=True)
        self.session = svc.session()
        self.target = target
        self.expected: dict[str, set[str]] = {}  # collection -> names not seen yet
        self.seen: dict[str, float] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def expect(self, relative: str) -> None:
        coll, name = f"{self.target}/{relative}".rsplit("/", 1)
        with self.lock:
            self.expected.setdefault(coll, set()).add(name)

    def outstanding(self) -> int:
        with self.lock:
            return sum(len(v) for v in self.expected.values())

    def run(self) -> None:
        while not self.stop.wait(0.2):
            with self.lock:
                colls = [c for c, names in self.expected.items() if names]
            for i in range(0, len(colls), 16):
                listed = list_collections(self.session, colls[i : i + 16])
                now = time.time()
                with self.lock:
                    for coll, listing in listed.items():
                        for name in self.expected.get(coll, set()) & set(listing.objects):
                            self.expected[coll].discard(name)
                            self.seen[f"{coll}/{name}"] = now


def write_at(zone: Path, rate: float, seconds: float, poller: Poller, closed: dict[str, float]) -> float:
    """Create small files at `rate` per second for `seconds`; returns when the writer stopped."""
    start = time.monotonic()
    n = 0
    while (elapsed := time.monotonic() - start) < seconds:
        due = int(elapsed * rate) + 1
        while n < due:
            relative = f"s{int(elapsed):03d}/f{n:07d}"
            path = zone / relative
            path.parent.mkdir(exist_ok=True)
            poller.expect(relative)
            with open(path, "wb") as f:
                f.write(b"x" * 100)
            closed[f"{poller.target}/{relative}"] = time.time()
            n += 1
        time.sleep(0.002)
    return time.time()


def burst(zone: Path, staging: Path, files: int, poller: Poller, closed: dict[str, float]) -> float:
    """Prepare `files` outside the zone, then move the directories in at once."""
    for i in range(files):
        relative = f"b{i // 1000:03d}/f{i:07d}"
        (staging / relative).parent.mkdir(parents=True, exist_ok=True)
        (staging / relative).write_bytes(b"x" * 100)
    for d in sorted(staging.iterdir()):
        for f in d.iterdir():
            poller.expect(f"{d.name}/{f.name}")
    now = time.time()
    for d in sorted(staging.iterdir()):
        os.rename(d, zone / d.name)
    for d in sorted(zone.glob("b*")):
        for f in d.iterdir():
            closed[f"{poller.target}/{d.name}/{f.name}"] = now
    return time.time()


def prefill(zone: Path, files: int) -> None:
    old = time.time() - 3600
    for i in range(files):
        path = zone / f"old{i // 1000:04d}" / f"f{i:07d}"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"o")
        os.utime(path, (old, old))


def run_one(args: argparse.Namespace, scenario: str, rate: float | None, workdir: Path) -> Run:
    zone, staging = workdir / "zone", workdir / "staging"
    for d in (zone, staging):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    if args.prefill:
        prefill(zone, args.prefill)
    with services.started(workdir / "services", ["lz"]) as svc:
        slug = scenario.replace(" ", "-").replace("/", "-per-")
        target = f"{HOME}/bench-{slug}"
        env = {**os.environ, **svc.irods_env(), "LZ_INGEST_REDIS_URL": svc.redis_urls["lz"]}
        argv = [LZ_BIN, "watcher", str(zone), target, "--job_name", "bench", "--settle", str(args.settle)]
        argv += ["--workers", "2", "--observer", args.observer, "--poll-interval", str(args.poll_interval)]
        log = open(workdir / f"watcher-{slug}.log", "w")  # noqa: SIM115
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=log, start_new_session=True)
        try:
            conn = svc.redis("lz")
            deadline = time.monotonic() + 600
            while conn.hget("lz:state:bench", "status") != b"watching" or not conn.hget("lz:events:bench", "heartbeat"):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit(f"watcher did not start watching; see {log.name}")
                time.sleep(0.2)
            poller = Poller(svc, target)
            poller.start()
            closed: dict[str, float] = {}
            if rate is None:
                stopped = burst(zone, staging, args.burst, poller, closed)
            else:
                stopped = write_at(zone, rate, args.seconds, poller, closed)
            end = time.monotonic() + DRAIN_LIMIT_S
            while poller.outstanding() and time.monotonic() < end:
                time.sleep(0.2)
            poller.stop.set()
            poller.join()
            rss, cpu = proc_footprint(proc.pid)
        finally:
            proc.terminate()
            proc.wait(60)
            log.close()
    latencies = [poller.seen[p] - closed[p] for p in closed if p in poller.seen]
    drain = round(max(poller.seen.values(), default=stopped) - stopped, 2)
    return Run(
        scenario,
        len(closed),
        percentile(latencies, 0.50),
        percentile(latencies, 0.95),
        percentile(latencies, 0.99),
        len(closed) - len(latencies),
        drain,
        rss,
        cpu,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", type=float, nargs="*", default=[50, 200, 1000])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--burst", type=int, default=0, help="files moved in at once (instead of --rates)")
    parser.add_argument("--prefill", type=int, default=0, help="files the zone holds before the watcher starts")
    parser.add_argument("--settle", type=float, default=1.0)
    parser.add_argument("--observer", default="inotify", choices=["auto", "inotify", "polling"])
    parser.add_argument("--poll-interval", type=float, default=1.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory(prefix="lz-bench-watcher-") as tmp:
        plan = [("burst", None)] if args.burst else [(f"{r:g} files/s", r) for r in args.rates]
        for scenario, rate in plan:
            run = run_one(args, scenario, rate, Path(tmp))
            runs.append(run)
            if not args.json:
                print(
                    f"{run.scenario:>14}: {run.files} files, latency p50 {run.p50_s} s p95 {run.p95_s} s "
                    f"p99 {run.p99_s} s, lost {run.lost}, drained {run.drain_s} s after the writer stopped, "
                    f"watcher peak RSS {run.peak_rss_mb} MB, CPU {run.cpu_s} s",
                    flush=True,
                )
    if args.json:
        print(json.dumps([asdict(r) for r in runs], indent=2))


if __name__ == "__main__":
    main()
