"""Logical names: where a source path lands in iRODS, and the AVUs that record a renamed path.

Character mapping keeps the old framework's `char_map_util.py` results (same replacement,
same uniqueness suffix); names that cannot be encoded as UTF-8 follow its UnicodeEncodeError
convention (`tasks/filesystem_tasks.py:filesystem_sync_entry`).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from lz_ingest.errors import ConfigError, PathTooLongError, SourceError

# iRODS's buffer for a path (objPath, filePath): the bytes plus a terminating NUL must fit.
MAX_NAME_LEN = 1088

# --provenance: where an object came from, for a data steward tracing it back to its ingest
PROVENANCE_JOB = "lz_ingest::job"
PROVENANCE_TIME = "lz_ingest::ingested_at"  # UTC, ISO 8601, whole seconds
PROVENANCE_HOST = "lz_ingest::worker_host"
PROVENANCE_CHECKSUM = "lz_ingest::checksum_verified"  # "true": the server computed and checked it (--checksum)
UNICODE_ERROR_PREFIX = "irods_UnicodeEncodeError_"
UNICODE_ERROR_ATTRIBUTE = "irods::automated_ingest::UnicodeEncodeError"
CHARACTER_MAP_ATTRIBUTE = "irods::automated_ingest::character_map"
B64_UNIT = "python3.base64.b64encode(full_path_of_source_file)"

MapKey: TypeAlias = str | tuple[str, ...] | re.Pattern[str] | Callable[[str], Any]
CharacterMap: TypeAlias = tuple[tuple[MapKey, str], ...]
RawCharacterMap: TypeAlias = Mapping[Any, Any] | Iterable[Any]

# Candidates for the suffix that keeps mapped names unique; those the map changes are dropped.
_SEPARATORS = "-~_"
_RADIX_CHARS = string.digits + string.ascii_letters
# The encoded changes are replaced by this digest when they would be at least as long.
_FALLBACK_HASH = hashlib.sha224
_FALLBACK_LEN = _FALLBACK_HASH().digest_size


@dataclass(frozen=True)
class Avu:
    """One metadata triple to attach to a data object."""

    attribute: str
    value: str
    unit: str = ""


def normalize_character_map(raw: RawCharacterMap | None) -> CharacterMap | None:
    """Validate a handler's character_map() result (dict or pairs, in order) into a tuple of pairs."""
    if raw is None:
        return None
    try:
        pairs = tuple(dict(raw).items())
    except (TypeError, ValueError) as exc:
        raise ConfigError("character_map() must return a dict or an iterable of (key, value) pairs") from exc
    for key, value in pairs:
        _check_pair(key, value)
    return pairs


def _check_pair(key: object, value: object) -> None:
    if not (isinstance(value, str) and len(value) == 1):
        raise ConfigError(f"character_map value for {key!r} must be one character, got {value!r}")
    if isinstance(key, str):
        ok = len(key) == 1
    elif isinstance(key, tuple):
        ok = all(isinstance(k, str) and len(k) == 1 for k in key)
    else:
        ok = isinstance(key, re.Pattern) or callable(key)
    if not ok:
        raise ConfigError(
            f"character_map key {key!r} must be a character, a tuple of characters, a compiled regex or a callable"
        )


def translate_string(text: str, cmap: CharacterMap) -> str:
    """Apply each mapping in order, without the uniqueness suffix."""
    for key, value in cmap:
        if isinstance(key, tuple):
            text = text.translate({ord(k): value for k in key})
        elif isinstance(key, re.Pattern):
            text = key.sub(_literal(value), text)
        elif isinstance(key, str):
            text = text.translate({ord(key): value})
        else:
            text = "".join(value if key(c) else c for c in text)
    return text


def _literal(value: str) -> Callable[[re.Match[str]], str]:
    """A re.sub replacement that inserts `value` as is (no backslash escapes)."""
    return lambda _match: value


def _unmapped(chars: str, cmap: CharacterMap) -> str:
    """The characters of `chars` that the map leaves alone (the old `_allowed_in_string`)."""
    return "".join(a for a, b in zip(chars, translate_string(chars, cmap), strict=False) if a == b)


def _encoded_changes(name: str, new_name: str) -> bytes:
    """Each changed position as UTF-8 of chr(index) + original char; a SHA-224 digest if that is longer."""
    encoded = b""
    for index, (old, new) in enumerate(zip(name, new_name, strict=False)):
        if old != new:
            encoded += chr(index).encode("utf-8") + old.encode("utf-8")
            if len(encoded) >= _FALLBACK_LEN:
                return _FALLBACK_HASH(name.encode("utf-8")).digest()
    return encoded


def _suffix(changes: bytes, cmap: CharacterMap) -> str:
    """The changes as a number written little-endian in the unmapped radix characters, after a separator."""
    if not changes:
        return ""
    digits = _unmapped(_RADIX_CHARS, cmap)
    if not digits:
        raise ConfigError("character_map maps every letter and digit: no characters left for the name suffix")
    number = int.from_bytes(changes, "big")
    out = [_unmapped(_SEPARATORS, cmap)[:1]]
    while number:
        number, digit = divmod(number, len(digits))
        out.append(digits[digit])
    return "".join(out)


def translate_element(name: str, cmap: CharacterMap) -> str:
    """Map one path element and append the suffix that keeps distinct originals distinct."""
    new_name = translate_string(name, cmap)
    return new_name + _suffix(_encoded_changes(name, new_name), cmap)


def translate_path(path: str, cmap: CharacterMap) -> str:
    """Map every element of a '/'-separated path (empty elements dropped, a leading '/' kept)."""
    elements = [translate_element(el, cmap) for el in path.split("/") if el]
    return ("/" if path.startswith("/") else "") + "/".join(elements)


def is_utf8_encodable(path: str) -> bool:
    """False for a path holding surrogate escapes (bytes that are not UTF-8, as os.fsdecode gives them)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def b64_path(path: str) -> str:
    """Base64 of the path's original bytes (surrogateescape undone), as the old AVUs record it."""
    return base64.b64encode(path.encode("utf-8", "surrogateescape")).decode("ascii")


def unicode_error_name(full_path: str) -> str:
    """The data name for an unencodable path: prefix + URL-safe base64 of the full path's bytes.

    The URL-safe alphabet ('-' and '_' where the standard one has '+' and '/') keeps the name one path
    element: the old framework's standard alphabet can put a '/' in it and split it into a collection.
    The AVU keeps the standard alphabet, as its unit says.
    """
    return UNICODE_ERROR_PREFIX + base64.urlsafe_b64encode(full_path.encode("utf-8", "surrogateescape")).decode("ascii")


def check_name_length(path: str, kind: str = "path") -> None:
    """Raise PathTooLongError when the encoded path plus its NUL does not fit in MAX_NAME_LEN."""
    size = len(path.encode("utf-8", "surrogateescape"))
    if size >= MAX_NAME_LEN:
        raise PathTooLongError(
            f"{kind} too long: {size} bytes, iRODS allows at most {MAX_NAME_LEN - 1}: {path[:64]!r}...{path[-64:]!r}"
        )


def _relative_elements(source_root: str, source_path: str) -> tuple[str, ...]:
    root, path = os.path.abspath(source_root), os.path.abspath(source_path)
    if path == root:
        return ()
    prefix = root.rstrip("/") + "/"
    if not path.startswith(prefix):
        raise SourceError(f"{source_path!r} is not under the source root {source_root!r}")
    return tuple(path[len(prefix) :].split("/"))


def _map_elements(root: str, elements: tuple[str, ...], cmap: CharacterMap | None) -> tuple[list[str], bool]:
    """Rename each element by the UnicodeEncodeError rule if the path up to it is unencodable, else map it."""
    prefix, names, mapped = root, [], False
    for element in elements:
        prefix = os.path.join(prefix, element)
        if not is_utf8_encodable(prefix):
            names.append(unicode_error_name(prefix))
        elif cmap:
            names.append(translate_element(element, cmap))
            mapped = mapped or names[-1] != element
        else:
            names.append(element)
    return names, mapped


def logical_path(
    source_root: str,
    target_collection: str,
    source_path: str,
    character_map: RawCharacterMap | None = None,
) -> tuple[str, tuple[Avu, ...]]:
    """Where `source_path` lands under `target_collection`, and the AVUs recording a renamed path.

    The AVUs are meant for data objects (the old framework never annotates collections).
    """
    root = os.path.abspath(source_root)
    elements = _relative_elements(root, source_path)
    names, mapped = _map_elements(root, elements, normalize_character_map(character_map))
    full_path = os.path.join(root, *elements)
    avus: tuple[Avu, ...] = ()
    if elements and not is_utf8_encodable(full_path):
        avus = (Avu(UNICODE_ERROR_ATTRIBUTE, b64_path(full_path), B64_UNIT),)
    elif mapped:
        avus = (Avu(CHARACTER_MAP_ATTRIBUTE, b64_path(full_path), B64_UNIT),)
    result = "/".join([target_collection.rstrip("/"), *names])
    check_name_length(result, "logical path")
    return result, avus
