"""--profile: workers write per-batch timing events as JSON lines to the profile file."""

import json
from pathlib import Path

from tests.engine_fixtures import Ingest, write_tree


def test_profile_writes_one_timing_event_per_batch_and_scan(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {f"d{i}/f{j}.txt": "x" for i in range(3) for j in range(5)})
    profile = tmp_path / "profile.jsonl"
    result = ingest.rescan(src, "--profile", "--profile_filename", str(profile), "--files_per_task", "4")
    assert result.code == 0, result.err
    events = [json.loads(line) for line in profile.read_text().splitlines()]
    batches = [e for e in events if e["event"] == "batch_synced"]
    assert sum(e["files"] for e in batches) == 15
    assert all(e["seconds"] >= 0 and e["job"] for e in batches)
    assert sum(e["files"] for e in events if e["event"] == "directories_scanned") == 15


def test_without_profile_no_profile_file_is_written(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.txt": "a"})
    profile = tmp_path / "profile.jsonl"
    assert ingest.rescan(src, "--profile_filename", str(profile)).code == 0
    assert not profile.exists() or profile.read_text() == ""
