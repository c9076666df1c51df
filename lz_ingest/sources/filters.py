"""What a scan leaves out: the exclude options and the pure decisions made with them.

Semantics kept from the old framework (users' patterns rely on them):
- patterns are Python regexes tried with `re.match` against the ABSOLUTE path of the entry;
- `exclude_file_name` patterns apply to every entry, directories included (the old scanner tried
  them before looking at the type), so a matching directory is not descended;
- `exclude_directory_name` patterns apply to directories only;
- `exclude_file_type` names the kind as lstat sees it; with follow_symlinks the kind is the
  target's, and LINK still leaves out every symlink.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from lz_ingest.errors import ConfigError
from lz_ingest.model import EntryKind

Patterns = tuple[re.Pattern[str], ...]


@dataclass(frozen=True)
class ScanOptions:
    """How to list a local tree; a plain value that travels with every scan job (patterns pickle)."""

    exclude_file_name: Patterns = ()
    exclude_directory_name: Patterns = ()
    exclude_file_type: frozenset[EntryKind] = frozenset()
    follow_symlinks: bool = False
    # a source that lists large directories in parts (S3 key ranges) lists each whole in one task instead
    whole_directories: bool = False


def compile_patterns(patterns: Iterable[str], option_name: str) -> Patterns:
    """Compile each regex; a bad one raises ConfigError naming the option and the pattern, on one line."""
    return tuple(_compile_one(pattern, option_name) for pattern in patterns)


def _compile_one(pattern: str, option_name: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as err:
        message = str(err).replace("\n", " ")
        raise ConfigError(f"{option_name}: invalid regular expression {pattern!r}: {message}") from None


def parse_file_types(names: Iterable[str], option_name: str = "exclude_file_type") -> frozenset[EntryKind]:
    """Turn the old `--exclude_file_type` words (regular, directory, ..., link) into kinds."""
    names = tuple(names)
    valid = {kind.value: kind for kind in EntryKind}
    unknown = sorted(name for name in names if name not in valid)
    if unknown:
        choices = ", ".join(valid)
        raise ConfigError(f"{option_name}: unknown file type {', '.join(unknown)} (choose from {choices})")
    return frozenset(valid[name] for name in names)


def matches_any(patterns: Patterns, path: str) -> bool:
    if not patterns:  # the common case, on the hot path of every scanned entry
        return False
    return any(pattern.match(path) for pattern in patterns)


def excluded_by_file_name(path: str, options: ScanOptions) -> bool:
    """True when a file-name pattern leaves the entry out; decidable before any stat."""
    return matches_any(options.exclude_file_name, path)


def excluded_by_kind(path: str, kind: EntryKind, is_link: bool, options: ScanOptions) -> bool:
    """True when the entry's kind, or for a directory its path, leaves it out."""
    if kind in options.exclude_file_type:
        return True
    if is_link and EntryKind.LINK in options.exclude_file_type:
        return True
    return kind is EntryKind.DIRECTORY and matches_any(options.exclude_directory_name, path)
