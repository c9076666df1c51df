"""The one place that configures logging: structlog events, as JSON lines or for a console.

Secrets are redacted from every event, anywhere in it (nested dicts and lists too): the value
of any key whose name contains password, passwd, passphrase, secret, token or credential, or
whose name pairs a credential word with "key" (api_key, secret_key, private_key,
aws_secret_access_key, aws_access_key_id, SecretAccessKey, ...). A bare `key` and names like
`s3_key`, `object_key` or `s3_keypair` are not redacted: they name S3 objects and files, which
the logs exist to show. Passwords in URLs (scheme://user:password@host) are masked in any string.
"""

from __future__ import annotations

import functools
import logging
import logging.handlers
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, FilteringBoundLogger, Processor, WrappedLogger

from lz_ingest.settings import LogSettings, redacted_url

REDACTED = "***"
PROFILE_LOGGER_NAME = "lz_ingest.profile"
_SECRET_FRAGMENTS = ("password", "passwd", "passphrase", "secret", "token", "credential")
# words that make a following "key" a credential: api_key, access_key, private_key, ...
_KEY_QUALIFIERS = frozenset({"api", "access", "secret", "private", "session", "signing", "encryption", "auth"})
_CAMEL_BOUNDARY = re.compile(r"([a-z0-9])([A-Z])")
_WORD_SEPARATOR = re.compile(r"[^a-z0-9]+")
# marks the handlers configure_logging and profile_logger install, so a second call replaces them
_OWNED = "_lz_ingest_owned"


def configure_logging(settings: LogSettings, *, stream: TextIO | None = None) -> None:
    """JSON lines to settings.log_filename (rotated as --log_when/--log_interval), else to `stream`.

    `stream` defaults to sys.stderr as it is at call time (pytest and others replace it).
    """
    stream = sys.stderr if stream is None else stream
    level = logging.getLevelName(settings.log_level)
    handler = _handler(settings.log_filename, settings.log_when, settings.log_interval, stream)
    console = settings.log_filename is None and _is_tty(stream)
    handler.setFormatter(_formatter(console))
    _install(logging.getLogger(), handler, level)
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, *_shared_processors(), _to_formatter()],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # uncached, so reconfiguring (tests, a second call) reaches loggers already created
        cache_logger_on_first_use=False,
    )


def profile_logger(settings: LogSettings) -> FilteringBoundLogger:
    """A logger for per-batch timing events as JSON lines in the profile file; a no-op without --profile."""
    if not settings.profile or settings.profile_filename is None:
        muted: FilteringBoundLogger = structlog.wrap_logger(  # wrap_logger returns Any: the wrapper_class decides
            None, processors=[_drop], wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL)
        )
        return muted
    level = logging.getLevelName(settings.profile_level)
    handler = _handler(settings.profile_filename, settings.profile_when, settings.profile_interval, sys.stderr)
    handler.setFormatter(_formatter(console=False))
    stdlib_logger = logging.getLogger(PROFILE_LOGGER_NAME)
    stdlib_logger.propagate = False
    _install(stdlib_logger, handler, level)
    profile: FilteringBoundLogger = structlog.wrap_logger(  # Any in structlog's types: the wrapper_class decides
        stdlib_logger,
        processors=[*_shared_processors(), _to_formatter()],
        wrapper_class=structlog.make_filtering_bound_logger(level),
    )
    return profile


def redact_secrets(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: mask secret values anywhere in the event (see the module docstring)."""
    return {key: _redact(key, value) for key, value in event_dict.items()}


@functools.lru_cache(maxsize=1024)
def is_secret_key(name: str) -> bool:
    """Whether values under this key name are masked (the rule is in the module docstring)."""
    words = [word for word in _WORD_SEPARATOR.split(_CAMEL_BOUNDARY.sub(r"\1_\2", name).lower()) if word]
    if any(fragment in word for word in words for fragment in _SECRET_FRAGMENTS):
        return True
    if any(word.removesuffix("key") in _KEY_QUALIFIERS for word in words if word.endswith("key")):
        return True  # apikey, secretkey, ...
    return any(first in _KEY_QUALIFIERS and second == "key" for first, second in zip(words, words[1:], strict=False))


def _redact(key: Any, value: Any) -> Any:
    if key != "event" and isinstance(key, str) and is_secret_key(key):
        return REDACTED
    return _scrub(value)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return redacted_url(value) if "@" in value and "://" in value else value
    if isinstance(value, Mapping):
        return {key: _redact(key, item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_scrub(item) for item in value]
    return value


def _drop(_logger: WrappedLogger, _method: str, _event_dict: EventDict) -> EventDict:
    raise structlog.DropEvent


def _shared_processors() -> list[Processor]:
    return [
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
    ]


def _to_formatter() -> Processor:
    return structlog.stdlib.ProcessorFormatter.wrap_for_formatter


def _formatter(console: bool) -> logging.Formatter:
    renderer: list[Processor]
    if console:
        renderer = [structlog.dev.ConsoleRenderer(colors=True)]
    else:
        renderer = [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    return structlog.stdlib.ProcessorFormatter(
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderer],
        # records from stdlib loggers (python-irodsclient, rq) get the same fields and redaction
        foreign_pre_chain=_shared_processors(),
    )


def _handler(filename: Path | None, when: str | None, interval: int, stream: TextIO) -> logging.Handler:
    """TimedRotatingFileHandler when `when` is given (as the old options), else a plain file or the stream."""
    handler: logging.Handler
    if filename is None:
        handler = logging.StreamHandler(stream)
    elif when is None:
        # WatchedFileHandler reopens the file when an outside logrotate moves it
        handler = logging.handlers.WatchedFileHandler(filename, encoding="utf-8")
    else:
        handler = logging.handlers.TimedRotatingFileHandler(filename, when=when, interval=interval, encoding="utf-8")
    setattr(handler, _OWNED, True)
    return handler


def _install(logger: logging.Logger, handler: logging.Handler, level: int) -> None:
    """Replace the handler a previous call installed on `logger` (others, e.g. pytest's, stay)."""
    for old in [h for h in logger.handlers if getattr(h, _OWNED, False)]:
        logger.removeHandler(old)
        old.close()
    logger.addHandler(handler)
    logger.setLevel(level)


def _is_tty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
