"""irods-lite's TCP server: handshake, authentication, dispatch, counters and fault injection."""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import logging
import os
import secrets
import socket
import string
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from . import errors as E
from . import protocol as P
from . import tls
from .admin import ensure_public_group
from .catalog import Catalog, User
from .config import LEAF_TYPE, LiteConfig
from .errors import IrodsError
from .s3_resource import S3Vaults
from .specific import ensure_schema as ensure_specific_queries

log = logging.getLogger("irods_lite")

AUTH_APN = 110000
AUTH_REQUEST_AN = 703
AUTH_RESPONSE_AN = 704


@dataclass
class Reply:
    int_info: int = 0
    body: bytes = b""
    bs: bytes = b""
    errors: list[tuple[int, str]] | None = None  # the error stack (RError_PI), when more than the status


@dataclass
class OpenFile:
    """An open data-object descriptor (the L1 descriptor of a real agent)."""

    data_id: int
    repl_num: int
    logical_path: str
    physical_path: str
    fh: Any
    writing: bool
    token: str
    resc_hier: str
    options: dict[str, str]
    finalize: bool = True
    written: bool = False


@dataclass
class Conn:
    """One client connection (one agent, in a real server's terms)."""

    sock: socket.socket
    proxy_name: str = ""
    proxy_zone: str = ""
    client_name: str = ""
    client_zone: str = ""
    user: User | None = None  # the effective (client) user once authenticated
    proxy: User | None = None
    challenge: bytes = b""
    files: dict[int, OpenFile] = field(default_factory=dict)
    cursors: dict[int, tuple[list[int], list[tuple[str, ...]], int]] = field(default_factory=dict)
    reader: P.Reader = field(init=False)

    def __post_init__(self) -> None:
        self.reader = P.Reader(self.sock)


Handler = Callable[["LiteServer", Conn, P.Message], Reply]


def _challenge() -> bytes:
    # Letters only: python-irodsclient strips whitespace from the legacy challenge.
    return "".join(secrets.choice(string.ascii_letters) for _ in range(64)).encode()


def expected_digest(challenge: bytes, password: str) -> bytes:
    padded = password.encode().ljust(50, b"\0")[:50]
    return hashlib.md5(challenge + padded).digest().replace(b"\0", b"\1")


class Faults:
    """Fault injection for tests and benchmarks; every field is guarded by the server's lock."""

    def __init__(self) -> None:
        self.latency_s = 0.0
        self.fail_next: dict[int, list[int]] = {}  # api -> [remaining, code]

    def take_failure(self, api: int) -> int | None:
        entry = self.fail_next.get(api)
        if not entry or entry[0] <= 0:
            return None
        entry[0] -= 1
        return entry[1]


class DataDirInUse(RuntimeError):
    """Another irods-lite holds the data directory (two servers would share one SQLite catalog)."""


def lock_data_dir(data_dir: Path) -> TextIO:
    """An exclusive flock on data_dir/irods-lite.lock, held while the server runs (released on exit)."""
    fh = open(data_dir / "irods-lite.lock", "a+")  # noqa: SIM115
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        holder = fh.read().strip() or "unknown"
        fh.close()
        raise DataDirInUse(f"data directory {data_dir} is in use by another irods-lite (pid {holder})") from None
    fh.truncate(0)
    fh.write(str(os.getpid()))
    fh.flush()
    return fh


class LiteServer:
    """A local iRODS-protocol server; start() binds, stop() closes, state lives in data_dir."""

    def __init__(self, config: LiteConfig) -> None:
        from .handlers import HANDLERS  # the API table imports this module's types

        self.config = config
        self.handlers: dict[int, Handler] = HANDLERS
        self.data_dir = Path(config.data_dir)
        self.lock = threading.Lock()
        self.counters: Counter[int] = Counter()
        self.faults = Faults()
        self.tls_policy = tls.policy_of(config)
        self.tls_context = tls.server_context(config)
        self.tls_counts: Counter[tuple[str, int, int, int]] = Counter()  # encryption settings -> connections
        self.s3 = S3Vaults(config.s3)  # the objects of s3 resources
        self.catalog: Catalog | None = None
        self.tokens: dict[str, tuple[int, int, str]] = {}  # replica token -> (data_id, repl_num, physical)
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._conns: set[socket.socket] = set()
        self._running = False
        self.port = config.port
        self._request_log: TextIO | None = None
        self._unmatched_seen: set[int] = set()
        self._refuse_timer: threading.Timer | None = None
        self._lock_file: TextIO | None = None

    # ---- lifecycle ----------------------------------------------------------------------------

    def start(self) -> LiteServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock_file = lock_data_dir(self.data_dir)
        try:
            self.catalog = Catalog(self.data_dir / "catalog.sqlite", self.config.zone)
            self._bootstrap()
            if self.config.request_log:
                self._request_log = open(self.config.request_log, "a", buffering=1)  # noqa: SIM115
            self._listen()
        except BaseException:
            self.stop()  # closes what was opened and releases the data directory
            raise
        return self

    def _bootstrap(self) -> None:
        cat = self.cat
        zone = self.config.zone
        for spec in self.config.all_resources():
            vault = str(self.data_dir / "vaults" / spec.name) if spec.type == LEAF_TYPE else spec.vault
            if vault:
                os.makedirs(vault, exist_ok=True)
            cat.ensure_resource(spec.name, spec.type, vault, spec.parent or None)
        for u in self.config.users:
            cat.ensure_user(u.name, u.password, "rodsadmin" if u.admin else "rodsuser")
        ensure_public_group(cat, [u.name for u in self.config.users])
        ensure_specific_queries(cat)
        admin = next((cat.user(u.name) for u in self.config.users if u.admin), None) or cat.user(
            self.config.users[0].name
        )
        assert admin is not None
        for coll in (f"/{zone}/home", f"/{zone}/trash/home", f"/{zone}/home/public"):
            cat.ensure_collection_tree(coll, admin)
        for u in self.config.users:
            user = cat.user(u.name)
            assert user is not None
            for base in (f"/{zone}/home/{u.name}", f"/{zone}/trash/home/{u.name}"):
                if cat.collection(base) is None:
                    cat.ensure_collection_tree(base, user)

    @property
    def cat(self) -> Catalog:
        assert self.catalog is not None, "irods-lite is not started"
        return self.catalog

    def _listen(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.config.host, self.port))
        sock.listen(256)
        self.port = sock.getsockname()[1]
        self._listener = sock
        self._running = True
        self._accept_thread = threading.Thread(target=self._accept_loop, args=(sock,), daemon=True)
        self._accept_thread.start()

    def _close_listener(self) -> None:
        self._running = False
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        if self._accept_thread is not None:
            self._accept_thread.join(timeout=5)
            self._accept_thread = None

    def stop(self) -> None:
        self._close_listener()
        if self._refuse_timer is not None:
            self._refuse_timer.cancel()
            self._refuse_timer = None
        self.drop_connections()
        self._wait_for_connections(5.0)  # their cleanup (abandoned open files) needs the catalog
        if self.catalog is not None:
            self.catalog.close()
            self.catalog = None
        if self._request_log:
            self._request_log.close()
            self._request_log = None
        if self._lock_file is not None:
            self._lock_file.close()  # releases the flock
            self._lock_file = None

    def restart(self) -> None:
        """Stop and start again on the same port, keeping the catalog and the vaults."""
        self.stop()
        self.start()

    # ---- fault injection ----------------------------------------------------------------------

    def drop_connections(self) -> None:
        with self.lock:
            conns = list(self._conns)
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def refuse_connections(self, seconds: float) -> None:
        """Be down: close the listener (connections are refused) and come back after `seconds`."""
        self._close_listener()
        self.drop_connections()
        timer = threading.Timer(seconds, self._listen)
        timer.daemon = True
        timer.start()
        self._refuse_timer = timer

    def _wait_for_connections(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if not self._conns:
                    return
            time.sleep(0.01)

    def fail_next(self, api: int, count: int, code: int) -> None:
        with self.lock:
            self.faults.fail_next[api] = [count, code]

    def set_latency(self, ms: float) -> None:
        with self.lock:
            self.faults.latency_s = ms / 1000.0

    def call_counts(self) -> dict[int, int]:
        with self.lock:
            return dict(self.counters)

    def reset_counts(self) -> None:
        with self.lock:
            self.counters.clear()

    def dump_counts(self, path: Path) -> None:
        path.write_text(json.dumps({str(k): v for k, v in sorted(self.call_counts().items())}, indent=1))

    # ---- connections --------------------------------------------------------------------------

    def _accept_loop(self, listener: socket.socket) -> None:
        while self._running:
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self._conns.add(sock)
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        conn = Conn(sock)
        try:
            if self._handshake(conn):
                self._loop(conn)
        except (ConnectionError, OSError, P.ProtocolError) as exc:
            log.debug("connection ended: %s", exc)
        finally:
            self._cleanup(conn)
            with self.lock:
                self._conns.discard(conn.sock)
            try:
                conn.sock.close()  # the TLS socket when TLS started (it took over the descriptor)
            except OSError:
                pass

    def replace_socket(self, old: socket.socket, new: socket.socket) -> None:
        """A connection's socket after TLS started, so drop_connections reaches it."""
        with self.lock:
            self._conns.discard(old)
            self._conns.add(new)

    def count_tls(self, enc: tls.Encryption) -> None:
        with self.lock:
            self.tls_counts[enc.settings] += 1

    def _cleanup(self, conn: Conn) -> None:
        from .dataobj import abandon_open_files

        if self.catalog is not None:
            abandon_open_files(self, conn)

    def send(self, conn: Conn, msg: P.Message) -> None:
        conn.sock.sendall(P.pack_message(msg))

    def _handshake(self, conn: Conn) -> bool:
        first = P.read_message(conn.reader)
        if first.type != "RODS_CONNECT":
            return False
        pack = P.parse_body(first.body)
        conn.proxy_name = P.text(pack, "proxyUser")
        conn.proxy_zone = P.text(pack, "proxyRcatZone") or self.config.zone
        conn.client_name = P.text(pack, "clientUser") or conn.proxy_name
        conn.client_zone = P.text(pack, "clientRcatZone") or conn.proxy_zone
        outcome = tls.negotiate(self, conn, "request_server_negotiation" in P.text(pack, "option"))
        version = P.element(
            "Version_PI",
            ("status", outcome.status),
            ("relVersion", f"rods{self.config.version}"),
            ("apiVersion", "d"),
            ("reconnPort", 0),
            ("reconnAddr", ""),
            ("cookie", 0),
        ).encode()
        self.send(conn, P.Message("RODS_VERSION", version))
        if outcome.status < 0:  # rodsAgent.cpp: the version carries the failure, then the agent exits
            return False
        if outcome.use_ssl:
            tls.start(self, conn)
        return True

    def _loop(self, conn: Conn) -> None:
        while True:
            msg = P.read_message(conn.reader)
            if msg.type == "RODS_DISCONNECT":
                tls.goodbye(conn)
                return
            if msg.type != "RODS_API_REQ":
                raise P.ProtocolError(f"unexpected message type {msg.type}")
            reply = self._dispatch(conn, msg)
            if isinstance(msg.bs, P.Bulk):
                msg.bs.drain()  # the bytes of a write that was refused (or failed) before it took them
            error = P.error_stack(reply.int_info, "") if reply.int_info < 0 else b""
            if reply.errors:
                error = P.error_stack_of(reply.errors)
            self.send(conn, P.Message("RODS_API_REPLY", reply.body, error, reply.bs, reply.int_info))

    def _dispatch(self, conn: Conn, msg: P.Message) -> Reply:
        api = msg.int_info
        started = time.perf_counter()
        with self.lock:
            self.counters[api] += 1
            latency = self.faults.latency_s
            injected = self.faults.take_failure(api)
        if latency:
            time.sleep(latency)
        reply = Reply(injected) if injected is not None else self._handle(conn, api, msg)
        self._log_request(conn, api, reply.int_info, started)
        return reply

    def _handle(self, conn: Conn, api: int, msg: P.Message) -> Reply:
        try:
            if api in (AUTH_APN, AUTH_REQUEST_AN, AUTH_RESPONSE_AN):
                return self._authenticate(conn, api, msg)
            handler = self.handlers.get(api)
            if handler is None:
                if api not in self._unmatched_seen:  # once per number: a client may retry it in a loop
                    self._unmatched_seen.add(api)
                    log.warning("irods-lite: unimplemented API number %d answered SYS_UNMATCHED_API_NUM", api)
                return Reply(E.SYS_UNMATCHED_API_NUM)
            if conn.user is None:  # rsApiHandler.cpp chkApiPermission: not authenticated yet
                return Reply(E.SYS_NO_API_PRIV)
            return handler(self, conn, msg)
        except IrodsError as exc:
            log.debug("api %d -> %d %s", api, exc.code, exc.message)
            return Reply(exc.code, exc.body, errors=[(exc.code, exc.client_message)] if exc.client_message else None)
        except Exception:
            log.exception("irods-lite: API %d failed", api)
            return Reply(E.SYS_INVALID_INPUT_PARAM)

    def _log_request(self, conn: Conn, api: int, status: int, started: float) -> None:
        if self._request_log is None:
            return
        entry = {
            "t": round(time.time(), 6),
            "user": conn.user.name if conn.user else conn.proxy_name,
            "api": api,
            "status": status,
            "ms": round((time.perf_counter() - started) * 1000, 3),
        }
        self._request_log.write(json.dumps(entry) + "\n")

    # ---- authentication -----------------------------------------------------------------------

    def _authenticate(self, conn: Conn, api: int, msg: P.Message) -> Reply:
        if api == AUTH_REQUEST_AN:
            conn.challenge = _challenge()
            body = P.element("authRequestOut_PI", ("challenge", base64.b64encode(conn.challenge).decode()))
            return Reply(0, body.encode())
        if api == AUTH_RESPONSE_AN:
            root = P.parse_body(msg.body)
            response = base64.b64decode(P.text(root, "response"))
            self._verify(conn, response)
            return Reply(0)
        request = P.json_body(msg.body)
        step = request.get("next_operation")
        if step == "auth_agent_auth_request":
            conn.challenge = _challenge()
            return Reply(0, P.bin_bytes_json({**request, "request_result": conn.challenge.decode()}))
        if step == "auth_agent_auth_response":
            self._verify(conn, base64.b64decode(request.get("digest", "")))
            return Reply(0, P.bin_bytes_json({}))
        if step == "auth_agent_start":
            return Reply(0, P.bin_bytes_json(request))
        raise IrodsError(E.SYS_NOT_SUPPORTED, f"auth step {step!r}")

    def _verify(self, conn: Conn, digest: bytes) -> None:
        password = self.cat.password(conn.proxy_name, conn.proxy_zone)
        if password is None:
            raise IrodsError(E.CAT_INVALID_USER, f"unknown user {conn.proxy_name}")
        if not conn.challenge or digest[:16] != expected_digest(conn.challenge, password):
            raise IrodsError(E.CAT_INVALID_AUTHENTICATION, "wrong password")
        proxy = self.cat.user(conn.proxy_name, conn.proxy_zone)
        client = self.cat.user(conn.client_name, conn.client_zone)
        if proxy is None:
            raise IrodsError(E.CAT_INVALID_USER, conn.proxy_name)
        if conn.client_name != conn.proxy_name and not proxy.is_admin:
            raise IrodsError(E.SYS_PROXYUSER_NO_PRIV, f"{proxy.name} may not act as {conn.client_name}")
        if client is None:  # db_plugin.cpp db_check_auth_op: "more specific" than CAT_INVALID_USER
            raise IrodsError(E.CAT_INVALID_CLIENT_USER, f"unknown client user {conn.client_name}")
        conn.proxy, conn.user = proxy, client
