"""iRODS wire framing and the XML packing-instruction bodies, as python-irodsclient speaks them."""

from __future__ import annotations

import base64
import fcntl
import json
import os
import re
import socket
import ssl
import struct
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

HEADER_LIMIT = 64 * 1024
BODY_LIMIT = 256 * 1024 * 1024
RECV_SIZE = 64 * 1024


class ProtocolError(Exception):
    """The peer sent something that is not an iRODS message."""


@dataclass
class Message:
    type: str
    body: bytes = b""
    error: bytes = b""
    bs: bytes | Bulk = b""  # a Bulk only for a large DATA_OBJ_WRITE read from a Reader
    int_info: int = 0


DATA_OBJ_WRITE_AN = 676
SPLICE_MIN = 1 << 20  # a write request's bytes from this size on go from the socket to the file in the kernel
PIPE_SIZE = 1 << 20


class Bulk:
    """The bytes of a large write request, still in the socket: `into_file` moves them to a file with
    splice(2) (socket -> pipe -> file, no copy through Python), as a C server's write would; whatever
    is not consumed by the handler is drained after it, so the stream stays in step."""

    def __init__(self, reader: Reader, size: int) -> None:
        self.reader, self.size, self.pending = reader, size, size

    def __len__(self) -> int:
        return self.size

    def into_file(self, fd: int, offset: int) -> None:
        head = self.reader.take_buffered(self.pending)
        self.pending -= len(head)
        pos = offset + (os.pwrite(fd, head, offset) if head else 0)
        self._splice(fd, pos)  # on a failure the server drains what is left, as for any unconsumed Bulk

    def _splice(self, fd: int, pos: int) -> None:
        r, w = os.pipe()
        try:
            try:
                fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
            except OSError:  # an unprivileged limit: the default pipe size works too, in smaller steps
                pass
            sock = self.reader.sock.fileno()
            while self.pending:
                k = os.splice(sock, w, min(self.pending, PIPE_SIZE))
                if k == 0:
                    raise ConnectionError("peer closed the connection")
                self.pending -= k
                while k:
                    moved = os.splice(r, fd, k, offset_dst=pos)
                    pos, k = pos + moved, k - moved
        finally:
            os.close(r)
            os.close(w)

    def drain(self) -> None:
        """Read and drop what is left in the socket (a handler that failed, or never wrote)."""
        while self.pending:
            step = min(self.pending, RECV_SIZE)
            self.reader.read_exact(step)
            self.pending -= step

    def read(self) -> bytes:
        data = self.reader.read_exact(self.pending)
        self.pending = 0
        return data


CAN_SPLICE = hasattr(os, "splice") and hasattr(fcntl, "F_SETPIPE_SZ")


def _recv_into(sock: socket.socket, buf: bytearray, got: int = 0) -> bytearray:
    """Fill `buf` from the socket, its first `got` bytes being there already."""
    view = memoryview(buf)
    while got < len(buf):
        k = sock.recv_into(view[got:], len(buf) - got)
        if k == 0:
            raise ConnectionError("peer closed the connection")
        got += k
    return buf


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    return bytes(_recv_into(sock, bytearray(n)))


class Reader:
    """Buffered reads from one socket: a single recv usually brings a whole request, header and body."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buf = bytearray()
        # splice(2) moves the socket's raw bytes: on a TLS connection those are ciphertext
        self.can_splice = CAN_SPLICE and not isinstance(sock, ssl.SSLSocket)

    def take_buffered(self, n: int) -> bytes:
        """Up to `n` bytes already received, without reading the socket."""
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    def read_exact(self, n: int) -> bytes:
        buf = self._buf
        if n - len(buf) > RECV_SIZE:  # a large part (bulk data): straight into place, no copies
            bulk = bytearray(n)
            bulk[: len(buf)] = buf
            got = len(buf)
            buf.clear()
            # bytes-like, handed on without a copy (a vault write takes it as is)
            return cast(bytes, _recv_into(self.sock, bulk, got))
        while len(buf) < n:
            chunk = self.sock.recv(RECV_SIZE)
            if not chunk:
                raise ConnectionError("peer closed the connection")
            buf += chunk
        data = bytes(buf[:n])
        del buf[:n]
        return data


_HEADER_RE = re.compile(
    rb"<type>(.*?)</type>\s*<msgLen>(\d+)</msgLen>\s*<errorLen>(\d+)</errorLen>\s*"
    rb"<bsLen>(\d+)</bsLen>\s*(?:<intInfo>(-?\d+)</intInfo>)?"
)


@dataclass(slots=True)
class Header:
    type: str
    msg_len: int
    error_len: int
    bs_len: int
    int_info: int


def read_header(src: socket.socket | Reader) -> Header:
    """One message header; its lengths are checked against the limits but not read."""
    read = src.read_exact if isinstance(src, Reader) else partial(_recv_exact, src)
    (hlen,) = struct.unpack(">i", read(4))
    if not 0 < hlen < HEADER_LIMIT:
        raise ProtocolError(f"bad header length {hlen}")
    m = _HEADER_RE.search(read(hlen))
    if not m:
        raise ProtocolError("unparseable message header")
    lens = [int(m.group(i)) for i in (2, 3, 4)]
    if any(n < 0 or n > BODY_LIMIT for n in lens):
        raise ProtocolError("message part too large")
    return Header(m.group(1).decode(), lens[0], lens[1], lens[2], int(m.group(5) or 0))


def read_message(src: socket.socket | Reader) -> Message:
    """One message; from a Reader (buffered), or from a bare socket reading no byte past the message."""
    read = src.read_exact if isinstance(src, Reader) else partial(_recv_exact, src)
    h = read_header(src)
    body, error = (read(n) if n else b"" for n in (h.msg_len, h.error_len))
    bs: bytes | Bulk
    if h.bs_len >= SPLICE_MIN and h.int_info == DATA_OBJ_WRITE_AN and isinstance(src, Reader) and src.can_splice:
        bs = Bulk(src, h.bs_len)
    else:
        bs = read(h.bs_len) if h.bs_len else b""
    return Message(h.type, body, error, bs, h.int_info)


def pack_message(msg: Message) -> bytes:
    bs = msg.bs.read() if isinstance(msg.bs, Bulk) else msg.bs
    header = (
        f"<MsgHeader_PI><type>{msg.type}</type><msgLen>{len(msg.body)}</msgLen>"
        f"<errorLen>{len(msg.error)}</errorLen><bsLen>{len(bs)}</bsLen>"
        f"<intInfo>{msg.int_info}</intInfo></MsgHeader_PI>"
    ).encode()
    return struct.pack(">i", len(header)) + header + msg.body + msg.error + bs


# ---- parsing request bodies -------------------------------------------------------------------

# XML 1.0 cannot carry most C0 controls, and a parser folds a literal CR into LF. python-irodsclient
# sends them raw, so they are moved into the private-use area before parsing and moved back after.
_CONTROL_BYTES = re.compile(rb"[\x01-\x08\x0b\x0c\x0d\x0e-\x1f]")
_PRIVATE_BASE = 0xE000
_PRIVATE_CHARS = re.compile("[\ue001-\ue01f]")


def _shield(m: re.Match[bytes]) -> bytes:
    return f"&#{_PRIVATE_BASE + m.group(0)[0]};".encode()


def _unshield(text: str) -> str:
    return _PRIVATE_CHARS.sub(lambda m: chr(ord(m.group(0)) - _PRIVATE_BASE), text)


def parse_body(body: bytes) -> ET.Element:
    raw = body.rstrip(b"\0")
    if _CONTROL_BYTES.search(raw):
        root = ET.fromstring(_CONTROL_BYTES.sub(_shield, raw))
        for el in root.iter():
            if el.text:
                el.text = _unshield(el.text)
        return root
    return ET.fromstring(raw)


def text(el: ET.Element | None, tag: str, default: str = "") -> str:
    if el is None:
        return default
    child = el.find(tag)
    if child is None or child.text is None:
        return default
    return child.text


def integer(el: ET.Element | None, tag: str, default: int = 0) -> int:
    value = text(el, tag)
    try:
        return int(value) if value else default
    except ValueError:
        return default


def kvp(el: ET.Element | None, tag: str = "KeyValPair_PI") -> dict[str, str]:
    node = el.find(tag) if el is not None else None
    if node is None:
        return {}
    keys = [k.text or "" for k in node.findall("keyWord")]
    values = [v.text or "" for v in node.findall("svalue")]
    return dict(zip(keys, values, strict=False))


def json_body(body: bytes) -> Any:
    """Decode a BinBytesBuf_PI (base64) or BytesBuf_PI (text) carrying JSON."""
    root = parse_body(body)
    buf = text(root, "buf")
    if root.tag == "BinBytesBuf_PI":
        buf = base64.b64decode(buf).rstrip(b"\0").decode()
    return json.loads(buf or "{}")


# ---- building reply bodies -------------------------------------------------------------------

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;", "\r": "&#13;"})


def esc(value: object) -> str:
    return str(value).translate(_ESCAPES)


def element(name: str, *fields: tuple[str, object]) -> str:
    inner = "".join(f"<{k}>{esc(v)}</{k}>" for k, v in fields)
    return f"<{name}>{inner}</{name}>"


def bin_bytes_json(obj: Any) -> bytes:
    data = json.dumps(obj).encode()
    b64 = base64.b64encode(data).decode()
    return f"<BinBytesBuf_PI><buflen>{len(data)}</buflen><buf>{b64}</buf></BinBytesBuf_PI>".encode()


def str_pi(value: str) -> bytes:
    return element("STR_PI", ("myStr", value)).encode()


def error_stack(status: int, msg: str) -> bytes:
    return error_stack_of([(status, msg)])


def error_stack_of(entries: Sequence[tuple[int, str]]) -> bytes:
    inner = "".join(element("RErrMsg_PI", ("status", status), ("msg", msg)) for status, msg in entries)
    return f"<RError_PI><count>{len(entries)}</count>{inner}</RError_PI>".encode()


_XML_SPECIAL = re.compile("[&<>\"'\r]")


def _value_elements(values: Sequence[str]) -> str:
    """<value>v</value> for each value, escaped; one pass over the joined text when nothing needs escaping."""
    joined = "\0".join(values)
    if _XML_SPECIAL.search(joined) is None and joined.count("\0") == len(values) - 1:
        return f"<value>{joined.replace(chr(0), '</value><value>')}</value>" if values else ""
    return "".join(f"<value>{esc(v)}</value>" for v in values)


def genquery_out(columns: list[int], rows: list[tuple[str, ...]], continue_inx: int, total: int) -> bytes:
    parts = [
        f"<GenQueryOut_PI><rowCnt>{len(rows)}</rowCnt><attriCnt>{len(columns)}</attriCnt>"
        f"<continueInx>{continue_inx}</continueInx><totalRowCount>{total}</totalRowCount>"
    ]
    by_column = list(zip(*rows, strict=True)) if rows else [()] * len(columns)
    for col, values in zip(columns, by_column, strict=False):
        cells = _value_elements(values)
        parts.append(f"<SqlResult_PI><attriInx>{col}</attriInx><reslen>{1088}</reslen>{cells}</SqlResult_PI>")
    parts.append("</GenQueryOut_PI>")
    return "".join(parts).encode()
