"""GenQuery rows as plain tuples: PRC's connection and request classes, a lean reader for the reply.

python-irodsclient turns every row into a dict keyed by column objects and converts each value; for
a rescan that lists every collection that costs more than the scan itself. This sends the same
GenQueryInp message PRC sends and reads GenQueryOut's values directly.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Sequence

from irods.api_number import api_number
from irods.exception import CAT_NO_ROWS_FOUND
from irods.message import GenQueryRequest, IntegerIntegerMap, IntegerStringMap, StringStringMap, iRODSMessage
from irods.session import iRODSSession

PAGE_ROWS = 500  # what PRC asks for; the server's own default

_RESULT = re.compile(rb"<SqlResult_PI>(.*?)</SqlResult_PI>", re.S)
_ATTR = re.compile(rb"<attriInx>\s*(\d+)\s*</attriInx>")
_VALUE = re.compile(rb"<value>(.*?)</value>|<value\s*/>", re.S)
_CONTINUE = re.compile(rb"<continueInx>\s*(\d+)\s*</continueInx>")


def _text(raw: bytes) -> str:
    value = raw.decode("utf-8", "surrogateescape")
    return html.unescape(value) if "&" in value else value


def parse_reply(body: bytes) -> tuple[dict[int, list[str]], int]:
    """Column number -> values, and the continuation index (0: no more rows)."""
    columns: dict[int, list[str]] = {}
    for block in _RESULT.findall(body):
        attr = _ATTR.search(block)
        if attr is None:
            continue
        columns[int(attr.group(1))] = [_text(m.group(1) or b"") for m in _VALUE.finditer(block)]
    found = _CONTINUE.search(body)
    return columns, int(found.group(1)) if found else 0


def _request(
    columns: Sequence[int], conditions: Sequence[tuple[int, str]], zone: str, continue_inx: int, rows: int
) -> GenQueryRequest:
    return GenQueryRequest(
        maxRows=rows,
        continueInx=continue_inx,
        partialStartIndex=0,
        options=0,
        KeyValPair_PI=StringStringMap({"zone": zone} if zone else {}),
        InxIvalPair_PI=IntegerIntegerMap({c: 1 for c in columns}),
        InxValPair_PI=IntegerStringMap(dict(conditions)),
    )


def equals(value: str) -> str:
    """A condition as PRC writes one: the literal between quotes, not escaped (the server takes
    everything between the first and the last quote)."""
    return f"= '{value}'"


def rows(
    session: iRODSSession, columns: Sequence[int], conditions: Sequence[tuple[int, str]], zone: str = ""
) -> Iterator[tuple[str, ...]]:
    """Every row, following continueInx page after page; nothing when there are no rows."""
    continue_inx = 0
    with session.pool.get_connection() as conn:
        while True:
            message = iRODSMessage(
                "RODS_API_REQ",
                msg=_request(columns, conditions, zone, continue_inx, PAGE_ROWS),
                int_info=api_number["GEN_QUERY_AN"],
            )
            conn.send(message)
            try:
                reply = conn.recv()
            except CAT_NO_ROWS_FOUND:
                return
            values, continue_inx = parse_reply(reply.msg or b"")
            yield from zip(*(values.get(c, []) for c in columns), strict=False)
            if continue_inx <= 0:
                return
