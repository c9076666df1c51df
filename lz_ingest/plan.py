"""Decide what a sync does for one entry: a pure function of the source entry and the catalog state.

The rules follow the old framework's `irods/filesystem.py:sync_data_from_file` and
`update_metadata`, with change detection moved from its per-file Redis timestamps to a
comparison with what the catalog holds (size and mtime of the replica on the target resource).
"""

from __future__ import annotations

import enum
from typing import Literal, NamedTuple

from lz_ingest.errors import ConfigError
from lz_ingest.model import (
    COMPATIBLE_DELETE_MODES,
    Action,
    CatalogObject,
    DeleteMode,
    Entry,
    EntryKind,
    Operation,
    Replica,
    is_compatible,
)

# Hook events (the handler's pre_<event> / post_<event> methods) a decision fires around its action.
DATA_OBJ_CREATE = "data_obj_create"
DATA_OBJ_MODIFY = "data_obj_modify"
DATA_OBJ_DELETE = "data_obj_delete"
COLL_CREATE = "coll_create"
COLL_MODIFY = "coll_modify"
COLL_DELETE = "coll_delete"


class _Collection(enum.Enum):
    COLLECTION = "collection"


# The catalog state meaning "a collection sits at that logical path".
COLLECTION = _Collection.COLLECTION
CatalogState = CatalogObject | Literal[_Collection.COLLECTION] | None


class Decision(NamedTuple):
    """What to do for one entry, why, which hook event to fire around it and which replica it concerns."""

    action: Action
    reason: str
    event: str | None = None
    replica: Replica | None = None


class _Context(NamedTuple):
    entry: Entry
    obj: CatalogObject
    operation: Operation
    to_resource: str | None
    physical_path: str | None
    on_target: tuple[Replica, ...]
    reference: Replica | None


_NEW_FILE_ACTIONS = {
    Operation.REGISTER_SYNC: Action.REGISTER,
    Operation.REGISTER_AS_REPLICA_SYNC: Action.REGISTER,
    Operation.PUT: Action.UPLOAD,
    Operation.PUT_SYNC: Action.UPLOAD,
    Operation.PUT_APPEND: Action.UPLOAD,
    Operation.NO_OP: Action.HOOKS_ONLY,
}
_PUTS = frozenset({Operation.PUT, Operation.PUT_SYNC, Operation.PUT_APPEND})
# Entries with no bytes to read: registered as they are (their lstat), but never uploaded.
SPECIAL_KINDS = frozenset({EntryKind.PIPE, EntryKind.SOCKET, EntryKind.CHARACTER, EntryKind.BLOCK})


def plan(
    entry: Entry,
    catalog: CatalogState,
    operation: Operation,
    *,
    to_resource: str | None = None,
    initial_ingest: bool = False,
    checksum_match: bool | None = None,
    physical_path: str | None = None,
    changed_since: float | None = None,
) -> Decision:
    """Decide the action for `entry` given what the catalog holds at its logical path.

    `physical_path` (the path a register records) enables the old framework's check that the
    replica on `to_resource` has that path. `changed_since` (the start time of the previous
    pass) restores the old hooks for metadata-only changes and keeps NO_OP from re-firing.
    """
    state = None if initial_ingest else catalog
    if entry.kind is EntryKind.DIRECTORY:
        return _plan_directory(entry, state, operation, changed_since)
    if operation in _PUTS and entry.kind in SPECIAL_KINDS:
        return Decision(Action.SKIP_SPECIAL, f"a {entry.kind.value} has no bytes to upload ({operation.name})")
    if state is COLLECTION:
        return Decision(Action.CONFLICT, f"a collection exists where data object for {entry.path} should go")
    if state is None:
        return _plan_new_file(entry, operation, changed_since)
    return _plan_existing(entry, state, operation, to_resource, checksum_match, physical_path, changed_since)


def _touched_since(entry: Entry, changed_since: float | None) -> bool:
    """True when the entry's mtime or ctime is at or after `changed_since` (or no time is known)."""
    return changed_since is None or entry.mtime >= changed_since or entry.ctime >= changed_since


def _plan_directory(entry: Entry, state: CatalogState, operation: Operation, changed_since: float | None) -> Decision:
    if isinstance(state, CatalogObject):
        return Decision(Action.CONFLICT, f"a data object exists where collection for {entry.path} should go")
    if state is COLLECTION:
        if changed_since is not None and _touched_since(entry, changed_since):
            return Decision(Action.HOOKS_ONLY, "directory changed since the last pass", COLL_MODIFY)
        return Decision(Action.SKIP, "collection exists")
    if operation is Operation.NO_OP:
        if not _touched_since(entry, changed_since):
            return Decision(Action.SKIP, "NO_OP: directory unchanged since the last pass")
        return Decision(Action.HOOKS_ONLY, "NO_OP: hooks only", COLL_CREATE)
    return Decision(Action.CREATE_COLLECTION, "new directory", COLL_CREATE)


def _plan_new_file(entry: Entry, operation: Operation, changed_since: float | None) -> Decision:
    action = _NEW_FILE_ACTIONS[operation]
    if action is Action.HOOKS_ONLY:
        if not _touched_since(entry, changed_since):
            return Decision(Action.SKIP, "NO_OP: file unchanged since the last pass")
        return Decision(action, "NO_OP: hooks only", DATA_OBJ_CREATE)
    return Decision(action, f"new path: {operation.name} creates the data object", DATA_OBJ_CREATE)


def resource_matches(replica: Replica, to_resource: str) -> bool:
    """True when the replica lies under `to_resource`: any element of its hierarchy, or a hierarchy prefix."""
    hierarchy = replica.resource_hierarchy
    if ";" in to_resource:
        return hierarchy == to_resource or hierarchy.startswith(to_resource + ";")
    return to_resource in hierarchy.split(";")


def _pick_reference(replicas: tuple[Replica, ...], physical_path: str | None) -> Replica | None:
    """The replica to compare with: one at `physical_path` first, then a good one, then the first."""
    if len(replicas) <= 1:
        return replicas[0] if replicas else None
    return min(replicas, key=lambda r: (r.physical_path != physical_path, r.status != "1", r.number))


def _is_changed(entry: Entry, replica: Replica | None, checksum_match: bool | None) -> bool:
    if checksum_match is not None:
        return not checksum_match
    if replica is None:
        return True
    return entry.size != replica.size or int(entry.mtime) != replica.mtime


def _plan_existing(
    entry: Entry,
    obj: CatalogObject,
    operation: Operation,
    to_resource: str | None,
    checksum_match: bool | None,
    physical_path: str | None,
    changed_since: float | None,
) -> Decision:
    if to_resource is None:
        on_target = obj.replicas
    else:
        on_target = tuple(r for r in obj.replicas if resource_matches(r, to_resource))
    if operation is Operation.REGISTER_AS_REPLICA_SYNC and to_resource is not None and not on_target:
        return Decision(Action.REGISTER_REPLICA, f"no replica on resource {to_resource}: register one", DATA_OBJ_CREATE)
    reference = _pick_reference(on_target or obj.replicas, physical_path)
    if not _is_changed(entry, reference, checksum_match):
        return _plan_unchanged(entry, reference, changed_since)
    # only a changed object needs the whole context (a rescan's unchanged files never build one)
    ctx = _Context(entry, obj, operation, to_resource, physical_path, on_target, reference)
    return _EXISTING_CHANGED[operation](ctx)


def _plan_unchanged(entry: Entry, reference: Replica | None, changed_since: float | None) -> Decision:
    if changed_since is not None and entry.ctime >= changed_since:
        reason = "only metadata (ctime) changed since the last pass"
        return Decision(Action.HOOKS_ONLY, reason, DATA_OBJ_MODIFY, reference)
    return Decision(Action.SKIP, "unchanged: size and mtime match the catalog", None, reference)


def _no_target_replica(ctx: _Context) -> Decision:
    return Decision(
        Action.CONFLICT,
        f"data object {ctx.obj.logical_path} has no replica on resource {ctx.to_resource}; "
        f"{ctx.operation.name} does not create replicas of existing objects",
    )


def _path_mismatch(ctx: _Context) -> Decision | None:
    """CONFLICT when no replica on the resource has the known physical path (old: wrong resource or path)."""
    if ctx.physical_path is None or ctx.to_resource is None:
        return None
    if any(r.physical_path == ctx.physical_path for r in ctx.on_target):
        return None
    return Decision(
        Action.CONFLICT,
        f"wrong resource or path: no replica of {ctx.obj.logical_path} on resource {ctx.to_resource} "
        f"has physical path {ctx.physical_path}",
    )


def _changed_register_sync(ctx: _Context) -> Decision:
    if not ctx.on_target:
        return _no_target_replica(ctx)
    mismatch = _path_mismatch(ctx)
    if mismatch is not None:
        return mismatch
    return Decision(Action.UPDATE, "source changed: update size and mtime", DATA_OBJ_MODIFY, ctx.reference)


def _changed_register_as_replica(ctx: _Context) -> Decision:
    if ctx.to_resource is None:
        return Decision(Action.CONFLICT, "REGISTER_AS_REPLICA_SYNC needs to_resource for an existing object")
    return _changed_register_sync(ctx)


def _changed_put(ctx: _Context) -> Decision:
    return Decision(Action.SKIP, "PUT never modifies an existing object", None, ctx.reference)


def _changed_put_sync(ctx: _Context) -> Decision:
    if not ctx.on_target:
        return _no_target_replica(ctx)
    return Decision(Action.OVERWRITE, "source changed: upload it again", DATA_OBJ_MODIFY, ctx.reference)


def _changed_put_append(ctx: _Context) -> Decision:
    if not ctx.on_target:
        return _no_target_replica(ctx)
    old, new = (ctx.reference.size if ctx.reference else 0), ctx.entry.size
    if new > old:
        reason = f"source grew from {old} to {new} bytes: append the new bytes"
        return Decision(Action.APPEND, reason, DATA_OBJ_MODIFY, ctx.reference)
    if new < old:
        reason = f"source shrank from {old} to {new} bytes (truncated): upload it again"
    else:
        reason = "source rewritten with the same size: upload it again"
    return Decision(Action.OVERWRITE, reason, DATA_OBJ_MODIFY, ctx.reference)


def _changed_no_op(ctx: _Context) -> Decision:
    return Decision(Action.HOOKS_ONLY, "NO_OP: hooks only", DATA_OBJ_MODIFY, ctx.reference)


_EXISTING_CHANGED = {
    Operation.REGISTER_SYNC: _changed_register_sync,
    Operation.REGISTER_AS_REPLICA_SYNC: _changed_register_as_replica,
    Operation.PUT: _changed_put,
    Operation.PUT_SYNC: _changed_put_sync,
    Operation.PUT_APPEND: _changed_put_append,
    Operation.NO_OP: _changed_no_op,
}


def plan_delete(catalog_obj: CatalogState, delete_mode: DeleteMode) -> Decision:
    """Decide what to do with a catalog entry whose source is gone."""
    if delete_mode is DeleteMode.DO_NOT_DELETE:
        return Decision(Action.SKIP, "delete mode DO_NOT_DELETE keeps catalog entries")
    if catalog_obj is None:
        return Decision(Action.SKIP, "nothing in the catalog to delete")
    event = COLL_DELETE if catalog_obj is COLLECTION else DATA_OBJ_DELETE
    return Decision(Action.DELETE, f"source is gone: delete mode {delete_mode.name}", event)


def check_compatible(operation: Operation, delete_mode: DeleteMode) -> None:
    """Raise ConfigError when the delete mode is not allowed with the operation."""
    if is_compatible(operation, delete_mode):
        return
    allowed = ", ".join(sorted(m.name for m in COMPATIBLE_DELETE_MODES[operation]))
    raise ConfigError(
        f"operation {operation.name} and delete mode {delete_mode.name} are incompatible "
        f"({operation.name} allows: {allowed})"
    )
