"""Helpers shared by irods-lite's contract tests (test_data_objects, test_genquery, ...)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from irods.session import iRODSSession

from tests.irods_fixtures import Zone


def needs_shared_filesystem(zone: Zone) -> None:
    """Registering a local file needs the server to see the client's filesystem.

    irods-lite runs on this host; a real zone counts as sharing it only when LZ_TEST_SHARED_FS=1.
    """
    if zone.lite is None and os.environ.get("LZ_TEST_SHARED_FS") != "1":
        pytest.skip("registering a local file needs a server sharing this filesystem (LZ_TEST_SHARED_FS=1)")


def trash_of(zone: Zone, logical_path: str) -> str:
    """Where a non-forced removal puts a path: /zone/trash/home/<user>/... (rsDataObjUnlink.cpp)."""
    prefix = f"/{zone.zone}/"
    assert logical_path.startswith(prefix)
    return f"/{zone.zone}/trash/{logical_path[len(prefix) :]}"


@contextmanager
def trash_cleanup(session: iRODSSession, zone: Zone, coll: str) -> Iterator[str]:
    """Yield the trash path of coll and remove it (forced) afterwards."""
    trash = trash_of(zone, coll)
    try:
        yield trash
    finally:
        try:
            session.collections.remove(trash, recurse=True, force=True)
        except Exception:  # nothing went to the trash
            pass


def write_file(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def physical_file_exists(zone: Zone, physical_path: str) -> bool | None:
    """Whether a vault file exists; None when the vault is not visible from here (a real zone)."""
    if zone.lite is None:
        return None
    return os.path.exists(physical_path)
