"""The local filesystem source (LocalSource): list one directory, stat one path, read bytes.

Listing is one `os.scandir` per directory and one stat per child (DirEntry caches it; a followed
symlink adds the stat of its target). FIFOs, sockets and devices are described, never opened.
Paths are str as the OS gives them (non-UTF-8 bytes as surrogateescape), and absolute.

Loop protection when following symlinks: directories are scanned in separate jobs, so each
directory to scan carries its `ancestry`, the (st_dev, st_ino) of itself and of every directory
above it in this walk. A child directory whose identity is already in that chain is a loop and is
reported, not descended. No state is shared between jobs, so a directory reached through two
different, non-nested paths (two links to one target) is listed under both paths, as `find -L`
and `rsync -L` do: each is a distinct source path that the user sees.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import BinaryIO

from lz_ingest import naming
from lz_ingest.errors import SourceError
from lz_ingest.model import Entry, EntryKind
from lz_ingest.sources.base import DirectoryListing, DirectoryRef, DirId, Problem, SourceStream, printable
from lz_ingest.sources.digest import stream_checksum
from lz_ingest.sources.filters import ScanOptions, excluded_by_file_name, excluded_by_kind

SYMLINK_LOOP = "symlink loop"
DIRECTORY_LOOP = "directory loop"  # a bind mount of an ancestor, met without following symlinks
DANGLING_SYMLINK = "dangling symlink"
UNSUPPORTED_TYPE = "unsupported file type"

_KINDS = MappingProxyType(
    {
        stat.S_IFREG: EntryKind.REGULAR,
        stat.S_IFDIR: EntryKind.DIRECTORY,
        stat.S_IFCHR: EntryKind.CHARACTER,
        stat.S_IFBLK: EntryKind.BLOCK,
        stat.S_IFSOCK: EntryKind.SOCKET,
        stat.S_IFIFO: EntryKind.PIPE,
        stat.S_IFLNK: EntryKind.LINK,
    }
)
_ACCESS_EFFECTIVE = os.access in os.supports_effective_ids


@dataclass
class _Found:
    """What one scan collects before it is frozen into a DirectoryListing; local to one call."""

    entries: list[Entry] = field(default_factory=list)
    subdirectories: list[DirectoryRef] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def listing(self, path: str) -> DirectoryListing:
        return DirectoryListing(
            path,
            tuple(self.entries),
            tuple(self.subdirectories),
            tuple(self.excluded),
            tuple(self.problems),
        )


def scan_directory(path: str, options: ScanOptions, ancestry: tuple[DirId, ...] | None = None) -> DirectoryListing:
    """List one directory without descending; `ancestry` comes from its DirectoryRef (None for a root)."""
    path = os.path.abspath(path)
    found = _Found()
    try:
        if ancestry is None:
            ancestry = (_identity(os.stat(path)),)
        with os.scandir(path) as children:
            for child in children:
                _take(child, options, ancestry, found)
    except OSError as err:
        found.problems.append(Problem(path, _reason(err)))
    return found.listing(path)


def iter_tree(root: str, options: ScanOptions) -> Iterator[DirectoryListing]:
    """Walk a whole tree, depth first, by repeated scan_directory (tests, dry runs, benchmarks)."""
    listing = scan_directory(root, options)
    pending = list(listing.subdirectories)
    yield listing
    while pending:
        ref = pending.pop()
        listing = scan_directory(ref.path, options, ref.ancestry)
        pending.extend(listing.subdirectories)
        yield listing


def _take(child: os.DirEntry[str], options: ScanOptions, ancestry: tuple[DirId, ...], found: _Found) -> None:
    path = child.path
    if excluded_by_file_name(path, options):
        found.excluded.append(path)
        return
    try:
        st = child.stat(follow_symlinks=False)
        if stat.S_ISREG(st.st_mode) and not options.exclude_file_type:  # most children: what _sort would do
            found.entries.append(_entry(path, EntryKind.REGULAR, st, record_link=False))
            return
        is_link = stat.S_ISLNK(st.st_mode)
        if is_link and options.follow_symlinks:
            st = child.stat(follow_symlinks=True)
        _sort(path, st, is_link, options, ancestry, found)
    except OSError as err:
        _note_failure(path, err, options.follow_symlinks, found)


def _sort(
    path: str,
    st: os.stat_result,
    is_link: bool,
    options: ScanOptions,
    ancestry: tuple[DirId, ...],
    found: _Found,
) -> None:
    """Put one stat'ed child where it belongs: entries, subdirectories, excluded or problems."""
    kind = _KINDS.get(stat.S_IFMT(st.st_mode))
    if kind is None:
        found.problems.append(Problem(path, UNSUPPORTED_TYPE))
    elif excluded_by_kind(path, kind, is_link, options):
        found.excluded.append(path)
    elif kind is EntryKind.DIRECTORY:
        _descend(path, st, is_link, ancestry, found)
    else:
        found.entries.append(_entry(path, kind, st, is_link and not options.follow_symlinks))


def _descend(path: str, st: os.stat_result, is_link: bool, ancestry: tuple[DirId, ...], found: _Found) -> None:
    identity = _identity(st)
    if identity in ancestry:
        found.problems.append(Problem(path, SYMLINK_LOOP if is_link else DIRECTORY_LOOP))
    else:
        found.subdirectories.append(DirectoryRef(path, (*ancestry, identity)))


def _note_failure(path: str, err: OSError, following: bool, found: _Found) -> None:
    problem = _failure(path, err, following)
    if problem is not None:
        found.problems.append(problem)


def _failure(path: str, err: OSError, following: bool) -> Problem | None:
    """The problem an OSError on `path` means; None when the path simply vanished meanwhile."""
    if isinstance(err, FileNotFoundError):
        return Problem(path, DANGLING_SYMLINK) if following and os.path.lexists(path) else None
    return Problem(path, _reason(err))


def _reason(err: OSError) -> str:
    if err.errno == errno.ELOOP:
        return SYMLINK_LOOP
    return err.strerror or str(err)


def _identity(st: os.stat_result) -> DirId:
    return (st.st_dev, st.st_ino)


def _entry(path: str, kind: EntryKind, st: os.stat_result, record_link: bool) -> Entry:
    """An Entry from one stat; a link not followed records its target as the old framework did."""
    link_target = os.path.join(os.path.dirname(path), os.readlink(path)) if record_link else None
    return Entry(path, kind, st.st_size, st.st_mtime, st.st_ctime, link_target)


def stat_entry(path: str, follow_symlinks: bool) -> Entry | None:
    """Describe one path again (just before syncing it); None when it vanished."""
    try:
        st = os.lstat(path)
        is_link = stat.S_ISLNK(st.st_mode)
        if is_link and follow_symlinks:
            st = os.stat(path)
        kind = _KINDS.get(stat.S_IFMT(st.st_mode))
        if kind is None:
            raise SourceError(f"{printable(path)}: {UNSUPPORTED_TYPE}")
        return _entry(path, kind, st, is_link and not follow_symlinks)
    except OSError as err:
        problem = _failure(path, err, follow_symlinks)
        if problem is None:
            return None
        raise SourceError(f"{printable(path)}: {problem.reason}") from err


def is_settled(entry: Entry, now: float, settle_seconds: float) -> bool:
    """False while the file may still be written: its last change is within settle_seconds of `now`.

    The last change is the later of mtime and ctime: ctime is set by the kernel's clock and cannot be
    back-dated by utime (rsync -t, cp -p). A time far in the future (clock skew, preserved future
    mtime) counts as settled, or such a file would never be synced.
    """
    last_change = max(entry.mtime, entry.ctime)
    return abs(now - last_change) >= settle_seconds


def check_readable(entry: Entry) -> Problem | None:
    """A cheap pre-check before reading a file's bytes; opens nothing."""
    if os.access(entry.path, os.R_OK, effective_ids=_ACCESS_EFFECTIVE):
        return None
    if not os.path.lexists(entry.path):
        return Problem(entry.path, os.strerror(errno.ENOENT))
    if not os.path.exists(entry.path):
        return Problem(entry.path, DANGLING_SYMLINK)
    return Problem(entry.path, os.strerror(errno.EACCES))


def open_for_upload(path: str) -> BinaryIO:
    """Open a regular file (a symlink's target, as PUT uploads it) for reading; raises SourceError.

    Anything else is refused before it is opened, and the open itself is non-blocking and checked
    again with fstat, so a FIFO swapped in meanwhile cannot hang the worker. The stream's name is
    the path (messages), and it has a file descriptor (uploads send its bytes with sendfile).
    """
    try:
        _require_regular(path, os.stat(path))
        return open(path, "rb", opener=_open_regular)
    except OSError as err:
        raise SourceError(f"{printable(path)}: {_reason(err)}") from err


def _open_regular(path: str, flags: int) -> int:
    fd = os.open(path, flags | os.O_NONBLOCK | os.O_NOCTTY)
    try:
        _require_regular(path, os.fstat(fd))
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _require_regular(path: str, st: os.stat_result) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise SourceError(f"{printable(path)}: not a regular file, not opened")


def read_range(path: str, offset: int, length: int) -> bytes:
    """Up to `length` bytes from `offset` (fewer at the end of the file)."""
    with open_for_upload(path) as stream:
        stream.seek(offset)
        return stream.read(length)


def physical_path(path: str) -> str:
    """The path a register records: the source path itself. iRODS paths are UTF-8 (python-irodsclient encodes
    every message so), so a name that is not cannot be registered in place: a stand-in name would leave a
    replica pointing at nothing."""
    if naming.is_utf8_encodable(path):
        return path
    raise SourceError(
        f"{printable(path)}: the name cannot be encoded as UTF-8, so iRODS cannot record it as a physical "
        "path; rename it, or ingest it with a PUT-type operation"
    )


def as_uploaded(entry: Entry) -> Entry:
    """A symlink not followed is uploaded with its target's bytes: its target's size and mtime, compared with
    the catalog, or the link would differ from its object (lstat size) and be uploaded again every pass."""
    if entry.kind is not EntryKind.LINK:
        return entry
    try:
        st = os.stat(entry.path)
    except OSError as err:
        reason = DANGLING_SYMLINK if isinstance(err, FileNotFoundError) else _reason(err)
        raise SourceError(f"{printable(entry.path)}: {reason}") from err
    return entry._replace(size=st.st_size, mtime=st.st_mtime)


def root_problem(root: str) -> str | None:
    """Why `root` cannot be scanned, in the words the start command prints; None for a directory."""
    if not os.path.exists(root):
        return "no such directory"
    if not os.path.isdir(root):
        return "not a directory"
    return None


def has_entries(directory: str) -> bool:
    """Whether the directory holds anything; SourceError when it cannot be listed."""
    try:
        with os.scandir(directory) as children:
            return any(True for _ in children)
    except OSError as err:
        raise SourceError(f"{printable(directory)}: {_reason(err)}") from err


def checksum(path: str) -> str:
    """The iRODS form of the file's SHA-256: 'sha2:' + base64."""
    with open_for_upload(path) as stream:
        return stream_checksum(stream, printable(path))


@dataclass(frozen=True)
class LocalSource:
    """A directory of the worker's filesystem; the iRODS server registers the same paths (or the handler's
    target_path), so a register records where the file is, and an upload reads it through a descriptor."""

    root: str

    @classmethod
    def from_uri(cls, uri: str) -> LocalSource:
        """A local absolute path or a file:// URI (file:///data/lz): the root, made absolute."""
        return cls(os.path.abspath(uri.removeprefix("file://")))

    @property
    def uri(self) -> str:
        return self.root  # jobs have always recorded a local source as its absolute path

    def describe(self) -> str:
        return printable(self.root)

    def root_problem(self) -> str | None:
        return root_problem(self.root)

    def root_has_entries(self) -> bool:
        return has_entries(self.root)

    def list(self, path: str, options: ScanOptions, ancestry: tuple[DirId, ...] | None = None) -> DirectoryListing:
        return scan_directory(path, options, ancestry)

    def stat(self, path: str, follow_symlinks: bool) -> Entry | None:
        return stat_entry(path, follow_symlinks)

    def restat(self, entry: Entry, follow_symlinks: bool) -> Entry | None:
        return stat_entry(entry.path, follow_symlinks)

    def is_settled(self, entry: Entry, now: float, settle_seconds: float) -> bool:
        return is_settled(entry, now, settle_seconds)

    def check_readable(self, entry: Entry) -> Problem | None:
        return check_readable(entry)

    def physical_path(self, path: str) -> str:
        return physical_path(path)

    def as_uploaded(self, entry: Entry) -> Entry:
        return as_uploaded(entry)

    def open(self, path: str) -> SourceStream:
        return open_for_upload(path)

    def read_range(self, path: str, offset: int, length: int) -> bytes:
        return read_range(path, offset, length)

    def checksum(self, path: str) -> str:
        return checksum(path)
