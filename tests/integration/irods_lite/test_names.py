"""Contract tests: awkward names survive every trip through the XML protocol exactly.

python-irodsclient escapes only & < > and sends quotes, tabs and carriage returns raw; a server must read
them back exactly (an XML parser would fold a raw CR into LF) and encode CR as &#13; in replies.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from irods.column import Like
from irods.meta import AVUOperation, iRODSMeta
from irods.models import Collection, CollectionMeta, DataObject, DataObjectMeta
from irods.session import iRODSSession

from ._contract import write_file

NAMES = {
    "double-quote": 'say "hi"',
    "apostrophe": "O'Brien",
    "ampersand": "fish & chips",
    "angle-brackets": "<tag>a<\\tag>",
    "entity-lookalike": "&amp;&#13;&lt;",
    "spaces": "two  spaces here",
    "tab": "col1\tcol2",
    "carriage-return": "line1\rline2",
    "crlf": "dos\r\nline",
    "non-ascii": "Ünïcödé-日本語-ß",
    "everything": "a \"b\" 'c' & <d> \t\r é",
}
CASES = pytest.mark.parametrize("name", list(NAMES.values()), ids=list(NAMES))


@CASES
def test_a_collection_name_round_trips(session: iRODSSession, coll: str, name: str) -> None:
    path = f"{coll}/{name}"
    made = session.collections.create(path)
    assert made.name == name
    assert session.collections.get(path).path == path
    assert [c.name for c in session.collections.get(coll).subcollections] == [name]
    rows = session.query(Collection.name).filter(Collection.parent_name == coll)
    assert [r[Collection.name] for r in rows] == [path]


@CASES
def test_a_data_object_name_round_trips(session: iRODSSession, coll: str, tmp_path: Path, name: str) -> None:
    session.collections.create(f"{coll}/{name}")
    path = f"{coll}/{name}/{name}.txt"
    data = f"content of {name}".encode()
    session.data_objects.put(str(write_file(tmp_path / "src", data)), path)
    assert [o.name for o in session.collections.get(f"{coll}/{name}").data_objects] == [f"{name}.txt"]
    obj = session.data_objects.get(path)
    assert (obj.name, obj.path, obj.size) == (f"{name}.txt", path, len(data))
    with obj.open("r") as fh:
        assert fh.read() == data
    session.data_objects.get(path, str(tmp_path / "back"))
    assert (tmp_path / "back").read_bytes() == data
    rows = session.query(Collection.name, DataObject.name).filter(
        Collection.name == f"{coll}/{name}", DataObject.name == f"{name}.txt"
    )
    assert [(r[Collection.name], r[DataObject.name]) for r in rows] == [(f"{coll}/{name}", f"{name}.txt")]


@CASES
def test_a_data_object_can_be_renamed_to_and_from_an_awkward_name(
    session: iRODSSession, coll: str, tmp_path: Path, name: str
) -> None:
    session.data_objects.put(str(write_file(tmp_path / "src", b"m")), f"{coll}/plain")
    session.data_objects.move(f"{coll}/plain", f"{coll}/{name}")
    assert [o.name for o in session.collections.get(coll).data_objects] == [name]
    session.data_objects.move(f"{coll}/{name}", f"{coll}/plain-again")
    assert [o.name for o in session.collections.get(coll).data_objects] == ["plain-again"]


@CASES
def test_an_avu_round_trips_on_a_data_object(session: iRODSSession, coll: str, tmp_path: Path, name: str) -> None:
    path = f"{coll}/obj"
    session.data_objects.put(str(write_file(tmp_path / "src", b"a")), path)
    meta = session.data_objects.get(path).metadata
    meta.add(f"attr {name}", f"value {name}", f"units {name}")
    [avu] = session.data_objects.get(path).metadata.items()
    assert (avu.name, avu.value, avu.units) == (f"attr {name}", f"value {name}", f"units {name}")
    rows = session.query(DataObjectMeta.value, DataObjectMeta.units).filter(
        Collection.name == coll, DataObjectMeta.name == f"attr {name}"
    )
    assert [(r[DataObjectMeta.value], r[DataObjectMeta.units]) for r in rows] == [(f"value {name}", f"units {name}")]
    meta.remove(f"attr {name}", f"value {name}", f"units {name}")
    assert session.data_objects.get(path).metadata.items() == []


@CASES
def test_an_avu_round_trips_through_the_atomic_api(session: iRODSSession, coll: str, name: str) -> None:
    c = session.collections.get(coll)
    c.metadata.apply_atomic_operations(AVUOperation(operation="add", avu=iRODSMeta(name, name, name)))
    [avu] = session.collections.get(coll).metadata.items()
    assert (avu.name, avu.value, avu.units) == (name, name, name)
    rows = session.query(CollectionMeta.value).filter(Collection.name == coll, CollectionMeta.name == name)
    assert [r[CollectionMeta.value] for r in rows] == [name]
    c.metadata.apply_atomic_operations(AVUOperation(operation="remove", avu=iRODSMeta(name, name, name)))
    assert session.collections.get(coll).metadata.items() == []


@CASES
def test_a_like_query_on_an_awkward_name_finds_it(session: iRODSSession, coll: str, name: str) -> None:
    session.collections.create(f"{coll}/{name}")
    rows = session.query(Collection.name).filter(Like(Collection.name, f"{coll}/{name[:4]}%"))
    assert [r[Collection.name] for r in rows] == [f"{coll}/{name}"]
