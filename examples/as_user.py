"""Ingest each user's drop folder as that user: <root>/<user>/... is uploaded owned by <user>.

The job runs as a rodsadmin (proxy access); the objects belong to the user named by the first
directory under the root. Registering in place as an ordinary user is refused by iRODS
(PATH_REG_NOT_ALLOWED), so this uploads (PUT). Run it with the parent of the home collections as
the target (`lz-ingest start /drops /tempZone/home --event_handler as_user.py`), so that
/drops/alice/... lands in /tempZone/home/alice/..., a collection alice owns; files directly under
the root are uploaded as the job's own user.
"""

from irods_capability_automated_ingest.core import Core
from irods_capability_automated_ingest.utils import Operation

ZONE = "tempZone"


class event_handler(Core):
    @staticmethod
    def operation(session, meta, **options):
        return Operation.PUT

    @staticmethod
    def as_user(meta, **options):
        parts = meta["path"][len(meta["root"]) :].strip("/").split("/")
        is_file = "size" in meta  # directories' meta has no size
        if not parts[0] or (is_file and len(parts) == 1):
            return None
        return (ZONE, parts[0])
