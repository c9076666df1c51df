"""Acceptance: event-handler hooks (order, meta, aborting), pre_job / post_job, and failures that stay
confined to their path (unreadable files and directories, one bad file in a batch, a vanished file),
each checked in the catalog through python-irodsclient."""

from __future__ import annotations

import ctypes
import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lz_ingest import worker
from lz_ingest.worker import run_worker as engine_run_worker
from tests.engine_fixtures import Ingest, Result, write_tree

# ---- helpers ------------------------------------------------------------------------------------


def counts(result: Result) -> dict[str, int]:
    """The summary's `  name   N` lines."""
    return {m[1]: int(m[2]) for m in re.finditer(r"^  ([a-z_]+)\s+(\d+)$", result.out, re.MULTILINE)}


def failures(result: Result) -> dict[str, str]:
    """path -> reason, from the summary's FAILED lines."""
    return dict(re.findall(r"^  FAILED (.*?): (.*) \(attempts: \d+\)$", result.out, re.MULTILINE))


def listed_failures(ingest: Ingest, job: str) -> tuple[int, dict[str, str]]:
    """`lz-ingest failures JOB`: exit status and path -> reason."""
    listed = ingest.run("failures", job)
    rows = [line.split("\t") for line in listed.out.splitlines() if line]
    assert all(len(row) == 3 and row[2].startswith("attempts=") for row in rows), listed.out
    return listed.code, {row[0]: row[1] for row in rows}


def handler_file(tmp_path: Path, body: str, name: str = "handler.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


def avus(obj: Any) -> list[tuple[str, str, str | None]]:
    return sorted((m.name, m.value, m.units) for m in obj.metadata.items())


def log_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


# ---- hooks: order and meta ----------------------------------------------------------------------

RECORDING_HANDLER = """
    import json
    import os

    from irods_capability_automated_ingest.core import Core
    from irods_capability_automated_ingest.utils import Operation

    LOG = {log!r}
    KEYS = ("path", "target", "root", "job_name", "size", "mtime", "is_link", "is_socket")


    def record(event, session, meta, exists=None):
        line = {{
            "event": event,
            "pid": os.getpid(),
            "exists": exists,
            **{{k: meta.get(k) for k in KEYS}},
            "config_job_name": meta["config"]["job_name"],
        }}
        with open(LOG, "a") as f:
            f.write(json.dumps(line) + "\\n")


    class event_handler(Core):
        # the old examples' signatures: no *args
        @staticmethod
        def pre_coll_create(hdlr_mod, logger, session, meta, **options):
            record("pre_coll_create", session, meta, session.collections.exists(meta["target"]))

        @staticmethod
        def post_coll_create(hdlr_mod, logger, session, meta, **options):
            record("post_coll_create", session, meta, session.collections.exists(meta["target"]))
            session.collections.get(meta["target"]).metadata.add("hook", "post_coll_create")

        @staticmethod
        def pre_data_obj_create(hdlr_mod, logger, session, meta, **options):
            record("pre_data_obj_create", session, meta, session.data_objects.exists(meta["target"]))

        @staticmethod
        def post_data_obj_create(hdlr_mod, logger, session, meta, **options):
            record("post_data_obj_create", session, meta, session.data_objects.exists(meta["target"]))
            session.data_objects.get(meta["target"]).metadata.add("hook", "post_data_obj_create", str(meta["size"]))

        @staticmethod
        def pre_data_obj_modify(hdlr_mod, logger, session, meta, **options):
            size = session.data_objects.get(meta["target"]).size
            record("pre_data_obj_modify", session, meta, size)

        @staticmethod
        def post_data_obj_modify(hdlr_mod, logger, session, meta, **options):
            size = session.data_objects.get(meta["target"]).size
            record("post_data_obj_modify", session, meta, size)
            session.data_objects.get(meta["target"]).metadata.add("hook", "post_data_obj_modify", str(meta["size"]))
"""


def test_create_and_modify_hooks_fire_in_order_with_the_old_meta(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.txt": "alpha", "sub/b.txt": "bravo!", "sub/deeper/c.txt": "c"})
    log = tmp_path / "hooks.log"
    handler = handler_file(tmp_path, RECORDING_HANDLER.format(log=str(log)))
    result = ingest.rescan(src, "--event_handler", str(handler), "--job_name", "hooked", workers=3)
    assert result.code == 0, result.out + result.err
    t = ingest.target
    lines = log_lines(log)
    events = [(line["event"], line["target"]) for line in lines]

    # every collection and every object: pre then post, exactly once each
    colls = [t, f"{t}/sub", f"{t}/sub/deeper"]
    objs = {f"{t}/a.txt": "a.txt", f"{t}/sub/b.txt": "sub/b.txt", f"{t}/sub/deeper/c.txt": "sub/deeper/c.txt"}
    assert sorted(events) == sorted(
        [(e, c) for c in colls for e in ("pre_coll_create", "post_coll_create")]
        + [(e, o) for o in objs for e in ("pre_data_obj_create", "post_data_obj_create")]
    )
    for target in [*colls, *objs]:
        kind = "coll" if target in colls else "data_obj"
        pre = events.index((f"pre_{kind}_create", target))
        post = events.index((f"post_{kind}_create", target))
        assert pre < post, target
        assert lines[pre]["exists"] is False and lines[post]["exists"] is True, target  # pre runs before the act
    # a collection is created (post hook done) before anything inside it
    for target in [*colls[1:], *objs]:
        parent = target.rsplit("/", 1)[0]
        first = min(i for i, (_e, tgt) in enumerate(events) if tgt == target)
        assert events.index(("post_coll_create", parent)) < first, target

    # meta as the old handlers read it
    for line in lines:
        assert line["root"] == str(src)
        assert line["job_name"] == "hooked" and line["config_job_name"] == "hooked"
        if line["target"] in objs:
            rel = objs[line["target"]]
            assert line["path"] == str(src / rel)
            assert line["size"] == (src / rel).stat().st_size
            assert int(line["mtime"]) == int((src / rel).stat().st_mtime)
            assert line["is_link"] is False and line["is_socket"] is False
        else:
            assert line["path"] == os.path.normpath(os.path.join(src, os.path.relpath(line["target"], t)))

    # the AVUs the post hooks added, through another client
    found = ingest.objects()
    assert avus(found[f"{t}/a.txt"]) == [("hook", "post_data_obj_create", "5")]
    assert avus(found[f"{t}/sub/b.txt"]) == [("hook", "post_data_obj_create", "6")]
    with ingest.session() as s:
        for coll in colls:
            assert avus(s.collections.get(coll)) == [("hook", "post_coll_create", None)], coll

    # a changed file: pre / post_data_obj_modify around the update, nothing else fires
    log.unlink()
    (src / "sub" / "b.txt").write_text("bravo, longer now")
    os.utime(src / "sub" / "b.txt", (1_600_000_000, 1_600_000_000))
    again = ingest.rescan(
        src, "--event_handler", str(handler), "--job_name", "hooked", "--settle-seconds", "0", workers=3
    )
    assert again.code == 0, again.out + again.err
    assert counts(again).get("updated") == 1, again.out
    lines = log_lines(log)
    assert [(line["event"], line["target"]) for line in lines] == [
        ("pre_data_obj_modify", f"{t}/sub/b.txt"),
        ("post_data_obj_modify", f"{t}/sub/b.txt"),
    ]
    assert lines[0]["exists"] == 6 and lines[1]["exists"] == len("bravo, longer now")  # catalog size before / after
    assert lines[0]["size"] == lines[1]["size"] == len("bravo, longer now")
    assert lines[1]["mtime"] == 1_600_000_000
    assert avus(ingest.objects()[f"{t}/sub/b.txt"]) == [
        ("hook", "post_data_obj_create", "6"),
        ("hook", "post_data_obj_modify", str(len("bravo, longer now"))),
    ]


ABORTING_HANDLER = """
    import os

    from irods_capability_automated_ingest.core import Core
    from irods_capability_automated_ingest.utils import Operation

    LOG = {log!r}


    class event_handler(Core):
        @staticmethod
        def operation(session, meta, **options):
            return Operation.{operation}

        @staticmethod
        def pre_data_obj_create(hdlr_mod, logger, session, meta, *args, **options):
            if os.path.basename(meta["path"]) == "bad.txt":
                raise RuntimeError("refusing bad.txt")

        @staticmethod
        def post_data_obj_create(hdlr_mod, logger, session, meta, *args, **options):
            with open(LOG, "a") as f:
                f.write(meta["target"] + "\\n")

        @staticmethod
        def pre_coll_create(hdlr_mod, logger, session, meta, *args, **options):
            if os.path.basename(meta["path"]) == "badcoll":
                raise ValueError("no collection for badcoll")
"""


@pytest.mark.parametrize("operation", ["REGISTER_SYNC", "PUT_SYNC"])
def test_a_pre_hook_raising_aborts_that_path_only(ingest: Ingest, tmp_path: Path, operation: str) -> None:
    src = write_tree(
        tmp_path / "src",
        {"good.txt": "g", "bad.txt": "b", "sub/bad.txt": "b2", "sub/ok.txt": "o", "badcoll/inner.txt": "i"},
    )
    log = tmp_path / "post.log"
    handler = handler_file(tmp_path, ABORTING_HANDLER.format(log=str(log), operation=operation))
    result = ingest.rescan(src, "--event_handler", str(handler), "--job_name", "aborts")
    assert result.code == 1, result.out + result.err
    t = ingest.target
    assert sorted(ingest.objects()) == sorted([f"{t}/good.txt", f"{t}/sub/ok.txt"])
    with ingest.session() as s:
        assert not s.collections.exists(f"{t}/badcoll")
    found = failures(result)
    assert sorted(found) == sorted([str(src / "bad.txt"), str(src / "sub" / "bad.txt"), str(src / "badcoll")])
    assert "pre_data_obj_create() raised RuntimeError: refusing bad.txt" in found[str(src / "bad.txt")]
    assert "pre_coll_create() raised ValueError: no collection for badcoll" in found[str(src / "badcoll")]
    assert counts(result).get("failed") == 3
    # the post hook ran only for what succeeded
    assert sorted(log.read_text().split()) == sorted([f"{t}/good.txt", f"{t}/sub/ok.txt"])
    code, listed = listed_failures(ingest, "aborts")
    assert code == 1
    assert listed == found


# ---- pre_job / post_job -------------------------------------------------------------------------

JOB_HANDLER = """
    import os

    from irods_capability_automated_ingest.core import Core

    JOBS = {jobs!r}
    CREATED = {created!r}


    class event_handler(Core):
        @staticmethod
        def pre_job(hdlr_mod, logger, meta):
            with open(JOBS, "a") as f:
                f.write(f"pre_job {{meta['job_name']}} {{os.getpid()}}\\n")

        @staticmethod
        def post_data_obj_create(hdlr_mod, logger, session, meta, **options):
            with open(CREATED, "a") as f:
                f.write(meta["target"] + "\\n")

        @staticmethod
        def post_job(hdlr_mod, logger, meta):
            with open(CREATED) as f:
                done = len(f.read().split())
            with open(JOBS, "a") as f:
                f.write(f"post_job {{meta['job_name']}} {{done}}\\n")
"""


@pytest.mark.timeout(180)
def test_pre_job_and_post_job_run_exactly_once_with_four_workers(ingest: Ingest, tmp_path: Path) -> None:
    files = {f"d{d}/e{e}/f{f}.txt": f"{d}{e}{f}" for d in range(4) for e in range(3) for f in range(5)}
    files.update({f"top{f}.txt": "t" for f in range(7)})
    src = write_tree(tmp_path / "src", files)
    jobs, created = tmp_path / "jobs.log", tmp_path / "created.log"
    handler = handler_file(tmp_path, JOB_HANDLER.format(jobs=str(jobs), created=str(created)))
    result = ingest.rescan(
        src, "--event_handler", str(handler), "--job_name", "fourway", "--files_per_task", "2", workers=4
    )
    assert result.code == 0, result.out + result.err
    assert len(ingest.objects()) == len(files) == 67
    lines = jobs.read_text().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("pre_job fourway ")
    # post_job exactly once, after every file of the pass was done
    assert lines[1] == f"post_job fourway {len(files)}"


# ---- one bad file in a batch --------------------------------------------------------------------

BAD_ONE_HANDLER = """
    import os

    from irods_capability_automated_ingest.core import Core


    class event_handler(Core):
        @staticmethod
        def {method}(*args, **options):
            meta = args[-1]  # (session, meta) or (hdlr_mod, logger, session, meta)
            if os.path.basename(meta["path"]) == "f17.txt":
                raise OSError("f17 is cursed")
            return None
"""


@pytest.mark.parametrize("method", ["pre_data_obj_create", "to_resource"])
def test_one_bad_file_in_a_batch_of_fifty(ingest: Ingest, tmp_path: Path, method: str) -> None:
    src = write_tree(tmp_path / "src", {f"f{i:02d}.txt": f"file {i}" for i in range(50)})
    handler = handler_file(tmp_path, BAD_ONE_HANDLER.format(method=method))
    result = ingest.rescan(src, "--event_handler", str(handler), "--job_name", "batch50", "--files_per_task", "50")
    assert result.code == 1, result.out + result.err
    objs = ingest.objects()
    assert len(objs) == 49
    assert f"{ingest.target}/f17.txt" not in objs
    assert counts(result).get("registered") == 49
    assert counts(result).get("failed") == 1
    bad = str(src / "f17.txt")
    assert list(failures(result)) == [bad]
    assert f"{method}() raised OSError: f17 is cursed" in failures(result)[bad]
    code, listed = listed_failures(ingest, "batch50")
    assert code == 1 and list(listed) == [bad]


# ---- a file that vanishes between scan and sync -------------------------------------------------

VANISHING_HANDLER = """
    import os

    from irods_capability_automated_ingest.core import Core
    from irods_capability_automated_ingest.utils import Operation


    class event_handler(Core):
        @staticmethod
        def operation(session, meta, **options):
            # first called by the scan, after it listed the directory and before the batch is synced:
            # the file is gone when the sync looks at it again
            if os.path.basename(meta["path"]) == "vanish.txt" and os.path.exists(meta["path"]):
                os.unlink(meta["path"])
            return Operation.{operation}
"""


@pytest.mark.parametrize("operation", ["REGISTER_SYNC", "PUT_SYNC"])
def test_a_file_vanished_between_scan_and_sync_is_not_a_failure(ingest: Ingest, tmp_path: Path, operation: str) -> None:
    src = write_tree(tmp_path / "src", {"keep.txt": "k", "vanish.txt": "v", "sub/other.txt": "o"})
    handler = handler_file(tmp_path, VANISHING_HANDLER.format(operation=operation))
    result = ingest.rescan(src, "--event_handler", str(handler), "--job_name", "vanishing")
    assert result.code == 0, result.out + result.err
    assert not (src / "vanish.txt").exists()
    c = counts(result)
    assert c.get("vanished") == 1, result.out
    assert "failed" not in c and failures(result) == {}
    assert c.get("registered" if operation == "REGISTER_SYNC" else "uploaded") == 2
    assert sorted(ingest.objects()) == sorted([f"{ingest.target}/keep.txt", f"{ingest.target}/sub/other.txt"])
    assert listed_failures(ingest, "vanishing") == (0, {})


# ---- unreadable files and directories -----------------------------------------------------------
#
# The tests run as root, whom chmod 000 does not stop. The worker processes of these tests drop the
# capabilities that let root bypass file permissions (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH) before they
# take any task: they stay uid 0 (they can still read the venv and the interpreter under /root), but a
# file or directory with mode 000 is then unreadable to them, exactly as to an unprivileged service
# account. The rescan's own worker pool starts them (lz_ingest.worker.run_worker patched for the test).

CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_dac_capabilities() -> None:
    """Remove the permission-bypassing capabilities from this process (effective, permitted, inheritable)."""
    libc = ctypes.CDLL(None, use_errno=True)
    header, data = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0), (_CapData * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capget failed")
    mask = ~((1 << CAP_DAC_OVERRIDE) | (1 << CAP_DAC_READ_SEARCH)) & 0xFFFFFFFF
    data[0].effective &= mask
    data[0].permitted &= mask
    data[0].inheritable &= mask
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")


def run_worker_without_dac(*args: Any, **kwargs: Any) -> None:
    """lz_ingest.worker.run_worker, in a process that first gave up the permission-bypassing capabilities."""
    drop_dac_capabilities()
    engine_run_worker(*args, **kwargs)


_PROBE = """
import os, sys
sys.path.insert(0, {root!r})
from tests.integration.engine.test_hooks_failures import drop_dac_capabilities
drop_dac_capabilities()
try:
    open({path!r}, "rb")
except PermissionError:
    sys.exit(0)
sys.exit(3)
"""


@pytest.fixture
def unreadable(tmp_path: Path) -> Iterator[list[Path]]:
    """Paths to chmod 000 (restored afterwards); skips unless a worker without DAC capabilities is denied."""
    made: list[Path] = []
    probe = tmp_path / "probe"
    probe.write_text("x")
    probe.chmod(0)
    root = str(Path(__file__).resolve().parents[3])
    check = subprocess.run([sys.executable, "-c", _PROBE.format(root=root, path=str(probe))], check=False)
    if check.returncode != 0:
        pytest.skip(f"cannot make a file unreadable to a worker here (probe exit {check.returncode})")
    yield made
    for path in made:
        path.chmod(0o755 if path.is_dir() else 0o644)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("operation", ["REGISTER_SYNC", "PUT_SYNC"])
def test_unreadable_file_and_directory_are_failures_and_the_pass_goes_on(
    ingest: Ingest, tmp_path: Path, unreadable: list[Path], operation: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = write_tree(
        tmp_path / "src",
        {"a.txt": "a", "secret.txt": "s", "open/b.txt": "b", "locked/inner.txt": "i", "open/deep/c.txt": "c"},
    )
    handler = handler_file(
        tmp_path,
        f"""
        from irods_capability_automated_ingest.core import Core
        from irods_capability_automated_ingest.utils import Operation

        class event_handler(Core):
            @staticmethod
            def operation(session, meta, **options):
                return Operation.{operation}
        """,
    )
    for path in (src / "secret.txt", src / "locked"):
        path.chmod(0)
        unreadable.append(path)
    # the pool the rescan starts spawns its processes with run_worker_without_dac (pickled by name)
    monkeypatch.setattr(worker, "run_worker", run_worker_without_dac)
    result = ingest.rescan(src, "--event_handler", str(handler), "--job_name", "perms", workers=2)
    assert result.code == 1, result.out + result.err
    t = ingest.target
    assert sorted(ingest.objects()) == sorted([f"{t}/a.txt", f"{t}/open/b.txt", f"{t}/open/deep/c.txt"])
    found = failures(result)
    assert sorted(found) == sorted([str(src / "secret.txt"), str(src / "locked")])
    assert all("Permission denied" in reason for reason in found.values()), found
    assert counts(result).get("failed") == 2
    assert counts(result).get("registered" if operation == "REGISTER_SYNC" else "uploaded") == 3
    code, listed = listed_failures(ingest, "perms")
    assert code == 1 and listed == found


# ---- a failure's traceback in the log -----------------------------------------------------------

RAISING_HOOK = """
    from irods_capability_automated_ingest.core import Core


    def check_sample_sheet(meta):
        if meta["path"].endswith("bad.txt"):
            raise ValueError("sample sheet missing for " + meta["path"])


    class event_handler(Core):
        @staticmethod
        def post_data_obj_create(hdlr_mod, logger, session, meta, **options):
            check_sample_sheet(meta)
"""


def test_a_failed_file_is_logged_with_its_traceback(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"good.txt": "g", "bad.txt": "b"})
    handler = handler_file(tmp_path, RAISING_HOOK)
    log = tmp_path / "worker.log"
    result = ingest.rescan(src, "--event_handler", str(handler), "--log_filename", str(log), "--log_level", "DEBUG")
    assert result.code == 1, result.out + result.err
    assert "sample sheet missing" in failures(result)[str(src / "bad.txt")]
    (event,) = [line for line in log_lines(log) if line.get("event") == "file_failed"]
    assert event["path"] == str(src / "bad.txt") and event["phase"] == "sync" and event["level"] == "error"
    assert "sample sheet missing" in event["reason"]
    trace = event["exception"]
    assert "Traceback" in trace and "check_sample_sheet" in trace and "ValueError" in trace
