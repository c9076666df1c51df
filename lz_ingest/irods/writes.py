"""Catalog writes of one API call each: collections, registrations, size/mtime updates, deletes, AVUs."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import irods.keywords as kw
from irods.meta import AVUOperation, iRODSMeta
from irods.models import Collection, DataObject
from irods.session import iRODSSession

from lz_ingest.errors import IrodsApiError
from lz_ingest.irods import api
from lz_ingest.irods.retry import with_retries
from lz_ingest.model import DeleteMode, Replica

T = TypeVar("T")

UNREG_OPR = 26  # oprType of an unregister: the catalog entry goes, the file stays
CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME = -809000
CAT_UNKNOWN_COLLECTION = -814000


def call(session: iRODSSession, what: str, action: Callable[[], T]) -> T:
    """Run one catalog action with connection retries on this session, errors translated."""
    return with_retries(action, what, reconnect=session.cleanup)


def epoch11(mtime: float) -> str:
    """Whole seconds, zero-padded to 11 digits as the server writes times (string-compared in the catalog)."""
    return f"{int(mtime):011d}"


def resource_options(resource: str | None) -> dict[str, str]:
    """A root resource by name; a full hierarchy ("root;...;leaf") also as the hierarchy keyword."""
    if not resource:
        return {}
    options = {kw.DEST_RESC_NAME_KW: resource.split(";", 1)[0]}
    if ";" in resource:
        options[kw.RESC_HIER_STR_KW] = resource
    return options


# ---- collections --------------------------------------------------------------------------------


def create_collection(session: iRODSSession, path: str) -> None:
    """COLL_CREATE with the recursive flag: parents too, an existing collection is fine. One call."""
    call(session, f"create collection {path}", lambda: api.create_collection(session, path, recursive=True))


def ensure_collection(session: iRODSSession, path: str) -> bool:
    """Create the collection if missing; True when it was created. One call, two when parents are missing."""
    try:
        call(session, f"create collection {path}", lambda: api.create_collection(session, path, recursive=False))
    except IrodsApiError as exc:
        if _rounded(exc.code) == CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME:
            return False
        if _rounded(exc.code) != CAT_UNKNOWN_COLLECTION:
            raise
        create_collection(session, path)  # its parent was missing too, so it was missing
    return True


def _rounded(code: int) -> int:
    return code - code % -1000 if code < 0 else code


# ---- registration -------------------------------------------------------------------------------


def register(
    session: iRODSSession,
    physical_path: str,
    logical_path: str,
    *,
    size: int,
    mtime: float,
    resource: str | None,
    checksum: bool = False,
) -> None:
    """Register a file in place as a new data object (PHY_PATH_REG, one call; never checks existence first)."""
    options = _register_options(size, mtime, resource, checksum)
    _register(session, physical_path, logical_path, options, f"register {logical_path}")


def register_replica(
    session: iRODSSession,
    physical_path: str,
    logical_path: str,
    *,
    size: int,
    mtime: float,
    resource: str | None,
    checksum: bool = False,
) -> None:
    """Register a file in place as another replica of an existing data object (regRepl, one call)."""
    options = {**_register_options(size, mtime, resource, checksum), kw.REG_REPL_KW: ""}
    _register(session, physical_path, logical_path, options, f"register replica {logical_path}")


def _register_options(size: int, mtime: float, resource: str | None, checksum: bool) -> dict[str, str]:
    options = {kw.DATA_SIZE_KW: str(size), kw.DATA_MODIFY_KW: epoch11(mtime), **resource_options(resource)}
    if checksum:
        options[kw.REG_CHKSUM_KW] = ""
    return options


def _register(session: iRODSSession, physical: str, logical: str, options: dict[str, str], what: str) -> None:
    attempts: list[int] = []

    def attempt() -> None:
        attempts.append(1)
        session.data_objects.register(physical, logical, **dict(options))

    try:
        call(session, what, attempt)
    except IrodsApiError as exc:
        # a retry after a lost connection finding the object: the lost reply was this register's success
        lost_reply = len(attempts) > 1 and _rounded(exc.code) == CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME
        if not (lost_reply and _has_replica_at(session, logical, physical)):
            raise


def _has_replica_at(session: iRODSSession, logical: str, physical: str) -> bool:
    coll, _, name = logical.rpartition("/")
    query = session.query(DataObject.path).filter(Collection.name == coll, DataObject.name == name)
    rows = call(session, f"look up {logical}", lambda: list(query))
    return any(row[DataObject.path] == physical for row in rows)


def update_registered(
    session: iRODSSession, logical_path: str, *, replica: Replica, size: int, mtime: float, checksum: bool = False
) -> None:
    """Record a changed registered file: size and mtime of that replica (one call; two with `checksum`).

    Without `checksum`, a checksum the replica had is cleared: it described the old content.
    """
    updates = {kw.DATA_SIZE_KW: str(size), kw.DATA_MODIFY_KW: epoch11(mtime)}
    if replica.checksum and not checksum:
        updates[kw.CHKSUM_KW] = ""
    modify_replica(session, logical_path, replica, updates)
    if checksum:
        compute_checksum(session, logical_path, replica.number)


def modify_replica(session: iRODSSession, logical_path: str, replica: Replica | None, updates: dict[str, str]) -> None:
    """modDataObjMeta on one replica (by number and hierarchy), or on every replica when `replica` is None."""
    number, hierarchy = (replica.number, replica.resource_hierarchy) if replica is not None else (None, "")
    what = f"update {logical_path}"
    call(session, what, lambda: api.mod_data_obj_meta(session, logical_path, number, hierarchy, updates))


def compute_checksum(session: iRODSSession, logical_path: str, replica_number: int) -> str:
    """Have the server (re)compute and record one replica's checksum; returns it ("sha2:..."). One call."""
    options = {kw.FORCE_CHKSUM_KW: "", kw.REPL_NUM_KW: str(replica_number)}
    found = call(session, f"checksum {logical_path}", lambda: session.data_objects.chksum(logical_path, **options))
    return str(found)


# ---- deletes ------------------------------------------------------------------------------------


def delete_object(session: iRODSSession, logical_path: str, mode: DeleteMode) -> None:
    """UNREGISTER (file kept), TRASH (to the trash, per server policy) or NO_TRASH (gone). One call."""
    options = _delete_options(mode)
    call(session, f"delete {logical_path} ({mode.name})", lambda: _unlink(session, logical_path, options))


def delete_collection(session: iRODSSession, path: str, mode: DeleteMode) -> None:
    """Remove a collection and everything under it, per `mode` as for data objects. One call."""
    options = _delete_options(mode)
    remove = session.collections.remove
    call(session, f"delete collection {path} ({mode.name})", lambda: remove(path, recurse=True, **dict(options)))


def _delete_options(mode: DeleteMode) -> dict[str, object]:
    if mode is DeleteMode.UNREGISTER:
        return {kw.OPR_TYPE_KW: UNREG_OPR}
    if mode is DeleteMode.TRASH:
        return {}
    if mode is DeleteMode.NO_TRASH:
        return {kw.FORCE_FLAG_KW: ""}
    raise ValueError(f"delete mode {mode.name} deletes nothing")


def _unlink(session: iRODSSession, logical_path: str, options: dict[str, object]) -> None:
    session.data_objects.unlink(logical_path, **dict(options))


# ---- renames (the watcher) ---------------------------------------------------------------------


def rename_object(session: iRODSSession, source: str, destination: str) -> None:
    """Rename a data object (a registered replica's file is not touched). One call."""
    call(session, f"rename {source} to {destination}", lambda: session.data_objects.move(source, destination))


def rename_collection(session: iRODSSession, source: str, destination: str) -> None:
    """Rename a collection and everything under it. One call."""
    call(session, f"rename {source} to {destination}", lambda: session.collections.move(source, destination))


def set_physical_path(session: iRODSSession, logical_path: str, replica: Replica, physical: str) -> None:
    """Record a registered replica's file at its new place (modDataObjMeta filePath). One call."""
    modify_replica(session, logical_path, replica, {kw.FILE_PATH_KW: physical})


def replicas_below(session: iRODSSession, coll_path: str) -> list[tuple[str, Replica]]:
    """(logical path, replica) of every replica in a collection and below it (paged GenQuery)."""
    from irods.column import Like

    columns = (Collection.name, DataObject.name, DataObject.replica_number, DataObject.resc_hier, DataObject.path)
    found: list[tuple[str, Replica]] = []
    for condition in (Collection.name == coll_path, Like(Collection.name, coll_path.rstrip("/") + "/%")):
        query = session.query(*columns).filter(condition)
        rows: list[Any] = call(session, f"list replicas below {coll_path}", functools.partial(list, query))
        for row in rows:
            number, hierarchy = int(row[DataObject.replica_number]), row[DataObject.resc_hier]
            replica = Replica(number, hierarchy, row[DataObject.path], 0, 0, "")
            found.append((f"{row[Collection.name]}/{row[DataObject.name]}", replica))
    return found


# ---- metadata -----------------------------------------------------------------------------------


def set_avus(session: iRODSSession, logical_path: str, avus: Iterable[tuple[str, str, str]]) -> None:
    """Give each attribute exactly this value (`imeta set`): one call per AVU."""
    for a, v, u in avus:
        _set_avu(session, logical_path, iRODSMeta(a, v, u or None))


def _set_avu(session: iRODSSession, logical_path: str, meta: iRODSMeta) -> None:
    call(session, f"set metadata on {logical_path}", lambda: session.metadata.set(DataObject, logical_path, meta))


def add_avus(session: iRODSSession, logical_path: str, avus: Iterable[tuple[str, str, str]]) -> None:
    """Add AVUs to a data object in one atomic call (all or none); an AVU already there is kept."""
    operations = [AVUOperation(operation="add", avu=iRODSMeta(a, v, u or None)) for a, v, u in avus]
    if not operations:
        return
    apply = session.metadata.apply_atomic_operations
    call(session, f"add metadata to {logical_path}", lambda: apply(DataObject, logical_path, *operations))
