"""The local filesystem source on real temporary trees."""

from __future__ import annotations

import errno
import importlib
import multiprocessing
import os
import pickle
import re
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import FrozenInstanceError
from pathlib import Path
from typing import Any

import pytest

from lz_ingest.errors import ConfigError, SourceError
from lz_ingest.model import Entry, EntryKind
from lz_ingest.sources.filters import ScanOptions, compile_patterns, parse_file_types
from lz_ingest.sources.local import (
    DANGLING_SYMLINK,
    SYMLINK_LOOP,
    DirectoryListing,
    Problem,
    check_readable,
    is_settled,
    iter_tree,
    open_for_upload,
    read_range,
    scan_directory,
    stat_entry,
)

NOBODY = 65534
DEFAULT = ScanOptions()
FOLLOW = ScanOptions(follow_symlinks=True)


def write(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def by_path(listing: DirectoryListing) -> dict[str, Entry]:
    return {entry.path: entry for entry in listing.entries}


def walk(root: Path, options: ScanOptions = DEFAULT) -> tuple[dict[str, Entry], set[str], list[Problem]]:
    """Everything iter_tree finds: entries by path, excluded paths, problems."""
    entries: dict[str, Entry] = {}
    excluded: set[str] = set()
    problems: list[Problem] = []
    for listing in iter_tree(str(root), options):
        entries.update(by_path(listing))
        excluded.update(listing.excluded)
        problems.extend(listing.problems)
    return entries, excluded, problems


# --- regular files and directories -------------------------------------------------------------


def test_regular_file_is_an_entry_with_its_lstat_size_mtime_and_ctime(tmp_path: Path) -> None:
    f = write(tmp_path / "a.txt", b"hello")
    listing = scan_directory(str(tmp_path), ScanOptions())
    st = os.lstat(f)
    assert listing.entries == (Entry(str(f), EntryKind.REGULAR, 5, st.st_mtime, st.st_ctime),)
    assert listing.problems == () and listing.excluded == ()


def test_scan_lists_one_directory_and_hands_back_subdirectories_without_descending(tmp_path: Path) -> None:
    write(tmp_path / "top.txt")
    write(tmp_path / "sub" / "deep.txt")
    listing = scan_directory(str(tmp_path), ScanOptions())
    assert set(by_path(listing)) == {str(tmp_path / "top.txt")}
    assert [ref.path for ref in listing.subdirectories] == [str(tmp_path / "sub")]


def test_subdirectory_ref_carries_the_identity_chain_of_its_ancestors(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (ref,) = scan_directory(str(tmp_path), ScanOptions()).subdirectories
    root_st, sub_st = os.stat(tmp_path), os.stat(tmp_path / "sub")
    assert ref.ancestry == ((root_st.st_dev, root_st.st_ino), (sub_st.st_dev, sub_st.st_ino))


def test_relative_root_gives_absolute_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "lz" / "a.txt")
    monkeypatch.chdir(tmp_path)
    listing = scan_directory("lz/", ScanOptions())
    assert listing.path == str(tmp_path / "lz")
    assert set(by_path(listing)) == {str(tmp_path / "lz" / "a.txt")}


def test_iter_tree_finds_every_file_of_a_nested_tree(tmp_path: Path) -> None:
    files = {write(tmp_path / rel) for rel in ("a", "d1/b", "d1/d2/c", "d1/d2/d3/d", "e/f")}
    entries, excluded, problems = walk(tmp_path)
    assert set(entries) == {str(f) for f in files}
    assert not excluded and not problems


def test_empty_directory_gives_an_empty_listing(tmp_path: Path) -> None:
    listing = scan_directory(str(tmp_path), ScanOptions())
    assert listing == DirectoryListing(str(tmp_path), (), (), (), ())


def test_scan_stats_each_child_only_through_its_cached_direntry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "a")
    (tmp_path / "sub").mkdir()
    root = os.stat(tmp_path)

    def no_path_stat(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a path was stat'ed again")

    monkeypatch.setattr(os, "stat", no_path_stat)
    monkeypatch.setattr(os, "lstat", no_path_stat)
    listing = scan_directory(str(tmp_path), ScanOptions(), ((root.st_dev, root.st_ino),))
    assert len(listing.entries) == 1 and len(listing.subdirectories) == 1


def test_listing_is_frozen_and_survives_pickling(tmp_path: Path) -> None:
    write(tmp_path / "a")
    (tmp_path / "sub").mkdir()
    options = ScanOptions(exclude_file_name=compile_patterns([".*nothing"], "exclude_file_name"))
    listing = scan_directory(str(tmp_path), options)
    assert pickle.loads(pickle.dumps(listing)) == listing
    assert pickle.loads(pickle.dumps(options)) == options
    with pytest.raises(FrozenInstanceError):
        listing.entries = ()  # type: ignore[misc]


# --- symlinks ------------------------------------------------------------------------------------


def test_symlink_to_file_not_followed_is_a_link_entry_with_its_own_size_and_joined_target(
    tmp_path: Path,
) -> None:
    write(tmp_path / "target.bin", b"0123456789" * 10)
    (tmp_path / "link").symlink_to("target.bin")
    entry = by_path(scan_directory(str(tmp_path), ScanOptions()))[str(tmp_path / "link")]
    assert entry.kind is EntryKind.LINK
    assert entry.size == len("target.bin") == os.lstat(tmp_path / "link").st_size
    assert entry.link_target == str(tmp_path / "target.bin")


def test_link_target_is_joined_not_resolved(tmp_path: Path) -> None:
    write(tmp_path / "real" / "t")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "link").symlink_to("../real/t")
    entry = by_path(scan_directory(str(tmp_path / "sub"), ScanOptions()))[str(tmp_path / "sub" / "link")]
    assert entry.link_target == str(tmp_path / "sub" / "../real/t")


def test_symlink_to_directory_not_followed_is_a_link_entry_and_not_descended(tmp_path: Path) -> None:
    write(tmp_path / "real" / "f")
    (tmp_path / "dirlink").symlink_to("real")
    listing = scan_directory(str(tmp_path), ScanOptions())
    assert by_path(listing)[str(tmp_path / "dirlink")].kind is EntryKind.LINK
    assert [ref.path for ref in listing.subdirectories] == [str(tmp_path / "real")]
    entries, _, _ = walk(tmp_path)
    assert str(tmp_path / "dirlink" / "f") not in entries


def test_symlink_to_file_followed_has_the_targets_kind_size_and_mtime(tmp_path: Path) -> None:
    target = write(tmp_path / "target.bin", b"0123456789" * 10)
    os.utime(target, (1_000_000, 1_000_000))
    (tmp_path / "link").symlink_to("target.bin")
    entry = by_path(scan_directory(str(tmp_path), FOLLOW))[str(tmp_path / "link")]
    assert (entry.kind, entry.size, entry.mtime) == (EntryKind.REGULAR, 100, 1_000_000)
    assert entry.link_target is None


def test_symlink_to_directory_followed_is_descended_under_the_link_path(tmp_path: Path) -> None:
    write(tmp_path / "real" / "f", b"abc")
    (tmp_path / "dirlink").symlink_to("real")
    entries, _, problems = walk(tmp_path, FOLLOW)
    assert set(entries) == {str(tmp_path / "real" / "f"), str(tmp_path / "dirlink" / "f")}
    assert entries[str(tmp_path / "dirlink" / "f")].size == 3
    assert not problems


def test_directory_reached_through_two_unnested_links_is_listed_under_both_paths(tmp_path: Path) -> None:
    write(tmp_path / "shared" / "f")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "l1").symlink_to("../shared")
    (tmp_path / "a" / "l2").symlink_to("../shared")
    entries, _, problems = walk(tmp_path / "a", FOLLOW)
    assert set(entries) == {str(tmp_path / "a" / "l1" / "f"), str(tmp_path / "a" / "l2" / "f")}
    assert not problems


def test_symlink_to_an_ancestor_is_reported_as_a_loop_and_not_descended(tmp_path: Path) -> None:
    write(tmp_path / "a" / "b" / "f")
    (tmp_path / "a" / "b" / "up").symlink_to("../..")
    (tmp_path / "a" / "here").symlink_to(".")
    entries, _, problems = walk(tmp_path, FOLLOW)
    assert set(entries) == {str(tmp_path / "a" / "b" / "f")}
    assert sorted(problems, key=lambda p: p.path) == [
        Problem(str(tmp_path / "a" / "b" / "up"), SYMLINK_LOOP),
        Problem(str(tmp_path / "a" / "here"), SYMLINK_LOOP),
    ]


def test_loop_through_a_symlinked_root_is_caught(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "rootlink").symlink_to("real")
    (tmp_path / "real" / "back").symlink_to("../rootlink")
    _, _, problems = walk(tmp_path / "rootlink", FOLLOW)
    assert problems == [Problem(str(tmp_path / "rootlink" / "back"), SYMLINK_LOOP)]


def test_self_referencing_symlink_is_a_loop_when_following_and_a_link_otherwise(tmp_path: Path) -> None:
    (tmp_path / "self").symlink_to("self")
    assert scan_directory(str(tmp_path), FOLLOW).problems == (Problem(str(tmp_path / "self"), SYMLINK_LOOP),)
    (entry,) = scan_directory(str(tmp_path), ScanOptions()).entries
    assert entry.kind is EntryKind.LINK


def test_dangling_symlink_is_a_link_entry_when_not_following(tmp_path: Path) -> None:
    (tmp_path / "dangling").symlink_to("nowhere")
    (entry,) = scan_directory(str(tmp_path), ScanOptions()).entries
    assert (entry.kind, entry.link_target) == (EntryKind.LINK, str(tmp_path / "nowhere"))


def test_dangling_symlink_is_a_problem_when_following(tmp_path: Path) -> None:
    (tmp_path / "dangling").symlink_to("nowhere")
    listing = scan_directory(str(tmp_path), FOLLOW)
    assert listing.entries == ()
    assert listing.problems == (Problem(str(tmp_path / "dangling"), DANGLING_SYMLINK),)


# --- special files -------------------------------------------------------------------------------


@pytest.fixture
def specials(tmp_path: Path) -> Iterator[Path]:
    """A FIFO with no writer (opening it would block) and a bound Unix socket, beside a link to each."""
    os.mkfifo(tmp_path / "fifo")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(tmp_path / "sock"))
    (tmp_path / "fifo_link").symlink_to("fifo")
    (tmp_path / "sock_link").symlink_to("sock")
    yield tmp_path
    server.close()


@pytest.mark.timeout(10)
def test_fifo_and_socket_are_listed_by_kind_and_never_opened(specials: Path) -> None:
    kinds = {path: entry.kind for path, entry in by_path(scan_directory(str(specials), ScanOptions())).items()}
    assert kinds[str(specials / "fifo")] is EntryKind.PIPE
    assert kinds[str(specials / "sock")] is EntryKind.SOCKET
    assert kinds[str(specials / "fifo_link")] is EntryKind.LINK


@pytest.mark.timeout(10)
def test_links_to_fifo_and_socket_followed_take_their_kinds_without_opening(specials: Path) -> None:
    kinds = {path: entry.kind for path, entry in by_path(scan_directory(str(specials), FOLLOW)).items()}
    assert kinds[str(specials / "fifo_link")] is EntryKind.PIPE
    assert kinds[str(specials / "sock_link")] is EntryKind.SOCKET


@pytest.mark.timeout(10)
@pytest.mark.parametrize("name", ["fifo", "sock", "fifo_link"])
def test_open_for_upload_refuses_special_files_without_blocking(specials: Path, name: str) -> None:
    with pytest.raises(SourceError, match="not a regular file"):
        open_for_upload(str(specials / name))


@pytest.mark.timeout(10)
def test_character_device_is_listed_and_never_opened(tmp_path: Path) -> None:
    if not os.path.exists("/dev/null"):
        pytest.skip("no /dev/null to link to")
    (tmp_path / "null").symlink_to("/dev/null")
    (entry,) = scan_directory(str(tmp_path), FOLLOW).entries
    assert entry.kind is EntryKind.CHARACTER
    with pytest.raises(SourceError, match="not a regular file"):
        read_range(entry.path, 0, 10)


# --- excludes ------------------------------------------------------------------------------------


def options_for(exclude_file_name: tuple[str, ...] = (), exclude_directory_name: tuple[str, ...] = ()) -> ScanOptions:
    return ScanOptions(
        exclude_file_name=compile_patterns(exclude_file_name, "exclude_file_name"),
        exclude_directory_name=compile_patterns(exclude_directory_name, "exclude_directory_name"),
    )


def test_exclude_file_name_is_re_match_against_the_absolute_path(tmp_path: Path) -> None:
    write(tmp_path / "keep.txt")
    write(tmp_path / "skip.tmp")
    write(tmp_path / "sub" / "other.tmp")
    options = options_for(exclude_file_name=(".*\\.tmp$",))
    entries, excluded, _ = walk(tmp_path, options)
    assert set(entries) == {str(tmp_path / "keep.txt")}
    assert excluded == {str(tmp_path / "skip.tmp"), str(tmp_path / "sub" / "other.tmp")}


def test_exclude_file_name_anchors_at_the_start_of_the_absolute_path(tmp_path: Path) -> None:
    write(tmp_path / "skip.tmp")
    entries, excluded, _ = walk(tmp_path, options_for(exclude_file_name=("skip",)))
    assert set(entries) == {str(tmp_path / "skip.tmp")} and not excluded
    entries, excluded, _ = walk(tmp_path, options_for(exclude_file_name=(re.escape(f"{tmp_path}/skip"),)))
    assert not entries and excluded == {str(tmp_path / "skip.tmp")}


def test_exclude_file_name_also_leaves_out_a_matching_directory_as_the_old_tool(tmp_path: Path) -> None:
    write(tmp_path / "cache.tmp" / "inside")
    entries, excluded, _ = walk(tmp_path, options_for(exclude_file_name=(".*\\.tmp$",)))
    assert not entries and excluded == {str(tmp_path / "cache.tmp")}


def test_exclude_directory_name_leaves_the_directory_out_undescended_but_reported(tmp_path: Path) -> None:
    write(tmp_path / "keep" / "a")
    write(tmp_path / "scratch" / "b")
    entries, excluded, _ = walk(tmp_path, options_for(exclude_directory_name=(".*/scratch$",)))
    assert set(entries) == {str(tmp_path / "keep" / "a")}
    assert excluded == {str(tmp_path / "scratch")}


def test_exclude_directory_name_does_not_apply_to_files(tmp_path: Path) -> None:
    write(tmp_path / "scratch")
    entries, excluded, _ = walk(tmp_path, options_for(exclude_directory_name=(".*/scratch$",)))
    assert set(entries) == {str(tmp_path / "scratch")} and not excluded


def test_exclude_directory_name_applies_to_a_followed_link_to_a_directory(tmp_path: Path) -> None:
    write(tmp_path / "real" / "f")
    (tmp_path / "scratch").symlink_to("real")
    options = ScanOptions(
        exclude_directory_name=compile_patterns([".*/scratch$"], "exclude_directory_name"),
        follow_symlinks=True,
    )
    entries, excluded, _ = walk(tmp_path, options)
    assert set(entries) == {str(tmp_path / "real" / "f")} and excluded == {str(tmp_path / "scratch")}


@pytest.mark.timeout(10)
def test_exclude_file_type_leaves_out_those_kinds_and_reports_them(specials: Path) -> None:
    write(specials / "plain")
    options = ScanOptions(exclude_file_type=parse_file_types(["pipe", "socket", "link"]))
    listing = scan_directory(str(specials), options)
    assert set(by_path(listing)) == {str(specials / "plain")}
    assert set(listing.excluded) == {str(specials / n) for n in ("fifo", "sock", "fifo_link", "sock_link")}


def test_exclude_link_type_leaves_out_symlinks_even_when_following(tmp_path: Path) -> None:
    write(tmp_path / "f")
    (tmp_path / "link").symlink_to("f")
    options = ScanOptions(exclude_file_type=frozenset({EntryKind.LINK}), follow_symlinks=True)
    listing = scan_directory(str(tmp_path), options)
    assert set(by_path(listing)) == {str(tmp_path / "f")} and listing.excluded == (str(tmp_path / "link"),)


def test_exclude_directory_type_leaves_out_every_subdirectory(tmp_path: Path) -> None:
    write(tmp_path / "f")
    write(tmp_path / "sub" / "g")
    listing = scan_directory(str(tmp_path), ScanOptions(exclude_file_type=frozenset({EntryKind.DIRECTORY})))
    assert listing.subdirectories == () and listing.excluded == (str(tmp_path / "sub"),)


def test_exclude_regular_type_leaves_out_regular_files_only(tmp_path: Path) -> None:
    write(tmp_path / "f")
    (tmp_path / "link").symlink_to("f")
    listing = scan_directory(str(tmp_path), ScanOptions(exclude_file_type=frozenset({EntryKind.REGULAR})))
    assert set(by_path(listing)) == {str(tmp_path / "link")}


def test_compile_patterns_names_the_option_and_the_bad_pattern_on_one_line() -> None:
    with pytest.raises(ConfigError) as caught:
        compile_patterns(["ok.*", "bad(\n"], "exclude_file_name")
    message = str(caught.value)
    assert "exclude_file_name" in message and "'bad(\\n'" in message and "\n" not in message


def test_parse_file_types_rejects_an_unknown_word_listing_the_valid_ones() -> None:
    assert parse_file_types(["regular", "pipe"]) == {EntryKind.REGULAR, EntryKind.PIPE}
    with pytest.raises(ConfigError, match="exclude_file_type: unknown file type fifo .*pipe"):
        parse_file_types(["fifo"])


# --- names ---------------------------------------------------------------------------------------


def test_non_utf8_name_is_listed_as_a_surrogateescaped_str_and_can_be_read_back(tmp_path: Path) -> None:
    raw_dir = os.fsencode(tmp_path) + b"/d\xff"
    os.mkdir(raw_dir)
    fd = os.open(raw_dir + b"/caf\xe9.txt", os.O_CREAT | os.O_WRONLY, 0o644)
    os.write(fd, b"bytes")
    os.close(fd)
    entries, _, problems = walk(tmp_path)
    (path,) = entries
    assert os.fsencode(path) == raw_dir + b"/caf\xe9.txt" and not problems
    assert stat_entry(path, follow_symlinks=False) == entries[path]
    assert read_range(path, 1, 3) == b"yte"
    assert check_readable(entries[path]) is None


def test_path_longer_than_path_max_is_a_problem_not_an_exception(tmp_path: Path) -> None:
    name = "n" * 250
    fd = os.open(tmp_path, os.O_RDONLY)
    for _ in range(20):  # about 5,000 characters, more than PATH_MAX (4,096)
        os.mkdir(name, dir_fd=fd)
        child = os.open(name, os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = child
    os.close(fd)
    _, _, problems = walk(tmp_path)
    assert problems and all(p.reason == os.strerror(errno.ENAMETOOLONG) for p in problems)


def test_missing_root_is_a_problem_not_an_exception(tmp_path: Path) -> None:
    listing = scan_directory(str(tmp_path / "gone"), ScanOptions())
    assert listing.problems == (Problem(str(tmp_path / "gone"), "No such file or directory"),)


# --- stat_entry, settle, reads -------------------------------------------------------------------


def test_stat_entry_describes_a_path_like_the_scan_does(tmp_path: Path) -> None:
    write(tmp_path / "f", b"abc")
    (tmp_path / "link").symlink_to("f")
    scanned = by_path(scan_directory(str(tmp_path), ScanOptions()))
    assert stat_entry(str(tmp_path / "f"), False) == scanned[str(tmp_path / "f")]
    assert stat_entry(str(tmp_path / "link"), False) == scanned[str(tmp_path / "link")]
    followed = stat_entry(str(tmp_path / "link"), True)
    assert followed is not None and (followed.kind, followed.size) == (EntryKind.REGULAR, 3)


def test_stat_entry_returns_none_when_the_path_vanished(tmp_path: Path) -> None:
    assert stat_entry(str(tmp_path / "gone"), follow_symlinks=True) is None


def test_stat_entry_raises_for_a_dangling_link_when_following(tmp_path: Path) -> None:
    (tmp_path / "dangling").symlink_to("nowhere")
    with pytest.raises(SourceError, match=DANGLING_SYMLINK):
        stat_entry(str(tmp_path / "dangling"), follow_symlinks=True)


def entry_at(mtime: float, ctime: float = 0.0) -> Entry:
    return Entry("/lz/f", EntryKind.REGULAR, 1, mtime, ctime)


def test_file_changed_within_the_settle_time_is_not_settled() -> None:
    assert not is_settled(entry_at(995.0), now=1000.0, settle_seconds=10)
    assert is_settled(entry_at(985.0), now=1000.0, settle_seconds=10)


def test_recent_ctime_keeps_a_back_dated_mtime_from_counting_as_settled() -> None:
    assert not is_settled(entry_at(mtime=100.0, ctime=998.0), now=1000.0, settle_seconds=10)


def test_mtime_far_in_the_future_counts_as_settled() -> None:
    assert is_settled(entry_at(10_000.0), now=1000.0, settle_seconds=10)
    assert not is_settled(entry_at(1005.0), now=1000.0, settle_seconds=10)


def test_zero_settle_time_settles_everything() -> None:
    assert is_settled(entry_at(1000.0), now=1000.0, settle_seconds=0)


def test_read_range_reads_from_an_offset_and_stops_at_the_end(tmp_path: Path) -> None:
    f = write(tmp_path / "f", b"0123456789")
    assert read_range(str(f), 2, 3) == b"234"
    assert read_range(str(f), 8, 100) == b"89"


def test_open_for_upload_reads_a_links_target_bytes(tmp_path: Path) -> None:
    write(tmp_path / "f", b"payload")
    (tmp_path / "link").symlink_to("f")
    with open_for_upload(str(tmp_path / "link")) as stream:
        assert stream.read() == b"payload"


def test_open_for_upload_of_a_missing_file_raises_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="No such file"):
        open_for_upload(str(tmp_path / "gone"))


# --- unreadable files and directories (need a user that permissions apply to) --------------------


def _drop_privileges(module: str) -> None:
    """Import the function's module first: as nobody, the interpreter under /root could not be read."""
    importlib.import_module(module)
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def as_unprivileged(function: Callable[..., Any], *args: Any) -> Any:
    """Run `function` where file permissions bind: as nobody in a child process when we are root.

    The child is spawned, not forked: a fork of this threaded test process (irods-lite's and Redis's
    client threads) can inherit a lock another thread held, and hang (seen in CI)."""
    if os.geteuid() != 0:
        return function(*args)
    context = multiprocessing.get_context("spawn")
    with context.Pool(1, initializer=_drop_privileges, initargs=(function.__module__,)) as pool:
        return pool.apply(function, args)


def _chmod_blocks_reads(directory: str) -> bool:
    probe = os.path.join(directory, "probe")
    write(Path(probe))
    os.chmod(probe, 0)
    try:
        return not bool(as_unprivileged(os.access, probe, os.R_OK))
    finally:
        os.unlink(probe)


@pytest.fixture
def locked_tree() -> Iterator[Path]:
    """A tree readable by all but for one mode-0 file and one mode-0 directory.

    Outside pytest's tmp_path because its parents are mode 0700: nobody could not reach it.
    """
    base = tempfile.mkdtemp(prefix="lz-ingest-locked-")
    try:
        os.chmod(base, 0o755)
        if not _chmod_blocks_reads(base):
            pytest.skip("not root, and chmod 000 does not stop this user reading: no unreadable file possible")
        root = Path(base)
        write(root / "ok.txt", b"fine").chmod(0o644)
        write(root / "locked.txt", b"secret").chmod(0)
        write(root / "closed" / "hidden.txt").chmod(0o644)
        (root / "closed").chmod(0)
        write(root / "open" / "visible.txt").chmod(0o644)
        (root / "open").chmod(0o755)
        yield root
    finally:
        os.chmod(base, 0o700)
        for directory, _, _ in os.walk(base):
            os.chmod(directory, 0o700)
        shutil.rmtree(base)


def _walk_as_lists(root: str) -> tuple[list[str], list[Problem]]:
    entries, _, problems = walk(Path(root))
    return sorted(entries), problems


def _readability_of(path: str) -> tuple[Problem | None, str]:
    entry = stat_entry(path, follow_symlinks=False)
    assert entry is not None
    try:
        open_for_upload(path).close()
    except SourceError as err:
        return check_readable(entry), str(err)
    return check_readable(entry), "opened"


def test_unreadable_directory_is_a_problem_and_the_rest_of_the_tree_is_listed(locked_tree: Path) -> None:
    entries, problems = as_unprivileged(_walk_as_lists, str(locked_tree))
    assert problems == [Problem(str(locked_tree / "closed"), "Permission denied")]
    assert entries == sorted(str(locked_tree / n) for n in ("locked.txt", "ok.txt", "open/visible.txt"))


def test_unreadable_file_is_listed_but_check_readable_and_open_report_it(locked_tree: Path) -> None:
    problem, opened = as_unprivileged(_readability_of, str(locked_tree / "locked.txt"))
    assert problem == Problem(str(locked_tree / "locked.txt"), "Permission denied")
    assert opened.endswith("Permission denied")
    assert as_unprivileged(_readability_of, str(locked_tree / "ok.txt")) == (None, "opened")
