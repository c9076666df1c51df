"""Job records in Redis: the job's definition, its passes, counters, failures and liveness.

Redis holds only bounded state per job (one definition, one state hash, the current pass's counters
and failures, a heartbeat), never a key per ingested file: what has been ingested lives in the catalog.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import redis
from rq_scheduler import Scheduler

from .errors import ConfigError
from .status import RECORDED_BLOCKED, RECORDED_STOPPED, JobStatus, job_status

PREFIX = "lz"
HEARTBEAT_TTL = 15  # seconds: a job nobody refreshed for this long is not running
ACTIVE = ("running",)


@dataclass(frozen=True)
class JobSpec:
    """Everything a worker needs to run a pass of a job; never the handler's code, only where to import it."""

    name: str
    source: str
    target: str
    handler: str | None = None
    handler_hash: str | None = None
    interval: int | None = None
    files_per_task: int = 50
    file_queue: str = "file"
    path_queue: str = "path"
    restart_queue: str = "restart"
    exclude_file_name: tuple[str, ...] = ()
    exclude_directory_name: tuple[str, ...] = ()
    exclude_file_type: tuple[str, ...] = ()
    follow_symlinks: bool = False
    initial_ingest: bool = False
    checksum: bool = False
    dry_run: bool = False
    max_delete: float = 0.5
    settle_seconds: float = 2.0
    irods_env: str | None = None
    idle_disconnect_seconds: int = 60
    profile: bool = False
    profile_filename: str | None = None  # where workers write per-batch timing events with --profile
    threads: int = 4  # files of one batch synced at once in a worker process (catalog round trips overlap)
    provenance: bool = False  # AVUs on each object written: job, ingest time, worker host, checksum verified
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | bytes) -> JobSpec:
        raw = json.loads(text)
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items() if k in known}
        return cls(**values)


def key(*parts: str) -> str:
    return ":".join((PREFIX, *parts))


EventValue = int | float | str
EVENT_TIMES = frozenset({"last_event", "heartbeat"})


def periodic_job_id(name: str) -> str:
    """The id of the job's rq-scheduler entry (the one job that starts each periodic pass)."""
    return f"lz-periodic-{name}"


@dataclass(frozen=True)
class PassInfo:
    """The state of a job and its latest pass, as list / watch / --json show it."""

    name: str
    status: JobStatus
    pass_id: str
    started: float
    finished: float
    counts: dict[str, int]
    periodic: bool
    alive: bool
    reason: str = ""  # why a blocked job is blocked
    next_pass: float = 0.0  # when a waiting periodic job's next pass is due (epoch seconds)
    stopped_at: float = 0.0
    events: dict[str, EventValue] = field(default_factory=dict)  # a watcher job's event counts (lz:events:<job>)
    queues: tuple[str, ...] = ()
    served: bool | None = None  # whether any worker listens on the job's queues (None: not looked up)

    @property
    def elapsed(self) -> float:
        """The latest pass's duration: frozen when it ended or was stopped, growing while it runs."""
        ends = [t for t in (self.finished, self.stopped_at) if t]
        end = min(ends) if ends else time.time()
        return max(0.0, end - self.started) if self.started else 0.0


class JobStore:
    """Reads and writes job records; every method is a handful of Redis round trips at most."""

    def __init__(self, conn: redis.Redis[bytes]) -> None:
        self.r = conn

    # ---- definitions ----------------------------------------------------------------------------

    def save(self, spec: JobSpec) -> None:
        pipe = self.r.pipeline()
        pipe.set(key("job", spec.name), spec.to_json())
        pipe.sadd(key("jobs"), spec.name)
        pipe.execute()

    def spec(self, name: str) -> JobSpec:
        raw = self.r.get(key("job", name))
        if raw is None:
            raise ConfigError(f"no job named {name!r}")
        return JobSpec.from_json(raw)

    def names(self) -> list[str]:
        return sorted(n.decode() if isinstance(n, bytes) else n for n in self.r.smembers(key("jobs")))

    def forget(self, name: str) -> None:
        state = self.state(name)
        pipe = self.r.pipeline()
        if state.get("pass_id"):
            self._drop_pass_keys(pipe, state["pass_id"])
        pipe.delete(key("job", name), key("state", name), key("alive", name), key("due", name))
        pipe.delete(key("events", name), key("event_failures", name), key("events_inflight", name))  # a watcher's
        pipe.srem(key("jobs"), name)
        pipe.execute()

    # ---- state and liveness ---------------------------------------------------------------------

    def state(self, name: str) -> dict[str, str]:
        raw = self.r.hgetall(key("state", name))
        return {_s(k): _s(v) for k, v in raw.items()}

    def set_state(self, name: str, **values: object) -> None:
        self.r.hset(key("state", name), mapping={k: str(v) for k, v in values.items()})

    def heartbeat(self, name: str) -> None:
        self.r.set(key("alive", name), "1", ex=HEARTBEAT_TTL)

    def is_alive(self, name: str) -> bool:
        return bool(self.r.exists(key("alive", name)))

    def block(self, name: str, reason: str) -> None:
        """No pass of this job can start until someone acts: recorded with the reason, shown by list and watch."""
        self.set_state(name, status=RECORDED_BLOCKED, reason=reason, blocked_at=time.time())

    def mark_stopped(self, name: str) -> None:
        """Record a stop; the running pass's elapsed time is frozen at this moment."""
        self.r.hset(key("state", name), mapping={"status": RECORDED_STOPPED, "stopped_at": time.time()})
        self.r.delete(key("alive", name))

    def is_running(self, name: str) -> bool:
        """A job is running when its state says so and something refreshed its heartbeat lately."""
        return self.state(name).get("status") in ACTIVE and self.is_alive(name)

    # ---- passes ---------------------------------------------------------------------------------

    def begin_pass(self, name: str) -> str:
        """Start a new pass (dropping the previous pass's keys) and return its id."""
        previous = self.state(name).get("pass_id")
        pass_id = f"{name}:{uuid.uuid4().hex[:12]}"
        pipe = self.r.pipeline()
        if previous:
            self._drop_pass_keys(pipe, previous)
        pipe.hset(
            key("state", name),
            mapping={"status": "running", "pass_id": pass_id, "phase": "sync", "started": time.time(), "finished": 0},
        )
        pipe.hdel(key("state", name), "reason", "blocked_at", "stopped_at")
        pipe.hincrby(key("state", name), "passes", 1)
        pipe.set(key("alive", name), "1", ex=HEARTBEAT_TTL)
        pipe.execute()
        return pass_id

    def _drop_pass_keys(self, pipe: Any, pass_id: str) -> None:
        pipe.delete(key("counts", pass_id), key("failures", pass_id), key("deletes", pass_id), key("enqueued", pass_id))
        pipe.delete(key("tasks", pass_id), key("suspect", pass_id))  # tasks/reconcile.py

    def counts(self, pass_id: str) -> dict[str, int]:
        raw = self.r.hgetall(key("counts", pass_id))
        return {_s(k): int(v) for k, v in raw.items()}

    def failures(self, pass_id: str) -> dict[str, dict[str, Any]]:
        """path -> {"reason", "attempts"}; a reason that starts with its own path (a source's error
        names the path it is about) has that prefix dropped, so that each path is shown once."""
        found = {_s(k): json.loads(v) for k, v in self.r.hgetall(key("failures", pass_id)).items()}
        for path, detail in found.items():
            reason = detail.get("reason")
            if isinstance(reason, str) and reason.startswith(f"{path}: "):
                detail["reason"] = reason[len(path) + 2 :]
        return found

    def events(self, name: str) -> dict[str, EventValue]:
        """A watcher job's event record: counts, times (`last_event`, `heartbeat`) and words (`observer`)."""
        raw = self.r.hgetall(key("events", name))
        return {_s(k): _event_value(_s(v)) for k, v in raw.items()}

    def next_pass(self, name: str) -> float:
        """When rq-scheduler will start the periodic job's next pass (0: no schedule)."""
        score = self.r.zscore(Scheduler.scheduled_jobs_key, periodic_job_id(name))
        return float(score) if score is not None else 0.0

    def info(self, name: str) -> PassInfo:
        state = self.state(name)
        spec = self.spec(name)
        pass_id = state.get("pass_id", "")
        counts = self.counts(pass_id) if pass_id else {}
        next_pass = self.next_pass(name) if spec.interval else 0.0
        recorded, periodic = state.get("status", ""), bool(spec.interval)
        status = job_status(recorded, periodic=periodic, scheduled=bool(next_pass), failed=counts.get("failed", 0))
        return PassInfo(
            name=name,
            status=status,
            pass_id=pass_id,
            started=float(state.get("started") or 0),
            finished=float(state.get("finished") or 0),
            counts=counts,
            periodic=bool(spec.interval),
            alive=self.is_alive(name),
            reason=state.get("reason", ""),
            next_pass=next_pass,
            stopped_at=float(state.get("stopped_at") or 0),
            events=self.events(name),
            queues=(spec.restart_queue, spec.path_queue, spec.file_queue),
        )


def _event_value(text: str) -> EventValue:
    for parse in (int, float):
        try:
            return parse(text)
        except ValueError:
            pass
    return text


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
