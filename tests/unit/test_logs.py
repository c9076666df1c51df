"""Logging: JSON lines or console output, levels, rotation, redaction, the profile logger."""

from __future__ import annotations

import io
import json
import logging
import logging.handlers
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from lz_ingest.logs import (
    PROFILE_LOGGER_NAME,
    REDACTED,
    configure_logging,
    is_secret_key,
    profile_logger,
    redact_secrets,
)
from lz_ingest.settings import LogSettings


class TtyStream(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Leave the root logger, the profile logger and structlog as this test found them."""
    root, profile = logging.getLogger(), logging.getLogger(PROFILE_LOGGER_NAME)
    saved = [(logger, list(logger.handlers), logger.level) for logger in (root, profile)]
    yield
    for logger, handlers, level in saved:
        for handler in [h for h in logger.handlers if h not in handlers]:
            logger.removeHandler(handler)
            handler.close()
        logger.setLevel(level)
    structlog.reset_defaults()


def json_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def our_handler(logger: logging.Logger) -> logging.Handler:
    (handler,) = [h for h in logger.handlers if getattr(h, "_lz_ingest_owned", False)]
    return handler


def test_events_go_to_the_log_file_as_json_lines(tmp_path: Path) -> None:
    log_file = tmp_path / "ingest.log"
    configure_logging(LogSettings(log_filename=log_file))
    structlog.get_logger("lz_ingest.test").info("file_registered", path="/data/a", size=3)
    (event,) = json_lines(log_file)
    assert event["event"] == "file_registered"
    assert (event["path"], event["size"], event["level"]) == ("/data/a", 3, "info")
    assert event["logger"] == "lz_ingest.test"
    assert "timestamp" in event


def test_log_level_is_honoured(tmp_path: Path) -> None:
    log_file = tmp_path / "ingest.log"
    configure_logging(LogSettings(log_filename=log_file, log_level="WARNING"))
    log = structlog.get_logger()
    log.info("dropped")
    log.warning("kept")
    logging.getLogger("irods.connection").info("dropped_too")
    assert [event["event"] for event in json_lines(log_file)] == ["kept"]


def test_stdlib_records_land_in_the_same_json_lines(tmp_path: Path) -> None:
    log_file = tmp_path / "ingest.log"
    configure_logging(LogSettings(log_filename=log_file))
    logging.getLogger("irods.connection").warning("lost %s", "connection")
    (event,) = json_lines(log_file)
    assert (event["event"], event["logger"], event["level"]) == (
        "lost connection",
        "irods.connection",
        "warning",
    )


def test_exceptions_are_rendered_into_the_json_line(tmp_path: Path) -> None:
    log_file = tmp_path / "ingest.log"
    configure_logging(LogSettings(log_filename=log_file))
    try:
        raise ValueError("bad size")
    except ValueError:
        structlog.get_logger().exception("sync_failed")
    (event,) = json_lines(log_file)
    assert "ValueError: bad size" in event["exception"]


def test_without_a_file_a_non_tty_stream_gets_json() -> None:
    stream = io.StringIO()
    configure_logging(LogSettings(), stream=stream)
    structlog.get_logger().info("job_started", job="j1")
    assert json.loads(stream.getvalue())["job"] == "j1"


def test_a_tty_stream_gets_the_console_format() -> None:
    stream = TtyStream()
    configure_logging(LogSettings(), stream=stream)
    structlog.get_logger().info("job_started", job="j1")
    output = stream.getvalue()
    assert "job_started" in output and "j1" in output
    with pytest.raises(json.JSONDecodeError):
        json.loads(output)


def test_rotation_settings_are_applied(tmp_path: Path) -> None:
    log_file = tmp_path / "ingest.log"
    configure_logging(LogSettings(log_filename=log_file, log_when="S", log_interval=7))
    handler = our_handler(logging.getLogger())
    assert isinstance(handler, logging.handlers.TimedRotatingFileHandler)
    assert (handler.when, handler.interval) == ("S", 7)
    structlog.get_logger().info("before")
    handler.doRollover()
    structlog.get_logger().info("after")
    rotated = [p for p in tmp_path.iterdir() if p.name.startswith("ingest.log.")]
    assert len(rotated) == 1
    assert [e["event"] for e in json_lines(rotated[0])] == ["before"]
    assert [e["event"] for e in json_lines(log_file)] == ["after"]


def test_without_log_when_the_file_is_watched_not_rotated(tmp_path: Path) -> None:
    configure_logging(LogSettings(log_filename=tmp_path / "ingest.log"))
    assert isinstance(our_handler(logging.getLogger()), logging.handlers.WatchedFileHandler)


def test_configuring_twice_replaces_the_handler(tmp_path: Path) -> None:
    configure_logging(LogSettings(log_filename=tmp_path / "first.log"))
    configure_logging(LogSettings(log_filename=tmp_path / "second.log"))
    structlog.get_logger().info("once")
    assert (tmp_path / "first.log").read_text() == ""
    assert len(json_lines(tmp_path / "second.log")) == 1


def test_secrets_are_redacted_anywhere_in_the_event() -> None:
    event = redact_secrets(
        None,
        "info",
        {
            "event": "connected",
            "password": "pw",
            "meta": {"config": {"aws_secret_access_key": "sk", "SessionToken": "tok"}},
            "batch": [{"irods_password": "pw2", "key": "photos/a.jpg"}],
            "redis": "redis://:redis-pw@host:6379/0",
        },
    )
    assert event == {
        "event": "connected",
        "password": REDACTED,
        "meta": {"config": {"aws_secret_access_key": REDACTED, "SessionToken": REDACTED}},
        "batch": [{"irods_password": REDACTED, "key": "photos/a.jpg"}],
        "redis": "redis://:***@host:6379/0",
    }


def test_redaction_does_not_change_the_callers_values() -> None:
    meta = {"password": "pw"}
    redact_secrets(None, "info", {"event": "e", "meta": meta})
    assert meta == {"password": "pw"}


@pytest.mark.parametrize(
    "name",
    ["password", "IRODS_PASSWORD", "passwd", "client_secret", "api_token", "credentials", "api_key", "apiKey"]
    + ["aws_secret_access_key", "aws_access_key_id", "SecretAccessKey", "private_key", "session_token"],
)
def test_credential_key_names_are_secret(name: str) -> None:
    assert is_secret_key(name)


@pytest.mark.parametrize("name", ["key", "s3_key", "object_key", "s3_keypair", "key_count", "path", "event"])
def test_object_key_names_are_not_secret(name: str) -> None:
    assert not is_secret_key(name)


def test_redaction_reaches_the_log_file(tmp_path: Path) -> None:
    log_file = tmp_path / "ingest.log"
    configure_logging(LogSettings(log_filename=log_file))
    structlog.get_logger().info("s3_connected", aws_secret_access_key="sk", key="a/b")
    logging.getLogger("rq").info("connecting to redis://:redis-pw@h:1/0")
    s3_event, rq_event = json_lines(log_file)
    assert (s3_event["aws_secret_access_key"], s3_event["key"]) == (REDACTED, "a/b")
    assert rq_event["event"] == "connecting to redis://:***@h:1/0"


def test_events_can_be_captured_in_tests() -> None:
    configure_logging(LogSettings(), stream=io.StringIO())
    with capture_logs() as captured:
        structlog.get_logger().info("file_registered", path="/data/a")
    assert captured == [{"event": "file_registered", "path": "/data/a", "log_level": "info"}]


def test_profile_logger_writes_timing_events_to_the_profile_file(tmp_path: Path) -> None:
    profile_file = tmp_path / "profile.json"
    settings = LogSettings(profile=True, profile_filename=profile_file, profile_when="H", profile_interval=2)
    profile_logger(settings).info("batch_done", files=50, seconds=0.25, token="t")
    (event,) = json_lines(profile_file)
    assert (event["event"], event["files"], event["seconds"], event["token"]) == (
        "batch_done",
        50,
        0.25,
        REDACTED,
    )
    handler = our_handler(logging.getLogger(PROFILE_LOGGER_NAME))
    assert isinstance(handler, logging.handlers.TimedRotatingFileHandler)
    assert handler.interval == 2 * 3600


def test_profile_events_stay_out_of_the_main_log(tmp_path: Path) -> None:
    configure_logging(LogSettings(log_filename=tmp_path / "ingest.log"))
    profile_logger(LogSettings(profile=True, profile_filename=tmp_path / "profile.json")).info("batch_done")
    assert (tmp_path / "ingest.log").read_text() == ""


def test_profile_logger_is_a_no_op_without_profile(tmp_path: Path) -> None:
    log = profile_logger(LogSettings(profile_filename=tmp_path / "profile.json"))
    log.info("batch_done")
    log.critical("batch_done")
    assert not (tmp_path / "profile.json").exists()
