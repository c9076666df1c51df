"""Starting irods-lite: configuration it refuses, and one server per data directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from irods.session import iRODSSession

from lz_ingest.cli_lite import irods_lite_command
from lz_ingest.irods_lite import LiteConfig, LiteServer, ResourceSpec
from lz_ingest.irods_lite.config import ConfigSyntaxError
from lz_ingest.irods_lite.server import DataDirInUse


def _one_line_usage_error(result: object, *needles: str) -> str:
    output = result.output  # type: ignore[attr-defined]
    assert result.exit_code == 2, output  # type: ignore[attr-defined]
    assert "Traceback" not in output
    error_lines = [line for line in output.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1, output
    for needle in needles:
        assert needle in error_lines[0], output
    return error_lines[0]


def test_an_unknown_resource_type_is_refused_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        irods_lite_command, ["--port", "0", "--data-dir", str(tmp_path), "--resource", "r1:bogus"]
    )
    _one_line_usage_error(result, "r1:bogus", "bogus", "unixfilesystem")
    assert not (tmp_path / "catalog.sqlite").exists()


def test_an_unknown_resource_type_is_refused_from_python_too(tmp_path: Path) -> None:
    with pytest.raises(ConfigSyntaxError, match="bogus"):
        LiteConfig(data_dir=tmp_path, resources=(ResourceSpec("r1", "bogus"),)).all_resources()


def test_known_resource_types_are_accepted() -> None:
    assert ResourceSpec.parse("r1:passthru").type == "passthru"
    assert ResourceSpec.parse("r2::r1") == ResourceSpec("r2", "unixfilesystem", "r1")


def test_a_second_server_on_a_data_directory_in_use_is_refused(tmp_path: Path) -> None:
    first = LiteServer(LiteConfig(data_dir=tmp_path, port=0)).start()
    try:
        with pytest.raises(DataDirInUse, match="in use by another irods-lite"):
            LiteServer(LiteConfig(data_dir=tmp_path, port=0)).start()
        result = CliRunner().invoke(irods_lite_command, ["--port", "0", "--data-dir", str(tmp_path)])
        _one_line_usage_error(result, str(tmp_path), "in use")
        # the refused servers did not disturb the running one
        with iRODSSession(host="127.0.0.1", port=first.port, user="rods", password="rods", zone="tempZone") as s:
            assert s.collections.get("/tempZone/home/rods").name == "rods"
    finally:
        first.stop()
    again = LiteServer(LiteConfig(data_dir=tmp_path, port=0)).start()  # released by stop()
    again.stop()


def test_a_server_that_cannot_listen_releases_its_data_directory(tmp_path: Path) -> None:
    first = LiteServer(LiteConfig(data_dir=tmp_path / "a", port=0)).start()
    try:
        with pytest.raises(OSError):
            LiteServer(LiteConfig(data_dir=tmp_path / "b", port=first.port)).start()
        LiteServer(LiteConfig(data_dir=tmp_path / "b", port=0)).start().stop()
    finally:
        first.stop()
