"""Reading and writing many rows at driver speed: results column by column, JSON decoded once per
distinct text, rows inserted by COPY (PostgreSQL) or the driver's executemany (SQLite)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from survey_tui.store.records import Columns


def readable_json(value: Any) -> str:
    """JSON as the store writes it: UTF-8 text a researcher reads in the database (移动, not \\u79fb)."""
    return json.dumps(value, ensure_ascii=False)


def dicts(result: sa.CursorResult[Any]) -> list[dict[str, Any]]:
    """The rows of a result as plain dicts (a million of them: building them by zip is twice as quick)."""
    keys = list(result.keys())
    return [dict(zip(keys, row, strict=True)) for row in result]


def columns_of(result: sa.CursorResult[Any]) -> Columns:
    """The rows of a result column by column; a text column of few distinct values (agent,
    status, branch) holds each of them once instead of once per row."""
    keys = list(result.keys())
    rows = result.all()
    if not rows:
        return {key: [] for key in keys}
    columns = {key: list(values) for key, values in zip(keys, zip(*rows, strict=True), strict=True)}
    for key, values in columns.items():
        head = values[:1000]
        if isinstance(head[0], str) and len(set(head)) * 4 < len(head):
            shared: dict[str, str] = {}
            columns[key] = [shared.setdefault(value, value) if isinstance(value, str) else value for value in values]
    return columns


def decode_json(texts: Sequence[str | None]) -> list[Any]:
    """JSON texts decoded, each distinct text once; a list comes as its own copy, so that no two
    rows share a value one of them could change."""
    decoded: dict[str, Any] = {}
    values: list[Any] = []
    for text in texts:
        if text is None:
            values.append(None)
            continue
        if text not in decoded:
            decoded[text] = json.loads(text)
        value = decoded[text]
        if isinstance(value, list) and all(isinstance(item, str | int | float | bool) for item in value):
            value = list(value)
        elif isinstance(value, list | dict):
            value = json.loads(text)
        values.append(value)
    return values


def insert_many(conn: Connection, table: sa.Table, columns: dict[str, list[Any]]) -> None:
    """Insert rows, given column by column: COPY on PostgreSQL, the driver's executemany on
    SQLite; either way each distinct value is converted by its column's type once.

    SQLAlchemy's executemany converts every parameter of every row on its own, which was most of
    the time of storing a million codes; the values stored are the same.
    """
    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(name) for name in columns)
    if dialect.name == "postgresql":
        _copy_many(conn, f"COPY {quote(table.name)} ({names}) FROM STDIN", table, columns)
        return
    converted = []
    for name, values in columns.items():
        convert = _memoised(table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
        converted.append(values if convert is None else [convert(value) for value in values])
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    statement = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({', '.join([mark] * len(columns))})"
    conn.exec_driver_sql(statement, list(zip(*converted, strict=True)))


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_many(conn: Connection, statement: str, table: sa.Table, columns: dict[str, list[Any]]) -> None:
    """PostgreSQL: the rows as one COPY stream in text format, each distinct value encoded once.

    A third of the time of a pipelined executemany for a million codes, and half of psycopg's
    own row-by-row COPY, whose per-value adaptation was then most of the time left.
    """
    dialect = conn.dialect
    encoded = []
    for name, values in columns.items():
        column_type = table.c[name].type
        bind = column_type.process_bind_param if isinstance(column_type, sa.TypeDecorator) else None
        # As SQLAlchemy stores it: None in a JSON column is JSON null.
        as_json = isinstance(column_type, sa.JSON)

        def encode(value: Any, bind: Any = bind, as_json: bool = as_json) -> str:
            return _copy_text(bind(value, dialect) if bind is not None else value, as_json)

        encoded.append(_copy_column(values, encode))
    payload = "".join("\t".join(row) + "\n" for row in zip(*encoded, strict=True))
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor, cursor.copy(statement) as copy:
        copy.write(payload.encode("utf-8"))


def _copy_column(values: list[Any], encode: Callable[[Any], str]) -> list[str]:
    """Each value encoded, each distinct one once (a column of codes has few distinct values);
    ids and confidences, nearly all distinct, are written as numbers straight away."""
    if all(type(value) is int for value in values) or all(type(value) is float for value in values):
        return list(map(str, values))
    done: dict[Any, str] = {}
    out = []
    for value in values:
        key = tuple(value) if isinstance(value, list) else value
        try:
            text = done.get(key)
            if text is None:
                text = done[key] = encode(value)
        except TypeError:  # unhashable: encoded as it is
            text = encode(value)
        out.append(text)
    return out


def _copy_text(value: Any, as_json: bool) -> str:
    """One value in COPY's text format (NULL is \\N; backslash, tab and line ends escaped)."""
    if value is None and not as_json:
        return "\\N"
    if as_json:
        text = readable_json(value)
    elif isinstance(value, bool):
        return "t" if value else "f"
    elif isinstance(value, datetime | date):
        text = value.isoformat()
    else:
        text = str(value)
    return text.translate(_COPY_ESCAPES)


def _memoised(convert: Callable[[Any], Any] | None) -> Callable[[Any], Any] | None:
    """A column's bind conversion that converts each distinct value once (codes repeat a great deal)."""
    if convert is None:
        return None
    done: dict[Any, Any] = {}

    def converted(value: Any) -> Any:
        try:
            key = (list, tuple(value)) if isinstance(value, list) else (value.__class__, value)
            if key not in done:
                done[key] = convert(value)
            return done[key]
        except TypeError:  # unhashable: convert it as it is
            return convert(value)

    return converted
