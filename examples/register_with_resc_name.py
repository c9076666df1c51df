"""REGISTER_SYNC in place onto a chosen resource (its host must see the landing zone's paths)."""

from irods_capability_automated_ingest.core import Core
from irods_capability_automated_ingest.utils import Operation

RESOURCE = "demoResc"  # a root resource, a leaf, or a "root;...;leaf" hierarchy


class event_handler(Core):
    @staticmethod
    def operation(session, meta, **options):
        return Operation.REGISTER_SYNC

    @staticmethod
    def to_resource(session, meta, **options):
        return RESOURCE
