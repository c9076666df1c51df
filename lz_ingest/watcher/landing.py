"""What happens to a landed file after its sync: --on-success, --on-failure and --notify-url.

The worker that synced the file applies these, driven by the job's options (JobSpec.extra), so a
file found by a reconciling rescan is treated like one an event brought. On success the action
runs only once the catalog holds an object of the file's current size and mtime (checked with one
listing of its collection), so a file is never moved or deleted ahead of its data. On a permanent
failure the file is moved into the failure directory beside `NAME.lz-error.json` (the reason), and
a JSON notification is POSTed from a background thread, retried with backoff, never blocking a sync.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import threading
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from ..errors import ConfigError, LzIngestError
from ..irods import catalog as adapter

log = structlog.get_logger("lz_ingest.watcher")

# Outcomes of Syncer.sync_one after which the catalog may hold the file's current bytes.
SYNCED = frozenset({"uploaded", "overwritten", "appended", "skipped", "registered", "updated", "checksum_recorded"})
ERROR_SUFFIX = ".lz-error.json"
NOTIFY_ATTEMPTS = 6


@dataclass(frozen=True)
class Action:
    """keep, delete, or move:DIR (DIR absolute)."""

    kind: str
    directory: str | None = None

    def __str__(self) -> str:
        return f"move:{self.directory}" if self.kind == "move" else self.kind


def parse_action(text: str, option: str, allowed: tuple[str, ...]) -> Action:
    """`keep`, `delete` or `move:DIR` as the option allows; a bad value is a ConfigError naming it."""
    if text.startswith("move:") and "move" in allowed:
        directory = text.removeprefix("move:")
        if not directory:
            raise ConfigError(f"{option} {text}: move: needs a directory (move:DIR)")
        return Action("move", os.path.abspath(directory))
    if text in allowed and text != "move":
        return Action(text)
    choices = "|".join("move:DIR" if a == "move" else a for a in allowed)
    raise ConfigError(f"{option} {text}: expected {choices}")


def inside(path: str, root: str) -> bool:
    real, base = os.path.realpath(path), os.path.realpath(root)
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


@dataclass(frozen=True)
class Landing:
    """The after-sync actions of one job, read from JobSpec.extra."""

    root: str
    on_success: Action
    on_failure: Action
    notify_url: str | None
    job: str

    @classmethod
    def from_extra(cls, extra: Mapping[str, Any], root: str, job: str) -> Landing | None:
        if not any(extra.get(k) for k in ("on_success", "on_failure", "notify_url")):
            return None
        success = parse_action(extra.get("on_success") or "keep", "--on-success", ("keep", "delete", "move"))
        failure = parse_action(extra.get("on_failure") or "keep", "--on-failure", ("keep", "move"))
        return cls(root, success, failure, extra.get("notify_url") or None, job)

    def succeeded(self, session: Any, path: str, logical: str, outcome: str) -> None:
        """The file's sync succeeded: apply --on-success once the catalog holds what the file holds."""
        if self.on_success.kind == "keep" or outcome not in SYNCED:
            return
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return
        parent, name = logical.rsplit("/", 1)
        held = adapter.list_collection(session, parent).objects.get(name)
        if held is None or held.size != st.st_size or held.mtime != int(st.st_mtime):
            log.warning("on_success_skipped", path=path, reason="catalog does not hold the file's current state")
            return
        if self.on_success.kind == "delete":
            os.unlink(path)
            log.info("landed_file_deleted", path=path, logical=logical)
        else:
            moved = self._move(path, self.on_success)
            log.info("landed_file_moved", path=path, to=moved)

    def failed(self, path: str, reason: str) -> None:
        """The file failed for good: move it aside with its reason, and notify."""
        moved = None
        if self.on_failure.kind == "move" and os.path.lexists(path):
            try:
                moved = self._move(path, self.on_failure)
                with open(moved + ERROR_SUFFIX, "w", encoding="utf-8") as out:
                    json.dump(self._report(path, reason, moved), out, indent=2)
            except OSError as exc:
                log.error("on_failure_move_failed", path=path, error=str(exc))
        if self.notify_url:
            notifier(self.notify_url).send(self._report(path, reason, moved))

    def _report(self, path: str, reason: str, moved: str | None) -> dict[str, Any]:
        return {"event": "ingest_failed", "job": self.job, "path": path, "reason": reason, "moved_to": moved,
                "time": time.time()}  # fmt: skip

    def _move(self, path: str, action: Action) -> str:
        assert action.directory is not None
        destination = os.path.join(action.directory, os.path.relpath(path, self.root))
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        shutil.move(path, destination)  # a rename on one filesystem, else copy and remove
        return destination


class Notifier:
    """POSTs JSON documents to one URL from a daemon thread, retrying each with exponential backoff."""

    def __init__(self, url: str, attempts: int = NOTIFY_ATTEMPTS, first_delay: float = 0.5) -> None:
        self.url, self.attempts, self.first_delay = url, attempts, first_delay
        self._queue: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        threading.Thread(target=self._run, name="lz-notify", daemon=True).start()

    def send(self, document: dict[str, Any]) -> None:
        self._queue.put(document)

    def _run(self) -> None:
        while True:
            self._deliver(self._queue.get())

    def _deliver(self, document: dict[str, Any]) -> None:
        body = json.dumps(document).encode()
        delay = self.first_delay
        for attempt in range(1, self.attempts + 1):
            request = urllib.request.Request(self.url, body, {"Content-Type": "application/json"}, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=10) as reply:
                    reply.read()
                return
            except OSError as exc:
                log.warning("notify_failed", url=self.url, attempt=attempt, error=str(exc))
                time.sleep(delay)
                delay = min(delay * 2, 60.0)
        log.error("notify_given_up", url=self.url, path=document.get("path"))


_notifiers: dict[str, Notifier] = {}  # one sender thread per URL and process, started on first use
_notifiers_lock = threading.Lock()


def notifier(url: str) -> Notifier:
    with _notifiers_lock:
        found = _notifiers.get(url)
        if found is None:
            found = _notifiers[url] = Notifier(url)
        return found


def apply_after_sync(landing: Landing | None, session: Any, path: str, logical: str, outcome: str | None,
                     reason: str | None) -> None:  # fmt: skip
    """The Syncer's one call after each file: never lets an after-sync problem fail the sync itself."""
    if landing is None:
        return
    try:
        if outcome is not None:
            landing.succeeded(session, path, logical, outcome)
        else:
            landing.failed(path, reason or "failed")
    except (OSError, LzIngestError) as exc:
        log.error("after_sync_failed", path=path, error=str(exc))
