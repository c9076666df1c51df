"""The task lifecycle with plain values: admission, stop checks, failures of items and of the final step."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis

from lz_ingest.errors import CatalogError, HandlerError
from lz_ingest.jobs import JobSpec
from lz_ingest.tasks import lifecycle
from lz_ingest.tasks.bookkeeping import Tally
from lz_ingest.tasks.lifecycle import Admission, Step, admit, item_labels, run_final_step, run_task


@dataclass
class Ledger:
    states: dict[str, dict[str, str]]
    done_calls: list[tuple[str, str | None, Tally]] = field(default_factory=list)
    reads: int = 0

    def state(self, job_name: str) -> Mapping[str, str]:
        self.reads += 1
        return self.states.get(job_name, {})

    def spec(self, job_name: str) -> JobSpec:
        return JobSpec(name=job_name, source="/src", target="/zone/home/t")

    def done(self, job_name: str, pass_id: str | None, tally: Tally) -> None:
        self.done_calls.append((job_name, pass_id, tally))


HANDLER: Any = object()  # the bodies below never call it


def load(spec: JobSpec) -> Any:
    return HANDLER


def running(pass_id: str = "j:1") -> dict[str, dict[str, str]]:
    return {"j": {"status": "running", "pass_id": pass_id}}


def test_admission_from_the_job_state() -> None:
    assert admit({"status": "running", "pass_id": "j:1"}, "j:1") is Admission.RUN
    assert admit({"status": "running", "pass_id": "j:2"}, "j:1") is Admission.STALE
    assert admit({"status": "stopped", "pass_id": "j:1"}, "j:1") is Admission.STOPPED
    assert admit({"status": "stopped", "pass_id": "j:2"}, "j:1") is Admission.STALE  # stale wins: record nothing
    assert admit({"status": "running"}, None) is Admission.RUN  # work outside a pass
    assert admit({"status": "stopped"}, None) is Admission.STOPPED
    assert admit({}, "j:1") is Admission.STALE  # a forgotten job


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ({"j": {"status": "stopped", "pass_id": "j:1"}}, Admission.STOPPED),
        ({"j": {"status": "running", "pass_id": "j:2"}}, Admission.STALE),
    ],
)
def test_a_stopped_or_stale_task_runs_nothing_but_still_counts_itself_off(
    states: dict[str, dict[str, str]], expected: Admission
) -> None:
    ledger = Ledger(states)
    ran: list[Step] = []
    admission = run_task(ledger, load, "j", "j:1", ran.append, lambda: ["a", "b"])
    assert admission is expected
    assert ran == []
    [(job, pass_id, tally)] = ledger.done_calls
    assert (job, pass_id) == ("j", "j:1") and not tally.counts and not tally.failures


def test_a_running_task_gets_its_job_handler_and_tally() -> None:
    ledger = Ledger(running())
    seen: list[Step] = []

    def body(step: Step) -> None:
        seen.append(step)
        step.tally.add("registered", 2)

    assert run_task(ledger, load, "j", "j:1", body, lambda: []) is Admission.RUN
    assert seen[0].spec.name == "j" and seen[0].handler is HANDLER and seen[0].pass_id == "j:1"
    [(_, _, tally)] = ledger.done_calls
    assert tally.counts == {"registered": 2}


def test_one_failing_item_fails_itself_and_what_was_not_reached_only() -> None:
    """An error escaping the body fails the items it had not finished, with the error's reason."""
    ledger = Ledger(running())
    items = ["/src/a", "/src/b", "/src/c"]
    left = list(items)

    def body(step: Step) -> None:
        while left:
            if left[0] == "/src/b":
                raise CatalogError("catalog said no")
            step.tally.add("registered")
            left.pop(0)

    run_task(ledger, load, "j", "j:1", body, lambda: list(left), failing="sync not attempted")
    [(_, _, tally)] = ledger.done_calls
    assert tally.counts == {"registered": 1, "failed": 2}
    assert tally.failures == {
        "/src/b": {"reason": "sync not attempted: catalog said no", "attempts": 1},
        "/src/c": {"reason": "sync not attempted: catalog said no", "attempts": 1},
    }


def test_a_bug_in_the_body_fails_the_batch_and_is_still_flushed() -> None:
    ledger = Ledger(running())

    def body(step: Step) -> None:
        raise KeyError("oops")

    run_task(ledger, load, "j", "j:1", body, item_labels(["/src/a", "/src/b"], str))
    [(_, _, tally)] = ledger.done_calls
    assert tally.counts == {"failed": 2}
    assert tally.failures["/src/a"]["reason"] == "internal error: KeyError('oops')"


def test_a_handler_that_cannot_load_fails_every_item() -> None:
    ledger = Ledger(running())

    def refuse(spec: JobSpec) -> Any:
        raise HandlerError("handler h.py changed since the job started")

    ran: list[Step] = []
    run_task(ledger, refuse, "j", "j:1", ran.append, lambda: ["/src/a"])
    assert ran == []
    [(_, _, tally)] = ledger.done_calls
    assert tally.failures == {"/src/a": {"reason": "handler h.py changed since the job started", "attempts": 1}}


def test_work_outside_a_pass_is_done_without_a_pass_id() -> None:
    ledger = Ledger({"j": {"status": "running", "pass_id": "j:7"}})
    ran: list[Step] = []
    assert run_task(ledger, load, "j", None, ran.append, lambda: []) is Admission.RUN
    assert ran[0].pass_id is None
    assert ledger.done_calls[0][1] is None


def test_a_running_step_sees_a_stop_within_the_check_interval() -> None:
    ledger = Ledger(running())
    now = [100.0]
    step = Step("j", "j:1", ledger.spec("j"), HANDLER, Tally(), ledger, clock=lambda: now[0])
    assert not step.stopped()
    reads = ledger.reads
    ledger.states["j"]["status"] = "stopped"
    now[0] += lifecycle.STOP_CHECK_SECONDS / 2
    assert not step.stopped() and ledger.reads == reads  # not read again so soon
    now[0] += lifecycle.STOP_CHECK_SECONDS
    assert step.stopped()
    ledger.states["j"]["status"] = "running"
    now[0] += 10
    assert step.stopped()  # once stopped, the task stays stopped


def test_a_step_of_a_replaced_pass_counts_as_stopped() -> None:
    ledger = Ledger(running("j:2"))
    step = Step("j", "j:1", ledger.spec("j"), HANDLER, Tally(), ledger)
    assert step.stopped()


def test_a_failing_final_step_ends_the_pass_with_its_reason() -> None:
    ended: list[str] = []

    def delete_phase() -> None:
        raise CatalogError("count objects under /zone/home/t/sub: CAT_SQL_ERR")

    run_final_step(delete_phase, "delete phase", ended.append)
    assert ended == ["delete phase failed: count objects under /zone/home/t/sub: CAT_SQL_ERR"]

    def buggy() -> None:
        raise ZeroDivisionError("division by zero")

    run_final_step(buggy, "ending the pass", ended.append)
    assert ended[1] == "ending the pass failed: ZeroDivisionError('division by zero')"


def test_a_final_step_that_succeeds_ends_nothing() -> None:
    ended: list[str] = []
    run_final_step(lambda: None, "delete phase", ended.append)
    assert ended == []


def test_a_final_step_cut_off_from_redis_is_left_to_the_caller_to_retry() -> None:
    def step() -> None:
        raise redis.ConnectionError("Connection refused")

    with pytest.raises(redis.ConnectionError):
        run_final_step(step, "delete phase", lambda reason: pytest.fail(reason))
