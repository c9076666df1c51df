"""Moving bytes into iRODS: whole-file uploads and appends, verified by checksum or by comparing bytes.

The bytes come from a source's stream (sources.base.SourceStream), opened by the caller. A stream with a
file descriptor is sent by the kernel (pread / sendfile, no copy through Python); one without (an object
store's, a memory buffer) is read chunk by chunk and each chunk written as it is; a large one that can be
read in independent ranges (an S3 object) is sent over several connections at once (irods/parallel.py).
A stream that checks what it delivers (`verifies_itself`: an S3 object's ETag) fails its last read on a
mismatch, before the replica is finalized; with --checksum the server then computes and records one.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import irods.keywords as kw
import structlog
from irods.session import iRODSSession

from lz_ingest.errors import CatalogError, CatalogUnavailableError, LzIngestError, SourceError
from lz_ingest.irods import api, parallel
from lz_ingest.irods.writes import call, epoch11, modify_replica, resource_options
from lz_ingest.model import Replica
from lz_ingest.sources.base import SourceStream, descriptor, printable, stream_end
from lz_ingest.sources.digest import continued, hashed, irods_sha2, read, stream_checksum

CHUNK_SIZE = 8 * 1024 * 1024  # bytes per write request, as python-irodsclient sends them
TAIL_SIZE = 64 * 1024  # bytes compared to check that a source still starts with the object's content

log = structlog.get_logger("lz_ingest.irods")


class AppendOutcome(enum.Enum):
    """Which path an append took."""

    APPENDED = "appended"  # the bytes past the object's size were sent
    UPLOADED = "uploaded"  # the source was rewritten or truncated: the whole file was sent again
    UNCHANGED = "unchanged"  # the object already holds the whole source


def upload(
    session: iRODSSession,
    src: SourceStream,
    logical_path: str,
    *,
    resource: str | None,
    mtime: float,
    checksum: bool = False,
    size: int | None = None,
    replica: Replica | None = None,
) -> int:
    """Upload a whole stream: a new object, or over `replica` (the one on the target resource). Returns bytes sent.

    The catalog mtime is then set to `mtime` (the source's), not left at the server's close time.
    With `checksum` the server checksums at close and verifies it against the stream's SHA-256.
    A new object left half-written by a failure is removed.
    """
    options = resource_options(replica.resource_hierarchy if replica else resource or _default_resource(session))
    what, attempt = f"upload {logical_path}", _Attempt()
    try:
        sent = call(session, what, lambda: _upload(session, src, logical_path, options, checksum, attempt))
    except LzIngestError as exc:
        if replica is None and attempt.opened and not isinstance(exc, CatalogUnavailableError):
            _remove_partial(session, logical_path)
        raise
    _log_size_change(logical_path, size, sent)
    modify_replica(session, logical_path, replica, {kw.DATA_MODIFY_KW: epoch11(mtime)})
    return sent


def _default_resource(session: iRODSSession) -> str | None:
    """irods_default_resource of the environment file, as iput and PRC's put use it."""
    return getattr(session.pool.account, "default_resource", None)


@dataclass
class _Attempt:
    opened: bool = False


def _upload(
    session: iRODSSession,
    src: SourceStream,
    logical_path: str,
    options: dict[str, str],
    checksum: bool,
    attempt: _Attempt,
) -> int:
    """One attempt (a retried one starts again from the stream's first byte)."""
    if checksum and getattr(src, "verifies_itself", False):  # its reads check the bytes: the server records one
        options = {**options, kw.REG_CHKSUM_KW: ""}
    elif checksum:  # known at open, the server verifies what it stored at close (USER_CHKSUM_MISMATCH)
        options = {**options, kw.VERIFY_CHKSUM_KW: stream_checksum(src, _name(src))}
    ranges = parallel.ranges_for(src)
    if ranges is not None:
        return parallel.send(session, logical_path, options, src, ranges, lambda: setattr(attempt, "opened", True))
    fd = api.open_replica(session, logical_path, api.WRITE_NEW, options)
    attempt.opened = True
    with _finalized(fd):
        return _send(src, fd, _name(src), start=0)


def append(
    session: iRODSSession,
    src: SourceStream,
    logical_path: str,
    *,
    replica: Replica,
    mtime: float,
    checksum: bool = False,
) -> AppendOutcome:
    """Send only the bytes past the object's size when the source still starts with the object's content.

    The start is checked with the replica's checksum when it has one, else by comparing the first and
    the last 64 KiB the object holds with the same ranges of the source; a rewritten or truncated source
    is uploaded whole instead. Running it again appends nothing.
    """
    what = f"append {logical_path}"
    outcome, opened = call(session, what, lambda: _append(session, src, logical_path, replica, mtime, checksum))
    if outcome is None:
        upload(session, src, logical_path, resource=None, mtime=mtime, checksum=checksum, replica=replica)
        return AppendOutcome.UPLOADED
    if opened or replica.mtime != int(mtime):  # a close may record its own time
        modify_replica(session, logical_path, replica, {kw.DATA_MODIFY_KW: epoch11(mtime)})
    return outcome


def _append(
    session: iRODSSession, src: SourceStream, logical_path: str, replica: Replica, mtime: float, checksum: bool
) -> tuple[AppendOutcome | None, bool]:
    """(outcome, opened); outcome None means: upload the whole file."""
    source_size = stream_end(src)
    if source_size < replica.size:
        return None, False
    if source_size == replica.size and replica.mtime == int(mtime):  # what the catalog records already
        return AppendOutcome.UNCHANGED, False
    known = replica.checksum.startswith("sha2:")
    prefix, whole = _sha2_pair(src, replica.size) if (known or checksum) else ("", "")
    if known and prefix != replica.checksum:
        return None, False
    if known and source_size == replica.size:
        return AppendOutcome.UNCHANGED, False
    options = resource_options(replica.resource_hierarchy)
    if checksum:
        options[kw.VERIFY_CHKSUM_KW] = whole
    verified_size = replica.size if known else -1
    return _append_open(session, logical_path, options, src, source_size, verified_size), True


def _append_open(
    session: iRODSSession,
    logical_path: str,
    options: dict[str, str],
    src: SourceStream,
    source_size: int,
    verified: int,
) -> AppendOutcome | None:
    fd = api.open_replica(session, logical_path, api.O_RDWR, options)
    try:
        end = fd.seek(0, api.SEEK_END)  # the replica's real size, even when the listing is stale
        if end > source_size or (end != verified and not (_head_matches(fd, src, end) and _tail_matches(fd, src, end))):
            fd.abandon()  # no finalize: nothing was written, and a verify at close would fail
            return None
    except BaseException:
        fd.abandon()
        raise
    with _finalized(fd):
        sent = _send(src, fd, logical_path, start=end)
    return AppendOutcome.APPENDED if sent else AppendOutcome.UNCHANGED


def _head_matches(fd: api.Descriptor, src: SourceStream, end: int) -> bool:
    """The first min(64 KiB, end) bytes of the object equal the source's (a log restarted and grown past
    the old size keeps its old tail only by chance; its start differs)."""
    length = min(TAIL_SIZE, end)
    if length == 0 or length == end:  # the tail check covers it all
        return True
    fd.seek(0)
    held = _read_exactly(fd, length)
    return held == _source_range(src, 0, length)


def _tail_matches(fd: api.Descriptor, src: SourceStream, end: int) -> bool:
    """The last min(64 KiB, end) bytes of the object equal the same range of the source; leaves fd at `end`."""
    length = min(TAIL_SIZE, end)
    if length == 0:
        return True
    fd.seek(end - length)
    held = _read_exactly(fd, length)
    return held == _source_range(src, end - length, length)


def _read_exactly(fd: api.Descriptor, length: int) -> bytes:
    parts, missing = [], length
    while missing > 0:
        part = fd.read(missing)
        if not part:
            break
        parts.append(part)
        missing -= len(part)
    return b"".join(parts)


# ---- source side --------------------------------------------------------------------------------


def _name(src: SourceStream) -> str:
    """The stream for messages: its name (a local file's path), shown with non-UTF-8 bytes escaped."""
    name = getattr(src, "name", None)
    return printable(name) if isinstance(name, str) else "source"


def _source_range(src: SourceStream, offset: int, length: int) -> bytes:
    """Up to `length` bytes from `offset`: whole, even from a stream that returns short reads."""
    src.seek(offset)
    parts, missing = [], length
    while missing > 0:
        part = read(src, missing, _name(src))
        if not part:
            break
        parts.append(part)
        missing -= len(part)
    return b"".join(parts)


def _sha2_pair(src: SourceStream, prefix_size: int) -> tuple[str, str]:
    """Checksums of the first `prefix_size` bytes and of the whole stream, in one read."""
    src.seek(0)
    digest = hashed(src, prefix_size, _name(src))
    return irods_sha2(digest), irods_sha2(continued(digest, src, _name(src)))


# ---- remote side --------------------------------------------------------------------------------


def _send(src: SourceStream, fd: api.Descriptor, what: str, start: int) -> int:
    """Write the source from `start` to the end it has now; returns the bytes sent."""
    try:
        end = stream_end(src)
    except OSError as exc:
        raise SourceError(f"{what}: cannot read: {exc.strerror or exc}") from exc
    write = _write_from_fd if descriptor(src) is not None else _write_read
    sent = 0
    while start + sent < end:
        count = min(CHUNK_SIZE, end - start - sent)
        offset = start + sent
        written = write(src, fd, offset, count, what)
        if written != count:
            raise CatalogError(f"{what}: iRODS stored {written} of {count} bytes at offset {offset}")
        sent += written
    return sent


def _write_from_fd(src: SourceStream, fd: api.Descriptor, offset: int, count: int, what: str) -> int:
    """The kernel sends the bytes (pread for a small write, sendfile for a large one)."""
    try:
        return fd.write_from(src, offset, count)
    except api.SourceReadError as exc:
        raise SourceError(f"{what}: {exc}") from exc


def _write_read(src: SourceStream, fd: api.Descriptor, offset: int, count: int, what: str) -> int:
    """A stream without a descriptor: read the chunk first, so a short read stops before anything is sent."""
    data = _source_range(src, offset, count)
    if len(data) != count:
        raise SourceError(f"{what}: source shrank while being sent ({offset + len(data)} bytes, expected more)")
    return fd.write(data)


@contextmanager
def _finalized(fd: api.Descriptor) -> Iterator[None]:
    """Close (finalize) the replica after a complete transfer; abandon it, unfinalized, after a failure."""
    try:
        yield
    except BaseException:
        fd.abandon()
        raise
    fd.close()


def _remove_partial(session: iRODSSession, logical_path: str) -> None:
    """Best effort, one call: a failed first upload must not leave an object a later PUT would skip."""
    try:
        session.data_objects.unlink(logical_path, force=True)
    except Exception as exc:  # the failure being reported matters more than this one
        log.warning("irods_partial_upload_left", path=logical_path, error=repr(exc))


def _log_size_change(logical_path: str, expected: int | None, sent: int) -> None:
    if expected is not None and expected != sent:
        log.info("source_changed_during_upload", path=logical_path, scanned_size=expected, sent_size=sent)
