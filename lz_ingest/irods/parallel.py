"""lz-ingest's own multi-connection writer: a large object from a stream without a descriptor (an S3 object)
is sent over several connections at once, each writing its byte range as it reads it.

python-irodsclient's parallel put takes a local file name; the protocol is the same as its own
(irods/parallel.py): the first connection opens the replica for writing with the thread count and the
size, asks for the replica token (GET_FILE_DESCRIPTOR_INFO), the others open the same replica with that
token and hierarchy, each seeks to its range and writes it; the others close with REPLICA_CLOSE (no
finalize), then the first closes and finalizes. Each range is read through its own stream (`reopened`),
in ranges the stream chose (`parallel_ranges`: whole S3 parts, so that each part's MD5 is checked by the
reader that reads it). Memory: one chunk per connection.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import irods.keywords as kw
from irods.session import iRODSSession

from lz_ingest.errors import CatalogError, SourceError
from lz_ingest.irods import api
from lz_ingest.sources.base import SourceStream, descriptor, stream_end

PARALLEL_THRESHOLD = 32 * 1024 * 1024  # bytes above which iput and PRC's put go parallel too
CONNECTIONS = 4
CHUNK_SIZE = 8 * 1024 * 1024


def ranges_for(src: SourceStream) -> list[tuple[int, int]] | None:
    """The byte ranges to send at once, or None for one connection (small, has a descriptor, or cannot split)."""
    split = getattr(src, "parallel_ranges", None)
    if descriptor(src) is not None or not callable(split) or not callable(getattr(src, "reopened", None)):
        return None
    if stream_end(src) <= PARALLEL_THRESHOLD:
        return None
    ranges = split(CONNECTIONS)
    return ranges if isinstance(ranges, list) and len(ranges) > 1 else None


def send(
    session: iRODSSession,
    logical_path: str,
    options: dict[str, str],
    src: SourceStream,
    ranges: list[tuple[int, int]],
    opened: Callable[[], None],
) -> int:
    """Create (truncate) the replica and write `ranges` of `src` over as many connections; returns bytes sent."""
    what = getattr(src, "name", "source")
    size = ranges[-1][1]
    threads = {kw.NUM_THREADS_KW: str(len(ranges)), kw.DATA_SIZE_KW: str(size)}
    first = api.open_replica(session, logical_path, api.WRITE_NEW, {**options, **threads})
    opened()
    others: list[api.Descriptor] = []
    streams: list[SourceStream] = [src]
    try:
        token, hierarchy = first.replica_access_info()
        for _ in ranges[1:]:
            join = {**threads, kw.RESC_HIER_STR_KW: hierarchy, kw.REPLICA_TOKEN_KW: token}
            others.append(api.open_replica(session, logical_path, api.O_WRONLY, join))
            streams.append(src.reopened())  # type: ignore[attr-defined]
        sent = _run(streams, [first, *others], ranges, what)
        while others:
            others.pop().close_replica()
    except BaseException:
        for fd in [*others, first]:
            fd.abandon()
        raise
    finally:
        for stream in streams[1:]:
            stream.close()
    first.close()  # finalizes: size, status (and a checksum the options asked for)
    return sent


def _run(streams: list[SourceStream], fds: list[api.Descriptor], ranges: list[tuple[int, int]], what: str) -> int:
    failed = threading.Event()  # one range failing stops the others between chunks
    with ThreadPoolExecutor(len(ranges), thread_name_prefix="lz-parallel") as pool:
        futures = [
            pool.submit(_send_range, stream, fd, start, end, what, failed)
            for stream, fd, (start, end) in zip(streams, fds, ranges, strict=True)
        ]
        return sum(future.result() for future in futures)


def _send_range(src: SourceStream, fd: api.Descriptor, start: int, end: int, what: str, failed: threading.Event) -> int:
    try:
        fd.seek(start)
        src.seek(start)
        offset = start
        while offset < end and not failed.is_set():
            count = min(CHUNK_SIZE, end - offset)
            data = src.read(count)
            if len(data) != count:
                raise SourceError(f"{what}: read {len(data)} of {count} bytes at offset {offset}")
            written = fd.write(data)
            if written != count:
                raise CatalogError(f"{what}: iRODS stored {written} of {count} bytes at offset {offset}")
            offset += count
        if offset < end:
            raise SourceError(f"{what}: stopped at offset {offset}: another range failed")
        return end - start
    except BaseException:
        failed.set()
        raise
