"""bench/overhead.py: what a command adds beyond its pass, from recorded run times."""

from __future__ import annotations

import pytest

from bench.comparison.tools import PassRun
from bench.overhead import report, summarize


def runs(pairs: list[tuple[float, float]]) -> list[PassRun]:
    return [PassRun(wall_s=w, job_s=j, rc=0, output="") for w, j in pairs]


def test_overheads_are_medians_of_per_run_differences() -> None:
    # issue 12's figures on a 20,000-file no-change zone: rescan 1.76-1.83 s for a pass of 0.33-0.38 s,
    # start with a running pool 0.71-0.77 s for a pass of 0.18-0.21 s, interpreter start-up about 0.2 s
    o = summarize(
        python=[0.19, 0.21, 0.20],
        cli=[0.55, 0.60, 0.58],
        rescan=runs([(1.76, 0.33), (1.83, 0.38), (1.80, 0.35)]),
        start=runs([(0.71, 0.18), (0.77, 0.21), (0.74, 0.20)]),
    )
    assert o.python_start_s == 0.2
    assert o.cli_import_s == 0.58
    assert o.rescan_adds_s == pytest.approx(1.45)
    assert o.rescan_adds_beyond_pool_pass_s == pytest.approx(1.80 - 0.20)
    assert o.start_adds_s == pytest.approx(0.54)
    assert o.start_adds_beyond_python_s == pytest.approx(0.34)
    text = report(o, 20_000, 2, 3)
    assert "target < 0.5 s: NOT met" in text
    assert "target < 0.3 s: NOT met" in text


def test_targets_met() -> None:
    o = summarize([0.2], [0.3], runs([(0.6, 0.3)]), runs([(0.6, 0.2)]))
    text = report(o, 1_000, 2, 1)
    assert "target < 0.5 s: met" in text
    assert "target < 0.3 s: met" in text


def test_the_machine_speed_probe_is_reported_beside_the_figures() -> None:
    from bench.comparison.probe import Probe

    probes = [Probe(0.160, 0.220), Probe(0.175, 0.230), Probe(0.410, 0.500)]  # the last run on a loaded machine
    o = summarize([0.2], [0.3], runs([(0.6, 0.3)]), runs([(0.6, 0.2)]), probes)
    assert (o.probe_cpu_s, o.probe_io_s, o.probe_cpu_spread_s) == (0.175, 0.23, (0.16, 0.41))
    assert "cpu  175 ms (160-410) io  230 ms" in report(o, 1_000, 2, 1)
