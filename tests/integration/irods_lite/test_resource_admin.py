"""Contract: resource administration by a rodsadmin (GENERAL_ADMIN add/rm resource, child resources)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from irods.exception import CAT_INSUFFICIENT_PRIVILEGE_LEVEL, CAT_RESOURCE_NOT_EMPTY, ResourceDoesNotExist
from irods.session import iRODSSession

from tests.irods_fixtures import Zone


def test_admin_builds_a_hierarchy_puts_through_it_and_takes_it_apart(
    zone: Zone, session: iRODSSession, coll: str, tmp_path: Path
) -> None:
    if zone.lite is None:
        pytest.skip("needs a vault path on this machine")
    root, leaf = f"root{uuid.uuid4().hex[:6]}", f"leaf{uuid.uuid4().hex[:6]}"
    vault = tmp_path / "vault"
    session.resources.create(leaf, "unixfilesystem", host="localhost", path=str(vault))
    session.resources.create(root, "passthru")
    session.resources.add_child(root, leaf)
    assert session.resources.get(leaf).parent == str(session.resources.get(root).id)
    src = tmp_path / "src.bin"
    src.write_bytes(b"through the tree")
    session.data_objects.put(str(src), f"{coll}/x.bin", destRescName=root)
    replica = session.data_objects.get(f"{coll}/x.bin").replicas[0]
    assert replica.resc_hier == f"{root};{leaf}"
    assert Path(replica.path).read_bytes() == b"through the tree"
    assert Path(replica.path).is_relative_to(vault)
    with pytest.raises(CAT_RESOURCE_NOT_EMPTY):
        session.resources.remove(leaf)
    session.data_objects.unlink(f"{coll}/x.bin", force=True)
    session.resources.remove_child(root, leaf)
    assert session.resources.get(leaf).parent is None
    session.resources.remove(leaf)
    session.resources.remove(root)
    with pytest.raises(ResourceDoesNotExist):
        session.resources.get(leaf)


def test_a_rodsuser_cannot_create_resources(user_session: Callable[..., iRODSSession]) -> None:
    with pytest.raises(CAT_INSUFFICIENT_PRIVILEGE_LEVEL):
        user_session().resources.create(f"r{uuid.uuid4().hex[:6]}", "passthru")
