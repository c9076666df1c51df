"""The shared vocabulary: what a source saw, what the catalog holds, and what to do about it."""

from __future__ import annotations

import enum
from typing import NamedTuple


class Operation(enum.Enum):
    """What a sync does to one path (names and values as in the old framework)."""

    REGISTER_SYNC = 0
    REGISTER_AS_REPLICA_SYNC = 1
    PUT = 2
    PUT_SYNC = 3
    PUT_APPEND = 4
    NO_OP = 5


class DeleteMode(enum.Enum):
    """What happens to catalog entries whose source is gone (names and values as in the old framework)."""

    DO_NOT_DELETE = 0
    UNREGISTER = 1
    TRASH = 2
    NO_TRASH = 3


# Which delete mode each operation allows (seed-behaviour.md); any other pair is refused up front.
COMPATIBLE_DELETE_MODES: dict[Operation, frozenset[DeleteMode]] = {
    Operation.NO_OP: frozenset({DeleteMode.DO_NOT_DELETE}),
    Operation.REGISTER_SYNC: frozenset({DeleteMode.DO_NOT_DELETE, DeleteMode.UNREGISTER}),
    Operation.REGISTER_AS_REPLICA_SYNC: frozenset({DeleteMode.DO_NOT_DELETE, DeleteMode.UNREGISTER}),
    Operation.PUT: frozenset({DeleteMode.DO_NOT_DELETE}),
    Operation.PUT_SYNC: frozenset({DeleteMode.DO_NOT_DELETE, DeleteMode.TRASH, DeleteMode.NO_TRASH}),
    Operation.PUT_APPEND: frozenset({DeleteMode.DO_NOT_DELETE, DeleteMode.TRASH, DeleteMode.NO_TRASH}),
}


def is_compatible(operation: Operation, delete_mode: DeleteMode) -> bool:
    return delete_mode in COMPATIBLE_DELETE_MODES[operation]


class EntryKind(enum.Enum):
    """File types, named as the old `--exclude_file_type` values."""

    REGULAR = "regular"
    DIRECTORY = "directory"
    CHARACTER = "character"
    BLOCK = "block"
    SOCKET = "socket"
    PIPE = "pipe"
    LINK = "link"


class Entry(NamedTuple):
    """One thing a source saw: a path with its stat, as a plain value that crosses process boundaries
    (a named tuple: a scan makes one per file).

    `path` is the source path as the OS gives it (str with surrogateescape for non-UTF-8 bytes);
    `mtime` is the source's modification time in seconds since the epoch; `size` is in bytes.
    For a symlink that is not followed, `kind` is LINK and `link_target` is
    join(dirname(path), readlink(path)) as the old framework records it.
    """

    path: str
    kind: EntryKind
    size: int
    mtime: float
    ctime: float = 0.0
    link_target: str | None = None
    etag: str | None = None  # S3 sources


class Replica(NamedTuple):
    """One replica of a data object as the catalog holds it (a named tuple: a rescan makes one per file)."""

    number: int
    resource_hierarchy: str  # "root;leaf" or just "leaf"
    physical_path: str
    size: int
    mtime: int  # seconds since the epoch, as the catalog stores it
    status: str  # "0" stale, "1" good, others intermediate/locked
    checksum: str = ""

    @property
    def root_resource(self) -> str:
        return self.resource_hierarchy.split(";", 1)[0]

    @property
    def leaf_resource(self) -> str:
        return self.resource_hierarchy.rsplit(";", 1)[-1]


class CatalogObject(NamedTuple):
    """What the catalog holds under one logical name: a data object with its replicas."""

    logical_path: str
    replicas: tuple[Replica, ...] = ()

    @property
    def size(self) -> int:
        return self.replicas[0].size if self.replicas else 0

    @property
    def mtime(self) -> int:
        return self.replicas[0].mtime if self.replicas else 0


class Action(enum.Enum):
    """What a sync decides to do for one entry."""

    SKIP = "skip"  # nothing differs
    SKIP_SPECIAL = "skip_special"  # a FIFO, socket or device under a PUT-type operation: it has no bytes to upload
    REGISTER = "register"  # new object, register the physical path in place
    UPDATE = "update"  # registered replica: update size / mtime in the catalog
    REGISTER_REPLICA = "register_replica"  # add a replica on another resource (regRepl)
    UPLOAD = "upload"  # new object, upload the bytes
    OVERWRITE = "overwrite"  # existing object, upload the whole file again
    APPEND = "append"  # existing object, upload only the bytes past the catalog size
    HOOKS_ONLY = "hooks_only"  # NO_OP: run the hooks, change nothing
    CONFLICT = "conflict"  # a collection where an object should go, or the reverse: a failure
    DELETE = "delete"  # the source is gone: apply the delete mode
    CREATE_COLLECTION = "create_collection"  # new directory: create its collection
