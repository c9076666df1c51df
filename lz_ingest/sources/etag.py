"""S3 ETags as an integrity check of the bytes read: MD5 of a single-part object, or the multipart form.

A single-part object's ETag is the MD5 of its bytes, except under SSE-KMS or SSE-C (then it is not).
A multipart ETag is the MD5 of the concatenated binary MD5s of its parts, then `-` and the part count;
it can be rebuilt only with the part size the object was actually uploaded with. HeadObject with
PartNumber=1 gives that size (the first part's length) and the part count; the
`--s3_multipart_chunksize_in_mib` setting is only the fallback for a store that does not answer it.
Parts are assumed equal but the last (as every S3 SDK uploads them); a layout that contradicts the
object's size and part count is not checked rather than failed.

The check runs while the bytes are read: each reader (several, for a parallel upload) hashes the
whole parts it reads from their first byte, and the reader that completes the last part compares.
A mismatch raises SourceError before that read returns, so an upload never finalizes bad bytes.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field

from lz_ingest.errors import SourceError

_SINGLE = re.compile(r"^[0-9a-f]{32}$")
_MULTI = re.compile(r"^([0-9a-f]{32})-([0-9]+)$")
UNVERIFIABLE_SSE = frozenset({"aws:kms", "aws:kms:dsse"})


@dataclass(frozen=True)
class Layout:
    """What a check needs: the ETag as S3 gives it (no quotes), the object's size and its part size."""

    etag: str
    size: int
    part_size: int
    parts: int

    def part_of(self, offset: int) -> int:
        return offset // self.part_size if self.part_size else 0

    def part_end(self, part: int) -> int:
        return min(self.size, (part + 1) * self.part_size)


def clean(etag: str) -> str:
    """The ETag without its quotes, lower case."""
    return etag.strip().strip('"').lower()


def layout(
    etag: str,
    size: int,
    *,
    parts_count: int | None,
    first_part_size: int | None,
    fallback_part_size: int,
    encryption: str | None,
    customer_key: bool,
) -> tuple[Layout | None, str]:
    """The layout to verify the object's bytes with, or None and why it cannot be verified by its ETag."""
    tag = clean(etag)
    if customer_key or (encryption or "").lower() in UNVERIFIABLE_SSE:
        return None, "SSE-KMS or SSE-C object: its ETag is not an MD5"
    if _SINGLE.match(tag):
        return Layout(tag, size, max(size, 1), 1), ""
    found = _MULTI.match(tag)
    if found is None:
        return None, f"ETag {tag!r} is neither an MD5 nor a multipart ETag"
    parts = int(found.group(2))
    part_size = first_part_size if parts_count == parts and first_part_size else fallback_part_size
    if parts < 1 or part_size <= 0 or not (parts - 1) * part_size < size <= parts * part_size:
        return None, f"{parts} parts of {part_size} bytes cannot make {size} bytes"
    return Layout(tag, size, part_size, parts), ""


def rebuilt(digests: list[bytes]) -> str:
    """The multipart ETag of parts with these binary MD5s."""
    return f"{hashlib.md5(b''.join(digests)).hexdigest()}-{len(digests)}"


@dataclass
class Verifier:
    """The part digests of one object, shared by its readers; `what` names it in the failure."""

    layout: Layout
    what: str
    digests: dict[int, bytes] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    verified: bool = False

    def record(self, part: int, digest: bytes) -> None:
        """One whole part hashed; when every part is, compare (SourceError on a mismatch)."""
        with self.lock:
            self.digests[part] = digest
            if len(self.digests) < self.layout.parts:
                return
            ordered = [self.digests[i] for i in range(self.layout.parts)]
            self.digests.clear()  # a later full read (a retried upload) is checked again
        got = ordered[0].hex() if self.layout.parts == 1 and "-" not in self.layout.etag else rebuilt(ordered)
        if got != self.layout.etag:
            raise SourceError(
                f"{self.what}: the bytes read do not match the object's ETag {self.layout.etag} (got {got}"
                f"{'' if self.layout.parts == 1 else f', parts of {self.layout.part_size} bytes'})"
            )
        self.verified = True


class PartHasher:
    """One reader's hashing: the parts it reads whole, from their first byte, in order."""

    def __init__(self, verifier: Verifier) -> None:
        self.verifier = verifier
        self.expected: int | None = None  # offset of the next byte the current part needs
        self.md5: hashlib._Hash | None = None

    def feed(self, offset: int, data: bytes) -> None:
        """Bytes read at `offset`."""
        layout = self.verifier.layout
        if layout.size == 0:
            self.verifier.record(0, hashlib.md5(b"").digest())
            return
        if offset != self.expected:
            self.md5 = None  # a jump: the part being hashed is incomplete
        view, here = memoryview(data), offset
        while view:
            part = layout.part_of(here)
            start, end = part * layout.part_size, layout.part_end(part)
            if self.md5 is None and here == start:
                self.md5 = hashlib.md5()
            take = min(len(view), end - here)
            if self.md5 is not None:
                self.md5.update(view[:take])
            view, here = view[take:], here + take
            if here == end and self.md5 is not None:
                digest, self.md5 = self.md5.digest(), None
                self.verifier.record(part, digest)
        self.expected = here
