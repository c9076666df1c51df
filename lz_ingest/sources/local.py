"""The local filesystem source: list one directory, stat one path, read bytes.

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

from lz_ingest.errors import SourceError
from lz_ingest.model import Entry, EntryKind
from lz_ingest.sources.filters import ScanOptions, excluded_by_file_name, excluded_by_kind

DirId = tuple[int, int]  # (st_dev, st_ino): what a directory is, whatever path reaches it

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


@dataclass(frozen=True)
class Problem:
    """A path that exists but could not be listed or read, with the reason (e.g. "Permission denied")."""

    path: str
    reason: str


@dataclass(frozen=True)
class DirectoryRef:
    """A directory to scan next, with the identities of itself and of every directory above it."""

    path: str
    ancestry: tuple[DirId, ...]


@dataclass(frozen=True)
class DirectoryListing:
    """What one directory holds. Paths in `excluded` and `problems` exist but are not in `entries`:
    the delete logic must never remove their catalog entries."""

    path: str
    entries: tuple[Entry, ...]
    subdirectories: tuple[DirectoryRef, ...]
    excluded: tuple[str, ...]
    problems: tuple[Problem, ...]


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
    again with fstat, so a FIFO swapped in meanwhile cannot hang the worker.
    """
    try:
        _require_regular(path, os.stat(path))
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as err:
        raise SourceError(f"{printable(path)}: {_reason(err)}") from err
    try:
        _require_regular(path, os.fstat(fd))
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return open(fd, "rb")


def _require_regular(path: str, st: os.stat_result) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise SourceError(f"{printable(path)}: not a regular file, not opened")


def read_range(path: str, offset: int, length: int) -> bytes:
    """Up to `length` bytes from `offset` (fewer at the end of the file)."""
    with open_for_upload(path) as stream:
        stream.seek(offset)
        return stream.read(length)


def printable(path: str) -> str:
    """The path for messages and logs: non-UTF-8 bytes shown as escapes instead of raising."""
    return path.encode("utf-8", "backslashreplace").decode("utf-8")
