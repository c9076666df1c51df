"""Contract tests: GenQuery (API 702) semantics of a real iRODS server (general_query.cpp), through PRC's query API."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import irods.exception as ex
import pytest
from irods.column import Between, Criterion, In, Like, NotLike
from irods.models import Collection, CollectionMeta, DataObject, DataObjectMeta, Resource, User
from irods.query import Query
from irods.session import iRODSSession

from tests.irods_fixtures import Zone

from ._contract import write_file

PAGED = 1200  # more than two GenQuery pages of 500


@pytest.fixture
def sized(session: iRODSSession, coll: str, tmp_path: Path) -> str:
    """coll with data objects a (5 bytes), b (10 bytes), c (100 bytes)."""
    for name, size in (("b", 10), ("c", 100), ("a", 5)):
        session.data_objects.put(str(write_file(tmp_path / name, b"x" * size)), f"{coll}/{name}")
    return coll


def names(q: Iterable[Any]) -> list[str]:
    return [r[DataObject.name] for r in q]


def by_name(session: iRODSSession, coll: str) -> Query:
    return session.query(DataObject.name).filter(Collection.name == coll)


# ---- conditions -------------------------------------------------------------------------------


def test_equal_and_not_equal(session: iRODSSession, sized: str) -> None:
    assert names(by_name(session, sized).filter(DataObject.name == "b")) == ["b"]
    assert sorted(names(by_name(session, sized).filter(DataObject.name != "b"))) == ["a", "c"]


def test_size_comparisons_are_numeric_not_textual(session: iRODSSession, sized: str) -> None:
    # DATA_SIZE is a bigint column: '10' > '9' numerically although not as text.
    assert sorted(names(by_name(session, sized).filter(DataObject.size > 9))) == ["b", "c"]
    assert sorted(names(by_name(session, sized).filter(DataObject.size >= 10))) == ["b", "c"]
    assert sorted(names(by_name(session, sized).filter(DataObject.size < 50))) == ["a", "b"]
    assert sorted(names(by_name(session, sized).filter(DataObject.size <= 10))) == ["a", "b"]


def test_between_is_inclusive(session: iRODSSession, sized: str) -> None:
    assert sorted(names(by_name(session, sized).filter(Between(DataObject.size, (5, 10))))) == ["a", "b"]


def test_in_matches_any_listed_value(session: iRODSSession, sized: str) -> None:
    assert sorted(names(by_name(session, sized).filter(In(DataObject.name, ["a", "c", "zzz"])))) == ["a", "c"]


def test_like_and_not_like(session: iRODSSession, coll: str, tmp_path: Path) -> None:
    src = write_file(tmp_path / "f", b"")
    for n in ("x100", "x200", "y100"):
        session.data_objects.put(str(src), f"{coll}/{n}")
    assert sorted(names(by_name(session, coll).filter(Like(DataObject.name, "x%")))) == ["x100", "x200"]
    assert names(by_name(session, coll).filter(NotLike(DataObject.name, "x%"))) == ["y100"]
    assert sorted(names(by_name(session, coll).filter(Criterion("like", DataObject.name, "%100")))) == [
        "x100",
        "y100",
    ]


def test_like_is_case_sensitive(session: iRODSSession, coll: str, tmp_path: Path) -> None:
    # The PostgreSQL catalog's LIKE is case-sensitive.
    session.data_objects.put(str(write_file(tmp_path / "f", b"")), f"{coll}/abcdef")
    assert names(by_name(session, coll).filter(Like(DataObject.name, "ABC%"))) == []
    assert names(by_name(session, coll).filter(Like(DataObject.name, "abc%"))) == ["abcdef"]
    assert names(by_name(session, coll).filter(DataObject.name == "ABCDEF")) == []


def test_underscore_and_percent_in_a_like_literal_are_wildcards(
    session: iRODSSession, coll: str, tmp_path: Path
) -> None:
    src = write_file(tmp_path / "f", b"")
    for n in ("a_c", "abc", "a%c", "axxc"):
        session.data_objects.put(str(src), f"{coll}/{n}")
    assert sorted(names(by_name(session, coll).filter(Like(DataObject.name, "a_c")))) == ["a%c", "a_c", "abc"]
    assert sorted(names(by_name(session, coll).filter(Like(DataObject.name, "a%c")))) == ["a%c", "a_c", "abc", "axxc"]
    # = takes them literally
    assert names(by_name(session, coll).filter(DataObject.name == "a_c")) == ["a_c"]


def test_a_like_prefix_on_collection_names_also_matches_wildcard_siblings(session: iRODSSession, coll: str) -> None:
    # Why a prefix query over user paths must re-check the exact prefix: '_' matches any character.
    session.collections.create(f"{coll}/a_b/x")
    session.collections.create(f"{coll}/aXb/y")
    found = sorted(
        r[Collection.name] for r in session.query(Collection.name).filter(Like(Collection.name, f"{coll}/a_b/%"))
    )
    assert found == [f"{coll}/aXb/y", f"{coll}/a_b/x"]


def test_an_apostrophe_in_a_literal_is_sent_unescaped_and_still_matches(
    session: iRODSSession, coll: str, tmp_path: Path
) -> None:
    session.data_objects.put(str(write_file(tmp_path / "f", b"o")), f"{coll}/O'Brien.txt")
    assert names(by_name(session, coll).filter(DataObject.name == "O'Brien.txt")) == ["O'Brien.txt"]
    assert session.data_objects.get(f"{coll}/O'Brien.txt").size == 1


def test_case_insensitive_query_upper_cases_both_sides(session: iRODSSession, coll: str, tmp_path: Path) -> None:
    session.data_objects.put(str(write_file(tmp_path / "f", b"")), f"{coll}/MiXeD")
    q = session.query(DataObject.name, case_sensitive=False).filter(Collection.name == coll.upper())
    assert names(q.filter(DataObject.name == "mixed")) == ["MiXeD"]


def test_time_conditions_compare_epoch_seconds(session: iRODSSession, sized: str) -> None:
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    assert sorted(names(by_name(session, sized).filter(DataObject.modify_time >= hour_ago))) == ["a", "b", "c"]
    assert names(by_name(session, sized).filter(DataObject.modify_time < hour_ago)) == []


def test_no_match_gives_an_empty_result_not_an_error(session: iRODSSession, coll: str) -> None:
    assert list(by_name(session, coll).filter(DataObject.name == "nothing")) == []
    assert session.query(DataObject.name).filter(DataObject.name == f"none-{uuid.uuid4().hex}").first() is None
    with pytest.raises(ex.NoResultFound):
        session.query(DataObject.name).filter(DataObject.name == f"none-{uuid.uuid4().hex}").one()


# ---- distinct, order, aggregates --------------------------------------------------------------


def test_rows_are_distinct_by_default(session: iRODSSession, sized: str) -> None:
    rows = list(session.query(Collection.name).filter(Collection.name == sized, DataObject.name != ""))
    assert [r[Collection.name] for r in rows] == [sized]  # three objects, one distinct collection name


def test_order_by_ascending_and_descending(session: iRODSSession, sized: str) -> None:
    def q() -> Query:  # a fresh query each time: PRC's clones share their column dict
        return session.query(DataObject.name, DataObject.size).filter(Collection.name == sized)

    assert names(q().order_by(DataObject.size, "desc")) == ["c", "b", "a"]
    assert names(q().order_by(DataObject.size)) == ["a", "b", "c"]
    assert names(q().order_by(DataObject.name, "desc")) == ["c", "b", "a"]


def test_results_come_ordered_by_name_without_order_by(session: iRODSSession, sized: str) -> None:
    assert names(by_name(session, sized)) == ["a", "b", "c"]


def test_count_sum_min_max(session: iRODSSession, sized: str) -> None:
    def agg(fn: str) -> int:
        q = session.query(DataObject.size).filter(Collection.name == sized)
        return int(getattr(q, fn)(DataObject.size).one()[DataObject.size])

    assert agg("count") == 3
    assert agg("sum") == 115
    assert agg("min") == 5
    assert agg("max") == 100


def test_count_of_names_grouped_by_collection(session: iRODSSession, sized: str) -> None:
    row = session.query(Collection.name, DataObject.name).count(DataObject.name).filter(Collection.name == sized).one()
    assert (row[Collection.name], int(row[DataObject.name])) == (sized, 3)


# ---- models and joins -------------------------------------------------------------------------


def test_the_data_object_model_selects_every_column(zone: Zone, session: iRODSSession, sized: str) -> None:
    row = session.query(DataObject, Collection.name).filter(Collection.name == sized, DataObject.name == "b").one()
    assert row[DataObject.name] == "b"
    assert row[DataObject.size] == 10
    assert row[DataObject.replica_number] == 0
    assert row[DataObject.replica_status] == "1"
    assert row[DataObject.owner_name] == zone.admin
    assert row[DataObject.owner_zone] == zone.zone
    assert row[DataObject.id] > 0 and row[DataObject.collection_id] > 0
    assert row[DataObject.resource_name] and row[DataObject.resc_hier] and row[DataObject.path]
    assert row[DataObject.modify_time] >= row[DataObject.create_time]
    assert row[DataObject.collection_id] == session.collections.get(sized).id


def test_the_collection_model_selects_every_column(zone: Zone, session: iRODSSession, coll: str) -> None:
    row = session.query(Collection).filter(Collection.name == coll).one()
    assert row[Collection.parent_name] == coll.rsplit("/", 1)[0]
    assert row[Collection.owner_name] == zone.admin
    assert row[Collection.owner_zone] == zone.zone
    assert row[Collection.id] > 0


def test_subcollections_by_parent_name(session: iRODSSession, coll: str) -> None:
    for s in ("p", "q/r"):
        session.collections.create(f"{coll}/{s}")
    rows = session.query(Collection.name).filter(Collection.parent_name == coll)
    assert sorted(r[Collection.name] for r in rows) == [f"{coll}/p", f"{coll}/q"]


def test_resource_columns_and_the_parent_link(zone: Zone, session: iRODSSession) -> None:
    if zone.hierarchy is None:
        pytest.skip("needs LZ_TEST_HIERARCHY")
    root, middle, leaf = zone.hierarchy
    rows = {r[Resource.name]: r for r in session.query(Resource).filter(In(Resource.name, [root, middle, leaf]))}
    assert sorted(rows) == sorted([root, middle, leaf])
    assert rows[leaf][Resource.parent] == str(rows[middle][Resource.id])  # 4.2+: the parent's id
    assert rows[middle][Resource.parent] == str(rows[root][Resource.id])
    assert not rows[root][Resource.parent]
    assert rows[leaf][Resource.vault_path]
    assert rows[leaf][Resource.zone_name] == zone.zone


def test_data_objects_join_their_resource(session: iRODSSession, sized: str) -> None:
    rows = list(session.query(DataObject.name, Resource.name, Resource.type).filter(Collection.name == sized))
    assert sorted(r[DataObject.name] for r in rows) == ["a", "b", "c"]
    resc = {r[Resource.name] for r in rows}
    assert resc == {
        r[DataObject.resource_name] for r in session.query(DataObject.resource_name).filter(Collection.name == sized)
    }


def test_user_columns(zone: Zone, session: iRODSSession) -> None:
    row = session.query(User).filter(User.name == zone.admin, User.zone == zone.zone).one()
    assert row[User.type] == "rodsadmin"
    assert row[User.id] > 0


def test_both_avu_sets_in_one_query(session: iRODSSession, sized: str) -> None:
    session.collections.get(sized).metadata.add("c-attr", "c-val")
    session.data_objects.get(f"{sized}/a").metadata.add("d-attr", "d-val")
    rows = list(
        session.query(DataObject.name, DataObjectMeta.value, CollectionMeta.value).filter(
            DataObjectMeta.name == "d-attr", CollectionMeta.name == "c-attr"
        )
    )
    assert [(r[DataObject.name], r[DataObjectMeta.value], r[CollectionMeta.value]) for r in rows] == [
        ("a", "d-val", "c-val")
    ]


def test_the_zone_keyword_restricts_to_the_named_zone(zone: Zone, session: iRODSSession, sized: str) -> None:
    q = by_name(session, sized).add_keyword("zone", zone.zone)
    assert names(q) == ["a", "b", "c"]


# ---- paging -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def paged(zone: Zone) -> Iterator[str]:
    """A collection holding PAGED data objects (registered from one small file when the server shares this fs)."""
    with zone.session() as s, tempfile.TemporaryDirectory() as tmp:
        path = f"{zone.home()}/paged-{uuid.uuid4().hex[:8]}"
        s.collections.create(path)
        src = write_file(Path(tmp) / "one", b"1")
        try:
            for i in range(PAGED):
                if zone.lite is not None:
                    s.data_objects.register(str(src), f"{path}/o{i:05d}")
                else:
                    s.data_objects.create(f"{path}/o{i:05d}")
            yield path
        finally:
            s.collections.remove(path, recurse=True, force=True)


def test_iteration_follows_continue_index_across_pages(session: iRODSSession, paged: str) -> None:
    q = by_name(session, paged)
    batches = list(q.get_batches())
    assert [len(b) for b in batches] == [500, 500, 200]
    got = [r[DataObject.name] for b in batches for r in b]
    assert got == [f"o{i:05d}" for i in range(PAGED)]


def test_all_returns_one_page_and_closes_the_cursor(session: iRODSSession, paged: str) -> None:
    assert len(by_name(session, paged).all()) == 500
    assert len(list(by_name(session, paged))) == PAGED  # the connection still answers properly


def test_first_and_one_on_a_multi_page_result(session: iRODSSession, paged: str) -> None:
    first = by_name(session, paged).first()
    assert first is not None and first[DataObject.name] == "o00000"
    with pytest.raises(ex.MultipleResultsFound):
        by_name(session, paged).one()
    assert by_name(session, paged).count(DataObject.name).one()[DataObject.name] == str(PAGED)


def test_limit_returns_that_many_rows(session: iRODSSession, paged: str) -> None:
    assert len(by_name(session, paged).limit(7).execute()) == 7


def test_a_broken_off_iteration_closes_its_cursor(session: iRODSSession, paged: str) -> None:
    for _ in range(3):
        gen = by_name(session, paged).get_results()
        assert next(gen)[DataObject.name] == "o00000"
        gen.close()  # GeneratorExit: PRC re-sends with maxRows 0
    assert len(list(by_name(session, paged))) == PAGED


def test_conditions_on_two_avus_of_one_object_each_match_their_own_avu(session: iRODSSession, sized: str) -> None:
    for name, (a, b) in {"a": ("1", "2"), "b": ("1", "9"), "c": ("7", "2")}.items():
        obj = session.data_objects.get(f"{sized}/{name}")
        obj.metadata.add("A", a)
        obj.metadata.add("B", b)
    q = (
        by_name(session, sized)
        .filter(DataObjectMeta.name == "A", DataObjectMeta.value == "1")
        .filter(DataObjectMeta.name == "B", DataObjectMeta.value == "2")
    )
    assert names(q) == ["a"]  # one metadata row cannot be both A=1 and B=2: the server joins twice
    assert sorted(names(by_name(session, sized).filter(DataObjectMeta.name == "A", DataObjectMeta.value == "1"))) == [
        "a",
        "b",
    ]
