"""PUT with characters that are awkward in iRODS names (spaces, #, ?, &) mapped to '_'.

A suffix encoding what was replaced keeps two names that map alike distinct, and the AVU
irods::automated_ingest::character_map records each object's original name.
"""

from irods_capability_automated_ingest.core import Core
from irods_capability_automated_ingest.utils import Operation


class event_handler(Core):
    @staticmethod
    def operation(session, meta, **options):
        return Operation.PUT

    @staticmethod
    def character_map():
        return {(" ", "#", "?", "&"): "_"}
