"""Pure parts of a pass's bookkeeping: task identities and the Redis retry loop."""

import pytest
import redis

from lz_ingest.tasks import bookkeeping as bk


def test_task_key_is_stable_and_depends_on_function_and_arguments() -> None:
    assert bk.task_key(bk.flush, ("a", 1)) == bk.task_key(bk.flush, ("a", 1))
    assert bk.task_key(bk.flush, ("a", 1)) != bk.task_key(bk.flush, ("a", 2))
    assert bk.task_key(bk.flush, ("a", 1)) != bk.task_key(bk.enqueue, ("a", 1))


def test_task_key_accepts_names_that_are_not_utf8() -> None:
    assert bk.task_key(bk.flush, ("caf\udce9.txt",))


def test_redis_errors_are_retried_until_the_call_succeeds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bk.time, "sleep", lambda _s: None)
    attempts = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise redis.ConnectionError("connection refused")
        return "recorded"

    assert bk.with_redis_retries(flaky, "test") == "recorded"
    assert len(attempts) == 3


def test_redis_errors_past_the_budget_are_raised() -> None:
    def down() -> None:
        raise redis.ConnectionError("connection refused")

    with pytest.raises(redis.ConnectionError):
        bk.with_redis_retries(down, "test", budget=0.0)


def test_tally_counts_failures_under_a_storable_name() -> None:
    tally = bk.Tally()
    tally.fail("caf\udce9.txt", "Permission denied")
    tally.add("registered", 2)
    assert tally.counts == {"failed": 1, "registered": 2}
    assert list(tally.failures) == ["caf\\xe9.txt"]
