"""lz-ingest beside the old framework (irods-capability-automated-ingest 0.7.0), in one run.

    bench/compare                          # 20,000 small files, 2 workers each, 0 and 2 ms catalog latency
    bench/compare --files 2000 --large-files 4 --large-mib 16     # a quick run
    bench/compare --scale                  # also lz-ingest alone at 1,000 / 10,000 / 100,000 files

Starts irods-lite (in this process, so its counters are read directly) and one private redis-server
per tool, installs the old framework into bench/.oldvenv when it is missing, builds the source trees,
and runs every scenario with each tool's own worker pool (the same size), its documented start
command, and each tool's own job records for timing. The tools take turns pass by pass (old, lz, old,
lz, ...: pairs), each pass preceded by a machine-speed probe; a ratio is the median of the ratios of
the reliable pairs (bench/comparison/pairs.py says which are). Every run's catalog is checked (object count,
sizes, physical paths for register, sha256 of the stored bytes for put): a failed or wrong run has no
rate. Results: bench/results/latest.json, latest.md and latest.png; the table is printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

from . import oldvenv, pairs, report, services
from .scenarios import SCENARIOS, Context, Lane, Outcome, lane_base, run_scenario, write_handlers
from .tools import REPO, LzIngest, OldFramework, Tool
from .trees import Tree, build_large, build_small

DEFAULT_SCENARIOS = ("register_initial", "nochange", "nochange_oneshot", "put_initial", "modified", "large_put")
SCALE_SIZES = (1_000, 10_000, 100_000)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/compare", description=__doc__.split("\n\n")[0])
    p.add_argument("--files", type=int, default=20_000, help="small files per tree (default 20000)")
    p.add_argument("--per-dir", type=int, default=100, help="files per directory (default 100)")
    p.add_argument("--workers", type=int, default=2, help="worker processes per tool (default 2)")
    p.add_argument("--latencies", default="0,2", help="ms irods-lite adds to every call, one round each (0,2)")
    p.add_argument("--large-files", type=int, default=40, help="large files for the PUT MB/s scenario; 0 skips it")
    p.add_argument("--large-mib", type=int, default=64, help="size of each large file in MiB (default 64)")
    p.add_argument("--scenarios", default=",".join(DEFAULT_SCENARIOS), help="comma-separated subset, in order")
    p.add_argument("--tools", default="old,lz", help="comma-separated subset of old,lz")
    p.add_argument("--scale", action="store_true", help="also run lz-ingest alone at --scale-sizes files")
    p.add_argument("--scale-only", action="store_true", help="only the scale runs (no old framework)")
    p.add_argument("--scale-sizes", default=",".join(map(str, SCALE_SIZES)))
    p.add_argument("--old-venv", type=Path, default=REPO / "bench" / ".oldvenv", help="the old framework's venv")
    p.add_argument("--workdir", type=Path, default=REPO / "bench" / "results" / "tmp" / "compare")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results", help="where latest.* go")
    p.add_argument("--keep", action="store_true", help="keep the work directory (trees, vaults, logs)")
    p.add_argument("--py-spy", type=Path, metavar="DIR", help="profile the workers of every pass into DIR")
    p.add_argument("--timeout", type=float, default=3600, help="seconds one pass may take before it fails")
    return p.parse_args(argv)


def progress(o: Outcome) -> None:
    status = "ok" if o.check_ok else f"FAILED ({o.check[:160]})"
    rate = f"{o.mb_per_s:8.1f} MB/s" if o.scenario == "large_put" else f"{o.files_per_s:8.1f} files/s"
    if "plain_copy" in o.extra:
        copy, durable = o.extra["plain_copy"], o.extra.get("durable_mb_per_s", 0)
        rate += f" ({durable:.1f} on disk; plain copy just before {copy['mb_per_s']:.1f}"
        rate += f", {copy['durable_mb_per_s']:.1f} on disk)"
    print(
        f"  {o.latency_ms:g} ms  pair {o.pair + 1}  {o.tool:3s}  {o.scenario:17s}"
        f"  probe cpu {1000 * o.probe_cpu_s:4.0f} ms io {1000 * o.probe_io_s:4.0f} ms"
        f"  job {o.job_s:8.2f} s  wall {o.wall_s:8.2f} s  {rate}"
        f"  calls/file {o.calls_per_file:6.2f}  redis keys {o.redis['keys']:6d}"
        f"  workers {o.worker_peak_pss_mib:5.0f} MiB"
        f"  CPU s workers {o.cpu_s['workers']:.1f} irods-lite {o.cpu_s['irods_lite']:.1f}"
        f" outside {o.cpu_s['outside']:.1f}"
        f"  {status}",
        flush=True,
    )


def make_tools(names: list[str], svc: services.Services, args: argparse.Namespace) -> list[Tool]:
    logs = args.workdir / "logs"
    tools: list[Tool] = []
    for name in names:
        if name == "old":
            tools.append(OldFramework(svc, logs, args.workers, oldvenv.ensure(args.old_venv.resolve())))
        elif name == "lz":
            tools.append(LzIngest(svc, logs, args.workers))
        else:
            raise SystemExit(f"unknown tool {name!r} (old, lz)")
    return tools


def compare(ctx: Context, tools: list[Tool], args: argparse.Namespace, large: Tree | None) -> list[Outcome]:
    """Per latency, the tools run each scenario in turns (old, lz, old, lz, ...): every pass is kept."""
    outcomes: list[Outcome] = []
    names = [n for n in args.scenarios.split(",") if n and (n != "large_put" or large is not None)]
    for latency in [float(x) for x in args.latencies.split(",")]:
        ctx.services.lite.set_latency(latency)
        print(f"irods-lite latency {latency:g} ms", flush=True)
        lanes = []
        for tool in tools:
            tree = build_small(args.workdir / "trees" / f"{tool.key}-{latency:g}ms", args.files, args.per_dir)
            lanes.append(Lane(tool, latency, tree, large, lane_base(tool, latency)))
            tool.redis().flushall()  # each lane starts from an empty Redis: keys after a pass are that lane's
        for name in names:
            outcomes += turns(ctx, lanes, name)
        for lane in lanes:
            shutil.rmtree(lane.tree.root)
    ctx.services.lite.set_latency(0)
    return outcomes


def turns(ctx: Context, lanes: list[Lane], name: str) -> list[Outcome]:
    """One scenario, the tools taking turns pass by pass; how many turns is decided by the first one."""
    scenario = SCENARIOS[name]
    outcomes: list[Outcome] = []
    wanted, turn = 1, 0
    while turn < wanted:
        for lane in lanes:
            outcome = run_scenario(ctx, lane, scenario(turn))
            progress(outcome)
            outcomes.append(outcome)
        if turn == 0:
            passes = [o.job_s if o.check_ok else float("nan") for o in outcomes]
            wanted = pairs.pairs_wanted(passes, scenario.pairs)
        turn += 1
    return outcomes


def scale_runs(ctx: Context, tool: Tool, args: argparse.Namespace) -> list[dict[str, Any]]:
    results = []
    print("scale: lz-ingest alone, 0 ms", flush=True)
    for files in [int(x) for x in args.scale_sizes.split(",")]:
        tree = build_small(args.workdir / "trees" / f"scale-{files}", files, args.per_dir)
        lane = Lane(tool, 0.0, tree, None, lane_base(tool, 0.0, f"-scale{files}"))
        for name in ("register_initial", "nochange"):
            o = run_scenario(ctx, lane, SCENARIOS[name]())
            progress(o)
            us = 1e6 * o.job_s / files if o.job_s > 0 else float("nan")
            results.append({**o.as_dict(), "us_per_file": round(us, 1)})
        shutil.rmtree(tree.root)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up servers and workers on SIGTERM too
    tool_names = ["lz"] if args.scale_only else [t for t in args.tools.split(",") if t]
    if args.workdir.exists():
        shutil.rmtree(args.workdir)
    args.workdir.mkdir(parents=True)
    started = time.time()
    outcomes: list[Outcome] = []
    scale: list[dict[str, Any]] = []
    try:
        with services.started(args.workdir, tool_names) as svc:
            handlers = write_handlers(args.workdir / "handlers")
            ctx = Context(svc, handlers, args.workdir, args.timeout, args.py_spy)
            tools = make_tools(tool_names, svc, args)
            if not args.scale_only:
                large = None
                if args.large_files > 0 and "large_put" in args.scenarios:
                    large = build_large(args.workdir / "trees" / "large", args.large_files, args.large_mib)
                outcomes = compare(ctx, tools, args, large)
            if args.scale or args.scale_only:
                scale = scale_runs(ctx, next(t for t in tools if t.key == "lz"), args)
    finally:
        if not args.keep:
            shutil.rmtree(args.workdir, ignore_errors=True)
    latencies = sorted({o.latency_ms for o in outcomes})
    rows = report.comparison_rows(outcomes, latencies)
    meta = {"files": args.files, "per_dir": args.per_dir, "workers": args.workers, "cpus": os.cpu_count()}
    table = report.markdown(rows, outcomes, scale, meta)
    judged = report.verdicts(outcomes)
    doc = {
        **report.reliability(judged),
        "pair_verdicts": [
            {"scenario": k[0], "latency_ms": k[1], "pair": k[2] + 1, "reliable": v.reliable, "reason": v.reason}
            for k, v in judged.items()
        ],
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "duration_s": round(time.time() - started, 1),
        "args": {k: str(v) for k, v in vars(args).items()},
        **meta,
        "python": sys.version.split()[0],
        "old_framework": f"irods-capability-automated-ingest {oldvenv.OLD_VERSION}",
        "comparison": [r.as_dict() for r in rows],
        "outcomes": [o.as_dict() for o in outcomes],
        "scale": scale,
    }
    report.write(args.out, doc, table, rows)
    print()
    print(table)
    print(f"written: {args.out / 'latest.json'}, latest.md, latest.png ({doc['duration_s']:.0f} s)")
    return 0 if all(o.check_ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
