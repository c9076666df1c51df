"""Resource administration through GENERAL_ADMIN (701): add / remove resources and children, modify them.

As rsGeneralAdmin.cpp _addResource / _removeResource / _addChildToResource / _removeChildFromResource
and db_plugin.cpp chlRegResc / chlDelResc / chlAddChildResc / chlDelChildResc do, for the resource types
irods-lite implements (a unixfilesystem leaf keeps its bytes in the vault path it is given).
"""

from __future__ import annotations

import os

from . import errors as E
from .catalog import Catalog, Resource
from .config import LEAF_TYPE, RESOURCE_TYPES
from .errors import IrodsError
from .s3_resource import S3_TYPE

# modify resource NAME ATTRIBUTE VALUE -> column (iadmin modresc)
_MODIFIABLE = {
    "comment": "comment",
    "info": "info",
    "context": "resc_context",
    "status": "resc_status",
    "freespace": "free_space",
    "free_space": "free_space",
    "host": "resc_loc",
    "path": "vault_path",
}


def _existing(cat: Catalog, name: str) -> Resource:
    resc = cat.resource(name)
    if resc is None:
        raise IrodsError(E.SYS_RESC_DOES_NOT_EXIST, f"resource {name} does not exist")
    return resc


def _has_replicas(cat: Catalog, resc: Resource) -> bool:
    return bool(cat.query("SELECT 1 FROM data_objects WHERE resc_id=? LIMIT 1", (resc.id,)))


def add_resource(cat: Catalog, args: list[str]) -> None:
    """add resource NAME TYPE HOST:PATH CONTEXT ZONE."""
    name, rtype, location, context = args[2], args[3], args[4], args[5]
    if not name:
        raise IrodsError(E.CAT_INVALID_RESOURCE_NAME, "a resource needs a name")
    if rtype not in RESOURCE_TYPES:
        raise IrodsError(E.CAT_INVALID_RESOURCE_TYPE, f"irods-lite implements no resource type {rtype!r}")
    if cat.resource(name) is not None:
        raise IrodsError(E.CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME, f"resource {name} already exists")
    host, _, vault = location.partition(":")
    if rtype == LEAF_TYPE:
        if not vault.startswith("/"):
            raise IrodsError(E.SYS_INVALID_RESC_INPUT, f"resource {name}: vault path {vault!r} is not absolute")
        try:
            os.makedirs(vault, exist_ok=True)
        except OSError as exc:
            raise IrodsError(E.SYS_INVALID_RESC_INPUT, f"resource {name}: vault {vault}: {exc.strerror}") from None
    elif rtype == S3_TYPE:  # its vault is the /bucket/prefix its objects are read from
        if not vault.startswith("/"):
            raise IrodsError(E.SYS_INVALID_RESC_INPUT, f"resource {name}: {vault!r} is not /bucket/prefix")
    else:
        vault = ""
    cat.ensure_resource(name, rtype, vault, None)
    cat.update_resource(name, "resc_loc", host or "localhost")
    if context:
        cat.update_resource(name, "resc_context", context)


def remove_resource(cat: Catalog, args: list[str], default: str) -> None:
    """rm resource NAME [--dryrun]: refused while it holds replicas or children, or is the default."""
    resc = _existing(cat, args[2])
    if resc.name == default:
        raise IrodsError(E.SYS_NOT_ALLOWED, f"{resc.name} is irods-lite's default resource")
    if resc.children or _has_replicas(cat, resc):
        raise IrodsError(E.CAT_RESOURCE_NOT_EMPTY, f"resource {resc.name} is not empty")
    if args[3] == "--dryrun":
        return
    if resc.parent:
        cat.set_parent(resc.name, None)
    cat.remove_resource(resc.name)


def add_child(cat: Catalog, args: list[str]) -> None:
    """add childtoresc PARENT CHILD [CONTEXT]."""
    parent, child = _existing(cat, args[2]), _existing(cat, args[3])
    if child.parent:
        raise IrodsError(E.CAT_INVALID_CHILD, f"{child.name} already has a parent")
    if parent.type == LEAF_TYPE:
        raise IrodsError(E.CAT_INVALID_CHILD, f"{parent.name} is a leaf (unixfilesystem)")
    ancestor: Resource | None = parent
    while ancestor is not None:  # no cycles
        if ancestor.id == child.id:
            raise IrodsError(E.CAT_INVALID_CHILD, f"{child.name} is an ancestor of {parent.name}")
        ancestor = cat.resource_by_id(int(ancestor.parent)) if ancestor.parent else None
    cat.set_parent(child.name, parent.name)


def remove_child(cat: Catalog, args: list[str]) -> None:
    """rm childfromresc PARENT CHILD."""
    parent, child = _existing(cat, args[2]), _existing(cat, args[3])
    if child.parent != str(parent.id):
        raise IrodsError(E.CAT_INVALID_CHILD, f"{child.name} is not a child of {parent.name}")
    cat.set_parent(child.name, None)


def modify_resource(cat: Catalog, args: list[str]) -> None:
    resc = _existing(cat, args[2])
    column = _MODIFIABLE.get(args[3])
    if column is None:
        raise IrodsError(E.CAT_INVALID_ARGUMENT, f"irods-lite cannot modify a resource's {args[3]!r}")
    cat.update_resource(resc.name, column, args[4])
