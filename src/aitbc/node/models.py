"""SQLAlchemy 2 models. The schema itself is created only by the Alembic migrations in
``migrations/``; a test checks the two agree.

Money columns are BIGINT base units; times are stored as naive UTC and read back aware.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .clock import new_id


class UTCDateTime(TypeDecorator[datetime]):
    """A UTC timestamp that is stored naive on every backend and read back aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData()


class PrincipalRow(Base):
    __tablename__ = "principals"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


def _key_id() -> str:
    return new_id("key")


class ApiKeyRow(Base):
    """An API key by its SHA-256 hash (never the key). ``id`` names it on the wire;
    ``revoked_at`` is when it stops working (later than the revocation for a rotated
    key's grace period); ``expires_at`` is the expiry chosen at creation."""

    __tablename__ = "api_keys"
    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    principal_id: Mapped[str] = mapped_column(ForeignKey("principals.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    id: Mapped[str] = mapped_column(String(40), index=True, unique=True, default=_key_id)
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class AuditRow(Base):
    """One admin action (who, what, on what), written in the action's own transaction."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_created_at_id", "created_at", "id"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


class MetaRow(Base):
    """Node identity that must survive restarts: chain id, coordinator id, signing seed."""

    __tablename__ = "node_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class AccountRow(Base):
    __tablename__ = "accounts"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TransferRow(Base):
    __tablename__ = "transfers"
    __table_args__ = (
        Index("ix_transfers_from_created", "from_account", "created_at"),
        Index("ix_transfers_to_created", "to_account", "created_at"),
    )
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    from_account: Mapped[str] = mapped_column(String(64))
    to_account: Mapped[str] = mapped_column(String(64))
    amount: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    job_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    memo: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class JobRow(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_state_created", "state", "created_at"),
        Index("ix_jobs_client_created", "client_id", "created_at"),
        Index("ix_jobs_miner_created", "miner_id", "created_at"),
        Index("ix_jobs_state_expires", "state", "expires_at"),
        Index("ix_jobs_state_lease", "state", "lease_expires_at"),
    )
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(40))
    job_type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[Any] = mapped_column(JSON)
    input_hash: Mapped[str] = mapped_column(String(80))
    constraints: Mapped[dict[str, Any]] = mapped_column(JSON)
    min_gpu_memory_gb: Mapped[int] = mapped_column(Integer, default=0)
    region: Mapped[str | None] = mapped_column(String(100), nullable=True)
    max_price: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    price: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16))
    miner_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    ttl_seconds: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    result: Mapped[Any | None] = mapped_column(JSON, nullable=True)
    receipt_id: Mapped[str | None] = mapped_column(String(40), nullable=True)


class JobModelRow(Base):
    """One model a job requires: kept in rows so the claim query stays portable SQL."""

    __tablename__ = "job_models"
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), primary_key=True)
    model: Mapped[str] = mapped_column(String(200), primary_key=True)


class MinerRow(Base):
    __tablename__ = "miners"
    principal_id: Mapped[str] = mapped_column(ForeignKey("principals.id"), primary_key=True)
    public_key: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(16))
    capabilities: Mapped[dict[str, Any]] = mapped_column(JSON)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class OfferRow(Base):
    __tablename__ = "offers"
    __table_args__ = (Index("ix_offers_state_created", "state", "created_at"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    provider_id: Mapped[str] = mapped_column(String(40), index=True)
    capacity: Mapped[int] = mapped_column(Integer)
    price_per_unit: Mapped[int] = mapped_column(BigInteger)
    models: Mapped[list[str]] = mapped_column(JSON)
    region: Mapped[str | None] = mapped_column(String(100), nullable=True)
    gpu_memory_gb: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # 0002_ai: what ``price_per_unit`` counts ("job", "token", "item") and the most
    # units one job may buy (e.g. a chat miner's max_tokens); None = no limit.
    unit: Mapped[str] = mapped_column(String(16), default="job", server_default="job")
    max_units: Mapped[int | None] = mapped_column(Integer, nullable=True)


class OfferModelRow(Base):
    __tablename__ = "offer_models"
    offer_id: Mapped[str] = mapped_column(ForeignKey("offers.id"), primary_key=True)
    model: Mapped[str] = mapped_column(String(200), primary_key=True)


class BidRow(Base):
    __tablename__ = "bids"
    __table_args__ = (Index("ix_bids_client_created", "client_id", "created_at"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    offer_id: Mapped[str] = mapped_column(ForeignKey("offers.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(40))
    units: Mapped[int] = mapped_column(Integer)
    price_per_unit: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ReceiptRow(Base):
    __tablename__ = "receipts"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    job_id: Mapped[str] = mapped_column(String(40), unique=True)
    client_id: Mapped[str] = mapped_column(String(40))
    miner_id: Mapped[str] = mapped_column(String(40))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IdempotencyRow(Base):
    """First answer to an idempotent request, keyed per principal and route."""

    __tablename__ = "idempotency_keys"
    principal_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    scope: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EventTopicRow(Base):
    """Per-topic counter: updating it in the event's transaction makes seq gap-free."""

    __tablename__ = "event_topics"
    topic: Mapped[str] = mapped_column(String(200), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)


class EventRow(Base):
    __tablename__ = "events"
    topic: Mapped[str] = mapped_column(String(200), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event: Mapped[str] = mapped_column(String(64))
    data: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


# --- AI workloads (migration 0002_ai): blobs, streamed output, per-unit pricing ----------


class BlobRow(Base):
    """A complete, hash-checked blob: its bytes are the ``blob_parts`` rows with
    ``uploader_id == ""`` in ``idx`` order."""

    __tablename__ = "blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    parts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BlobPartRow(Base):
    """One part of a blob: pending under its uploader's id, or final under ``""``."""

    __tablename__ = "blob_parts"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    uploader_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class BlobGrantRow(Base):
    """A principal that uploaded a blob (and may therefore read and reference it)."""

    __tablename__ = "blob_grants"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    principal_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class JobBlobRow(Base):
    """A blob a job references in its payload (``input``) or result (``output``)."""

    __tablename__ = "job_blobs"
    job_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(8), primary_key=True)


class JobOutputRow(Base):
    """Progress of a job's streamed output: chunks recorded and their hash chain."""

    __tablename__ = "job_outputs"
    job_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    chunks: Mapped[int] = mapped_column(Integer)
    chain: Mapped[str] = mapped_column(String(64))


class JobPricingRow(Base):
    """Per-unit terms of a job: the escrow holds ``unit_price * max_units``."""

    __tablename__ = "job_pricing"
    job_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    unit: Mapped[str] = mapped_column(String(16))
    unit_price: Mapped[int] = mapped_column(BigInteger)
    max_units: Mapped[int] = mapped_column(Integer)
