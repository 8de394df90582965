"""Fixed statements run straight through the stdlib ``sqlite3`` driver on SQLite.

For the node's hottest statements - one job by id (every client poll), the job insert,
the ledger's debit, credit and transfer, the event log's counter bump and append (every
write) - SQLAlchemy's execution machinery (cache-key lookup, execution context, result
object) cost two to three times what SQLite itself spent. A :class:`RawStatement`
compiles its statement once for SQLite and, on a stdlib ``sqlite3`` connection (the
data plane's; see :mod:`aitbc.node.database`), runs the SQL text on the driver's cursor,
applying the columns' own bind processors (JSON, timestamps) to the parameters and result
processors to returned rows, so the database sees, and callers get, exactly what
SQLAlchemy would have written and returned. On any other connection (PostgreSQL,
aiosqlite) every method is the plain ``conn.execute``.

It runs inside whatever transaction ``conn`` has open: the driver connection is the one
SQLAlchemy began the transaction on.
"""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Executable
from sqlalchemy.dialects import sqlite
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

from .models import UTCDateTime

_DIALECT = sqlite.dialect()
Processor = Callable[[Any], Any]


def _utc_timestamp(value: str) -> datetime:
    # SQLAlchemy stores SQLite timestamps as "YYYY-MM-DD HH:MM:SS.ffffff"; fromisoformat
    # reads that several times faster than the dialect's regular expression.
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _bind(values: Sequence[Any], processors: Sequence[Processor | None]) -> list[Any]:
    # None goes through the processor too, as SQLAlchemy does: a JSON column stores the
    # text 'null' for it, not SQL NULL.
    return [
        value if process is None else process(value)
        for value, process in zip(values, processors, strict=True)
    ]


def _result(values: Sequence[Any], processors: Sequence[Processor | None]) -> list[Any]:
    return [
        value if process is None or value is None else process(value)
        for value, process in zip(values, processors, strict=True)
    ]


class RawStatement:
    """``statement`` (bind parameters by name) with a fast path on SQLite.

    ``column_keys`` names the columns an INSERT sets, as SQLAlchemy would learn them from
    the first parameter set (every parameter set must give all of them).
    """

    def __init__(self, statement: Executable, column_keys: Sequence[str] | None = None) -> None:
        assert isinstance(statement, ClauseElement)
        self.statement = statement
        keys = None if column_keys is None else list(column_keys)
        compiled = statement.compile(dialect=_DIALECT, column_keys=keys)
        assert isinstance(compiled, SQLCompiler)
        self._sql = str(compiled)
        self._params = list(compiled.positiontup or [])
        self._binds: list[Processor | None] = [
            compiled.binds[name].type.dialect_impl(_DIALECT).bind_processor(_DIALECT)
            for name in self._params
        ]
        # A SELECT's columns, or an INSERT/UPDATE's RETURNING columns (none without it).
        columns = list(getattr(statement, "exported_columns", ()))
        self._row = namedtuple("_row", [c.key for c in columns]) if columns else None
        self._results: list[Processor | None] = [
            _utc_timestamp
            if isinstance(c.type, UTCDateTime)
            else c.type.dialect_impl(_DIALECT).result_processor(_DIALECT, None)
            for c in columns
        ]

    def _driver(self, conn: Connection) -> sqlite3.Connection | None:
        driver = conn.connection.driver_connection
        return driver if isinstance(driver, sqlite3.Connection) else None

    def _bound(self, params: dict[str, Any]) -> list[Any]:
        return _bind([params[name] for name in self._params], self._binds)

    def first(self, conn: Connection, **params: Any) -> Any:
        """The first row (attribute access by column name), or None."""
        driver = self._driver(conn)
        if driver is None:
            return conn.execute(self.statement, params).first()
        cursor = driver.execute(self._sql, self._bound(params))
        try:
            raw = cursor.fetchone()
        finally:
            cursor.close()
        if raw is None:
            return None
        assert self._row is not None, "first() needs a statement that returns rows"
        return self._row(*_result(raw, self._results))

    def one(self, conn: Connection, **params: Any) -> Any:
        """The only row; LookupError when there is none (a bug: callers expect a row)."""
        row = self.first(conn, **params)
        if row is None:
            raise LookupError(f"no row from {self._sql}")
        return row

    def rowcount(self, conn: Connection, **params: Any) -> int:
        """Run an UPDATE or DELETE; the number of rows it changed."""
        driver = self._driver(conn)
        if driver is None:
            return int(conn.execute(self.statement, params).rowcount)
        cursor = driver.execute(self._sql, self._bound(params))
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def many(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        """Run an INSERT once per parameter set in ``rows`` (executemany)."""
        driver = self._driver(conn)
        if driver is None:
            conn.execute(self.statement, list(rows))
            return
        driver.executemany(self._sql, [self._bound(row) for row in rows]).close()
