"""Delete modes: what a pass does to catalog entries whose source is gone, and when it refuses to.

Every delete test ingests a tree, removes part of it, and runs a second pass; the catalog is then
checked through python-irodsclient. Incompatible operation / delete-mode pairs are refused before
anything is written.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from lz_ingest.model import DeleteMode, Operation, is_compatible
from tests.engine_fixtures import Ingest, Result, write_tree


def handler_file(tmp_path: Path, operation: str, delete_mode: str, extra: str = "", name: str = "handler.py") -> str:
    """A handler file as users of the old framework write it (its imports included)."""
    path = tmp_path / name
    path.write_text(
        "from irods_capability_automated_ingest.core import Core\n"
        "from irods_capability_automated_ingest.utils import DeleteMode, Operation\n\n\n"
        "class event_handler(Core):\n"
        "    @staticmethod\n"
        "    def operation(session, meta, **options):\n"
        f"        return Operation.{operation}\n\n"
        "    @staticmethod\n"
        "    def delete_mode(meta):\n"
        f"        return DeleteMode.{delete_mode}\n" + extra
    )
    return str(path)


def counts(result: Result) -> dict[str, int]:
    """The summary's counters ("  deleted_trash   3" lines)."""
    return {m[1]: int(m[2]) for m in re.finditer(r"^\s+([a-z_]+)\s+(\d+)\s*$", result.out, re.M)}


def exists(ingest: Ingest, logical: str) -> bool:
    with ingest.session() as s:
        return bool(s.data_objects.exists(logical))


def collection_exists(ingest: Ingest, logical: str) -> bool:
    with ingest.session() as s:
        return bool(s.collections.exists(logical))


def read(ingest: Ingest, logical: str) -> bytes:
    with ingest.session() as s, s.data_objects.open(logical, "r") as f:
        data: bytes = f.read()
    return data


def trash_of(ingest: Ingest, logical: str) -> str:
    """Where the server's trash policy puts an object removed by `irm` (/zone/trash/home/<user>/...)."""
    zone = ingest.zone.zone
    return f"/{zone}/trash{logical[len(zone) + 1 :]}"


@pytest.fixture
def clean_trash(ingest: Ingest) -> object:
    yield None
    with ingest.session() as s:
        trashed = trash_of(ingest, ingest.target)
        if s.collections.exists(trashed):
            s.collections.remove(trashed, recurse=True, force=True)


def passes(ingest: Ingest, src: Path, *args: str) -> Result:
    result = ingest.rescan(src, *args)
    assert result.code == 0, result.err + result.out
    return result


FILES = {f"f{i}.txt": f"file {i}" for i in range(6)} | {"sub/s1.txt": "s one", "sub/deep/s2.txt": "s two"}


# ---- each delete mode --------------------------------------------------------------------------


def test_unregister_removes_the_catalog_entry_and_keeps_the_file(ingest: Ingest, tmp_path: Path) -> None:
    """REGISTER_SYNC + UNREGISTER: the physical file (here a server-side copy named by target_path) stays."""
    src = write_tree(tmp_path / "src", FILES)
    mirror = tmp_path / "mirror"
    shutil.copytree(src, mirror)
    extra = (
        "\n    @staticmethod\n"
        "    def target_path(session, meta, **options):\n"
        f"        return meta['path'].replace({str(src)!r}, {str(mirror)!r}, 1)\n"
    )
    handler = handler_file(tmp_path, "REGISTER_SYNC", "UNREGISTER", extra)
    passes(ingest, src, "--event_handler", handler)
    obj = f"{ingest.target}/f0.txt"
    with ingest.session() as s:
        assert s.data_objects.get(obj).replicas[0].path == str(mirror / "f0.txt")
    (src / "f0.txt").unlink()
    shutil.rmtree(src / "sub")
    result = passes(ingest, src, "--event_handler", handler)
    assert counts(result).get("deleted_unregister") == 2  # f0.txt and the collection sub
    assert not exists(ingest, obj)
    assert not collection_exists(ingest, f"{ingest.target}/sub")
    assert (mirror / "f0.txt").read_text() == "file 0"
    assert (mirror / "sub/deep/s2.txt").read_text() == "s two"
    assert not exists(ingest, trash_of(ingest, obj))
    assert not collection_exists(ingest, trash_of(ingest, f"{ingest.target}/sub"))
    assert read(ingest, f"{ingest.target}/f1.txt") == b"file 1"


def test_trash_moves_the_object_to_the_trash(ingest: Ingest, tmp_path: Path, clean_trash: object) -> None:
    src = write_tree(tmp_path / "src", FILES)
    handler = handler_file(tmp_path, "PUT_SYNC", "TRASH")
    passes(ingest, src, "--event_handler", handler)
    obj = f"{ingest.target}/f0.txt"
    (src / "f0.txt").unlink()
    shutil.rmtree(src / "sub")
    result = passes(ingest, src, "--event_handler", handler)
    assert counts(result).get("deleted_trash") == 2
    assert not exists(ingest, obj)
    assert not collection_exists(ingest, f"{ingest.target}/sub")
    trashed = trash_of(ingest, obj)
    assert trashed.startswith(f"/{ingest.zone.zone}/trash/home/{ingest.zone.admin}/")
    assert read(ingest, trashed) == b"file 0"
    assert read(ingest, trash_of(ingest, f"{ingest.target}/sub/deep/s2.txt")) == b"s two"
    assert read(ingest, f"{ingest.target}/f1.txt") == b"file 1"


def test_no_trash_removes_the_object_and_its_vault_file(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", FILES)
    handler = handler_file(tmp_path, "PUT_SYNC", "NO_TRASH")
    passes(ingest, src, "--event_handler", handler)
    obj = f"{ingest.target}/f0.txt"
    with ingest.session() as s:
        vault_file = Path(s.data_objects.get(obj).replicas[0].path)
        deep_file = Path(s.data_objects.get(f"{ingest.target}/sub/deep/s2.txt").replicas[0].path)
    assert vault_file.exists() and deep_file.exists()
    (src / "f0.txt").unlink()
    shutil.rmtree(src / "sub")
    result = passes(ingest, src, "--event_handler", handler)
    assert counts(result).get("deleted_no_trash") == 2
    assert not exists(ingest, obj)
    assert not collection_exists(ingest, f"{ingest.target}/sub")
    assert not exists(ingest, trash_of(ingest, obj))
    assert not vault_file.exists() and not deep_file.exists()
    assert read(ingest, f"{ingest.target}/f1.txt") == b"file 1"


@pytest.mark.parametrize("operation", ["PUT_SYNC", "REGISTER_SYNC"])
def test_do_not_delete_keeps_everything(ingest: Ingest, tmp_path: Path, operation: str) -> None:
    src = write_tree(tmp_path / "src", FILES)
    handler = handler_file(tmp_path, operation, "DO_NOT_DELETE")
    passes(ingest, src, "--event_handler", handler)
    before = set(ingest.objects())
    (src / "f0.txt").unlink()
    shutil.rmtree(src / "sub")
    result = passes(ingest, src, "--event_handler", handler)
    assert not any(k.startswith("deleted") for k in counts(result))
    assert set(ingest.objects()) == before
    if operation == "PUT_SYNC":
        assert read(ingest, f"{ingest.target}/f0.txt") == b"file 0"


def test_delete_mode_of_the_default_handler_keeps_everything(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.txt": "a", "b.txt": "b", "c.txt": "c"})
    passes(ingest, src)
    (src / "a.txt").unlink()
    passes(ingest, src)
    assert set(ingest.objects()) == {f"{ingest.target}/{n}" for n in ("a.txt", "b.txt", "c.txt")}


def test_the_root_collection_is_never_removed(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.txt": "a", "b.txt": "b", "sub/c.txt": "c"})
    (src / "empty").mkdir()
    handler = handler_file(tmp_path, "PUT_SYNC", "NO_TRASH")
    passes(ingest, src, "--event_handler", handler)
    for rel in ("a.txt", "b.txt"):
        (src / rel).unlink()
    shutil.rmtree(src / "sub")
    result = passes(ingest, src, "--event_handler", handler, "--max-delete", "1.0")
    assert counts(result).get("deleted_no_trash") == 3
    assert collection_exists(ingest, ingest.target)
    assert collection_exists(ingest, f"{ingest.target}/empty")
    assert ingest.objects() == {}


def test_excluded_files_are_never_deleted(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.txt": "a", "b.log": "b", "sub/c.log": "c", "sub/d.txt": "d"})
    handler = handler_file(tmp_path, "PUT_SYNC", "NO_TRASH")
    passes(ingest, src, "--event_handler", handler)
    assert len(ingest.objects()) == 4
    result = passes(ingest, src, "--event_handler", handler, "--exclude_file_name", r".*\.log$")
    assert counts(result).get("excluded") == 2
    assert not any(k.startswith("deleted") for k in counts(result))
    assert set(ingest.objects()) == {f"{ingest.target}/{n}" for n in ("a.txt", "b.log", "sub/c.log", "sub/d.txt")}
    assert read(ingest, f"{ingest.target}/sub/c.log") == b"c"


def test_excluded_directories_are_never_deleted(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.txt": "a", "b.txt": "b", "cache/c.txt": "c"})
    handler = handler_file(tmp_path, "PUT_SYNC", "NO_TRASH")
    passes(ingest, src, "--event_handler", handler)
    result = passes(ingest, src, "--event_handler", handler, "--exclude_directory_name", r".*/cache$")
    assert not any(k.startswith("deleted") for k in counts(result))
    assert exists(ingest, f"{ingest.target}/cache/c.txt")


def test_an_unreadable_symlink_is_not_deleted(ingest: Ingest, tmp_path: Path) -> None:
    """--follow-symlinks: a link whose target vanished cannot be read; its object is kept, the path reported."""
    src = write_tree(tmp_path / "src", {"a.txt": "a", "b.txt": "b", "c.txt": "c"})
    elsewhere = write_tree(tmp_path / "elsewhere", {"target.txt": "linked"})
    (src / "link.txt").symlink_to(elsewhere / "target.txt")
    handler = handler_file(tmp_path, "PUT_SYNC", "NO_TRASH")
    passes(ingest, src, "--event_handler", handler, "--follow-symlinks")
    assert read(ingest, f"{ingest.target}/link.txt") == b"linked"
    (elsewhere / "target.txt").unlink()
    result = ingest.rescan(src, "--event_handler", handler, "--follow-symlinks", "--max-delete", "1.0")
    assert result.code == 1, result.out  # the dangling link is a reported problem
    assert str(src / "link.txt") in result.out
    assert not any(k.startswith("deleted") for k in counts(result))
    assert read(ingest, f"{ingest.target}/link.txt") == b"linked"


def test_a_directory_that_cannot_be_listed_keeps_its_objects(ingest: Ingest, tmp_path: Path) -> None:
    """A sub-directory listed as such by its parent but unreadable when its own scan runs (permissions,
    I/O error, replaced meanwhile): nothing under it is deleted. Running as root, permissions do not stop
    a listing, so the handler replaces the directory by a file while the parent's scan asks for the
    operation of a file beside it (after the parent was listed, before the sub-directory's scan)."""
    src = write_tree(tmp_path / "src", {"a.txt": "a", "sub/x.txt": "x", "sub/y.txt": "y"})
    sub = src / "sub"
    extra = (
        "\n\nimport os, shutil\n"
        "_operation = event_handler.operation\n\n\n"
        "def _replacing(session, meta, **options):\n"
        f"    if meta['path'].endswith('/a.txt') and os.path.exists({str(tmp_path / 'armed')!r}):\n"
        f"        if os.path.isdir({str(sub)!r}):\n"
        f"            shutil.rmtree({str(sub)!r})\n"
        f"            open({str(sub)!r}, 'w').close()\n"
        "    return _operation(session, meta, **options)\n\n\n"
        "event_handler.operation = staticmethod(_replacing)\n"
    )
    handler = handler_file(tmp_path, "PUT_SYNC", "NO_TRASH", extra)
    passes(ingest, src, "--event_handler", handler)
    (tmp_path / "armed").touch()
    result = ingest.rescan(src, "--event_handler", handler, "--max-delete", "1.0")
    assert sub.is_file(), "the handler did not replace the directory"
    assert not any(k.startswith("deleted") for k in counts(result)), result.out
    assert read(ingest, f"{ingest.target}/sub/x.txt") == b"x"
    assert read(ingest, f"{ingest.target}/sub/y.txt") == b"y"


# ---- refused pairs ------------------------------------------------------------------------------

INCOMPATIBLE = [(op, mode) for op in Operation for mode in DeleteMode if not is_compatible(op, mode)]


def test_the_table_of_incompatible_pairs() -> None:
    """seed-behaviour.md: which operation / delete-mode pairs are refused."""
    assert {(op.name, mode.name) for op, mode in INCOMPATIBLE} == {
        ("NO_OP", "UNREGISTER"),
        ("NO_OP", "TRASH"),
        ("NO_OP", "NO_TRASH"),
        ("REGISTER_SYNC", "TRASH"),
        ("REGISTER_SYNC", "NO_TRASH"),
        ("REGISTER_AS_REPLICA_SYNC", "TRASH"),
        ("REGISTER_AS_REPLICA_SYNC", "NO_TRASH"),
        ("PUT", "UNREGISTER"),
        ("PUT", "TRASH"),
        ("PUT", "NO_TRASH"),
        ("PUT_SYNC", "UNREGISTER"),
        ("PUT_APPEND", "UNREGISTER"),
    }


@pytest.mark.parametrize(("operation", "mode"), INCOMPATIBLE, ids=lambda v: v.name)
def test_an_incompatible_pair_is_refused_before_anything_is_written(
    ingest: Ingest, tmp_path: Path, operation: Operation, mode: DeleteMode
) -> None:
    src = write_tree(tmp_path / "src", {"a.txt": "a", "sub/b.txt": "b"})
    result = ingest.rescan(src, "--event_handler", handler_file(tmp_path, operation.name, mode.name))
    assert result.code == 2, result.out + result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert operation.name in lines[0] and mode.name in lines[0]
    assert not collection_exists(ingest, ingest.target)
    assert "started" not in result.err and result.out.strip() == ""


def test_a_per_path_delete_mode_incompatible_with_the_operation_is_refused(ingest: Ingest, tmp_path: Path) -> None:
    """The pair is checked for the root before the job starts; a handler may answer differently per path.
    Unregistering an object PUT into the vault would orphan its vault file: that path fails, nothing else."""
    src = write_tree(tmp_path / "src", FILES)
    extra = (
        "\n\n_mode = event_handler.delete_mode\n\n\n"
        "def _per_path(meta):\n"
        "    return DeleteMode.UNREGISTER if meta['target'].endswith('/f0.txt') else _mode(meta)\n\n\n"
        "event_handler.delete_mode = staticmethod(_per_path)\n"
    )
    handler = handler_file(tmp_path, "PUT_SYNC", "NO_TRASH", extra)
    passes(ingest, src, "--event_handler", handler)
    with ingest.session() as s:
        vault_file = Path(s.data_objects.get(f"{ingest.target}/f0.txt").replicas[0].path)
    (src / "f0.txt").unlink()
    (src / "f1.txt").unlink()
    result = ingest.rescan(src, "--event_handler", handler)
    assert result.code == 1, result.out + result.err
    assert re.search(r"FAILED .*/f0\.txt: .*PUT_SYNC.*UNREGISTER", result.out), result.out
    assert counts(result).get("deleted_no_trash") == 1
    assert not exists(ingest, f"{ingest.target}/f1.txt")
    assert read(ingest, f"{ingest.target}/f0.txt") == b"file 0"
    assert vault_file.exists()


# ---- safety -------------------------------------------------------------------------------------


def test_an_empty_source_root_deletes_nothing(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", FILES)
    handler = handler_file(tmp_path, "PUT_SYNC", "NO_TRASH")
    passes(ingest, src, "--event_handler", handler)
    before = set(ingest.objects())
    for child in src.iterdir():
        shutil.rmtree(child) if child.is_dir() else child.unlink()
    result = ingest.rescan(src, "--event_handler", handler, "--max-delete", "1.0")
    assert result.code == 1, result.out + result.err
    assert re.search(r"refusing to delete .*empty", result.out), result.out
    assert not any(k.startswith("deleted") for k in counts(result))
    assert set(ingest.objects()) == before
    assert read(ingest, f"{ingest.target}/sub/deep/s2.txt") == b"s two"


def test_more_than_max_delete_vanishing_at_once_deletes_nothing(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {f"f{i}.txt": str(i) for i in range(10)})
    handler = handler_file(tmp_path, "PUT_SYNC", "NO_TRASH")
    passes(ingest, src, "--event_handler", handler)
    for i in range(4):
        (src / f"f{i}.txt").unlink()
    refused = ingest.rescan(src, "--event_handler", handler, "--max-delete", "0.3")
    assert refused.code == 1, refused.out + refused.err
    assert "--max-delete" in refused.out and "4 of 10" in refused.out, refused.out
    assert len(ingest.objects()) == 10
    allowed = passes(ingest, src, "--event_handler", handler, "--max-delete", "0.5")
    assert counts(allowed).get("deleted_no_trash") == 4
    assert set(ingest.objects()) == {f"{ingest.target}/f{i}.txt" for i in range(4, 10)}


def test_a_vanished_directory_counts_as_everything_under_it(ingest: Ingest, tmp_path: Path) -> None:
    """One vanished directory of 12 objects beside 2 kept files is 1 of 3 entries but 12 of 14 objects:
    the default --max-delete (0.5) refuses it, so an unmounted sub-filesystem never empties its collection."""
    files = {"keep1.txt": "k", "keep2.txt": "k"} | {f"mount/d{i}.txt": str(i) for i in range(12)}
    src = write_tree(tmp_path / "src", files)
    handler = handler_file(tmp_path, "PUT_SYNC", "NO_TRASH")
    passes(ingest, src, "--event_handler", handler)
    shutil.rmtree(src / "mount")
    refused = ingest.rescan(src, "--event_handler", handler)
    assert refused.code == 1, refused.out + refused.err
    assert "12 of 14 data objects" in refused.out, refused.out
    assert len(ingest.objects()) == 14


def test_a_missing_source_root_is_refused(ingest: Ingest, tmp_path: Path) -> None:
    handler = handler_file(tmp_path, "PUT_SYNC", "NO_TRASH")
    missing = tmp_path / "not-mounted"
    result = ingest.rescan(missing, "--event_handler", handler)
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and str(missing) in lines[0], result.err
    assert not collection_exists(ingest, ingest.target)


def test_a_source_root_gone_after_a_first_pass_deletes_nothing(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.txt": "a", "b.txt": "b"})
    handler = handler_file(tmp_path, "PUT_SYNC", "NO_TRASH")
    passes(ingest, src, "--event_handler", handler)
    shutil.rmtree(src)
    result = ingest.rescan(src, "--event_handler", handler, "--max-delete", "1.0")
    assert result.code == 2, result.out + result.err
    assert len(ingest.objects()) == 2
    assert os.path.basename(src) in result.err
