"""Renames and deletions the watcher sees, applied to the catalog per the job's operation and delete mode.

Run in the watcher's own process, in event order, so that every batch it queues afterwards finds the
catalog already renamed (a worker reaching the old name finds it vanished). The cases:
- a file or directory renamed inside the zone: its data object or collection is renamed (never a
  second copy), whatever the delete mode, since no data left the zone; under REGISTER_SYNC and
  REGISTER_AS_REPLICA_SYNC each replica that recorded the old file records the new one;
- renamed onto a name the catalog already holds (an editor's save-by-rename): the destination is
  an update (synced as a changed file) and the old name is a deletion;
- moved out of the zone, or deleted: a deletion, applied per the delete mode (DO_NOT_DELETE keeps
  the object), refused while the source root is empty or missing (an unmounted zone).
"""

from __future__ import annotations

import os
from typing import Any

import structlog

from ..errors import LzIngestError
from ..handlers.loader import Handler
from ..irods import catalog as adapter
from ..irods.session import SessionPool
from ..jobs import JobSpec
from ..model import DeleteMode, Operation
from ..naming import logical_path
from ..plan import check_compatible
from ..sources.base import Source
from ..tasks.meta import path_meta

log = structlog.get_logger("lz_ingest.watcher")
_REGISTERS = frozenset({Operation.REGISTER_SYNC, Operation.REGISTER_AS_REPLICA_SYNC})


class CatalogChanges:
    """Applies renames and deletions of one zone's paths to its target collection."""

    def __init__(self, spec: JobSpec, handler: Handler, pool: SessionPool, source: Source) -> None:
        self.spec, self.handler, self.pool, self.source = spec, handler, pool, source
        self.cmap = handler.character_map()

    def logical(self, path: str) -> str:
        return logical_path(self.source.root, self.spec.target, path, self.cmap)[0]

    def rename(self, src: str, dest: str, is_directory: bool) -> str:
        """Apply a rename inside the zone; returns what was done (logged and counted by the caller)."""
        try:
            return self._rename(src, dest, is_directory)
        except LzIngestError as exc:
            log.error("rename_failed", src=src, dest=dest, error=str(exc))
            return "rename_failed"

    def _rename(self, src: str, dest: str, is_directory: bool) -> str:
        session = self.pool.session()
        old, new = self.logical(src), self.logical(dest)
        meta = path_meta(self.spec, dest, new)
        operation = self.handler.operation(session, meta)
        if operation is Operation.NO_OP:
            return "rename_ignored"
        parent, name = old.rsplit("/", 1)
        listing = adapter.list_collection(session, parent)
        held = name in listing.subcollections if is_directory else name in listing.objects
        if not held:
            return "rename_unknown"  # never ingested: the destination is synced as a new file
        new_parent, new_name = new.rsplit("/", 1)
        there = adapter.list_collection(session, new_parent)
        if new_name in there.objects or new_name in there.subcollections:
            self.delete(src, is_directory)  # save-by-rename: the destination is an update
            return "rename_over_existing"
        adapter.ensure_collection(session, new_parent)
        if is_directory:
            adapter.rename_collection(session, old, new)
        else:
            adapter.rename_object(session, old, new)
        if operation in _REGISTERS and not self.handler.defines("target_path"):
            self._repoint(session, new, src, dest, is_directory)
        log.info("renamed", src=old, dest=new, collection=is_directory)
        return "renamed"

    def _repoint(self, session: Any, new: str, src: str, dest: str, is_directory: bool) -> None:
        """Registered replicas that recorded the old file (or a file below the old directory) record the new."""
        old_phys, new_phys = self.source.physical_path(src), self.source.physical_path(dest)
        if is_directory:
            replicas = adapter.replicas_below(session, new)
        else:
            parent, name = new.rsplit("/", 1)
            held = adapter.list_collection(session, parent).objects.get(name)
            replicas = [(new, r) for r in held.replicas] if held else []
        prefix = old_phys.rstrip("/") + "/"
        for logical, replica in replicas:
            if replica.physical_path == old_phys:
                adapter.set_physical_path(session, logical, replica, new_phys)
            elif is_directory and replica.physical_path.startswith(prefix):
                moved = new_phys.rstrip("/") + "/" + replica.physical_path[len(prefix) :]
                adapter.set_physical_path(session, logical, replica, moved)

    def delete(self, path: str, is_directory: bool) -> str:
        """Apply a deletion (or a move out of the zone) per the delete mode."""
        try:
            return self._delete(path, is_directory)
        except LzIngestError as exc:
            log.error("delete_failed", path=path, error=str(exc))
            return "delete_failed"

    def _delete(self, path: str, is_directory: bool) -> str:
        logical = self.logical(path)
        meta = path_meta(self.spec, path, logical)
        mode = self.handler.delete_mode(meta)
        if mode is DeleteMode.DO_NOT_DELETE or logical.rstrip("/") == self.spec.target.rstrip("/"):
            return "delete_kept"
        session = self.pool.session()
        check_compatible(self.handler.operation(session, meta), mode)
        if not self.source.root_has_entries():
            log.warning("delete_refused", path=path, reason=f"source root {self.spec.source} is empty (unmounted?)")
            return "delete_refused"
        parent, name = logical.rsplit("/", 1)
        listing = adapter.list_collection(session, parent)
        if (name not in listing.subcollections) if is_directory else (name not in listing.objects):
            return "delete_unknown"
        event = "coll_delete" if is_directory else "data_obj_delete"
        with self.handler.around(event, session, meta):
            if is_directory:
                adapter.delete_collection(session, logical, mode)
            else:
                adapter.delete_object(session, logical, mode)
        log.info("deleted", path=logical, mode=mode.name)
        return f"deleted_{mode.name.lower()}"


def is_inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)
