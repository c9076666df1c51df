"""What an lz-ingest command costs beyond its pass, on a small no-change tree (issue 12, item 4).

    .venv/bin/python bench/overhead.py                 # 1,000 files, 7 runs of each
    .venv/bin/python bench/overhead.py --files 20000 --runs 5

Prints, each the median of --runs runs taken in the same minutes: the interpreter's start-up
(`python -c pass`) and what a job command imports (`python -c "import lz_ingest.cli_jobs"`; the
command group imports a command's module only when it runs); the machine-speed probe of
bench/comparison/probe.py, taken before every run (a run on a loaded machine shows there); the one-shot
`lz-ingest rescan --workers N` (no pool running), its wall time and what it adds beyond its pass (wall
less the job's own start-to-end time, and less the pass a running pool takes, since rescan's job
clock may include starting its workers); and `lz-ingest start --synchronous` with a pool of N workers
already running, what it adds beyond its pass and beyond the interpreter's start-up as well.

lz_ingest's bytecode is compiled first, as `pip install` (and so the container image) does: an editable
install run with PYTHONDONTWRITEBYTECODE=1 would otherwise compile every module at every command.
"""

from __future__ import annotations

import argparse
import compileall
import json
import math
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the repository root on the path, as bench/compare does
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.comparison import probe, services
from bench.comparison.probe import Probe
from bench.comparison.scenarios import write_handlers
from bench.comparison.services import HOME
from bench.comparison.tools import LZ_BIN, REPO, LzIngest, PassRun
from bench.comparison.trees import build_small

RESCAN_TARGET_S = 0.5  # issue 12: what rescan adds beyond its pass
START_TARGET_S = 0.3  # and what start --synchronous adds with a running pool, beyond interpreter start-up


@dataclass(frozen=True)
class Overheads:
    """Medians, in seconds."""

    python_start_s: float
    cli_import_s: float
    rescan_wall_s: float
    rescan_pass_s: float
    rescan_adds_s: float  # wall less the pass
    rescan_adds_beyond_pool_pass_s: float  # wall less the pass a running pool takes (the work itself)
    start_wall_s: float
    start_pass_s: float
    start_adds_s: float  # wall less the pass
    start_adds_beyond_python_s: float  # wall less the pass less the interpreter's start-up
    probe_cpu_s: float = math.nan  # the machine-speed probe's two workloads, medians over the runs
    probe_io_s: float = math.nan
    probe_cpu_spread_s: tuple[float, float] = (math.nan, math.nan)  # their min and max


def summarize(
    python: list[float],
    cli: list[float],
    rescan: list[PassRun],
    start: list[PassRun],
    probes: Sequence[Probe] = (),
) -> Overheads:
    """Each figure the median over its runs; a difference is the median of the per-run differences."""

    def med(values: list[float]) -> float:
        return round(statistics.median(values), 3)

    py = statistics.median(python)
    return Overheads(
        python_start_s=med(python),
        cli_import_s=med(cli),
        rescan_wall_s=med([r.wall_s for r in rescan]),
        rescan_pass_s=med([r.job_s for r in rescan]),
        rescan_adds_s=med([r.wall_s - r.job_s for r in rescan]),
        rescan_adds_beyond_pool_pass_s=round(
            statistics.median(r.wall_s for r in rescan) - statistics.median(r.job_s for r in start), 3
        ),
        start_wall_s=med([r.wall_s for r in start]),
        start_pass_s=med([r.job_s for r in start]),
        start_adds_s=med([r.wall_s - r.job_s for r in start]),
        start_adds_beyond_python_s=med([r.wall_s - r.job_s - py for r in start]),
        probe_cpu_s=med([p.cpu_s for p in probes]) if probes else math.nan,
        probe_io_s=med([p.io_s for p in probes]) if probes else math.nan,
        probe_cpu_spread_s=(min(p.cpu_s for p in probes), max(p.cpu_s for p in probes)) if probes else (math.nan,) * 2,
    )


def report(o: Overheads, files: int, workers: int, runs: int) -> str:
    def met(value: float, target: float) -> str:
        return f"target < {target:g} s: {'met' if value < target else 'NOT met'}"

    return "\n".join(
        [
            f"{files:,}-file no-change tree, {workers} workers, median of {runs} runs:",
            f"  python -c pass                           {o.python_start_s:6.3f} s",
            f'  python -c "import lz_ingest.cli_jobs"    {o.cli_import_s:6.3f} s',
            f"  machine-speed probe (before each run)    cpu {1000 * o.probe_cpu_s:4.0f} ms"
            f" ({1000 * o.probe_cpu_spread_s[0]:.0f}-{1000 * o.probe_cpu_spread_s[1]:.0f})"
            f" io {1000 * o.probe_io_s:4.0f} ms",
            f"  lz-ingest rescan --workers {workers} (one-shot)   wall {o.rescan_wall_s:6.3f} s"
            f"  pass {o.rescan_pass_s:6.3f} s"
            f"  adds {o.rescan_adds_s:6.3f} s  ({met(o.rescan_adds_s, RESCAN_TARGET_S)});"
            f" {o.rescan_adds_beyond_pool_pass_s:6.3f} s beyond the pass a running pool takes",
            f"  lz-ingest start --synchronous (pool up)  wall {o.start_wall_s:6.3f} s  pass {o.start_pass_s:6.3f} s"
            f"  adds {o.start_adds_s:6.3f} s, {o.start_adds_beyond_python_s:6.3f} s beyond python start-up"
            f"  ({met(o.start_adds_beyond_python_s, START_TARGET_S)})",
        ]
    )


def time_command(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def checked(run: PassRun, what: str) -> PassRun:
    if run.rc != 0 or run.job_s != run.job_s:  # nan: the job recorded no start or end
        raise SystemExit(f"{what} failed (exit {run.rc}): {run.output[-500:]}")
    return run


def measure(args: argparse.Namespace) -> Overheads:
    python = str(LZ_BIN / "python")
    interp: list[float] = []
    cli: list[float] = []
    rescans: list[PassRun] = []
    starts: list[PassRun] = []
    probes: list[Probe] = []
    with services.started(args.workdir, ["lz"]) as svc:
        handler = write_handlers(args.workdir / "handlers")["register"]
        tree = build_small(args.workdir / "tree", args.files, args.per_dir)
        tool = LzIngest(svc, args.workdir / "logs", args.workers)
        target = f"{HOME}/overhead-{int(time.time())}"

        def one(cmd: str, label: str) -> PassRun:
            one_shot = cmd == "rescan"
            job = f"overhead-{uuid.uuid4().hex[:8]}"
            run = tool.run_pass(tree.root, target, handler, job, label, args.timeout, one_shot)
            return checked(run, cmd)

        tree.settle()
        one("rescan", "initial")  # the register: the runs below are no-change passes
        for _ in range(args.runs):  # no pool: rescan starts its own workers
            probes.append(probe.measure(args.workdir))
            interp.append(time_command([python, "-c", "pass"]))
            cli.append(time_command([python, "-c", "import lz_ingest.cli_jobs"]))
            rescans.append(one("rescan", "rescan"))
        with tool.workers("overhead"):
            for _ in range(args.runs):
                probes.append(probe.measure(args.workdir))
                interp.append(time_command([python, "-c", "pass"]))
                starts.append(one("start", "start"))
    return summarize(interp, cli, rescans, starts, probes)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/overhead.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--files", type=int, default=1_000, help="files in the no-change tree (default 1000)")
    p.add_argument("--per-dir", type=int, default=100)
    p.add_argument("--workers", type=int, default=2, help="rescan's workers and the pool's size (default 2)")
    p.add_argument("--runs", type=int, default=7, help="runs of each command (default 7)")
    p.add_argument("--timeout", type=float, default=600)
    p.add_argument("--workdir", type=Path, default=REPO / "bench" / "results" / "tmp" / "overhead")
    p.add_argument("--json", type=Path, help="also write the figures here")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.workdir = args.workdir.resolve()
    if args.runs < 1 or args.files < 1:
        raise SystemExit("--runs and --files must be at least 1")
    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    compileall.compile_dir(REPO / "lz_ingest", quiet=1)  # as an installed package has it
    try:
        figures = measure(args)
    finally:
        shutil.rmtree(args.workdir, ignore_errors=True)
    print(report(figures, args.files, args.workers, args.runs))
    if args.json:
        args.json.write_text(json.dumps({"files": args.files, "runs": args.runs, **asdict(figures)}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
