"""The handler's `timeout`: validated, and the longest of a batch's files is the batch's RQ job timeout."""

from __future__ import annotations

import math
from typing import Any

import pytest

from lz_ingest.errors import HandlerError
from lz_ingest.handlers.loader import Handler
from lz_ingest.model import Entry, EntryKind
from lz_ingest.tasks import bookkeeping as bk
from lz_ingest.tasks.scan import SyncItem, batch_timeout


def item(timeout: float) -> SyncItem:
    return SyncItem(Entry("/src/a", EntryKind.REGULAR, 1, 0.0), "/z/a", None, (), timeout)


def test_a_batch_runs_as_long_as_its_slowest_file_may() -> None:
    assert batch_timeout([item(20), item(900.2), item(60)]) == 901
    assert batch_timeout([item(5)]) == 5


def test_a_batch_without_timeouts_gets_the_default() -> None:
    assert batch_timeout([item(0.0)]) == bk.DEFAULT_TASK_TIMEOUT
    assert batch_timeout([]) == bk.DEFAULT_TASK_TIMEOUT


def handler_returning(value: Any) -> Handler:
    class Policy:
        @staticmethod
        def timeout(hdlr_mod: Any, logger: Any, meta: dict[str, Any]) -> Any:
            return value

    return Handler(Policy, module=None, name="h.py:event_handler", content_hash="")  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [0, -5, "600", None, True, math.inf, math.nan])
def test_a_timeout_that_cannot_be_a_job_timeout_is_refused_in_one_line(value: Any) -> None:
    with pytest.raises(HandlerError) as caught:
        handler_returning(value).timeout({})
    assert str(caught.value) == f"h.py:event_handler: timeout() returned {value!r}; expected a number of seconds > 0"


@pytest.mark.parametrize("value", [1, 0.5, 3600])
def test_a_positive_timeout_is_taken(value: float) -> None:
    assert handler_returning(value).timeout({}) == value
