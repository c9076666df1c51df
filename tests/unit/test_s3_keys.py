"""Hostile S3 keys map to path elements inside the root, one-to-one, or are refused with a reason."""

from __future__ import annotations

import posixpath

import pytest

from lz_ingest.errors import SourceError
from lz_ingest.sources import s3_keys as keys

HOSTILE = ["", ".", "..", "%", "%2E", "50%", "a\tb", "line\nbreak", "\x00nul", "del\x7f", "c1\x85", "ok", "ünï"]


@pytest.mark.parametrize("segment", HOSTILE)
def test_every_segment_round_trips_through_its_element(segment: str) -> None:
    assert keys.segment(keys.element(segment)) == segment


def test_elements_are_never_empty_dot_or_dotdot_and_hold_no_control_character() -> None:
    for segment in HOSTILE:
        name = keys.element(segment)
        assert name not in ("", ".", "..")
        assert "/" not in name
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in name), repr(name)


def test_plain_segments_keep_their_names_and_a_percent_inside_a_name_is_kept() -> None:
    assert keys.element("report.csv") == "report.csv"
    assert keys.element("50%.txt") == "50%.txt"
    assert keys.element("..hidden") == "..hidden"


def test_the_documented_mapping() -> None:
    assert [keys.element(s) for s in ("", ".", "..", "%x", "a\tb")] == ["%", "%.", "%..", "%%25x", "%a%09b"]


def test_the_mapping_is_one_to_one() -> None:
    segments = [*HOSTILE, "%25", "%%", "%.", "%%25x", "%a%09b"]
    names = [keys.element(s) for s in segments]
    assert len(set(names)) == len(set(segments))


def test_a_key_climbing_out_stays_below_the_root_once_mapped() -> None:
    root = "/bucket/prefix"
    for rest in ("../../etc/passwd", "/abs", "a//b", "./x", "a/./../b/", "..", "x/.."):
        path = root + "/" + "/".join(keys.path_elements(rest))
        assert posixpath.normpath(path) == path
        assert path.startswith(root + "/")
        assert keys.key_rest(path[len(root) + 1 :].split("/")) == rest


def test_invalid_utf8_and_over_long_keys_are_refused_with_a_reason() -> None:
    with pytest.raises(SourceError, match="not valid UTF-8"):
        keys.key_from_bytes(b"p/bad\xff\xfe", "s3://b")
    with pytest.raises(SourceError, match="longer than S3 allows"):
        keys.key_from_bytes(b"k" * 1025, "s3://b")
    assert keys.key_from_bytes("p/ünï".encode(), "s3://b") == "p/ünï"
