"""How many data objects a collection tree holds: the measure behind the delete phase's safety limit."""

from __future__ import annotations

from irods.column import Like
from irods.models import Collection, DataObject
from irods.session import iRODSSession

from lz_ingest.irods.retry import with_retries


def count_objects(session: iRODSSession, coll_path: str) -> int:
    """Replicas in the collection and everything below it (two aggregate queries).

    `%` and `_` in the name act as wildcards in LIKE, so a name containing them may count a few
    neighbours too: the count errs on the high side, which only makes the safety limit stricter.
    """
    path = coll_path.rstrip("/") or "/"

    def count() -> int:
        here = session.query(DataObject.id).filter(Collection.name == path).count(DataObject.id).one()
        below = session.query(DataObject.id).filter(Like(Collection.name, f"{path}/%")).count(DataObject.id).one()
        return int(here[DataObject.id] or 0) + int(below[DataObject.id] or 0)

    return with_retries(count, f"count objects under {path}", reconnect=session.cleanup)
