"""Let handler files written for the old framework import its names while they load.

When `irods_capability_automated_ingest` is not installed, `old_package_aliases()` puts small
stand-in modules in sys.modules for the duration of the import, so
`from irods_capability_automated_ingest.core import Core` and
`from irods_capability_automated_ingest.utils import Operation, DeleteMode` resolve to
lz-ingest's own Core, Operation and DeleteMode. sys.modules is restored afterwards.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import types
from collections.abc import Iterator

from lz_ingest.handlers.core import Core
from lz_ingest.model import DeleteMode, Operation, is_compatible

OLD_PACKAGE = "irods_capability_automated_ingest"


def old_package_installed() -> bool:
    """True when the real old package can be found (then handlers import it, not the stand-ins)."""
    try:
        return importlib.util.find_spec(OLD_PACKAGE) is not None
    except (ImportError, ValueError):
        return False


def _stand_in_modules() -> dict[str, types.ModuleType]:
    """Fresh stand-ins for the old package and the two submodules handlers import."""
    package = types.ModuleType(OLD_PACKAGE, "lz-ingest stand-in for the old framework's package")
    package.__path__ = []
    core = types.ModuleType(f"{OLD_PACKAGE}.core", "lz-ingest stand-in: Core")
    core.Core = Core  # type: ignore[attr-defined]
    utils = types.ModuleType(f"{OLD_PACKAGE}.utils", "lz-ingest stand-in: Operation, DeleteMode")
    utils.Operation = Operation  # type: ignore[attr-defined]
    utils.DeleteMode = DeleteMode  # type: ignore[attr-defined]
    utils.delete_mode_is_compatible_with_operation = _old_is_compatible  # type: ignore[attr-defined]
    package.core = core  # type: ignore[attr-defined]
    package.utils = utils  # type: ignore[attr-defined]
    return {module.__name__: module for module in (package, core, utils)}


def _old_is_compatible(delete_mode: DeleteMode, operation: Operation) -> bool:
    """The old utils function, argument order included."""
    return is_compatible(operation, delete_mode)


@contextlib.contextmanager
def old_package_aliases() -> Iterator[None]:
    """While active, the old package's core and utils resolve to lz-ingest's (unless it is installed)."""
    if old_package_installed():
        yield
        return
    stand_ins = _stand_in_modules()
    saved = {name: sys.modules.get(name) for name in stand_ins}
    sys.modules.update(stand_ins)
    try:
        yield
    finally:
        for name, previous in saved.items():
            if previous is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous
