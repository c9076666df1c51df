"""The catalog adapter's public API: the only calls lz-ingest makes to iRODS (each retries lost connections)."""

from __future__ import annotations

from lz_ingest.irods.listing import Listing, collection_exists, list_collection, list_collections
from lz_ingest.irods.transfer import AppendOutcome, append, upload
from lz_ingest.irods.writes import (
    add_avus,
    compute_checksum,
    create_collection,
    delete_collection,
    delete_object,
    ensure_collection,
    register,
    register_replica,
    rename_collection,
    rename_object,
    replicas_below,
    set_avus,
    set_physical_path,
    update_registered,
)
from lz_ingest.model import CatalogObject, Replica

__all__ = [
    "AppendOutcome",
    "CatalogObject",
    "Listing",
    "Replica",
    "add_avus",
    "append",
    "collection_exists",
    "compute_checksum",
    "create_collection",
    "delete_collection",
    "delete_object",
    "ensure_collection",
    "list_collection",
    "list_collections",
    "register",
    "register_replica",
    "rename_collection",
    "rename_object",
    "replicas_below",
    "set_avus",
    "set_physical_path",
    "update_registered",
    "upload",
]
