"""Which pairs of passes (old, lz) are fair to compare, and what their ratios add up to: pure decisions.

The tools take turns pass by pass; each pass is preceded by a machine-speed probe. A pair is left out
of the median when the machine was not the same speed for both passes (their probes differ by more
than the tolerance) or when the machine was slowed for the whole pair (a probe differs that much from
the run's fastest probes): load from outside hits the tools unequally, so a ratio taken under it is skewed
even when both passes were slowed alike.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

TOLERANCE = 0.25  # probes further apart than this: the machine was not the same machine
SHORT_PASS_S = 10.0  # passes under this get SHORT_PAIRS pairs; longer ones one pair
SHORT_PAIRS = 3


@dataclass(frozen=True)
class Probe:
    """Seconds a fixed CPU-bound workload and a fixed small-file I/O workload took just before a pass."""

    cpu_s: float
    io_s: float


@dataclass(frozen=True)
class Verdict:
    reliable: bool
    reason: str  # why not, empty when reliable


@dataclass(frozen=True)
class Spread:
    """The ratios of a metric's pairs: the median and min-max of the reliable ones."""

    ratios: tuple[float | None, ...]  # one per pair, None when a pass of it failed
    reliable: tuple[bool, ...]
    median: float | None
    low: float | None
    high: float | None

    @property
    def used(self) -> int:
        return sum(1 for r, ok in zip(self.ratios, self.reliable, strict=True) if ok and r is not None)

    @property
    def left_out(self) -> int:
        """Pairs with a ratio that were left out as unreliable."""
        return sum(1 for r, ok in zip(self.ratios, self.reliable, strict=True) if not ok and r is not None)


def apart(a: float, b: float) -> float:
    """How far apart two durations are, as a share of the shorter one (0.3: one took 30% longer)."""
    low, high = sorted((a, b))
    if low <= 0:
        return float("inf")
    return high / low - 1


def probe_apart(a: Probe, b: Probe) -> float:
    """The larger of the two workloads' differences."""
    return max(apart(a.cpu_s, b.cpu_s), apart(a.io_s, b.io_s))


def fastest(times: Sequence[float]) -> float:
    """The median of the fastest quarter: the machine at its best, without trusting one lucky probe."""
    quarter = sorted(times)[: max(1, len(times) // 4)]
    return statistics.median(quarter)


def reference(probes: Sequence[Probe]) -> Probe:
    """The machine at its fastest in this run, each workload on its own."""
    return Probe(fastest([p.cpu_s for p in probes]), fastest([p.io_s for p in probes]))


def judge(first: Probe, second: Probe, best: Probe, tolerance: float = TOLERANCE) -> Verdict:
    """Whether the two passes of a pair ran on the same, unloaded machine (`best`: the run's reference)."""
    between = probe_apart(first, second)
    if between > tolerance:
        return Verdict(False, f"probes {between:.0%} apart")
    slowed = max(probe_apart(first, best), probe_apart(second, best))
    if slowed > tolerance:
        return Verdict(False, f"machine {slowed:.0%} slower than at its fastest in this run")
    return Verdict(True, "")


def judge_all(pairs: Sequence[tuple[Probe, Probe]], tolerance: float = TOLERANCE) -> list[Verdict]:
    """Every pair of a run, against the fastest probe of the whole run."""
    if not pairs:
        return []
    best = reference([p for pair in pairs for p in pair])
    return [judge(a, b, best, tolerance) for a, b in pairs]


def spread(ratios: Sequence[float | None], reliable: Sequence[bool]) -> Spread:
    """The median and min-max of the ratios of reliable pairs that have one."""
    kept = [r for r, ok in zip(ratios, reliable, strict=True) if ok and r is not None]
    if not kept:
        return Spread(tuple(ratios), tuple(reliable), None, None, None)
    return Spread(tuple(ratios), tuple(reliable), statistics.median(kept), min(kept), max(kept))


def median_of_reliable(values: Sequence[float | None], reliable: Sequence[bool]) -> float | None:
    """One tool's figure: the median over the reliable pairs it has a value in."""
    kept = [v for v, ok in zip(values, reliable, strict=True) if ok and v is not None]
    return statistics.median(kept) if kept else None


def run_is_reliable(verdicts: Sequence[Verdict]) -> bool:
    """At least half of the run's pairs are reliable (a run without pairs has nothing to doubt)."""
    return 2 * sum(v.reliable for v in verdicts) >= len(verdicts)


def pairs_wanted(first_pair_s: Sequence[float], at_least: int = SHORT_PAIRS, short_s: float = SHORT_PASS_S) -> int:
    """How many pairs a scenario gets, from its first pair's passes: one when a pass is long."""
    short = bool(first_pair_s) and all(s < short_s for s in first_pair_s)  # a failed pass (nan) is not short
    return at_least if short else 1
