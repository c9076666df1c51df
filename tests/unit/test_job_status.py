"""The status vocabulary and how a pass is shown: statuses derived from the record, rates over the
pass's own elapsed time, the notes beside the counts."""

from __future__ import annotations

import re
import time

import pytest

from lz_ingest.jobs import PassInfo
from lz_ingest.progress import ProgressLine, note, rate, summary, table
from lz_ingest.status import JobStatus, job_status


def _info(**overrides: object) -> PassInfo:
    values: dict[str, object] = {
        "name": "j",
        "status": JobStatus.RUNNING,
        "pass_id": "j:1",
        "started": 1000.0,
        "finished": 0.0,
        "counts": {},
        "periodic": False,
        "alive": True,
    }
    values.update(overrides)
    return PassInfo(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("recorded", "periodic", "scheduled", "failed", "expected"),
    [
        ("running", False, False, 0, JobStatus.RUNNING),
        ("running", True, True, 0, JobStatus.RUNNING),
        ("done", True, True, 0, JobStatus.WAITING),
        ("scheduled", True, True, 0, JobStatus.WAITING),
        ("done", True, True, 3, JobStatus.WAITING),  # a periodic job's failures belong to its last pass
        ("done", False, False, 0, JobStatus.DONE),
        ("done", False, False, 2, JobStatus.FAILED),
        ("done", True, False, 0, JobStatus.DONE),  # its schedule is gone: no pass will come
        ("stopped", True, False, 0, JobStatus.STOPPED),
        ("stopped", False, False, 5, JobStatus.STOPPED),
        ("blocked", True, True, 0, JobStatus.BLOCKED),
        ("watching", False, False, 0, JobStatus.WATCHING),
    ],
)
def test_status_is_derived_from_the_record_the_kind_and_the_schedule(
    recorded: str, periodic: bool, scheduled: bool, failed: int, expected: JobStatus
) -> None:
    assert job_status(recorded, periodic=periodic, scheduled=scheduled, failed=failed) is expected


def test_statuses_are_plain_strings_for_json_and_tables() -> None:
    assert [str(s) for s in JobStatus] == ["running", "waiting", "watching", "blocked", "stopped", "done", "failed"]
    assert f"{JobStatus.WAITING:8}|" == "waiting |"


def test_rate_of_a_finished_pass_is_its_files_over_its_own_duration() -> None:
    info = _info(status=JobStatus.DONE, finished=1010.0, counts={"discovered": 1000, "registered": 1000})
    assert rate(info, now=5000.0) == pytest.approx(100.0)
    line = ProgressLine().render(info, now=5000.0)
    assert "1000/1000 files" in line and "  100.0/s" in line, line


def test_first_frame_of_a_running_pass_counts_from_the_pass_start_not_from_the_watcher() -> None:
    now = time.time()
    info = _info(started=now - 20.0, counts={"discovered": 400, "registered": 200, "pending": 1})
    line = ProgressLine().render(info)
    shown = float(re.search(r"([\d.]+)/s", line).group(1))  # type: ignore[union-attr]
    assert 9.0 <= shown <= 10.5, line
    assert "1 task pending" in line


def test_a_stopped_pass_elapsed_time_is_frozen_at_the_stop() -> None:
    info = _info(status=JobStatus.STOPPED, stopped_at=1030.0)
    assert info.elapsed == 30.0
    assert _info(status=JobStatus.STOPPED, stopped_at=1030.0, finished=1040.0).elapsed == 30.0


def test_waiting_and_blocked_lines() -> None:
    waiting = _info(status=JobStatus.WAITING, periodic=True, next_pass=2042.0, finished=1010.0)
    assert ProgressLine().render(waiting, now=2000.0).startswith("waiting, next pass in 42s")
    assert note(waiting, now=2000.0).startswith("next pass in 42s")
    blocked = _info(status=JobStatus.BLOCKED, reason="handler h.py changed")
    assert ProgressLine().render(blocked).startswith("blocked: handler h.py changed")
    unserved = _info(served=False, queues=("restart", "path", "file"))
    assert "no worker listens on restart, path, file" in table([unserved])


def test_summary_says_1_file_not_1_files() -> None:
    info = _info(status=JobStatus.DONE, finished=1001.0, counts={"discovered": 1, "registered": 1})
    assert "1 file discovered" in summary(info, {})


def test_a_watcher_jobs_event_record_shows_counts_times_and_words() -> None:
    info = _info(status=JobStatus.WATCHING, events={"queued": 3, "last_event": 1000.5, "observer": "inotify"})
    shown = note(info)
    assert "queued 3" in shown and "observer inotify" in shown and "last_event 19" in shown, shown
