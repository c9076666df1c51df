"""Acceptance: --checksum (sha2 recorded, content changes found behind an unchanged size+mtime) and --dry-run."""

from __future__ import annotations

import os
from pathlib import Path

from tests.engine_fixtures import Ingest, write_tree

from .test_register import counts, sha2


def test_checksum_records_the_files_sha2(ingest: Ingest, tmp_path: Path) -> None:
    big = os.urandom(9 * 1024 * 1024)  # more than one 8 MiB read
    src = write_tree(tmp_path / "src", {"c1.txt": "checksummed", "sub/c2.bin": big, "empty": b""})
    result = ingest.rescan(src, "--checksum")
    assert result.code == 0, result.out + result.err
    assert counts(result)["registered"] == 3
    objs = ingest.objects()
    for rel in ("c1.txt", "sub/c2.bin", "empty"):
        obj = objs[f"{ingest.target}/{rel}"]
        assert obj.replicas[0].path == str(src / rel)
        assert obj.checksum == sha2(src / rel)
        assert obj.replicas[0].checksum == sha2(src / rel)
    # the local sha2 agrees with the recorded one: nothing changes on a second --checksum pass
    again = ingest.rescan(src, "--checksum")
    assert again.code == 0, again.out + again.err
    assert counts(again)["skipped"] == 3
    assert not {"registered", "updated"} & set(counts(again))


def test_changed_file_without_checksum_drops_the_stale_checksum(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"stale.txt": "old content"})
    assert ingest.rescan(src, "--checksum").code == 0
    (src / "stale.txt").write_text("new and longer content")
    os.utime(src / "stale.txt", (1_600_000_000, 1_600_000_000))
    result = ingest.rescan(src)
    assert result.code == 0, result.out + result.err
    assert counts(result)["updated"] == 1
    obj = ingest.objects()[f"{ingest.target}/stale.txt"]
    assert obj.size == len("new and longer content")
    assert not obj.checksum  # it described the old content


def test_without_checksum_nothing_is_recorded(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"plain.txt": "plain"})
    assert ingest.rescan(src).code == 0
    assert not ingest.objects()[f"{ingest.target}/plain.txt"].checksum


def test_same_size_and_mtime_content_change_is_found_only_with_checksum(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"same.txt": "AAAAAAAA", "other.txt": "untouched"})
    first = ingest.rescan(src, "--checksum")
    assert first.code == 0, first.out + first.err
    path = src / "same.txt"
    old_sum = sha2(path)
    stat = path.stat()
    path.write_text("BBBBBBBB")  # same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same mtime
    assert sha2(path) != old_sum

    without = ingest.rescan(src)
    assert without.code == 0, without.out + without.err
    assert counts(without)["skipped"] == 2
    assert "updated" not in counts(without)
    assert ingest.objects()[f"{ingest.target}/same.txt"].checksum == old_sum

    with_checksum = ingest.rescan(src, "--checksum")
    assert with_checksum.code == 0, with_checksum.out + with_checksum.err
    c = counts(with_checksum)
    assert c["updated"] == 1
    assert c["skipped"] == 1
    obj = ingest.objects()[f"{ingest.target}/same.txt"]
    assert obj.checksum == sha2(path)
    assert obj.size == 8
    assert int(obj.modify_time.timestamp()) == int(stat.st_mtime)
    assert ingest.objects()[f"{ingest.target}/other.txt"].checksum == sha2(src / "other.txt")

    again = ingest.rescan(src, "--checksum")
    assert again.code == 0, again.out + again.err
    assert counts(again)["skipped"] == 2
    assert "updated" not in counts(again)


def test_dry_run_reports_and_writes_nothing(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"d1.txt": "dry", "d2.txt": "run", "sub/d3.txt": "three"})
    result = ingest.rescan(src, "--dry-run")
    assert result.code == 0, result.out + result.err
    c = counts(result)
    assert c["would_register"] == 3
    assert "registered" not in c
    assert "collections_created" not in c
    with ingest.session() as s:
        assert not s.collections.exists(ingest.target)


def test_dry_run_after_a_change_reports_the_update_only(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"keep.txt": "keep", "grow.txt": "grow"})
    assert ingest.rescan(src).code == 0
    before = {p: (o.size, o.modify_time) for p, o in ingest.objects().items()}
    (src / "grow.txt").write_text("grown a lot")
    os.utime(src / "grow.txt", (1_600_000_000, 1_600_000_000))
    write_tree(src, {"new.txt": "new"})
    result = ingest.rescan(src, "--dry-run")
    assert result.code == 0, result.out + result.err
    c = counts(result)
    assert c["would_update"] == 1
    assert c["would_register"] == 1
    assert c["skipped"] == 1
    assert not {"registered", "updated"} & set(c)
    after = {p: (o.size, o.modify_time) for p, o in ingest.objects().items()}
    assert after == before


def test_dry_run_with_checksum_reports_content_changes(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"same.txt": "AAAA", "other.txt": "untouched"})
    assert ingest.rescan(src, "--checksum").code == 0
    stat = (src / "same.txt").stat()
    (src / "same.txt").write_text("BBBB")
    os.utime(src / "same.txt", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    result = ingest.rescan(src, "--checksum", "--dry-run")
    assert result.code == 0, result.out + result.err
    c = counts(result)
    assert c["would_update"] == 1
    assert c["skipped"] == 1
    assert "would_skip" not in c
    assert ingest.objects()[f"{ingest.target}/same.txt"].checksum != sha2(src / "same.txt")


def same_size_same_mtime_rewrite(path: Path, data: str) -> None:
    stat = path.stat()
    path.write_text(data)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_a_checksum_pass_records_a_checksum_the_catalog_lacks_then_catches_a_rewrite(
    ingest: Ingest, tmp_path: Path
) -> None:
    src = write_tree(tmp_path / "src", {"r1.txt": "AAAA", "sub/r2.txt": "BBBB"})
    assert ingest.rescan(src).code == 0  # registered without checksums
    assert not ingest.objects()[f"{ingest.target}/r1.txt"].checksum
    recorded = ingest.rescan(src, "--checksum")
    assert recorded.code == 0, recorded.out + recorded.err
    assert counts(recorded)["checksum_recorded"] == 2
    for rel in ("r1.txt", "sub/r2.txt"):
        assert ingest.objects()[f"{ingest.target}/{rel}"].checksum == sha2(src / rel)
    same_size_same_mtime_rewrite(src / "r1.txt", "CCCC")
    caught = ingest.rescan(src, "--checksum")
    assert caught.code == 0, caught.out + caught.err
    assert counts(caught)["updated"] == 1 and counts(caught)["skipped"] == 1
    assert ingest.objects()[f"{ingest.target}/r1.txt"].checksum == sha2(src / "r1.txt")


def test_a_checksum_pass_verifies_uploaded_objects_that_lack_one(ingest: Ingest, tmp_path: Path) -> None:
    from .test_put import content, handler_file

    src = write_tree(tmp_path / "src", {"kept.txt": "1111", "stale.txt": "2222"})
    handler = handler_file(tmp_path, "PUT_SYNC")
    assert ingest.rescan(src, "--event_handler", handler).code == 0  # uploaded without checksums
    same_size_same_mtime_rewrite(src / "stale.txt", "3333")  # the zone now holds bytes the source lost
    result = ingest.rescan(src, "--event_handler", handler, "--checksum")
    assert result.code == 0, result.out + result.err
    assert counts(result)["checksum_recorded"] == 1 and counts(result)["overwritten"] == 1
    for rel in ("kept.txt", "stale.txt"):
        assert ingest.objects()[f"{ingest.target}/{rel}"].checksum == sha2(src / rel)
    assert content(ingest, f"{ingest.target}/stale.txt") == b"3333"
    same_size_same_mtime_rewrite(src / "kept.txt", "4444")
    again = ingest.rescan(src, "--event_handler", handler, "--checksum")
    assert counts(again)["overwritten"] == 1 and content(ingest, f"{ingest.target}/kept.txt") == b"4444"
