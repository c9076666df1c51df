"""How a pass looks to a person: the live progress line, the summary, the job table."""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass, field

from .jobs import PassInfo

DONE_KEYS = (
    "registered",
    "updated",
    "replicated",
    "uploaded",
    "overwritten",
    "appended",
    "hooks_only",
    "skipped",
    "skipped_special",
    "checksum_recorded",
    "failed",
    "vanished",
)
ACTION_KEYS = (
    "registered",
    "updated",
    "replicated",
    "uploaded",
    "overwritten",
    "appended",
    "hooks_only",
    "skipped",
    "skipped_special",
    "checksum_recorded",
    "vanished",
    "excluded",
    "collections_created",
    "deleted_unregister",
    "deleted_trash",
    "deleted_no_trash",
    "retried",
    "failed",
)

COUNT_NOTES = {"skipped_special": "FIFOs, sockets and devices have no bytes to upload: PUT-type operations skip them"}


def files_done(counts: dict[str, int]) -> int:
    return sum(counts.get(k, 0) for k in DONE_KEYS)


@dataclass
class ProgressLine:
    """discovered, done, failed, rate and ETA; the numbers shown never go backwards."""

    started: float = field(default_factory=time.time)
    shown_done: int = 0
    shown_discovered: int = 0

    def render(self, info: PassInfo) -> str:
        counts = info.counts
        self.shown_discovered = max(self.shown_discovered, counts.get("discovered", 0))
        self.shown_done = max(self.shown_done, min(files_done(counts), self.shown_discovered))
        elapsed = max(time.time() - self.started, 1e-6)
        rate = self.shown_done / elapsed
        remaining = self.shown_discovered - self.shown_done
        eta = f"{remaining / rate:5.0f}s" if rate > 0 and remaining > 0 else "    -"
        width = 30
        filled = int(width * self.shown_done / self.shown_discovered) if self.shown_discovered else 0
        bar = "#" * filled + "." * (width - filled)
        return (
            f"[{bar}] {self.shown_done}/{self.shown_discovered} files, {counts.get('failed', 0)} failed, "
            f"{rate:7.1f}/s, ETA {eta}  ({info.status}: {counts.get('pending', 0)} tasks pending)"
        )


def summary(info: PassInfo, failures: dict[str, dict[str, object]], limit: int = 50) -> str:
    counts = info.counts
    lines = [f"job {info.name}: {info.status} in {info.elapsed:.1f} s, {counts.get('discovered', 0)} files discovered"]
    for k in ACTION_KEYS:
        if counts.get(k):
            lines.append(f"  {k:22} {counts[k]}")
            if k in COUNT_NOTES:
                lines.append(f"    ({COUNT_NOTES[k]})")
    for k in sorted(counts):
        if k.startswith("would_"):
            lines.append(f"  {k:22} {counts[k]}")
    for path, detail in list(failures.items())[:limit]:
        lines.append(f"  FAILED {path}: {detail.get('reason')} (attempts: {detail.get('attempts', 1)})")
    if len(failures) > limit:
        lines.append(f"  ... and {len(failures) - limit} more failures (lz-ingest failures {info.name})")
    return "\n".join(lines)


def _when(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else "-"


def table(infos: list[PassInfo]) -> str:
    header = (
        f"{'JOB':24} {'KIND':9} {'STATUS':8} {'FILES':>8} {'DONE':>8} {'FAILED':>7} {'PENDING':>8} {'ELAPSED':>9}"
        "  STARTED"
    )
    rows = [header]
    for i in infos:
        c = i.counts
        rows.append(
            f"{i.name[:24]:24} {'periodic' if i.periodic else 'single':9} {i.status:8} "
            f"{c.get('discovered', 0):>8} {files_done(c):>8} {c.get('failed', 0):>7} {c.get('pending', 0):>8} "
            f"{i.elapsed:>8.1f}s  {_when(i.started)}"
        )
    return "\n".join(rows)


def old_list_entry(info: PassInfo) -> dict[str, object]:
    """One job in the old framework's `list` JSON shape."""
    c = info.counts
    return {
        "job_name": info.name,
        "total_tasks": c.get("tasks", 0),
        "remaining_tasks": c.get("pending", 0),
        "failed_tasks": c.get("failed", 0),
        "retried_tasks": c.get("retried", 0),
        "elapsed_time": round(info.elapsed, 3),
        "start_time": info.started,
    }
