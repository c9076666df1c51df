"""The namespace: collections, renames and removals (to the trash, forced, or unregistered)."""

from __future__ import annotations

import os
import secrets
from typing import TYPE_CHECKING

from . import errors as E
from . import protocol as P
from .catalog import ACCESS_DELETE, ACCESS_WRITE, Catalog, Replica, User, split_path
from .errors import IrodsError, check_path_length

if TYPE_CHECKING:
    from .server import Conn, LiteServer, Reply

UNREG_OPR = 26
RENAME_DATA_OBJ, RENAME_COLL = 11, 12


def _reply(int_info: int = 0) -> Reply:
    from .server import Reply

    return Reply(int_info)


def _normalize(path: str) -> str:
    return "/" + "/".join(p for p in path.split("/") if p)


def _user(conn: Conn) -> User:
    assert conn.user is not None
    return conn.user


def _trash_path(zone: str, path: str) -> str:
    return f"/{zone}/trash{path[len(zone) + 1 :]}"


def _in_trash(zone: str, path: str) -> bool:
    return path.startswith(f"/{zone}/trash/")


def _unique(cat: Catalog, path: str) -> str:
    """The trash keeps every version: a name already taken gets a numeric suffix."""
    while cat.collection(path) is not None or cat.replicas(path):
        path = f"{path}.{secrets.randbelow(10**10)}"
    return path


# ---- collections ------------------------------------------------------------------------------


def create_collections(cat: Catalog, path: str, user: User, recursive: bool) -> None:
    missing = []
    current = path
    while cat.collection(current) is None:
        missing.append(current)
        current = split_path(current)[0]
    if len(missing) > 1 and not recursive:
        raise IrodsError(E.CAT_UNKNOWN_COLLECTION, f"parent of {path} does not exist")
    found = cat.collection(current)
    assert found is not None
    cat.require_access(found[0], user, ACCESS_WRITE, current)
    with cat.tx() as db:  # serialized: what another connection created since the look above is seen here
        for name in reversed(missing):
            if db.execute("SELECT 1 FROM collections WHERE coll_name=?", (name,)).fetchone():
                if name == path and not recursive:
                    raise IrodsError(E.CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME, f"{path} already exists")
                continue
            if cat.replicas(name):
                raise IrodsError(E.CAT_NAME_EXISTS_AS_DATAOBJ, f"{name} is a data object")
            cat.insert_collection(db, name, user)


def api_coll_create(server: LiteServer, conn: Conn, msg: P.Message) -> Reply:
    root = P.parse_body(msg.body)
    path = _normalize(P.text(root, "collName"))
    options = P.kvp(root)
    check_path_length(path, "collection name")
    zone = server.config.zone
    if not path.startswith(f"/{zone}/"):
        raise IrodsError(E.CAT_UNKNOWN_COLLECTION, f"{path} is outside zone {zone}")
    if server.cat.collection(path) is not None:
        if "recursiveOpr" in options:
            return _reply(0)
        raise IrodsError(E.CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME, f"{path} already exists")
    if server.cat.replicas(path):
        raise IrodsError(E.CAT_NAME_EXISTS_AS_DATAOBJ, f"{path} is a data object")
    create_collections(server.cat, path, _user(conn), "recursiveOpr" in options)
    return _reply(0)


def _subtree(cat: Catalog, path: str) -> list[tuple[int, str]]:
    prefix = path.rstrip("/") + "/"
    return [
        (cid, name)
        for cid, name in cat.query(
            "SELECT coll_id, coll_name FROM collections WHERE coll_name=? OR substr(coll_name, 1, ?)=?",
            (path, len(prefix), prefix),
        )
    ]


def _delete_object_rows(cat: Catalog, replicas: list[Replica], remove_files: bool) -> None:
    with cat.tx() as db:
        for r in replicas:
            db.execute("DELETE FROM data_objects WHERE data_id=? AND repl_num=?", (r.data_id, r.repl_num))
        for data_id in {r.data_id for r in replicas}:
            if not db.execute("SELECT 1 FROM data_objects WHERE data_id=?", (data_id,)).fetchone():
                db.execute("DELETE FROM meta WHERE object_id=?", (data_id,))
                db.execute("DELETE FROM access WHERE object_id=?", (data_id,))
    if remove_files:
        for r in replicas:
            try:
                os.unlink(r.path)
            except FileNotFoundError:
                pass


def api_coll_remove(server: LiteServer, conn: Conn, msg: P.Message) -> Reply:
    root = P.parse_body(msg.body)
    path = _normalize(P.text(root, "collName"))
    options = P.kvp(root)
    cat, zone, user = server.cat, server.config.zone, _user(conn)
    found = cat.collection(path)
    if found is None:
        raise IrodsError(E.CAT_UNKNOWN_COLLECTION, f"{path} does not exist")
    if path.count("/") < 3 or path in (f"/{zone}/trash/home", f"/{zone}/home/public"):
        raise IrodsError(E.CAT_NO_ACCESS_PERMISSION, f"{path} cannot be removed")
    cat.require_access(found[0], user, ACCESS_DELETE, path)  # chlDelColl: delete_object
    tree = _subtree(cat, path)
    ids = [cid for cid, _ in tree]
    marks = ",".join("?" * len(ids))
    has_objects = cat.query(f"SELECT 1 FROM data_objects WHERE coll_id IN ({marks}) LIMIT 1", ids)
    if (len(tree) > 1 or has_objects) and "recursiveOpr" not in options:
        raise IrodsError(E.CAT_COLLECTION_NOT_EMPTY, f"{path} is not empty")
    unregister = P.integer(root, "oprType") == UNREG_OPR
    if unregister or "forceFlag" in options or _in_trash(zone, path):
        _purge_tree(cat, tree, remove_files=not unregister)
        return _reply(0)
    destination = _unique(cat, _trash_path(zone, path))
    create_collections(cat, split_path(destination)[0], user, recursive=True)
    _rename_tree(cat, path, destination)
    return _reply(0)


def _purge_tree(cat: Catalog, tree: list[tuple[int, str]], remove_files: bool) -> None:
    ids = [cid for cid, _ in tree]
    marks = ",".join("?" * len(ids))
    rows = cat.query(f"SELECT DISTINCT data_id FROM data_objects WHERE coll_id IN ({marks})", ids)
    replicas = [r for (data_id,) in rows for r in cat.replicas_by_id(data_id)]
    _delete_object_rows(cat, replicas, remove_files)
    with cat.tx() as db:
        db.execute(f"DELETE FROM collections WHERE coll_id IN ({marks})", ids)
        db.execute(f"DELETE FROM meta WHERE object_id IN ({marks})", ids)
        db.execute(f"DELETE FROM access WHERE object_id IN ({marks})", ids)


def _rename_tree(cat: Catalog, source: str, destination: str) -> None:
    prefix = source.rstrip("/") + "/"
    with cat.tx() as db:
        db.execute(
            "UPDATE collections SET coll_name=?, parent_coll_name=? WHERE coll_name=?",
            (destination, split_path(destination)[0], source),
        )
        db.execute(
            "UPDATE collections SET coll_name = ? || substr(coll_name, ?),"
            " parent_coll_name = ? || substr(parent_coll_name, ?) WHERE substr(coll_name, 1, ?) = ?",
            (destination, len(source) + 1, destination, len(source) + 1, len(prefix), prefix),
        )


# ---- data objects -----------------------------------------------------------------------------


def api_unlink(server: LiteServer, conn: Conn, msg: P.Message) -> Reply:
    root = P.parse_body(msg.body)
    path = P.text(root, "objPath")
    options = P.kvp(root)
    cat, zone, user = server.cat, server.config.zone, _user(conn)
    replicas = cat.replicas(path)
    if not replicas:
        raise IrodsError(E.CAT_UNKNOWN_FILE, f"{path} does not exist")
    cat.require_access(replicas[0].data_id, user, ACCESS_DELETE, path)  # chlUnregDataObj: delete_object
    unregister = P.integer(root, "oprType") == UNREG_OPR
    if unregister or "forceFlag" in options or _in_trash(zone, path):
        _delete_object_rows(cat, replicas, remove_files=not unregister)
        return _reply(0)
    destination = _unique(cat, _trash_path(zone, path))
    create_collections(cat, split_path(destination)[0], user, recursive=True)
    _move_object(cat, replicas, destination)
    return _reply(0)


def _move_object(cat: Catalog, replicas: list[Replica], destination: str) -> None:
    parent, name = split_path(destination)
    found = cat.collection(parent)
    if found is None:
        raise IrodsError(E.CAT_UNKNOWN_COLLECTION, f"{parent} does not exist")
    with cat.tx() as db:
        db.execute(
            "UPDATE data_objects SET coll_id=?, data_name=? WHERE data_id=?",
            (found[0], name, replicas[0].data_id),
        )


def api_trim(server: LiteServer, conn: Conn, msg: P.Message) -> Reply:
    root = P.parse_body(msg.body)
    path = P.text(root, "objPath")
    options = P.kvp(root)
    cat = server.cat
    replicas = cat.replicas(path)
    if not replicas:
        raise IrodsError(E.CAT_UNKNOWN_FILE, f"{path} does not exist")
    cat.require_access(replicas[0].data_id, _user(conn), ACCESS_DELETE, path)
    if "replNum" in options and "rescName" in options:
        raise IrodsError(E.USER_INCOMPATIBLE_PARAMS, "replNum and rescName are incompatible")
    doomed = _replicas_to_trim(replicas, options)
    _delete_object_rows(cat, doomed, remove_files=P.integer(root, "oprType") != UNREG_OPR)
    return _reply(1 if doomed else 0)  # rsDataObjTrim answers 1 when it trimmed something


def _replicas_to_trim(replicas: list[Replica], options: dict[str, str]) -> list[Replica]:
    """rsDataObjTrim.cpp get_list_of_replicas_to_trim: keep `copies` replicas (DEF_MIN_COPY_CNT 2), one good."""
    try:
        keep = int(options.get("copies") or 2)
    except ValueError:
        raise IrodsError(E.SYS_INVALID_INPUT_PARAM, f"copies {options['copies']!r} is invalid") from None
    if keep <= 0:
        raise IrodsError(E.SYS_INVALID_INPUT_PARAM, "copies must be positive")
    if len(replicas) <= keep:
        return []
    good = sum(1 for r in replicas if r.status == "1")
    if "replNum" in options:
        target = next((r for r in replicas if str(r.repl_num) == options["replNum"]), None)
        if target is None:
            raise IrodsError(E.SYS_REPLICA_DOES_NOT_EXIST, "target replica does not exist")
        if good <= 1 and target.status == "1":
            raise IrodsError(E.USER_INCOMPATIBLE_PARAMS, "cannot remove the last good replica")
        return [target]
    resc = options.get("rescName")
    wanted = [r for r in replicas if not resc or r.resc_hier.split(";")[0] == resc]
    doomed = [r for r in wanted if r.status == "0"][: len(replicas) - keep]
    for r in wanted:
        if r.status == "1" and len(replicas) - len(doomed) > keep and good - sum(d.status == "1" for d in doomed) > 1:
            doomed.append(r)
    return doomed


def api_rename(server: LiteServer, conn: Conn, msg: P.Message) -> Reply:
    root = P.parse_body(msg.body)
    src_el, dst_el = root.find("DataObjInp_PI"), root.findall("DataObjInp_PI")[-1]
    source, destination = _normalize(P.text(src_el, "objPath")), _normalize(P.text(dst_el, "objPath"))
    cat, user = server.cat, _user(conn)
    check_path_length(destination, "logical path")
    if cat.collection(destination) is not None or cat.replicas(destination):
        raise IrodsError(E.CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME, f"{destination} already exists")
    parent = cat.collection(split_path(destination)[0])
    if parent is None:
        raise IrodsError(E.CAT_UNKNOWN_COLLECTION, f"{split_path(destination)[0]} does not exist")
    cat.require_access(parent[0], user, ACCESS_WRITE, destination)
    if P.integer(src_el, "oprType") == RENAME_COLL or cat.collection(source) is not None:
        found = cat.collection(source)
        if found is None:
            raise IrodsError(E.CAT_UNKNOWN_COLLECTION, f"{source} does not exist")
        cat.require_access(found[0], user, ACCESS_WRITE, source)
        _rename_tree(cat, source, destination)
        return _reply(0)
    replicas = cat.replicas(source)
    if not replicas:
        raise IrodsError(E.CAT_UNKNOWN_FILE, f"{source} does not exist")
    cat.require_access(replicas[0].data_id, user, ACCESS_WRITE, source)
    _move_object(cat, replicas, destination)
    return _reply(0)
