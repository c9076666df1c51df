"""AVU metadata (API 706 and the atomic JSON API 20002) and GenQuery (702) over the catalog."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from . import errors as E
from . import genquery as G
from . import protocol as P
from .catalog import ACCESS_CREATE_METADATA, ACCESS_DELETE_METADATA, ACCESS_MODIFY_METADATA, Catalog, User, now_ts
from .errors import IrodsError

if TYPE_CHECKING:
    from .server import Conn, LiteServer, Reply

_KINDS = {"-d": "d", "-C": "C", "-c": "C", "-R": "R", "-r": "R", "-u": "u"}
_NEEDED = {"add": ACCESS_CREATE_METADATA, "adda": ACCESS_CREATE_METADATA, "rm": ACCESS_DELETE_METADATA,
           "rmw": ACCESS_DELETE_METADATA, "rmi": ACCESS_DELETE_METADATA}  # fmt: skip
_JSON_KINDS = {"data_object": "d", "collection": "C", "resource": "R", "user": "u"}


def _reply(int_info: int = 0, body: bytes = b"") -> Reply:
    from .server import Reply

    return Reply(int_info, body)


def object_id(cat: Catalog, kind: str, name: str, user: User, level: int = ACCESS_MODIFY_METADATA) -> int:
    """The catalog id an AVU hangs on, after checking the user may change it."""
    if kind == "d":
        replicas = cat.replicas(name)
        if not replicas:
            raise IrodsError(E.CAT_UNKNOWN_FILE, f"{name} does not exist")
        cat.require_access(replicas[0].data_id, user, level, name)
        return replicas[0].data_id
    if kind == "C":
        found = cat.collection(name)
        if found is None:
            raise IrodsError(E.CAT_UNKNOWN_COLLECTION, f"{name} does not exist")
        cat.require_access(found[0], user, level, name)
        return found[0]
    if not user.is_admin:
        raise IrodsError(E.CAT_NO_ACCESS_PERMISSION, "only a rodsadmin may change resource or user AVUs")
    if kind == "R":
        resc = cat.resource(name)
        if resc is None:
            raise IrodsError(E.CAT_INVALID_RESOURCE, f"resource {name} does not exist")
        return resc.id
    target = cat.user(name.split("#")[0])
    if target is None:
        raise IrodsError(E.CAT_INVALID_USER, f"user {name} does not exist")
    return target.id


def _add(db: sqlite3.Connection, cat: Catalog, oid: int, attr: str, value: str, units: str) -> None:
    if not attr or value == "":
        raise IrodsError(E.CAT_INVALID_ARGUMENT, "an AVU needs an attribute and a value")
    dup = db.execute(
        "SELECT 1 FROM meta WHERE object_id=? AND attr=? AND value=? AND units=?", (oid, attr, value, units)
    ).fetchone()
    if dup:
        raise IrodsError(E.CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME, f"AVU {attr}={value} already exists")
    ts = now_ts()
    db.execute("INSERT INTO meta VALUES (?,?,?,?,?,?,?)", (cat.new_id(), oid, attr, value, units, ts, ts))


def _remove(db: sqlite3.Connection, oid: int, attr: str, value: str, units: str, wildcard: bool) -> None:
    op = "LIKE" if wildcard else "="
    cur = db.execute(
        f"DELETE FROM meta WHERE object_id=? AND attr {op} ? AND value {op} ? AND units {op} ?",
        (oid, attr, value, units),
    )
    if cur.rowcount == 0 and not wildcard:
        raise IrodsError(E.CAT_SUCCESS_BUT_WITH_NO_INFO, f"AVU {attr}={value} not found")


def api_mod_avu(server: LiteServer, conn: Conn, msg: P.Message) -> Reply:
    root = P.parse_body(msg.body)
    args = [P.text(root, f"arg{i}") for i in range(10)]
    op, kind = args[0], _KINDS.get(args[1])
    cat = server.cat
    assert conn.user is not None
    if op == "cp":
        return _copy(cat, conn.user, args)
    if kind is None:
        raise IrodsError(E.CAT_INVALID_ARGUMENT, f"unknown object type {args[1]!r}")
    oid = object_id(cat, kind, args[2], conn.user, _NEEDED.get(op, ACCESS_MODIFY_METADATA))
    attr, value, units = args[3], args[4], args[5]
    with cat.tx() as db:
        if op in ("add", "adda"):
            _add(db, cat, oid, attr, value, units)
        elif op in ("rm", "rmw"):
            _remove(db, oid, attr, value, units, wildcard=op == "rmw")
        elif op == "rmi":
            db.execute("DELETE FROM meta WHERE object_id=? AND meta_id=?", (oid, int(attr or 0)))
        elif op == "set":
            _set(db, cat, oid, attr, value, units)
        elif op == "mod":
            _modify(db, cat, oid, args)
        else:
            raise IrodsError(E.CAT_INVALID_ARGUMENT, f"unknown metadata operation {op!r}")
    return _reply(0)


def _set(db: sqlite3.Connection, cat: Catalog, oid: int, attr: str, value: str, units: str) -> None:
    """imeta set: the attribute's first AVU takes the new value and units (keeping its creation time, as
    db_plugin.cpp chlSetAVUMetadata modifies it in place); any others with that attribute go."""
    rows = db.execute("SELECT meta_id FROM meta WHERE object_id=? AND attr=? ORDER BY meta_id", (oid, attr)).fetchall()
    if not rows:
        _add(db, cat, oid, attr, value, units)
        return
    if value == "":
        raise IrodsError(E.CAT_INVALID_ARGUMENT, "an AVU needs an attribute and a value")
    keep = rows[0][0]
    db.execute("DELETE FROM meta WHERE object_id=? AND attr=? AND meta_id<>?", (oid, attr, keep))
    db.execute("UPDATE meta SET value=?, units=?, modify_ts=? WHERE meta_id=?", (value, units, now_ts(), keep))


def _modify(db: sqlite3.Connection, cat: Catalog, oid: int, args: list[str]) -> None:
    attr, value = args[3], args[4]
    rest = [a for a in args[5:] if a]
    units = "" if rest and rest[0][:2] in ("n:", "v:", "u:") else (rest.pop(0) if rest else "")
    changes = {a[0]: a[2:] for a in rest if a[:2] in ("n:", "v:", "u:")}
    _remove(db, oid, attr, value, units, wildcard=False)
    _add(db, cat, oid, changes.get("n", attr), changes.get("v", value), changes.get("u", units))


def _copy(cat: Catalog, user: User, args: list[str]) -> Reply:
    source = object_id(cat, _KINDS[args[1]], args[3], user)
    target = object_id(cat, _KINDS[args[2]], args[4], user)
    rows = cat.query("SELECT attr, value, units FROM meta WHERE object_id=?", (source,))
    with cat.tx() as db:
        for attr, value, units in rows:
            exists = db.execute(
                "SELECT 1 FROM meta WHERE object_id=? AND attr=? AND value=? AND units=?",
                (target, attr, value, units),
            ).fetchone()
            if not exists:
                _add(db, cat, target, attr, value, units)
    return _reply(0)


def _atomic_error(code: int, message: str, op: object = None, index: int = 0) -> IrodsError:
    """The JSON error object atomic_apply_metadata_operations.cpp answers with (make_error_object)."""
    body = {"operation": op if op is not None else {}, "operation_index": index, "error_message": message}
    return IrodsError(code, message, P.bin_bytes_json(body))


def api_atomic_avu(server: LiteServer, conn: Conn, msg: P.Message) -> Reply:
    request = P.json_body(msg.body)
    kind = _JSON_KINDS.get(request.get("entity_type", ""))
    if kind is None:
        raise IrodsError(E.CAT_INVALID_ARGUMENT, "unknown entity_type")
    assert conn.user is not None
    cat, name = server.cat, request.get("entity_name", "")
    if request.get("admin_mode") and not conn.user.is_admin:
        raise _atomic_error(E.CAT_INSUFFICIENT_PRIVILEGE_LEVEL, "User is not an administrator")
    try:
        oid = object_id(cat, kind, name, conn.user)
    except IrodsError as exc:
        if exc.code == E.CAT_NO_ACCESS_PERMISSION:
            raise _atomic_error(exc.code, "User not allowed to modify metadata") from None
        raise _atomic_error(E.SYS_INVALID_INPUT_PARAM, f"Entity does not exist [entity_name={name}]") from None
    with cat.tx() as db:  # all operations or none
        for index, op in enumerate(request.get("operations", [])):
            if op.get("operation") not in ("add", "remove"):
                raise _atomic_error(E.INVALID_OPERATION, "Invalid metadata operation.", op, index)
            attr, value, units = op.get("attribute", ""), op.get("value", ""), op.get("units", "")
            if op.get("operation") == "add":
                exists = db.execute(
                    "SELECT 1 FROM meta WHERE object_id=? AND attr=? AND value=? AND units=?",
                    (oid, attr, value, units),
                ).fetchone()
                if not exists:
                    _add(db, cat, oid, attr, value, units)
            elif op.get("operation") == "remove":  # exact match; an absent AVU is no error
                db.execute(
                    "DELETE FROM meta WHERE object_id=? AND attr=? AND value=? AND units=?", (oid, attr, value, units)
                )
            else:
                raise IrodsError(E.CAT_INVALID_ARGUMENT, f"unknown operation {op.get('operation')!r}")
    return _reply(0, P.bin_bytes_json({}))


# ---- GenQuery ---------------------------------------------------------------------------------


def _parse_query(root: object) -> G.GenQuery:
    el = root  # an Element
    sel = el.find("InxIvalPair_PI")  # type: ignore[attr-defined]
    cond = el.find("InxValPair_PI")  # type: ignore[attr-defined]
    select = []
    if sel is not None:
        inx = [int(x.text) for x in sel.findall("inx")]
        ival = [int(x.text) for x in sel.findall("ivalue")]
        select = list(zip(inx, ival, strict=False))
    where = []
    if cond is not None:
        inx = [int(x.text) for x in cond.findall("inx")]
        sval = [x.text or "" for x in cond.findall("svalue")]
        where = list(zip(inx, sval, strict=False))
    return G.GenQuery(
        max_rows=P.integer(el, "maxRows"),  # type: ignore[arg-type]
        continue_inx=P.integer(el, "continueInx"),  # type: ignore[arg-type]
        offset=P.integer(el, "partialStartIndex"),  # type: ignore[arg-type]
        options=P.integer(el, "options"),  # type: ignore[arg-type]
        select=select,
        where=where,
        keywords=P.kvp(el),  # type: ignore[arg-type]
    )


def _page(conn: Conn, columns: list[int], rows: list[tuple[str, ...]], max_rows: int, total: int) -> Reply:
    page, rest = rows[:max_rows], rows[max_rows:]
    cursor = 0
    if rest:
        cursor = max(conn.cursors, default=0) + 1
        conn.cursors[cursor] = (columns, rest, total)
    return _reply(0, P.genquery_out(columns, page, cursor, total))


def api_genquery(server: LiteServer, conn: Conn, msg: P.Message) -> Reply:
    q = _parse_query(P.parse_body(msg.body))
    if q.continue_inx > 0:
        state = conn.cursors.pop(q.continue_inx, None)
        if q.max_rows <= 0 or state is None:
            return _reply(0, P.genquery_out([], [], 0, 0))
        columns, rows, total = state
        return _page(conn, columns, rows, q.max_rows, total)
    zone = q.keywords.get("zone", server.config.zone)
    if zone != server.config.zone:
        raise IrodsError(E.CAT_NO_ROWS_FOUND, f"unknown zone {zone}")
    assert conn.user is not None
    translation = G.translate(q, server.config.zone, None if conn.user.is_admin else conn.user.id)
    raw = server.cat.query(translation.sql, translation.params)
    rows = G.text_rows(raw)[max(0, q.offset) :]
    if q.max_rows <= 0:
        return _reply(0, P.genquery_out([], [], 0, 0))
    if not rows:
        raise IrodsError(E.CAT_NO_ROWS_FOUND, "no rows")
    total = len(rows) if q.options & G.RETURN_TOTAL_ROW_COUNT else 0
    return _page(conn, translation.columns, rows, q.max_rows, total)
