"""The error hierarchy: every error lz-ingest raises on purpose derives from LzIngestError.

Catch a specific class only where you can act on it; let the rest reach the job record.
"""

from __future__ import annotations


class LzIngestError(Exception):
    """Base of all lz-ingest errors."""


class ConfigError(LzIngestError):
    """The configuration cannot work (bad setting, incompatible operation and delete mode)."""


class HandlerError(LzIngestError):
    """The event handler cannot be loaded, returned an invalid value, or raised."""


class CatalogError(LzIngestError):
    """The iRODS catalog refused or contradicts what a sync needs."""


class SourceError(LzIngestError):
    """A source path cannot be read or represented (unreadable, vanished, name too long)."""


class PathTooLongError(SourceError):
    """A logical or physical path does not fit in iRODS's MAX_NAME_LEN."""


class IrodsApiError(CatalogError):
    """iRODS answered a catalog call with an error; `code` is its negative code, `name` its symbol."""

    def __init__(self, message: str, *, code: int = 0, name: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.name = name


class CatalogUnavailableError(CatalogError):
    """The iRODS zone could not be reached, even after retrying the connection."""
