"""Catalog rows (one per replica) into objects, whatever order the server returns them in."""

from __future__ import annotations

from lz_ingest.irods.listing import _objects
from lz_ingest.model import CatalogObject, Replica


def row(coll: str, name: str, number: int, mtime: str = "01700000000", size: str = "5") -> tuple[str, ...]:
    return (coll, name, str(number), "demoResc", f"/vault{coll}/{name}.{number}", size, mtime, "1", "")


def test_rows_of_interleaved_collections_and_replicas_out_of_order() -> None:
    rows = [
        row("/z/a", "f", 2),
        row("/z/b", "f", 0),
        row("/z/a", "f", 0),
        row("/z/a", "g", 0),
        row("/z/b", "h", 1, mtime="", size=""),  # an empty mtime or size reads as 0
        row("/z/a", "f", 1),
    ]
    objects = _objects(rows)
    assert set(objects) == {"/z/a", "/z/b"}
    f = objects["/z/a"]["f"]
    assert f.logical_path == "/z/a/f" and [r.number for r in f.replicas] == [0, 1, 2]
    assert f.replicas[0] == Replica(0, "demoResc", "/vault/z/a/f.0", 5, 1_700_000_000, "1", "")
    assert objects["/z/a"]["g"] == CatalogObject(
        "/z/a/g", (Replica(0, "demoResc", "/vault/z/a/g.0", 5, 1_700_000_000, "1"),)
    )
    assert objects["/z/b"]["f"].logical_path == "/z/b/f"
    assert objects["/z/b"]["h"].replicas[0][3:5] == (0, 0)


def test_the_root_collection() -> None:
    assert _objects([row("/", "x", 0)])["/"]["x"].logical_path == "/x"
