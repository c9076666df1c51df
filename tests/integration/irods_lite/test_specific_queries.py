"""Contract: specific queries (SPECIFIC_QUERY 722; GENERAL_ADMIN add/rm specificQuery) on the real
catalog's table and column names."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from irods.exception import CAT_INSUFFICIENT_PRIVILEGE_LEVEL, CAT_INVALID_ARGUMENT, CAT_UNKNOWN_SPECIFIC_QUERY
from irods.models import DataObject
from irods.query import SpecificQuery
from irods.session import iRODSSession


def test_a_registered_query_runs_with_arguments_and_is_removed(session: iRODSSession, coll: str) -> None:
    for name in ("a.txt", "b.txt"):
        session.data_objects.create(f"{coll}/{name}")
    alias = f"names{uuid.uuid4().hex[:8]}"
    sql = "select DATA_NAME, DATA_ID from R_DATA_MAIN join R_COLL_MAIN using (COLL_ID) where COLL_NAME = ?"
    query = SpecificQuery(session, sql, alias, columns=[DataObject.name, DataObject.id], args=[coll])
    query.register()
    try:
        rows = sorted(r[DataObject.name] for r in query)
        assert rows == ["a.txt", "b.txt"]
        with pytest.raises(CAT_INVALID_ARGUMENT, match="Alias is not unique"):
            query.register()
        listed = {r[0]: r[1] for r in SpecificQuery(session, alias="ls")}
        assert listed[alias] == sql
    finally:
        query.remove()
    with pytest.raises(CAT_UNKNOWN_SPECIFIC_QUERY):
        next(iter(SpecificQuery(session, alias=alias)))


def test_only_select_statements_are_registered(session: iRODSSession) -> None:
    with pytest.raises(CAT_INVALID_ARGUMENT):
        SpecificQuery(session, "delete from R_DATA_MAIN", f"x{uuid.uuid4().hex[:6]}").register()


def test_a_rodsuser_cannot_register_a_query(user_session: Callable[..., iRODSSession]) -> None:
    with pytest.raises(CAT_INSUFFICIENT_PRIVILEGE_LEVEL):
        SpecificQuery(user_session(), "select 1 from R_USER_MAIN", f"x{uuid.uuid4().hex[:6]}").register()
