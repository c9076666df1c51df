"""Single iRODS API requests that python-irodsclient offers only wrapped in extra calls (queries, lseeks),
and the requests of a small upload packed directly: python-irodsclient's generic message classes cost
more CPU than the rest of the upload. Each packer writes the bytes PRC 3.3.0 writes (unit tests hold
them equal) and sends them on a connection of PRC's own pool; replies are read by PRC."""

from __future__ import annotations

import html
import os
import socket
import ssl
import weakref
from collections.abc import Mapping

import irods.keywords as kw
from irods.api_number import api_number
from irods.connection import Connection
from irods.exception import NetworkException
from irods.message import CollectionRequest, JSON_Message, StringStringMap, iRODSMessage
from irods.session import iRODSSession

from lz_ingest.sources.base import SourceStream


class SourceReadError(OSError):
    """The source stream could not be sent as announced (unreadable, or shorter than when it was sized)."""


class SourceShrankError(SourceReadError):
    """The source stream got shorter while it was being uploaded."""


SMALL_WRITE = 256 * 1024  # bytes sent in the same send as their header
TLS_SEND_SIZE = 1024 * 1024  # bytes read and handed to a TLS socket at once
O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_TRUNC = 0, 1, 2, 64, 512
SEEK_SET, SEEK_END = 0, 2
WRITE_NEW = O_WRONLY | O_CREAT | O_TRUNC  # PRC's mode "w"


class Descriptor:
    """An open replica, read and written through one pooled connection without buffering (no hidden lseek)."""

    def __init__(self, conn: Connection, fd: int) -> None:
        self._conn = conn
        self.fd = fd
        # A write is sent in two parts (header, then the bytes): without TCP_NODELAY, Nagle's algorithm
        # holds the second until the server's delayed ACK, ~40 ms per small file.
        try:
            conn.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):  # not a TCP socket; nothing to tune
            pass

    def write_from(self, src: SourceStream, offset: int, count: int) -> int:
        """DATA_OBJ_WRITE of `count` bytes of a stream with a file descriptor, sent by the kernel (sendfile)
        without passing through Python. A file that shrank meanwhile is padded to the announced length, so the stream
        stays in step with the server, and reported: the caller then discards what was written."""
        header = self._write_header(count)
        if count <= SMALL_WRITE:  # one send: header and bytes together
            try:
                data = os.pread(src.fileno(), count, offset)
            except OSError as exc:
                raise SourceReadError(f"cannot read: {exc.strerror or exc}") from exc
            if len(data) == count:
                return self.write(data, header)
        try:
            self._conn.socket.sendall(header)
            sent = self._send_file(src, offset, count)
            if sent < count:
                self._conn.socket.sendall(bytes(count - sent))
        except OSError:
            self._conn.release(True)
            raise NetworkException("Unable to send message") from None
        written = int(self._conn.recv().int_info)
        if sent < count:
            raise SourceShrankError(f"source shrank while being sent ({sent} of {count} bytes)")
        return written

    def _send_file(self, src: SourceStream, offset: int, count: int) -> int:
        sock = self._conn.socket
        if not isinstance(sock, ssl.SSLSocket):
            return int(sock.sendfile(src, offset, count))
        # TLS must pass the bytes through Python anyway; ssl's sendfile would send them in 8 KiB pieces
        # (measured 1.4-1.8x slower than 1 MiB reads handed to sendall)
        sent = 0
        while sent < count:
            data = os.pread(src.fileno(), min(TLS_SEND_SIZE, count - sent), offset + sent)
            if not data:
                break
            sock.sendall(data)
            sent += len(data)
        return sent

    def _write_header(self, count: int) -> bytes:
        body = pack_opened(self.fd, count, {})
        # python-irodsclient's iRODSMessage is unannotated: its pack_header returns the header's bytes
        header: bytes = iRODSMessage.pack_header("RODS_API_REQ", len(body), 0, count, api_number["DATA_OBJ_WRITE_AN"])
        return header + body

    def write(self, data: bytes, header: bytes | None = None) -> int:
        """DATA_OBJ_WRITE with the bytes sent after the header as they are (PRC's write_file first
        concatenates header, body and bytes: one more copy of every chunk)."""
        try:
            header = header or self._write_header(len(data))
            if len(data) <= SMALL_WRITE:
                self._conn.socket.sendall(header + data)
            else:
                self._conn.socket.sendall(header)
                self._conn.socket.sendall(data)
        except OSError:
            self._conn.release(True)
            raise NetworkException("Unable to send message") from None
        return int(self._conn.recv().int_info)

    def read(self, size: int) -> bytes:
        return bytes(self._conn.read_file(self.fd, size) or b"")

    def seek(self, offset: int, whence: int = SEEK_SET) -> int:
        return int(self._conn.seek_file(self.fd, offset, whence))

    def close(self, **options: str) -> None:
        """Close and finalize the replica (the server records size, status and any checksum)."""
        try:
            _request(self._conn, api_number["DATA_OBJ_CLOSE_AN"], pack_opened(self.fd, 0, options))
        finally:
            self._conn.release()

    def replica_access_info(self) -> tuple[str, str]:
        """GET_FILE_DESCRIPTOR_INFO: (replica token, resource hierarchy), what another connection needs to write
        into this open replica (a parallel transfer, as PRC's irods/parallel.py does it)."""
        message = JSON_Message({"fd": self.fd}, server_version=server_version(self._conn))
        self._conn.send(iRODSMessage("RODS_API_REQ", msg=message, int_info=api_number["GET_FILE_DESCRIPTOR_INFO_APN"]))
        info = self._conn.recv().get_json_encoded_struct()
        hierarchy = (info.get("data_object_info") or {}).get("resource_hierarchy", "")
        return str(info.get("replica_token", "")), str(hierarchy)

    def close_replica(self) -> None:
        """REPLICA_CLOSE without finalizing (a parallel transfer's other connections; the first one finalizes)."""
        body = {"fd": self.fd, "send_notification": False, "update_size": False, "update_status": False}
        message = JSON_Message({**body, "compute_checksum": False}, server_version=server_version(self._conn))
        try:
            self._conn.send(iRODSMessage("RODS_API_REQ", msg=message, int_info=api_number["REPLICA_CLOSE_APN"]))
            self._conn.recv()
        finally:
            self._conn.release()

    def abandon(self) -> None:
        """Drop the connection without finalizing: the server leaves a half-written replica stale."""
        try:
            self._conn.disconnect()
        except Exception:  # already broken: that is what abandoning wants anyway
            pass
        finally:
            self._conn.release(destroy=True)


_VERSIONS: weakref.WeakKeyDictionary[Connection, tuple[int, ...]] = weakref.WeakKeyDictionary()


def server_version(conn: Connection) -> tuple[int, ...]:
    """PRC's conn.server_version, kept per connection (PRC evaluates an environment override on every use)."""
    found = _VERSIONS.get(conn)
    if found is None:
        found = _VERSIONS[conn] = tuple(conn.server_version)
    return found


def open_replica(session: iRODSSession, path: str, flags: int, options: Mapping[str, str]) -> Descriptor:
    """DATA_OBJ_OPEN (602) only: PRC's open() adds an lseek through its buffered wrapper."""
    conn = session.pool.get_connection()
    try:
        data_size = -1 if server_version(conn) >= (4, 3, 1) else 0  # as PRC sends it
        body = pack_open(path, flags, data_size, session.numThreads, options)
        send(conn, api_number["DATA_OBJ_OPEN_AN"], body)
        fd = conn.recv().int_info
    except BaseException:
        conn.release()  # a no-op when PRC already dropped a broken connection
        raise
    return Descriptor(conn, fd)


def create_collection(session: iRODSSession, path: str, *, recursive: bool) -> None:
    """COLL_CREATE (681) only: PRC's collections.create() queries the new collection afterwards."""
    options = {kw.RECURSIVE_OPR__KW: ""} if recursive else {}
    request = CollectionRequest(collName=path, KeyValPair_PI=StringStringMap(options))
    with session.pool.get_connection() as conn:
        conn.send(iRODSMessage("RODS_API_REQ", msg=request, int_info=api_number["COLL_CREATE_AN"]))
        conn.recv()


# DataObjInfo_PI as python-irodsclient 3.3.0's modDataObjMeta fills it: every field empty but these.
_DATA_OBJ_INFO_MIDDLE = (
    "<dataType></dataType><dataSize>0</dataSize><chksum></chksum><version></version><filePath></filePath>"
    "<dataOwnerName></dataOwnerName><dataOwnerZone></dataOwnerZone>"
)
_DATA_OBJ_INFO_TAIL = (
    "<replStatus>0</replStatus><statusString></statusString><dataId>0</dataId><collId>0</collId>"
    "<dataMapId>0</dataMapId><dataComments></dataComments><dataMode></dataMode><dataExpiry></dataExpiry>"
    "<dataCreate></dataCreate><dataModify></dataModify><dataAccess></dataAccess><dataAccessInx>0</dataAccessInx>"
    "<writeFlag>0</writeFlag><destRescName></destRescName><backupRescName></backupRescName><subPath></subPath>"
    "<specColl>0</specColl><regUid>0</regUid><otherFlags>0</otherFlags><KeyValPair_PI><ssLen>0</ssLen>"
    "</KeyValPair_PI><in_pdmo></in_pdmo><next>0</next><rescId>0</rescId>"
)


def pack_mod_data_obj_meta(
    path: str, repl_num: int | None, resc_hier: str, updates: Mapping[str, str], server_version: tuple[int, ...]
) -> bytes:
    """A ModDataObjMeta_PI body, byte for byte what python-irodsclient's modDataObjMeta packs (a unit test
    holds the two equal): its generic message classes cost more CPU than the rest of a small upload."""
    kv = dict(updates)
    if repl_num is None and not resc_hier:
        kv["all"] = ""  # as PRC: no replica named, every replica
    access_time = "<dataAccessTime></dataAccessTime>" if server_version >= (5,) else ""
    return (
        f"<ModDataObjMeta_PI><DataObjInfo_PI><objPath>{prc_escape(path)}</objPath><rescName></rescName>"
        f"<rescHier>{prc_escape(resc_hier)}</rescHier>{_DATA_OBJ_INFO_MIDDLE}<replNum>{repl_num or 0}</replNum>"
        f"{_DATA_OBJ_INFO_TAIL}{access_time}</DataObjInfo_PI>"
        f"{pack_kvp(kv)}</ModDataObjMeta_PI>"
    ).encode()


def mod_data_obj_meta(
    session: iRODSSession, path: str, repl_num: int | None, resc_hier: str, updates: Mapping[str, str]
) -> None:
    """MOD_DATA_OBJ_META (622): set catalog fields of one replica (or of all, with neither named)."""
    with session.pool.get_connection() as conn:
        body = pack_mod_data_obj_meta(path, repl_num, resc_hier, updates, server_version(conn))
        _request(conn, api_number["MOD_DATA_OBJ_META_AN"], body)


def prc_escape(value: str) -> str:
    """As PRC escapes a string property (html.escape without quotes: & < >)."""
    if "&" in value or "<" in value or ">" in value:
        return html.escape(value, quote=False)
    return value


def pack_kvp(pairs: Mapping[str, str]) -> str:
    """A KeyValPair_PI as PRC packs one: the keywords, then the values."""
    keys = "".join(f"<keyWord>{prc_escape(k)}</keyWord>" for k in pairs)
    values = "".join(f"<svalue>{prc_escape(str(v))}</svalue>" for v in pairs.values())
    return f"<KeyValPair_PI><ssLen>{len(pairs)}</ssLen>{keys}{values}</KeyValPair_PI>"


def pack_open(path: str, flags: int, data_size: int, num_threads: int, options: Mapping[str, str]) -> bytes:
    """A DataObjInp_PI for DATA_OBJ_OPEN, byte for byte what PRC's FileOpenRequest packs."""
    return (
        f"<DataObjInp_PI><objPath>{prc_escape(path)}</objPath><createMode>0</createMode>"
        f"<openFlags>{flags}</openFlags><offset>0</offset><dataSize>{data_size}</dataSize>"
        f"<numThreads>{num_threads}</numThreads><oprType>0</oprType>{pack_kvp(options)}</DataObjInp_PI>"
    ).encode()


def pack_opened(fd: int, length: int, options: Mapping[str, str]) -> bytes:
    """An OpenedDataObjInp_PI (write, close), byte for byte what PRC's OpenedDataObjRequest packs."""
    return (
        f"<OpenedDataObjInp_PI><l1descInx>{fd}</l1descInx><len>{length}</len><whence>0</whence><oprType>0</oprType>"
        f"<offset>0</offset><bytesWritten>0</bytesWritten>{pack_kvp(options)}</OpenedDataObjInp_PI>"
    ).encode()


def send(conn: Connection, api: int, body: bytes) -> None:
    """One request of ours on a connection of PRC's pool."""
    header = iRODSMessage.pack_header("RODS_API_REQ", len(body), 0, 0, api)
    try:
        conn.socket.sendall(header + body)
    except OSError:  # as PRC's Connection.send: the connection is dropped from the pool
        conn.release(True)
        raise NetworkException("Unable to send message") from None


def _request(conn: Connection, api: int, body: bytes) -> iRODSMessage:
    """Send one request and read its reply (PRC's recv: a negative status raises its exception)."""
    send(conn, api, body)
    return conn.recv()
