"""The job status vocabulary, defined once: what `list`, `watch`, `--json`, the REST API and the metrics say.

Redis records what happened (a pass began, ended, was stopped, a handler refused); the status a person
sees is derived from that record, the job's kind and its schedule by `job_status`, a pure function.
"""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    RUNNING = "running"  # a pass is under way
    WAITING = "waiting"  # a periodic job between passes (with the next pass time)
    WATCHING = "watching"  # a watcher job following events (with its event counts)
    BLOCKED = "blocked"  # no pass can start until someone acts (with the reason)
    STOPPED = "stopped"  # stopped by `lz-ingest stop` (or Ctrl-C on rescan / start --synchronous)
    DONE = "done"  # a single-pass job whose pass ended without failures
    FAILED = "failed"  # a single-pass job whose pass ended with failures


FINISHED = frozenset({JobStatus.STOPPED, JobStatus.DONE, JobStatus.FAILED})
ACTIVE = frozenset({JobStatus.RUNNING, JobStatus.WAITING, JobStatus.WATCHING})

# what the job record says (`lz:state:<job>` status); "scheduled" is a periodic job before its first pass
RECORDED_RUNNING = "running"
RECORDED_STOPPED = "stopped"
RECORDED_BLOCKED = "blocked"
RECORDED_WATCHING = "watching"


def job_status(recorded: str, *, periodic: bool, scheduled: bool, failed: int) -> JobStatus:
    """The status shown for a job, from its recorded status, its kind and whether its schedule exists."""
    if recorded == RECORDED_BLOCKED:
        return JobStatus.BLOCKED
    if recorded == RECORDED_STOPPED:
        return JobStatus.STOPPED
    if recorded == RECORDED_WATCHING:
        return JobStatus.WATCHING
    if recorded == RECORDED_RUNNING:
        return JobStatus.RUNNING
    if periodic and scheduled:
        return JobStatus.WAITING
    return JobStatus.FAILED if failed else JobStatus.DONE
