"""PUT_APPEND: for files that only grow (instrument logs), upload just the bytes past what the zone holds.

A source that was truncated or rewritten instead is uploaded whole, never spliced.
"""

from irods_capability_automated_ingest.core import Core
from irods_capability_automated_ingest.utils import Operation


class event_handler(Core):
    @staticmethod
    def operation(session, meta, **options):
        return Operation.PUT_APPEND
