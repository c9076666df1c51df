"""ETag checks: single-part MD5, multipart rebuilt with the real part size, unverifiable objects left alone."""

from __future__ import annotations

import hashlib
import os

import pytest

from lz_ingest.errors import SourceError
from lz_ingest.sources import etag as etags

MIB = 1024 * 1024


def multipart_etag(data: bytes, part: int) -> str:
    return etags.rebuilt([hashlib.md5(data[i : i + part]).digest() for i in range(0, len(data), part)])


def layout(tag: str, size: int, **kwargs: object) -> etags.Layout | None:
    options: dict[str, object] = {
        "parts_count": None,
        "first_part_size": None,
        "fallback_part_size": 8 * MIB,
        "encryption": None,
        "customer_key": False,
        **kwargs,
    }
    return etags.layout(f'"{tag}"', size, **options)[0]  # type: ignore[arg-type]


def feed_all(found: etags.Layout, data: bytes, block: int) -> None:
    hasher = etags.PartHasher(etags.Verifier(found, "obj"))
    for offset in range(0, max(len(data), 1), block):
        hasher.feed(offset, data[offset : offset + block])


def test_a_single_part_object_is_checked_by_its_md5() -> None:
    data = os.urandom(100_000)
    found = layout(hashlib.md5(data).hexdigest(), len(data))
    assert found is not None and found.parts == 1
    feed_all(found, data, 7777)
    with pytest.raises(SourceError, match="do not match the object's ETag"):
        feed_all(found, data[:-1] + b"!", 7777)


def test_a_multipart_etag_is_rebuilt_with_the_part_size_head_object_reports() -> None:
    data = os.urandom(5 * MIB + 3)
    tag = multipart_etag(data, 2 * MIB)  # not the 8 MiB fallback
    found = layout(tag, len(data), parts_count=3, first_part_size=2 * MIB)
    assert found is not None and found.part_size == 2 * MIB
    feed_all(found, data, 300_000)  # reads that straddle part boundaries
    with pytest.raises(SourceError, match="parts of 2097152 bytes"):
        feed_all(found, data[:100] + b"x" + data[101:], 300_000)


def test_the_chunk_size_option_is_only_the_fallback() -> None:
    data = os.urandom(3 * MIB)
    tag = multipart_etag(data, MIB)
    found = layout(tag, len(data), fallback_part_size=MIB)  # the store did not answer PartNumber=1
    assert found is not None and found.part_size == MIB
    assert layout(tag, len(data), fallback_part_size=8 * MIB) is None  # 3 parts of 8 MiB cannot make 3 MiB


def test_parts_read_by_separate_readers_are_combined() -> None:
    data = os.urandom(4 * MIB)
    found = layout(multipart_etag(data, MIB), len(data), parts_count=4, first_part_size=MIB)
    assert found is not None
    verifier = etags.Verifier(found, "obj")
    for start in (3 * MIB, 0, 2 * MIB, MIB):  # any order, each reader its own hasher
        etags.PartHasher(verifier).feed(start, data[start : start + MIB])
    assert verifier.verified


def test_a_reader_that_starts_inside_a_part_does_not_vouch_for_it() -> None:
    data = os.urandom(2 * MIB)
    found = layout(multipart_etag(data, MIB), len(data), parts_count=2, first_part_size=MIB)
    assert found is not None
    verifier = etags.Verifier(found, "obj")
    etags.PartHasher(verifier).feed(10, data[10:])
    assert verifier.digests.keys() == {1} and not verifier.verified


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [({"encryption": "aws:kms"}, "SSE-KMS"), ({"customer_key": True}, "SSE-C")],
)
def test_sse_kms_and_sse_c_objects_are_not_checked_by_etag(kwargs: dict[str, object], why: str) -> None:
    options = {"encryption": None, "customer_key": False, **kwargs}
    found, reason = etags.layout(
        '"' + "0" * 32 + '"', 10, parts_count=None, first_part_size=None, fallback_part_size=MIB, **options
    )  # type: ignore[arg-type]
    assert found is None and why in reason


def test_an_empty_object() -> None:
    found = layout(hashlib.md5(b"").hexdigest(), 0)
    assert found is not None
    feed_all(found, b"", 10)
