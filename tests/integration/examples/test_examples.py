"""Every handler file in examples/ run as a user would run it: copied, its settings constants filled in for
the test zone, then `lz-ingest rescan --event_handler FILE`, and checked in the catalog."""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.engine_fixtures import Ingest, Result, write_tree

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def example(tmp_path: Path, name: str, **constants: str) -> Path:
    """A copy of examples/NAME with each `CONSTANT = "..."` line given the test's value."""
    text = (EXAMPLES / name).read_text()
    for constant, value in constants.items():
        text, found = re.subn(rf"^{constant} = .*$", f"{constant} = {value!r}", text, flags=re.MULTILINE)
        assert found == 1, f"{name} has no {constant} setting"
    copy = tmp_path / "handlers" / name
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_text(text)
    return copy


def counts(result: Result) -> dict[str, int]:
    return {m[1]: int(m[2]) for m in re.finditer(r"^  ([a-z_]+)\s+(\d+)$", result.out, re.MULTILINE)}


def rescan(ingest: Ingest, src: Path, handler: Path, *args: str) -> Result:
    result = ingest.rescan(src, "--event_handler", str(handler), *args)
    assert result.code == 0, result.out + result.err
    return result


def content(ingest: Ingest, path: str) -> bytes:
    with ingest.session() as s, s.data_objects.open(path, "r") as f:
        data: bytes = f.read()
        return data


def avus(obj: Any) -> dict[str, tuple[str, str | None]]:
    return {m.name: (m.value, m.units) for m in obj.metadata.items()}


def test_every_example_is_tested() -> None:
    tested = set(re.findall(r'example\(tmp_path, "([\w.]+)"', Path(__file__).read_text()))
    assert tested == {p.name for p in EXAMPLES.glob("*.py")}


def test_put_uploads_and_leaves_a_changed_file_alone(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.txt": "first", "sub/b.txt": "bee"})
    handler = example(tmp_path, "put.py")
    assert counts(rescan(ingest, src, handler))["uploaded"] == 2
    objects = ingest.objects()
    assert set(objects) == {f"{ingest.target}/a.txt", f"{ingest.target}/sub/b.txt"}
    assert all(not obj.replicas[0].path.startswith(str(src)) for obj in objects.values())  # in the vault
    write_tree(src, {"a.txt": "first, changed"}, age=30)
    rescan(ingest, src, handler)
    assert content(ingest, f"{ingest.target}/a.txt") == b"first"


def test_sync_uploads_changes_again_and_trashes_what_was_removed(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"keep.txt": "v1", "gone.txt": "bye"})
    handler = example(tmp_path, "sync.py")
    rescan(ingest, src, handler)
    write_tree(src, {"keep.txt": "version two"}, age=30)
    (src / "gone.txt").unlink()
    second = counts(rescan(ingest, src, handler))
    assert second["overwritten"] == 1 and second["deleted_trash"] == 1
    assert set(ingest.objects()) == {f"{ingest.target}/keep.txt"}
    assert content(ingest, f"{ingest.target}/keep.txt") == b"version two"


def test_append_sends_only_what_grew(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"instrument.log": "line 1\n"})
    handler = example(tmp_path, "append.py")
    rescan(ingest, src, handler)
    with open(src / "instrument.log", "a") as log:
        log.write("line 2\n")
    os.utime(src / "instrument.log", (os.path.getmtime(src) - 30,) * 2)
    assert counts(rescan(ingest, src, handler))["appended"] == 1
    assert content(ingest, f"{ingest.target}/instrument.log") == b"line 1\nline 2\n"


def test_register_with_resc_name_registers_in_place_on_that_resource(ingest: Ingest, tmp_path: Path) -> None:
    resource = ingest.zone.second_resource
    if resource is None:
        pytest.skip("needs a second resource (LZ_TEST_SECOND_RESOURCE)")
    src = write_tree(tmp_path / "src", {"r1.dat": "one", "deep/r2.dat": "two"})
    rescan(ingest, src, example(tmp_path, "register_with_resc_name.py", RESOURCE=resource))
    for rel in ("r1.dat", "deep/r2.dat"):
        (replica,) = ingest.objects()[f"{ingest.target}/{rel}"].replicas
        assert (replica.resource_name, replica.path) == (resource, str(src / rel))


def test_replica_with_resc_name_adds_a_registered_replica(ingest: Ingest, tmp_path: Path) -> None:
    resource = ingest.zone.second_resource
    if resource is None:
        pytest.skip("needs a second resource (LZ_TEST_SECOND_RESOURCE)")
    src = write_tree(tmp_path / "src", {"x.dat": "replicated", "y/z.dat": "also"})
    rescan(ingest, src, example(tmp_path, "put.py"))
    result = rescan(ingest, src, example(tmp_path, "replica_with_resc_name.py", RESOURCE=resource))
    assert counts(result)["replicated"] == 2
    for rel in ("x.dat", "y/z.dat"):
        replicas = ingest.objects()[f"{ingest.target}/{rel}"].replicas
        assert len(replicas) == 2
        (added,) = [r for r in replicas if r.resource_name == resource]
        assert added.path == str(src / rel)


def test_target_path_records_the_servers_mount_point(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "scanner-mount", {"run/s1.dat": "seen by the scanner"})
    server_view = tmp_path / "server-mount"
    server_view.symlink_to(src)  # the same storage under the server's path
    handler = example(tmp_path, "target_path.py", SCANNER_ROOT=str(src), SERVER_ROOT=str(server_view))
    rescan(ingest, src, handler)
    (replica,) = ingest.objects()[f"{ingest.target}/run/s1.dat"].replicas
    assert replica.path == str(server_view / "run/s1.dat")
    assert content(ingest, f"{ingest.target}/run/s1.dat") == b"seen by the scanner"


@pytest.fixture
def alice_drop(ingest: Ingest) -> Iterator[str]:
    """A fresh name for alice's drop folder; its collection in her home removed afterwards."""
    if ingest.zone.zone != "tempZone" or ingest.zone.rodsuser != "alice":
        pytest.skip("needs the irods-lite zone's user alice")
    name = f"drop-{uuid.uuid4().hex[:8]}"
    yield name
    with ingest.session() as s:
        coll = f"{ingest.zone.home('alice')}/{name}"
        if s.collections.exists(coll):
            s.collections.remove(coll, recurse=True, force=True)


def test_as_user_uploads_each_users_folder_owned_by_that_user(ingest: Ingest, tmp_path: Path, alice_drop: str) -> None:
    src = write_tree(tmp_path / "drops", {f"alice/{alice_drop}/a.txt": "mine", f"alice/{alice_drop}/d/b.txt": "b"})
    home = ingest.zone.home("alice").rsplit("/", 1)[0]
    result = ingest.run(
        "rescan", str(src), home, "--workers", "2", "--event_handler", str(example(tmp_path, "as_user.py"))
    )
    assert result.code == 0, result.out + result.err
    with ingest.session("alice", "alicepass") as s:
        for rel in ("a.txt", "d/b.txt"):
            obj = s.data_objects.get(f"{ingest.zone.home('alice')}/{alice_drop}/{rel}")
            assert obj.owner_name == "alice"


def test_put_using_char_map_renames_and_records_the_original(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"run 1#a.dat": "x", "plain.dat": "y"})
    rescan(ingest, src, example(tmp_path, "put_using_char_map.py"))
    names = {path.rsplit("/", 1)[-1]: obj for path, obj in ingest.objects().items()}
    assert "plain.dat" in names and len(names) == 2
    (mapped,) = [name for name in names if name != "plain.dat"]
    assert mapped.startswith("run_1_a") and not set(" #") & set(mapped)
    assert "irods::automated_ingest::character_map" in avus(names[mapped])


def test_metadata_sets_avus_from_the_file_name(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"seqA_run-7_s01.fastq": "ACGT", "notes.txt": "free form"})
    rescan(ingest, src, example(tmp_path, "metadata.py"))
    objects = ingest.objects()
    assert avus(objects[f"{ingest.target}/seqA_run-7_s01.fastq"]) == {
        "instrument": ("seqA", "from_file_name"),
        "run": ("run-7", "from_file_name"),
        "sample": ("s01", "from_file_name"),
    }
    assert avus(objects[f"{ingest.target}/notes.txt"]) == {}


def test_pre_and_post_job_journal_each_pass(ingest: Ingest, tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    src = write_tree(tmp_path / "src", {"f.txt": "f"})
    handler = example(tmp_path, "pre_and_post_job.py", JOURNAL=str(journal))
    rescan(ingest, src, handler, "--job_name", "journaled")
    rescan(ingest, src, handler, "--job_name", "journaled")
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    assert [line["event"] for line in lines] == ["pre_job", "post_job"] * 2
    assert {(line["job"], line["root"], line["target"]) for line in lines} == {("journaled", str(src), ingest.target)}
