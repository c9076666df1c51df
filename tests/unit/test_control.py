"""The job-control layer's pure parts: a job's definition from option values; no import cycles among
the command-line modules."""

from __future__ import annotations

import ast
from dataclasses import fields
from pathlib import Path

import pytest

import lz_ingest
from lz_ingest.control import build_spec
from lz_ingest.errors import ConfigError
from lz_ingest.handlers.loader import load_handler
from lz_ingest.jobs import JobSpec

PACKAGE = Path(lz_ingest.__file__).parent


def test_every_option_reaches_its_jobspec_field(tmp_path: Path) -> None:
    values = {
        "job_name": "j",
        "files_per_task": 7,
        "file_queue": "fq",
        "path_queue": "pq",
        "restart_queue": "rq",
        "exclude_file_name": ["a.*"],
        "exclude_directory_name": ["b.*"],
        "exclude_file_type": ["socket"],
        "follow_symlinks": True,
        "initial_ingest": True,
        "checksum": True,
        "dry_run": True,
        "max_delete": 0.25,
        "settle_seconds": 0.5,
        "irods_env": "env.json",
        "irods_idle_disconnect_seconds": 9,
        "profile": True,
        "profile_filename": "p.json",
        "threads": 3,
        "provenance": True,
        "workers": 5,  # a command option, not part of the job
    }
    spec = build_spec(str(tmp_path), "/tempZone/home/rods/t", "tempZone", 30, load_handler(None), values)
    assert spec.name == "j" and spec.interval == 30 and spec.source == str(tmp_path)
    assert spec.provenance and spec.checksum and spec.dry_run and spec.follow_symlinks and spec.initial_ingest
    assert (spec.files_per_task, spec.threads, spec.idle_disconnect_seconds) == (7, 3, 9)
    assert (spec.file_queue, spec.path_queue, spec.restart_queue) == ("fq", "pq", "rq")
    assert spec.exclude_file_name == ("a.*",) and spec.exclude_file_type == ("socket",)
    assert spec.irods_env == str(Path("env.json").absolute())
    assert spec.profile_filename == str(Path("p.json").absolute())
    assert spec.handler is None and spec.handler_hash is None
    assert JobSpec.from_json(spec.to_json()) == spec


def test_missing_options_take_the_jobspec_defaults(tmp_path: Path) -> None:
    spec = build_spec(str(tmp_path), "/tempZone/home/rods/t", "tempZone", None, load_handler(None), {"job_name": "d"})
    defaults = JobSpec(name="d", source=spec.source, target=spec.target)
    assert spec == defaults
    assert {f.name for f in fields(JobSpec)} >= {"provenance", "threads", "checksum"}


def test_a_bad_number_is_refused_before_anything_else(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--threads 0"):
        build_spec(str(tmp_path), "/tempZone/home/rods/t", "tempZone", None, load_handler(None), {"threads": 0})


def _imports(module: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found.add(node.module or "")
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("lz_ingest."):
            found.add(node.module.removeprefix("lz_ingest."))
    return found


def test_no_command_line_module_imports_the_command_group_or_a_cycle() -> None:
    cli_modules = {p.stem: _imports(p) for p in PACKAGE.glob("cli*.py")}
    for name, imported in cli_modules.items():
        if name != "cli":
            assert "cli" not in imported, f"{name} imports cli"
    for name, imported in cli_modules.items():  # no cycle among the cli_* modules
        for other in imported & set(cli_modules):
            assert name not in cli_modules[other], f"{name} <-> {other}"
    assert not _imports(PACKAGE / "control.py") & set(cli_modules), "control.py must not import the CLI"
