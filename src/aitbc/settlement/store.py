"""The durable record of every settlement, written before anything goes on chain.

SQLite by default (a file path), or any SQLAlchemy URL (``postgresql://...`` works).
Schema: one table, ``settlements``, created on open with ``metadata.create_all``: the
store is client-side and small, and its schema version is recorded in
``settlement_schema`` so a future change can migrate instead of guessing.

SQLite runs in WAL mode with ``synchronous=FULL``: one fsync per commit, so a record is
on disk before its message is sent, and the tracker's reads never block a writer.

``receipt_hash`` is unique: one receipt settles once, whatever the bridge or target.
``send_state`` says whether ``send`` is known to have returned (``sent``) or the record
was written and the process may have died before or during the send (``prepared``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ..errors import ConfigurationError, SettlementError
from .bridges.base import (
    BridgeStatus,
    CostEstimate,
    PreparedSettlement,
    SettlementResult,
)
from .codec import message_from_dict, message_to_dict

__all__ = [
    "SCHEMA_VERSION",
    "SEND_PREPARED",
    "SEND_SENT",
    "SettlementRecord",
    "SettlementStore",
    "database_url",
    "with_result",
]

SCHEMA_VERSION = 1
SEND_PREPARED = "prepared"
SEND_SENT = "sent"

metadata = sa.MetaData()

settlements = sa.Table(
    "settlements",
    metadata,
    sa.Column("message_id", sa.String(100), primary_key=True),
    sa.Column("bridge_name", sa.String(64), nullable=False),
    sa.Column("receipt_hash", sa.String(100), nullable=False, unique=True),
    sa.Column("job_id", sa.String(100), nullable=False, index=True),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("extra", sa.Text, nullable=False),
    sa.Column("fee", sa.Text, nullable=False),
    sa.Column("status", sa.String(20), nullable=False, index=True),
    sa.Column("send_state", sa.String(20), nullable=False),
    sa.Column("transaction_hash", sa.String(100)),
    sa.Column("error_message", sa.Text),
    sa.Column("gas_used", sa.BigInteger),
    # wei amounts overflow BIGINT: decimal strings
    sa.Column("fee_paid", sa.String(80)),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("completed_at", sa.DateTime(timezone=True)),
)

schema_table = sa.Table(
    "settlement_schema", metadata, sa.Column("version", sa.Integer, primary_key=True)
)


@dataclass
class SettlementRecord:
    """One stored settlement: the prepared message plus its latest known result."""

    prepared: PreparedSettlement
    result: SettlementResult
    send_state: str = SEND_PREPARED
    attempts: int = 0

    @property
    def message_id(self) -> str:
        return self.prepared.message_id

    @property
    def bridge_name(self) -> str:
        return self.result.bridge_name


def database_url(storage: str | Path) -> str:
    """An async SQLAlchemy URL for a file path or a (sync or async) URL.

    For SQLite files the parent directory is created; ConfigurationError if it cannot be.
    """
    text = str(storage)
    if "://" not in text:
        return "sqlite+aiosqlite:///" + str(_sqlite_file(text))
    drivers = {
        "sqlite://": "sqlite+aiosqlite://",
        "postgresql://": "postgresql+asyncpg://",
        "postgres://": "postgresql+asyncpg://",
    }
    for plain, async_prefix in drivers.items():
        if text.startswith(plain):
            text = async_prefix + text[len(plain) :]
    if text.startswith("sqlite+aiosqlite:///") and ":memory:" not in text:
        _sqlite_file(text[len("sqlite+aiosqlite:///") :].split("?", 1)[0])
    return text


def _sqlite_file(path_text: str) -> Path:
    # A missing directory would fail inside aiosqlite's thread; fail early and clearly.
    path = Path(path_text).expanduser().resolve()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(f"cannot create the directory of {path}: {exc}") from exc
    return path


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL: one fsync per commit instead of journal + database + directory, and readers
    # (the tracker) never block the writer. synchronous=FULL keeps every commit durable
    # across power loss, which "written before anything is sent" relies on.
    cursor = dbapi_connection.cursor()
    try:
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=10000"):
            cursor.execute(f"PRAGMA {pragma}")
    finally:
        cursor.close()


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything we store is UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _row_values(record: SettlementRecord) -> dict[str, Any]:
    prepared, result = record.prepared, record.result
    fee = prepared.fee
    return {
        "message_id": prepared.message_id,
        "bridge_name": result.bridge_name,
        "receipt_hash": prepared.message.receipt_hash,
        "job_id": prepared.message.job_id,
        "message": json.dumps(message_to_dict(prepared.message)),
        "extra": json.dumps(dict(prepared.extra)),
        "fee": json.dumps(
            [fee.bridge_name, str(fee.native_fee), str(fee.token_fee), fee.gas_limit]
        ),
        "status": result.status.value,
        "send_state": record.send_state,
        "transaction_hash": result.transaction_hash,
        "error_message": result.error_message,
        "gas_used": result.gas_used,
        "fee_paid": None if result.fee_paid is None else str(result.fee_paid),
        "attempts": record.attempts,
        "created_at": result.created_at,
        "updated_at": result.updated_at,
        "completed_at": result.completed_at,
    }


def _record_from_row(row: Mapping[str, Any]) -> SettlementRecord:
    fee_name, native, token, gas = json.loads(row["fee"])
    prepared = PreparedSettlement(
        message_id=row["message_id"],
        message=message_from_dict(json.loads(row["message"])),
        fee=CostEstimate(fee_name, int(native), int(token), int(gas)),
        extra=json.loads(row["extra"]),
    )
    result = SettlementResult(
        message_id=row["message_id"],
        status=BridgeStatus(row["status"]),
        bridge_name=row["bridge_name"],
        transaction_hash=row["transaction_hash"],
        error_message=row["error_message"],
        gas_used=row["gas_used"],
        fee_paid=None if row["fee_paid"] is None else int(row["fee_paid"]),
        created_at=_utc(row["created_at"]) or datetime.now(UTC),
        updated_at=_utc(row["updated_at"]) or datetime.now(UTC),
        completed_at=_utc(row["completed_at"]),
    )
    return SettlementRecord(prepared, result, row["send_state"], row["attempts"])


class SettlementStore:
    """Async access to the settlements table. Open with :meth:`open`, close with
    :meth:`close`. Database failures raise SettlementError (never a SQLAlchemy error)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @classmethod
    async def open(cls, storage: str | Path) -> SettlementStore:
        """Connect to ``storage`` and create the tables if needed."""
        url = database_url(storage)
        try:
            engine = create_async_engine(url)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise ConfigurationError(f"cannot use settlement storage {url!r}: {exc}") from exc
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        store = cls(engine)
        try:
            await store._create_schema()
        except BaseException:
            await engine.dispose()
            raise
        return store

    async def _create_schema(self) -> None:
        try:
            async with self._engine.begin() as conn:
                await conn.run_sync(metadata.create_all)
                version = (await conn.execute(sa.select(schema_table.c.version))).scalar()
                if version is None:
                    await conn.execute(schema_table.insert().values(version=SCHEMA_VERSION))
                elif version != SCHEMA_VERSION:
                    raise SettlementError(
                        f"settlement store has schema v{version}, this code knows v{SCHEMA_VERSION}"
                    )
        except (SQLAlchemyError, OSError) as exc:
            raise SettlementError(f"cannot open settlement store: {exc}") from exc

    async def close(self) -> None:
        """Release the connection pool."""
        await self._engine.dispose()

    async def insert(self, record: SettlementRecord) -> SettlementRecord:
        """Write a new record; if its receipt already has one, return that one instead."""
        try:
            async with self._engine.begin() as conn:
                await conn.execute(settlements.insert().values(**_row_values(record)))
        except IntegrityError:
            existing = await self.get_by_receipt(record.prepared.message.receipt_hash)
            if existing is None:  # a message id clash with a different receipt
                raise SettlementError(
                    f"message id {record.message_id} is already used by another settlement"
                ) from None
            return existing
        except (SQLAlchemyError, OSError) as exc:
            raise SettlementError(f"cannot write settlement record: {exc}") from exc
        return record

    async def update(self, record: SettlementRecord) -> None:
        """Overwrite the mutable fields of an existing record."""
        values = _row_values(record)
        for key in ("message_id", "receipt_hash", "job_id", "message", "created_at"):
            values.pop(key)
        stmt = settlements.update().where(settlements.c.message_id == record.message_id)
        await self._execute(stmt.values(**values))

    async def rekey(self, old_id: str, record: SettlementRecord) -> None:
        """Replace the record ``old_id`` by ``record`` (a re-prepared message) atomically."""
        try:
            async with self._engine.begin() as conn:
                await conn.execute(settlements.delete().where(settlements.c.message_id == old_id))
                await conn.execute(settlements.insert().values(**_row_values(record)))
        except (SQLAlchemyError, OSError) as exc:
            raise SettlementError(f"cannot re-key settlement {old_id}: {exc}") from exc

    async def get(self, message_id: str) -> SettlementRecord | None:
        """The record with this message id, or None."""
        rows = await self._select(settlements.c.message_id == message_id)
        return rows[0] if rows else None

    async def get_by_receipt(self, receipt_hash: str) -> SettlementRecord | None:
        """The record settling this receipt, or None."""
        rows = await self._select(settlements.c.receipt_hash == receipt_hash)
        return rows[0] if rows else None

    async def list_unfinished(self) -> list[SettlementRecord]:
        """Records whose status is pending or in progress, oldest first."""
        active = [BridgeStatus.PENDING.value, BridgeStatus.IN_PROGRESS.value]
        return await self._select(settlements.c.status.in_(active))

    async def _select(self, condition: sa.ColumnElement[bool]) -> list[SettlementRecord]:
        stmt = sa.select(settlements).where(condition).order_by(settlements.c.created_at)
        try:
            async with self._engine.connect() as conn:
                rows = (await conn.execute(stmt)).mappings().all()
        except (SQLAlchemyError, OSError) as exc:
            raise SettlementError(f"cannot read settlement records: {exc}") from exc
        return [_record_from_row(dict(row)) for row in rows]

    async def _execute(self, stmt: sa.Executable) -> None:
        try:
            async with self._engine.begin() as conn:
                await conn.execute(stmt)
        except (SQLAlchemyError, OSError) as exc:
            raise SettlementError(f"cannot write settlement record: {exc}") from exc


def with_result(record: SettlementRecord, result: SettlementResult) -> SettlementRecord:
    """``record`` carrying the adapter's newer ``result``, keeping stored timestamps."""
    merged = replace(
        result,
        message_id=record.message_id,
        bridge_name=record.bridge_name,
        transaction_hash=result.transaction_hash or record.result.transaction_hash,
        gas_used=result.gas_used if result.gas_used is not None else record.result.gas_used,
        fee_paid=result.fee_paid if result.fee_paid is not None else record.result.fee_paid,
        created_at=record.result.created_at,
        updated_at=datetime.now(UTC),
    )
    if merged.status is BridgeStatus.COMPLETED and merged.completed_at is None:
        merged.completed_at = merged.updated_at
    return replace(record, result=merged)
