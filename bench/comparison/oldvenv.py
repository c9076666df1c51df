"""The old framework (irods-capability-automated-ingest 0.7.0) in its own virtual environment.

Its own dependency pins do not resolve on Python 3.11 (celery[redis] wants a kombu and a redis
client that conflict): installing celery, kombu, a redis client below 5 and packaging first, then
the 0.7.0 release, works. python-irodsclient is pinned to the version lz-ingest uses, so both tools
talk to irods-lite through the same client code.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

OLD_VERSION = "0.7.0"
PRE_REQUIREMENTS = ("celery[redis]==5.4.0", "kombu==5.4.2", "redis<5", "packaging")
REQUIREMENT = f"irods-capability-automated-ingest=={OLD_VERSION}"
SAME_CLIENT = "python-irodsclient==3.3.0"


def python(venv: Path) -> Path:
    return venv / "bin" / "python"


def installed(venv: Path) -> bool:
    """True when the venv imports the old package at the expected version."""
    if not python(venv).exists():
        return False
    probe = "import importlib.metadata as m; print(m.version('irods-capability-automated-ingest'))"
    result = subprocess.run([str(python(venv)), "-c", probe], capture_output=True, text=True, check=False)
    return result.returncode == 0 and result.stdout.strip() == OLD_VERSION


def ensure(venv: Path) -> Path:
    """Create the venv and install the old framework unless it is already there; return its python."""
    if installed(venv):
        return python(venv)
    print(f"installing {REQUIREMENT} into {venv} (once; about a minute)", flush=True)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    pip = [str(python(venv)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, *PRE_REQUIREMENTS, SAME_CLIENT], check=True)
    subprocess.run([*pip, REQUIREMENT, SAME_CLIENT], check=True)
    if not installed(venv):
        raise SystemExit(f"{REQUIREMENT} did not install into {venv}")
    return python(venv)
