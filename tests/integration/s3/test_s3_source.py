"""S3Source against a real HTTP endpoint: listing by prefixes and key ranges, stat, streams, ETags, errors."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import pytest

from lz_ingest.errors import SourceError
from lz_ingest.model import EntryKind
from lz_ingest.sources.base import DirectoryListing
from lz_ingest.sources.filters import ScanOptions
from lz_ingest.sources.registry import source_for
from lz_ingest.sources.s3 import S3Source, S3Stream
from lz_ingest.sources.s3_settings import S3Settings
from tests.integration.s3.conftest import Bucket
from tests.integration.s3.fill import fill

MIB = 1024 * 1024


def source(bucket: Bucket, **settings: Any) -> S3Source:
    found = source_for(S3Source.uri_for(bucket.uri, S3Settings(endpoint_url=bucket.endpoint.url, **settings)))
    assert isinstance(found, S3Source)
    return found


def walk_parts(src: S3Source, path: str, options: ScanOptions) -> list[DirectoryListing]:
    """Every part of one directory, following continuations as the scan tasks do."""
    parts, todo = [], [(path, None)]
    while todo:
        directory, ancestry = todo.pop()
        listing = src.list(directory, options, ancestry)
        parts.append(listing)
        todo.extend((ref.path, ref.ancestry) for ref in listing.continuations)
    return parts


def test_a_flat_prefix_is_listed_in_ranges_that_cover_every_key_once(bucket: Bucket) -> None:
    names = [f"f{i:05d}" for i in range(1400)] + [f"f{i:05d}x/inner" for i in range(0, 1400, 100)]
    fill(bucket, {f"flat/{name}": b"." for name in names})
    src = source(bucket)
    parts = walk_parts(src, f"{src.root}/flat", ScanOptions())
    assert len(parts) > 2  # split, so that several workers list it at once
    files = [e.path.rsplit("/", 1)[1] for p in parts for e in p.entries]
    dirs = [d.path.rsplit("/", 1)[1] for p in parts for d in p.subdirectories]
    assert sorted(files) == sorted(n for n in names if "/" not in n)  # each exactly once
    assert sorted(dirs) == sorted(n.split("/")[0] for n in names if "/" in n)
    assert all(p.bounds is not None for p in parts)
    for name in files:  # each catalog name is answered for by exactly one part
        assert sum(p.bounds.holds(name, False) for p in parts if p.bounds) == 1
    whole = src.list(f"{src.root}/flat", ScanOptions(whole_directories=True))
    assert len(whole.entries) == len(files) and not whole.continuations and whole.bounds is None


def test_prefixes_are_directories_and_a_folder_object_is_not_an_entry(bucket: Bucket) -> None:
    fill(bucket, {"a/1": b"one", "a/b/2": b"two", "a/b/": b"", "top": b"t", "skip.tmp": b"x"})
    src = source(bucket)
    root = src.list(src.root, ScanOptions(exclude_file_name=(__import__("re").compile(r".*\.tmp$"),)))
    assert [e.path for e in root.entries] == [f"{src.root}/top"]
    assert [d.path for d in root.subdirectories] == [f"{src.root}/a"]
    assert root.excluded == (f"{src.root}/skip.tmp",)
    inner = src.list(f"{src.root}/a/b", ScanOptions())
    assert [e.path for e in inner.entries] == [f"{src.root}/a/b/2"] and not inner.subdirectories
    entry = src.stat(f"{src.root}/a/1", False)
    assert entry is not None and entry.kind is EntryKind.REGULAR and entry.size == 3
    assert entry.etag == hashlib.md5(b"one").hexdigest()
    assert src.stat(f"{src.root}/a/none", False) is None
    assert src.physical_path(f"{src.root}/a/b/2") == f"/{bucket.name}/{bucket.prefix}/a/b/2"


def test_hostile_keys_list_inside_the_root_and_read_back(bucket: Bucket) -> None:
    hostile = ["../escape", "./dot", "a//double", "/lead", "tab\there", "%cent", "x/.."]
    fill(bucket, {k: k.encode() for k in hostile})
    src = source(bucket)
    seen: dict[str, str] = {}
    todo = [src.root]
    while todo:
        listing = src.list(todo.pop(), ScanOptions())
        assert not listing.problems
        todo.extend(d.path for d in listing.subdirectories)
        for entry in listing.entries:
            assert os.path.normpath(entry.path) == entry.path and entry.path.startswith(src.root + "/")
            with src.open(entry.path) as stream:
                seen[src.key(entry.path)] = stream.read().decode()
    assert seen == {bucket.key(k): k for k in hostile}
    with pytest.raises(SourceError, match="not registered in place"):
        src.physical_path(f"{src.root}/%..")


def test_a_stream_reads_ranges_and_checks_a_multipart_etag_with_the_real_part_size(bucket: Bucket) -> None:
    data = os.urandom(13 * MIB + 7)
    bucket.client.upload_fileobj(
        __import__("io").BytesIO(data),
        bucket.name,
        bucket.key("big"),
        Config=__import__("boto3").s3.transfer.TransferConfig(multipart_threshold=MIB, multipart_chunksize=5 * MIB),
    )
    src = source(bucket, multipart_chunk_mib=8)  # the fallback would be wrong: HeadObject's part size wins
    path = f"{src.root}/big"
    with src.open(path) as stream:
        assert isinstance(stream, S3Stream) and stream.verifier is not None
        assert stream.verifier.layout.part_size == 5 * MIB and stream.verifier.layout.parts == 3
        stream.seek(10 * MIB)
        assert stream.read(100) == data[10 * MIB : 10 * MIB + 100]
        stream.seek(0)
        assert stream.read() == data
        assert stream.verifier.verified
        ranges = stream.parallel_ranges(2)
    assert ranges == [(0, 10 * MIB), (10 * MIB, len(data))]
    assert src.read_range(path, 5, 10) == data[5:15]


def test_an_object_rewritten_after_its_head_fails_the_read(bucket: Bucket) -> None:
    bucket.put("obj", b"first version")
    src = source(bucket)
    path = f"{src.root}/obj"
    assert src.stat(path, False) is not None
    stream = src.open(path)
    bucket.put("obj", b"second version!")
    with pytest.raises(SourceError, match="changed since it was listed"):
        stream.read()


def test_a_missing_bucket_and_refused_keys_are_one_line_each(bucket: Bucket, tmp_path: Any) -> None:
    missing = source_for(S3Source.uri_for("no-such-bucket-lz/x", S3Settings(endpoint_url=bucket.endpoint.url)))
    assert missing.root_problem() == "bucket no-such-bucket-lz: no such bucket"
    keypair = tmp_path / "keys"
    keypair.write_text("only-one-line\n")
    broken = source(bucket, keypair=str(keypair))
    assert broken.root_problem() == f"--s3_keypair {keypair}: expected the access key and the secret key on two lines"


def test_a_listed_object_opens_with_one_get_and_as_it_is_now_when_rewritten_since(bucket: Bucket) -> None:
    bucket.put("obj", b"as listed")
    src = source(bucket)
    listing = src.list(src.root, ScanOptions())
    (entry,) = listing.entries
    assert src.restat(entry, False) == entry
    with src.open(entry.path) as stream:
        assert stream.read() == b"as listed"
        assert isinstance(stream, S3Stream) and stream.verifier is not None and stream.verifier.verified
    assert src.restat(entry, False) == entry
    bucket.put("obj", b"rewritten, longer")
    with src.open(entry.path) as stream:  # nothing read yet: the current version, whole and checked
        assert stream.read() == b"rewritten, longer"
