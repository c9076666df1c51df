"""Load an event handler (a file path or `module:attr`) and call it with the old conventions.

A file is executed under a private module name and removed from sys.modules afterwards, so
it need not be on sys.path and two handlers load side by side in one process.
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import importlib
import importlib.util
import inspect
import math
import os
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import structlog
from rq.timeouts import JobTimeoutException

from lz_ingest.errors import ConfigError, HandlerError
from lz_ingest.handlers.compat import old_package_aliases
from lz_ingest.handlers.core import EVENTS, EVENTS_WITHOUT_LOGGER, Core
from lz_ingest.model import DeleteMode, Operation
from lz_ingest.naming import CharacterMap, normalize_character_map

DEFAULT_ATTR = "event_handler"
_E = TypeVar("_E", bound=enum.Enum)


class Handler:
    """A loaded event handler: typed methods that call the user's code and validate what it returns."""

    def __init__(self, obj: Any, module: types.ModuleType, name: str, content_hash: str, logger: Any = None):
        self.name = name
        self.content_hash = content_hash
        self.obj = obj  # the user's class: `hdlr_mod` for max_retries, delay, timeout, pre_job, post_job
        self.module = module  # the user's module: `hdlr_mod` for the pre_ / post_ hooks
        self.logger = logger if logger is not None else structlog.get_logger("lz_ingest.handler")

    def __repr__(self) -> str:
        return f"Handler({self.name!r}, sha256={self.content_hash[:12]})"

    def defines(self, method: str) -> bool:
        """True when the user's handler overrides `method` (rather than inheriting Core's default)."""
        found = getattr(self.obj, method, None)
        return found is not None and found is not getattr(Core, method, None)

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        function = getattr(self.obj, method, None) or getattr(Core, method)
        try:
            return function(*args, **kwargs)
        except JobTimeoutException:
            raise  # the task's timeout cut the hook short: the task lifecycle reports it as a timeout
        except Exception as exc:
            raise HandlerError(f"{self.name}: {method}() raised {type(exc).__name__}: {exc}") from exc

    def _invalid(self, method: str, value: Any, expected: str) -> HandlerError:
        return HandlerError(f"{self.name}: {method}() returned {value!r}; expected {expected}")

    def _member(self, enum_cls: type[_E], method: str, value: Any) -> _E:
        """Accept our enum, or any enum member with the same name (the old package's Operation)."""
        if isinstance(value, enum_cls):
            return value
        if isinstance(value, enum.Enum) and value.name in enum_cls.__members__:
            return enum_cls[value.name]
        return self._fail_member(enum_cls, method, value)

    def _fail_member(self, enum_cls: type[_E], method: str, value: Any) -> _E:
        names = ", ".join(enum_cls.__members__)
        article = "an" if enum_cls.__name__[0] in "AEIOU" else "a"
        raise self._invalid(method, value, f"{article} {enum_cls.__name__} ({names})")

    def operation(self, session: Any, meta: dict[str, Any], **options: Any) -> Operation:
        return self._member(Operation, "operation", self._call("operation", session, meta, **options))

    def delete_mode(self, meta: dict[str, Any]) -> DeleteMode:
        return self._member(DeleteMode, "delete_mode", self._call("delete_mode", meta))

    def _optional_str(self, method: str, value: Any) -> str | None:
        if value is None or (isinstance(value, str) and value):
            return value
        raise self._invalid(method, value, "a non-empty str or None")

    def to_resource(self, session: Any, meta: dict[str, Any], **options: Any) -> str | None:
        return self._optional_str("to_resource", self._call("to_resource", session, meta, **options))

    def target_path(self, session: Any, meta: dict[str, Any], **options: Any) -> str | None:
        return self._optional_str("target_path", self._call("target_path", session, meta, **options))

    def as_user(self, meta: dict[str, Any], **options: Any) -> tuple[str, str] | None:
        """(zone, user) to act for, or None."""
        value = self._call("as_user", meta, **options)
        if value is None:
            return None
        if isinstance(value, tuple | list) and len(value) == 2 and all(isinstance(v, str) and v for v in value):
            return (value[0], value[1])
        raise self._invalid("as_user", value, "a (zone, user) pair of str or None")

    def _number(self, method: str, value: Any, minimum: float, integer: bool = False) -> float:
        numeric = isinstance(value, int) or (isinstance(value, float) and not integer)
        if numeric and not isinstance(value, bool) and value >= minimum:
            return float(value)
        raise self._invalid(method, value, f"{'an int' if integer else 'a number'} >= {minimum}")

    def max_retries(self, meta: dict[str, Any]) -> int:
        value = self._call("max_retries", self.obj, self.logger, meta)
        return int(self._number("max_retries", value, 0, integer=True))

    def delay(self, meta: dict[str, Any], retries: int) -> float:
        """Seconds to wait before retry number `retries` (1 for the first retry)."""
        return float(self._number("delay", self._call("delay", self.obj, self.logger, meta, retries), 0))

    def timeout(self, meta: dict[str, Any]) -> float:
        """Seconds a sync batch holding this file may run (RQ's job timeout of the batch)."""
        value = self._call("timeout", self.obj, self.logger, meta)
        if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < math.inf:
            return float(value)
        raise self._invalid("timeout", value, "a number of seconds > 0")

    def character_map(self) -> CharacterMap | None:
        try:
            return normalize_character_map(self._call("character_map"))
        except ConfigError as exc:
            raise HandlerError(f"{self.name}: character_map(): {exc}") from exc

    def pre_job(self, meta: dict[str, Any]) -> None:
        self._call("pre_job", self.obj, self.logger, meta)

    def post_job(self, meta: dict[str, Any]) -> None:
        self._call("post_job", self.obj, self.logger, meta)

    def hook(self, method: str, session: Any, meta: dict[str, Any], *args: Any, **options: Any) -> None:
        """Call `pre_<event>` or `post_<event>`; extra positional args go only to hooks that accept them."""
        event = method.removeprefix("pre_").removeprefix("post_")
        if event not in EVENTS or method not in (f"pre_{event}", f"post_{event}"):
            raise ValueError(f"unknown hook {method!r}")
        if event in EVENTS_WITHOUT_LOGGER:
            base: tuple[Any, ...] = (self.module, session, meta)
        else:
            base = (self.module, self.logger, session, meta)
        function = getattr(self.obj, method, None) or getattr(Core, method)
        self._call(method, *_fit_args(function, base, args, options), **options)

    @contextlib.contextmanager
    def around(self, event: str, session: Any, meta: dict[str, Any], *args: Any, **options: Any) -> Iterator[None]:
        """Run pre_<event> before the block and post_<event> after it only if it succeeded."""
        self.hook(f"pre_{event}", session, meta, *args, **options)
        yield
        self.hook(f"post_{event}", session, meta, *args, **options)


def _fit_args(function: Any, base: tuple[Any, ...], extra: tuple[Any, ...], options: dict[str, Any]) -> tuple[Any, ...]:
    """`base + extra`, or just `base` when the hook cannot take the extras (old hooks without *args)."""
    if not extra:
        return base
    try:
        inspect.signature(function).bind(*base, *extra, **options)
    except TypeError:
        return base
    except ValueError:  # no signature to inspect: pass everything, as the old framework did
        pass
    return base + extra


def load_handler(spec: str | os.PathLike[str] | None = None, *, logger: Any = None) -> Handler:
    """Load from a file path (`x.py` or `x.py:attr`), an importable `module:attr`, or None for the defaults.

    `attr` defaults to `event_handler`.
    """
    if spec is None:
        return _from_module("lz_ingest.handlers.core", "Core", logger)
    text = os.fspath(spec)
    head, colon, attr = text.rpartition(":")
    if colon and head.endswith(".py"):
        return _from_file(Path(head), attr or DEFAULT_ATTR, logger)
    if text.endswith(".py") or os.sep in text:
        return _from_file(Path(text), DEFAULT_ATTR, logger)
    module_name, _, attr = text.partition(":")
    return _from_module(module_name, attr or DEFAULT_ATTR, logger)


def _wrap(module: types.ModuleType, attr: str, name: str, digest: str, logger: Any, where: str = "") -> Handler:
    """The handler object `attr` of the module; `where` names what defines it (a file's module has an
    internal name that would mean nothing to the person who wrote the file)."""
    obj = getattr(module, attr, None)
    if obj is None:
        raise HandlerError(f"event handler {where or 'module ' + module.__name__} defines no {attr!r}")
    return Handler(obj, module, name, digest, logger)


def _from_file(path: Path, attr: str, logger: Any) -> Handler:
    try:
        source = path.read_bytes()
    except OSError as exc:
        raise HandlerError(f"cannot read event handler file {path}: {exc}") from exc
    digest = hashlib.sha256(source).hexdigest()
    module = _execute(path, source, f"lz_ingest_event_handler_{digest[:16]}")
    return _wrap(module, attr, f"{path}:{attr}", digest, logger, where=f"file {path}")


def _execute(path: Path, source: bytes, module_name: str) -> types.ModuleType:
    """Run the file's bytes as a module registered only while it executes."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None:
        raise HandlerError(f"cannot load event handler file {path}")
    module = importlib.util.module_from_spec(spec)
    previous = sys.modules.get(module_name)
    sys.modules[module_name] = module  # dataclasses and typing look the module up while it runs
    try:
        with old_package_aliases():
            exec(compile(source, str(path), "exec"), module.__dict__)
    except Exception as exc:
        raise HandlerError(f"event handler file {path} failed to load: {type(exc).__name__}: {exc}") from exc
    finally:
        if previous is None:
            sys.modules.pop(module_name, None)
        else:
            sys.modules[module_name] = previous
    return module


def _from_module(module_name: str, attr: str, logger: Any) -> Handler:
    try:
        with old_package_aliases():
            module = importlib.import_module(module_name)
    except Exception as exc:
        raise HandlerError(f"cannot import event handler module {module_name}: {type(exc).__name__}: {exc}") from exc
    source_file = getattr(module, "__file__", None)
    content = Path(source_file).read_bytes() if source_file else module_name.encode()
    return _wrap(module, attr, f"{module_name}:{attr}", hashlib.sha256(content).hexdigest(), logger)
