"""Messages a person can act on: the handler file named, a path too long with both lengths, each failed
path shown once, grammar, and a worker without iRODS settings naming its host."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import redis

from lz_ingest.jobs import JobSpec, JobStore, key
from lz_ingest.progress import summary
from tests.engine_fixtures import Ingest, write_tree

from .jobtools import handler_file, lz_keys, pass_over, pool, wait_until


def _one_error_line(result: object) -> str:
    err = result.err  # type: ignore[attr-defined]
    lines = [line for line in err.splitlines() if line.strip()]
    assert result.code == 2 and len(lines) == 1, err  # type: ignore[attr-defined]
    return lines[0]


def test_a_handler_file_without_event_handler_is_named_not_its_internal_module(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.txt": "a"})
    path = tmp_path / "no_class.py"
    path.write_text("x = 1\n")
    line = _one_error_line(ingest.rescan(src, "--event_handler", str(path)))
    assert f"event handler file {path} defines no 'event_handler'" in line, line
    assert "lz_ingest_event_handler_" not in line
    assert lz_keys(ingest.redis_url) == []


def test_an_unknown_operation_is_an_operation_not_a_operation(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.txt": "a"})
    path = handler_file(
        tmp_path,
        """
        @staticmethod
        def operation(session, meta, **options):
            return "bogus"
        """,
    )
    line = _one_error_line(ingest.rescan(src, "--event_handler", str(path)))
    assert "expected an Operation (" in line, line


def test_a_path_too_long_says_so_with_both_lengths(ingest: Ingest, tmp_path: Path) -> None:
    deep = "/".join(c * 200 for c in "abcd")
    long_name = "f" * 250 + ".txt"
    size = len(f"{ingest.target}/{deep}/{long_name}".encode())
    src = write_tree(tmp_path / "src", {f"{deep}/{long_name}": "too long", "ok.txt": "fits"})
    result = ingest.rescan(src, "--job_name", "long", workers=1)
    assert result.code == 1
    failed = [line for line in result.out.splitlines() if "FAILED" in line]
    assert len(failed) == 1, result.out
    assert f"logical path too long: {size} bytes, iRODS allows at most 1087" in failed[0], failed[0]
    assert "2 files discovered" in result.out


def test_a_failed_path_is_shown_once(redis_url: str) -> None:
    conn = redis.Redis.from_url(redis_url)
    store = JobStore(conn)
    store.save(JobSpec(name="p", source="/src", target="/tempZone/home/rods/t"))
    pass_id = store.begin_pass("p")
    path = "/src/secret.txt"
    reasons = {path: f"{path}: Permission denied", "/src/other": "hook raised RuntimeError: /src/other: no"}
    recorded = {p: json.dumps({"reason": r, "attempts": 1}) for p, r in reasons.items()}
    conn.hset(key("failures", pass_id), mapping=recorded)
    found = store.failures(pass_id)
    assert found[path]["reason"] == "Permission denied"
    assert found["/src/other"]["reason"] == reasons["/src/other"]  # only a leading repeat is dropped
    text = summary(store.info("p"), found)
    assert text.count(path) == 1 and f"FAILED {path}: Permission denied (attempts: 1)" in text, text


@pytest.mark.timeout(180)
def test_a_worker_without_irods_settings_says_so_and_names_its_host(
    ingest: Ingest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = write_tree(tmp_path / "src", {"a.txt": "a"})
    assert ingest.run("start", str(src), ingest.target, "--job_name", "nosettings").code == 0
    for var in ("IRODS_HOST", "IRODS_PORT", "IRODS_USER_NAME", "IRODS_ZONE_NAME", "IRODS_PASSWORD"):
        monkeypatch.delenv(var)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.irods either
    with pool(ingest.redis_url, 1):  # its processes inherit this environment
        wait_until(lambda: pass_over(ingest.redis_url, "nosettings"), 90, "the pass to end")
    result = ingest.run("failures", "nosettings")
    assert result.code == 1
    assert f"the worker on host {socket.gethostname()} has no iRODS settings: iRODS is not configured" in result.out
