"""Data-object APIs: open/read/write/seek/close, parallel transfer, register, checksums, unlink, trim."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from typing import TYPE_CHECKING, Any

from . import errors as E
from . import protocol as P
from .catalog import ACCESS_MODIFY_METADATA, ACCESS_OWN, ACCESS_READ, ACCESS_WRITE, Catalog, Replica, now_ts, split_path
from .errors import IrodsError, check_path_length
from .placement import leaf_for_register, leaf_for_write, matches
from .s3_resource import S3_TYPE, refuse_write

if TYPE_CHECKING:
    from .server import Conn, LiteServer, OpenFile, Reply

O_ACCMODE, O_CREAT, O_TRUNC = 3, 64, 512
UNREG_OPR = 26


def _reply(int_info: int = 0, body: bytes = b"", bs: bytes = b"") -> Reply:
    from .server import Reply

    return Reply(int_info, body, bs)


def sha2_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return "sha2:" + base64.b64encode(digest.digest()).decode()


def _parent_collection(cat: Catalog, logical_path: str) -> int:
    parent, _ = split_path(logical_path)
    found = cat.collection(parent)
    if found is None:
        raise IrodsError(E.CAT_UNKNOWN_COLLECTION, f"collection {parent} does not exist")
    return found[0]


def _check_new_name(cat: Catalog, logical_path: str, zone: str) -> int:
    check_path_length(logical_path, "logical path")
    if not logical_path.startswith("/"):  # 4.3 rsDataObjCreate / rsDataObjOpen
        raise IrodsError(E.SYS_INVALID_FILE_PATH, f"{logical_path} is not an absolute path")
    if not logical_path.startswith(f"/{zone}/"):
        raise IrodsError(E.CAT_UNKNOWN_COLLECTION, f"{logical_path} is outside zone {zone}")
    if cat.collection(logical_path) is not None:
        raise IrodsError(E.CAT_NAME_EXISTS_AS_COLLECTION, f"{logical_path} is a collection")
    return _parent_collection(cat, logical_path)


def insert_replica(
    server: LiteServer, conn: Conn, data_id: int, coll_id: int, logical_path: str, repl: dict[str, object]
) -> int:
    """Add one replica row (repl carries repl_num, size, resc_id, hier, path, status, checksum, mtime).

    data_id 0 means a new object: its id is taken in the same transaction (one commit, not two).
    """
    assert conn.user is not None
    _, name = split_path(logical_path)
    ts = now_ts()
    with server.cat.tx() as db:
        new_object = not data_id
        data_id = data_id or server.cat.new_id()
        db.execute(
            "INSERT INTO data_objects (data_id, coll_id, data_name, repl_num, data_type, data_size, resc_id,"
            " resc_hier, data_path, owner_name, owner_zone, repl_status, checksum, create_ts, modify_ts,"
            " access_ts) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                data_id, coll_id, name, repl["repl_num"], repl.get("data_type") or "generic", repl["size"],
                repl["resc_id"], repl["hier"], repl["path"], conn.user.name, conn.user.zone, repl["status"],
                repl.get("checksum", ""), ts, repl.get("mtime") or ts, ts,
            ),
        )  # fmt: skip
        if new_object:  # a new replica of an object keeps the object's ACLs
            if server.cat.inherits(coll_id):  # db_plugin.cpp chlRegDataObj: the collection's ACLs too
                server.cat.inherit_access(db, coll_id, data_id)
            db.execute("INSERT OR REPLACE INTO access VALUES (?,?,?,?,?)", (data_id, conn.user.id, ACCESS_OWN, ts, ts))
    return data_id


# ---- open / read / write / seek / close -------------------------------------------------------


def _next_fd(conn: Conn) -> int:
    fd = 3
    while fd in conn.files:
        fd += 1
    return fd


def _resource_type(cat: Catalog, replica: Replica) -> str:
    resource = cat.resource_by_id(replica.resc_id)
    return resource.type if resource else ""


def _pick_replica(replicas: list[Replica], options: dict[str, str]) -> Replica | None:
    wanted = options.get("resc_hier") or options.get("destRescName") or options.get("rescName")
    if "replNum" in options:
        return next((r for r in replicas if str(r.repl_num) == options["replNum"]), None)
    if wanted:
        return next((r for r in replicas if matches(r.resc_hier, wanted)), None)
    return next((r for r in replicas if r.status == "1"), replicas[0])


def api_open(server: LiteServer, conn: Conn, msg: P.Message) -> Reply:
    from .server import OpenFile

    root = P.parse_body(msg.body)
    path = P.text(root, "objPath")
    flags = P.integer(root, "openFlags")
    options = P.kvp(root)
    writing = (flags & O_ACCMODE) in (1, 2)
    token = options.get("replicaToken")
    if token:
        return _join_parallel(server, conn, token, writing, options)
    check_path_length(path, "logical path")
    cat = server.cat
    replicas = cat.replicas(path)
    assert conn.user is not None
    if replicas:
        replica = _pick_replica(replicas, options)
        if replica is None and writing:
            return _create(server, conn, path, options, data_id=replicas[0].data_id, repl_num=replicas[-1].repl_num + 1)
        # for a read, a default destination is a preference only: a good replica elsewhere wins over none
        # (or a stale one) there
        if not writing and _default_only(options) and (replica is None or replica.status != "1"):
            replica = next((r for r in replicas if r.status == "1"), replica or replicas[0])
        if replica is None:
            raise IrodsError(E.SYS_RESC_DOES_NOT_EXIST, f"{path} has no replica on the requested resource")
        cat.require_access(replica.data_id, conn.user, ACCESS_WRITE if writing else ACCESS_READ, path)
        truncate = writing and bool(flags & O_TRUNC)
        on_s3 = _resource_type(cat, replica) == S3_TYPE
        if writing and on_s3:
            refuse_write(S3_TYPE, replica.resc_hier)
        fh: Any
        if on_s3:
            fh = server.s3.open(replica.path)  # read through boto3, as the S3 plugin reads its objects
        elif writing:
            _set_status(cat, replica, "2")
            os.makedirs(os.path.dirname(replica.path), exist_ok=True)
            fh = open(replica.path, "r+b" if os.path.exists(replica.path) else "w+b")  # noqa: SIM115
            if truncate:
                fh.truncate(0)
        else:
            fh = open(replica.path, "rb")  # noqa: SIM115
        token = secrets.token_hex(16)
        of = OpenFile(
            replica.data_id,
            replica.repl_num,
            path,
            replica.path,
            fh,
            writing,
            token,
            replica.resc_hier,
            options,
        )
        of.written = truncate
        return _register_fd(server, conn, of)
    if not flags & O_CREAT:  # rsDataObjOpen.cpp on 4.3
        raise IrodsError(E.OBJ_PATH_DOES_NOT_EXIST, f"{path} does not exist")
    return _create(server, conn, path, options)


def _default_only(options: dict[str, str]) -> bool:
    """A destination resource given, but no replica named exactly (resource, hierarchy or number)."""
    return "destRescName" in options and not any(k in options for k in ("rescName", "resc_hier", "replNum"))


def _register_fd(server: LiteServer, conn: Conn, of: OpenFile) -> Reply:
    fd = _next_fd(conn)
    conn.files[fd] = of
    with server.lock:
        server.tokens[of.token] = (of.data_id, of.repl_num, of.physical_path)
    return _reply(fd)


def _create(
    server: LiteServer, conn: Conn, path: str, options: dict[str, str], data_id: int = 0, repl_num: int = 0
) -> Reply:
    from .server import OpenFile

    cat = server.cat
    assert conn.user is not None
    coll_id = _check_new_name(cat, path, server.config.zone)
    cat.require_access(coll_id, conn.user, ACCESS_WRITE, split_path(path)[0])
    leaf, hier = leaf_for_write(cat, options, server.config.default_resource)
    refuse_write(leaf.type, leaf.name)
    physical = cat.vault_path(leaf, path)
    if repl_num:
        physical = f"{physical}.{repl_num}"
    os.makedirs(os.path.dirname(physical), exist_ok=True)
    fh = open(physical, "w+b")  # noqa: SIM115
    repl = {
        "repl_num": repl_num,
        "size": 0,
        "resc_id": leaf.id,
        "hier": hier,
        "path": physical,
        "status": "2",
    }
    repl["data_type"] = options.get("dataType", "generic")
    data_id = insert_replica(server, conn, data_id, coll_id, path, repl)
    of = OpenFile(data_id, repl_num, path, physical, fh, True, secrets.token_hex(16), hier, options)
    of.written = True
    return _register_fd(server, conn, of)


def _join_parallel(server: LiteServer, conn: Conn, token: str, writing: bool, options: dict[str, str]) -> Reply:
    from .server import OpenFile

    with server.lock:
        known = server.tokens.get(token)
    if known is None:
        raise IrodsError(E.SYS_INVALID_INPUT_PARAM, "unknown replica token")
    data_id, repl_num, physical = known
    replica = next(r for r in server.cat.replicas_by_id(data_id) if r.repl_num == repl_num)
    assert conn.user is not None
    server.cat.require_access(data_id, conn.user, ACCESS_WRITE if writing else ACCESS_READ, replica.path)
    fh = open(physical, "r+b" if writing else "rb")  # noqa: SIM115
    of = OpenFile(data_id, repl_num, replica.name, physical, fh, writing, token, replica.resc_hier, options)
    of.finalize = False
    fd = _next_fd(conn)
    conn.files[fd] = of
    return _reply(fd)


def _open_file(conn: Conn, root: object) -> tuple[int, OpenFile]:
    fd = P.integer(root, "l1descInx")  # type: ignore[arg-type]
    of = conn.files.get(fd)
    if of is None:
        raise IrodsError(E.SYS_BAD_FILE_DESCRIPTOR, f"descriptor {fd} is not open")
    return fd, of


def api_read(server: LiteServer, conn: Conn, msg: P.Message) -> Reply:
    root = P.parse_body(msg.body)
    _, of = _open_file(conn, root)
    data = of.fh.read(max(0, P.integer(root, "len")))
    return _reply(len(data), bs=data)


def api_write(server: LiteServer, conn: Conn, msg: P.Message) -> Reply:
    root = P.parse_body(msg.body)
    _, of = _open_file(conn, root)
    if not of.writing:
        raise IrodsError(E.SYS_BAD_FILE_DESCRIPTOR, "descriptor is open for reading")
    if isinstance(msg.bs, P.Bulk):  # large: from the socket to the file in the kernel
        position = of.fh.tell()
        of.fh.flush()
        msg.bs.into_file(of.fh.fileno(), position)
        of.fh.seek(position + msg.bs.size)
    else:
        of.fh.write(msg.bs)
    of.written = True
    return _reply(len(msg.bs))


def api_lseek(server: LiteServer, conn: Conn, msg: P.Message) -> Reply:
    root = P.parse_body(msg.body)
    _, of = _open_file(conn, root)
    offset = of.fh.seek(P.integer(root, "offset"), P.integer(root, "whence"))
    return _reply(0, P.element("fileLseekOut_PI", ("offset", offset)).encode())


def api_close(server: LiteServer, conn: Conn, msg: P.Message) -> Reply:
    root = P.parse_body(msg.body)
    fd, of = _open_file(conn, root)
    del conn.files[fd]
    of.fh.close()
    if of.writing and of.finalize:
        _finalize(server, of, {**of.options, **P.kvp(root)}, good=True, conn=conn)
    return _reply(0)


def api_replica_close(server: LiteServer, conn: Conn, msg: P.Message) -> Reply:
    request = P.json_body(msg.body)
    of = conn.files.pop(int(request.get("fd", -1)), None)
    if of is None:
        raise IrodsError(E.SYS_BAD_FILE_DESCRIPTOR, "descriptor is not open")
    of.fh.close()
    return _reply(0)


def api_fd_info(server: LiteServer, conn: Conn, msg: P.Message) -> Reply:
    request = P.json_body(msg.body)
    of = conn.files.get(int(request.get("fd", -1)))
    if of is None:
        raise IrodsError(E.SYS_BAD_FILE_DESCRIPTOR, "descriptor is not open")
    info = {
        "replica_token": of.token,
        "data_object_info": {
            "resource_hierarchy": of.resc_hier,
            "replica_number": of.repl_num,
            "logical_path": of.logical_path,
            "physical_path": of.physical_path,
            "data_id": of.data_id,
        },
    }
    return _reply(0, P.bin_bytes_json(info))


def _set_status(cat: Catalog, replica: Replica, status: str) -> None:
    with cat.tx() as db:
        db.execute(
            "UPDATE data_objects SET repl_status=? WHERE data_id=? AND repl_num=?",
            (status, replica.data_id, replica.repl_num),
        )


def _finalize(server: LiteServer, of: OpenFile, options: dict[str, str], good: bool, conn: Conn | None = None) -> None:
    """What a real server does on close: size from storage, mtime now, this replica good, others stale."""
    size = os.path.getsize(of.physical_path)
    checksum = ""
    if "regChksum" in options or "verifyChksum" in options:
        checksum = sha2_of(of.physical_path)
        expected = options.get("verifyChksum") or options.get("regChksum")
        if expected and expected != checksum:
            raise IrodsError(E.USER_CHKSUM_MISMATCH, f"checksum mismatch for {of.logical_path}")
    with server.cat.tx() as db:
        db.execute(
            "UPDATE data_objects SET data_size=?, modify_ts=?, repl_status=?, checksum=?"
            " WHERE data_id=? AND repl_num=?",
            (size, now_ts(), "1" if good else "0", checksum, of.data_id, of.repl_num),
        )
        if of.written:
            db.execute(
                "UPDATE data_objects SET repl_status='0' WHERE data_id=? AND repl_num<>?",
                (of.data_id, of.repl_num),
            )
    with server.lock:
        server.tokens.pop(of.token, None)
    if good and conn is not None and ";" in of.resc_hier:
        from .copies import fan_out  # copies builds on this module

        fan_out(server, conn, of.logical_path, of.data_id, of.repl_num)


def abandon_open_files(server: LiteServer, conn: Conn) -> None:
    """A dropped connection: close its descriptors; a half-written replica is left stale, never good."""
    for of in list(conn.files.values()):
        try:
            of.fh.close()
            if of.writing and of.finalize:
                _finalize(server, of, {}, good=False)
        except Exception:  # the connection is gone; keep cleaning the rest
            pass
    conn.files.clear()


# ---- register ---------------------------------------------------------------------------------


def api_register(server: LiteServer, conn: Conn, msg: P.Message) -> Reply:
    root = P.parse_body(msg.body)
    path = P.text(root, "objPath")
    options = P.kvp(root)
    file_path = options.get("filePath", "")
    cat = server.cat
    assert conn.user is not None
    check_path_length(path, "logical path")
    # A real server copies filePath into char[MAX_NAME_LEN] with rstrcpy (register_physical_path.cpp), which
    # truncates; irods-lite refuses instead of registering (or failing to stat) a truncated path.
    check_path_length(file_path, "physical path", E.USER_PATH_EXCEEDS_MAX)
    if not conn.user.is_admin:  # stock policy: only a rodsadmin client user may register
        raise IrodsError(E.PATH_REG_NOT_ALLOWED, f"{conn.user.name} may not register physical paths")
    if not file_path:
        raise IrodsError(E.SYS_INVALID_FILE_PATH, "no filePath given")
    if "collection" in options:
        raise IrodsError(E.SYS_NOT_SUPPORTED, "irods-lite does not register directories")
    leaf, hier = leaf_for_register(cat, options, server.config.default_resource)
    size, mtime = _stat_for_register(file_path, options)
    wanted = "regChksum" in options or "verifyChksum" in options
    checksum = (server.s3.sha2(file_path) if leaf.type == S3_TYPE else sha2_of(file_path)) if wanted else ""
    repl = {"size": size, "resc_id": leaf.id, "hier": hier, "path": file_path, "status": "1"}
    repl.update(checksum=checksum, mtime=mtime, data_type=options.get("dataType", "generic"))
    existing = cat.replicas(path)
    if "regRepl" in options:
        if not existing:
            raise IrodsError(E.CAT_UNKNOWN_FILE, f"{path} does not exist")
        if any(r.resc_id == leaf.id for r in existing):
            raise IrodsError(E.SYS_COPY_ALREADY_IN_RESC, f"{path} already has a replica on {leaf.name}")
        cat.require_access(existing[0].data_id, conn.user, ACCESS_WRITE, path)
        repl["repl_num"] = max(r.repl_num for r in existing) + 1
        insert_replica(server, conn, existing[0].data_id, existing[0].coll_id, path, repl)
        return _reply(0)
    if existing:
        raise IrodsError(E.CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME, f"{path} already exists")
    coll_id = _check_new_name(cat, path, server.config.zone)
    cat.require_access(coll_id, conn.user, ACCESS_WRITE, split_path(path)[0])
    repl["repl_num"] = 0
    insert_replica(server, conn, 0, coll_id, path, repl)
    return _reply(0)


def _stat_for_register(file_path: str, options: dict[str, str]) -> tuple[int, str]:
    st = None
    if "dataSize" not in options or "dataModify" not in options:
        try:
            st = os.stat(file_path)
        except OSError as exc:
            raise IrodsError(E.UNIX_FILE_OPEN_ERR, f"cannot stat {file_path}: {exc.strerror}") from None
    size = int(options["dataSize"]) if "dataSize" in options else st.st_size  # type: ignore[union-attr]
    mtime = int(options["dataModify"]) if "dataModify" in options else int(st.st_mtime)  # type: ignore[union-attr]
    return size, f"{mtime:011d}"


# ---- modDataObjMeta / checksum / touch --------------------------------------------------------

_META_FIELDS = {
    "dataSize": "data_size",
    "dataModify": "modify_ts",
    "chksum": "checksum",
    "replStatus": "repl_status",
    "dataType": "data_type",
    "filePath": "data_path",
    "dataComments": "comment",
    "dataExpiry": "expiry",
    "dataCreate": "create_ts",
    "dataMode": "mode",
    "dataVersion": "version",
}


def _selected(replicas: list[Replica], options: dict[str, str], everything: bool) -> list[Replica]:
    if everything:
        return replicas
    chosen = _pick_replica(replicas, options)
    if chosen is None:
        raise IrodsError(E.CAT_UNKNOWN_FILE, "no such replica")
    return [chosen]


def api_mod_data_obj_meta(server: LiteServer, conn: Conn, msg: P.Message) -> Reply:
    root = P.parse_body(msg.body)
    info = root.find("DataObjInfo_PI")
    path = P.text(info, "objPath")
    params = P.kvp(root)
    replicas = server.cat.replicas(path)
    if not replicas:
        raise IrodsError(E.CAT_UNKNOWN_FILE, f"{path} does not exist")
    assert conn.user is not None
    # db_plugin.cpp chlModDataObjMeta: modify_metadata; a checksum alone needs only read
    needed = ACCESS_READ if set(params) - {"all"} == {"chksum"} else ACCESS_MODIFY_METADATA
    server.cat.require_access(replicas[0].data_id, conn.user, needed, path)
    which = {k: v for k, v in (("resc_hier", P.text(info, "rescHier")), ("rescName", P.text(info, "rescName"))) if v}
    if not which:
        which["replNum"] = P.text(info, "replNum", "0")
    targets = _selected(replicas, which, "all" in params)
    sets, values = [], []
    for key, column in _META_FIELDS.items():
        if key in params:
            value: object = params[key]
            if column in ("modify_ts", "create_ts", "expiry"):
                value = f"{int(params[key]):011d}"
            sets.append(f"{column}=?")
            values.append(value)
    if sets:
        with server.cat.tx() as db:
            for r in targets:
                db.execute(
                    f"UPDATE data_objects SET {', '.join(sets)} WHERE data_id=? AND repl_num=?",
                    (*values, r.data_id, r.repl_num),
                )
    return _reply(0)


def api_checksum(server: LiteServer, conn: Conn, msg: P.Message) -> Reply:
    root = P.parse_body(msg.body)
    path = P.text(root, "objPath")
    options = P.kvp(root)
    replicas = server.cat.replicas(path)
    if not replicas:
        raise IrodsError(E.CAT_UNKNOWN_FILE, f"{path} does not exist")
    assert conn.user is not None
    server.cat.require_access(replicas[0].data_id, conn.user, ACCESS_READ, path)
    if "verifyChksum" in options:
        return _verify_checksums(replicas, options)
    result = ""
    for r in _selected(replicas, options, "ChksumAll" in options):
        computed = server.s3.sha2(r.path) if _resource_type(server.cat, r) == S3_TYPE else sha2_of(r.path)
        if r.checksum and "forceChksum" not in options:
            computed = r.checksum
        else:
            with server.cat.tx() as db:
                db.execute(
                    "UPDATE data_objects SET checksum=? WHERE data_id=? AND repl_num=?",
                    (computed, r.data_id, r.repl_num),
                )
        result = result or computed
    return _reply(0, P.str_pi(result))


def _verify_checksums(replicas: list[Replica], options: dict[str, str]) -> Reply:
    """Verification mode (4.2.11+ rsDataObjChksum.cpp do_verification): report, never update the catalog.

    Problems come back as CHECK_VERIFICATION_RESULTS with a JSON list in STR_PI myStr.
    """
    if "forceChksum" in options or ("replNum" in options and "rescName" in options):
        raise IrodsError(E.USER_INCOMPATIBLE_PARAMS, "verifyChksum with forceChksum, or replNum with rescName")
    results: list[dict[str, object]] = []

    def report(severity: str, code: int, message: str, r: Replica | None = None) -> None:
        text = message.format(n=r.repl_num) if r is not None else message
        results.append({"severity": severity, "error_code": code, "message": text})

    def check_size(r: Replica) -> None:
        try:
            if os.path.getsize(r.path) != r.size:
                msg = "ERROR: Physical size does not match size in catalog for replica [{n}]."
                report("error", E.USER_FILE_SIZE_MISMATCH, msg, r)
        except OSError:
            report("error", E.UNIX_FILE_OPEN_ERR, "ERROR: Could not verify size for replica [{n}].", r)

    def check_sum(r: Replica) -> None:
        if not r.checksum:
            report("warning", E.CAT_NO_CHECKSUM_FOR_REPLICA, "WARNING: No checksum available for replica [{n}].", r)
            return
        try:
            if sha2_of(r.path) != r.checksum:
                msg = "ERROR: Computed checksum does not match what is in the catalog for replica [{n}]."
                report("error", E.USER_CHKSUM_MISMATCH, msg, r)
        except OSError:
            report("error", E.UNIX_FILE_OPEN_ERR, "ERROR: Could not verify checksum for replica [{n}].", r)

    if "replNum" in options or "rescName" in options:
        target = _pick_replica(replicas, options)
        if target is None:
            raise IrodsError(E.SYS_REPLICA_DOES_NOT_EXIST, "no such replica")
        check_size(target)
        check_sum(target)
    else:
        good = [r for r in replicas if r.status == "1"]
        if not good:
            raise IrodsError(E.SYS_NO_GOOD_REPLICA, "no good replica to verify")
        if len(replicas) > len(good):
            report("info", 0, f"INFO: Number of replicas skipped: {len(replicas) - len(good)}")
        for r in good:
            check_size(r)
        if all(r.checksum for r in good):
            for r in good:
                check_sum(r)
            if len({r.checksum for r in good}) > 1:
                report("warning", E.USER_CHKSUM_MISMATCH, "WARNING: Data object has replicas with different checksums.")
        else:
            for r in good:
                if not r.checksum:
                    check_sum(r)  # reports the missing checksum
    if results:  # also one error-stack entry per result, as addRErrorMsg does
        reply = _reply(E.CHECK_VERIFICATION_RESULTS, P.str_pi(json.dumps(results)))
        reply.errors = [(int(str(r["error_code"])), str(r["message"])) for r in results]
        return reply
    return _reply(0)


def api_touch(server: LiteServer, conn: Conn, msg: P.Message) -> Reply:
    request = P.json_body(msg.body)
    path = request.get("logical_path", "")
    opts = request.get("options") or {}
    ts = now_ts(opts.get("seconds_since_epoch"))
    cat = server.cat
    assert conn.user is not None
    if cat.collection(path) is not None:
        with cat.tx() as db:
            db.execute("UPDATE collections SET modify_ts=? WHERE coll_name=?", (ts, path))
        return _reply(0)
    replicas = cat.replicas(path)
    if not replicas:
        if opts.get("no_create"):
            raise IrodsError(E.CAT_UNKNOWN_FILE, f"{path} does not exist")
        reply = _create(server, conn, path, {})
        of = conn.files.pop(reply.int_info)
        of.fh.close()
        _finalize(server, of, {}, good=True, conn=conn)
        return _reply(0)
    cat.require_access(replicas[0].data_id, conn.user, ACCESS_WRITE, path)
    targets = replicas
    if "replica_number" in opts:
        targets = [r for r in replicas if r.repl_num == int(opts["replica_number"])]
    with cat.tx() as db:
        for r in targets:
            db.execute(
                "UPDATE data_objects SET modify_ts=? WHERE data_id=? AND repl_num=?",
                (ts, r.data_id, r.repl_num),
            )
    return _reply(0)


def api_resource_info(server: LiteServer, conn: Conn, msg: P.Message) -> Reply:
    root = P.parse_body(msg.body)
    options = P.kvp(root)
    path = P.text(root, "objPath")
    replicas = server.cat.replicas(path)
    if replicas:
        hier = (_pick_replica(replicas, options) or replicas[0]).resc_hier
    else:
        hier = leaf_for_write(server.cat, options, server.config.default_resource)[1]
    return _reply(0, P.str_pi(json.dumps({"host": server.config.host, "resource_hierarchy": hier})))


def api_create(server: LiteServer, conn: Conn, msg: P.Message) -> Reply:
    """DATA_OBJ_CREATE: open for writing, creating (or truncating) the object."""
    root = P.parse_body(msg.body)
    flags_el = root.find("openFlags")
    if flags_el is not None:
        flags_el.text = str(1 | O_CREAT | O_TRUNC)
    import xml.etree.ElementTree as ET

    return api_open(server, conn, P.Message(msg.type, ET.tostring(root), msg.error, msg.bs, msg.int_info))
