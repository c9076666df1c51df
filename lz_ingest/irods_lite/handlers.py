"""The API table: iRODS API number -> irods-lite handler. Anything absent answers SYS_UNMATCHED_API_NUM."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import access, admin, copies, dataobj, metadata, namespace

if TYPE_CHECKING:
    from .server import Handler

HANDLERS: dict[int, Handler] = {
    601: dataobj.api_create,
    602: dataobj.api_open,
    615: namespace.api_unlink,
    622: dataobj.api_mod_data_obj_meta,
    627: namespace.api_rename,
    629: dataobj.api_checksum,
    630: dataobj.api_register,
    632: namespace.api_trim,
    652: copies.api_truncate,
    673: dataobj.api_close,
    674: dataobj.api_lseek,
    675: dataobj.api_read,
    676: dataobj.api_write,
    679: namespace.api_coll_remove,
    681: namespace.api_coll_create,
    695: copies.api_replicate,
    696: copies.api_copy,
    701: admin.api_general_admin,
    702: metadata.api_genquery,
    706: metadata.api_mod_avu,
    707: access.api_mod_access_control,
    714: admin.api_user_admin,
    802: copies.api_replica_truncate,
    10220: dataobj.api_resource_info,
    20000: dataobj.api_fd_info,
    20002: metadata.api_atomic_avu,
    20004: dataobj.api_replica_close,
    20007: dataobj.api_touch,
}
