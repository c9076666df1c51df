"""How a pass looks to a person: the live progress line, the summary, the job table."""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass

from .jobs import EVENT_TIMES, EventValue, PassInfo
from .status import JobStatus

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


def plural(count: int, noun: str) -> str:
    """`1 file`, `2 files`."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def rate(info: PassInfo, now: float | None = None) -> float:
    """Files done per second over the pass's elapsed time (0 before anything is done)."""
    elapsed = info.elapsed if now is None else _elapsed_at(info, now)
    done = files_done(info.counts)
    return done / elapsed if done and elapsed >= 0.05 else 0.0


def _elapsed_at(info: PassInfo, now: float) -> float:
    ends = [t for t in (info.finished, info.stopped_at) if t]
    return max(0.0, (min(ends) if ends else now) - info.started) if info.started else 0.0


def note(info: PassInfo, now: float | None = None) -> str:
    """What a person needs to know beside the counts: when the next pass is, why it is blocked, ..."""
    now = time.time() if now is None else now
    if info.status is JobStatus.BLOCKED:
        return f"blocked: {info.reason}"
    if info.status is JobStatus.WAITING:
        return f"next pass in {max(0.0, info.next_pass - now):.0f}s ({_when(info.next_pass)})"
    notes = []
    if info.served is False:
        notes.append("queued, but no worker listens on " + ", ".join(info.queues))
    if info.events:  # a watcher job's event counts, kept apart from its passes' counts
        shown = (f"{k} {_event(k, v)}" for k, v in sorted(info.events.items()))
        notes.append("events: " + ", ".join(shown))
    return "; ".join(notes)


@dataclass
class ProgressLine:
    """discovered, done, failed, rate and ETA of the latest pass; the numbers shown never go backwards
    within a pass."""

    pass_id: str = ""
    shown_done: int = 0
    shown_discovered: int = 0

    def render(self, info: PassInfo, now: float | None = None) -> str:
        if info.status is JobStatus.WAITING:
            return f"waiting, next pass in {max(0.0, info.next_pass - (now or time.time())):.0f}s  ({info.name})"
        if info.status is JobStatus.BLOCKED:
            return f"blocked: {info.reason}  ({info.name})"
        if info.pass_id != self.pass_id:
            self.pass_id, self.shown_done, self.shown_discovered = info.pass_id, 0, 0
        counts = info.counts
        self.shown_discovered = max(self.shown_discovered, counts.get("discovered", 0))
        self.shown_done = max(self.shown_done, min(files_done(counts), self.shown_discovered))
        per_second = rate(info, now)
        remaining = self.shown_discovered - self.shown_done
        eta = f"{remaining / per_second:5.0f}s" if per_second > 0 and remaining > 0 else "    -"
        width = 30
        filled = int(width * self.shown_done / self.shown_discovered) if self.shown_discovered else 0
        bar = "#" * filled + "." * (width - filled)
        extra = note(info, now)
        return (
            f"[{bar}] {self.shown_done}/{plural(self.shown_discovered, 'file')}, {counts.get('failed', 0)} failed, "
            f"{per_second:7.1f}/s, ETA {eta}  ({info.status}: {plural(counts.get('pending', 0), 'task')} pending)"
            + (f"  {extra}" if extra else "")
        )


def summary(info: PassInfo, failures: dict[str, dict[str, object]], limit: int = 50) -> str:
    counts = info.counts
    discovered = plural(counts.get("discovered", 0), "file")
    lines = [f"job {info.name}: {info.status} in {info.elapsed:.1f} s, {discovered} discovered"]
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
        more = plural(len(failures) - limit, "more failure")
        lines.append(f"  ... and {more} (lz-ingest failures {info.name})")
    return "\n".join(lines)


def _event(name: str, value: EventValue) -> str:
    return _when(value) if name in EVENT_TIMES and isinstance(value, int | float) else str(value)


def _when(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else "-"


def table(infos: list[PassInfo], now: float | None = None) -> str:
    header = (
        f"{'JOB':24} {'KIND':9} {'STATUS':8} {'FILES':>8} {'DONE':>8} {'FAILED':>7} {'PENDING':>8} {'ELAPSED':>9}"
        f"  {'STARTED':19}  NOTE"
    )
    rows = [header]
    for i in infos:
        c = i.counts
        rows.append(
            f"{i.name[:24]:24} {'periodic' if i.periodic else 'single':9} {i.status:8} "
            f"{c.get('discovered', 0):>8} {files_done(c):>8} {c.get('failed', 0):>7} {c.get('pending', 0):>8} "
            f"{i.elapsed:>8.1f}s  {_when(i.started):19}  {note(i, now)}".rstrip()
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
        # added fields (the old ones above keep their names and meaning)
        "status": str(info.status),
        "reason": info.reason,
        "next_pass_time": info.next_pass or None,
        "served": info.served,
        "events": info.events,
    }
