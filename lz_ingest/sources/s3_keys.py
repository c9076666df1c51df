"""S3 keys as source paths: a key names its object under `/bucket/...`, one path element per key segment.

A key is any UTF-8 string of up to 1024 bytes; a path element is not: `.` and `..` would climb out of
the target collection, an empty segment (`a//b`, a leading `/`, a trailing `/`) would vanish when the
path is normalized, and control characters corrupt logs and names. Each segment therefore maps to an
element by one reversible rule (the source turns an element back into the key segment it names):

- a *plain* segment (not empty, not `.` or `..`, not starting with `%`, no control character) is
  the element itself;
- any other segment becomes `%` followed by the segment with `%` and control characters
  percent-encoded: `` -> `%`, `.` -> `%.`, `..` -> `%..`, `%x` -> `%%25x`, `a<TAB>b` -> `%a%09b`.

An element starting with `%` is always an escaped one, so the mapping is one-to-one, and no element is
empty, `.` or `..`: a mapped path never leaves the source root (and so never the target). A key that
is not valid UTF-8 (some S3-compatible stores accept one) or longer than S3's 1024 bytes cannot be read
back through boto3 or be named safely: it is refused with a reason. Paths the catalog cannot hold
(over iRODS's length limits) are refused where every logical path is checked (naming).
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

from lz_ingest.errors import SourceError

MAX_KEY_BYTES = 1024  # S3's limit; a longer key cannot have come from S3 or be requested from it
ESCAPE = "%"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_UNSAFE = frozenset({"", ".", ".."})
# quote() leaves these alone; everything else it would encode is left alone too (see _escape)
_QUOTE_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")


def is_plain(segment: str) -> bool:
    """Whether the segment is its own path element."""
    return segment not in _UNSAFE and not segment.startswith(ESCAPE) and not _CONTROL.search(segment)


def element(segment: str) -> str:
    """The path element for one key segment."""
    return segment if is_plain(segment) else ESCAPE + _escape(segment)


def _escape(segment: str) -> str:
    """`%` and control characters percent-encoded (as UTF-8 bytes); every other character kept as is."""
    return "".join(quote(c, safe=_QUOTE_SAFE) if c == "%" or _CONTROL.match(c) else c for c in segment)


def segment(name: str) -> str:
    """The key segment a path element names (the inverse of `element`)."""
    return unquote(name[1:], errors="strict") if name.startswith(ESCAPE) else name


def key_from_bytes(raw: bytes, where: str) -> str:
    """A listed key (its bytes, as ListObjectsV2 with EncodingType=url gives them) as text; SourceError when it
    is not UTF-8 or too long, naming it by its escaped bytes."""
    if len(raw) > MAX_KEY_BYTES:
        raise SourceError(f"{where}: key of {len(raw)} bytes is longer than S3 allows ({MAX_KEY_BYTES})")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        shown = raw.decode("utf-8", "backslashreplace")
        raise SourceError(f"{where}/{shown}: key is not valid UTF-8; it cannot be read through S3's API") from None


def path_elements(key_rest: str) -> list[str]:
    """The path elements for a key below a listed prefix (its segments, `/`-separated)."""
    return [element(part) for part in key_rest.split("/")]


def key_rest(elements: list[str]) -> str:
    """The key part named by path elements (the inverse of `path_elements`)."""
    return "/".join(segment(name) for name in elements)


def shown(key: str) -> str:
    """A key for messages: control characters escaped, so one key stays one line."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", key)
