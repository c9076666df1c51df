"""Contract tests: AVU metadata on data objects and collections, as python-irodsclient sees it."""

from __future__ import annotations

from pathlib import Path

import irods.exception as ex
import pytest
from irods.meta import AVUOperation, iRODSMeta
from irods.models import Collection, CollectionMeta, DataObject, DataObjectMeta
from irods.session import iRODSSession

from ._contract import write_file


@pytest.fixture
def obj_path(session: iRODSSession, coll: str, tmp_path: Path) -> str:
    path = f"{coll}/meta.txt"
    session.data_objects.put(str(write_file(tmp_path / "m", b"meta")), path)
    return path


def triples(metas: list[iRODSMeta]) -> list[tuple[str, str, str | None]]:
    return sorted(((m.name, m.value, m.units) for m in metas), key=lambda t: (t[0], t[1], t[2] or ""))


def test_add_then_list_on_a_data_object(session: iRODSSession, obj_path: str) -> None:
    obj = session.data_objects.get(obj_path)
    obj.metadata.add("color", "blue")
    obj.metadata.add("size", "10", "cm")
    fresh = session.data_objects.get(obj_path)
    assert triples(fresh.metadata.items()) == [("color", "blue", None), ("size", "10", "cm")]
    assert all(m.avu_id for m in fresh.metadata.items())


def test_units_absent_are_none_and_present_are_kept(session: iRODSSession, obj_path: str) -> None:
    meta = session.data_objects.get(obj_path).metadata
    meta.add("plain", "v")
    meta.add("with", "v", "u")
    assert meta.get_one("plain").units is None
    assert meta.get_one("with").units == "u"


def test_an_attribute_may_carry_several_values(session: iRODSSession, obj_path: str) -> None:
    meta = session.data_objects.get(obj_path).metadata
    meta.add("tag", "a")
    meta.add("tag", "b")
    meta.add("tag", "a", "other-units")  # same name and value, other units: another AVU
    assert triples(meta.get_all("tag")) == [("tag", "a", None), ("tag", "a", "other-units"), ("tag", "b", None)]
    with pytest.raises(KeyError):
        meta.get_one("tag")


def test_adding_the_same_avu_twice_raises_catalog_already_has_item(session: iRODSSession, obj_path: str) -> None:
    meta = session.data_objects.get(obj_path).metadata
    meta.add("dup", "1", "u")
    with pytest.raises(ex.CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME):
        meta.add("dup", "1", "u")
    assert len(meta.get_all("dup")) == 1


def test_set_replaces_every_value_of_the_attribute(session: iRODSSession, obj_path: str) -> None:
    meta = session.data_objects.get(obj_path).metadata
    meta.add("k", "1")
    meta.add("k", "2")
    meta.add("other", "x")
    meta.set("k", "3", "u")
    assert triples(meta.items()) == [("k", "3", "u"), ("other", "x", None)]


def test_set_of_a_new_attribute_adds_it(session: iRODSSession, obj_path: str) -> None:
    meta = session.data_objects.get(obj_path).metadata
    meta.set("fresh", "v")
    assert triples(meta.items()) == [("fresh", "v", None)]


def test_remove_deletes_exactly_that_avu(session: iRODSSession, obj_path: str) -> None:
    meta = session.data_objects.get(obj_path).metadata
    meta.add("r", "1")
    meta.add("r", "2")
    meta.remove("r", "1")
    assert triples(meta.items()) == [("r", "2", None)]


def test_remove_with_units_deletes_the_avu_with_those_units(session: iRODSSession, obj_path: str) -> None:
    meta = session.data_objects.get(obj_path).metadata
    meta.add("r", "1", "u1")
    meta.add("r", "1", "u2")
    meta.remove("r", "1", "u1")
    assert triples(meta.items()) == [("r", "1", "u2")]


def test_item_deletion_removes_all_values_of_a_key(session: iRODSSession, obj_path: str) -> None:
    meta = session.data_objects.get(obj_path).metadata
    meta.add("d", "1")
    meta.add("d", "2", "u")
    meta.add("keep", "k")
    del meta["d"]
    assert triples(meta.items()) == [("keep", "k", None)]
    assert "d" not in meta


def test_metadata_on_a_missing_object_fails(session: iRODSSession, coll: str) -> None:
    with pytest.raises(ex.iRODSException):
        session.metadata.add(DataObject, f"{coll}/nope", iRODSMeta("a", "b"))


def test_collection_metadata_add_set_remove_list(session: iRODSSession, coll: str) -> None:
    c = session.collections.get(coll)
    c.metadata.add("project", "lz")
    c.metadata.add("n", "1", "items")
    c.metadata.set("n", "2", "items")
    assert triples(session.collections.get(coll).metadata.items()) == [("n", "2", "items"), ("project", "lz", None)]
    c.metadata.remove("project", "lz")
    assert triples(session.collections.get(coll).metadata.items()) == [("n", "2", "items")]
    with pytest.raises(ex.CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME):
        c.metadata.add("n", "2", "items")


def test_collection_and_data_object_metadata_are_separate(session: iRODSSession, coll: str, obj_path: str) -> None:
    session.collections.get(coll).metadata.add("where", "coll")
    session.data_objects.get(obj_path).metadata.add("where", "obj")
    assert triples(session.collections.get(coll).metadata.items()) == [("where", "coll", None)]
    assert triples(session.data_objects.get(obj_path).metadata.items()) == [("where", "obj", None)]


def test_atomic_operations_add_and_remove_in_one_call(session: iRODSSession, obj_path: str) -> None:
    obj = session.data_objects.get(obj_path)
    obj.metadata.add("old", "1")
    obj.metadata.apply_atomic_operations(
        AVUOperation(operation="remove", avu=iRODSMeta("old", "1")),
        AVUOperation(operation="add", avu=iRODSMeta("new", "2", "u")),
        AVUOperation(operation="add", avu=iRODSMeta("new", "3")),
    )
    assert triples(session.data_objects.get(obj_path).metadata.items()) == [("new", "2", "u"), ("new", "3", None)]


def test_atomic_operations_on_a_collection(session: iRODSSession, coll: str) -> None:
    session.metadata.apply_atomic_operations(Collection, coll, AVUOperation(operation="add", avu=iRODSMeta("c", "1")))
    assert triples(session.collections.get(coll).metadata.items()) == [("c", "1", None)]


def test_atomic_remove_of_an_absent_avu_is_not_an_error(session: iRODSSession, obj_path: str) -> None:
    obj = session.data_objects.get(obj_path)
    obj.metadata.apply_atomic_operations(AVUOperation(operation="remove", avu=iRODSMeta("never", "was")))
    assert obj.metadata.items() == []


def test_atomic_remove_matches_exactly_and_percent_is_no_wildcard(session: iRODSSession, obj_path: str) -> None:
    # atomic_apply_metadata_operations.cpp looks the AVU up by name = value = units, not LIKE.
    obj = session.data_objects.get(obj_path)
    obj.metadata.add("pct", "a%")
    obj.metadata.add("pct", "abc")
    obj.metadata.apply_atomic_operations(AVUOperation(operation="remove", avu=iRODSMeta("pct", "a%")))
    assert triples(session.data_objects.get(obj_path).metadata.items()) == [("pct", "abc", None)]


def test_data_object_metadata_is_visible_through_genquery(session: iRODSSession, coll: str, obj_path: str) -> None:
    session.data_objects.get(obj_path).metadata.add("q-attr", "q-value", "q-units")
    rows = list(
        session.query(Collection.name, DataObject.name, DataObjectMeta.value, DataObjectMeta.units).filter(
            DataObjectMeta.name == "q-attr"
        )
    )
    assert [
        (r[Collection.name], r[DataObject.name], r[DataObjectMeta.value], r[DataObjectMeta.units]) for r in rows
    ] == [(coll, "meta.txt", "q-value", "q-units")]


def test_collection_metadata_is_visible_through_genquery(session: iRODSSession, coll: str) -> None:
    session.collections.get(coll).metadata.add("cq", "v1")
    rows = list(session.query(Collection.name, CollectionMeta.value).filter(CollectionMeta.name == "cq"))
    assert [(r[Collection.name], r[CollectionMeta.value]) for r in rows] == [(coll, "v1")]


def test_metadata_disappears_with_its_data_object(session: iRODSSession, coll: str, obj_path: str) -> None:
    session.data_objects.get(obj_path).metadata.add("bye", "x")
    session.data_objects.unlink(obj_path, force=True)
    assert list(session.query(DataObjectMeta.name).filter(DataObjectMeta.name == "bye")) == []
