"""irods-lite: a local iRODS-protocol server (SQLite catalog, vaults) for tests, demos and benchmarks."""

from .config import LiteConfig, ResourceSpec, UserSpec
from .server import LiteServer
from .testing import running

__all__ = ["LiteConfig", "LiteServer", "ResourceSpec", "UserSpec", "running"]
