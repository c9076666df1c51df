"""Task arguments as versioned JSON: what a scan, sync or delete task is handed, whatever release queued it.

A task function takes `(job_name, pass_id, payload)`: the job and the pass travel as plain strings
outside the payload (and the pass in the task's RQ meta too), so a payload that cannot be decoded still
fails its own task, visibly, and counts it off its pass. The payload is one JSON text
`{"v": FORMAT, "kind": ..., "data": ...}`; RQ's own (pickle) serializer carries that string unchanged,
so rq-scheduler and a plain `rq worker` need no option. Non-UTF-8 path bytes (surrogate escapes) travel
as JSON escapes and come back the same.

Payloads of the previous release (lists of pickled SyncItem, frontier tuples, delete dicts) are still
accepted when they unpickled into what this release expects; anything else fails with `CodecError`.
A task whose pickle cannot even be loaded never reaches its function: RQ fails it, and
tasks/reconcile.py fails it for its pass, found by `legacy_identity` from RQ's description of it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ..errors import LzIngestError
from ..model import CatalogObject, Entry, EntryKind, Replica
from ..naming import Avu
from ..plan import COLLECTION, CatalogState

FORMAT = 1
T = TypeVar("T")
SYNC, SCAN, DELETE = "sync", "scan", "delete"
Frontier = list[tuple[str, Any, str]]  # (directory, ancestry, collection state), as tasks/scan.py keeps it


class CodecError(LzIngestError):
    """A task's arguments cannot be read by this release."""


def _dump(kind: str, data: Any) -> str:
    return json.dumps({"v": FORMAT, "kind": kind, "data": data}, separators=(",", ":"))


def _load(kind: str, payload: str) -> Any:
    try:
        doc = json.loads(payload)
    except ValueError as exc:
        raise CodecError(f"task arguments are not JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("kind") != kind:
        raise CodecError(f"task arguments are not a {kind} task's")
    if doc.get("v") != FORMAT:
        raise CodecError(
            f"task arguments in format {doc.get('v')!r}, this lz-ingest reads format {FORMAT}: "
            "they were queued by another release"
        )
    return doc["data"]


def attempt(decode: Callable[[object], list[T]], payload: object) -> tuple[list[T], CodecError | None]:
    """Decode ahead of the task's lifecycle, which raises the error (if any) once the task is admitted:
    the items are known even when the task fails as a whole (its handler refused, say)."""
    try:
        return decode(payload), None
    except CodecError as exc:
        return [], exc


# ---- sync batches -------------------------------------------------------------------------------


def encode_sync(items: Sequence[Any]) -> str:
    """A sync batch (tasks/scan.py's SyncItem values) as a payload."""
    return _dump(
        SYNC,
        [
            [_entry(i.entry), i.logical_path, _state(i.state), [[a.attribute, a.value, a.unit] for a in i.avus]]
            for i in items
        ],
    )


def decode_sync(payload: object) -> list[Any]:
    from .scan import SyncItem

    if isinstance(payload, list) and all(_legacy_item(i) for i in payload):
        return list(payload)  # queued by the previous release, pickled, and still what this one runs
    if not isinstance(payload, str):
        raise CodecError(_legacy_refusal(payload))
    try:
        return [
            SyncItem(_to_entry(e), str(logical), _to_state(s), tuple(Avu(*a) for a in avus))
            for e, logical, s, avus in _load(SYNC, payload)
        ]
    except (TypeError, ValueError, KeyError) as exc:
        raise CodecError(f"a sync task's arguments are malformed ({exc})") from None


def _entry(e: Entry) -> list[Any]:
    return [e.path, e.kind.value, e.size, e.mtime, e.ctime, e.link_target, e.etag]


def _to_entry(raw: list[Any]) -> Entry:
    path, kind, size, mtime, ctime, link_target, etag = raw
    return Entry(str(path), EntryKind(kind), int(size), float(mtime), float(ctime), link_target, etag)


def _state(state: CatalogState) -> Any:
    if state is None:
        return None
    if state is COLLECTION:
        return "collection"
    assert isinstance(state, CatalogObject)
    return {"path": state.logical_path, "replicas": [list(r) for r in state.replicas]}


def _to_state(raw: Any) -> CatalogState:
    if raw is None:
        return None
    if raw == "collection":
        return COLLECTION
    replicas = tuple(
        Replica(int(n), str(h), str(p), int(s), int(m), str(st), str(c)) for n, h, p, s, m, st, c in raw["replicas"]
    )
    return CatalogObject(str(raw["path"]), replicas)


def _legacy_item(item: object) -> bool:
    from .scan import SyncItem

    return isinstance(item, SyncItem) and isinstance(item.entry, Entry) and isinstance(item.logical_path, str)


# ---- scan frontiers -----------------------------------------------------------------------------


def encode_scan(frontier: Frontier) -> str:
    return _dump(SCAN, [[directory, _ancestry(ancestry), state] for directory, ancestry, state in frontier])


def decode_scan(payload: object) -> Frontier:
    if isinstance(payload, list) and all(isinstance(d, tuple | list) and len(d) == 3 for d in payload):
        return [(str(d), a, str(s)) for d, a, s in payload]  # the previous release's tuples
    if not isinstance(payload, str):
        raise CodecError(_legacy_refusal(payload))
    try:
        return [(str(d), _to_ancestry(a), str(s)) for d, a, s in _load(SCAN, payload)]
    except (TypeError, ValueError) as exc:
        raise CodecError(f"a scan task's arguments are malformed ({exc})") from None


def _ancestry(ancestry: Any) -> Any:
    """A source's ancestry value (LocalSource: ((st_dev, st_ino), ...)) is JSON already, but for tuples."""
    return None if ancestry is None else [list(a) if isinstance(a, tuple | list) else a for a in ancestry]


def _to_ancestry(raw: Any) -> Any:
    return None if raw is None else tuple(tuple(a) if isinstance(a, list) else a for a in raw)


# ---- deletes ------------------------------------------------------------------------------------


def encode_delete(items: Sequence[dict[str, str]]) -> str:
    return _dump(DELETE, [[i["path"], i["kind"]] for i in items])


def decode_delete(payload: object) -> list[dict[str, str]]:
    if isinstance(payload, list) and all(isinstance(i, dict) and {"path", "kind"} <= set(i) for i in payload):
        return [{"path": str(i["path"]), "kind": str(i["kind"])} for i in payload]  # the previous release's
    if not isinstance(payload, str):
        raise CodecError(_legacy_refusal(payload))
    try:
        return [{"path": str(p), "kind": str(k)} for p, k in _load(DELETE, payload)]
    except (TypeError, ValueError) as exc:
        raise CodecError(f"a delete task's arguments are malformed ({exc})") from None


def _legacy_refusal(payload: object) -> str:
    return (
        f"task arguments of type {type(payload).__name__} queued by an earlier lz-ingest in a form this "
        "release cannot read; the next pass finds what they held"
    )


# ---- the identity of a task whose arguments RQ could not load -----------------------------------

# RQ describes a job as `module.function('arg', 'arg', ...)`; a job name is letters, digits, '-', '_', '.'
# (preflight.job_name) and a pass id is `<job name>:<hex>`, so their reprs are plain quoted strings.
_DESCRIPTION = re.compile(r"^lz_ingest\.tasks\.\w+\.\w+\('([\w.-]+)', '([\w.-]+:[0-9a-f]+)'")


def legacy_identity(description: str | None) -> tuple[str, str] | None:
    """(job name, pass id) of an lz-ingest task from RQ's description of it, or None."""
    found = _DESCRIPTION.match(description or "")
    return (found[1], found[2]) if found else None


def description(func_name: str, job_name: str, pass_id: str | None) -> str:
    """RQ's description of a task, without its payload (kept short: one per queued task)."""
    return f"{func_name}({job_name!r}, {pass_id!r}, ...)"
