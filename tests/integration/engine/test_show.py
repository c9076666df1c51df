"""`lz-ingest show PATH`: the catalog's entry for a source path, what the next pass would do, its last failure."""

from __future__ import annotations

import os
from pathlib import Path

from tests.engine_fixtures import Ingest, write_tree

from .test_hooks_failures import RAISING_HOOK, handler_file


def test_show_tells_the_catalog_entry_and_that_the_next_pass_skips_it(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"run/a.dat": "alpha"})
    assert ingest.rescan(src, "--job_name", "shown").code == 0
    shown = ingest.run("show", str(src / "run/a.dat"))
    assert shown.code == 0, shown.err
    lines = shown.out.splitlines()
    assert f"logical path {ingest.target}/run/a.dat" in lines
    assert "catalog      a data object, 1 replica" in lines
    assert any(line.startswith("  replica 0 ") and line.endswith(str(src / "run/a.dat")) for line in lines)
    assert any(line.startswith("next pass    skip (REGISTER_SYNC)") for line in lines), shown.out
    assert "last failure none" in lines


def test_show_tells_a_change_the_next_pass_will_record(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"b.dat": "bravo"})
    assert ingest.rescan(src, "--job_name", "changing").code == 0
    (src / "b.dat").write_text("bravo, longer now")
    os.utime(src / "b.dat", (1_700_000_000, 1_700_000_000))
    shown = ingest.run("show", str(src / "b.dat"), "--job", "changing")
    assert shown.code == 0, shown.err
    assert "next pass    update (REGISTER_SYNC): source changed: update size and mtime" in shown.out.splitlines()


def test_show_gives_the_last_failure_of_the_path(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"good.txt": "g", "bad.txt": "b"})
    handler = handler_file(tmp_path, RAISING_HOOK)
    assert ingest.rescan(src, "--event_handler", str(handler), "--job_name", "failing").code == 1
    shown = ingest.run("show", str(src / "bad.txt"))
    assert shown.code == 0, shown.err
    (line,) = [line for line in shown.out.splitlines() if line.startswith("last failure ")]
    assert "sample sheet missing" in line and "(attempts: 1)" in line
    assert "last failure none" in ingest.run("show", str(src / "good.txt")).out


def test_show_of_a_path_no_job_holds_is_one_line(ingest: Ingest, tmp_path: Path) -> None:
    stray = write_tree(tmp_path / "elsewhere", {"x": "x"}) / "x"
    shown = ingest.run("show", str(stray))
    assert shown.code == 2
    assert shown.err.strip() == f"lz-ingest: error: {stray}: no job's source holds it (name one with --job)"
