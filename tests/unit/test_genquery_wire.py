"""The GenQuery request lz-ingest writes itself must be the bytes python-irodsclient would send,
and the reply reader must give back exactly the values a server sent."""

from __future__ import annotations

import pytest
from irods.message import GenQueryRequest, IntegerIntegerMap, IntegerStringMap, StringStringMap

from lz_ingest.irods import genquery


def prc_pack(columns, conditions, keywords, continue_inx, max_rows) -> bytes:  # type: ignore[no-untyped-def]
    request = GenQueryRequest(
        maxRows=max_rows,
        continueInx=continue_inx,
        partialStartIndex=0,
        options=0,
        KeyValPair_PI=StringStringMap(dict(keywords)),
        InxIvalPair_PI=IntegerIntegerMap({c: 1 for c in columns}),
        InxValPair_PI=IntegerStringMap(dict(conditions)),
    )
    return request.pack().encode("utf-8")


CASES = [
    ((403, 404, 410), [(501, "= '/tempZone/home/rods'")], {"zone": "tempZone"}, 0, 500),
    ((501,), [], {}, 7, 256),
    ((403,), [(501, "in ('/a/b', '/a/c d')"), (403, "like '%.txt'")], {}, 0, 500),
    ((403,), [(501, "= '/a/<b>&\"c'\t\r\n'")], {"zone": "z&<", "other": "x>y"}, 0, 500),
    ((403,), [(501, "= '/ü/日本/\u00e9'")], {"zone": "tempZone"}, 0, 1),
]


@pytest.mark.parametrize("case", CASES, ids=range(len(CASES)))
def test_request_is_what_python_irodsclient_packs(case: tuple) -> None:  # type: ignore[type-arg]
    assert genquery.pack_request(*case) == prc_pack(*case)


def reply(columns: dict[int, list[str]], continue_inx: int, self_closing_empty: bool = False) -> bytes:
    blocks = []
    for col, values in columns.items():
        cells = "".join("<value />" if (v == "" and self_closing_empty) else f"<value>{v}</value>" for v in values)
        blocks.append(f"<SqlResult_PI><attriInx>{col}</attriInx><reslen>1088</reslen>{cells}</SqlResult_PI>")
    rows = len(next(iter(columns.values()), []))
    head = f"<GenQueryOut_PI><rowCnt>{rows}</rowCnt><attriCnt>{len(columns)}</attriCnt>"
    head += f"<continueInx>{continue_inx}</continueInx><totalRowCount>0</totalRowCount>"
    return (head + "".join(blocks) + "</GenQueryOut_PI>").encode("utf-8")


def test_reply_values_and_continuation() -> None:
    body = reply({403: ["a", "b&amp;c", "", "&lt;d&gt;"], 407: ["1", "2", "3", "4"]}, 12)
    columns, cont = genquery.parse_reply(body)
    assert columns == {403: ["a", "b&c", "", "<d>"], 407: ["1", "2", "3", "4"]}
    assert cont == 12


def test_reply_with_self_closing_empty_values_and_non_utf8_bytes() -> None:
    body = reply({403: ["x", "", "y"]}, 0, self_closing_empty=True).replace(b"y", b"y\xff")
    columns, cont = genquery.parse_reply(body)
    assert columns == {403: ["x", "", "y\udcff"]}
    assert cont == 0


def test_in_condition_and_quotable() -> None:
    assert genquery.one_of(["/a", "/b c"]) == "in ('/a', '/b c')"
    assert genquery.quotable("/a/b c") and not genquery.quotable("/a/O'Brien")


def test_reply_as_a_server_lays_it_out_with_newlines() -> None:
    body = (
        b"<GenQueryOut_PI>\n<rowCnt>2</rowCnt>\n<attriCnt>2</attriCnt>\n<continueInx>0</continueInx>\n"
        b"<totalRowCount>0</totalRowCount>\n<SqlResult_PI>\n<attriInx>403</attriInx>\n<reslen>1088</reslen>\n"
        b"<value>a b</value>\n<value></value>\n</SqlResult_PI>\n<SqlResult_PI>\n<attriInx>407</attriInx>\n"
        b"<reslen>1088</reslen>\n<value>10</value>\n<value>&amp;20</value>\n</SqlResult_PI>\n</GenQueryOut_PI>\n"
    )
    assert genquery.parse_reply(body) == ({403: ["a b", ""], 407: ["10", "&20"]}, 0)
