"""bench/comparison/pairs.py: which pairs of passes count, on recorded probe figures."""

from __future__ import annotations

import math

import pytest

from bench.comparison.pairs import (
    Probe,
    Verdict,
    apart,
    judge,
    judge_all,
    median_of_reliable,
    pairs_wanted,
    reference,
    run_is_reliable,
    spread,
)

# Probes recorded on this project's 2-core machine (seconds: CPU workload, small-file I/O workload):
# idle, and with two `python -c "while 1: pass"` burners running.
IDLE = [Probe(0.2147, 0.4461), Probe(0.2072, 0.5052), Probe(0.2182, 0.4804), Probe(0.2059, 0.4592)]
BURNING = [Probe(0.3402, 0.7010), Probe(0.3571, 0.6893)]


def test_apart_is_symmetric_and_relative_to_the_shorter() -> None:
    assert apart(1.0, 1.3) == pytest.approx(0.3)
    assert apart(1.3, 1.0) == pytest.approx(0.3)
    assert apart(0.0, 1.0) == math.inf


def test_the_reference_is_each_workloads_fastest() -> None:
    assert reference(IDLE) == Probe(0.2059, 0.4461)


def test_one_lucky_probe_does_not_become_the_reference() -> None:
    """The median of the fastest quarter: an I/O probe of 86 ms (seen once among ~450 ms ones) is not the machine."""
    lucky = Probe(0.2100, 0.0860)
    idle_pairs = [(IDLE[i % 4], IDLE[(i + 1) % 4]) for i in range(9)]
    assert reference([p for pair in idle_pairs for p in pair] + [lucky, IDLE[0]]) == Probe(0.2059, 0.4461)
    verdicts = judge_all(idle_pairs + [(lucky, IDLE[0])])
    assert [v.reliable for v in verdicts] == [True] * 9 + [False]  # only the pair with the odd probe goes


def test_a_pair_on_an_idle_machine_is_reliable() -> None:
    assert judge(IDLE[0], IDLE[1], reference(IDLE)) == Verdict(True, "")


def test_probes_further_apart_than_the_tolerance_make_the_pair_unreliable() -> None:
    verdict = judge(IDLE[0], BURNING[0], reference(IDLE))
    assert not verdict.reliable
    assert "apart" in verdict.reason


def test_either_workload_alone_decides() -> None:
    io_only = Probe(IDLE[0].cpu_s, IDLE[0].io_s * 1.3)  # the disk busy, the CPU not
    assert not judge(IDLE[0], io_only, reference(IDLE)).reliable
    assert judge(IDLE[0], Probe(IDLE[0].cpu_s, IDLE[0].io_s * 1.2), reference(IDLE)).reliable


def test_a_pair_slowed_alike_is_still_unreliable() -> None:
    """Both passes under the same load: their probes agree, but the load hits the tools unequally."""
    verdict = judge(BURNING[0], BURNING[1], reference(IDLE + BURNING))
    assert not verdict.reliable
    assert "slower than at its fastest" in verdict.reason


def test_a_cpu_burner_started_between_two_pairs() -> None:
    """Six pairs, the burner started after the third: the last three are left out, the first three count."""
    probes = [(IDLE[0], IDLE[1]), (IDLE[2], IDLE[3]), (IDLE[1], IDLE[0])] + [(BURNING[0], BURNING[1])] * 3
    verdicts = judge_all(probes)
    assert [v.reliable for v in verdicts] == [True, True, True, False, False, False]
    assert run_is_reliable(verdicts)  # half the pairs reliable: still publishable

    ratios = [40.1, 41.5, 39.8, 30.2, 31.0, 29.7]  # the loaded pairs skew the ratio (issue 12's finding)
    s = spread(ratios, [v.reliable for v in verdicts])
    assert s.median == pytest.approx(40.1)
    assert (s.low, s.high) == (39.8, 41.5)
    assert s.used == 3
    assert s.left_out == 3


def test_a_cpu_burner_started_during_a_pair() -> None:
    """The burner starts between the old tool's pass and lz-ingest's: that pair and the later ones go."""
    probes = [(IDLE[0], IDLE[1]), (IDLE[2], BURNING[0]), (BURNING[1], BURNING[0])]
    verdicts = judge_all(probes)
    assert [v.reliable for v in verdicts] == [True, False, False]
    assert not run_is_reliable(verdicts)  # 1 of 3


def test_a_run_with_fewer_than_half_its_pairs_reliable_is_not_publishable() -> None:
    good, bad = Verdict(True, ""), Verdict(False, "x")
    assert run_is_reliable([good, bad])
    assert not run_is_reliable([good, bad, bad])
    assert run_is_reliable([])


def test_spread_skips_failed_pairs_and_has_no_median_without_a_reliable_pair() -> None:
    s = spread([None, 12.0, 14.0], [True, True, True])
    assert (s.median, s.low, s.high, s.used, s.left_out) == (13.0, 12.0, 14.0, 2, 0)
    none = spread([12.0, 14.0], [False, False])
    assert none.median is None
    assert none.left_out == 2


def test_each_tools_figure_is_its_median_over_reliable_pairs() -> None:
    assert median_of_reliable([5.2, 6.5, 20.0, None], [True, True, False, True]) == pytest.approx(5.85)
    assert median_of_reliable([5.0], [False]) is None


def test_short_passes_get_several_pairs_long_or_failed_ones_one() -> None:
    assert pairs_wanted([2.4, 0.3]) == 3
    assert pairs_wanted([2.4, 0.3], at_least=5) == 5
    assert pairs_wanted([48.7, 4.98]) == 1
    assert pairs_wanted([math.nan, 0.3]) == 1
    assert pairs_wanted([]) == 1
