"""Register files that the iRODS server sees under another mount point than the scanner does.

The scanner reads /mnt/instrument/...; the server's resource host mounts the same storage at
/data/instrument/...: the replica must record the server's path, or iRODS cannot read it.
"""

from irods_capability_automated_ingest.core import Core
from irods_capability_automated_ingest.utils import Operation

SCANNER_ROOT = "/mnt/instrument"
SERVER_ROOT = "/data/instrument"


class event_handler(Core):
    @staticmethod
    def operation(session, meta, **options):
        return Operation.REGISTER_SYNC

    @staticmethod
    def target_path(session, meta, **options):
        path = meta["path"]
        if path == SCANNER_ROOT or path.startswith(SCANNER_ROOT + "/"):
            return SERVER_ROOT + path[len(SCANNER_ROOT) :]
        return path
