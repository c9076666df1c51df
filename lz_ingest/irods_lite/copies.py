"""Replicas and copies made from existing bytes: replicate (695), copy (696), truncate (652, 802).

As rsDataObjRepl.cpp, rsDataObjCopy.cpp, rsDataObjTruncate.cpp and replica_truncate.cpp do them on a 4.3
server, for replicas irods-lite keeps in its own vaults (or registered files).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from typing import TYPE_CHECKING

from . import errors as E
from . import protocol as P
from .catalog import ACCESS_READ, ACCESS_WRITE, Catalog, Replica, Resource, now_ts
from .dataobj import _create, _finalize, _pick_replica, insert_replica
from .errors import IrodsError
from .placement import leaf_for_write, matches, requested_resource

if TYPE_CHECKING:
    from .server import Conn, LiteServer, Reply

ALL_KW = "all"
COPY_SRC, COPY_DEST = 10, 9


def _reply(int_info: int = 0, body: bytes = b"") -> Reply:
    from .server import Reply

    return Reply(int_info, body)


def _source(replicas: list[Replica], options: dict[str, str]) -> Replica:
    """The good replica to copy from: on rescName / replNum when given, else the first good one."""
    pick: dict[str, str] = {k: options[k] for k in ("rescName", "replNum") if k in options}
    candidates = [_pick_replica(replicas, pick)] if pick else [r for r in replicas if r.status == "1"]
    good = [r for r in candidates if r is not None and r.status == "1"]
    if not good:
        raise IrodsError(E.SYS_NO_GOOD_REPLICA, "no good replica to copy from")
    return good[0]


def _overwrite(cat: Catalog, source: Replica, target: Replica) -> None:
    """A stale replica brought up to date from a good one (bytes, size, checksum, mtime)."""
    os.makedirs(os.path.dirname(target.path), exist_ok=True)
    shutil.copyfile(source.path, target.path)
    with cat.tx() as db:
        db.execute(
            "UPDATE data_objects SET data_size=?, checksum=?, modify_ts=?, repl_status='1'"
            " WHERE data_id=? AND repl_num=?",
            (source.size, source.checksum, source.modify_ts, target.data_id, target.repl_num),
        )


def api_replicate(server: LiteServer, conn: Conn, msg: P.Message) -> Reply:
    root = P.parse_body(msg.body)
    path, options = P.text(root, "objPath"), P.kvp(root)
    cat = server.cat
    replicas = cat.replicas(path)
    if not replicas:
        raise IrodsError(E.OBJ_PATH_DOES_NOT_EXIST, f"{path} does not exist")
    assert conn.user is not None
    cat.require_access(replicas[0].data_id, conn.user, ACCESS_READ, path)
    source = _source(replicas, options)
    if ALL_KW in options:  # irepl -a: update every stale replica
        for r in replicas:
            if r.status != "1":
                _overwrite(cat, source, r)
        return _reply(0)
    destination = {"destRescName": options.get("destRescName") or options.get("defRescName", "")}
    leaf, hier = leaf_for_write(cat, {k: v for k, v in destination.items() if v}, server.config.default_resource)
    existing = next((r for r in replicas if r.resc_id == leaf.id), None)
    if existing is not None:
        if existing.status != "1":
            _overwrite(cat, source, existing)
        return _reply(0)
    _new_replica(server, conn, path, source, replicas, leaf, hier)
    return _reply(0)


def _new_replica(
    server: LiteServer, conn: Conn, path: str, source: Replica, replicas: list[Replica], leaf: Resource, hier: str
) -> None:
    cat = server.cat
    repl_num = max(r.repl_num for r in replicas) + 1
    physical = cat.vault_path(leaf, path)
    if any(r.path == physical for r in replicas) or os.path.exists(physical):
        physical = f"{physical}.{repl_num}"
    os.makedirs(os.path.dirname(physical), exist_ok=True)
    shutil.copyfile(source.path, physical)
    repl = {"repl_num": repl_num, "size": source.size, "resc_id": leaf.id, "hier": hier, "path": physical}
    repl.update(status="1", checksum=source.checksum, mtime=source.modify_ts, data_type=source.data_type)
    insert_replica(server, conn, source.data_id, source.coll_id, path, repl)
    with cat.tx() as db:  # a replica belongs to the object's owner, whoever made it
        sql = "UPDATE data_objects SET owner_name=? WHERE data_id=? AND repl_num=?"
        db.execute(sql, (source.owner, source.data_id, repl_num))


def _leaves(cat: Catalog, resc: Resource) -> list[Resource]:
    if not resc.children:
        return [resc]
    kids = [cat.resource(k) for k in resc.children]
    return [leaf for kid in kids if kid is not None for leaf in _leaves(cat, kid)]


def fan_out(server: LiteServer, conn: Conn, path: str, data_id: int, repl_num: int) -> None:
    """A write through a replication resource reaches every leaf below it (the replication plugin's
    replicate-on-close): the other leaves get (or have brought up to date) a copy of the written replica."""
    cat = server.cat
    source = next((r for r in cat.replicas_by_id(data_id) if r.repl_num == repl_num), None)
    if source is None or source.status != "1":
        return
    for name in source.resc_hier.split(";")[:-1]:
        node = cat.resource(name)
        if node is None or node.type != "replication":
            continue
        for leaf in _leaves(cat, node):
            if leaf.id == source.resc_id:
                continue
            current = cat.replicas_by_id(data_id)
            existing = next((r for r in current if r.resc_id == leaf.id), None)
            if existing is not None:
                _overwrite(cat, source, existing)
            else:
                _new_replica(server, conn, path, source, current, leaf, cat.hierarchy_of(leaf))


def _absolute_in_zone(path: str, zone: str) -> None:
    if not path.startswith(f"/{zone}/"):
        raise IrodsError(E.USER_INPUT_PATH_ERR, f"{path} is not an absolute path in zone {zone}")


def api_copy(server: LiteServer, conn: Conn, msg: P.Message) -> Reply:
    root = P.parse_body(msg.body)
    src_el, dst_el = root.findall("DataObjInp_PI")[:2]
    src, dst = P.text(src_el, "objPath"), P.text(dst_el, "objPath")
    options = P.kvp(dst_el)
    zone, cat = server.config.zone, server.cat
    _absolute_in_zone(src, zone)
    _absolute_in_zone(dst, zone)
    replicas = cat.replicas(src)
    if not replicas:
        raise IrodsError(E.OBJ_PATH_DOES_NOT_EXIST, f"{src} does not exist")
    assert conn.user is not None
    cat.require_access(replicas[0].data_id, conn.user, ACCESS_READ, src)
    source = _source(replicas, P.kvp(src_el))
    existing = cat.replicas(dst)
    if existing:
        if "forceFlag" not in options:
            raise IrodsError(E.OVERWRITE_WITHOUT_FORCE_FLAG, f"{dst} exists")
        cat.require_access(existing[0].data_id, conn.user, ACCESS_WRITE, dst)
        from .namespace import _delete_object_rows

        _delete_object_rows(cat, existing, remove_files=True)
    reply = _create(server, conn, dst, options)
    of = conn.files.pop(reply.int_info)
    with open(source.path, "rb") as fh:
        shutil.copyfileobj(fh, of.fh, 1 << 20)
    of.fh.close()
    _finalize(server, of, options, good=True, conn=conn)
    return _reply(0)


def _truncate_file(replica: Replica, size: int) -> None:
    """UNIX_FILE_TRUNCATE_ERR minus the errno, as the unixfilesystem plugin answers."""
    if size < 0:
        raise IrodsError(E.UNIX_FILE_TRUNCATE_ERR - errno.EINVAL, "negative size")
    try:
        os.truncate(replica.path, size)
    except OSError as exc:
        raise IrodsError(E.UNIX_FILE_TRUNCATE_ERR - (exc.errno or 0), f"{replica.path}: {exc.strerror}") from None


def _set_size(cat: Catalog, replica: Replica, size: int) -> None:
    with cat.tx() as db:
        db.execute(
            "UPDATE data_objects SET data_size=?, checksum='', modify_ts=? WHERE data_id=? AND repl_num=?",
            (size, now_ts(), replica.data_id, replica.repl_num),
        )


def api_truncate(server: LiteServer, conn: Conn, msg: P.Message) -> Reply:
    """DATA_OBJ_TRUNCATE: every replica of the object to dataSize."""
    root = P.parse_body(msg.body)
    path, size = P.text(root, "objPath"), P.integer(root, "dataSize")
    cat = server.cat
    replicas = cat.replicas(path)
    if not replicas:
        raise IrodsError(E.CAT_UNKNOWN_FILE, f"{path} does not exist")
    assert conn.user is not None
    cat.require_access(replicas[0].data_id, conn.user, ACCESS_WRITE, path)
    for r in replicas:
        _truncate_file(r, size)
        _set_size(cat, r, size)
    return _reply(0)


def _json_error(code: int, message: str) -> IrodsError:
    return IrodsError(code, message, P.str_pi(json.dumps({"message": message})))


def api_replica_truncate(server: LiteServer, conn: Conn, msg: P.Message) -> Reply:
    """REPLICA_TRUNCATE (4.3.3+): one replica (replNum, rescName or the default resource) to dataSize;
    success and failure both answer STR_PI JSON."""
    root = P.parse_body(msg.body)
    path, size, options = P.text(root, "objPath"), P.integer(root, "dataSize"), P.kvp(root)
    cat = server.cat
    replicas = cat.replicas(path)
    if not replicas:
        raise _json_error(E.OBJ_PATH_DOES_NOT_EXIST, f"{path} does not exist")
    assert conn.user is not None
    if not conn.user.is_admin and cat.access_level(replicas[0].data_id, conn.user) < ACCESS_WRITE:
        raise _json_error(E.CAT_NO_ACCESS_PERMISSION, f"{conn.user.name} may not write {path}")
    if "replNum" in options:
        target = next((r for r in replicas if str(r.repl_num) == options["replNum"]), None)
    else:
        wanted = requested_resource(options, server.config.default_resource)
        target = next((r for r in replicas if matches(r.resc_hier, wanted)), None)
    if target is None:
        raise _json_error(E.SYS_REPLICA_INACCESSIBLE, "no replica of the object on the requested resource")
    try:
        _truncate_file(target, size)
    except IrodsError as exc:
        raise _json_error(exc.code, exc.message) from None
    _set_size(cat, target, size)
    with cat.tx() as db:  # the truncated replica is now the good one, as after a write
        sql = "UPDATE data_objects SET repl_status=CASE WHEN repl_num=? THEN '1' ELSE '0' END WHERE data_id=?"
        db.execute(sql, (target.repl_num, target.data_id))
    result = {"replica_number": target.repl_num, "resource_hierarchy": target.resc_hier, "message": ""}
    return _reply(0, P.str_pi(json.dumps(result)))
