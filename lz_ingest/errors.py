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
