"""Which Source a job's source URI means: a local absolute path or file:// is a LocalSource; other schemes
are looked up in a table of factories.

A factory takes the URI and returns the Source. The table names built-in kinds by "module:attribute"
and imports a module only when a job uses its scheme (an S3 source's boto3 is not imported for a
local job): adding a kind is one module and one line here, e.g. "s3": "lz_ingest.sources.s3:S3Source.from_uri".

`register_scheme` adds a factory at run time. The table is per process: a factory registered by one
process (a test) serves that process's tasks only, so a kind used by separate worker processes is
named in `_BUILT_IN`, which every process reads the same. Each registration is explicit; nothing is
read from the environment.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import MappingProxyType

from lz_ingest.errors import ConfigError
from lz_ingest.sources.base import Source

SourceFactory = Callable[[str], Source]

_BUILT_IN: MappingProxyType[str, str] = MappingProxyType(
    {
        "file": "lz_ingest.sources.local:LocalSource.from_uri",
        "s3": "lz_ingest.sources.s3:S3Source.from_uri",
    }
)
_registered: dict[str, SourceFactory] = {}  # run-time registrations (tests), in this process only


def scheme_of(uri: str) -> str:
    """'file' for a local path, else the part before '://' ('' when the URI has none)."""
    if uri.startswith("/"):
        return "file"
    scheme, sep, _ = uri.partition("://")
    return scheme.lower() if sep else ""


def source_for(uri: str) -> Source:
    """The Source a job's source URI names; ConfigError (one line, naming the URI) when none does."""
    scheme = scheme_of(uri)
    if not scheme:
        raise ConfigError(f"source {uri}: not an absolute path or a URI (scheme://...)")
    if scheme != "file" and "@" in uri.partition("://")[2].split("/", 1)[0]:
        # the URI is recorded in Redis and printed: a user:secret@ part would leak it there
        raise ConfigError(f"source {scheme}://...: credentials do not belong in the source URI")
    return _factory(scheme, uri)(uri)


def register_scheme(scheme: str, factory: SourceFactory) -> None:
    """Serve `scheme://` URIs with `factory` in this process; a built-in scheme cannot be replaced."""
    if scheme in _BUILT_IN:
        raise ConfigError(f"source scheme {scheme!r} is built in; it cannot be registered again")
    _registered[scheme] = factory


def unregister_scheme(scheme: str) -> None:
    _registered.pop(scheme, None)


def _factory(scheme: str, uri: str) -> SourceFactory:
    found = _registered.get(scheme)
    if found is not None:
        return found
    target = _BUILT_IN.get(scheme)
    if target is None:
        known = ", ".join(sorted({*_BUILT_IN, *_registered}))
        raise ConfigError(f"source {uri}: unknown scheme {scheme!r} (known: {known}, or an absolute path)")
    return _imported(target)


def _imported(target: str) -> SourceFactory:
    """The callable named by "module:attribute.attribute"."""
    module_name, _, attributes = target.partition(":")
    found: object = importlib.import_module(module_name)
    for name in attributes.split("."):
        found = getattr(found, name)
    if not callable(found):
        raise ConfigError(f"source factory {target} is not callable")
    factory: SourceFactory = found
    return factory
