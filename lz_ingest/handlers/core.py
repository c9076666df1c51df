"""The event-handler base class: every method an event handler may define, with the old defaults.

Argument conventions are the old framework's (custom_event_handler.py, irods/filesystem.py):
`hdlr_mod` is the handler class for max_retries / delay / timeout / pre_job / post_job, and
the handler's module for the pre_ / post_ hooks. Delete hooks get no logger, as before.
"""

from __future__ import annotations

from typing import Any

from lz_ingest.model import DeleteMode, Operation

# Hook events: a handler may define pre_<event> and post_<event> for each.
EVENTS = frozenset(
    {"data_obj_create", "data_obj_modify", "data_obj_delete", "coll_create", "coll_modify", "coll_delete"}
)
# Events whose hooks are called as (hdlr_mod, session, meta, *args, **options): no logger.
EVENTS_WITHOUT_LOGGER = frozenset({"data_obj_delete", "coll_delete"})


class Core:
    """Subclass this as `event_handler` and override any static method."""

    @staticmethod
    def operation(session: Any, meta: dict[str, Any], **options: Any) -> Operation:
        return Operation.REGISTER_SYNC

    @staticmethod
    def delete_mode(meta: dict[str, Any]) -> DeleteMode:
        return DeleteMode.DO_NOT_DELETE

    @staticmethod
    def to_resource(session: Any, meta: dict[str, Any], **options: Any) -> str | None:
        """The root resource to sync to; None leaves the choice to the client environment / server."""
        return None

    @staticmethod
    def target_path(session: Any, meta: dict[str, Any], **options: Any) -> str | None:
        """The physical path the server should register; None means the source path."""
        return None

    @staticmethod
    def as_user(meta: dict[str, Any], **options: Any) -> tuple[str, str] | None:
        """(zone, user) to act for through proxy access; None acts as the authenticated user."""
        return None

    @staticmethod
    def max_retries(hdlr_mod: Any, logger: Any, meta: dict[str, Any]) -> int:
        return 0

    @staticmethod
    def delay(hdlr_mod: Any, logger: Any, meta: dict[str, Any], retries: int) -> float:
        """Seconds to wait before retry number `retries`."""
        return 0

    @staticmethod
    def timeout(hdlr_mod: Any, logger: Any, meta: dict[str, Any]) -> float:
        """Seconds a task may run."""
        return 3600

    @staticmethod
    def character_map() -> Any:
        """A dict or list of (key, replacement character) pairs for logical names; None maps nothing."""
        return None

    @staticmethod
    def pre_job(hdlr_mod: Any, logger: Any, meta: dict[str, Any]) -> None:
        pass

    @staticmethod
    def post_job(hdlr_mod: Any, logger: Any, meta: dict[str, Any]) -> None:
        pass

    @staticmethod
    def pre_data_obj_create(hdlr_mod: Any, logger: Any, session: Any, meta: Any, *args: Any, **options: Any) -> None:
        pass

    @staticmethod
    def post_data_obj_create(hdlr_mod: Any, logger: Any, session: Any, meta: Any, *args: Any, **options: Any) -> None:
        pass

    @staticmethod
    def pre_data_obj_modify(hdlr_mod: Any, logger: Any, session: Any, meta: Any, *args: Any, **options: Any) -> None:
        pass

    @staticmethod
    def post_data_obj_modify(hdlr_mod: Any, logger: Any, session: Any, meta: Any, *args: Any, **options: Any) -> None:
        pass

    @staticmethod
    def pre_coll_create(hdlr_mod: Any, logger: Any, session: Any, meta: Any, *args: Any, **options: Any) -> None:
        pass

    @staticmethod
    def post_coll_create(hdlr_mod: Any, logger: Any, session: Any, meta: Any, *args: Any, **options: Any) -> None:
        pass

    @staticmethod
    def pre_coll_modify(hdlr_mod: Any, logger: Any, session: Any, meta: Any, *args: Any, **options: Any) -> None:
        pass

    @staticmethod
    def post_coll_modify(hdlr_mod: Any, logger: Any, session: Any, meta: Any, *args: Any, **options: Any) -> None:
        pass

    @staticmethod
    def pre_data_obj_delete(hdlr_mod: Any, session: Any, meta: Any, *args: Any, **options: Any) -> None:
        pass

    @staticmethod
    def post_data_obj_delete(hdlr_mod: Any, session: Any, meta: Any, *args: Any, **options: Any) -> None:
        pass

    @staticmethod
    def pre_coll_delete(hdlr_mod: Any, session: Any, meta: Any, *args: Any, **options: Any) -> None:
        pass

    @staticmethod
    def post_coll_delete(hdlr_mod: Any, session: Any, meta: Any, *args: Any, **options: Any) -> None:
        pass
