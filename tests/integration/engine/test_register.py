"""Acceptance: REGISTER_SYNC and REGISTER_AS_REPLICA_SYNC, checked in the catalog through python-irodsclient."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine_fixtures import Ingest, Result, write_tree


def counts(result: Result) -> dict[str, int]:
    """The summary's `  name   N` lines."""
    return {m[1]: int(m[2]) for m in re.finditer(r"^  ([a-z_]+)\s+(\d+)$", result.out, re.MULTILINE)}


def failures(result: Result) -> dict[str, str]:
    """path -> reason, from the summary's FAILED lines."""
    return dict(re.findall(r"^  FAILED (\S+): (.*) \(attempts: \d+\)$", result.out, re.MULTILINE))


def handler(tmp_path: Path, body: str, name: str = "handler.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


def sha2(path: Path) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()


def replica_hierarchies(obj: object) -> list[str]:
    return sorted(r.resc_hier for r in obj.replicas)


# ---- a default run ------------------------------------------------------------------------------


def test_register_records_physical_path_size_mtime_and_default_resource(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"one.bin": b"x" * 1234, "d/e/two.txt": "two", "empty": b""})
    result = ingest.rescan(src)
    assert result.code == 0, result.out + result.err
    assert counts(result)["registered"] == 3
    objs = ingest.objects()
    assert set(objs) == {f"{ingest.target}/one.bin", f"{ingest.target}/d/e/two.txt", f"{ingest.target}/empty"}
    for rel, size in (("one.bin", 1234), ("d/e/two.txt", 3), ("empty", 0)):
        obj = objs[f"{ingest.target}/{rel}"]
        assert obj.size == size
        assert len(obj.replicas) == 1
        replica = obj.replicas[0]
        assert replica.path == str(src / rel)
        assert replica.size == size
        assert replica.resource_name == "demoResc"
        assert replica.resc_hier == "demoResc"
        assert replica.status == "1"
        assert int(obj.modify_time.timestamp()) == int((src / rel).stat().st_mtime)
    # registered in place: the source files are still there, untouched
    assert (src / "one.bin").read_bytes() == b"x" * 1234


# ---- change detection ---------------------------------------------------------------------------


def test_rewritten_file_is_updated_unchanged_skipped_then_nothing_changes(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"changes.txt": "short", "stays.txt": "same", "sub/stays2.txt": "same2"})
    first = ingest.rescan(src)
    assert first.code == 0, first.out + first.err
    assert counts(first)["registered"] == 3

    changed = src / "changes.txt"
    changed.write_text("a much longer content than before")
    past = time.time() - 3600  # in the past, but different from the registered mtime
    os.utime(changed, (past, past))
    second = ingest.rescan(src)
    assert second.code == 0, second.out + second.err
    c = counts(second)
    assert c["updated"] == 1
    assert c["skipped"] == 2
    assert "registered" not in c
    obj = ingest.objects()[f"{ingest.target}/changes.txt"]
    assert obj.size == len("a much longer content than before")
    assert obj.replicas[0].size == obj.size
    assert int(obj.modify_time.timestamp()) == int(past)
    assert obj.replicas[0].path == str(changed)
    assert len(obj.replicas) == 1

    before = {p: (o.size, o.modify_time, [r.path for r in o.replicas]) for p, o in ingest.objects().items()}
    third = ingest.rescan(src)
    assert third.code == 0, third.out + third.err
    c = counts(third)
    assert c["skipped"] == 3
    assert not {"registered", "updated", "replicated", "failed"} & set(c)
    after = {p: (o.size, o.modify_time, [r.path for r in o.replicas]) for p, o in ingest.objects().items()}
    assert after == before


# ---- replicas and resources ---------------------------------------------------------------------


def test_register_as_replica_on_second_resource(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"r1.txt": "replica one", "sub/r2.txt": "replica two"})
    first = ingest.rescan(src)
    assert first.code == 0, first.out + first.err
    hdlr = handler(
        tmp_path,
        """
        from irods_capability_automated_ingest.core import Core
        from irods_capability_automated_ingest.utils import Operation


        class event_handler(Core):
            @staticmethod
            def operation(session, meta, **options):
                return Operation.REGISTER_AS_REPLICA_SYNC

            @staticmethod
            def to_resource(session, meta, **options):
                return "secondResc"
        """,
    )
    second = ingest.rescan(src, "--event_handler", str(hdlr), "--checksum")
    assert second.code == 0, second.out + second.err
    assert counts(second)["replicated"] == 2
    for rel in ("r1.txt", "sub/r2.txt"):
        obj = ingest.objects()[f"{ingest.target}/{rel}"]
        assert replica_hierarchies(obj) == ["demoResc", "secondResc"]
        assert {r.status for r in obj.replicas} == {"1"}
        assert {r.path for r in obj.replicas} == {str(src / rel)}
        assert {r.size for r in obj.replicas} == {(src / rel).stat().st_size}
        second_replica = next(r for r in obj.replicas if r.resc_hier == "secondResc")
        assert second_replica.checksum == sha2(src / rel)
    # the replicas are there now: another pass with the same handler changes nothing
    third = ingest.rescan(src, "--event_handler", str(hdlr), "--checksum")
    assert third.code == 0, third.out + third.err
    assert counts(third)["skipped"] == 2
    assert "replicated" not in counts(third)


def test_register_as_replica_updates_the_replica_on_to_resource(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"new.txt": "first replica", "moving.txt": "will change"})
    hdlr = handler(
        tmp_path,
        """
        from irods_capability_automated_ingest.core import Core
        from irods_capability_automated_ingest.utils import Operation


        class event_handler(Core):
            @staticmethod
            def operation(session, meta, **options):
                return Operation.REGISTER_AS_REPLICA_SYNC

            @staticmethod
            def to_resource(session, meta, **options):
                return "secondResc"
        """,
    )
    first = ingest.rescan(src, "--event_handler", str(hdlr))
    assert first.code == 0, first.out + first.err
    assert counts(first)["registered"] == 2  # a new path: registered as its first replica
    for rel in ("new.txt", "moving.txt"):
        assert replica_hierarchies(ingest.objects()[f"{ingest.target}/{rel}"]) == ["secondResc"]
    (src / "moving.txt").write_text("has changed, longer")
    os.utime(src / "moving.txt", (1_600_000_000, 1_600_000_000))
    second = ingest.rescan(src, "--event_handler", str(hdlr))
    assert second.code == 0, second.out + second.err
    assert counts(second)["updated"] == 1
    obj = ingest.objects()[f"{ingest.target}/moving.txt"]
    assert replica_hierarchies(obj) == ["secondResc"]
    assert obj.replicas[0].size == len("has changed, longer")
    assert int(obj.modify_time.timestamp()) == 1_600_000_000


def test_register_sync_changed_file_without_replica_on_to_resource_fails(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"elsewhere.txt": "on demoResc", "quiet.txt": "unchanged"})
    assert ingest.rescan(src).code == 0
    (src / "elsewhere.txt").write_text("changed on disk")
    os.utime(src / "elsewhere.txt", (1_600_000_000, 1_600_000_000))
    result = ingest.rescan(src, "--event_handler", str(to_resource_handler(tmp_path, "secondResc")))
    assert result.code == 1, result.out + result.err
    reason = failures(result)[str(src / "elsewhere.txt")]
    assert "no replica on resource secondResc" in reason
    assert counts(result)["skipped"] == 1
    obj = ingest.objects()[f"{ingest.target}/elsewhere.txt"]
    assert replica_hierarchies(obj) == ["demoResc"]
    assert obj.size == len("on demoResc")  # nothing changed in the catalog


def to_resource_handler(tmp_path: Path, resource: str) -> Path:
    return handler(
        tmp_path,
        f"""
        from irods_capability_automated_ingest.core import Core


        class event_handler(Core):
            @staticmethod
            def to_resource(session, meta, **options):
                return {resource!r}
        """,
    )


@pytest.mark.parametrize(
    ("resource", "hierarchy"),
    [
        ("ptRoot", "ptRoot;ptLeaf"),
        ("treeRoot", "treeRoot;treeMid;treeLeaf"),
        ("treeLeaf", "treeRoot;treeMid;treeLeaf"),
        ("treeRoot;treeMid;treeLeaf", "treeRoot;treeMid;treeLeaf"),
    ],
    ids=["root-passthru", "root-tree", "leaf", "full-hierarchy"],
)
def test_to_resource_registers_into_the_resource_hierarchy(
    ingest: Ingest, tmp_path: Path, resource: str, hierarchy: str
) -> None:
    src = write_tree(tmp_path / "src", {"h1.txt": "hier", "sub/h2.txt": "hierarchy"})
    result = ingest.rescan(src, "--event_handler", str(to_resource_handler(tmp_path, resource)))
    assert result.code == 0, result.out + result.err
    assert counts(result)["registered"] == 2
    objs = ingest.objects()
    assert len(objs) == 2
    for rel in ("h1.txt", "sub/h2.txt"):
        obj = objs[f"{ingest.target}/{rel}"]
        assert replica_hierarchies(obj) == [hierarchy]
        assert obj.replicas[0].resource_name == hierarchy.split(";")[-1]
        assert obj.replicas[0].path == str(src / rel)
        assert obj.replicas[0].status == "1"
    # a second pass with the same to_resource finds its replicas: the rewritten file is updated there
    (src / "h1.txt").write_text("hierarchy rewritten")
    os.utime(src / "h1.txt", (1_600_000_000, 1_600_000_000))
    again = ingest.rescan(src, "--event_handler", str(to_resource_handler(tmp_path, resource)))
    assert again.code == 0, again.out + again.err
    assert counts(again)["updated"] == 1
    assert counts(again)["skipped"] == 1
    obj = ingest.objects()[f"{ingest.target}/h1.txt"]
    assert replica_hierarchies(obj) == [hierarchy]
    assert obj.size == len("hierarchy rewritten")
    assert int(obj.modify_time.timestamp()) == 1_600_000_000


def test_to_resource_naming_a_middle_resource_fails_each_file(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"m1.txt": "middle", "sub/m2.txt": "middle two"})
    result = ingest.rescan(src, "--event_handler", str(to_resource_handler(tmp_path, "treeMid")))
    assert result.code == 1, result.out + result.err
    failed = failures(result)
    assert set(failed) == {str(src / "m1.txt"), str(src / "sub/m2.txt")}
    for reason in failed.values():
        assert "HIERARCHY_ERROR" in reason
    assert counts(result)["failed"] == 2
    assert ingest.objects() == {}


# ---- as_user ------------------------------------------------------------------------------------


AS_ALICE = """
    from irods_capability_automated_ingest.core import Core
    from irods_capability_automated_ingest.utils import Operation


    class event_handler(Core):
        @staticmethod
        def as_user(meta, **options):
            return ("tempZone", "alice")

        @staticmethod
        def operation(session, meta, **options):
            return Operation.{operation}
    """


@pytest.fixture
def alice_target(ingest: Ingest) -> Iterator[str]:
    """The ingest target moved under alice's home (she owns nothing elsewhere); removed afterwards."""
    target = ingest.target.replace(ingest.zone.home(), ingest.zone.home("alice"))
    ingest.target = target
    yield target
    with ingest.session() as s:
        if s.collections.exists(target):
            s.collections.remove(target, recurse=True, force=True)


def test_as_user_register_is_refused_for_a_rodsuser(ingest: Ingest, tmp_path: Path, alice_target: str) -> None:
    if ingest.zone.zone != "tempZone" or ingest.zone.rodsuser != "alice":
        pytest.skip("needs the irods-lite zone's user alice")
    src = write_tree(tmp_path / "src", {"a1.txt": "alice one", "sub/a2.txt": "alice two"})
    hdlr = handler(tmp_path, AS_ALICE.format(operation="REGISTER_SYNC"))
    result = ingest.rescan(src, "--event_handler", str(hdlr))
    assert result.code == 1, result.out + result.err
    failed = failures(result)
    assert set(failed) == {str(src / "a1.txt"), str(src / "sub/a2.txt")}
    for reason in failed.values():
        assert "PATH_REG_NOT_ALLOWED" in reason
    assert ingest.objects() == {}


def test_as_user_put_uploads_objects_owned_by_that_user(ingest: Ingest, tmp_path: Path, alice_target: str) -> None:
    if ingest.zone.zone != "tempZone" or ingest.zone.rodsuser != "alice":
        pytest.skip("needs the irods-lite zone's user alice")
    src = write_tree(tmp_path / "src", {"p1.txt": "put by alice", "sub/p2.txt": "also alice"})
    hdlr = handler(tmp_path, AS_ALICE.format(operation="PUT"))
    result = ingest.rescan(src, "--event_handler", str(hdlr))
    assert result.code == 0, result.out + result.err
    assert counts(result)["uploaded"] == 2
    objs = ingest.objects()
    assert set(objs) == {f"{alice_target}/p1.txt", f"{alice_target}/sub/p2.txt"}
    for rel in ("p1.txt", "sub/p2.txt"):
        obj = objs[f"{alice_target}/{rel}"]
        assert obj.owner_name == "alice"
        assert obj.size == (src / rel).stat().st_size
        assert obj.replicas[0].path != str(src / rel)  # uploaded into a vault, not registered in place
    with ingest.session("alice", "alicepass") as s:
        with s.data_objects.open(f"{alice_target}/p1.txt", "r") as f:
            assert f.read() == b"put by alice"
        assert s.collections.get(f"{alice_target}/sub").owner_name == "alice"  # created as alice too


# ---- options ------------------------------------------------------------------------------------


def test_initial_ingest_registers_new_files_on_a_fresh_target(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"i1.txt": "initial", "x/y/i2.txt": "ingest"})
    result = ingest.rescan(src, "--initial_ingest")
    assert result.code == 0, result.out + result.err
    assert counts(result)["registered"] == 2
    objs = ingest.objects()
    assert objs[f"{ingest.target}/i1.txt"].replicas[0].path == str(src / "i1.txt")
    assert objs[f"{ingest.target}/x/y/i2.txt"].size == len("ingest")


def test_large_file_is_registered_with_its_size(ingest: Ingest, tmp_path: Path) -> None:
    big = tmp_path / "src" / "big.bin"
    big.parent.mkdir()
    with big.open("wb") as f:
        f.truncate(40 * 1024 * 1024)
    past = time.time() - 60
    os.utime(big, (past, past))
    result = ingest.rescan(big.parent)
    assert result.code == 0, result.out + result.err
    obj = ingest.objects()[f"{ingest.target}/big.bin"]
    assert obj.size == 40 * 1024 * 1024
    assert obj.replicas[0].path == str(big)


def test_handler_max_retries_retries_a_failing_file(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"flaky.txt": "flaky", "fine.txt": "fine"})
    marker = tmp_path / "calls"
    hdlr = handler(
        tmp_path,
        f"""
        from irods_capability_automated_ingest.core import Core

        MARKER = {str(marker)!r}


        class event_handler(Core):
            @staticmethod
            def max_retries(hdlr_mod, logger, meta):
                return 2

            @staticmethod
            def delay(hdlr_mod, logger, meta, retries):
                return 0.1

            @staticmethod
            def pre_data_obj_create(hdlr_mod, logger, session, meta, *args, **options):
                if not meta["path"].endswith("flaky.txt"):
                    return
                with open(MARKER, "a") as f:
                    f.write("call\\n")
                with open(MARKER) as f:
                    calls = len(f.readlines())
                if calls == 1:
                    raise RuntimeError("transient failure, first call")
        """,
    )
    result = ingest.rescan(src, "--event_handler", str(hdlr))
    assert result.code == 0, result.out + result.err
    c = counts(result)
    assert c["registered"] == 2
    assert c["retried"] == 1
    assert "failed" not in c
    assert marker.read_text().count("call") == 2
    objs = ingest.objects()
    assert objs[f"{ingest.target}/flaky.txt"].replicas[0].path == str(src / "flaky.txt")


def test_handler_max_retries_exhausted_fails_the_file_only(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"bad.txt": "bad", "good.txt": "good"})
    hdlr = handler(
        tmp_path,
        """
        from irods_capability_automated_ingest.core import Core


        class event_handler(Core):
            @staticmethod
            def max_retries(hdlr_mod, logger, meta):
                return 2

            @staticmethod
            def pre_data_obj_create(hdlr_mod, logger, session, meta, *args, **options):
                if meta["path"].endswith("bad.txt"):
                    raise RuntimeError("always fails")
        """,
    )
    result = ingest.rescan(src, "--event_handler", str(hdlr), "--files_per_task", "10")
    assert result.code == 1, result.out + result.err
    c = counts(result)
    assert c["registered"] == 1
    assert c["retried"] == 2
    assert c["failed"] == 1
    assert "always fails" in failures(result)[str(src / "bad.txt")]
    assert "(attempts: 3)" in result.out
    assert set(ingest.objects()) == {f"{ingest.target}/good.txt"}


def test_rescan_lists_collections_in_batches_and_still_sees_catalog_changes(ingest: Ingest, tmp_path: Path) -> None:
    files = {f"p{p}/d{d:02d}/f{f}.txt": f"{p}-{d}-{f}" for p in range(2) for d in range(20) for f in range(3)}
    src = write_tree(tmp_path / "src", files)
    first = ingest.rescan(src)
    assert first.code == 0, first.err + first.out
    assert counts(first).get("registered") == 120
    with ingest.session() as s:  # catalog-side changes the next pass must notice
        s.data_objects.unregister(f"{ingest.target}/p0/d05/f1.txt")
        s.data_objects.unregister(f"{ingest.target}/p1/d19/f0.txt")
    lite = ingest.zone.lite
    if lite:
        lite.reset_counts()
    second = ingest.rescan(src)
    assert second.code == 0, second.err + second.out
    c = counts(second)
    assert c.get("registered") == 2 and c.get("skipped") == 118
    if lite:
        # 43 collections: listed one at a time that is 86 GenQueries; in batches of up to 16, far fewer
        assert lite.call_counts().get(702, 0) <= 20
    third = ingest.rescan(src)
    assert counts(third).get("skipped") == 120 and not counts(third).get("registered")
