"""User and group administration: GENERAL_ADMIN (701) and USER_ADMIN (714), as a 4.3 server does them.

rsGeneralAdmin.cpp dispatches on arg0 / arg1; the catalog work is db_plugin.cpp's (chlRegUserRE,
chlDelUserRE, chlModUser, chlModGroup) and core.re's acCreateUser / acDeleteUser, which create and
remove the home and trash collections and put a new user in the `public` group.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from . import errors as E
from . import protocol as P
from . import resource_admin
from .catalog import Catalog, User, now_ts
from .errors import IrodsError
from .obf import PasswordEncodingError, new_password

if TYPE_CHECKING:
    from .server import Conn, LiteServer, Reply

log = logging.getLogger("irods_lite")

USER_TYPES = ("rodsuser", "rodsadmin", "groupadmin", "rodsgroup")
PUBLIC_GROUP = "public"
_NAME = re.compile(r"^[\w.@-]+$")  # irods::user::validate_name's character set
_RESOURCE_ACTIONS = {
    ("add", "resource"),
    ("rm", "resource"),
    ("add", "childtoresc"),
    ("rm", "childfromresc"),
    ("modify", "resource"),
}
_USER_FIELDS = {"comment": "comment", "info": "info"}


def _reply(int_info: int = 0) -> Reply:
    from .server import Reply

    return Reply(int_info)


def _require_admin(conn: Conn) -> None:
    """db_plugin.cpp: both the client and the proxy user need LOCAL_PRIV_USER_AUTH (rodsadmin)."""
    if conn.user is None or conn.proxy is None or not (conn.user.is_admin and conn.proxy.is_admin):
        raise IrodsError(E.CAT_INSUFFICIENT_PRIVILEGE_LEVEL, "insufficient privilege level")


def _split_name(text: str, zone_arg: str, local_zone: str) -> str:
    """irods::user::validate_name plus the zone rules of create_user / remove_user; returns the name."""
    name, _, zone = text.partition("#")
    if not name or not _NAME.match(name) or "#" in zone:
        raise IrodsError(E.USER_INVALID_USERNAME_FORMAT, f"invalid user name {text!r}")
    if zone and zone_arg and zone != zone_arg:
        raise IrodsError(E.CAT_INVALID_ZONE, f"zones {zone!r} and {zone_arg!r} differ")
    if (zone or zone_arg or local_zone) != local_zone:
        raise IrodsError(E.CAT_INVALID_ZONE, f"zone {zone or zone_arg} is not known to irods-lite")
    return name


def _existing(cat: Catalog, name: str, code: int = E.CAT_INVALID_USER) -> User:
    user = cat.user(name)
    if user is None:
        raise IrodsError(code, f"{name} does not exist")
    return user


def ensure_public_group(cat: Catalog, members: list[str]) -> None:
    """The `public` group every zone has, with the configured users in it."""
    if cat.user(PUBLIC_GROUP) is None:
        with cat.tx() as db:
            cat.insert_user(db, PUBLIC_GROUP, "rodsgroup")
    public = cat.user(PUBLIC_GROUP)
    assert public is not None
    for name in members:
        user = cat.user(name)
        if user is not None and user.type != "rodsgroup":
            cat.add_member(public, user)


def create_user(server: LiteServer, name: str, user_type: str) -> User:
    """acCreateUser: the user, its home and trash collections, and (not for a group) `public` membership."""
    cat, zone = server.cat, server.config.zone
    if user_type not in USER_TYPES:
        raise IrodsError(E.CAT_INVALID_USER_TYPE, f"invalid user type {user_type!r}")
    if cat.user(name) is not None:
        raise IrodsError(E.CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME, f"{name} already exists")
    for base in (f"/{zone}/home/{name}", f"/{zone}/trash/home/{name}"):
        if cat.collection(base) is not None or cat.replicas(base):
            raise IrodsError(E.CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME, f"{base} already exists")
    with cat.tx() as db:
        cat.insert_user(db, name, user_type)
        user = cat.user(name)
        assert user is not None
        for base in (f"/{zone}/home/{name}", f"/{zone}/trash/home/{name}"):
            cat.insert_collection(db, base, user)
    public = cat.user(PUBLIC_GROUP)
    if user_type != "rodsgroup" and public is not None:
        cat.add_member(public, user)
    return user


def remove_user(server: LiteServer, conn: Conn, user: User) -> None:
    """acDeleteUser: its (empty) home and trash collections, then the user, memberships and access rows."""
    cat, zone = server.cat, server.config.zone
    if conn.user is not None and conn.proxy is not None and user.id in (conn.user.id, conn.proxy.id):
        raise IrodsError(E.SYS_NOT_ALLOWED, "cannot remove currently authenticated client or proxy user")
    homes = [f"/{zone}/home/{user.name}", f"/{zone}/trash/home/{user.name}"]
    ids = [found[0] for found in map(cat.collection, homes) if found is not None]
    for cid, path in zip(ids, homes, strict=False):
        children = cat.query("SELECT 1 FROM collections WHERE parent_coll_name=? LIMIT 1", (path,))
        if children or cat.query("SELECT 1 FROM data_objects WHERE coll_id=? LIMIT 1", (cid,)):
            raise IrodsError(E.CAT_COLLECTION_NOT_EMPTY, f"{path} is not empty")
    with cat.tx() as db:
        for cid in ids:
            db.execute("DELETE FROM collections WHERE coll_id=?", (cid,))
            db.execute("DELETE FROM access WHERE object_id=?", (cid,))
            db.execute("DELETE FROM meta WHERE object_id=?", (cid,))
        db.execute("DELETE FROM users WHERE user_id=?", (user.id,))
        db.execute("DELETE FROM user_groups WHERE user_id=? OR group_user_id=?", (user.id, user.id))
        db.execute("DELETE FROM access WHERE user_id=?", (user.id,))
        db.execute("DELETE FROM meta WHERE object_id=?", (user.id,))


def _set_password(server: LiteServer, conn: Conn, user: User, obfuscated: str) -> None:
    """db_plugin.cpp decodePw: de-obfuscated with the client user's password and the session signature."""
    assert conn.user is not None
    if user.type == "rodsgroup":
        raise IrodsError(E.CAT_INVALID_USER_TYPE, "a group has no password")
    key = server.cat.password(conn.user.name, conn.user.zone) or ""
    try:
        password = new_password(obfuscated, key, conn.challenge[:16].hex())
    except PasswordEncodingError as exc:
        raise IrodsError(E.PASSWORD_EXCEEDS_MAX_SIZE, str(exc)) from None
    with server.cat.tx() as db:
        db.execute("UPDATE users SET password=?, modify_ts=? WHERE user_id=?", (password, now_ts(), user.id))


def _modify_user(server: LiteServer, conn: Conn, args: list[str]) -> None:
    cat = server.cat
    user = _existing(cat, _split_name(args[2], "", server.config.zone))
    option, value = args[3], args[4]
    if option == "password":
        _set_password(server, conn, user, value)
        return
    if option == "type":
        if value not in USER_TYPES:
            raise IrodsError(E.CAT_INVALID_USER_TYPE, f"invalid user type {value!r}")
        if (value == "rodsgroup") != (user.type == "rodsgroup"):
            raise IrodsError(E.SYS_NOT_ALLOWED, "a user cannot become a group, nor a group a user")
        column = "user_type"
    elif option in _USER_FIELDS:
        column = _USER_FIELDS[option]
    else:
        raise IrodsError(E.CAT_INVALID_ARGUMENT, f"irods-lite cannot modify a user's {option!r}")
    with cat.tx() as db:
        db.execute(f"UPDATE users SET {column}=?, modify_ts=? WHERE user_id=?", (value, now_ts(), user.id))


def _modify_group(server: LiteServer, args: list[str]) -> None:
    """chlModGroup: add or remove a member."""
    cat = server.cat
    group = cat.user(args[2])
    if group is None or group.type != "rodsgroup":
        raise IrodsError(E.CAT_INVALID_GROUP, f"{args[2]} is not a group")
    member = _existing(cat, _split_name(args[4], args[5], server.config.zone))
    if args[3] == "add":
        if cat.is_member(group, member):
            raise IrodsError(E.CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME, f"{member.name} is in {group.name} already")
        cat.add_member(group, member)
    elif args[3] == "remove":
        cat.remove_member(group, member)
    else:
        raise IrodsError(E.CAT_INVALID_ARGUMENT, f"unknown group option {args[3]!r}")


def api_general_admin(server: LiteServer, conn: Conn, msg: P.Message) -> Reply:
    root = P.parse_body(msg.body)
    args = [P.text(root, f"arg{i}") for i in range(10)]
    _require_admin(conn)
    zone = server.config.zone
    action, what = args[0], args[1]
    if action == "add" and what in ("user", "group"):
        user_type = "rodsgroup" if what == "group" else args[3]
        create_user(server, _split_name(args[2], args[4], zone), user_type)
    elif action == "rm" and what in ("user", "group"):
        code = E.CAT_INVALID_GROUP if what == "group" else E.CAT_INVALID_USER
        remove_user(server, conn, _existing(server.cat, _split_name(args[2], args[3], zone), code))
    elif action == "modify" and what == "user":
        _modify_user(server, conn, args)
    elif action == "modify" and what == "group":
        _modify_group(server, args)
    elif (action, what) in _RESOURCE_ACTIONS:
        _resources(server, args)
    elif action == "rm" and what == "unusedAVUs":
        pass  # irods-lite keeps each AVU with its object: none is ever left unused
    else:
        log.warning("irods-lite: GENERAL_ADMIN %s %s is not implemented", action, what)
        raise IrodsError(E.SYS_NOT_SUPPORTED, f"GENERAL_ADMIN {action} {what}")
    return _reply(0)


def _resources(server: LiteServer, args: list[str]) -> None:
    cat = server.cat
    action = (args[0], args[1])
    if action == ("add", "resource"):
        resource_admin.add_resource(cat, args)
    elif action == ("rm", "resource"):
        resource_admin.remove_resource(cat, args, server.config.default_resource)
    elif action == ("add", "childtoresc"):
        resource_admin.add_child(cat, args)
    elif action == ("rm", "childfromresc"):
        resource_admin.remove_child(cat, args)
    else:
        resource_admin.modify_resource(cat, args)


def api_user_admin(server: LiteServer, conn: Conn, msg: P.Message) -> Reply:
    """USER_ADMIN (714): what a user may do to itself (`userpw`, ipasswd); group-admin operations are not kept."""
    root = P.parse_body(msg.body)
    args = [P.text(root, f"arg{i}") for i in range(10)]
    assert conn.user is not None
    if args[0] == "userpw" and args[2] == "password":
        if args[1] != conn.user.name:  # rsUserAdmin.cpp: only one's own password
            raise IrodsError(E.CAT_INSUFFICIENT_PRIVILEGE_LEVEL, "a user may change only its own password")
        _set_password(server, conn, conn.user, args[3])
        return _reply(0)
    raise IrodsError(E.CAT_INSUFFICIENT_PRIVILEGE_LEVEL, f"USER_ADMIN {args[0]} needs a group administrator")
