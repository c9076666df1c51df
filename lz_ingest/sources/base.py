"""The Source protocol: every touch of a job's source data goes through one object of this shape.

A source names its entries by absolute POSIX-style paths under its `root` (a local directory; for
an object store, `/bucket/prefix`), so naming, meta and the catalog comparison are the same for
every kind. Its `uri` is what the job records (a local absolute path, `s3://bucket/prefix`):
never credentials. The values it returns (Entry, DirectoryListing) are plain and cross processes.

Reads go through a SourceStream: a seekable byte stream that a local file backs with a file
descriptor (the upload then lets the kernel send the bytes) and that an object store serves by
ranged reads (fileno() raises io.UnsupportedOperation, as io.BytesIO's does).

How an object store fits (sources/s3.py): `list` lists one common prefix (delimiter "/"), its objects
as entries (size, last-modified as mtime and ctime) and its common prefixes as subdirectories;
`stat` is a HeadObject; `physical_path` is "/bucket/key" for an iRODS S3 resource; `open` returns
a stream whose reads are ranged GETs. A prefix too large for one task hands the rest on as
continuations: DirectoryRefs of the same prefix whose `ancestry` slot carries a key range (the
frontier carries it as an opaque, JSON-able value), each listing `bounds` saying what it covers.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

from lz_ingest.model import Entry
from lz_ingest.sources.filters import ScanOptions

DirId = tuple[int, int]  # (st_dev, st_ino): what a directory is, whatever path reaches it
# What a directory to scan carries from its parent's listing: for a local tree the identities of the
# directories above it (loop protection); a source without identities passes () and ignores it.
Ancestry = tuple[DirId, ...]


@dataclass(frozen=True)
class Problem:
    """A path that exists but could not be listed or read, with the reason (e.g. "Permission denied")."""

    path: str
    reason: str


@dataclass(frozen=True)
class DirectoryRef:
    """A directory to scan next, with the identities of itself and of every directory above it."""

    path: str
    ancestry: Ancestry


@dataclass(frozen=True)
class Bounds:
    """The part of a directory one listing covers: the children whose names sort in (after, upto], either end
    open when None, in the order the source lists them (`order`; a source that maps names overrides it)."""

    after: str | None
    upto: str | None

    def order(self, name: str, collection: bool) -> str:
        """The sort key of a child's name (a catalog object's or collection's name, as the source names it)."""
        return name

    def holds(self, name: str, collection: bool) -> bool:
        key = self.order(name, collection)
        return (self.after is None or key > self.after) and (self.upto is None or key <= self.upto)


@dataclass(frozen=True)
class DirectoryListing:
    """What one directory holds. Paths in `excluded` and `problems` exist but are not in `entries`:
    the delete logic must never remove their catalog entries.

    A directory too large for one task is listed in parts: a part has `bounds` (only the catalog names it
    holds are compared with it) and may hand the rest on as `continuations`, DirectoryRefs of the same path
    whose ancestry slot the source reads back (scan them as parts of a directory that exists)."""

    path: str
    entries: tuple[Entry, ...]
    subdirectories: tuple[DirectoryRef, ...]
    excluded: tuple[str, ...]
    problems: tuple[Problem, ...]
    continuations: tuple[DirectoryRef, ...] = ()
    bounds: Bounds | None = None


class SourceStream(Protocol):
    """An open source entry: a seekable byte stream; `fileno()` raises OSError when nothing backs it."""

    def read(self, size: int = -1, /) -> bytes: ...

    def seek(self, offset: int, whence: int = 0, /) -> int: ...

    def tell(self) -> int: ...

    def fileno(self) -> int: ...

    def close(self) -> None: ...

    def __enter__(self) -> SourceStream: ...

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None, /
    ) -> None: ...


class Source(Protocol):
    """One job's source: list, stat, read and describe its entries; every method raises SourceError only."""

    @property
    def uri(self) -> str:
        """What the job records as its source (a local absolute path, or scheme://...)."""
        ...

    @property
    def root(self) -> str:
        """The absolute path its entries are named under; the root scan starts here."""
        ...

    def describe(self) -> str:
        """The source for messages and logs."""
        ...

    def root_problem(self) -> str | None:
        """Why the root cannot be scanned ("no such directory", "not a directory"); None when it can."""
        ...

    def root_has_entries(self) -> bool:
        """Whether the root holds anything (an empty root may be an unmounted volume); SourceError when unreadable."""
        ...

    def list(self, path: str, options: ScanOptions, ancestry: Ancestry | None = None) -> DirectoryListing:
        """One directory (or prefix) without descending; `ancestry` from its DirectoryRef, None for the root."""
        ...

    def stat(self, path: str, follow_symlinks: bool) -> Entry | None:
        """Describe one path again (just before syncing it); None when it vanished."""
        ...

    def restat(self, entry: Entry, follow_symlinks: bool) -> Entry | None:
        """A listed entry described again just before it is synced (its `stat`); a source whose listing is
        current returns it as listed (an object store: an object appears whole, and a read pins its version)."""
        ...

    def is_settled(self, entry: Entry, now: float, settle_seconds: float) -> bool:
        """False while the entry may still be written."""
        ...

    def check_readable(self, entry: Entry) -> Problem | None:
        """A cheap check before an entry is registered: why the server-side reader would fail, or None."""
        ...

    def physical_path(self, path: str) -> str:
        """The path a register records for `path`; SourceError when the server cannot see this source's data."""
        ...

    def as_uploaded(self, entry: Entry) -> Entry:
        """The entry as an upload sends it: a symlink not followed carries its target's size and mtime."""
        ...

    def open(self, path: str) -> SourceStream:
        """Open an entry's bytes for reading (a symlink's target's); SourceError when it cannot be."""
        ...

    def read_range(self, path: str, offset: int, length: int) -> bytes:
        """Up to `length` bytes from `offset` (fewer at the end)."""
        ...

    def checksum(self, path: str) -> str:
        """The entry's SHA-256 in the form iRODS records it: 'sha2:' + base64."""
        ...


def descriptor(stream: SourceStream) -> int | None:
    """The stream's file descriptor, or None when it has none (an object store's stream, a memory buffer)."""
    try:
        return stream.fileno()
    except OSError:  # io.UnsupportedOperation is an OSError
        return None


def stream_end(stream: SourceStream) -> int:
    """The size the stream has now (a local file may still grow); the position is kept."""
    here = stream.tell()
    end = stream.seek(0, 2)
    stream.seek(here)
    return end


def printable(path: str) -> str:
    """A path for messages and logs: non-UTF-8 bytes shown as escapes instead of raising."""
    return path.encode("utf-8", "backslashreplace").decode("utf-8")
