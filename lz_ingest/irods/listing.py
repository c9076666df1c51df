"""What the catalog holds in one collection: its data objects with every replica, and its subcollections."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from irods.session import iRODSSession

from lz_ingest.irods import genquery
from lz_ingest.irods.retry import with_retries
from lz_ingest.model import CatalogObject, Replica
from lz_ingest.settings import FrozenMap

# GenQuery column numbers (rodsGenQuery.h). Only what a sync compares or acts on; one row per replica.
COLL_NAME, COLL_PARENT_NAME = 501, 502
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
_BATCH_COLUMNS = (COLL_NAME, *_REPLICA_COLUMNS)


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
    return list_collections(session, [coll_path])[_normalized(coll_path)]


# Collections listed together: bounded so that one `in` condition stays far inside the server's
# where-clause buffer (MAX_SQL_SIZE_GQ) and its bind-variable limit.
BATCH_COLLECTIONS = 32
BATCH_CONDITION_CHARS = 8_000


def list_collections(session: iRODSSession, coll_paths: Sequence[str]) -> dict[str, Listing]:
    """Listings of several collections (keyed by normalized path) with the same two GenQueries one
    collection needs: `COLL_NAME in (...)` for the objects, `COLL_PARENT_NAME in (...)` for the
    subcollections, and one more for those that came back empty. A path holding a quote cannot
    stand in an `in` list and is listed on its own."""
    paths = list(dict.fromkeys(_normalized(p) for p in coll_paths))
    found: dict[str, Listing] = {}
    for batch in _batches(paths):
        label = f"list {batch[0]}" + (f" and {len(batch) - 1} more" if len(batch) > 1 else "")
        found.update(with_retries(functools.partial(_list, session, batch), label, reconnect=session.cleanup))
    return found


def _batches(paths: list[str]) -> Iterator[list[str]]:
    """Paths grouped by zone (a query answers for one zone), each group cut to the batch limits."""
    by_zone: dict[str, list[str]] = {}
    for path in paths:
        if genquery.quotable(path):
            by_zone.setdefault(_zone(path), []).append(path)
        else:
            yield [path]
    for group in by_zone.values():
        batch: list[str] = []
        chars = 0
        for path in group:
            if batch and (len(batch) >= BATCH_COLLECTIONS or chars + len(path) + 4 > BATCH_CONDITION_CHARS):
                yield batch
                batch, chars = [], 0
            batch.append(path)
            chars += len(path) + 4
        if batch:
            yield batch


def _zone(path: str) -> str:
    """As PRC's own lookups do, so that a federated zone answers for its paths."""
    return path.split("/")[1] if path.count("/") > 1 else ""


def _where(column: int, paths: list[str]) -> list[tuple[int, str]]:
    return [(column, genquery.equals(paths[0]) if len(paths) == 1 else genquery.one_of(paths))]


def _list(session: iRODSSession, paths: list[str]) -> dict[str, Listing]:
    zone = _zone(paths[0])
    objects = _objects(genquery.rows(session, _BATCH_COLUMNS, _where(COLL_NAME, paths), zone))
    children: dict[str, set[str]] = {}
    for name, parent in genquery.rows(session, (COLL_NAME, COLL_PARENT_NAME), _where(COLL_PARENT_NAME, paths), zone):
        if name != parent:  # "/" is its own parent
            children.setdefault(parent, set()).add(name.rsplit("/", 1)[-1])
    empty = [p for p in paths if p not in objects and p not in children]
    existing = _existing(session, empty, zone) if empty else set()
    return {
        path: Listing(
            FrozenMap(objects.get(path, {})),
            frozenset(children.get(path, ())),
            path in objects or path in children or path in existing,
        )
        for path in paths
    }


def _existing(session: iRODSSession, paths: list[str], zone: str) -> set[str]:
    return {name for (name,) in genquery.rows(session, (COLL_NAME,), _where(COLL_NAME, paths), zone)}


def collection_exists(session: iRODSSession, path: str) -> bool:
    """One GenQuery (PRC's collections.exists() may need two)."""
    return bool(_existing(session, [path], _zone(path)))


def _objects(rows: Iterable[tuple[str, ...]]) -> dict[str, dict[str, CatalogObject]]:
    """Collection -> name -> object, from one row per replica (a rescan reads one row per file: kept lean)."""
    objects: dict[str, dict[str, CatalogObject]] = {}
    names: dict[str, CatalogObject] = {}
    current, base = None, ""
    for coll, name, number, hier, phys, size, mtime, status, checksum in rows:
        if coll != current:  # rows mostly come a collection at a time: look it up only when it changes
            names, current, base = objects.setdefault(coll, {}), coll, coll.rstrip("/")
        try:
            seconds = int(mtime)  # the catalog's 11-digit epoch string
        except ValueError:
            seconds = 0
        replica = Replica(int(number), hier, phys, int(size or 0), seconds, status, checksum)
        found = names.get(name)
        if found is None:
            names[name] = CatalogObject(f"{base}/{name}", (replica,))
        else:
            replicas = tuple(sorted((*found.replicas, replica), key=_number))
            names[name] = CatalogObject(found.logical_path, replicas)
    return objects


def _number(replica: Replica) -> int:
    return replica.number


def _normalized(path: str) -> str:
    return "/" + "/".join(part for part in path.split("/") if part)
