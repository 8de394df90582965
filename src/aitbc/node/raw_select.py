"""A fixed SELECT run straight through the stdlib ``sqlite3`` driver on SQLite.

For the node's hottest read - one job by id, what every client poll asks for - running
the statement through SQLAlchemy (cache-key lookup, execution context, result object)
cost three times what SQLite itself spent. A :class:`RawSelect` compiles its statement
once and, on a stdlib ``sqlite3`` connection (the data plane's; see
:mod:`aitbc.node.database`), executes the SQL text on the driver's cursor and applies
the columns' own result processors (JSON, timestamps), so rows come back exactly as
SQLAlchemy would return them. On any other connection (PostgreSQL, aiosqlite) it is a
plain ``conn.execute``.
"""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Select
from sqlalchemy.dialects import sqlite

from .models import UTCDateTime


def _utc_timestamp(value: str) -> datetime:
    # SQLAlchemy stores SQLite timestamps as "YYYY-MM-DD HH:MM:SS.ffffff"; fromisoformat
    # reads that several times faster than the dialect's regular expression.
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


class RawSelect:
    """``statement`` (bind parameters by name, plain columns) with a fast SQLite path."""

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        dialect = sqlite.dialect()
        compiled = statement.compile(dialect=dialect)
        self._sql = str(compiled)
        self._params = list(compiled.positiontup or [])
        columns = list(statement.selected_columns)
        self._row = namedtuple("_row", [c.key for c in columns])  # type: ignore[misc]
        self._processors: list[Callable[[Any], Any] | None] = [
            _utc_timestamp
            if isinstance(c.type, UTCDateTime)
            else c.type.dialect_impl(dialect).result_processor(dialect, None)
            for c in columns
        ]

    def first(self, conn: Connection, **params: Any) -> Any:
        """The first row (attribute access by column name), or None."""
        driver = conn.connection.driver_connection
        if not isinstance(driver, sqlite3.Connection):
            return conn.execute(self.statement, params).first()
        cursor = driver.execute(self._sql, [params[name] for name in self._params])
        try:
            raw = cursor.fetchone()
        finally:
            cursor.close()
        if raw is None:
            return None
        return self._row(
            *[
                value if process is None or value is None else process(value)
                for value, process in zip(raw, self._processors, strict=True)
            ]
        )
