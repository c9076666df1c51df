"""The Source seam: LocalSource's methods, the registry that picks a source from a URI, and the same
contract held by the in-memory source the tests use."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from lz_ingest import preflight
from lz_ingest.errors import ConfigError, SourceError
from lz_ingest.model import Entry, EntryKind
from lz_ingest.sources import registry
from lz_ingest.sources.base import Source, descriptor, stream_end
from lz_ingest.sources.filters import ScanOptions
from lz_ingest.sources.local import DANGLING_SYMLINK, LocalSource
from tests.support.memory_source import NO_PHYSICAL_PATH, MemorySource, MemoryStream
from tests.unit.test_local_source import as_unprivileged, locked_tree, write  # noqa: F401 (fixture)

MTIME = 1_700_000_000.0


def sha2(data: bytes) -> str:
    return "sha2:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


# --- LocalSource: streams and reads ---------------------------------------------------------------


def test_local_stream_has_a_file_descriptor_and_is_named_by_its_path(tmp_path: Path) -> None:
    f = write(tmp_path / "f", b"0123456789")
    with LocalSource(str(tmp_path)).open(str(f)) as stream:
        fd = descriptor(stream)
        assert fd is not None and os.pread(fd, 3, 4) == b"456"  # what the upload's sendfile path uses
        assert getattr(stream, "name", None) == str(f)
        assert stream_end(stream) == 10 and stream.tell() == 0


def test_stream_end_sees_a_file_grow_and_keeps_the_position(tmp_path: Path) -> None:
    f = write(tmp_path / "f", b"abc")
    with LocalSource(str(tmp_path)).open(str(f)) as stream:
        stream.seek(2)
        with open(f, "ab") as more:
            more.write(b"defg")
        assert stream_end(stream) == 7 and stream.tell() == 2


def test_a_stream_without_descriptor_says_so() -> None:
    assert descriptor(MemoryStream(b"x", "/m/x")) is None
    assert descriptor(io.BytesIO(b"x")) is None


def test_local_range_reads_from_an_offset_and_stop_at_the_end(tmp_path: Path) -> None:
    f = write(tmp_path / "f", b"0123456789")
    source = LocalSource(str(tmp_path))
    assert source.read_range(str(f), 0, 4) == b"0123"
    assert source.read_range(str(f), 7, 100) == b"789"
    assert source.read_range(str(f), 10, 5) == b""


def test_local_open_refuses_a_fifo_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(SourceError, match="not a regular file"):
        LocalSource(str(tmp_path)).open(str(tmp_path / "fifo"))


def test_local_checksum_is_the_irods_form_of_sha256(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    f = write(tmp_path / "f", data)
    assert LocalSource(str(tmp_path)).checksum(str(f)) == sha2(data)


# --- LocalSource: root, physical path, uploads of links -----------------------------------------


def test_local_root_problem_names_a_missing_root_and_a_file(tmp_path: Path) -> None:
    write(tmp_path / "file")
    assert LocalSource(str(tmp_path / "gone")).root_problem() == "no such directory"
    assert LocalSource(str(tmp_path / "file")).root_problem() == "not a directory"
    assert LocalSource(str(tmp_path)).root_problem() is None


def test_local_root_has_entries_tells_an_empty_root_from_a_full_one(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    write(tmp_path / "full" / "f")
    assert LocalSource(str(tmp_path / "empty")).root_has_entries() is False
    assert LocalSource(str(tmp_path / "full")).root_has_entries() is True
    with pytest.raises(SourceError, match="No such file"):
        LocalSource(str(tmp_path / "gone")).root_has_entries()


def _has_entries(root: str) -> str:
    try:
        return str(LocalSource(root).root_has_entries())
    except SourceError as err:
        return str(err)


def test_local_root_has_entries_of_an_unreadable_root_is_a_source_error(locked_tree: Path) -> None:  # noqa: F811
    closed = str(locked_tree / "closed")
    assert as_unprivileged(_has_entries, closed) == f"{closed}: Permission denied"


def test_local_physical_path_is_the_path_and_a_non_utf8_name_is_refused(tmp_path: Path) -> None:
    source = LocalSource(str(tmp_path))
    assert source.physical_path(f"{tmp_path}/plain.txt") == f"{tmp_path}/plain.txt"
    raw = os.fsdecode(os.fsencode(str(tmp_path)) + b"/caf\xe9.txt")
    with pytest.raises(SourceError, match="cannot be encoded as UTF-8"):
        source.physical_path(raw)


def test_local_as_uploaded_gives_a_links_target_size_and_mtime(tmp_path: Path) -> None:
    target = write(tmp_path / "target.bin", b"x" * 100)
    os.utime(target, (MTIME, MTIME))
    (tmp_path / "link").symlink_to("target.bin")
    source = LocalSource(str(tmp_path))
    link = source.stat(str(tmp_path / "link"), follow_symlinks=False)
    assert link is not None and link.kind is EntryKind.LINK and link.size == len("target.bin")
    uploaded = source.as_uploaded(link)
    assert (uploaded.kind, uploaded.size, uploaded.mtime, uploaded.path) == (EntryKind.LINK, 100, MTIME, link.path)
    regular = source.stat(str(target), follow_symlinks=False)
    assert regular is not None and source.as_uploaded(regular) == regular


def test_local_as_uploaded_of_a_dangling_link_is_a_source_error(tmp_path: Path) -> None:
    (tmp_path / "dangling").symlink_to("nowhere")
    source = LocalSource(str(tmp_path))
    link = source.stat(str(tmp_path / "dangling"), follow_symlinks=False)
    assert link is not None
    with pytest.raises(SourceError, match=DANGLING_SYMLINK):
        source.as_uploaded(link)


# --- the registry --------------------------------------------------------------------------------


def test_a_local_path_and_a_file_uri_are_local_sources_recorded_as_the_path(tmp_path: Path) -> None:
    for uri in (str(tmp_path), f"file://{tmp_path}", f"{tmp_path}/sub/.."):
        source = registry.source_for(uri)
        assert isinstance(source, LocalSource)
        assert source.uri == source.root == str(tmp_path)


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("relative/path", "source relative/path: not an absolute path or a URI (scheme://...)"),
        (
            "nosuch://bucket/x",
            "source nosuch://bucket/x: unknown scheme 'nosuch' (known: file, s3, or an absolute path)",
        ),
    ],
)
def test_an_unknown_source_uri_is_a_one_line_config_error(uri: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        registry.source_for(uri)
    assert str(caught.value) == message


def test_a_source_uri_with_credentials_is_refused_without_echoing_them() -> None:
    registry.register_scheme("memtest", lambda uri: MemorySource("t", "/data"))
    try:
        with pytest.raises(ConfigError) as caught:
            registry.source_for("memtest://AKIAKEY:s3cret@bucket/prefix")
    finally:
        registry.unregister_scheme("memtest")
    assert str(caught.value) == "source memtest://...: credentials do not belong in the source URI"
    assert registry.source_for("/data/user@host") == LocalSource("/data/user@host")  # a local name may hold '@'


def test_a_registered_scheme_serves_its_uris_until_unregistered() -> None:
    made: list[str] = []

    def factory(uri: str) -> Source:
        made.append(uri)
        return MemorySource("t", "/data")

    registry.register_scheme("memtest", factory)
    try:
        source = registry.source_for("memtest://t/data")
        assert isinstance(source, MemorySource) and made == ["memtest://t/data"]
    finally:
        registry.unregister_scheme("memtest")
    with pytest.raises(ConfigError, match="unknown scheme 'memtest'"):
        registry.source_for("memtest://t/data")


def test_a_built_in_scheme_cannot_be_replaced() -> None:
    with pytest.raises(ConfigError, match="built in"):
        registry.register_scheme("file", lambda uri: MemorySource("t", "/"))


# --- one contract, two sources -------------------------------------------------------------------


def _local_tree(tmp_path: Path) -> tuple[Source, str]:
    root = tmp_path / "data"
    for rel, data in TREE.items():
        f = write(root / rel, data)
        os.utime(f, (MTIME, MTIME))
    return LocalSource(str(root)), str(root)


def _memory_tree(tmp_path: Path) -> tuple[Source, str]:
    source = MemorySource("contract", "/data")
    for rel, data in TREE.items():
        source.put(f"/data/{rel}", data, MTIME)
    return source, "/data"


TREE = {"a.txt": b"alpha", "sub/b.bin": bytes(range(256)) * 4, "sub/deeper/c.txt": b""}
SOURCES = [pytest.param(_local_tree, id="local"), pytest.param(_memory_tree, id="memory")]
Make = Callable[[Path], tuple[Source, str]]


def _walk(source: Source, root: str) -> dict[str, Entry]:
    found, pending = {}, [root]
    while pending:
        listing = source.list(pending.pop(), ScanOptions())
        assert not listing.problems
        found.update({entry.path[len(root) :]: entry for entry in listing.entries})
        pending.extend(ref.path for ref in listing.subdirectories)
    return found


@pytest.mark.parametrize("make", SOURCES)
def test_every_source_lists_stats_and_reads_the_same_tree_alike(tmp_path: Path, make: Make) -> None:
    source, root = make(tmp_path)
    entries = _walk(source, root)
    assert {rel: (e.kind, e.size, e.mtime) for rel, e in entries.items()} == {
        f"/{rel}": (EntryKind.REGULAR, len(data), MTIME) for rel, data in TREE.items()
    }
    for rel, data in TREE.items():
        path = f"{root}/{rel}"
        assert source.stat(path, follow_symlinks=False) == entries[f"/{rel}"]
        assert source.read_range(path, 1, 3) == data[1:4]
        assert source.checksum(path) == sha2(data)
        assert source.check_readable(entries[f"/{rel}"]) is None
        with source.open(path) as stream:
            assert stream.read() == data
    assert source.stat(f"{root}/gone", follow_symlinks=False) is None
    assert source.root_problem() is None and source.root_has_entries()


@pytest.mark.parametrize("make", SOURCES)
def test_every_source_excludes_by_name_pattern(tmp_path: Path, make: Make) -> None:
    source, root = make(tmp_path)
    listing = source.list(root, ScanOptions(exclude_file_name=(re.compile(r".*\.txt$"),)))
    assert listing.excluded == (f"{root}/a.txt",) and not listing.entries


def test_the_memory_source_has_no_physical_path_to_register() -> None:
    source = MemorySource("t", "/data")
    with pytest.raises(SourceError, match=NO_PHYSICAL_PATH):
        source.physical_path("/data/a.txt")


# --- preflight: the source a job records ---------------------------------------------------------


def test_check_source_records_a_local_source_as_its_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "lz").mkdir()
    monkeypatch.chdir(tmp_path)
    assert preflight.check_source("lz/") == str(tmp_path / "lz")
    assert preflight.check_source(f"file://{tmp_path}/lz") == str(tmp_path / "lz")


@pytest.mark.parametrize(
    ("given", "reason"),
    [("gone", "no such directory"), ("file", "not a directory"), ("nosuch://b/p", "unknown scheme 'nosuch'")],
)
def test_check_source_refuses_in_one_line_naming_the_source(tmp_path: Path, given: str, reason: str) -> None:
    write(tmp_path / "file")
    source = given if "://" in given else str(tmp_path / given)
    with pytest.raises(ConfigError) as caught:
        preflight.check_source(source)
    message = str(caught.value)
    assert message.startswith(f"source {source}: {reason}") and "\n" not in message


def test_check_source_goes_through_the_registry_for_other_schemes() -> None:
    source = MemorySource("pf", "/data")
    source.put("/data/a", b"a", MTIME)
    registry.register_scheme("mem", lambda uri: source)
    try:
        assert preflight.check_source("mem://pf/data") == source.uri == "mem://pf/data"
        source.remove("/data/a")
        with pytest.raises(ConfigError, match="source mem://pf/data: no such directory"):
            preflight.check_source("mem://pf/data")
    finally:
        registry.unregister_scheme("mem")
