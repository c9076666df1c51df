"""A second Source, used only by the tests: an in-memory tree behind the same protocol as LocalSource.

It proves the seam: a pass over it runs through the real scan and sync tasks, irods-lite and RQ, and
every byte uploaded is read through its streams, which have no file descriptor (the upload's plain read
loop, as an object store's stream will take). Nothing it holds exists on a disk, so it has no physical
path for a server to register: a register is refused with that reason.

Its URIs are `mem://<name>/<root>`. A tree lives in the memory of the process that made it, so the test
registers the scheme in its own process (sources.registry.register_scheme) and runs the RQ worker there
too (an in-process SimpleWorker); worker processes spawned apart from the test could not see the tree.
"""

from __future__ import annotations

import io
import posixpath
from dataclasses import dataclass, field

from lz_ingest.errors import SourceError
from lz_ingest.model import Entry, EntryKind
from lz_ingest.sources.base import Ancestry, DirectoryListing, DirectoryRef, Problem, SourceStream
from lz_ingest.sources.digest import stream_checksum
from lz_ingest.sources.filters import ScanOptions, excluded_by_file_name, excluded_by_kind

NO_SUCH_FILE = "No such file or directory"
NO_PHYSICAL_PATH = "an in-memory source has no physical path the iRODS server can see"


class MemoryStream(io.BytesIO):
    """The bytes of one file, named by its path; fileno() raises io.UnsupportedOperation, as BytesIO's does."""

    def __init__(self, data: bytes, name: str) -> None:
        super().__init__(data)
        self.name = name


@dataclass
class MemorySource:
    """A tree of files (absolute path -> bytes, with mtimes) under `root`; directories are the files' parents
    plus `empty_dirs`. `opened` counts the streams handed out per path (what the uploads read)."""

    name: str
    root: str
    files: dict[str, bytes] = field(default_factory=dict)
    mtimes: dict[str, float] = field(default_factory=dict)
    empty_dirs: set[str] = field(default_factory=set)
    opened: dict[str, int] = field(default_factory=dict)

    def put(self, path: str, data: bytes, mtime: float) -> None:
        self.files[path] = data
        self.mtimes[path] = mtime

    def remove(self, path: str) -> None:
        del self.files[path], self.mtimes[path]

    @property
    def uri(self) -> str:
        return f"mem://{self.name}{self.root}"

    def describe(self) -> str:
        return self.uri

    def root_problem(self) -> str | None:
        if self.root in self.files:
            return "not a directory"
        return None if self._is_dir(self.root) else "no such directory"

    def root_has_entries(self) -> bool:
        return any(self._children(self.root))

    def list(self, path: str, options: ScanOptions, ancestry: Ancestry | None = None) -> DirectoryListing:
        if not self._is_dir(path):
            return DirectoryListing(path, (), (), (), (Problem(path, NO_SUCH_FILE),))
        entries, subdirectories, excluded = [], [], []
        for child in sorted(self._children(path)):
            kind = EntryKind.REGULAR if child in self.files else EntryKind.DIRECTORY
            if excluded_by_file_name(child, options) or excluded_by_kind(child, kind, False, options):
                excluded.append(child)
            elif kind is EntryKind.DIRECTORY:
                subdirectories.append(DirectoryRef(child, ()))
            else:
                entries.append(self._entry(child))
        return DirectoryListing(path, tuple(entries), tuple(subdirectories), tuple(excluded), ())

    def stat(self, path: str, follow_symlinks: bool) -> Entry | None:
        return self._entry(path) if path in self.files else None

    def restat(self, entry: Entry, follow_symlinks: bool) -> Entry | None:
        return self.stat(entry.path, follow_symlinks)

    def is_settled(self, entry: Entry, now: float, settle_seconds: float) -> bool:
        return abs(now - entry.mtime) >= settle_seconds

    def check_readable(self, entry: Entry) -> Problem | None:
        return None if entry.path in self.files else Problem(entry.path, NO_SUCH_FILE)

    def physical_path(self, path: str) -> str:
        raise SourceError(f"{path}: {NO_PHYSICAL_PATH}")

    def as_uploaded(self, entry: Entry) -> Entry:
        return entry  # no links in a memory tree

    def open(self, path: str) -> SourceStream:
        if path not in self.files:
            raise SourceError(f"{path}: {NO_SUCH_FILE}")
        self.opened[path] = self.opened.get(path, 0) + 1
        return MemoryStream(self.files[path], path)

    def read_range(self, path: str, offset: int, length: int) -> bytes:
        with self.open(path) as stream:
            stream.seek(offset)
            return stream.read(length)

    def checksum(self, path: str) -> str:
        with self.open(path) as stream:
            return stream_checksum(stream, path)

    def _entry(self, path: str) -> Entry:
        mtime = self.mtimes[path]
        return Entry(path, EntryKind.REGULAR, len(self.files[path]), mtime, mtime, None)

    def _is_dir(self, path: str) -> bool:
        prefix = path.rstrip("/") + "/"
        return path in self.empty_dirs or any(p.startswith(prefix) for p in (*self.files, *self.empty_dirs))

    def _children(self, path: str) -> set[str]:
        """The immediate children of a directory: files, and the first element below it of deeper paths."""
        prefix = path.rstrip("/") + "/"
        found = set()
        for p in (*self.files, *self.empty_dirs):
            if p.startswith(prefix):
                found.add(posixpath.join(path, p[len(prefix) :].split("/", 1)[0]))
        return found
