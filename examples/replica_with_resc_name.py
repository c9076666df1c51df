"""REGISTER_AS_REPLICA_SYNC: the files already live in the zone; record this copy as a replica on RESOURCE.

Run it after the objects exist (for example after a PUT of the same tree): each file becomes a
further replica on RESOURCE, registered in place; a changed file updates that replica only.
"""

from irods_capability_automated_ingest.core import Core
from irods_capability_automated_ingest.utils import Operation

RESOURCE = "secondResc"


class event_handler(Core):
    @staticmethod
    def operation(session, meta, **options):
        return Operation.REGISTER_AS_REPLICA_SYNC

    @staticmethod
    def to_resource(session, meta, **options):
        return RESOURCE
