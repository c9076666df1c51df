"""GenQuery rows as plain tuples, without python-irodsclient's query objects.

python-irodsclient packs a GenQueryInp through its generic message classes and turns every reply row
into a dict keyed by column objects; for a rescan that lists every collection that costs more than
the scan itself. This writes the same GenQueryInp bytes PRC writes (a unit test holds the two equal)
on a connection of PRC's pool, and reads GenQueryOut's values directly.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Mapping, Sequence

from irods.api_number import api_number
from irods.exception import CAT_NO_ROWS_FOUND
from irods.session import iRODSSession

from lz_ingest.irods import api
from lz_ingest.irods.api import prc_escape

# Rows per page. The server returns up to the client's maxRows per page (no MAX_SQL_ROWS cap in
# iRODS 4.3 or 5.0) and sizes its buffers by it; PRC asks for 500. A rescan lists 16 collections at a
# time: 2,000 rows take a batch of directories of up to 125 files each in one round trip.
PAGE_ROWS = 2000
GEN_QUERY_AN = api_number["GEN_QUERY_AN"]

_ATTR = re.compile(r"<attriInx>\s*(\d+)\s*</attriInx>")
_VALUE = re.compile(r"<value>(.*?)</value>|<value\s*/>", re.S)
_CONTINUE = re.compile(r"<continueInx>\s*(\d+)\s*</continueInx>")


def pack_request(
    columns: Sequence[int],
    conditions: Sequence[tuple[int, str]],
    keywords: Mapping[str, str],
    continue_inx: int = 0,
    max_rows: int = PAGE_ROWS,
) -> bytes:
    """A GenQueryInp_PI body, byte for byte what PRC's GenQueryRequest packs (each column asked once)."""
    select = "".join(f"<inx>{c}</inx>" for c in columns) + "<ivalue>1</ivalue>" * len(columns)
    where = "".join(f"<inx>{c}</inx>" for c, _ in conditions)
    where += "".join(f"<svalue>{prc_escape(v)}</svalue>" for _, v in conditions)
    return (
        f"<GenQueryInp_PI><maxRows>{max_rows}</maxRows><continueInx>{continue_inx}</continueInx>"
        f"<partialStartIndex>0</partialStartIndex><options>0</options>"
        f"{api.pack_kvp(keywords)}"
        f"<InxIvalPair_PI><iiLen>{len(columns)}</iiLen>{select}</InxIvalPair_PI>"
        f"<InxValPair_PI><isLen>{len(conditions)}</isLen>{where}</InxValPair_PI></GenQueryInp_PI>"
    ).encode()


def parse_reply(body: bytes) -> tuple[dict[int, list[str]], int]:
    """Column number -> values, and the continuation index (0: no more rows)."""
    text = body.decode("utf-8", "surrogateescape")
    columns: dict[int, list[str]] = {}
    for block in text.split("<SqlResult_PI>")[1:]:
        attr = _ATTR.search(block)
        if attr is None:
            continue
        if "<value/" in block or "<value /" in block:  # an empty value written as an empty element
            values = _VALUE.findall(block)
        else:  # each value ends at its "</value>"; what precedes its "<value>" is markup or white space
            values = [piece.partition("<value>")[2] for piece in block.split("</value>")[:-1]]
        if "&" in block:
            values = [html.unescape(v) if "&" in v else v for v in values]
        columns[int(attr.group(1))] = values
    found = _CONTINUE.search(text)
    return columns, int(found.group(1)) if found else 0


def equals(value: str) -> str:
    """A condition as PRC writes one: the literal between quotes, not escaped (the server takes
    everything between the first and the last quote)."""
    return f"= '{value}'"


def one_of(values: Sequence[str]) -> str:
    """An `in` condition. The server splits it at quotes, so no value may hold one: see `quotable`."""
    return "in (" + ", ".join(f"'{v}'" for v in values) + ")"


def quotable(value: str) -> bool:
    """True when `value` can stand in an `in` list."""
    return "'" not in value


def rows(
    session: iRODSSession, columns: Sequence[int], conditions: Sequence[tuple[int, str]], zone: str = ""
) -> Iterator[tuple[str, ...]]:
    """Every row, following continueInx page after page; nothing when there are no rows."""
    continue_inx = 0
    keywords = {"zone": zone} if zone else {}
    with session.pool.get_connection() as conn:
        while True:
            api.send(conn, GEN_QUERY_AN, pack_request(columns, conditions, keywords, continue_inx, PAGE_ROWS))
            try:
                reply = conn.recv()
            except CAT_NO_ROWS_FOUND:
                return
            values, continue_inx = parse_reply(reply.msg or b"")
            yield from zip(*(values.get(c, []) for c in columns), strict=False)
            if continue_inx <= 0:
                return
