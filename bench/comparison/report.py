"""From outcomes to the comparison: ratio rows against the targets, JSON, a Markdown table, a chart."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import Any

from .scenarios import Outcome

MIN_INTERVAL_S = 1.0  # the old tool's -i takes whole seconds: 1 is its shortest period


@dataclass
class Row:
    metric: str
    latency_ms: float
    old: float | None
    lz: float | None
    ratio: float | None  # how many times better lz-ingest is (direction depends on the metric)
    target: str
    met: bool | None
    unit: str = ""

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _find(outcomes: list[Outcome], scenario: str, tool: str, latency: float) -> Outcome | None:
    for o in outcomes:
        if o.scenario == scenario and o.tool == tool and o.latency_ms == latency:
            return o
    return None


def _ok(o: Outcome | None) -> bool:
    return o is not None and o.check_ok


def _value(o: Outcome | None, get: Callable[[Outcome], float]) -> float | None:
    if not _ok(o):
        return None  # a wrong or failed answer never counts
    assert o is not None
    value = get(o)
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


def _pair(outcomes: list[Outcome], scenario: str, lat: float, attr: str) -> tuple[float | None, float | None]:
    get = attrgetter(attr)
    return (_value(_find(outcomes, scenario, "old", lat), get), _value(_find(outcomes, scenario, "lz", lat), get))


def _faster(outcomes: list[Outcome], lat: float, metric: str, scenario: str, need: float | None, unit: str) -> Row:
    old, lz = _pair(outcomes, scenario, lat, "files_per_s" if unit == "files/s" else "mb_per_s")
    ratio = _ratio(lz, old)
    met = None if need is None else (ratio is not None and ratio >= need)
    return Row(metric, lat, old, lz, ratio, f">= {need:g}x" if need else "", met, unit)


def comparison_rows(outcomes: list[Outcome], latencies: list[float]) -> list[Row]:
    rows: list[Row] = []
    for lat in latencies:
        rows.append(_faster(outcomes, lat, "initial REGISTER_SYNC", "register_initial", 10, "files/s"))
        rows.append(_faster(outcomes, lat, "initial PUT", "put_initial", 5, "files/s"))
        rows.append(_faster(outcomes, lat, "no-change pass (job start to end)", "nochange", 30, "files/s"))
        rows.append(_faster(outcomes, lat, "10% modified + 1% deleted pass", "modified", None, "files/s"))
        old_s, lz_s = _pair(outcomes, "nochange", lat, "job_s")
        old_lat = None if old_s is None else round(MIN_INTERVAL_S + old_s, 2)
        lz_lat = None if lz_s is None else round(MIN_INTERVAL_S + lz_s, 2)
        rows.append(Row("landing-zone latency (1 s interval + no-change pass)", lat, old_lat, lz_lat,
                        _ratio(old_lat, lz_lat), "", None, "s"))  # fmt: skip
        if _find(outcomes, "large_put", "lz", lat) is not None:
            rows.append(_faster(outcomes, lat, "large-file PUT", "large_put", None, "MB/s"))
            rows += _copy_rows(outcomes, lat)
        for scenario, limit, label in (("register_initial", 1.2, "registered"), ("put_initial", 6.0, "put")):
            old, lz = _pair(outcomes, scenario, lat, "calls_per_file")
            rows.append(Row(f"iRODS calls per {label} file", lat, old, lz, _ratio(old, lz), f"lz <= {limit:g}",
                            lz is not None and lz <= limit, "calls"))  # fmt: skip
        old, lz = _pair(outcomes, "nochange", lat, "calls_per_file")
        rows.append(Row("iRODS calls per file, no-change pass", lat, old, lz, _ratio(old, lz), "", None, "calls"))
        rows += _redis_rows(outcomes, lat)
        old_w, lz_w = _pair(outcomes, "put_initial", lat, "worker_peak_pss_mib")
        rows.append(Row("worker peak memory (PSS, put)", lat, old_w, lz_w, _ratio(old_w, lz_w), "", None, "MiB"))
    return rows


def _copy_rows(outcomes: list[Outcome], lat: float) -> list[Row]:
    """Each tool's MB/s as a share of the plain copy measured just before its own pass: with the bytes
    in the page cache (job end), and on disk (until a sync() after the job; the target's measure)."""
    rows = []
    for kind, label, need in (("mb_per_s", "cached", None), ("durable_mb_per_s", "on disk", 0.5)):
        shares = []
        for tool in ("old", "lz"):
            o = _find(outcomes, "large_put", tool, lat)
            copy = o.extra.get("plain_copy", {}).get(kind) if o else None
            mine = (o.mb_per_s if kind == "mb_per_s" else o.extra.get(kind)) if _ok(o) and o else None
            shares.append(_ratio(mine, copy))
        old, lz = shares
        met = None if need is None else lz is not None and lz >= need
        target = f"lz >= {need:g}" if need else ""
        rows.append(
            Row(f"large-file PUT / plain copy just before it ({label})", lat, old, lz, None, target, met, "x copy")
        )
    return rows


def _redis_rows(outcomes: list[Outcome], lat: float) -> list[Row]:
    old_o, lz_o = (_find(outcomes, "modified", t, lat) for t in ("old", "lz"))
    old_keys = old_o.redis["keys"] if old_o else None
    lz_keys = lz_o.redis["keys"] if lz_o else None
    met = None if lz_o is None else lz_o.redis["keys_naming_a_source_path"] == 0 and lz_o.redis["keys"] < lz_o.files
    old_m, lz_m = (o.redis["used_memory"] / (1 << 20) if o else None for o in (old_o, lz_o))
    return [
        Row("Redis keys after the last pass", lat, old_keys, lz_keys, _ratio(old_keys, lz_keys),
            "no per-file keys", met, "keys"),
        Row("Redis used_memory after the last pass", lat, _r(old_m), _r(lz_m), _ratio(old_m, lz_m), "", None, "MiB"),
    ]  # fmt: skip


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


def _fmt(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}".rstrip("0").rstrip(".")


def markdown(rows: list[Row], outcomes: list[Outcome], scale: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [
        f"Files: {meta['files']:,} small files ({meta['per_dir']} per directory), {meta['workers']} workers per tool, "
        f"{meta['cpus']} CPUs. Ratio = how many times better lz-ingest is. — = no valid result (failed or wrong).",
        "",
        "| metric | irods-lite latency | old 0.7.0 | lz-ingest | unit | ratio | target | met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        met = "" if r.met is None else ("yes" if r.met else "**NO**")
        ratio = "" if r.ratio is None else f"{r.ratio:g}x"
        cells = [r.metric, f"{r.latency_ms:g} ms", _fmt(r.old), _fmt(r.lz), r.unit, ratio, r.target, met]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Per run (job time from the tool's own job records; wall = the whole command):", ""]
    lines += [
        "| scenario | latency | tool | files | job s | wall s | files/s | MB/s | calls/file | Redis keys | "
        "Redis MiB | worker PSS MiB | CPU s workers / irods-lite / redis / command / outside | check |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        job = f"{o.job_s:.2f}"
        if "repeats_job_s" in o.extra:  # the median of several passes: all of them shown
            job += " (median of " + ", ".join(f"{x:.2f}" for x in o.extra["repeats_job_s"]) + ")"
        lines.append(
            f"| {o.scenario} | {o.latency_ms:g} ms | {o.tool} | {o.files:,} | {job} | {o.wall_s:.2f} | "
            f"{_fmt(o.files_per_s)} | {_fmt(o.mb_per_s)} | {o.calls_per_file:.2f} | {o.redis['keys']:,} | "
            f"{o.redis['used_memory'] / (1 << 20):.1f} | {o.worker_peak_pss_mib:.0f} | "
            f"{' / '.join(f'{v:.1f}' for v in o.cpu_s.values())} | "
            f"{'ok' if o.check_ok else 'FAILED: ' + o.check[:80]} |"
        )
    if scale:
        lines += ["", "Scale (lz-ingest alone, 0 ms):", ""]
        lines += ["| files | scenario | job s | µs per file | files/s | check |", "|---|---|---|---|---|---|"]
        for s in scale:
            lines.append(
                f"| {s['files']:,} | {s['scenario']} | {s['job_s']:.2f} | {s['us_per_file']:.0f} | "
                f"{_fmt(s['files_per_s'])} | {'ok' if s['check_ok'] else 'FAILED'} |"
            )
    return "\n".join(lines) + "\n"


def chart(rows: list[Row], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    speed = [r for r in rows if r.unit in ("files/s", "MB/s", "s", "calls") and r.ratio]
    if not speed:
        return
    metrics = list(dict.fromkeys(r.metric for r in speed))
    latencies = sorted({r.latency_ms for r in speed})
    fig, ax = plt.subplots(figsize=(11, 5.5))
    width = 0.8 / max(1, len(latencies))
    for i, lat in enumerate(latencies):
        values = [next((r.ratio for r in speed if r.metric == m and r.latency_ms == lat), 0) or 0 for m in metrics]
        xs = [k + i * width for k in range(len(metrics))]
        bars = ax.bar(xs, values, width, label=f"irods-lite +{lat:g} ms per call")
        ax.bar_label(bars, labels=[f"{v:.3g}x" if v else "" for v in values], fontsize=7)
    for k, m in enumerate(metrics):
        target = next((r.target for r in speed if r.metric == m and r.target.startswith(">=")), "")
        if target:
            need = float(target.split()[1].rstrip("x"))
            ax.hlines(need, k - width / 2, k + width * (len(latencies) - 0.5), colors="red", linestyles="dashed")
    ax.axhline(1.0, color="grey", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xticks([k + width * (len(latencies) - 1) / 2 for k in range(len(metrics))])
    ax.set_xticklabels([m.replace(" (", "\n(") for m in metrics], fontsize=7, rotation=20, ha="right")
    ax.set_ylabel("lz-ingest vs old 0.7.0 (x better; red dashes = target)")
    ax.set_title("lz-ingest / irods-capability-automated-ingest 0.7.0, same machine, same run")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(out_dir: Path, doc: dict[str, Any], table: str, rows: list[Row]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "latest.json").write_text(json.dumps(doc, indent=1, default=str) + "\n")
    (out_dir / "latest.md").write_text(table)
    chart(rows, out_dir / "latest.png")
