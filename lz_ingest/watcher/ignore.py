"""Which names the watcher leaves alone, and which directories wait for a complete-marker.

Temporary names (`*.part`, `*.tmp`, `.~*`, rsync's `.name.XXXXXX`) are never queued: the
writer renames them to their final name when done, and that name is what gets ingested.
rsync's pattern also matches a dotfile whose extension has exactly six letters or digits
(`.profile.backup`); such a file is ignored too, a price of not ingesting rsync's halves.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_PATTERNS = ("*.part", "*.tmp", ".~*")
_RSYNC_TEMP = re.compile(r"^\..+\.[A-Za-z0-9]{6}$")


@dataclass(frozen=True)
class IgnoreRule:
    """Default temporary names plus the user's --ignore globs (a glob with '/' matches the relative path)."""

    patterns: tuple[str, ...] = ()

    def ignores(self, path: str, root: str) -> bool:
        """True when `path` (absolute, below `root`) must not be queued."""
        name = os.path.basename(path)
        if _RSYNC_TEMP.match(name) or any(fnmatch.fnmatchcase(name, p) for p in DEFAULT_PATTERNS):
            return True
        relative = os.path.relpath(path, root)
        return any(fnmatch.fnmatchcase(relative if "/" in p else name, p) for p in self.patterns)


def ignore_rule(patterns: Sequence[str]) -> IgnoreRule:
    """The rule for the user's --ignore patterns."""
    return IgnoreRule(tuple(patterns))


def marker_candidates(path: str, root: str, marker: str) -> list[str]:
    """Where a complete-marker releasing `path` may lie: its directory and each ancestor up to `root`."""
    found = []
    directory = os.path.dirname(path)
    while True:
        found.append(os.path.join(directory, marker))
        if directory == root or len(directory) <= len(root):
            return found
        directory = os.path.dirname(directory)


def is_marker(path: str, marker: str | None) -> bool:
    """True when `path` is a complete-marker file."""
    return marker is not None and os.path.basename(path) == marker


def _glob_regex(glob: str) -> str:
    """A glob as a regex on one path element (`*` and `?` never cross a '/')."""
    out, i = [], 0
    while i < len(glob):
        c = glob[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[" and "]" in glob[i + 2 :]:
            end = glob.index("]", i + 2)
            body = glob[i + 1 : end]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            i = end
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def exclude_patterns(rule: IgnoreRule, root: str) -> tuple[str, ...]:
    """The rule as --exclude_file_name regexes (re.match on absolute paths), so rescans ignore what events do."""
    names = [*DEFAULT_PATTERNS, *(p for p in rule.patterns if "/" not in p)]
    found = [r".*/" + _glob_regex(name) + r"\Z" for name in names]
    found.append(r".*/\.[^/]+\.[A-Za-z0-9]{6}\Z")  # rsync's temporary names
    base = re.escape(root.rstrip("/")) + "/"
    found += [base + fnmatch.translate(p) for p in rule.patterns if "/" in p]  # as fnmatch: `*` crosses '/'

    return tuple(found)
