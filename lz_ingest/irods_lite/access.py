"""MOD_ACCESS_CONTROL (API 707, ichmod): ACLs and inheritance, as db_plugin.cpp chlModAccessControl does them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import errors as E
from . import protocol as P
from .catalog import ACCESS_OWN, ACCESS_TYPES, Catalog, User, now_ts
from .errors import IrodsError

if TYPE_CHECKING:
    from .server import Conn, LiteServer, Reply

ADMIN_PREFIX = "admin:"  # MOD_ADMIN_MODE_PREFIX (ichmod -M)
RESOURCE_PREFIX = "resource:"  # MOD_RESC_PREFIX
ALIASES = {"read": "read_object", "write": "modify_object"}  # AP_READ / AP_WRITE
INHERIT = {"inherit": "1", "noinherit": "0"}


def _reply() -> Reply:
    from .server import Reply

    return Reply(0)


def _level(text: str) -> int | None:
    """The access type to set; None removes (null)."""
    name = ALIASES.get(text, text)
    if name == "null":
        return None
    if name not in ACCESS_TYPES or name == "null":
        raise IrodsError(E.CAT_INVALID_ARGUMENT, f"access level {text!r} is invalid")
    return ACCESS_TYPES[name]


def _target(cat: Catalog, user: User, path: str, admin_mode: bool) -> tuple[str, int]:
    """("C", coll_id) or ("d", data_id) the client user owns (or any, with admin mode)."""
    found = cat.collection(path)
    if found is not None:
        if admin_mode or cat.access_level(found[0], user) >= ACCESS_OWN:
            return "C", found[0]
        raise IrodsError(E.CAT_NO_ACCESS_PERMISSION, f"{user.name} does not own {path}")
    replicas = cat.replicas(path)
    if not replicas:
        raise IrodsError(E.CAT_INVALID_ARGUMENT, f"{path} is not a collection and not a data object")
    if admin_mode or cat.access_level(replicas[0].data_id, user) >= ACCESS_OWN:
        return "d", replicas[0].data_id
    raise IrodsError(E.CAT_NO_ACCESS_PERMISSION, f"{user.name} does not own {path}")


def _subtree_ids(cat: Catalog, path: str) -> tuple[list[int], list[int]]:
    """The collection ids at and below path, and the data ids in them."""
    prefix = path.rstrip("/") + "/"
    colls = [
        cid
        for (cid,) in cat.query(
            "SELECT coll_id FROM collections WHERE coll_name=? OR substr(coll_name, 1, ?)=?",
            (path, len(prefix), prefix),
        )
    ]
    marks = ",".join("?" * len(colls))
    data = [did for (did,) in cat.query(f"SELECT DISTINCT data_id FROM data_objects WHERE coll_id IN ({marks})", colls)]
    return colls, data


def api_mod_access_control(server: LiteServer, conn: Conn, msg: P.Message) -> Reply:
    root = P.parse_body(msg.body)
    level_text = P.text(root, "accessLevel")
    path = "/" + "/".join(p for p in P.text(root, "path").split("/") if p)
    recursive = P.integer(root, "recursiveFlag") != 0
    cat, user = server.cat, conn.user
    assert user is not None
    if level_text.startswith(RESOURCE_PREFIX):
        raise IrodsError(E.SYS_NOT_SUPPORTED, "irods-lite keeps no resource ACLs")
    admin_mode = level_text.startswith(ADMIN_PREFIX)
    if admin_mode:
        level_text = level_text[len(ADMIN_PREFIX) :]
        if not user.is_admin:
            raise IrodsError(E.CAT_NO_ACCESS_PERMISSION, "You must be the admin to use the -M admin mode")
    if level_text in INHERIT:
        _set_inheritance(cat, user, path, INHERIT[level_text], recursive, admin_mode)
        return _reply()
    level = _level(level_text)
    kind, object_id = _target(cat, user, path, admin_mode)
    grantee = cat.user(P.text(root, "userName"), P.text(root, "zone") or server.config.zone)
    if grantee is None:
        raise IrodsError(E.CAT_INVALID_USER, f"user {P.text(root, 'userName')} does not exist")
    if recursive and kind == "d":
        raise IrodsError(E.CAT_INVALID_ARGUMENT, f"{path} is not a collection and recursion was requested")
    if recursive:
        colls, data = _subtree_ids(cat, path)
        ids = colls + data
    else:
        ids = [object_id]
    ts = now_ts()
    with cat.tx() as db:
        for oid in ids:
            db.execute("DELETE FROM access WHERE user_id=? AND object_id=?", (grantee.id, oid))
            if level is not None:
                db.execute("INSERT INTO access VALUES (?,?,?,?,?)", (oid, grantee.id, level, ts, ts))
    return _reply()


def _set_inheritance(cat: Catalog, user: User, path: str, flag: str, recursive: bool, admin_mode: bool) -> None:
    found = cat.collection(path)
    if found is None or not (admin_mode or cat.access_level(found[0], user) >= ACCESS_OWN):
        raise IrodsError(
            E.CAT_NO_ACCESS_PERMISSION, "either the collection does not exist or you do not have sufficient access"
        )
    ids = _subtree_ids(cat, path)[0] if recursive else [found[0]]
    with cat.tx() as db:
        marks = ",".join("?" * len(ids))
        db.execute(
            f"UPDATE collections SET inheritance=?, modify_ts=? WHERE coll_id IN ({marks})", (flag, now_ts(), *ids)
        )
