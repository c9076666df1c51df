"""tools/migrate_old_redis_keys.py removes the old tool's Redis keys and nothing of lz-ingest's."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import redis

SCRIPT = Path(__file__).resolve().parents[3] / "tools" / "migrate_old_redis_keys.py"

# as irods-capability-automated-ingest 0.7.0 (Celery on Redis, python-redis-lock) leaves them
OLD = {
    "sync_time://data/run 1/a.dat:/tempZone/home/rods/run 1/a.dat": "1733100000.5",
    "sync_time://data/b.dat:/tempZone/home/rods/b.dat": "1733100001.0",
    "custom_event_handler:/job1::0f3c": "from irods_capability_automated_ingest.core import Core",
    "cleanup:/job1": "[]",
    "tasks:/job1": "0",
    "failures:/job1": "2",
    "retries:/job1": "0",
    "irods_ingest_job_start_time:/job1": "1733100000.0",
    "irods_ingest_stopped_jobs:/": "[]",
    "lock:lock:periodic": "token",
    "lock-signal:sync_file:/data/b.dat:/tempZone/home/rods/b.dat": "1",
    "_kombu.binding.file": "set",
    "unacked_mutex": "x",
    "file\x06\x163": "list",
    "myfiles": "list",
}
OLD_LISTS = {"periodic": "job1", "singlepass": "job2", "file": "{}", "restart": "{}"}
# lz-ingest's and RQ's, including names that share a word with the old ones
OURS = {
    "lz:job:job1": "{}",
    "lz:failures:pass-1": "x",
    "rq:queue:file": "x",
    "rq:scheduler:scheduled_jobs": "x",
    "unrelated": "x",
}


def run(url: str, *args: str) -> str:
    result = subprocess.run([sys.executable, str(SCRIPT), url, *args], capture_output=True, text=True, check=True)
    return result.stdout


def test_counts_then_deletes_the_old_keys_and_leaves_lz_ingest_and_rq_keys(redis_url: str) -> None:
    conn = redis.Redis.from_url(redis_url)
    for name, value in {**OLD, **OURS}.items():
        conn.set(name, value)
    for name, value in OLD_LISTS.items():
        conn.rpush(name, value)
    everything = len(OLD) + len(OLD_LISTS) + len(OURS)

    counted = run(redis_url, "--queue", "myfiles")
    assert f"{len(OLD) + len(OLD_LISTS)}  keys found" in counted
    assert re.search(r"^\s*2\s+sync_time$", counted, re.MULTILINE), counted
    assert conn.dbsize() == everything, "counting deletes nothing"

    run(redis_url, "--queue", "myfiles", "--delete")
    assert sorted(k.decode() for k in conn.keys("*")) == sorted(OURS)
