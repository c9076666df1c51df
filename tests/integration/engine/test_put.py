"""PUT, PUT_SYNC and PUT_APPEND: bytes go into the vault, the catalog records the source's mtime.

Each test checks the catalog through python-irodsclient: content (open/read), size, modify time and,
with --checksum, the recorded checksum.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.engine_fixtures import Ingest, Result, write_tree

DATA_OBJ_WRITE_AN = 676  # the API number of a write request on an open replica


def handler_file(tmp_path: Path, operation: str, name: str = "handler.py") -> str:
    """A handler file as users of the old framework write it (its imports included)."""
    path = tmp_path / name
    path.write_text(
        "from irods_capability_automated_ingest.core import Core\n"
        "from irods_capability_automated_ingest.utils import Operation\n\n\n"
        "class event_handler(Core):\n"
        "    @staticmethod\n"
        "    def operation(session, meta, **options):\n"
        f"        return Operation.{operation}\n"
    )
    return str(path)


def counts(result: Result) -> dict[str, int]:
    """The summary's counters ("  uploaded   3" lines)."""
    return {m[1]: int(m[2]) for m in re.finditer(r"^\s+([a-z_]+)\s+(\d+)\s*$", result.out, re.M)}


def content(ingest: Ingest, logical: str) -> bytes:
    with ingest.session() as s, s.data_objects.open(logical, "r") as f:
        data: bytes = f.read()
    return data


def data_object(ingest: Ingest, logical: str) -> Any:
    with ingest.session() as s:
        return s.data_objects.get(logical)


def sha2(data: bytes) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def rewrite(path: Path, data: bytes, age: float = 30.0) -> None:
    """Change a source file, giving it a new settled mtime (different from the one written by write_tree)."""
    path.write_bytes(data)
    when = time.time() - age
    os.utime(path, (when, when))


def assert_synced(ingest: Ingest, logical: str, source: Path) -> Any:
    """The object holds the source's bytes, size and (whole-second) mtime."""
    obj = data_object(ingest, logical)
    data = source.read_bytes()
    assert obj.size == len(data)
    assert int(obj.modify_time.timestamp()) == int(source.stat().st_mtime)
    assert content(ingest, logical) == data
    return obj


def vault_of(ingest: Ingest, resource: str) -> str:
    with ingest.session() as s:
        return str(s.resources.get(resource).vault_path)


def test_put_uploads_new_files_into_the_vault(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.txt": "alpha", "sub/b.bin": bytes(range(256)) * 3, "empty": b""})
    result = ingest.rescan(src, "--event_handler", handler_file(tmp_path, "PUT"))
    assert result.code == 0, result.err + result.out
    assert counts(result).get("uploaded") == 3
    vault = vault_of(ingest, "demoResc")
    for rel in ("a.txt", "sub/b.bin", "empty"):
        obj = assert_synced(ingest, f"{ingest.target}/{rel}", src / rel)
        (replica,) = obj.replicas
        assert replica.path.startswith(vault.rstrip("/") + "/"), replica.path
        assert not replica.path.startswith(str(src))
        assert Path(replica.path).read_bytes() == (src / rel).read_bytes()


def test_put_leaves_a_changed_file_alone(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.txt": "original", "b.txt": "other"})
    handler = handler_file(tmp_path, "PUT")
    assert ingest.rescan(src, "--event_handler", handler).code == 0
    rewrite(src / "a.txt", b"changed and longer")
    second = ingest.rescan(src, "--event_handler", handler)
    assert second.code == 0, second.err + second.out
    c = counts(second)
    assert c.get("skipped") == 2
    assert not c.get("uploaded") and not c.get("overwritten")
    obj = data_object(ingest, f"{ingest.target}/a.txt")
    assert content(ingest, obj.path) == b"original"
    assert obj.size == len(b"original")
    assert len(obj.replicas) == 1  # PUT never adds a replica to an existing object


def test_put_sync_uploads_a_changed_file_again(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.txt": "original content", "b.txt": "unchanged"})
    handler = handler_file(tmp_path, "PUT_SYNC")
    assert ingest.rescan(src, "--event_handler", handler).code == 0
    rewrite(src / "a.txt", b"short")
    second = ingest.rescan(src, "--event_handler", handler)
    assert second.code == 0, second.err + second.out
    c = counts(second)
    assert c.get("overwritten") == 1 and c.get("skipped") == 1
    obj = assert_synced(ingest, f"{ingest.target}/a.txt", src / "a.txt")
    assert len(obj.replicas) == 1
    assert Path(obj.replicas[0].path).read_bytes() == b"short"
    assert content(ingest, f"{ingest.target}/b.txt") == b"unchanged"


def test_put_sync_with_checksum_records_the_new_checksum(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.txt": "first version"})
    handler = handler_file(tmp_path, "PUT_SYNC")
    assert ingest.rescan(src, "--event_handler", handler, "--checksum").code == 0
    logical = f"{ingest.target}/a.txt"
    assert data_object(ingest, logical).replicas[0].checksum == sha2(b"first version")
    rewrite(src / "a.txt", b"second version!")
    result = ingest.rescan(src, "--event_handler", handler, "--checksum")
    assert result.code == 0, result.err + result.out
    obj = assert_synced(ingest, logical, src / "a.txt")
    assert obj.replicas[0].checksum == sha2(b"second version!")


def _writes(ingest: Ingest) -> int | None:
    lite = ingest.zone.lite
    return lite.call_counts().get(DATA_OBJ_WRITE_AN, 0) if lite else None


def test_put_append_sends_only_the_new_bytes(ingest: Ingest, tmp_path: Path) -> None:
    big = os.urandom(17 * 1024 * 1024)  # three write requests when uploaded whole
    src = write_tree(tmp_path / "src", {"log.bin": big, "other.txt": "same"})
    handler = handler_file(tmp_path, "PUT_APPEND")
    first = ingest.rescan(src, "--event_handler", handler)
    assert first.code == 0, first.err + first.out
    assert counts(first).get("uploaded") == 2
    lite = ingest.zone.lite
    if lite:
        lite.reset_counts()
    rewrite(src / "log.bin", big + b"more lines\n")
    second = ingest.rescan(src, "--event_handler", handler)
    assert second.code == 0, second.err + second.out
    c = counts(second)
    assert c.get("appended") == 1 and c.get("skipped") == 1
    assert not c.get("uploaded") and not c.get("overwritten")
    if lite:
        assert _writes(ingest) == 1  # 11 bytes in one request, not 17 MiB in three
    obj = data_object(ingest, f"{ingest.target}/log.bin")
    assert obj.size == len(big) + 11
    assert int(obj.modify_time.timestamp()) == int((src / "log.bin").stat().st_mtime)
    assert hashlib.sha256(content(ingest, obj.path)).digest() == hashlib.sha256(big + b"more lines\n").digest()


def test_put_append_with_checksum_verifies_the_appended_object(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"log.txt": "line 1\n"})
    handler = handler_file(tmp_path, "PUT_APPEND")
    assert ingest.rescan(src, "--event_handler", handler, "--checksum").code == 0
    rewrite(src / "log.txt", b"line 1\nline 2\n")
    result = ingest.rescan(src, "--event_handler", handler, "--checksum")
    assert result.code == 0, result.err + result.out
    assert counts(result).get("appended") == 1
    obj = assert_synced(ingest, f"{ingest.target}/log.txt", src / "log.txt")
    assert obj.replicas[0].checksum == sha2(b"line 1\nline 2\n")


def test_put_append_after_truncation_uploads_the_whole_file(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"log.txt": "a long first version of the log\n"})
    handler = handler_file(tmp_path, "PUT_APPEND")
    assert ingest.rescan(src, "--event_handler", handler).code == 0
    rewrite(src / "log.txt", b"restarted\n")
    second = ingest.rescan(src, "--event_handler", handler)
    assert second.code == 0, second.err + second.out
    c = counts(second)
    assert c.get("overwritten") == 1 and not c.get("appended")
    assert_synced(ingest, f"{ingest.target}/log.txt", src / "log.txt")
    # it grows again from the new start: an append, and still not corrupted
    rewrite(src / "log.txt", b"restarted\nand grew\n", age=20)
    third = ingest.rescan(src, "--event_handler", handler)
    assert third.code == 0, third.err + third.out
    assert counts(third).get("appended") == 1
    assert_synced(ingest, f"{ingest.target}/log.txt", src / "log.txt")


def test_put_append_truncated_then_grown_past_the_old_size_is_not_corrupted(ingest: Ingest, tmp_path: Path) -> None:
    """Rewritten between passes and now longer than before: the old bytes must not be kept."""
    src = write_tree(tmp_path / "src", {"log.txt": "AAAAAAAAAA"})
    handler = handler_file(tmp_path, "PUT_APPEND")
    assert ingest.rescan(src, "--event_handler", handler).code == 0
    rewrite(src / "log.txt", b"BBBBBBBBBBBBBBB")
    second = ingest.rescan(src, "--event_handler", handler)
    assert second.code == 0, second.err + second.out
    assert_synced(ingest, f"{ingest.target}/log.txt", src / "log.txt")
    assert content(ingest, f"{ingest.target}/log.txt") == b"BBBBBBBBBBBBBBB"


def test_put_append_same_size_rewrite_uploads_the_whole_file(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"data.txt": "0123456789"})
    handler = handler_file(tmp_path, "PUT_APPEND")
    assert ingest.rescan(src, "--event_handler", handler).code == 0
    rewrite(src / "data.txt", b"abcdefghij")
    second = ingest.rescan(src, "--event_handler", handler)
    assert second.code == 0, second.err + second.out
    c = counts(second)
    assert c.get("overwritten") == 1 and not c.get("appended")
    assert_synced(ingest, f"{ingest.target}/data.txt", src / "data.txt")


def test_put_of_a_40_mib_file_is_byte_identical(ingest: Ingest, tmp_path: Path) -> None:
    data = os.urandom(40 * 1024 * 1024)
    src = write_tree(tmp_path / "src", {"big.bin": data})
    result = ingest.rescan(src, "--event_handler", handler_file(tmp_path, "PUT"), "--checksum")
    assert result.code == 0, result.err + result.out
    obj = data_object(ingest, f"{ingest.target}/big.bin")
    assert obj.size == len(data)
    assert obj.replicas[0].checksum == sha2(data)
    with ingest.session() as s, s.data_objects.open(obj.path, "r") as f:
        digest = hashlib.sha256()
        while block := f.read(8 * 1024 * 1024):
            digest.update(block)
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()
    assert hashlib.sha256(Path(obj.replicas[0].path).read_bytes()).digest() == hashlib.sha256(data).digest()


@pytest.mark.parametrize("operation", ["PUT", "PUT_SYNC", "PUT_APPEND"])
def test_second_pass_after_put_changes_nothing(ingest: Ingest, tmp_path: Path, operation: str) -> None:
    src = write_tree(tmp_path / "src", {"a.txt": "alpha", "sub/b.txt": "bravo", "sub/deeper/c.txt": "charlie"})
    handler = handler_file(tmp_path, operation)
    first = ingest.rescan(src, "--event_handler", handler)
    assert first.code == 0, first.err + first.out
    for rel in ("a.txt", "sub/b.txt", "sub/deeper/c.txt"):
        assert_synced(ingest, f"{ingest.target}/{rel}", src / rel)
    lite = ingest.zone.lite
    if lite:
        lite.reset_counts()
    second = ingest.rescan(src, "--event_handler", handler)
    assert second.code == 0, second.err + second.out
    c = counts(second)
    assert c.get("skipped") == 3
    for name in ("uploaded", "overwritten", "appended", "collections_created", "failed"):
        assert not c.get(name), (name, second.out)
    if lite:
        assert _writes(ingest) == 0


@pytest.mark.parametrize("operation", ["PUT_SYNC", "PUT_APPEND"])
def test_a_checksum_recorded_earlier_never_describes_old_content(
    ingest: Ingest, tmp_path: Path, operation: str
) -> None:
    """First pass with --checksum, second without: the replica's checksum is the new one or none, never stale."""
    src = write_tree(tmp_path / "src", {"log.txt": "line 1\n"})
    handler = handler_file(tmp_path, operation)
    assert ingest.rescan(src, "--event_handler", handler, "--checksum").code == 0
    logical = f"{ingest.target}/log.txt"
    assert data_object(ingest, logical).replicas[0].checksum == sha2(b"line 1\n")
    rewrite(src / "log.txt", b"line 1\nline 2\n")
    result = ingest.rescan(src, "--event_handler", handler)
    assert result.code == 0, result.err + result.out
    obj = assert_synced(ingest, logical, src / "log.txt")
    assert obj.replicas[0].checksum in ("", None, sha2(b"line 1\nline 2\n"))


def test_put_append_with_checksum_detects_a_rewritten_start(ingest: Ingest, tmp_path: Path) -> None:
    """The recorded checksum covers the whole old content: a changed first byte means a full upload."""
    old = os.urandom(200 * 1024)
    src = write_tree(tmp_path / "src", {"log.bin": old})
    handler = handler_file(tmp_path, "PUT_APPEND")
    assert ingest.rescan(src, "--event_handler", handler, "--checksum").code == 0
    new = b"X" + old[1:] + b"appended"
    rewrite(src / "log.bin", new)
    result = ingest.rescan(src, "--event_handler", handler, "--checksum")
    assert result.code == 0, result.err + result.out
    assert not counts(result).get("appended")
    obj = assert_synced(ingest, f"{ingest.target}/log.bin", src / "log.bin")
    assert obj.replicas[0].checksum == sha2(new)


def test_put_append_detects_a_rewritten_start_without_checksums(ingest: Ingest, tmp_path: Path) -> None:
    """No checksum recorded: the start of the object is compared too, not only the bytes before the end."""
    old = os.urandom(200 * 1024)
    src = write_tree(tmp_path / "src", {"log.bin": old})
    handler = handler_file(tmp_path, "PUT_APPEND")
    assert ingest.rescan(src, "--event_handler", handler).code == 0
    new = b"X" + old[1:] + b"appended"
    rewrite(src / "log.bin", new)
    result = ingest.rescan(src, "--event_handler", handler)
    assert result.code == 0, result.err + result.out
    assert_synced(ingest, f"{ingest.target}/log.bin", src / "log.bin")


def test_put_into_a_named_resource_uses_its_vault(ingest: Ingest, tmp_path: Path) -> None:
    resource = ingest.zone.second_resource
    if resource is None:
        pytest.skip("needs LZ_TEST_SECOND_RESOURCE")
    path = tmp_path / "handler.py"
    path.write_text(
        "from irods_capability_automated_ingest.core import Core\n"
        "from irods_capability_automated_ingest.utils import Operation\n\n\n"
        "class event_handler(Core):\n"
        "    @staticmethod\n"
        "    def operation(session, meta, **options):\n"
        "        return Operation.PUT_SYNC\n\n"
        "    @staticmethod\n"
        "    def to_resource(session, meta, **options):\n"
        f"        return {resource!r}\n"
    )
    src = write_tree(tmp_path / "src", {"a.txt": "alpha"})
    result = ingest.rescan(src, "--event_handler", str(path))
    assert result.code == 0, result.err + result.out
    obj = assert_synced(ingest, f"{ingest.target}/a.txt", src / "a.txt")
    (replica,) = obj.replicas
    assert replica.resource_name == resource
    assert replica.path.startswith(vault_of(ingest, resource).rstrip("/") + "/")
    rewrite(src / "a.txt", b"alpha two")
    again = ingest.rescan(src, "--event_handler", str(path))
    assert again.code == 0, again.err + again.out
    obj = assert_synced(ingest, f"{ingest.target}/a.txt", src / "a.txt")
    assert [r.resource_name for r in obj.replicas] == [resource]
