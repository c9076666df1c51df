"""System programs some tests need (podman, prometheus, chromium...): skip without them, fail in CI.

`.ci/run` installs the Debian packages and sets LZ_REQUIRE_SYSTEM_TOOLS=1, so there a missing program
is a failure; on a developer's machine without it the test skips with a message naming the package.
"""

from __future__ import annotations

import os
import shutil

import pytest

REQUIRE_VARIABLE = "LZ_REQUIRE_SYSTEM_TOOLS"


def required() -> bool:
    return os.environ.get(REQUIRE_VARIABLE, "") not in ("", "0")


def need(reason: str) -> None:
    """Skip (or fail, when required) for `reason`, a sentence naming what is missing and its package."""
    if required():
        pytest.fail(f"{reason} ({REQUIRE_VARIABLE} is set)", pytrace=False)
    pytest.skip(reason)


def need_programs(*programs: tuple[str, str]) -> None:
    """Each (program, Debian package) pair must be on PATH (sbin directories included)."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    missing = [(prog, pkg) for prog, pkg in programs if shutil.which(prog, path=path) is None]
    if missing:
        names = ", ".join(f"{prog} (Debian package {pkg})" for prog, pkg in missing)
        need(f"not installed: {names}")
