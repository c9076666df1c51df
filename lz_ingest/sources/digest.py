"""Checksums of source streams, in the form iRODS records them ('sha2:' + base64 of the SHA-256)."""

from __future__ import annotations

import base64
import hashlib

from lz_ingest.errors import SourceError
from lz_ingest.sources.base import SourceStream

CHUNK_SIZE = 8 * 1024 * 1024  # bytes per read: large enough that a read's own cost does not show


def read(stream: SourceStream, size: int, what: str) -> bytes:
    """Up to `size` bytes from the stream's position; a failed read is a SourceError naming `what`."""
    try:
        return stream.read(size)
    except OSError as exc:
        raise SourceError(f"{what}: cannot read: {exc.strerror or exc}") from exc


def hashed(stream: SourceStream, limit: int | None, what: str) -> hashlib._Hash:
    """The SHA-256 of the stream from its position, to its end or over at most `limit` bytes."""
    digest = hashlib.sha256()
    left = limit if limit is not None else -1
    while left != 0:
        block = read(stream, CHUNK_SIZE if left < 0 else min(CHUNK_SIZE, left), what)
        if not block:
            break
        digest.update(block)
        left = left - len(block) if left > 0 else left
    return digest


def continued(digest: hashlib._Hash, stream: SourceStream, what: str) -> hashlib._Hash:
    """A copy of `digest` fed the rest of the stream."""
    whole = digest.copy()
    while block := read(stream, CHUNK_SIZE, what):
        whole.update(block)
    return whole


def irods_sha2(digest: hashlib._Hash) -> str:
    return "sha2:" + base64.b64encode(digest.digest()).decode()


def stream_checksum(stream: SourceStream, what: str) -> str:
    """The iRODS checksum of the whole stream; it is read from its start and left at its start."""
    stream.seek(0)
    checksum = irods_sha2(hashed(stream, None, what))
    stream.seek(0)
    return checksum
