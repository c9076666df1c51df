"""The embedded per-user Redis and the throw-away RedisServer, against a real redis-server."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from lz_ingest.errors import ConfigError
from lz_ingest.redis_embedded import (
    PIDFILE_NAME,
    SOCKET_NAME,
    RedisServer,
    embedded_redis_url,
    wait_for_redis,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
CALLER = """
import json, sys, time
from pathlib import Path
import redis
from lz_ingest.redis_embedded import embedded_redis_url
start_at, state_dir = float(sys.argv[1]), Path(sys.argv[2])
time.sleep(max(start_at - time.time(), 0))
url = embedded_redis_url(state_dir)
print(json.dumps({"url": url, "pid": redis.Redis.from_url(url).info("server")["process_id"]}))
"""


def server_pids(state_dir: Path) -> list[int]:
    """Live redis-server processes serving `state_dir` (found by the socket path in their title)."""
    marker = str(state_dir / SOCKET_NAME).encode()
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if proc.name.isdigit() and b"redis-server" in cmdline and marker in cmdline:
            pids.append(int(proc.name))
    return pids


def is_gone(pid: int) -> bool:
    """Dead or a zombie (a daemon's parent may never reap it inside a container)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return "\nState:\tZ" in status


def kill_and_wait(pid: int, sig: int = signal.SIGTERM, timeout: float = 5.0) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while not is_gone(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.02)


def server_pid(url: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        return int(client.info("server")["process_id"])
    finally:
        client.close()


@pytest.fixture
def state_dir() -> Iterator[Path]:
    """A short directory (unix socket paths are limited to 107 bytes); every server in it is stopped after."""
    directory = Path(tempfile.mkdtemp(prefix="lzr-")) / "redis"
    yield directory
    for pid in server_pids(directory):
        kill_and_wait(pid)
    shutil.rmtree(directory.parent)


def test_embedded_redis_starts_on_demand_on_a_unix_socket_only(state_dir: Path) -> None:
    url = embedded_redis_url(state_dir)
    assert url == f"unix://{state_dir / SOCKET_NAME}"
    client = redis.Redis.from_url(url)
    assert client.ping()
    assert client.config_get("port") == {"port": "0"}
    assert client.config_get("save")["save"] != ""
    client.close()
    assert (state_dir / "redis.conf").exists()
    assert int((state_dir / PIDFILE_NAME).read_text()) == server_pid(url)


def test_second_call_reuses_the_running_server(state_dir: Path) -> None:
    first = embedded_redis_url(state_dir)
    started = time.monotonic()
    assert embedded_redis_url(state_dir) == first
    assert time.monotonic() - started < 0.5
    assert len(server_pids(state_dir)) == 1


def test_concurrent_callers_from_several_processes_get_one_server(state_dir: Path) -> None:
    start_at = time.time() + 1.5  # past the interpreters' start-up, so the calls collide
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    callers = [
        subprocess.Popen([sys.executable, "-c", CALLER, str(start_at), str(state_dir)], stdout=subprocess.PIPE, env=env)
        for _ in range(4)
    ]
    answers = [json.loads(caller.communicate(timeout=60)[0]) for caller in callers]
    assert {answer["url"] for answer in answers} == {f"unix://{state_dir / SOCKET_NAME}"}
    assert len({answer["pid"] for answer in answers}) == 1
    assert server_pids(state_dir) == [answers[0]["pid"]]


def test_a_killed_server_is_replaced(state_dir: Path) -> None:
    url = embedded_redis_url(state_dir)
    old_pid = server_pid(url)
    kill_and_wait(old_pid, signal.SIGKILL)
    assert (state_dir / SOCKET_NAME).exists()  # stale socket and pidfile left behind
    assert embedded_redis_url(state_dir) == url
    new_pid = server_pid(url)
    assert new_pid != old_pid
    assert int((state_dir / PIDFILE_NAME).read_text()) == new_pid


def test_stale_files_from_a_dead_server_are_replaced(state_dir: Path) -> None:
    state_dir.mkdir(parents=True)
    with socket.socket(socket.AF_UNIX) as stale:
        stale.bind(str(state_dir / SOCKET_NAME))
    dead = subprocess.Popen(["true"])
    dead.wait()
    (state_dir / PIDFILE_NAME).write_text(f"{dead.pid}\n")
    assert redis.Redis.from_url(embedded_redis_url(state_dir)).ping()


def test_job_records_survive_a_restart(state_dir: Path) -> None:
    url = embedded_redis_url(state_dir)
    client = redis.Redis.from_url(url)
    client.set("lz-ingest:job:j1", "record")
    pid = server_pid(url)
    kill_and_wait(pid)  # SIGTERM: redis saves a snapshot on the way out
    client = redis.Redis.from_url(embedded_redis_url(state_dir))
    assert client.get("lz-ingest:job:j1") == b"record"
    client.close()


def test_too_long_socket_path_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="too long"):
        embedded_redis_url(Path("/tmp") / ("x" * 120))


def test_unreachable_redis_is_reported_within_5_seconds() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: connections are refused
        started = time.monotonic()
        with pytest.raises(ConfigError, match=rf"^Redis at redis://127.0.0.1:{port}/0 unreachable: "):
            wait_for_redis(f"redis://127.0.0.1:{port}/0")
    assert time.monotonic() - started < 5.5


def test_unreachable_unix_socket_is_reported_without_its_password(tmp_path: Path) -> None:
    url = f"unix://:hunter2@{tmp_path}/absent.sock"
    with pytest.raises(ConfigError, match="unreachable") as raised:
        wait_for_redis(url, timeout=0.2)
    assert "hunter2" not in str(raised.value)


def test_private_redis_server_serves_and_cleans_up() -> None:
    with RedisServer() as server:
        assert redis.Redis.from_url(server.url).ping()
        pid = server.pid
        assert pid is not None
    assert is_gone(pid)


def test_redis_url_fixture_gives_an_empty_database(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    assert client.dbsize() == 0
    client.set("left", "behind")
    client.close()
