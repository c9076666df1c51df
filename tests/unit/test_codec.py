"""Task arguments: the versioned JSON payloads, and what the previous release queued."""

from __future__ import annotations

import json
import pickle

import pytest

from lz_ingest.model import CatalogObject, Entry, EntryKind, Replica
from lz_ingest.naming import Avu
from lz_ingest.plan import COLLECTION
from lz_ingest.tasks import codec
from lz_ingest.tasks.scan import SyncItem

REPLICA = Replica(0, "root;leaf", "/vault/a", 5, 1700000000, "1", "sha2:abc")
ITEMS = [
    SyncItem(Entry("/src/a", EntryKind.REGULAR, 5, 1700000000.25, 1700000001.5), "/z/a", None, ()),
    SyncItem(
        Entry("/src/l\udcff", EntryKind.LINK, 3, 1.0, 2.0, link_target="/src/t", etag=None),
        "/z/l_",
        CatalogObject("/z/l_", (REPLICA, REPLICA._replace(number=1, checksum=""))),
        (Avu("irods::automated_ingest::original_filename", "l\udcff", "ingest"),),
    ),
    SyncItem(Entry("/src/d", EntryKind.REGULAR, 0, 0.0), "/z/d", COLLECTION, ()),
]


def test_a_sync_batch_round_trips_through_plain_json_text() -> None:
    payload = codec.encode_sync(ITEMS)
    assert isinstance(payload, str) and payload.isascii()  # non-UTF-8 bytes travel as JSON escapes
    assert json.loads(payload)["v"] == codec.FORMAT
    assert codec.decode_sync(payload) == ITEMS


def test_a_frontier_and_deletes_round_trip() -> None:
    frontier = [("/src", None, "unknown"), ("/src/d\udcfe", ((64769, 12), (64769, 13)), "exists")]
    assert codec.decode_scan(codec.encode_scan(frontier)) == frontier
    deletes = [{"path": "/z/a", "kind": "object"}, {"path": "/z/sub", "kind": "collection"}]
    assert codec.decode_delete(codec.encode_delete(deletes)) == deletes


def test_the_previous_releases_pickled_values_are_still_run() -> None:
    """What the previous release queued: SyncItem lists, frontier tuples and delete dicts, pickled by RQ."""
    legacy = pickle.loads(pickle.dumps([SyncItem(i.entry, i.logical_path, i.state, i.avus) for i in ITEMS]))
    assert codec.decode_sync(legacy) == ITEMS
    assert codec.decode_scan([("/src", None, "unknown")]) == [("/src", None, "unknown")]
    assert codec.decode_delete([{"path": "/z/a", "kind": "object"}]) == [{"path": "/z/a", "kind": "object"}]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ('{"v": 2, "kind": "sync", "data": []}', "format 2, this lz-ingest reads format 1"),
        ('{"v": 1, "kind": "scan", "data": []}', "not a sync task's"),
        ("not json", "not JSON"),
        ('{"v": 1, "kind": "sync", "data": [["/a"]]}', "malformed"),
        ([{"entry": "/a"}], "type list queued by an earlier lz-ingest"),
        (None, "type NoneType queued by an earlier lz-ingest"),
    ],
)
def test_arguments_this_release_cannot_read_are_refused_with_a_reason(payload: object, message: str) -> None:
    with pytest.raises(codec.CodecError, match=message):
        codec.decode_sync(payload)


def test_the_identity_of_a_task_whose_arguments_do_not_load_comes_from_rqs_description() -> None:
    described = "lz_ingest.tasks.sync.sync_task('job-1.a', 'job-1.a:0123456789ab', [SyncItem(entry=Entry(...)"
    assert codec.legacy_identity(described) == ("job-1.a", "job-1.a:0123456789ab")
    assert codec.legacy_identity("lz_ingest.tasks.sync.sync_task('j', 'j:ab', ...)") == ("j", "j:ab")
    assert codec.legacy_identity("other.module.f('j', 'j:ab')") is None
    assert codec.legacy_identity(None) is None
