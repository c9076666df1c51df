"""Acceptance: logical names (character map, non-UTF-8 names) and special files (symlinks, FIFOs,
sockets), plus the exclude options, each checked in the catalog through python-irodsclient."""

from __future__ import annotations

import base64
import errno
import os
import re
import socket
import string
import textwrap
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.engine_fixtures import Ingest, Result, write_tree

B64_UNIT = "python3.base64.b64encode(full_path_of_source_file)"
CHARMAP_ATTR = "irods::automated_ingest::character_map"
UNICODE_ATTR = "irods::automated_ingest::UnicodeEncodeError"


# ---- helpers ------------------------------------------------------------------------------------


def counts(result: Result) -> dict[str, int]:
    """The summary's `  name   N` lines."""
    return {m[1]: int(m[2]) for m in re.finditer(r"^  ([a-z_]+)\s+(\d+)$", result.out, re.MULTILINE)}


def failures(result: Result) -> dict[str, str]:
    """path -> reason, from the summary's FAILED lines."""
    return dict(re.findall(r"^  FAILED (.*?): (.*) \(attempts: \d+\)$", result.out, re.MULTILINE))


def handler_file(tmp_path: Path, body: str, name: str = "handler.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


def avus(obj: object) -> list[tuple[str, str, str | None]]:
    return sorted((m.name, m.value, m.units) for m in obj.metadata.items())  # type: ignore[attr-defined]


def content(ingest: Ingest, logical: str) -> bytes:
    with ingest.session() as s, s.data_objects.open(logical, "r") as f:
        return bytes(f.read())


def b64(path: str | bytes) -> str:
    raw = path if isinstance(path, bytes) else path.encode("utf-8")
    return base64.b64encode(raw).decode("ascii")


def old_suffix(name: str, mapped: str, radix: str, separator: str) -> str:
    """The old char_map_util suffix, written out independently: each changed position i contributes
    UTF-8(chr(i)) + UTF-8(original char); the bytes read big-endian as a number, written little-endian
    in the radix characters the map leaves alone, after the first separator it leaves alone."""
    changes = b"".join(
        chr(i).encode() + old.encode() for i, (old, new) in enumerate(zip(name, mapped, strict=True)) if old != new
    )
    if not changes:
        return ""
    number, out = int.from_bytes(changes, "big"), separator
    while number:
        number, digit = divmod(number, len(radix))
        out += radix[digit]
    return out


CHARMAP_HANDLER = """
    import re

    from irods_capability_automated_ingest.core import Core
    from irods_capability_automated_ingest.utils import Operation


    class event_handler(Core):
        @staticmethod
        def character_map():
            return {re.compile('[^a-zA-Z0-9./]'): '_'}

        @staticmethod
        def operation(session, meta, **options):
            return Operation.%s
"""


OP_HANDLER = """
    from irods_capability_automated_ingest.core import Core
    from irods_capability_automated_ingest.utils import Operation


    class event_handler(Core):
        @staticmethod
        def operation(session, meta, **options):
            return Operation.%s
"""


def map_name(name: str) -> str:
    """What CHARACTER_MAP does to one element: every char outside [a-zA-Z0-9./] becomes '_', then the suffix.
    Of the separators '-~_' only '_' is left alone (it maps to itself); every letter and digit is left alone."""
    mapped = re.sub(r"[^a-zA-Z0-9./]", "_", name)
    return mapped + old_suffix(name, mapped, string.digits + string.ascii_letters, "_")


# ---- character map ------------------------------------------------------------------------------


def test_old_suffix_oracle_matches_a_hand_computed_name() -> None:
    # 'a b.txt': position 1 was ' ' -> bytes 01 20 -> 288 = 40 + 4*62 -> digits 'E', '4' (little-endian)
    assert map_name("a b.txt") == "a_b.txt_E4"
    assert map_name("plain.txt") == "plain.txt"


@pytest.mark.parametrize("operation", ["REGISTER_SYNC", "PUT_SYNC"])
def test_character_map_maps_each_element_with_the_old_suffix_and_records_the_original(
    ingest: Ingest, tmp_path: Path, operation: str
) -> None:
    src = write_tree(
        tmp_path / "src",
        {"a b.txt": "one", "plain.txt": "two", "dir x/c&d#e.txt": "three", "dir x/ok.txt": "four", "a_b.txt": "5"},
    )
    handler = handler_file(tmp_path, CHARMAP_HANDLER % operation)
    result = ingest.rescan(src, "--event_handler", str(handler))
    assert result.code == 0, result.out + result.err
    t = ingest.target
    expected = {
        f"{t}/{map_name('a b.txt')}": ("a b.txt", "one"),
        f"{t}/plain.txt": ("plain.txt", "two"),
        f"{t}/a_b.txt": ("a_b.txt", "5"),  # the suffix keeps 'a b.txt' apart from an existing 'a_b.txt'
        f"{t}/{map_name('dir x')}/{map_name('c&d#e.txt')}": ("dir x/c&d#e.txt", "three"),
        f"{t}/{map_name('dir x')}/ok.txt": ("dir x/ok.txt", "four"),
    }
    objs = ingest.objects()
    assert sorted(objs) == sorted(expected)
    assert f"{t}/a_b.txt_E4" in objs
    for logical, (rel, data) in expected.items():
        obj = objs[logical]
        assert obj.size == len(data)  # type: ignore[attr-defined]
        assert content(ingest, logical) == data.encode()
        if os.path.basename(rel) == os.path.basename(logical) and "/" not in rel:
            assert avus(obj) == [], logical  # nothing renamed: no AVU
        else:
            # the AVU records the full source path (also when only a parent directory was renamed)
            assert avus(obj) == [(CHARMAP_ATTR, b64(str(src / rel)), B64_UNIT)], logical
    # a second pass finds every mapped name again: nothing changes
    again = ingest.rescan(src, "--event_handler", str(handler))
    assert again.code == 0, again.out
    assert counts(again).get("skipped") == 5
    assert not {"registered", "uploaded", "updated", "overwritten"} & set(counts(again))
    assert sorted(ingest.objects()) == sorted(expected)


# ---- names that are not UTF-8 -------------------------------------------------------------------


def make_latin1_file(directory: Path, name: bytes, data: bytes, age: float = 60.0) -> bytes:
    full = os.fsencode(directory) + b"/" + name
    fd = os.open(full, os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, data)
    os.close(fd)
    os.utime(full, (os.path.getmtime(full) - age,) * 2)
    return full


def error_name(full: bytes) -> str:
    """The data name of an unencodable path: URL-safe base64, so it never holds a '/'."""
    return "irods_UnicodeEncodeError_" + base64.urlsafe_b64encode(full).decode("ascii")


@pytest.mark.parametrize("operation", ["PUT", "PUT_SYNC"])
def test_a_name_that_is_not_utf8_is_uploaded_as_an_unicode_encode_error_object(
    ingest: Ingest, tmp_path: Path, operation: str
) -> None:
    src = write_tree(tmp_path / "src", {"fine.txt": "ok"})
    full = make_latin1_file(src, b"caf\xe9.txt", b"latin-1 name")
    handler = handler_file(tmp_path, OP_HANDLER % operation)
    result = ingest.rescan(src, "--event_handler", str(handler))
    assert result.code == 0, result.out + result.err
    encoded = b64(full)
    name = error_name(full)
    objs = ingest.objects()
    assert sorted(objs) == sorted([f"{ingest.target}/fine.txt", f"{ingest.target}/{name}"])
    obj = objs[f"{ingest.target}/{name}"]
    assert obj.size == len(b"latin-1 name")  # type: ignore[attr-defined]
    assert avus(obj) == [(UNICODE_ATTR, encoded, B64_UNIT)]
    assert content(ingest, f"{ingest.target}/{name}") == b"latin-1 name"
    again = ingest.rescan(src, "--event_handler", str(handler))
    assert again.code == 0, again.out + again.err
    assert counts(again).get("skipped") == 2, again.out
    assert not {"registered", "uploaded", "updated", "overwritten"} & set(counts(again))
    assert avus(ingest.objects()[f"{ingest.target}/{name}"]) == [(UNICODE_ATTR, encoded, B64_UNIT)]


@pytest.mark.parametrize("operation", ["REGISTER_SYNC", "REGISTER_AS_REPLICA_SYNC"])
def test_a_name_that_is_not_utf8_is_not_registered_in_place(ingest: Ingest, tmp_path: Path, operation: str) -> None:
    """No replica may point at a file that does not exist: the file is a failure saying what to do."""
    src = write_tree(tmp_path / "src", {"fine.txt": "ok"})
    full = make_latin1_file(src, b"caf\xe9.txt", b"latin-1 name")
    handler = handler_file(tmp_path, OP_HANDLER % operation)
    result = ingest.rescan(src, "--event_handler", str(handler))
    assert result.code == 1, result.out + result.err
    shown = full.decode("utf-8", "backslashreplace")
    reason = failures(result)[shown]
    assert "cannot be encoded as UTF-8" in reason and "PUT-type operation" in reason
    assert sorted(ingest.objects()) == [f"{ingest.target}/fine.txt"]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("operation", ["REGISTER_SYNC", "PUT_SYNC"])
def test_a_directory_name_that_is_not_utf8(ingest: Ingest, tmp_path: Path, operation: str) -> None:
    src = write_tree(tmp_path / "src", {"fine.txt": "ok"})
    directory = os.fsencode(src) + b"/d\xe9j\xe0"
    os.mkdir(directory)
    full = make_latin1_file(Path(os.fsdecode(directory)), b"x.txt", b"inside")
    handler = handler_file(tmp_path, OP_HANDLER % operation)
    result = ingest.rescan(src, "--event_handler", str(handler), "--job_name", "latin1dir")
    coll = f"{ingest.target}/{error_name(directory)}"
    name = error_name(full)
    with ingest.session() as s:
        assert s.collections.exists(coll)
    if operation == "PUT_SYNC":
        assert result.code == 0, result.out + result.err
        obj = ingest.objects()[f"{coll}/{name}"]
        assert avus(obj) == [(UNICODE_ATTR, b64(full), B64_UNIT)]
        assert content(ingest, f"{coll}/{name}") == b"inside"
    else:
        # registering in place needs a physical path iRODS can hold (UTF-8): the file is a failure, with
        # its path shown with \\x escapes, and the pass ends
        assert result.code == 1, result.out + result.err
        shown = full.decode("utf-8", "backslashreplace")
        assert list(failures(result)) == [shown]
        assert "cannot be encoded as UTF-8" in failures(result)[shown]
        assert sorted(ingest.objects()) == [f"{ingest.target}/fine.txt"]
        code = ingest.run("failures", "latin1dir")
        assert code.code == 1 and code.out.startswith(shown + "\t")


# ---- symlinks -----------------------------------------------------------------------------------


def test_symlinks_are_not_followed_by_default(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"target.txt": "the target's bytes", "sub/x.txt": "x"})
    write_tree(tmp_path / "outside", {"far.txt": "far away"})
    os.symlink("target.txt", src / "near")
    os.symlink("../../outside/far.txt", src / "sub" / "up")  # kept as written: not a resolved path
    os.symlink("sub", src / "dirlink")  # a link to a directory is a link, not a directory to walk
    result = ingest.rescan(src)
    assert result.code == 0, result.out + result.err
    t = ingest.target
    objs = ingest.objects()
    assert sorted(objs) == sorted([f"{t}/target.txt", f"{t}/near", f"{t}/sub/x.txt", f"{t}/sub/up", f"{t}/dirlink"])
    for rel in ("near", "sub/up", "dirlink"):
        link = src / rel
        obj = objs[f"{t}/{rel}"]
        assert obj.size == os.lstat(link).st_size  # type: ignore[attr-defined]
        assert obj.replicas[0].path == str(link)  # type: ignore[attr-defined]
        expected_target = os.path.join(os.path.dirname(str(link)), os.readlink(link))
        assert avus(obj) == [("link_target", expected_target, "automated_ingest")]
    assert avus(objs[f"{t}/sub/up"]) == [("link_target", f"{src}/sub/../../outside/far.txt", "automated_ingest")]
    assert avus(objs[f"{t}/target.txt"]) == []


def test_follow_symlinks_registers_the_target_size(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"target.txt": "the target's bytes"})
    write_tree(tmp_path / "outside", {"dir/in.txt": "inside a linked dir"})
    os.symlink("target.txt", src / "near")
    os.symlink(tmp_path / "outside" / "dir", src / "linked")
    result = ingest.rescan(src, "--follow-symlinks")
    assert result.code == 0, result.out + result.err
    t = ingest.target
    objs = ingest.objects()
    assert sorted(objs) == sorted([f"{t}/target.txt", f"{t}/near", f"{t}/linked/in.txt"])
    assert objs[f"{t}/near"].size == len("the target's bytes")  # type: ignore[attr-defined]
    assert objs[f"{t}/linked/in.txt"].size == len("inside a linked dir")  # type: ignore[attr-defined]
    assert avus(objs[f"{t}/near"]) == []  # followed: an ordinary file, no link_target


def test_follow_symlinks_with_put_uploads_the_target_content(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"target.txt": "the target's bytes"})
    os.symlink("target.txt", src / "near")
    handler = handler_file(tmp_path, OP_HANDLER % "PUT_SYNC")
    result = ingest.rescan(src, "--follow-symlinks", "--event_handler", str(handler))
    assert result.code == 0, result.out + result.err
    obj = ingest.objects()[f"{ingest.target}/near"]
    assert obj.size == len("the target's bytes")  # type: ignore[attr-defined]
    assert content(ingest, f"{ingest.target}/near") == b"the target's bytes"


@pytest.mark.timeout(120)
def test_symlink_loops_are_failures_with_a_reason_not_a_hang(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.txt": "a", "sub/b.txt": "b"})
    os.symlink("..", src / "sub" / "back")  # a directory loop through a link to an ancestor
    os.symlink("self", src / "self")  # a link to itself: ELOOP
    result = ingest.rescan(src, "--follow-symlinks", "--job_name", "loops")
    assert result.code == 1, result.out + result.err
    assert failures(result) == {str(src / "sub" / "back"): "symlink loop", str(src / "self"): "symlink loop"}
    assert sorted(ingest.objects()) == [f"{ingest.target}/a.txt", f"{ingest.target}/sub/b.txt"]
    listed = ingest.run("failures", "loops")
    assert listed.code == 1
    assert sorted(line.split("\t")[:2] for line in listed.out.splitlines()) == sorted(
        [[str(src / "self"), "symlink loop"], [str(src / "sub" / "back"), "symlink loop"]]
    )


# ---- FIFOs and sockets --------------------------------------------------------------------------


@contextmanager
def fifo_reader_probe(fifo: Path) -> Iterator[list[str]]:
    """Watch a FIFO while a pass runs: a non-blocking open for writing succeeds only while some process
    has it open for reading. Returns a list that gets an entry for every time a reader was seen."""
    seen: list[str] = []
    stop = threading.Event()

    def probe() -> None:
        while not stop.is_set():
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as err:
                if err.errno != errno.ENXIO:  # ENXIO: no reader, as it should be
                    seen.append(f"probe error {err}")
            else:
                os.close(fd)
                seen.append("reader")
            stop.wait(0.005)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join(5)


def make_special_tree(tmp_path: Path) -> tuple[Path, Path, Path]:
    src = write_tree(tmp_path / "src", {"a.txt": "a", "sub/b.txt": "b"})
    fifo = src / "sub" / "fifo"
    os.mkfifo(fifo)
    # a short socket path: sun_path holds at most 107 bytes, pytest's tmp_path may be longer
    sock_path = src / "s"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(sock_path))
    finally:
        sock.close()  # the socket file stays in the tree
    when = os.path.getmtime(src / "a.txt")
    for p in (fifo, sock_path):
        os.utime(p, (when, when))
    return src, fifo, sock_path


@pytest.mark.timeout(120)
def test_fifo_and_socket_are_registered_without_being_opened(ingest: Ingest, tmp_path: Path) -> None:
    src, fifo, sock_path = make_special_tree(tmp_path)
    if len(str(sock_path)) > 100:
        pytest.skip("tmp_path too long for a Unix socket path")
    with fifo_reader_probe(fifo) as readers:
        result = ingest.rescan(src)
    assert readers == []
    assert result.code == 0, result.out + result.err
    t = ingest.target
    objs = ingest.objects()
    assert sorted(objs) == sorted([f"{t}/a.txt", f"{t}/sub/b.txt", f"{t}/sub/fifo", f"{t}/s"])
    # REGISTER_SYNC records the path as the old framework did, with the lstat size (0 for both)
    assert objs[f"{t}/sub/fifo"].size == 0  # type: ignore[attr-defined]
    assert avus(objs[f"{t}/sub/fifo"]) == []
    assert avus(objs[f"{t}/s"]) == [("socket_target", "socket", "automated_ingest")]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("operation", ["PUT", "PUT_SYNC", "PUT_APPEND"])
def test_put_skips_a_fifo_and_a_socket_with_the_reason_without_opening_them(
    ingest: Ingest, tmp_path: Path, operation: str
) -> None:
    """They have no bytes to upload: skipped (not failed, or every pass would fail), and said why."""
    src, fifo, sock_path = make_special_tree(tmp_path)
    handler = handler_file(tmp_path, OP_HANDLER % operation)
    for _ in range(2):
        with fifo_reader_probe(fifo) as readers:
            result = ingest.rescan(src, "--event_handler", str(handler))
        assert readers == []
        assert result.code == 0, result.out + result.err
        assert counts(result).get("skipped_special") == 2 and not failures(result)
        assert "FIFOs, sockets and devices have no bytes to upload" in result.out
    assert sorted(ingest.objects()) == sorted([f"{ingest.target}/a.txt", f"{ingest.target}/sub/b.txt"])


@pytest.mark.timeout(120)
@pytest.mark.parametrize("style", ["old", "repeated"])
def test_exclude_file_type_pipe_socket_skips_them(ingest: Ingest, tmp_path: Path, style: str) -> None:
    src, fifo, _sock = make_special_tree(tmp_path)
    if style == "old":
        args = ["--exclude_file_type", "pipe", "socket"]
    else:
        args = ["--exclude_file_type", "pipe", "--exclude-file-type", "socket"]
    with fifo_reader_probe(fifo) as readers:
        result = ingest.rescan(src, *args)
    assert readers == []
    assert result.code == 0, result.out + result.err
    assert counts(result).get("excluded") == 2
    assert counts(result).get("registered") == 2
    assert sorted(ingest.objects()) == sorted([f"{ingest.target}/a.txt", f"{ingest.target}/sub/b.txt"])


# ---- excludes -----------------------------------------------------------------------------------


def exclude_tree(tmp_path: Path) -> Path:
    return write_tree(
        tmp_path / "src",
        {
            "keep.txt": "k",
            "drop.tmp": "t",
            "sub/keep.txt": "k",
            "sub/also.tmp": "t",
            "sub/secret_1.txt": "s",
            "cache/inner.txt": "c",  # a directory named cache: not descended
            "sub/cache/deep.txt": "c",
            "nocache/cache": "a file named cache is not a directory",
        },
    )


def test_exclude_file_name_old_space_separated_style(ingest: Ingest, tmp_path: Path) -> None:
    src = exclude_tree(tmp_path)
    result = ingest.rescan(src, "--exclude_file_name", r".*\.tmp$", ".*/secret_[0-9]+", "--job_name", "ex1")
    assert result.code == 0, result.out + result.err
    t = ingest.target
    assert sorted(ingest.objects()) == sorted(
        [f"{t}/keep.txt", f"{t}/sub/keep.txt", f"{t}/cache/inner.txt", f"{t}/sub/cache/deep.txt", f"{t}/nocache/cache"]
    )
    assert counts(result).get("excluded") == 3


def test_exclude_patterns_are_matched_against_the_absolute_path(ingest: Ingest, tmp_path: Path) -> None:
    src = exclude_tree(tmp_path)
    # re.match from the start of the absolute path: a bare name never matches, an anchored path does
    result = ingest.rescan(src, "--exclude_file_name", "keep.txt", "--exclude-file-name", re.escape(str(src)) + "/sub/")
    assert result.code == 0, result.out + result.err
    t = ingest.target
    assert sorted(ingest.objects()) == sorted(
        [f"{t}/keep.txt", f"{t}/drop.tmp", f"{t}/cache/inner.txt", f"{t}/nocache/cache"]
    )


def test_exclude_directory_name_skips_matching_directories_only(ingest: Ingest, tmp_path: Path) -> None:
    src = exclude_tree(tmp_path)
    result = ingest.rescan(src, "--exclude_directory_name", ".*/cache$", r".*\.nothing$")
    assert result.code == 0, result.out + result.err
    t = ingest.target
    assert sorted(ingest.objects()) == sorted(
        [
            f"{t}/keep.txt",
            f"{t}/drop.tmp",
            f"{t}/sub/keep.txt",
            f"{t}/sub/also.tmp",
            f"{t}/sub/secret_1.txt",
            f"{t}/nocache/cache",  # a file: directory patterns do not apply
        ]
    )
    with ingest.session() as s:
        assert not s.collections.exists(f"{t}/cache")
        assert not s.collections.exists(f"{t}/sub/cache")
    assert counts(result).get("excluded") == 2


def test_exclude_file_type_regular_and_link(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.txt": "a", "sub/b.txt": "b"})
    os.symlink("a.txt", src / "ln")
    only_links = ingest.rescan(src, "--exclude_file_type", "regular")
    assert only_links.code == 0, only_links.out + only_links.err
    assert sorted(ingest.objects()) == [f"{ingest.target}/ln"]
    no_links = ingest.rescan(src, "--exclude_file_type", "link")
    assert no_links.code == 0, no_links.out + no_links.err
    assert sorted(ingest.objects()) == sorted(
        [f"{ingest.target}/a.txt", f"{ingest.target}/ln", f"{ingest.target}/sub/b.txt"]
    )


def test_a_link_put_without_following_uploads_the_target_bytes_once(ingest: Ingest, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"target.txt": "the target's bytes"})
    os.symlink("target.txt", src / "near")
    handler = handler_file(tmp_path, OP_HANDLER % "PUT_SYNC")
    result = ingest.rescan(src, "--event_handler", str(handler))
    assert result.code == 0, result.out + result.err
    logical = f"{ingest.target}/near"
    assert content(ingest, logical) == b"the target's bytes"  # PUT reads through the link
    assert avus(ingest.objects()[logical]) == [("link_target", str(src / "target.txt"), "automated_ingest")]
    again = ingest.rescan(src, "--event_handler", str(handler))
    assert again.code == 0, again.out + again.err
    assert counts(again).get("skipped") == 2, again.out  # the link is not uploaded again on every pass
