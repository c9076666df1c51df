"""What the catalog holds in one collection: its data objects with every replica, and its subcollections."""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import irods.keywords as kw
from irods.models import Collection, DataObject
from irods.session import iRODSSession

from lz_ingest.irods.retry import with_retries
from lz_ingest.model import CatalogObject, Replica
from lz_ingest.settings import FrozenMap

# Only what a sync compares or acts on; rows come back one per replica.
_REPLICA_COLUMNS = (
    DataObject.name,
    DataObject.replica_number,
    DataObject.resc_hier,
    DataObject.path,
    DataObject.size,
    DataObject.modify_time,
    DataObject.replica_status,
    DataObject.checksum,
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
    objects = _objects(path, _rows(session, path, _REPLICA_COLUMNS, Collection.name == path))
    names = frozenset(
        str(row[Collection.name]).rsplit("/", 1)[-1]
        for row in _rows(session, path, (Collection.name,), Collection.parent_name == path)
        if row[Collection.name] != path  # "/" is its own parent
    )
    exists = bool(objects or names) or collection_exists(session, path)
    return Listing(FrozenMap(objects), names, exists)


def collection_exists(session: iRODSSession, path: str) -> bool:
    """One GenQuery (PRC's collections.exists() may need two)."""
    return any(True for _ in _rows(session, path, (Collection.id,), Collection.name == path))


def _rows(session: iRODSSession, path: str, columns: Iterable[Any], condition: Any) -> Iterable[dict[Any, Any]]:
    query = session.query(*columns).filter(condition)
    zone = path.split("/")[1]
    if zone:  # as PRC's own lookups do, so a federated zone answers for its paths
        query = query.add_keyword(kw.ZONE_KW, zone)
    for batch in query.get_batches():  # follows continueInx past each page of 500 rows
        yield from batch


def _objects(coll: str, rows: Iterable[dict[Any, Any]]) -> dict[str, CatalogObject]:
    replicas: dict[str, list[Replica]] = {}
    for row in rows:
        replicas.setdefault(row[DataObject.name], []).append(_replica(row))
    return {
        name: CatalogObject(f"{coll.rstrip('/')}/{name}", tuple(sorted(found, key=lambda r: r.number)))
        for name, found in replicas.items()
    }


def _replica(row: Mapping[Any, Any]) -> Replica:
    return Replica(
        number=int(row[DataObject.replica_number]),
        resource_hierarchy=str(row[DataObject.resc_hier] or ""),
        physical_path=str(row[DataObject.path] or ""),
        size=int(row[DataObject.size] or 0),
        mtime=_epoch(row[DataObject.modify_time]),
        status=str(row[DataObject.replica_status] or ""),
        checksum=str(row[DataObject.checksum] or ""),
    )


def _epoch(value: object) -> int:
    """PRC turns the catalog's epoch string into an aware datetime; back to whole seconds."""
    if isinstance(value, datetime):
        return calendar.timegm(value.utctimetuple())
    try:
        return int(str(value))
    except ValueError:
        return 0


def _normalized(path: str) -> str:
    return "/" + "/".join(part for part in path.split("/") if part)
