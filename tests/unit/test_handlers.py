"""Event handlers: loading files and modules, the old argument conventions, old imports, validation."""

from __future__ import annotations

import hashlib
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from lz_ingest.errors import HandlerError
from lz_ingest.handlers.compat import OLD_PACKAGE, old_package_aliases, old_package_installed
from lz_ingest.handlers.core import Core
from lz_ingest.handlers.loader import Handler, load_handler
from lz_ingest.model import DeleteMode, Operation

OLD_IMPORTS = """
from irods_capability_automated_ingest.core import Core
from irods_capability_automated_ingest.utils import DeleteMode, Operation
"""
needs_stand_ins = pytest.mark.skipif(old_package_installed(), reason="the real old package is installed")

# Records every call with its arguments, so tests can check the conventions.
RECORDER = (
    OLD_IMPORTS
    + """
CALLS = []


def record(name, *args, **kwargs):
    CALLS.append((name, args, kwargs))


class event_handler(Core):
    @staticmethod
    def operation(session, meta, **options):
        record("operation", session, meta, **options)
        return Operation.PUT_SYNC

    @staticmethod
    def delete_mode(meta):
        record("delete_mode", meta)
        return DeleteMode.TRASH

    @staticmethod
    def to_resource(session, meta, **options):
        record("to_resource", session, meta, **options)
        return "demoResc"

    @staticmethod
    def target_path(session, meta, **options):
        record("target_path", session, meta, **options)
        return "/server/mount" + meta["path"]

    @staticmethod
    def as_user(meta, **options):
        record("as_user", meta, **options)
        return "otherZone", "alice"

    @staticmethod
    def max_retries(hdlr_mod, logger, meta):
        record("max_retries", hdlr_mod, logger, meta)
        return 3

    @staticmethod
    def delay(hdlr_mod, logger, meta, retries):
        record("delay", hdlr_mod, logger, meta, retries)
        return 2 * retries

    @staticmethod
    def timeout(hdlr_mod, logger, meta):
        record("timeout", hdlr_mod, logger, meta)
        return 7.5

    @staticmethod
    def character_map():
        record("character_map")
        return {"@": "_"}

    @staticmethod
    def pre_job(hdlr_mod, logger, meta):
        record("pre_job", hdlr_mod, logger, meta)

    @staticmethod
    def post_job(hdlr_mod, logger, meta):
        record("post_job", hdlr_mod, logger, meta)

    @staticmethod
    def pre_data_obj_create(hdlr_mod, logger, session, meta, *args, **options):
        record("pre_data_obj_create", hdlr_mod, logger, session, meta, *args, **options)

    @staticmethod
    def post_data_obj_create(hdlr_mod, logger, session, meta, *args, **options):
        record("post_data_obj_create", hdlr_mod, logger, session, meta, *args, **options)

    @staticmethod
    def pre_data_obj_delete(hdlr_mod, session, meta, *args, **options):
        record("pre_data_obj_delete", hdlr_mod, session, meta, *args, **options)

    @staticmethod
    def post_coll_delete(hdlr_mod, session, meta, *args, **options):
        record("post_coll_delete", hdlr_mod, session, meta, *args, **options)
"""
)

SESSION = object()
LOGGER = object()
META = {"path": "/landing/f", "target": "/tempZone/home/rods/f", "root": "/landing", "job_name": "j"}


def write(directory: Path, name: str, body: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(body))
    return path


def handler_with(tmp_path: Path, body: str, name: str = "handler.py") -> Handler:
    return load_handler(write(tmp_path, name, OLD_IMPORTS + textwrap.dedent(body)), logger=LOGGER)


@pytest.fixture
def recorder(tmp_path: Path) -> Handler:
    return load_handler(write(tmp_path, "recorder.py", RECORDER), logger=LOGGER)


def calls(handler: Handler) -> list[tuple[str, tuple[Any, ...], dict[str, Any]]]:
    return handler.module.CALLS  # type: ignore[no-any-return]


def check_defaults(handler: Handler) -> None:
    assert handler.operation(SESSION, META) is Operation.REGISTER_SYNC
    assert handler.delete_mode(META) is DeleteMode.DO_NOT_DELETE
    assert handler.max_retries(META) == 0
    assert handler.delay(META, 1) == 0
    assert handler.timeout(META) == 3600
    assert handler.to_resource(SESSION, META) is None
    assert handler.target_path(SESSION, META) is None
    assert handler.as_user(META) is None
    assert handler.character_map() is None
    handler.pre_job(META)
    handler.post_job(META)
    with handler.around("data_obj_create", SESSION, META, Operation.PUT, allow_redirect=False):
        pass
    handler.hook("pre_coll_delete", SESSION, META)


def test_an_empty_handler_class_gives_the_old_defaults(tmp_path: Path) -> None:
    check_defaults(handler_with(tmp_path, "class event_handler(Core):\n    pass\n"))


def test_no_handler_gives_the_old_defaults() -> None:
    handler = load_handler(None)
    check_defaults(handler)
    assert handler.obj is Core


def test_a_handler_class_not_derived_from_core_gets_defaults_for_what_it_lacks(tmp_path: Path) -> None:
    handler = handler_with(
        tmp_path,
        """
        class event_handler:
            @staticmethod
            def operation(session, meta, **options):
                return Operation.PUT
        """,
    )
    assert handler.operation(SESSION, META) is Operation.PUT
    assert handler.timeout(META) == 3600
    handler.hook("post_data_obj_modify", SESSION, META)


def test_operation_is_called_with_session_meta_and_options(recorder: Handler) -> None:
    assert recorder.operation(SESSION, META, allow_redirect=False) is Operation.PUT_SYNC
    assert calls(recorder) == [("operation", (SESSION, META), {"allow_redirect": False})]


def test_to_resource_and_target_path_are_called_with_session_meta_and_options(recorder: Handler) -> None:
    assert recorder.to_resource(SESSION, META, x=1) == "demoResc"
    assert recorder.target_path(SESSION, META) == "/server/mount/landing/f"
    assert calls(recorder) == [
        ("to_resource", (SESSION, META), {"x": 1}),
        ("target_path", (SESSION, META), {}),
    ]


def test_delete_mode_is_called_with_meta_only(recorder: Handler) -> None:
    assert recorder.delete_mode(META) is DeleteMode.TRASH
    assert calls(recorder) == [("delete_mode", (META,), {})]


def test_as_user_is_called_with_meta_and_options_and_gives_zone_and_user(recorder: Handler) -> None:
    assert recorder.as_user(META) == ("otherZone", "alice")
    assert calls(recorder) == [("as_user", (META,), {})]


def test_retry_and_timeout_methods_get_the_handler_class_logger_and_meta(recorder: Handler) -> None:
    assert recorder.max_retries(META) == 3
    assert recorder.delay(META, 2) == 4.0
    assert recorder.timeout(META) == 7.5
    cls = recorder.obj
    assert calls(recorder) == [
        ("max_retries", (cls, LOGGER, META), {}),
        ("delay", (cls, LOGGER, META, 2), {}),
        ("timeout", (cls, LOGGER, META), {}),
    ]


def test_pre_job_and_post_job_get_the_handler_class_logger_and_meta(recorder: Handler) -> None:
    recorder.pre_job(META)
    recorder.post_job(META)
    cls = recorder.obj
    assert calls(recorder) == [("pre_job", (cls, LOGGER, META), {}), ("post_job", (cls, LOGGER, META), {})]


def test_character_map_is_called_without_arguments_and_normalized(recorder: Handler) -> None:
    assert recorder.character_map() == (("@", "_"),)
    assert calls(recorder) == [("character_map", (), {})]


def test_hooks_get_the_handler_module_logger_session_meta_args_and_options(recorder: Handler) -> None:
    recorder.hook("pre_data_obj_create", SESSION, META, Operation.PUT, allow_redirect=False)
    assert calls(recorder) == [
        (
            "pre_data_obj_create",
            (recorder.module, LOGGER, SESSION, META, Operation.PUT),
            {"allow_redirect": False},
        )
    ]


def test_delete_hooks_get_no_logger_as_in_the_old_framework(recorder: Handler) -> None:
    recorder.hook("pre_data_obj_delete", SESSION, META)
    recorder.hook("post_coll_delete", SESSION, META, recurse=False)
    assert calls(recorder) == [
        ("pre_data_obj_delete", (recorder.module, SESSION, META), {}),
        ("post_coll_delete", (recorder.module, SESSION, META), {"recurse": False}),
    ]


def test_around_runs_pre_then_the_block_then_post(recorder: Handler) -> None:
    with recorder.around("data_obj_create", SESSION, META):
        calls(recorder).append(("action", (), {}))
    assert [c[0] for c in calls(recorder)] == ["pre_data_obj_create", "action", "post_data_obj_create"]


def test_post_hook_does_not_run_when_the_action_fails(recorder: Handler) -> None:
    with pytest.raises(RuntimeError), recorder.around("data_obj_create", SESSION, META):
        raise RuntimeError("catalog said no")
    assert [c[0] for c in calls(recorder)] == ["pre_data_obj_create"]


def test_a_raising_pre_hook_aborts_the_action(tmp_path: Path) -> None:
    handler = handler_with(
        tmp_path,
        """
        class event_handler(Core):
            @staticmethod
            def pre_data_obj_modify(hdlr_mod, logger, session, meta, *args, **options):
                raise RuntimeError("not today")
        """,
    )
    ran = []
    with (
        pytest.raises(HandlerError, match="pre_data_obj_modify.*not today"),
        handler.around("data_obj_modify", SESSION, META),
    ):
        ran.append(True)
    assert ran == []


def test_extra_hook_args_are_dropped_for_hooks_written_without_star_args(tmp_path: Path) -> None:
    handler = handler_with(
        tmp_path,
        """
        SEEN = []
        class event_handler(Core):
            @staticmethod
            def post_data_obj_create(hdlr_mod, logger, session, meta, **options):
                SEEN.append(options)
        """,
    )
    handler.hook("post_data_obj_create", SESSION, META, Operation.PUT, allow_redirect=False)
    assert handler.module.SEEN == [{"allow_redirect": False}]


def test_unknown_hook_name_is_a_programming_error(recorder: Handler) -> None:
    with pytest.raises(ValueError):
        recorder.hook("pre_data_obj_explode", SESSION, META)


@needs_stand_ins
def test_old_import_styles_resolve_to_lz_ingest_names(tmp_path: Path) -> None:
    handler = load_handler(
        write(
            tmp_path,
            "old_style.py",
            """
            import irods_capability_automated_ingest.utils as u
            from irods_capability_automated_ingest import core
            from irods_capability_automated_ingest.utils import delete_mode_is_compatible_with_operation

            class event_handler(core.Core):
                @staticmethod
                def operation(session, meta, **options):
                    assert delete_mode_is_compatible_with_operation(u.DeleteMode.TRASH, u.Operation.PUT_SYNC)
                    return u.Operation.PUT_APPEND
            """,
        )
    )
    assert handler.operation(SESSION, META) is Operation.PUT_APPEND
    assert issubclass(handler.obj, Core)


@needs_stand_ins
def test_sys_modules_is_as_before_after_loading_a_handler(tmp_path: Path) -> None:
    before = set(sys.modules)
    handler_with(tmp_path, "class event_handler(Core):\n    pass\n")
    assert set(sys.modules) == before
    assert OLD_PACKAGE not in sys.modules


@needs_stand_ins
def test_stand_ins_are_gone_after_the_context_even_when_the_import_fails() -> None:
    with pytest.raises(ImportError), old_package_aliases():
        assert sys.modules[f"{OLD_PACKAGE}.utils"].Operation is Operation
        import irods_capability_automated_ingest.redis_utils  # noqa: F401
    assert not [name for name in sys.modules if name.startswith(OLD_PACKAGE)]


@needs_stand_ins
def test_importing_an_old_module_we_do_not_provide_is_a_handler_error_naming_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "retry.py", "from irods_capability_automated_ingest.redis_utils import get_redis\n")
    with pytest.raises(HandlerError, match="retry.py"):
        load_handler(path)


def test_an_operation_from_another_enum_is_mapped_by_member_name(tmp_path: Path) -> None:
    handler = handler_with(
        tmp_path,
        """
        import enum
        class OldOperation(enum.Enum):
            REGISTER_SYNC = 0
            PUT = 2
        class OldDeleteMode(enum.Enum):
            UNREGISTER = 1
        class event_handler(Core):
            @staticmethod
            def operation(session, meta, **options):
                return OldOperation.PUT
            @staticmethod
            def delete_mode(meta):
                return OldDeleteMode.UNREGISTER
        """,
    )
    assert handler.operation(SESSION, META) is Operation.PUT
    assert handler.delete_mode(META) is DeleteMode.UNREGISTER


@pytest.mark.skipif(not old_package_installed(), reason="the old package is not installed")
def test_the_real_old_packages_operation_is_mapped_by_member_name(tmp_path: Path) -> None:
    handler = handler_with(tmp_path, "class event_handler(Core):\n    operation = lambda s, m, **o: Operation.PUT\n")
    assert handler.operation(SESSION, META) is Operation.PUT


@pytest.mark.parametrize("value", ["'PUT'", "42", "None", "DeleteMode.TRASH"])
def test_an_unknown_operation_is_a_handler_error_naming_handler_and_method(tmp_path: Path, value: str) -> None:
    handler = handler_with(
        tmp_path,
        f"""
        class event_handler(Core):
            @staticmethod
            def operation(session, meta, **options):
                return {value}
        """,
    )
    with pytest.raises(HandlerError, match=r"handler\.py:event_handler: operation\(\) returned"):
        handler.operation(SESSION, META)


def test_an_unknown_delete_mode_is_a_handler_error(tmp_path: Path) -> None:
    handler = handler_with(tmp_path, "class event_handler(Core):\n    delete_mode = lambda meta: 'TRASH'\n")
    with pytest.raises(HandlerError, match=r"delete_mode\(\)"):
        handler.delete_mode(META)


@pytest.mark.parametrize(
    ("method", "value"),
    [
        ("max_retries", "-1"),
        ("max_retries", "True"),
        ("max_retries", "'3'"),
        ("timeout", "-5"),
        ("delay", "'x'"),
    ],
)
def test_invalid_retry_settings_are_handler_errors(tmp_path: Path, method: str, value: str) -> None:
    handler = handler_with(tmp_path, f"class event_handler(Core):\n    {method} = lambda *a: {value}\n")
    with pytest.raises(HandlerError, match=method):
        if method == "delay":
            handler.delay(META, 1)
        else:
            getattr(handler, method)(META)


@pytest.mark.parametrize(("method", "value"), [("to_resource", "3"), ("target_path", "''"), ("as_user", "'alice'")])
def test_invalid_names_are_handler_errors(tmp_path: Path, method: str, value: str) -> None:
    handler = handler_with(tmp_path, f"class event_handler(Core):\n    {method} = lambda *a, **o: {value}\n")
    with pytest.raises(HandlerError, match=method):
        if method == "as_user":
            handler.as_user(META)
        else:
            getattr(handler, method)(SESSION, META)


def test_an_invalid_character_map_is_a_handler_error(tmp_path: Path) -> None:
    handler = handler_with(tmp_path, "class event_handler(Core):\n    character_map = lambda: {'ab': '_'}\n")
    with pytest.raises(HandlerError, match="character_map"):
        handler.character_map()


def test_an_exception_in_user_code_becomes_a_chained_handler_error(tmp_path: Path) -> None:
    handler = handler_with(tmp_path, "class event_handler(Core):\n    to_resource = lambda s, m, **o: 1 / 0\n")
    with pytest.raises(HandlerError, match="to_resource.*ZeroDivisionError") as info:
        handler.to_resource(SESSION, META)
    assert isinstance(info.value.__cause__, ZeroDivisionError)


def test_defines_tells_overridden_methods_from_inherited_defaults(recorder: Handler) -> None:
    assert recorder.defines("character_map")
    assert not recorder.defines("pre_coll_create")


def test_module_attr_form_loads_an_importable_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(
        tmp_path,
        "site_handlers_for_test.py",
        OLD_IMPORTS + "class custom(Core):\n    operation = lambda s, m, **o: Operation.NO_OP\n",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    handler = load_handler("site_handlers_for_test:custom")
    assert handler.operation(SESSION, META) is Operation.NO_OP
    assert handler.content_hash == hashlib.sha256(path.read_bytes()).hexdigest()
    assert handler.name == "site_handlers_for_test:custom"
    monkeypatch.delitem(sys.modules, "site_handlers_for_test")


def test_module_form_defaults_to_the_event_handler_attribute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "site_handler_default_attr.py", RECORDER)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert load_handler("site_handler_default_attr").operation(SESSION, META) is Operation.PUT_SYNC
    monkeypatch.delitem(sys.modules, "site_handler_default_attr")


def test_a_missing_module_is_a_handler_error() -> None:
    with pytest.raises(HandlerError, match="no_such_handler_module"):
        load_handler("no_such_handler_module:event_handler")


def test_file_attr_form_picks_another_class(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "two.py",
        OLD_IMPORTS + "class other(Core):\n    operation = lambda s, m, **o: Operation.PUT\n",
    )
    assert load_handler(f"{path}:other").operation(SESSION, META) is Operation.PUT


def test_a_file_without_event_handler_is_a_handler_error(tmp_path: Path) -> None:
    with pytest.raises(HandlerError, match="event_handler"):
        load_handler(write(tmp_path, "empty.py", "x = 1\n"))


@pytest.mark.parametrize("body", ["def broken(:\n", "raise RuntimeError('boom')\n"], ids=["syntax", "raises"])
def test_a_file_that_fails_to_load_is_a_handler_error(tmp_path: Path, body: str) -> None:
    with pytest.raises(HandlerError, match="bad.py"):
        load_handler(write(tmp_path, "bad.py", body))


def test_a_missing_file_is_a_handler_error(tmp_path: Path) -> None:
    with pytest.raises(HandlerError, match="cannot read"):
        load_handler(tmp_path / "absent.py")


def test_content_hash_is_the_sha256_of_the_file_and_changes_with_it(tmp_path: Path) -> None:
    path = write(tmp_path, "h.py", OLD_IMPORTS + "class event_handler(Core):\n    pass\n")
    first = load_handler(path)
    assert first.content_hash == hashlib.sha256(path.read_bytes()).hexdigest()
    path.write_text(OLD_IMPORTS + "class event_handler(Core):\n    operation = lambda s, m, **o: Operation.PUT\n")
    second = load_handler(path)
    assert second.content_hash != first.content_hash
    assert second.operation(SESSION, META) is Operation.PUT  # no stale module reused
    assert first.operation(SESSION, META) is Operation.REGISTER_SYNC


def test_two_handlers_load_side_by_side_in_one_process(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    before = set(sys.modules)
    put = handler_with(tmp_path / "a", "class event_handler(Core):\n    operation = lambda s, m, **o: Operation.PUT\n")
    no_op = handler_with(
        tmp_path / "b", "class event_handler(Core):\n    operation = lambda s, m, **o: Operation.NO_OP\n"
    )
    assert put.operation(SESSION, META) is Operation.PUT
    assert no_op.operation(SESSION, META) is Operation.NO_OP
    assert put.module is not no_op.module
    assert set(sys.modules) <= before | {OLD_PACKAGE} or old_package_installed()
    assert not [name for name in set(sys.modules) - before if name.startswith("lz_ingest_event_handler")]


def test_a_handler_file_may_use_dataclasses(tmp_path: Path) -> None:
    body = """
        import dataclasses
        @dataclasses.dataclass
        class Rule:
            resource: str
        class event_handler(Core):
            to_resource = lambda s, m, **o: Rule("demoResc").resource
        """
    path = write(tmp_path, "dc.py", "from __future__ import annotations\n" + OLD_IMPORTS + textwrap.dedent(body))
    handler = load_handler(path)
    assert handler.to_resource(SESSION, META) == "demoResc"
