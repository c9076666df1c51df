"""Benchmark: irods-lite's throughput with python-irodsclient clients in separate processes.

    .venv/bin/python bench/irods_lite_bench.py                 # 5 s per operation, 4 client processes
    .venv/bin/python bench/irods_lite_bench.py --seconds 10 --clients 4

irods-lite runs as its own process (`python -m lz_ingest.cli irods-lite --port 0`) in a temporary data
directory. For each operation the clients warm up, meet at a barrier, then call as fast as they can for
--seconds; the aggregate calls/s is printed with its ratio to a no-op round trip (an unimplemented API
number) measured in the same run, plus the CPU seconds the server and the clients spent. A short check
against an in-process irods-lite counts the API calls each operation makes. PASS/FAIL lines against the
targets are information only: the exit status is 0 and nothing is asserted. Results also go to
bench/results/irods_lite.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from irods import keywords as kw  # noqa: E402
from irods.column import Criterion  # noqa: E402
from irods.message import iRODSMessage  # noqa: E402
from irods.models import Collection, DataObject  # noqa: E402
from irods.session import iRODSSession  # noqa: E402

from lz_ingest.irods_lite.testing import running  # noqa: E402

ZONE, USER, PASSWORD = "tempZone", "rods", "rods"
HOME = f"/{ZONE}/home/{USER}"
TARGETS = {"register": 1500.0, "genquery": 2000.0}
START_TARGET_S = 2.0
OPERATIONS = ("noop", "register", "genquery", "put", "coll_create")
API_NAMES = {601: "create", 602: "open", 673: "close", 676: "write", 630: "register", 681: "coll_create",
             674: "lseek", 702: "genquery", 9999: "unmatched", 20000: "fd_info", 20004: "replica_close"}  # fmt: skip


def session(port: int) -> iRODSSession:
    return iRODSSession(host="127.0.0.1", port=port, user=USER, password=PASSWORD, zone=ZONE)


# ---- the operations, one call each; `setup` runs once per client before warm-up ----------------


class Workload:
    """One client's view of an operation: a prepared session plus a call taking a sequence number."""

    def __init__(self, op: str, sess: iRODSSession, client: int, scratch: str, run_id: str) -> None:
        self.sess = sess
        self.coll = f"{HOME}/bench-{run_id}-{op}-{client}"
        self.local = os.path.join(scratch, f"small-{client}.dat")
        with open(self.local, "wb") as fh:
            fh.write(os.urandom(1024))
        if op != "noop":
            sess.collections.create(self.coll)
        self.call: Callable[[int], None] = getattr(self, op)
        if op == "genquery":  # something to find
            sess.data_objects.register(self.local, f"{self.coll}/target", **self._reg_kw())

    def _reg_kw(self) -> dict[str, str]:
        return {kw.DATA_SIZE_KW: "1024", kw.DATA_MODIFY_KW: str(int(time.time()))}

    def noop(self, i: int) -> None:
        with self.sess.pool.get_connection() as conn:
            conn.send(iRODSMessage("RODS_API_REQ", int_info=9999))
            try:
                conn.recv()
            except Exception:  # SYS_UNMATCHED_API_NUM, as expected
                pass

    def register(self, i: int) -> None:
        self.sess.data_objects.register(self.local, f"{self.coll}/r{i}", **self._reg_kw())

    def genquery(self, i: int) -> None:
        q = self.sess.query(DataObject.id, DataObject.size).filter(
            Criterion("=", Collection.name, self.coll), Criterion("=", DataObject.name, "target")
        )
        if len(q.execute()) != 1:
            raise RuntimeError(f"{self.coll}/target not found")

    def put(self, i: int) -> None:
        self.sess.data_objects.put(self.local, f"{self.coll}/p{i}", num_threads=1)

    def coll_create(self, i: int) -> None:
        self.sess.collections.create(f"{self.coll}/c{i}")


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def client_main(
    op: str, client: int, port: int, scratch: str, run_id: str, seconds: float, warmup: int, barrier: Any, out: Any
) -> None:
    try:
        with session(port) as sess:
            w = Workload(op, sess, client, scratch, run_id)
            for i in range(warmup):
                w.call(-1 - i)
            barrier.wait(timeout=120)
            cpu0, t0 = _cpu(), time.perf_counter()
            deadline = t0 + seconds
            n = 0
            while time.perf_counter() < deadline:
                w.call(n)
                n += 1
            elapsed = time.perf_counter() - t0
            out.put({"client": client, "calls": n, "elapsed": elapsed, "cpu": _cpu() - cpu0})
    except Exception as exc:  # reported by the parent; a barrier left waiting is broken below
        barrier.abort()
        out.put({"client": client, "error": f"{type(exc).__name__}: {exc}"})


# ---- the server process ---------------------------------------------------------------------------


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


SERVER_ENTRIES = (
    ["-m", "lz_ingest.cli", "irods-lite"],  # what `lz-ingest irods-lite` runs
    # The same click command without the rest of the CLI's imports (used if the full CLI does not import).
    ["-c", "import sys; from lz_ingest.cli_lite import irods_lite_command as c; c(sys.argv[1:])"],
)


def start_server(data_dir: Path, log_path: Path) -> tuple[subprocess.Popen[str], int, float]:
    """Spawn irods-lite; return it, its port and the seconds until a session could authenticate."""
    for entry in SERVER_ENTRIES:
        cmd = [sys.executable, *entry, "--port", "0", "--data-dir", str(data_dir)]
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=open(log_path, "w"), text=True)  # noqa: SIM115
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if " listening on " in line:
            break
        proc.kill()
        print(f"note: {' '.join(entry)} did not start irods-lite (see {log_path}); trying the next entry")
    else:
        raise SystemExit(f"irods-lite did not start; see {log_path}")
    port = int(line.split(" listening on ", 1)[1].split(",", 1)[0].rsplit(":", 1)[1])
    while True:
        try:
            with session(port) as s, s.pool.get_connection():
                break
        except Exception:
            if time.perf_counter() - started > 30:
                raise
            time.sleep(0.01)
    return proc, port, time.perf_counter() - started


def run_op(op: str, port: int, clients: int, seconds: float, warmup: int, scratch: str, server_pid: int) -> dict:
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(clients + 1)
    out = ctx.Queue()
    run_id = f"{os.getpid()}-{int(time.time() * 1000) % 10**8}"
    procs = [
        ctx.Process(target=client_main, args=(op, c, port, scratch, run_id, seconds, warmup, barrier, out))
        for c in range(clients)
    ]
    for p in procs:
        p.start()
    try:
        barrier.wait(timeout=180)
    except Exception:
        pass
    cpu0, t0 = proc_cpu(server_pid), time.perf_counter()
    results = [out.get(timeout=seconds + 180) for _ in procs]
    wall = time.perf_counter() - t0
    server_cpu = proc_cpu(server_pid) - cpu0
    for p in procs:
        p.join(timeout=30)
    errors = [r["error"] for r in results if "error" in r]
    if errors:
        return {"op": op, "error": errors[0]}
    calls = sum(r["calls"] for r in results)
    longest = max(r["elapsed"] for r in results)
    return {
        "op": op,
        "calls": calls,
        "seconds": round(longest, 3),
        "calls_per_s": round(calls / longest, 1),
        "server_cpu_s": round(server_cpu, 3),
        "clients_cpu_s": round(sum(r["cpu"] for r in results), 3),
        "server_cpu_ms_per_call": round(1000 * server_cpu / calls, 4),
        "client_cpu_ms_per_call": round(1000 * sum(r["cpu"] for r in results) / calls, 4),
        "wall_s": round(wall, 3),
    }


# ---- API calls per operation, counted by an in-process irods-lite ---------------------------------


def calls_per_op(scratch: str, n: int = 20) -> dict[str, dict[str, float]]:
    """For each operation, API calls per operation (client in a child process, server in-process)."""
    ctx = mp.get_context("fork")
    counts: dict[str, dict[str, float]] = {}
    logging.getLogger("irods_lite").setLevel(logging.ERROR)  # the no-op warns once per call
    with running() as srv:
        for op in OPERATIONS:
            to_child, to_parent = ctx.Queue(), ctx.Queue()
            p = ctx.Process(target=_count_child_q, args=(op, srv.port, scratch, n, to_child, to_parent))
            p.start()
            to_parent.get(timeout=60)
            srv.reset_counts()
            to_child.put("go")
            to_parent.get(timeout=60)
            counted = srv.call_counts()
            p.join(timeout=30)
            counts[op] = {API_NAMES.get(api, str(api)): round(c / n, 2) for api, c in sorted(counted.items())}
    return counts


def _count_child_q(op: str, port: int, scratch: str, n: int, inbox: Any, outbox: Any) -> None:
    with session(port) as sess:
        w = Workload(op, sess, 0, scratch, "count")
        w.call(-1)  # connects and authenticates outside the count
        outbox.put("ready")
        inbox.get()
        for i in range(n):
            w.call(i)
        outbox.put("done")


def _py_spy(out_dir: str, op: str, pid: int, seconds: float) -> subprocess.Popen[bytes]:
    """Profiling aid: sample the server while one operation runs (the warm-up is included)."""
    os.makedirs(out_dir, exist_ok=True)
    spy = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
    cmd = [spy, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--format", "raw", "--gil"]
    cmd += ["--rate", "200", "--output", os.path.join(out_dir, f"{op}.txt")]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# ---- main -------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="timed duration per operation")
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--warmup", type=int, default=20, help="untimed calls per client first")
    parser.add_argument("--ops", default=",".join(OPERATIONS), help="comma-separated subset")
    parser.add_argument("--py-spy", metavar="DIR", help="also sample the server with py-spy (collapsed stacks)")
    parser.add_argument("--no-count", action="store_true", help="skip the API-call count check")
    args = parser.parse_args()
    ops = [o for o in args.ops.split(",") if o]
    if "noop" not in ops:
        ops.insert(0, "noop")

    scratch = tempfile.mkdtemp(prefix="irods-lite-bench-")
    data_dir = Path(scratch) / "server"
    proc, port, start_s = start_server(data_dir, Path(scratch) / "server.log")
    print(f"irods-lite started (spawn -> authenticated session) in {start_s:.3f} s, port {port}")
    print(f"{args.clients} client processes, {args.seconds:g} s per operation, {os.cpu_count()} CPUs")
    results: dict[str, dict] = {}
    try:
        for op in ops:
            spy = _py_spy(args.py_spy, op, proc.pid, args.seconds + 5) if args.py_spy else None
            r = run_op(op, port, args.clients, args.seconds, args.warmup, scratch, proc.pid)
            if spy is not None:
                spy.wait()
            results[op] = r
            if "error" in r:
                print(f"  {op:12s} ERROR {r['error']}")
                continue
            print(
                f"  {op:12s} {r['calls_per_s']:9.1f} calls/s  ({r['calls']} calls in {r['seconds']:.2f} s;"
                f" CPU ms/call server {r['server_cpu_ms_per_call']:.3f}, clients {r['client_cpu_ms_per_call']:.3f})"
            )
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    counts = {} if args.no_count else calls_per_op(scratch)
    shutil.rmtree(scratch, ignore_errors=True)
    report(results, counts, start_s, args)


def report(results: dict[str, dict], counts: dict, start_s: float, args: argparse.Namespace) -> None:
    floor = results.get("noop", {}).get("calls_per_s") or 0.0
    print(f"\nno-op round-trip floor: {floor:.1f} calls/s")
    for op, r in results.items():
        if op == "noop" or "error" in r:
            continue
        r["ratio_to_noop"] = round(r["calls_per_s"] / floor, 3) if floor else None
        share = r["server_cpu_s"] / max(1e-9, r["server_cpu_s"] + r["clients_cpu_s"])
        print(
            f"  {op:12s} {r['calls_per_s']:9.1f} calls/s = {r['ratio_to_noop']:.3f} x no-op;"
            f" CPU server {r['server_cpu_s']:.2f} s vs clients {r['clients_cpu_s']:.2f} s ({share:.0%} server)"
        )
    if counts:
        print("\nAPI calls per operation (in-process irods-lite, counted):")
        for op, c in counts.items():
            print(f"  {op:12s} {c}")
    print()
    verdicts = {}
    for op, target in TARGETS.items():
        rate = results.get(op, {}).get("calls_per_s")
        if rate is None:
            continue
        verdicts[op] = rate >= target
        print(f"{'PASS' if verdicts[op] else 'FAIL'} {op}: {rate:.0f} calls/s (target >= {target:.0f})")
    verdicts["start"] = start_s < START_TARGET_S
    print(f"{'PASS' if verdicts['start'] else 'FAIL'} start: {start_s:.3f} s (target < {START_TARGET_S:g} s)")
    out = Path(__file__).resolve().parent / "results" / "irods_lite.json"
    out.parent.mkdir(exist_ok=True)
    doc = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "cpus": os.cpu_count(),
        "clients": args.clients,
        "seconds_per_op": args.seconds,
        "start_s": round(start_s, 3),
        "noop_calls_per_s": floor,
        "operations": results,
        "api_calls_per_op": counts,
        "targets": {**TARGETS, "start_s": START_TARGET_S},
        "pass": verdicts,
    }
    out.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"results written to {out}")


if __name__ == "__main__":
    main()
