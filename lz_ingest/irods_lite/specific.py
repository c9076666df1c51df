"""Specific queries (SPECIFIC_QUERY, API 722): SQL a rodsadmin registered under an alias, run with arguments.

A real catalog runs them on its own PostgreSQL schema (R_DATA_MAIN, R_COLL_MAIN, ...). irods-lite keeps
its catalog in other tables, so it offers read-only views under the real table and column names that
registered queries use most (data objects, collections, users, groups, resources, AVUs, access). Only
SELECT statements are accepted: a registered statement must never change irods-lite's own tables.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from . import errors as E
from . import genquery as G
from . import protocol as P
from .catalog import ACCESS_NAMES, Catalog, now_ts
from .errors import IrodsError

if TYPE_CHECKING:
    from .server import Conn, LiteServer, Reply

_ACCESS_TOKENS = " UNION ALL ".join(
    f"SELECT 'access_type' AS token_namespace, {k} AS token_id, '{v}' AS token_name" for k, v in ACCESS_NAMES.items()
)
VIEWS = {
    "R_DATA_MAIN": "SELECT data_id, coll_id, data_name, repl_num AS data_repl_num, version AS data_version,"
    " data_type AS data_type_name, data_size, data_path, owner_name AS data_owner_name, owner_zone AS"
    " data_owner_zone, repl_status AS data_is_dirty, data_status, checksum AS data_checksum, expiry AS"
    " data_expiry_ts, map_id AS data_map_id, mode AS data_mode, comment AS r_comment, create_ts, modify_ts,"
    " resc_id FROM data_objects",
    "R_COLL_MAIN": "SELECT coll_id, parent_coll_name, coll_name, owner_name AS coll_owner_name, owner_zone AS"
    " coll_owner_zone, map_id AS coll_map_id, inheritance AS coll_inheritance, comment AS r_comment,"
    " create_ts, modify_ts FROM collections",
    "R_USER_MAIN": "SELECT user_id, user_name, user_type AS user_type_name, zone_name, info AS user_info,"
    " comment AS r_comment, create_ts, modify_ts FROM users",
    "R_USER_GROUP": "SELECT group_user_id, user_id, create_ts, modify_ts FROM user_groups",
    "R_RESC_MAIN": "SELECT resc_id, resc_name, zone_name, resc_type AS resc_type_name, resc_class AS"
    " resc_class_name, resc_loc AS resc_net, vault_path AS resc_def_path, free_space, free_space_ts, info AS"
    " resc_info, comment AS r_comment, resc_status, create_ts, modify_ts, resc_children, resc_context,"
    " resc_parent, resc_parent_context FROM resources",
    "R_META_MAIN": "SELECT meta_id, attr AS meta_attr_name, value AS meta_attr_value, units AS meta_attr_unit,"
    " create_ts, modify_ts FROM meta",
    "R_OBJT_METAMAP": "SELECT object_id, meta_id, create_ts, modify_ts FROM meta",
    "R_OBJT_ACCESS": "SELECT object_id, user_id, access_type AS access_type_id, create_ts, modify_ts FROM access",
    "R_TOKN_MAIN": _ACCESS_TOKENS,
    "R_SPECIFIC_QUERY": "SELECT alias, sql AS sqlStr, create_ts FROM specific_queries",
}
# What every zone has registered (icatSysInserts.sql names them); the SQL is irods-lite's own.
BUILT_IN = {
    "ls": "select alias, sqlStr from R_SPECIFIC_QUERY",
    "lsl": "select alias, sqlStr from R_SPECIFIC_QUERY where sqlStr like ?",
    "ilsLACollections": "select c.coll_name, a.access_type_id, u.user_name, u.zone_name from R_COLL_MAIN c,"
    " R_OBJT_ACCESS a, R_USER_MAIN u where c.parent_coll_name = ? and a.object_id = c.coll_id and"
    " u.user_id = a.user_id order by c.coll_name, u.user_name, a.access_type_id DESC LIMIT ? OFFSET ?",
    "ilsLADataObjects": "select d.data_name, d.data_repl_num, a.access_type_id, u.user_name, u.zone_name from"
    " R_DATA_MAIN d, R_COLL_MAIN c, R_OBJT_ACCESS a, R_USER_MAIN u where c.coll_name = ? and"
    " d.coll_id = c.coll_id and a.object_id = d.data_id and u.user_id = a.user_id order by d.data_name,"
    " u.user_name, a.access_type_id DESC LIMIT ? OFFSET ?",
}


def ensure_schema(cat: Catalog) -> None:
    with cat.tx() as db:
        db.execute("CREATE TABLE IF NOT EXISTS specific_queries (alias TEXT PRIMARY KEY, sql TEXT, create_ts TEXT)")
        for name, select in VIEWS.items():
            db.execute(f"CREATE VIEW IF NOT EXISTS {name} AS {select}")
        for alias, sql in BUILT_IN.items():
            db.execute("INSERT OR IGNORE INTO specific_queries VALUES (?,?,?)", (alias, sql, "01292940000"))


def _reply(int_info: int = 0, body: bytes = b"") -> Reply:
    from .server import Reply

    return Reply(int_info, body)


def register(cat: Catalog, sql: str, alias: str) -> None:
    """add specificQuery SQL ALIAS (rodsadmin only, checked by the caller)."""
    if not sql.lstrip().lower().startswith("select"):
        raise IrodsError(E.CAT_INVALID_ARGUMENT, "irods-lite registers SELECT statements only")
    if not alias:
        raise IrodsError(E.CAT_INVALID_ARGUMENT, "a specific query needs an alias")
    if cat.query("SELECT 1 FROM specific_queries WHERE alias=?", (alias,)):
        raise IrodsError(E.CAT_INVALID_ARGUMENT, "Alias is not unique", client_message="Alias is not unique")
    with cat.tx() as db:
        db.execute("INSERT INTO specific_queries VALUES (?,?,?)", (alias, sql, now_ts()))


def remove(cat: Catalog, target: str) -> None:
    """rm specificQuery ALIAS-or-SQL."""
    with cat.tx() as db:
        gone = db.execute("DELETE FROM specific_queries WHERE alias=? OR sql=?", (target, target)).rowcount
    if not gone:
        raise IrodsError(E.CAT_UNKNOWN_SPECIFIC_QUERY, f"no specific query {target!r}")


def api_specific_query(server: LiteServer, conn: Conn, msg: P.Message) -> Reply:
    from .metadata import _page

    root = P.parse_body(msg.body)
    max_rows, continue_inx = P.integer(root, "maxRows"), P.integer(root, "continueInx")
    if continue_inx > 0:
        state = conn.cursors.pop(continue_inx, None)
        if max_rows <= 0 or state is None:
            return _reply(0, P.genquery_out([], [], 0, 0))
        return _page(conn, *state[:2], max_rows, state[2])
    target = P.text(root, "sql")
    cat = server.cat
    found = cat.query("SELECT sql FROM specific_queries WHERE alias=? OR sql=? LIMIT 1", (target, target))
    if not found:
        raise IrodsError(E.CAT_UNKNOWN_SPECIFIC_QUERY, f"no specific query {target!r}")
    args = [P.text(root, f"arg{i}") for i in range(1, 11)]
    sql = found[0][0]
    try:
        with cat.lock:
            cursor = cat.db.execute(sql, args[: sql.count("?")])
            raw = cursor.fetchall()
            width = len(cursor.description or ())
    except sqlite3.Error as exc:
        raise IrodsError(E.CAT_INVALID_ARGUMENT, f"specific query {target!r}: {exc}") from None
    rows = G.text_rows(raw)[max(0, P.integer(root, "rowOffset")) :]
    if max_rows <= 0:
        return _reply(0, P.genquery_out([], [], 0, 0))
    if not rows:
        raise IrodsError(E.CAT_NO_ROWS_FOUND, "no rows")
    return _page(conn, list(range(width)), rows, max_rows, 0)
