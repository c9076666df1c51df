"""Logical names: character maps with the old uniqueness suffix, UnicodeEncodeError names, length limits."""

from __future__ import annotations

import base64
import os
import re

import pytest

from lz_ingest.errors import ConfigError, PathTooLongError, SourceError
from lz_ingest.naming import (
    B64_UNIT,
    CHARACTER_MAP_ATTRIBUTE,
    MAX_NAME_LEN,
    UNICODE_ERROR_ATTRIBUTE,
    UNICODE_ERROR_PREFIX,
    Avu,
    b64_path,
    check_name_length,
    is_utf8_encodable,
    logical_path,
    normalize_character_map,
    translate_element,
    translate_path,
    translate_string,
    unicode_error_name,
)

ROOT = "/landing"
TARGET = "/tempZone/home/rods/ingest"
NON_ALNUM = {re.compile("[^a-zA-Z0-9]"): "_"}


def cmap(raw: object) -> tuple:
    result = normalize_character_map(raw)  # type: ignore[arg-type]
    assert result is not None
    return result


def test_without_a_map_the_logical_path_mirrors_the_source_below_the_target() -> None:
    assert logical_path(ROOT, TARGET, "/landing/a/b/file.txt") == (f"{TARGET}/a/b/file.txt", ())


def test_the_source_root_itself_maps_to_the_target_collection() -> None:
    assert logical_path(ROOT, TARGET + "/", ROOT) == (TARGET, ())


def test_a_path_outside_the_source_root_is_refused() -> None:
    with pytest.raises(SourceError):
        logical_path(ROOT, TARGET, "/landingzone/file.txt")


def test_a_mapped_character_gets_the_old_suffix_computed_from_index_and_original() -> None:
    # changes b"\x01@" = 320 = 10 + 5 * 62, written little-endian in 0-9a-zA-Z after the separator "-"
    assert translate_element("a@b", cmap({"@": "_"})) == "a_b-a5"


def test_an_unchanged_name_gets_no_suffix() -> None:
    assert translate_element("plain", cmap(NON_ALNUM)) == "plain"


@pytest.mark.parametrize(
    ("raw", "path", "expected"),
    [
        (
            NON_ALNUM,
            "/tempZone/home/rods/x/test-file~with@5!non.alphas",
            "/tempZone/home/rods/x/test_file_with_5_non_alphas_iQRy064Rz5Y66",
        ),
        (NON_ALNUM, "/a/b c/d.e", "/a/b_c_E4/d_e_S4"),
        ([(("!", "~", "0", "1"), "_"), ("-", "~")], "/x/a-b!c/0-1", "/x/a~b_c_DLlx3/_~__rkwOar6"),
        ({".": "_"}, "/x/" + "." * 20, "/x/" + "_" * 20 + "-a7vVB8JcvyJ1tGhXSVfTQuHvcyCAuc9PXooxg6"),
    ],
    ids=["readme-regex", "collections-too", "separator-and-digits-mapped-away", "sha224-fallback"],
)
def test_translate_path_gives_the_same_names_as_the_old_char_map_util(raw: object, path: str, expected: str) -> None:
    assert translate_path(path, cmap(raw)) == expected


def test_names_that_map_to_the_same_text_stay_distinct() -> None:
    m = cmap(NON_ALNUM)
    assert translate_element("a@b", m) != translate_element("a#b", m)
    assert translate_element("a@b", m).startswith("a_b")


@pytest.mark.parametrize(
    ("raw", "text", "expected"),
    [
        ({"\\": "_"}, "a\\b", "a_b"),
        ({("#", "-"): "\u2093"}, "a#b-c", "a\u2093b\u2093c"),
        ({re.compile("[\u0100-\U0010ffff]"): "_"}, "a\u0101\U00010000b\u00e9", "a__b\u00e9"),
        ({(lambda c: ord(c) in range(ord("z") + 1, 128)): ":"}, "a{|}~b", "a::::b"),
        ({re.compile("x"): "\\"}, "axb", "a\\b"),
    ],
    ids=["char", "tuple", "regex", "callable", "regex-value-is-literal"],
)
def test_each_key_kind_replaces_characters(raw: object, text: str, expected: str) -> None:
    assert translate_string(text, cmap(raw)) == expected


def test_a_list_of_pairs_applies_in_order() -> None:
    assert translate_string("a", cmap([("a", "b"), ("b", "c")])) == "c"
    assert translate_string("a", cmap([("b", "c"), ("a", "b")])) == "b"


@pytest.mark.parametrize(
    "raw",
    [42, {"ab": "_"}, {("a", "bc"): "_"}, {"a": "__"}, {"a": ""}, {3: "_"}, [("a",)]],
    ids=["not-a-mapping", "long-key", "long-tuple-item", "long-value", "empty-value", "int-key", "bad-pair"],
)
def test_an_invalid_character_map_is_a_config_error(raw: object) -> None:
    with pytest.raises(ConfigError):
        normalize_character_map(raw)  # type: ignore[arg-type]


def test_none_means_no_character_map() -> None:
    assert normalize_character_map(None) is None


def test_a_map_that_leaves_no_suffix_digits_is_a_config_error_when_a_suffix_is_needed() -> None:
    m = cmap({re.compile("[a-zA-Z0-9]"): "_"})
    assert translate_element("___", m) == "___"
    with pytest.raises(ConfigError):
        translate_element("ab", m)


def test_character_map_renames_collections_and_records_the_source_path_on_the_data_object() -> None:
    path = "/landing/my dir/file.txt"
    logical, avus = logical_path(ROOT, TARGET, path, NON_ALNUM)
    m = cmap(NON_ALNUM)
    assert logical == f"{TARGET}/{translate_element('my dir', m)}/{translate_element('file.txt', m)}"
    assert avus == (Avu(CHARACTER_MAP_ATTRIBUTE, base64.b64encode(path.encode()).decode(), B64_UNIT),)


def test_character_map_leaves_the_target_collection_alone() -> None:
    logical, avus = logical_path(ROOT, "/tempZone/home/rods/my.target", "/landing/ok", NON_ALNUM)
    assert logical == "/tempZone/home/rods/my.target/ok"
    assert avus == ()


def test_character_map_that_changes_nothing_adds_no_avu() -> None:
    assert logical_path(ROOT, TARGET, "/landing/abc/def", NON_ALNUM) == (f"{TARGET}/abc/def", ())


def test_surrogate_escaped_path_is_not_utf8_encodable() -> None:
    assert not is_utf8_encodable(os.fsdecode(b"/landing/bad\xff"))
    assert is_utf8_encodable("/landing/caf\u00e9")


def test_unencodable_file_becomes_the_unicode_error_object_with_its_avu() -> None:
    raw = b"/landing/bad_\xe1\x80.txt"
    logical, avus = logical_path(ROOT, TARGET, os.fsdecode(raw))
    b64 = base64.b64encode(raw).decode()
    assert logical == f"{TARGET}/{UNICODE_ERROR_PREFIX}{base64.urlsafe_b64encode(raw).decode()}"
    assert avus == (Avu("irods::automated_ingest::UnicodeEncodeError", b64, B64_UNIT),)
    assert UNICODE_ERROR_ATTRIBUTE == "irods::automated_ingest::UnicodeEncodeError"
    assert B64_UNIT == "python3.base64.b64encode(full_path_of_source_file)"
    assert base64.b64decode(avus[0].value) == raw


def test_unencodable_directory_renames_it_and_everything_below_it() -> None:
    raw_dir = b"/landing/sub/bad\xff"
    raw_file = raw_dir + b"/good.txt"
    logical, avus = logical_path(ROOT, TARGET, os.fsdecode(raw_file))
    directory_name = UNICODE_ERROR_PREFIX + base64.urlsafe_b64encode(raw_dir).decode()
    file_name = UNICODE_ERROR_PREFIX + base64.urlsafe_b64encode(raw_file).decode()
    assert logical == f"{TARGET}/sub/{directory_name}/{file_name}"
    assert avus[0].value == base64.b64encode(raw_file).decode()
    # the directory's own logical path is the prefix of its children's
    assert logical_path(ROOT, TARGET, os.fsdecode(raw_dir))[0] == f"{TARGET}/sub/{directory_name}"


def test_unicode_error_naming_takes_precedence_over_the_character_map() -> None:
    raw = b"/landing/a b/x\xff"
    logical, avus = logical_path(ROOT, TARGET, os.fsdecode(raw), NON_ALNUM)
    assert logical == f"{TARGET}/{translate_element('a b', cmap(NON_ALNUM))}/{unicode_error_name(os.fsdecode(raw))}"
    assert [a.attribute for a in avus] == [UNICODE_ERROR_ATTRIBUTE]


def test_the_data_name_uses_the_url_safe_alphabet_so_it_cannot_split() -> None:
    raw = b"/l/\xff\xff\xff\xfb\xef"
    assert b64_path(os.fsdecode(raw)) == "L2wv////++8="
    assert unicode_error_name(os.fsdecode(raw)) == UNICODE_ERROR_PREFIX + "L2wv____--8="
    logical, avus = logical_path("/l", TARGET, os.fsdecode(raw))
    assert logical == f"{TARGET}/{UNICODE_ERROR_PREFIX}L2wv____--8="
    assert avus[0].value == "L2wv////++8="  # the AVU keeps the standard alphabet its unit names


def test_a_path_one_byte_under_max_name_len_is_accepted() -> None:
    check_name_length("/" + "a" * (MAX_NAME_LEN - 2))


def test_a_path_of_max_name_len_bytes_is_refused() -> None:
    with pytest.raises(PathTooLongError) as info:
        check_name_length("/" + "a" * (MAX_NAME_LEN - 1), "physical path")
    assert "physical path" in str(info.value) and str(MAX_NAME_LEN) in str(info.value)
    assert isinstance(info.value, SourceError)


def test_path_length_counts_encoded_bytes() -> None:
    with pytest.raises(PathTooLongError):
        check_name_length("/" + "\u00e9" * (MAX_NAME_LEN // 2))
    check_name_length(os.fsdecode(b"/" + b"\xff" * (MAX_NAME_LEN - 2)))


def test_a_too_long_logical_path_is_refused() -> None:
    with pytest.raises(PathTooLongError):
        logical_path(ROOT, TARGET, "/landing/" + "d/" * 540 + "f")
