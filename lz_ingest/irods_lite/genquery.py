"""GenQuery (API 702) translated to SQL over irods-lite's catalog, with the real server's semantics."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from . import errors as E
from .catalog import ACCESS_NAMES, ACCESS_READ
from .errors import IrodsError

ORDER_BY = 0x400
ORDER_BY_DESC = 0x800
RETURN_TOTAL_ROW_COUNT = 0x20
NO_DISTINCT = 0x40
UPPER_CASE_WHERE = 0x200
AGGREGATES = {2: "MIN", 3: "MAX", 4: "SUM", 5: "AVG", 6: "COUNT"}

_ACCESS_NAME = (
    "CASE {a}.access_type " + " ".join(f"WHEN {k} THEN '{v}'" for k, v in sorted(ACCESS_NAMES.items())) + " END"
)
# general_query.cpp genqAppendAccessCheck (acAclPolicy STRICT, the stock core.re): for a client user below
# rodsadmin, data objects and collections only where the user, or a group it is in, has read_object or more.
_VISIBLE = (
    "{col} IN (SELECT a.object_id FROM access a JOIN user_groups ug ON ug.group_user_id = a.user_id"
    f" WHERE ug.user_id = ? AND a.access_type >= {ACCESS_READ})"
)


def _columns() -> dict[int, tuple[str, str]]:
    """Column number -> (table group, SQL expression)."""
    data = {
        401: "data_id", 402: "coll_id", 403: "data_name", 404: "repl_num", 405: "version",
        406: "data_type", 407: "data_size", 410: "data_path", 411: "owner_name", 412: "owner_zone",
        413: "repl_status", 414: "data_status", 415: "checksum", 416: "expiry", 417: "map_id",
        418: "comment", 419: "create_ts", 420: "modify_ts", 421: "mode", 422: "resc_hier",
        423: "resc_id", 424: "access_ts",
    }  # fmt: skip
    cols: dict[int, tuple[str, str]] = {k: ("d", f"d.{v}") for k, v in data.items()}
    cols[409] = ("d", "(SELECT resc_name FROM resources WHERE resc_id = d.resc_id)")
    coll = ["coll_id", "coll_name", "parent_coll_name", "owner_name", "owner_zone", "map_id",
            "inheritance", "comment", "create_ts", "modify_ts"]  # fmt: skip
    cols.update({500 + i: ("c", f"c.{v}") for i, v in enumerate(coll)})
    resc = {
        301: "resc_id", 302: "resc_name", 303: "zone_name", 304: "resc_type", 305: "resc_class",
        306: "resc_loc", 307: "vault_path", 308: "free_space", 309: "info", 310: "comment",
        311: "create_ts", 312: "modify_ts", 313: "resc_status", 314: "free_space_ts",
        315: "resc_children", 316: "resc_context", 317: "resc_parent", 318: "resc_parent_context",
    }  # fmt: skip
    cols.update({k: ("r", f"r.{v}") for k, v in resc.items()})
    user = {201: "user_id", 202: "user_name", 203: "user_type", 204: "zone_name", 206: "info",
            207: "comment", 208: "create_ts", 209: "modify_ts"}  # fmt: skip
    cols.update({k: ("u", f"u.{v}") for k, v in user.items()})
    meta = ["attr", "value", "units", "meta_id", "create_ts", "modify_ts"]
    for base, group in ((600, "md"), (610, "mc"), (630, "mr"), (640, "mu")):
        cols.update({base + i: (group, f"{group}.{v}") for i, v in enumerate(meta)})
    for base, group in ((700, "ad"), (710, "ac")):
        cols[base] = (group, f"{group}.access_type")
        cols[base + 1] = (group, _ACCESS_NAME.format(a=group))
        cols[base + 2] = (group, "'access_type'")
        cols[base + 3] = (group, f"{group}.user_id")
        cols[base + 4] = (group, f"{group}.object_id")
    cols[900] = ("g", "g.group_user_id")
    cols[901] = ("g", "(SELECT user_name FROM users WHERE user_id = g.group_user_id)")
    cols.update({101: ("z", "z.zone_id"), 102: ("z", "z.zone_name"), 103: ("z", "z.zone_type")})
    return cols


COLUMNS = _columns()

_TABLES = {
    "d": "data_objects d",
    "c": "collections c",
    "r": "resources r",
    "u": "users u",
    "md": "meta md",
    "mc": "meta mc",
    "mr": "meta mr",
    "mu": "meta mu",
    "ad": "access ad",
    "ac": "access ac",
    "g": "user_groups g",
}
# group -> (group it hangs off, join condition)
_PARENT = {
    "md": ("d", "md.object_id = d.data_id"),
    "mc": ("c", "mc.object_id = c.coll_id"),
    "mr": ("r", "mr.object_id = r.resc_id"),
    "mu": ("u", "mu.object_id = u.user_id"),
    "ad": ("d", "ad.object_id = d.data_id"),
    "ac": ("c", "ac.object_id = c.coll_id"),
}
_PAIR_JOINS = {
    ("c", "d"): "d.coll_id = c.coll_id",
    ("d", "r"): "d.resc_id = r.resc_id",
    ("ad", "u"): "ad.user_id = u.user_id",
    ("ac", "u"): "ac.user_id = u.user_id",
    ("g", "u"): "g.user_id = u.user_id",
}


@dataclass
class GenQuery:
    max_rows: int
    continue_inx: int
    offset: int
    options: int
    select: list[tuple[int, int]]  # (column, flags)
    where: list[tuple[int, str]]  # (column, condition text)
    keywords: dict[str, str] = field(default_factory=dict)


@dataclass
class Translation:
    sql: str
    params: list[object]
    columns: list[int]


def _groups_for(columns: list[int]) -> set[str]:
    groups = set()
    for col in columns:
        if col not in COLUMNS:
            raise IrodsError(E.CAT_INVALID_ARGUMENT, f"unknown GenQuery column {col}")
        groups.add(COLUMNS[col][0])
    for g in list(groups):
        if g in _PARENT:
            groups.add(_PARENT[g][0])
    return groups


def _from_clause(groups: set[str], zone: str, params: list[object]) -> tuple[str, list[str]]:
    tables, joins = [], []
    for g in ("d", "c", "r", "u", "md", "mc", "mr", "mu", "ad", "ac", "g"):
        if g in groups:
            tables.append(_TABLES[g])
    if "z" in groups:
        tables.append("(SELECT 9000 AS zone_id, ? AS zone_name, 'local' AS zone_type) z")
        params.append(zone)
    for g, (_, cond) in _PARENT.items():
        if g in groups:
            joins.append(cond)
    for (a, b), cond in _PAIR_JOINS.items():
        if a in groups and b in groups:
            joins.append(cond)
    return ", ".join(tables), joins


_OPS = ("not like", "like", "not in", "in", "between", "<>", "!=", "<=", ">=", "=", "<", ">")
_LITERAL = re.compile(r"'((?:[^']|'')*)'|(\S+)")


def _literals(text: str) -> list[str]:
    return [m.group(1) if m.group(1) is not None else m.group(2) for m in _LITERAL.finditer(text)]


def _one_condition(expr: str, cond: str, upper: bool, params: list[object]) -> str:
    cond = cond.strip()
    lowered = cond.lower()
    for op in _OPS:
        if lowered.startswith(op):
            rest = cond[len(op) :].strip()
            break
    else:
        raise IrodsError(E.CAT_INVALID_ARGUMENT, f"bad GenQuery condition: {cond!r}")
    col = f"upper({expr})" if upper else expr
    wrap = "upper(?)" if upper else "?"
    if op in ("in", "not in"):
        inner = rest.strip("() ")
        # ('a','b'): the quoted literals; unquoted lists are comma-separated
        values = re.findall(r"'([^']*)'", inner) if "'" in inner else [v.strip() for v in inner.split(",")]
        values = [v for v in values if v != ""] or [""]
        params.extend(values)
        return f"{col} {op.upper()} ({', '.join(wrap for _ in values)})"
    if op == "between":
        lo, hi = (_literals(rest) + ["", ""])[:2]
        params.extend([lo, hi])
        return f"{col} BETWEEN {wrap} AND {wrap}"
    # The server takes everything between the first and the last quote: O'Brien arrives unescaped.
    quoted = rest.startswith("'") and rest.endswith("'") and len(rest) >= 2
    value = rest[1:-1] if quoted else rest
    params.append(value)
    sql_op = "<>" if op == "!=" else op.upper()
    return f"{col} {sql_op} {wrap}"


def _condition(col: int, cond: str, upper: bool, params: list[object], alias: str | None = None) -> str:
    group, expr = COLUMNS[col]
    if alias:
        expr = expr.replace(f"{group}.", f"{alias}.")
    parts = re.split(r"\s*\|\|\s*(?=(?:[^']*'[^']*')*[^']*$)", cond)
    if len(parts) > 1:
        return "(" + " OR ".join(_one_condition(expr, p, upper, params) for p in parts) + ")"
    return _one_condition(expr, cond, upper, params)


_AVU_NAME_COLUMNS = {600: "md", 610: "mc", 630: "mr", 640: "mu"}


def _avu_aliases(where: list[tuple[int, str]]) -> list[str | None]:
    """Each further condition on an AVU attribute name starts a new join of the metadata table, which that
    name's value and units conditions then use (general_query.cpp: several AVUs of one object at once)."""
    seen: dict[int, int] = {}
    current: dict[int, str | None] = {}
    out: list[str | None] = []
    for col, _ in where:
        base = next((b for b in _AVU_NAME_COLUMNS if b <= col <= b + 5), None)
        if base is None:
            out.append(None)
            continue
        if col == base:
            seen[base] = seen.get(base, 0) + 1
            current[base] = f"{_AVU_NAME_COLUMNS[base]}{seen[base]}" if seen[base] > 1 else None
        out.append(current.get(base))
    return out


def translate(q: GenQuery, zone: str, reader: int | None = None) -> Translation:
    """The SQL for a query; `reader` is the id of a non-admin client user whose access limits the rows."""
    if not q.select:
        raise IrodsError(E.CAT_INVALID_ARGUMENT, "GenQuery selects no column")
    columns = [c for c, _ in q.select]
    groups = _groups_for(columns + [c for c, _ in q.where])
    params: list[object] = []
    select_exprs, group_by, order = [], [], []
    has_aggregate = any((flags & 0x3F) in AGGREGATES for _, flags in q.select)
    for col, flags in q.select:
        expr = COLUMNS[col][1]
        agg = AGGREGATES.get(flags & 0x3F)
        select_exprs.append(f"{agg}({expr})" if agg else expr)
        if not agg:
            group_by.append(expr)
        if flags & ORDER_BY_DESC:
            order.append(f"{expr} DESC")
        elif flags & ORDER_BY:
            order.append(expr)
    for implicit in (501, 403, 404):  # the server's own ordering after the requested one
        if implicit in columns and not has_aggregate:
            order.append(COLUMNS[implicit][1])
    if not has_aggregate:
        order.extend(e for e in group_by if e not in order)
    from_sql, joins = _from_clause(groups, zone, params)
    where = list(joins)
    upper = bool(q.options & UPPER_CASE_WHERE)
    aliases = _avu_aliases(q.where)
    for extra in sorted({a for a in aliases if a}):
        base = extra.rstrip("0123456789")
        from_sql += f", meta {extra}"
        where.append(_PARENT[base][1].replace(f"{base}.", f"{extra}.", 1))
    for (col, cond), alias in zip(q.where, aliases, strict=True):
        where.append(_condition(col, cond, upper, params, alias))
    if reader is not None:
        for group, key in (("d", "d.data_id"), ("c", "c.coll_id")):
            if group in groups:
                where.append(_VISIBLE.format(col=key))
                params.append(reader)
    distinct = "" if q.options & NO_DISTINCT else "DISTINCT "
    sql = f"SELECT {distinct}{', '.join(select_exprs)} FROM {from_sql}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    if has_aggregate and group_by:
        sql += " GROUP BY " + ", ".join(group_by)
    if order:
        sql += " ORDER BY " + ", ".join(order)
    return Translation(sql, params, columns)


def as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def text_rows(raw: list[tuple[Any, ...]]) -> list[tuple[str, ...]]:
    """Rows of SQLite values as GenQuery's text, converted a column at a time (a listing has many rows)."""
    if not raw:
        return []
    columns = []
    for column in zip(*raw, strict=True):
        kinds = set(map(type, column))
        if kinds <= {str}:
            columns.append(column)
        elif kinds <= {str, int}:
            columns.append(tuple(map(str, column)))
        else:
            columns.append(tuple(map(as_text, column)))
    return list(zip(*columns, strict=True))
