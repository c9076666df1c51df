"""List, then delete, the Redis keys irods-capability-automated-ingest (0.x, Celery) leaves behind.

    python3 tools/migrate_old_redis_keys.py redis://HOST:6379/0            # count what would go
    python3 tools/migrate_old_redis_keys.py redis://HOST:6379/0 --delete   # delete it

Stop the old tool's Celery workers and jobs first. lz-ingest's own keys (lz:*, rq:*) are never
touched. Queues renamed with --file_queue/--path_queue/--restart_queue: add --queue NAME for each.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Iterator

import redis

# redis_key.py: "<category>:/<identifier>"; the per-file sync_time keys are the many
CATEGORIES = (
    "sync_time",
    "custom_event_handler",
    "cleanup",
    "stop",
    "tasks",
    "count",
    "dequeue",
    "failures",
    "retries",
    "irods_ingest_job_start_time",
    "irods_ingest_stopped_jobs",
)
# python-redis-lock's keys (lock:periodic, lock:sync_file:..., lock:create_dirs:...) and Celery's
# (kombu's queue bindings, reply queues of `celery inspect`)
PATTERNS = ("lock:*", "lock-signal:*", "_kombu.binding.*", "*.reply.celery.pidbox")
# the job lists and kombu's bookkeeping of unacknowledged messages
NAMES = ("periodic", "singlepass", "unacked", "unacked_index", "unacked_mutex")
DEFAULT_QUEUES = ("restart", "path", "file")
# kombu keeps a queue's messages of priority N in "<queue>\x06\x16<N>"
PRIORITY_SEPARATOR = "\x06\x16"


def old_keys(conn: redis.Redis, queues: tuple[str, ...]) -> Iterator[tuple[str, bytes]]:
    """(kind, key) for every key of the old tool in this database."""
    patterns = [(c, f"{c}:/*") for c in CATEGORIES] + [(p, p) for p in PATTERNS]
    patterns += [(f"queue {q}", f"{q}{PRIORITY_SEPARATOR}*") for q in queues]
    for kind, pattern in patterns:
        for key in conn.scan_iter(match=pattern, count=1000):
            if not key.startswith((b"lz:", b"rq:")):
                yield kind, key
    for name in (*NAMES, *queues):
        if conn.exists(name):
            yield name, name.encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="the old tool's Redis, e.g. redis://localhost:6379/0")
    parser.add_argument("--delete", action="store_true", help="delete them (default: count only)")
    parser.add_argument("--queue", action="append", default=[], help="a queue name the old jobs used")
    args = parser.parse_args()
    conn = redis.Redis.from_url(args.url)
    counts: Counter[str] = Counter()
    batch: list[bytes] = []
    for kind, key in old_keys(conn, (*DEFAULT_QUEUES, *args.queue)):
        counts[kind] += 1
        batch.append(key)
        if args.delete and len(batch) >= 1000:
            conn.unlink(*batch)
            batch.clear()
    if args.delete and batch:
        conn.unlink(*batch)
    for kind, count in sorted(counts.items()):
        print(f"{count:>10}  {kind}")
    print(f"{sum(counts.values()):>10}  keys {'deleted' if args.delete else 'found (--delete to delete them)'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
