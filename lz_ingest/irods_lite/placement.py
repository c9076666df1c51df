"""Where replicas go: resolving a requested resource to a leaf and its hierarchy, as a 4.3 server does."""

from __future__ import annotations

import random

from . import errors as E
from .catalog import Catalog, Resource
from .errors import IrodsError
from .s3_resource import S3_TYPE


def requested_resource(options: dict[str, str], default: str) -> str:
    return options.get("destRescName") or options.get("rescName") or options.get("defRescName") or default


def _descend(cat: Catalog, resc: Resource) -> Resource:
    """From a coordinating resource down to one leaf (random choice among children)."""
    current = resc
    while current.children:
        child = cat.resource(random.choice(current.children))
        if child is None:
            raise IrodsError(E.SYS_RESC_DOES_NOT_EXIST, f"child of {current.name} is missing")
        current = child
    if current.type not in ("unixfilesystem", S3_TYPE):
        raise IrodsError(E.SYS_INVALID_RESC_INPUT, f"resource {current.name} has no storage")
    return current


def _from_hierarchy(cat: Catalog, hier: str) -> Resource:
    names = hier.split(";")
    previous: Resource | None = None
    for name in names:
        resc = cat.resource(name)
        if resc is None:
            raise IrodsError(E.SYS_RESC_DOES_NOT_EXIST, f"resource {name} does not exist")
        if previous is None and resc.parent:
            raise IrodsError(E.HIERARCHY_ERROR, f"{hier} does not start at a root resource")
        if previous is not None and resc.parent != str(previous.id):
            raise IrodsError(E.HIERARCHY_ERROR, f"{name} is not a child of {previous.name}")
        previous = resc
    assert previous is not None
    if previous.children:
        raise IrodsError(E.HIERARCHY_ERROR, f"{hier} does not end at a leaf resource")
    return previous


def _requested(cat: Catalog, options: dict[str, str], default: str) -> tuple[Resource, str] | Resource:
    """An explicit full hierarchy as (leaf, hierarchy), else the named (or default) resource."""
    if options.get("resc_hier"):
        return _from_hierarchy(cat, options["resc_hier"]), options["resc_hier"]
    name = requested_resource(options, default)
    resc = cat.resource(name)
    if resc is None:
        raise IrodsError(E.SYS_RESC_DOES_NOT_EXIST, f"resource {name} does not exist")
    return resc


def leaf_for_write(cat: Catalog, options: dict[str, str], default: str) -> tuple[Resource, str]:
    """open / put / create: a root (or an explicit full hierarchy) only; a leaf or middle is refused."""
    resc = _requested(cat, options, default)
    if isinstance(resc, tuple):
        return resc
    if resc.parent:
        raise IrodsError(E.DIRECT_CHILD_ACCESS, f"{resc.name} is not a root resource")
    leaf = _descend(cat, resc)
    return leaf, cat.hierarchy_of(leaf)


def leaf_for_register(cat: Catalog, options: dict[str, str], default: str) -> tuple[Resource, str]:
    """register: a root, a full hierarchy, or a leaf (resolved up to its root); a middle is refused."""
    resc = _requested(cat, options, default)
    if isinstance(resc, tuple):
        return resc
    if resc.parent and resc.children:
        raise IrodsError(E.HIERARCHY_ERROR, f"{resc.name} is neither a root nor a leaf resource")
    leaf = resc if not resc.children else _descend(cat, resc)
    return leaf, cat.hierarchy_of(leaf)


def matches(replica_hier: str, requested: str) -> bool:
    """Whether a replica's hierarchy is the requested resource: its root, its leaf or the whole of it."""
    parts = replica_hier.split(";")
    return requested in (parts[0], parts[-1], replica_hier)
