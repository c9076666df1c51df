"""The servers a comparison run starts: irods-lite in this process (its counters read directly) and
one private redis-server per tool (so each tool's keys and memory are its own)."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from irods.column import Like
from irods.models import Collection, DataObject
from irods.session import iRODSSession

from lz_ingest.irods_lite import LiteConfig, LiteServer
from lz_ingest.redis_embedded import RedisServer

from .trees import sha256_file

ZONE, USER, PASSWORD = "tempZone", "rods", "rods"
HOME = f"/{ZONE}/home/{USER}"


@dataclass
class Services:
    lite: LiteServer
    redis_urls: dict[str, str]
    redis_pids: dict[str, int | None] = field(default_factory=dict)

    def irods_env(self) -> dict[str, str]:
        """The five variables both tools read their iRODS connection from."""
        return {
            "IRODS_HOST": "127.0.0.1",
            "IRODS_PORT": str(self.lite.port),
            "IRODS_USER_NAME": USER,
            "IRODS_ZONE_NAME": ZONE,
            "IRODS_PASSWORD": PASSWORD,
        }

    def session(self) -> iRODSSession:
        return iRODSSession(host="127.0.0.1", port=self.lite.port, user=USER, password=PASSWORD, zone=ZONE)

    def redis(self, tool: str) -> redis.Redis:
        return redis.Redis.from_url(self.redis_urls[tool])


@contextmanager
def started(workdir: Path, tools: list[str]) -> Iterator[Services]:
    with ExitStack() as stack:
        lite = LiteServer(LiteConfig(data_dir=workdir / "irods-lite", port=0)).start()
        stack.callback(lite.stop)
        servers = {tool: stack.enter_context(RedisServer()) for tool in tools}
        yield Services(lite, {t: s.url for t, s in servers.items()}, {t: s.pid for t, s in servers.items()})


def redis_snapshot(conn: redis.Redis, needle: str) -> dict[str, Any]:
    """Key count (by prefix), memory, and how many key names contain `needle` (a source path)."""
    prefixes: Counter[str] = Counter()
    naming_files = 0
    for name in conn.scan_iter(count=1000):
        text = name.decode(errors="replace")
        prefixes[_prefix(text)] += 1
        naming_files += needle in text
    info = conn.info("memory")
    return {
        "keys": sum(prefixes.values()),
        "keys_by_prefix": dict(prefixes.most_common(12)),
        "keys_naming_a_source_path": naming_files,
        "used_memory": int(info["used_memory"]),
    }


def _prefix(name: str) -> str:
    """What a key is: the old tool's `category:/identifier`, or the first two parts of `rq:...` / `lz:...`."""
    if ":/" in name:
        return name.split(":/", 1)[0]
    return ":".join(name.split(":")[:2])


# ---- what the catalog holds after a run ---------------------------------------------------------------


@dataclass
class CatalogObject:
    logical: str
    size: int
    physical: str


def catalog_objects(services: Services, target: str) -> dict[str, CatalogObject]:
    """Every data object at or below `target`, keyed by its path relative to `target`."""
    found: dict[str, CatalogObject] = {}
    columns = (Collection.name, DataObject.name, DataObject.size, DataObject.path)
    with services.session() as sess:
        for coll_filter in (Collection.name == target, Like(Collection.name, f"{target}/%")):
            for row in sess.query(*columns).filter(coll_filter):
                logical = f"{row[Collection.name]}/{row[DataObject.name]}"
                rel = logical[len(target) + 1 :]
                found[rel] = CatalogObject(logical, int(row[DataObject.size]), row[DataObject.path])
    return found


_SOURCE_HASHES: dict[tuple[str, int, int], str] = {}


def _source_sha256(path: Path) -> str:
    """Source hashes are cached by path, size and mtime: each tree is checked several times."""
    st = path.stat()
    cache_key = (str(path), st.st_size, st.st_mtime_ns)
    if cache_key not in _SOURCE_HASHES:
        _SOURCE_HASHES[cache_key] = sha256_file(path)
    return _SOURCE_HASHES[cache_key]


@dataclass
class Check:
    ok: bool
    detail: str


def check_catalog(services: Services, target: str, source: Path, put: bool, expect_files: int) -> Check:
    """The catalog below `target` holds exactly the files below `source`, with their sizes; for a put,
    the bytes in the vault hash like the source's; for a register, the replica points at the source."""
    objects = catalog_objects(services, target)
    problems: list[str] = []
    seen = 0
    for directory, _, names in os.walk(source):
        for name in names:
            path = Path(directory) / name
            rel = str(path.relative_to(source))
            seen += 1
            obj = objects.pop(rel, None)
            if obj is None:
                problems.append(f"missing {rel}")
            elif obj.size != path.stat().st_size:
                problems.append(f"size {rel}: catalog {obj.size} source {path.stat().st_size}")
            elif not put and obj.physical != str(path):
                problems.append(f"physical path {rel}: {obj.physical}")
            elif put and sha256_file(obj.physical) != _source_sha256(path):
                problems.append(f"content {rel} differs")
    problems += [f"extra {rel}" for rel in sorted(objects)]
    if seen != expect_files:
        problems.append(f"source holds {seen} files, expected {expect_files}")
    if problems:
        return Check(False, f"{len(problems)} problems, e.g. {'; '.join(problems[:3])}")
    return Check(True, f"{seen} objects, sizes{' and sha256' if put else ' and physical paths'} match")
