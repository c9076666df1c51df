"""irods-lite from Python: a context manager on a free port, for tests, demos and benchmarks."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from .config import LiteConfig
from .server import LiteServer


@contextmanager
def running(config: LiteConfig | None = None, **overrides: object) -> Iterator[LiteServer]:
    """Start irods-lite on a free port (port 0) in a temporary data directory unless one is given."""
    with tempfile.TemporaryDirectory(prefix="irods-lite-") as tmp:
        base = config or LiteConfig(data_dir=Path(tmp))
        cfg = replace(base, **{"port": 0, **overrides})  # type: ignore[arg-type]
        server = LiteServer(cfg).start()
        try:
            yield server
        finally:
            server.stop()
