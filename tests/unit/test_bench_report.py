"""bench/comparison/report.py: the table's ratio is the median of the reliable pairs' ratios."""

from __future__ import annotations

from typing import Any

import pytest

from bench.comparison import report
from bench.comparison.scenarios import Outcome

IDLE = (0.21, 0.45)
BURNING = (0.35, 0.70)  # two CPU burners running (recorded on this project's machine)


def outcome(scenario: str, tool: str, pair: int, job_s: float, wall_s: float, probe: tuple[float, float]) -> Outcome:
    files = 20_000
    fields: dict[str, Any] = dict(
        scenario=scenario, tool=tool, latency_ms=0.0, files=files, bytes=files * 400, wall_s=wall_s, job_s=job_s,
        rc=0, files_per_s=round(files / job_s, 1), mb_per_s=0.0, calls_total=37, calls_per_file=0.0,
        calls_per_file_by_api={}, redis={"keys": 26, "keys_naming_a_source_path": 0, "used_memory": 1 << 20},
        cpu_s={"workers": 0.6}, worker_cpu_ms_per_file=0.03, worker_peak_pss_mib=100.0, worker_processes=3,
        check_ok=True, check="ok", pair=pair, probe_cpu_s=probe[0], probe_io_s=probe[1],
    )  # fmt: skip
    return Outcome(**fields)


def nochange_run(loaded_from: int) -> list[Outcome]:
    """Five no-change pairs (figures from issue 12); a CPU burner from pair `loaded_from` on, skewing them."""
    old = [5.2, 6.1, 5.8, 6.5, 5.5]
    lz = [0.18, 0.20, 0.19, 0.21, 0.18]
    outcomes = []
    for i in range(5):
        loaded = i >= loaded_from
        probe = BURNING if loaded else IDLE
        old_s, lz_s = (old[i] * 4, lz[i] * 2.7) if loaded else (old[i], lz[i])
        outcomes.append(outcome("nochange", "old", i, old_s, old_s + 1.1, probe))
        outcomes.append(outcome("nochange", "lz", i, lz_s, lz_s + 0.5, probe))
    return outcomes


def row(rows: list[report.Row], metric: str) -> report.Row:
    return next(r for r in rows if r.metric == metric)


def test_the_ratio_is_the_median_of_the_reliable_pairs() -> None:
    outcomes = nochange_run(loaded_from=3)
    rows = report.comparison_rows(outcomes, [0.0])
    job = row(rows, "no-change pass (job start to end)")
    assert job.pair_reliable == (True, True, True, False, False)
    assert job.left_out == 2
    idle_ratios = sorted(round(old / lz, 2) for old, lz in [(5.2, 0.18), (6.1, 0.20), (5.8, 0.19)])
    assert job.ratio == pytest.approx(idle_ratios[1], abs=0.01)
    assert (job.low, job.high) == pytest.approx((idle_ratios[0], idle_ratios[2]), abs=0.01)
    assert job.old == pytest.approx(20_000 / 5.8, rel=0.01)  # the old tool's median over the reliable pairs
    wall = row(rows, "no-change pass, command wall time (pools running)")
    assert wall.unit == "s"
    assert wall.ratio == pytest.approx(6.9 / 0.69, abs=0.01)  # old's wall / lz's wall: how many times faster


def test_the_landing_zone_latency_rows_are_gone() -> None:
    """They were 1 s plus the pass time, computed, not measured (issue 10 item 18)."""
    rows = report.comparison_rows(nochange_run(loaded_from=5), [0.0])
    assert not [r for r in rows if "latency" in r.metric]


def test_a_run_with_fewer_than_half_its_pairs_reliable_says_so_at_the_top() -> None:
    outcomes = nochange_run(loaded_from=2)  # pairs 3, 4 and 5 under load: 2 of 5 reliable
    summary = report.reliability(report.verdicts(outcomes))
    assert summary == {"pairs": 5, "reliable_pairs": 2, "run_reliable": False}
    table = report.markdown(report.comparison_rows(outcomes, [0.0]), outcomes, [], meta())
    assert table.splitlines()[0].startswith("**UNRELIABLE RUN: only 2 of 5 pairs")
    assert "3 of 5 left out" in table
    assert table.count("**unreliable**") == 6  # both passes of each of the three loaded pairs


def test_a_reliable_run_says_how_many_pairs_counted() -> None:
    outcomes = nochange_run(loaded_from=4)
    table = report.markdown(report.comparison_rows(outcomes, [0.0]), outcomes, [], meta())
    assert table.splitlines()[0].startswith("4 of 5 pairs reliable")


def test_without_a_reliable_pair_there_is_no_ratio() -> None:
    outcomes = [o for o in nochange_run(loaded_from=0) if o.pair < 2]
    outcomes += [outcome("register_initial", t, 0, s, s + 1, IDLE) for t, s in (("old", 196.0), ("lz", 14.0))]
    rows = report.comparison_rows(outcomes, [0.0])
    assert row(rows, "no-change pass (job start to end)").ratio is None
    assert row(rows, "initial REGISTER_SYNC").ratio == pytest.approx(14.0, abs=0.02)
    assert "— (no reliable pair of 2)" in report.markdown(rows, outcomes, [], meta())


def meta() -> dict[str, Any]:
    return {"files": 20_000, "per_dir": 100, "workers": 2, "cpus": 2}
