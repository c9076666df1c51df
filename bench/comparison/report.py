"""From outcomes to the comparison: ratio rows against the targets, JSON, a Markdown table, a chart.

A timed row's ratio is the median of its pairs' ratios (old and lz passes taken in turn), reliable
pairs only (pairs.py decides which); its old and lz figures are each tool's median over those pairs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import Any

from . import pairs
from .pairs import Probe, Verdict
from .scenarios import Outcome

PairKey = tuple[str, float, int]  # scenario, latency, turn


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
    pair_ratios: tuple[float | None, ...] = ()  # one per pair, in the order they ran
    pair_reliable: tuple[bool, ...] = ()
    low: float | None = None  # min-max of the reliable pairs' ratios
    high: float | None = None
    left_out: int = 0  # pairs with a ratio left out as unreliable

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _find(outcomes: list[Outcome], scenario: str, tool: str, latency: float) -> Outcome | None:
    """The tool's last pass of the scenario (counts and Redis state: what the last pass left)."""
    found = None
    for o in outcomes:
        if o.scenario == scenario and o.tool == tool and o.latency_ms == latency:
            found = o
    return found


def paired(outcomes: list[Outcome]) -> dict[PairKey, tuple[Outcome, Outcome]]:
    """The (old, lz) passes of each turn, where both tools ran it."""
    by_key: dict[PairKey, dict[str, Outcome]] = {}
    for o in outcomes:
        by_key.setdefault((o.scenario, o.latency_ms, o.pair), {})[o.tool] = o
    return {k: (v["old"], v["lz"]) for k, v in by_key.items() if "old" in v and "lz" in v}


def _probe(o: Outcome) -> Probe:
    return Probe(o.probe_cpu_s, o.probe_io_s)


def verdicts(outcomes: list[Outcome]) -> dict[PairKey, Verdict]:
    """Each pair's verdict, against the machine at its fastest in the whole run (pairs.reference)."""
    pairs_ = paired(outcomes)
    found = pairs.judge_all([(_probe(a), _probe(b)) for a, b in pairs_.values()])
    return dict(zip(pairs_, found, strict=True))


def reliability(judged: dict[PairKey, Verdict]) -> dict[str, Any]:
    """The run's summary: how many pairs were reliable, and whether that is enough to publish."""
    good = sum(v.reliable for v in judged.values())
    return {"pairs": len(judged), "reliable_pairs": good, "run_reliable": pairs.run_is_reliable(list(judged.values()))}


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


def _timed(
    outcomes: list[Outcome], judged: dict[PairKey, Verdict], lat: float, metric: str, scenario: str, attr: str
) -> Row:
    """A row from the pairs of one scenario: rates (higher is better) or seconds (lower is better)."""
    get, unit = attrgetter(attr), {"files_per_s": "files/s", "mb_per_s": "MB/s"}.get(attr, "s")
    keys = sorted(k for k in judged if k[0] == scenario and k[1] == lat)
    if not keys:  # one tool only: its last pass, no ratio
        old, lz = _pair(outcomes, scenario, lat, attr)
        return Row(metric, lat, old, lz, None, "", None, unit)
    both = [paired(outcomes)[k] for k in keys]
    olds, lzs = [_value(o, get) for o, _ in both], [_value(z, get) for _, z in both]
    ratios = [_ratio(z, o) if unit != "s" else _ratio(o, z) for o, z in zip(olds, lzs, strict=True)]
    reliable = [judged[k].reliable for k in keys]
    sp = pairs.spread(ratios, reliable)
    return Row(
        metric,
        lat,
        _r(pairs.median_of_reliable(olds, reliable)),
        _r(pairs.median_of_reliable(lzs, reliable)),
        _r(sp.median),
        "",
        None,
        unit,
        sp.ratios,
        sp.reliable,
        sp.low,
        sp.high,
        sp.left_out,
    )


def _faster(
    outcomes: list[Outcome], judged: dict[PairKey, Verdict], lat: float, metric: str, scenario: str, need: float | None
) -> Row:
    attr = "mb_per_s" if scenario == "large_put" else "files_per_s"
    row = _timed(outcomes, judged, lat, metric, scenario, attr)
    row.target = f">= {need:g}x" if need else ""
    row.met = None if need is None else (row.ratio is not None and row.ratio >= need)
    return row


def comparison_rows(outcomes: list[Outcome], latencies: list[float]) -> list[Row]:
    rows: list[Row] = []
    judged = verdicts(outcomes)
    for lat in latencies:
        rows.append(_faster(outcomes, judged, lat, "initial REGISTER_SYNC", "register_initial", 10))
        rows.append(_faster(outcomes, judged, lat, "initial PUT", "put_initial", 5))
        rows.append(_faster(outcomes, judged, lat, "no-change pass (job start to end)", "nochange", 30))
        rows.append(_timed(outcomes, judged, lat, "no-change pass, command wall time (pools running)",
                           "nochange", "wall_s"))  # fmt: skip
        if _find(outcomes, "nochange_oneshot", "lz", lat) is not None:
            one_shot = "no-change pass, command wall time (lz-ingest: one-shot rescan, its own workers)"
            rows.append(_timed(outcomes, judged, lat, one_shot, "nochange_oneshot", "wall_s"))
        rows.append(_faster(outcomes, judged, lat, "10% modified + 1% deleted pass", "modified", None))
        if _find(outcomes, "large_put", "lz", lat) is not None:
            rows.append(_faster(outcomes, judged, lat, "large-file PUT", "large_put", None))
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


def _ratio_cell(r: Row) -> str:
    """The median ratio, with how many pairs it stands on, their min-max, and how many were left out."""
    if not r.pair_ratios:
        return "" if r.ratio is None else f"{r.ratio:g}x"
    pairs_ = len(r.pair_ratios)
    if r.ratio is None:
        return f"— (no reliable pair of {pairs_})"
    cell = f"{r.ratio:g}x"
    if r.low is not None and r.high is not None and pairs_ > 1:
        cell += f" ({r.low:g}-{r.high:g}x"
    else:
        cell += " (1 pair"
    return cell + (f"; {r.left_out} of {pairs_} left out)" if r.left_out else f"; {pairs_} pairs)")


def headline(summary: dict[str, Any]) -> str:
    """The table's first line: whether the run may be published."""
    good, total = summary["reliable_pairs"], summary["pairs"]
    if not summary["run_reliable"]:
        return (
            f"**UNRELIABLE RUN: only {good} of {total} pairs had machine-speed probes within "
            f"{pairs.TOLERANCE:.0%} of each other and of the run's fastest. Do not publish these figures.**"
        )
    return f"{good} of {total} pairs reliable (machine-speed probes within {pairs.TOLERANCE:.0%})."


def _probe_cell(o: Outcome, judged: dict[PairKey, Verdict]) -> str:
    verdict = judged.get((o.scenario, o.latency_ms, o.pair))
    cell = f"{1000 * o.probe_cpu_s:.0f} / {1000 * o.probe_io_s:.0f}"
    if verdict is None:
        return cell
    return cell + (" ok" if verdict.reliable else f" **unreliable** ({verdict.reason})")


def markdown(rows: list[Row], outcomes: list[Outcome], scale: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    judged = verdicts(outcomes)
    lines = [
        headline(reliability(judged)),
        "",
        f"Files: {meta['files']:,} small files ({meta['per_dir']} per directory), {meta['workers']} workers per tool, "
        f"{meta['cpus']} CPUs. Ratio = how many times better lz-ingest is: the median of the ratios of pairs of "
        "passes (the tools taking turns), with their min-max; old and lz = each tool's median over those pairs. "
        "— = no valid result (failed or wrong).",
        "",
        "| metric | irods-lite latency | old 0.7.0 | lz-ingest | unit | ratio (pairs) | target | met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        met = "" if r.met is None else ("yes" if r.met else "**NO**")
        cells = [r.metric, f"{r.latency_ms:g} ms", _fmt(r.old), _fmt(r.lz), r.unit, _ratio_cell(r), r.target, met]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "Per pass, in the order they ran (job time from the tool's own job records; wall = the whole command; "
        "probe = ms of the fixed CPU / small-file I/O workloads just before the pass, and the pair's verdict):",
        "",
        "| scenario | latency | pair | tool | files | job s | wall s | files/s | MB/s | calls/file | Redis keys | "
        "Redis MiB | worker PSS MiB | CPU s workers / irods-lite / redis / command / outside | probe ms | check |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        job = f"{o.job_s:.2f}"
        tool = f"{o.tool} (one-shot)" if o.one_shot else o.tool
        lines.append(
            f"| {o.scenario} | {o.latency_ms:g} ms | {o.pair + 1} | {tool} | {o.files:,} | {job} | {o.wall_s:.2f} | "
            f"{_fmt(o.files_per_s)} | {_fmt(o.mb_per_s)} | {o.calls_per_file:.2f} | {o.redis['keys']:,} | "
            f"{o.redis['used_memory'] / (1 << 20):.1f} | {o.worker_peak_pss_mib:.0f} | "
            f"{' / '.join(f'{v:.1f}' for v in o.cpu_s.values())} | {_probe_cell(o, judged)} | "
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
