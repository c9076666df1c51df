"""The one lifecycle every task runs in: admit, load the handler, run the body, capture failures, flush.

Scan, sync and delete tasks of a pass, the step that ends a pass (delete phase, post_job) and work that
belongs to no pass (a watcher's event batches) all go through here, so that the checks cannot drift:

- a task of a pass that is no longer its job's current one (a killed job started again) records nothing;
- a task of a stopped job changes nothing in the catalog, but still counts itself off its pass, which
  then ends; a body that runs long asks `Step.stopped()` between items (files, directories, deletes);
- an error that escapes the body fails every item the body had not finished, with its reason, and the
  tally is flushed whatever happened, so a pass never waits for a task that is gone;
- the step that ends a pass ends it even when it fails: the failure is recorded, the pass is over.

The I/O is behind `Ledger` (Redis in the workers, plain values in the unit tests).
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import redis
import structlog
from rq.timeouts import JobTimeoutException

from ..errors import LzIngestError
from ..handlers.loader import Handler
from ..jobs import JobSpec
from .bookkeeping import Tally

STOP_CHECK_SECONDS = 0.25  # a running task re-reads its job's state at most this often
log = structlog.get_logger("lz_ingest.tasks")


class Admission(enum.Enum):
    RUN = "run"
    STALE = "stale"  # the pass is not the job's current one: its keys are gone and must not come back
    STOPPED = "stopped"  # the job was stopped: no change to the catalog, the task only counts itself off


def admit(state: Mapping[str, str], pass_id: str | None) -> Admission:
    """Whether a task may run, from its job's state; `pass_id` None is work outside any pass."""
    if pass_id is not None and state.get("pass_id") != pass_id:
        return Admission.STALE
    if state.get("status") == "stopped":
        return Admission.STOPPED
    return Admission.RUN


class Ledger(Protocol):
    """Where a task reads its job and records what it did."""

    def state(self, job_name: str) -> Mapping[str, str]: ...

    def spec(self, job_name: str) -> JobSpec: ...

    def done(self, job_name: str, pass_id: str | None, tally: Tally) -> None:
        """Record the tally; for a task of a pass, take it off the pass's pending count (and move the
        pass on when it was the last one)."""
        ...


@dataclass
class Step:
    """What a task's body works with."""

    job_name: str
    pass_id: str | None
    spec: JobSpec
    handler: Handler
    tally: Tally
    ledger: Ledger
    clock: Callable[[], float] = time.monotonic
    _checked: float = field(default=float("-inf"), repr=False)
    _stopped: bool = field(default=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def stopped(self) -> bool:
        """True once the job was stopped (or its pass replaced); read from the ledger at most every
        STOP_CHECK_SECONDS, so that checking between files costs next to nothing."""
        with self._lock:
            if not self._stopped and self.clock() - self._checked >= STOP_CHECK_SECONDS:
                self._checked = self.clock()
                self._stopped = admit(self.ledger.state(self.job_name), self.pass_id) is not Admission.RUN
            return self._stopped


def run_task(
    ledger: Ledger,
    load_handler: Callable[[JobSpec], Handler],
    job_name: str,
    pass_id: str | None,
    body: Callable[[Step], None],
    unfinished: Callable[[], Iterable[str]],
    failing: str = "",
) -> Admission:
    """Run one task's body in the lifecycle; `unfinished` names the items an escaping error fails, each
    with the error as its reason (after `failing: ` when given)."""
    tally = Tally()
    admission = Admission.RUN
    try:
        admission = admit(ledger.state(job_name), pass_id)
        if admission is Admission.RUN:
            spec = ledger.spec(job_name)
            step = Step(job_name, pass_id, spec, load_handler(spec), tally, ledger)
            step._checked = step.clock()  # the state was just read
            body(step)
    except LzIngestError as exc:  # the task as a whole could not go on (handler refused, iRODS unreachable)
        _fail_all(tally, unfinished(), _reason(failing, str(exc)))
    except JobTimeoutException as exc:  # RQ's job timeout (the handler's `timeout`) cut the task short
        _fail_all(tally, unfinished(), _reason(failing, f"timed out: {exc}"))
    except Exception as exc:  # a bug must not stall the pass: record it and go on
        log.exception("task_failed", job=job_name, pass_id=pass_id)
        _fail_all(tally, unfinished(), _reason(failing, f"internal error: {exc!r}"))
    finally:
        ledger.done(job_name, pass_id, tally)
    return admission


def _reason(failing: str, text: str) -> str:
    return f"{failing}: {text}" if failing else text


def _fail_all(tally: Tally, labels: Iterable[str], reason: str) -> None:
    for label in labels:
        tally.fail(label, reason)


def run_final_step(step: Callable[[], None], what: str, end_pass: Callable[[str], None]) -> None:
    """Run the step that moves a pass on (delete phase, post_job); when it fails, the pass still ends,
    with the failure recorded under `what`, and nothing more is changed in the catalog."""
    try:
        step()
    except (redis.ConnectionError, redis.TimeoutError):
        raise  # Redis is away: the caller retries the step, there is nowhere to record anything now
    except Exception as exc:
        if not isinstance(exc, LzIngestError):
            log.exception("pass_step_failed", step=what)
        end_pass(f"{what} failed: {exc}" if isinstance(exc, LzIngestError) else f"{what} failed: {exc!r}")


def task_label() -> str:
    """How a task whose items are unknown (its arguments could not be read) is named among failures."""
    from rq import get_current_job

    job = get_current_job()
    return f"task {job.id if job is not None else '(outside RQ)'}"


def item_labels(items: Iterable[Any], label: Callable[[Any], str]) -> Callable[[], list[str]]:
    """`unfinished` for a body that works through a fixed list: all of it fails together."""
    listed = list(items)
    return lambda: [label(item) for item in listed]


class RedisLedger:
    """The workers' ledger: job records in Redis (lz-ingest's JobStore), pass and event counters."""

    def __init__(self, conn: Any) -> None:
        from ..jobs import JobStore

        self.conn, self.store = conn, JobStore(conn)

    def state(self, job_name: str) -> Mapping[str, str]:
        return self.store.state(job_name)

    def spec(self, job_name: str) -> JobSpec:
        return self.store.spec(job_name)

    def done(self, job_name: str, pass_id: str | None, tally: Tally) -> None:
        if pass_id is None:
            from .events import flush_events

            flush_events(self.conn, job_name, tally)
            return
        from .passes import task_done

        task_done(self.conn, job_name, pass_id, tally)
