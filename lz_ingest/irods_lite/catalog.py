"""The SQLite catalog: users, resources, collections, data objects with replicas, AVUs and access."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import errors as E
from .errors import IrodsError

SCHEMA = """
CREATE TABLE IF NOT EXISTS ids (next INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    user_id INTEGER PRIMARY KEY, user_name TEXT NOT NULL, zone_name TEXT NOT NULL,
    user_type TEXT NOT NULL, password TEXT NOT NULL DEFAULT '', info TEXT DEFAULT '',
    comment TEXT DEFAULT '', create_ts TEXT, modify_ts TEXT, UNIQUE (user_name, zone_name));
CREATE TABLE IF NOT EXISTS resources (
    resc_id INTEGER PRIMARY KEY, resc_name TEXT NOT NULL UNIQUE, zone_name TEXT NOT NULL,
    resc_type TEXT NOT NULL, resc_class TEXT DEFAULT 'cache', resc_loc TEXT DEFAULT '',
    vault_path TEXT DEFAULT '', free_space TEXT DEFAULT '', free_space_ts TEXT DEFAULT '',
    comment TEXT DEFAULT '', create_ts TEXT, modify_ts TEXT, resc_status TEXT DEFAULT '',
    resc_children TEXT DEFAULT '', resc_context TEXT DEFAULT '', resc_parent TEXT DEFAULT '',
    resc_parent_context TEXT DEFAULT '', info TEXT DEFAULT '');
CREATE TABLE IF NOT EXISTS collections (
    coll_id INTEGER PRIMARY KEY, coll_name TEXT NOT NULL UNIQUE, parent_coll_name TEXT NOT NULL,
    owner_name TEXT NOT NULL, owner_zone TEXT NOT NULL, map_id INTEGER DEFAULT 0,
    inheritance TEXT DEFAULT '', comment TEXT DEFAULT '', create_ts TEXT, modify_ts TEXT);
CREATE INDEX IF NOT EXISTS coll_parent ON collections (parent_coll_name);
CREATE TABLE IF NOT EXISTS data_objects (
    data_id INTEGER NOT NULL, coll_id INTEGER NOT NULL, data_name TEXT NOT NULL,
    repl_num INTEGER NOT NULL, version TEXT DEFAULT '', data_type TEXT DEFAULT 'generic',
    data_size INTEGER NOT NULL DEFAULT 0, resc_id INTEGER NOT NULL, resc_hier TEXT NOT NULL,
    data_path TEXT NOT NULL, owner_name TEXT NOT NULL, owner_zone TEXT NOT NULL,
    repl_status TEXT NOT NULL DEFAULT '1', data_status TEXT DEFAULT '', checksum TEXT DEFAULT '',
    expiry TEXT DEFAULT '00000000000', map_id INTEGER DEFAULT 0, comment TEXT DEFAULT '',
    create_ts TEXT, modify_ts TEXT, access_ts TEXT, mode TEXT DEFAULT '',
    PRIMARY KEY (data_id, repl_num));
CREATE INDEX IF NOT EXISTS data_coll_name ON data_objects (coll_id, data_name);
CREATE TABLE IF NOT EXISTS meta (
    meta_id INTEGER PRIMARY KEY, object_id INTEGER NOT NULL, attr TEXT NOT NULL,
    value TEXT NOT NULL, units TEXT NOT NULL DEFAULT '', create_ts TEXT, modify_ts TEXT);
CREATE INDEX IF NOT EXISTS meta_object ON meta (object_id);
CREATE TABLE IF NOT EXISTS user_groups (
    group_user_id INTEGER NOT NULL, user_id INTEGER NOT NULL, create_ts TEXT, modify_ts TEXT,
    PRIMARY KEY (group_user_id, user_id));
CREATE INDEX IF NOT EXISTS user_groups_user ON user_groups (user_id);
CREATE TABLE IF NOT EXISTS access (
    object_id INTEGER NOT NULL, user_id INTEGER NOT NULL, access_type INTEGER NOT NULL,
    create_ts TEXT, modify_ts TEXT, PRIMARY KEY (object_id, user_id));
CREATE INDEX IF NOT EXISTS access_user ON access (user_id, access_type);
"""

# R_TOKN_MAIN's access_type tokens (icatSysInserts.sql; 4.3 names them with underscores).
ACCESS_TYPES = {
    "null": 1000, "execute": 1010, "read_annotation": 1020, "read_system_metadata": 1030,
    "read_metadata": 1040, "read_object": 1050, "write_annotation": 1060, "create_metadata": 1070,
    "modify_metadata": 1080, "delete_metadata": 1090, "administer_object": 1100, "create_object": 1110,
    "modify_object": 1120, "delete_object": 1130, "create_token": 1140, "delete_token": 1150,
    "curate": 1160, "own": 1200,
}  # fmt: skip
ACCESS_NAMES = {v: k for k, v in ACCESS_TYPES.items()}
ACCESS_OWN = ACCESS_TYPES["own"]
ACCESS_DELETE = ACCESS_TYPES["delete_object"]
ACCESS_WRITE = ACCESS_TYPES["modify_object"]
ACCESS_READ = ACCESS_TYPES["read_object"]
ACCESS_CREATE_METADATA = ACCESS_TYPES["create_metadata"]
ACCESS_MODIFY_METADATA = ACCESS_TYPES["modify_metadata"]
ACCESS_DELETE_METADATA = ACCESS_TYPES["delete_metadata"]


def now_ts(t: float | None = None) -> str:
    """Catalog times are 11-digit zero-padded epoch seconds."""
    return f"{int(time.time() if t is None else t):011d}"


def split_path(path: str) -> tuple[str, str]:
    parent, _, name = path.rstrip("/").rpartition("/")
    return (parent or "/"), name


@dataclass(frozen=True)
class User:
    id: int
    name: str
    zone: str
    type: str

    @property
    def is_admin(self) -> bool:
        return self.type == "rodsadmin"


@dataclass(frozen=True)
class Resource:
    id: int
    name: str
    type: str
    vault: str
    parent: str  # parent resource id as text, "" for a root
    children: tuple[str, ...]


@dataclass(frozen=True)
class Replica:
    data_id: int
    coll_id: int
    name: str
    repl_num: int
    size: int
    resc_id: int
    resc_hier: str
    path: str
    status: str
    checksum: str
    owner: str
    modify_ts: str
    data_type: str


class Catalog:
    """One SQLite database guarded by one lock; irods-lite's threads share it."""

    def __init__(self, db_path: Path, zone: str) -> None:
        self.zone = zone
        self.lock = threading.RLock()
        self._resources: dict[str, Resource] = {}
        self.db = sqlite3.connect(str(db_path), check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        # No fsync at all: a killed irods-lite loses nothing (the OS has the pages), only a host crash
        # could, and the catalog is test/demo state. NORMAL fsyncs at every WAL checkpoint, stalling
        # whichever request holds the catalog lock for 10-40 ms (~1 in 200 writes).
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("PRAGMA case_sensitive_like=ON")
        self.db.executescript(SCHEMA)
        if not self.db.execute("SELECT 1 FROM ids").fetchone():
            self.db.execute("INSERT INTO ids VALUES (10000)")

    def close(self) -> None:
        with self.lock:
            self.db.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; everything inside commits or rolls back together."""
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        with self.lock:
            return self.db.execute(sql, params).fetchall()

    def new_id(self) -> int:
        with self.lock:
            (n,) = self.db.execute("UPDATE ids SET next = next + 1 RETURNING next").fetchone()
            return int(n)

    # ---- users --------------------------------------------------------------------------------

    def ensure_user(self, name: str, password: str, user_type: str) -> None:
        with self.tx() as db:
            row = db.execute("SELECT user_id FROM users WHERE user_name=? AND zone_name=?", (name, self.zone))
            found = row.fetchone()
            if found:
                db.execute(
                    "UPDATE users SET password=?, user_type=? WHERE user_name=? AND zone_name=?",
                    (password, user_type, name, self.zone),
                )
                self._join(db, found[0], found[0])  # catalogs made before groups existed
                return
            self.insert_user(db, name, user_type, password)

    def insert_user(self, db: sqlite3.Connection, name: str, user_type: str, password: str = "") -> int:
        """A user (or group) row and its personal group membership (db_plugin.cpp chlRegUserRE)."""
        ts = now_ts()
        uid = self.new_id()
        db.execute(
            "INSERT INTO users (user_id, user_name, zone_name, user_type, password, create_ts, modify_ts)"
            " VALUES (?,?,?,?,?,?,?)",
            (uid, name, self.zone, user_type, password, ts, ts),
        )
        self._join(db, uid, uid)
        return uid

    @staticmethod
    def _join(db: sqlite3.Connection, group_id: int, user_id: int) -> None:
        ts = now_ts()
        db.execute("INSERT OR IGNORE INTO user_groups VALUES (?,?,?,?)", (group_id, user_id, ts, ts))

    def add_member(self, group: User, user: User) -> None:
        with self.tx() as db:
            self._join(db, group.id, user.id)

    def is_member(self, group: User, user: User) -> bool:
        return bool(self.query("SELECT 1 FROM user_groups WHERE group_user_id=? AND user_id=?", (group.id, user.id)))

    def remove_member(self, group: User, user: User) -> None:
        with self.tx() as db:
            db.execute("DELETE FROM user_groups WHERE group_user_id=? AND user_id=?", (group.id, user.id))

    def group_ids(self, user: User) -> list[int]:
        """The user's own id and those of the groups it belongs to (what access rows may name)."""
        return [r[0] for r in self.query("SELECT group_user_id FROM user_groups WHERE user_id=?", (user.id,))]

    def user(self, name: str, zone: str | None = None) -> User | None:
        rows = self.query(
            "SELECT user_id, user_name, zone_name, user_type FROM users WHERE user_name=? AND zone_name=?",
            (name, zone or self.zone),
        )
        return User(*rows[0]) if rows else None

    def password(self, name: str, zone: str) -> str | None:
        rows = self.query("SELECT password FROM users WHERE user_name=? AND zone_name=?", (name, zone))
        return rows[0][0] if rows else None

    # ---- resources ----------------------------------------------------------------------------

    def ensure_resource(self, name: str, rtype: str, vault: str, parent: str | None) -> None:
        with self.tx() as db:
            self._resources.clear()
            if db.execute("SELECT 1 FROM resources WHERE resc_name=?", (name,)).fetchone():
                return
            parent_id = ""
            if parent:
                prow = db.execute("SELECT resc_id FROM resources WHERE resc_name=?", (parent,)).fetchone()
                if not prow:
                    raise IrodsError(E.SYS_RESC_DOES_NOT_EXIST, f"parent resource {parent} does not exist")
                parent_id = str(prow[0])
            ts = now_ts()
            db.execute(
                "INSERT INTO resources (resc_id, resc_name, zone_name, resc_type, resc_loc, vault_path,"
                " resc_parent, create_ts, modify_ts) VALUES (?,?,?,?,?,?,?,?,?)",
                (self.new_id(), name, self.zone, rtype, "localhost", vault, parent_id, ts, ts),
            )
            if parent:
                kids = db.execute("SELECT resc_children FROM resources WHERE resc_name=?", (parent,)).fetchone()
                joined = ";".join(filter(None, [kids[0], name]))
                db.execute("UPDATE resources SET resc_children=? WHERE resc_name=?", (joined, parent))

    def set_parent(self, child: str, parent: str | None) -> None:
        """Attach a resource under a parent (None: detach), and re-derive the stored hierarchies of the
        replicas below it (a real catalog derives them from resc_parent on every query)."""
        with self.tx() as db:
            self._resources.clear()
            old = db.execute("SELECT resc_parent FROM resources WHERE resc_name=?", (child,)).fetchone()[0]
            if old:
                kids = db.execute("SELECT resc_children FROM resources WHERE resc_id=?", (int(old),)).fetchone()[0]
                rest = ";".join(k for k in kids.split(";") if k and k != child)
                db.execute("UPDATE resources SET resc_children=? WHERE resc_id=?", (rest, int(old)))
            parent_id = ""
            if parent:
                pid, kids = db.execute(
                    "SELECT resc_id, resc_children FROM resources WHERE resc_name=?", (parent,)
                ).fetchone()
                parent_id = str(pid)
                joined = ";".join(filter(None, [kids, child]))
                db.execute("UPDATE resources SET resc_children=? WHERE resc_id=?", (joined, pid))
            db.execute(
                "UPDATE resources SET resc_parent=?, modify_ts=? WHERE resc_name=?", (parent_id, now_ts(), child)
            )
            self._resources.clear()
            for rid in self._subtree_resource_ids(child):
                leaf = self.resource_by_id(rid)
                if leaf is not None:
                    db.execute("UPDATE data_objects SET resc_hier=? WHERE resc_id=?", (self.hierarchy_of(leaf), rid))

    def _subtree_resource_ids(self, name: str) -> list[int]:
        resc = self.resource(name)
        if resc is None:
            return []
        return [resc.id] + [rid for kid in resc.children for rid in self._subtree_resource_ids(kid)]

    def remove_resource(self, name: str) -> None:
        with self.tx() as db:
            self._resources.clear()
            db.execute("DELETE FROM resources WHERE resc_name=?", (name,))

    def update_resource(self, name: str, column: str, value: str) -> None:
        with self.tx() as db:
            self._resources.clear()
            db.execute(f"UPDATE resources SET {column}=?, modify_ts=? WHERE resc_name=?", (value, now_ts(), name))

    def resource(self, name: str) -> Resource | None:
        """By name, cached: resources change only through ensure_resource, which empties the cache."""
        with self.lock:
            found = self._resources.get(name)
            if found is None:
                found = self._load_resource(name)
                if found is not None:
                    self._resources[name] = found
            return found

    def _load_resource(self, name: str) -> Resource | None:
        rows = self.query(
            "SELECT resc_id, resc_name, resc_type, vault_path, resc_parent, resc_children"
            " FROM resources WHERE resc_name=?",
            (name,),
        )
        if not rows:
            return None
        rid, rname, rtype, vault, parent, kids = rows[0]
        return Resource(rid, rname, rtype, vault, parent or "", tuple(k for k in kids.split(";") if k))

    def resource_by_id(self, rid: int) -> Resource | None:
        rows = self.query("SELECT resc_name FROM resources WHERE resc_id=?", (rid,))
        return self.resource(rows[0][0]) if rows else None

    def hierarchy_of(self, leaf: Resource) -> str:
        names = [leaf.name]
        current = leaf
        while current.parent:
            parent = self.resource_by_id(int(current.parent))
            if parent is None:
                break
            names.append(parent.name)
            current = parent
        return ";".join(reversed(names))

    # ---- collections --------------------------------------------------------------------------

    def collection(self, name: str) -> tuple[int, str] | None:
        rows = self.query("SELECT coll_id, owner_name FROM collections WHERE coll_name=?", (name,))
        return (rows[0][0], rows[0][1]) if rows else None

    def insert_collection(self, db: sqlite3.Connection, name: str, owner: User) -> int:
        """A collection owned by `owner`; under a parent with inheritance on, it also takes the parent's ACLs
        and its inheritance (db_plugin.cpp chlRegColl)."""
        parent, _ = split_path(name)
        cid = self.new_id()
        ts = now_ts()
        row = db.execute("SELECT coll_id, inheritance FROM collections WHERE coll_name=?", (parent,)).fetchone()
        inherit = name != "/" and row is not None and row[1] == "1"
        db.execute(
            "INSERT INTO collections (coll_id, coll_name, parent_coll_name, owner_name, owner_zone,"
            " inheritance, create_ts, modify_ts) VALUES (?,?,?,?,?,?,?,?)",
            (cid, name, parent if name != "/" else "/", owner.name, owner.zone, "1" if inherit else "", ts, ts),
        )
        if inherit:
            self.inherit_access(db, row[0], cid)
        db.execute("INSERT OR REPLACE INTO access VALUES (?,?,?,?,?)", (cid, owner.id, ACCESS_OWN, ts, ts))
        return cid

    @staticmethod
    def inherit_access(db: sqlite3.Connection, coll_id: int, object_id: int) -> None:
        """Copy a collection's ACLs onto a new object or subcollection (its owner's row is set after)."""
        ts = now_ts()
        db.execute(
            "INSERT OR REPLACE INTO access SELECT ?, user_id, access_type, ?, ? FROM access WHERE object_id=?",
            (object_id, ts, ts, coll_id),
        )

    def inherits(self, coll_id: int) -> bool:
        rows = self.query("SELECT inheritance FROM collections WHERE coll_id=?", (coll_id,))
        return bool(rows) and rows[0][0] == "1"

    def ensure_collection_tree(self, name: str, owner: User) -> None:
        """Create name and its missing ancestors (used for bootstrap)."""
        with self.tx() as db:
            parts = [p for p in name.split("/") if p]
            path = ""
            for p in ["/"] + parts:
                path = "/" if p == "/" else f"{path.rstrip('/')}/{p}"
                if not db.execute("SELECT 1 FROM collections WHERE coll_name=?", (path,)).fetchone():
                    self.insert_collection(db, path, owner)

    def grant(self, object_id: int, user: User, access_type: int) -> None:
        ts = now_ts()
        with self.tx() as db:
            db.execute("INSERT OR REPLACE INTO access VALUES (?,?,?,?,?)", (object_id, user.id, access_type, ts, ts))

    def access_level(self, object_id: int, user: User) -> int:
        """The user's best access to an object, its own or through a group (R_USER_GROUP x R_OBJT_ACCESS)."""
        rows = self.query(
            "SELECT MAX(a.access_type) FROM access a JOIN user_groups g ON g.group_user_id = a.user_id"
            " WHERE a.object_id=? AND g.user_id=?",
            (object_id, user.id),
        )
        return rows[0][0] or 0 if rows else 0

    def require_access(self, object_id: int, user: User, level: int, what: str) -> None:
        """Non-admin client users need `level`; irods-lite lets a rodsadmin through (see the README)."""
        if user.is_admin or self.access_level(object_id, user) >= level:
            return
        raise IrodsError(E.CAT_NO_ACCESS_PERMISSION, f"{user.name} may not access {what}")

    # ---- data objects -------------------------------------------------------------------------

    _REPLICA_COLS = (
        "d.data_id, d.coll_id, d.data_name, d.repl_num, d.data_size, d.resc_id, d.resc_hier, d.data_path,"
        " d.repl_status, d.checksum, d.owner_name, d.modify_ts, d.data_type"
    )

    def replicas(self, logical_path: str) -> list[Replica]:
        parent, name = split_path(logical_path)
        rows = self.query(
            f"SELECT {self._REPLICA_COLS} FROM data_objects d JOIN collections c ON d.coll_id = c.coll_id"
            " WHERE c.coll_name=? AND d.data_name=? ORDER BY repl_num",
            (parent, name),
        )
        return [Replica(*r) for r in rows]

    def replicas_by_id(self, data_id: int) -> list[Replica]:
        rows = self.query(
            f"SELECT {self._REPLICA_COLS} FROM data_objects d WHERE data_id=? ORDER BY repl_num", (data_id,)
        )
        return [Replica(*r) for r in rows]

    def vault_path(self, leaf: Resource, logical_path: str) -> str:
        """Where a new replica's bytes go: the leaf's vault plus the logical path below the zone."""
        relative = logical_path.split("/", 2)[2] if logical_path.count("/") >= 2 else logical_path
        return os.path.join(leaf.vault, relative)
