"""The main job in its simplest form: a rescan registers a tree in place."""

from pathlib import Path

from tests.engine_fixtures import Ingest, write_tree


def test_rescan_registers_every_file_in_place_with_size_and_mtime(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.txt": "alpha", "sub/b.txt": "bravo!"})
    result = ingest.rescan(src)
    assert result.code == 0, result.err
    objs = ingest.objects()
    a = objs[f"{ingest.target}/a.txt"]
    assert a.size == 5
    assert a.replicas[0].path == str(src / "a.txt")
    assert int(a.modify_time.timestamp()) == int((src / "a.txt").stat().st_mtime)
    assert objs[f"{ingest.target}/sub/b.txt"].size == 6
    assert "registered" in result.out
