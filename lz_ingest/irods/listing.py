"""What the catalog holds in one collection: its data objects with every replica, and its subcollections."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from irods.session import iRODSSession

from lz_ingest.irods import genquery
from lz_ingest.irods.retry import with_retries
from lz_ingest.model import CatalogObject, Replica
from lz_ingest.settings import FrozenMap

# GenQuery column numbers (rodsGenQuery.h). Only what a sync compares or acts on; one row per replica.
COLL_ID, COLL_NAME, COLL_PARENT_NAME = 500, 501, 502
DATA_NAME, DATA_REPL_NUM, DATA_PATH, DATA_SIZE = 403, 404, 410, 407
DATA_MODIFY_TIME, DATA_REPL_STATUS, DATA_CHECKSUM, DATA_RESC_HIER = 420, 413, 415, 422
_REPLICA_COLUMNS = (
    DATA_NAME,
    DATA_REPL_NUM,
    DATA_RESC_HIER,
    DATA_PATH,
    DATA_SIZE,
    DATA_MODIFY_TIME,
    DATA_REPL_STATUS,
    DATA_CHECKSUM,
)


@dataclass(frozen=True)
class Listing:
    """One collection as the catalog holds it; `exists` is False when there is no such collection."""

    objects: Mapping[str, CatalogObject] = field(default_factory=FrozenMap)
    subcollections: frozenset[str] = frozenset()
    exists: bool = True

    @classmethod
    def empty(cls, exists: bool = True) -> Listing:
        return cls(FrozenMap(), frozenset(), exists)


def list_collection(session: iRODSSession, coll_path: str) -> Listing:
    """One GenQuery for objects (paged by 500 rows), one for subcollections, one more only when both are empty."""
    path = _normalized(coll_path)
    return with_retries(lambda: _list(session, path), f"list {path}", reconnect=session.cleanup)


def _list(session: iRODSSession, path: str) -> Listing:
    zone = path.split("/")[1]  # as PRC's own lookups do, so a federated zone answers for its paths
    objects = _objects(path, genquery.rows(session, _REPLICA_COLUMNS, [(COLL_NAME, genquery.equals(path))], zone))
    names = frozenset(
        name.rsplit("/", 1)[-1]
        for (name,) in genquery.rows(session, (COLL_NAME,), [(COLL_PARENT_NAME, genquery.equals(path))], zone)
        if name != path  # "/" is its own parent
    )
    exists = bool(objects or names) or collection_exists(session, path)
    return Listing(FrozenMap(objects), names, exists)


def collection_exists(session: iRODSSession, path: str) -> bool:
    """One GenQuery (PRC's collections.exists() may need two)."""
    zone = path.split("/")[1] if path.count("/") > 1 else ""
    return any(True for _ in genquery.rows(session, (COLL_ID,), [(COLL_NAME, genquery.equals(path))], zone))


def _objects(coll: str, rows: Iterable[tuple[str, ...]]) -> dict[str, CatalogObject]:
    replicas: dict[str, list[Replica]] = {}
    for name, number, hier, phys, size, mtime, status, checksum in rows:
        replica = Replica(int(number), hier, phys, int(size or 0), _epoch(mtime), status, checksum)
        replicas.setdefault(name, []).append(replica)
    base = coll.rstrip("/")
    return {
        name: CatalogObject(f"{base}/{name}", tuple(sorted(found, key=lambda r: r.number)))
        for name, found in replicas.items()
    }


def _epoch(value: str) -> int:
    """The catalog's 11-digit epoch string, as whole seconds."""
    try:
        return int(value)
    except ValueError:
        return 0


def _normalized(path: str) -> str:
    return "/" + "/".join(part for part in path.split("/") if part)
