"""Initial schema: principals, ledger, jobs, miners, marketplace, receipts, events.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from aitbc.node.models import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, UTCDateTime(), nullable=nullable)


def upgrade() -> None:
    _identity()
    _ledger()
    _jobs()
    _market()
    _events()


def _identity() -> None:
    op.create_table(
        "principals",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        _ts("created_at"),
    )
    op.create_table(
        "api_keys",
        sa.Column("key_hash", sa.String(64), primary_key=True),
        sa.Column("principal_id", sa.String(40), sa.ForeignKey("principals.id"), nullable=False),
        _ts("created_at"),
    )
    op.create_index("ix_api_keys_principal_id", "api_keys", ["principal_id"])
    op.create_table(
        "node_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )
    op.create_table(
        "miners",
        sa.Column("principal_id", sa.String(40), sa.ForeignKey("principals.id"), primary_key=True),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("capabilities", sa.JSON(), nullable=False),
        _ts("registered_at"),
        _ts("last_heartbeat_at", nullable=True),
    )


def _ledger() -> None:
    accounts = op.create_table(
        "accounts",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        _ts("created_at"),
    )
    # The system accounts exist from the start, so no worker ever races to create them.
    now = datetime.now(UTC)
    op.bulk_insert(
        accounts,
        [{"id": name, "balance": 0, "created_at": now} for name in ("sys:escrow", "sys:mint")],
    )
    op.create_table(
        "transfers",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("from_account", sa.String(64), nullable=False),
        sa.Column("to_account", sa.String(64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("job_id", sa.String(40), nullable=True),
        sa.Column("memo", sa.String(500), nullable=True),
        _ts("created_at"),
    )
    op.create_index("ix_transfers_from_created", "transfers", ["from_account", "created_at"])
    op.create_index("ix_transfers_to_created", "transfers", ["to_account", "created_at"])
    op.create_table(
        "idempotency_keys",
        sa.Column("principal_id", sa.String(40), primary_key=True),
        sa.Column("scope", sa.String(32), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("resource_id", sa.String(40), nullable=False),
        _ts("created_at"),
    )


def _jobs() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("client_id", sa.String(40), nullable=False),
        sa.Column("job_type", sa.String(100), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("input_hash", sa.String(80), nullable=False),
        sa.Column("constraints", sa.JSON(), nullable=False),
        sa.Column("min_gpu_memory_gb", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(100), nullable=True),
        sa.Column("max_price", sa.BigInteger(), nullable=True),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("miner_id", sa.String(40), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("ttl_seconds", sa.Integer(), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        _ts("expires_at"),
        _ts("started_at", nullable=True),
        _ts("lease_expires_at", nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("receipt_id", sa.String(40), nullable=True),
    )
    op.create_index("ix_jobs_state_created", "jobs", ["state", "created_at"])
    op.create_index("ix_jobs_client_created", "jobs", ["client_id", "created_at"])
    op.create_index("ix_jobs_miner_created", "jobs", ["miner_id", "created_at"])
    op.create_index("ix_jobs_state_expires", "jobs", ["state", "expires_at"])
    op.create_index("ix_jobs_state_lease", "jobs", ["state", "lease_expires_at"])
    op.create_table(
        "job_models",
        sa.Column("job_id", sa.String(40), sa.ForeignKey("jobs.id"), primary_key=True),
        sa.Column("model", sa.String(200), primary_key=True),
    )
    op.create_table(
        "receipts",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("job_id", sa.String(40), nullable=False, unique=True),
        sa.Column("client_id", sa.String(40), nullable=False),
        sa.Column("miner_id", sa.String(40), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        _ts("created_at"),
    )


def _market() -> None:
    op.create_table(
        "offers",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("provider_id", sa.String(40), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("price_per_unit", sa.BigInteger(), nullable=False),
        sa.Column("models", sa.JSON(), nullable=False),
        sa.Column("region", sa.String(100), nullable=True),
        sa.Column("gpu_memory_gb", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        _ts("created_at"),
    )
    op.create_index("ix_offers_provider_id", "offers", ["provider_id"])
    op.create_index("ix_offers_state_created", "offers", ["state", "created_at"])
    op.create_table(
        "offer_models",
        sa.Column("offer_id", sa.String(40), sa.ForeignKey("offers.id"), primary_key=True),
        sa.Column("model", sa.String(200), primary_key=True),
    )
    op.create_table(
        "bids",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("offer_id", sa.String(40), sa.ForeignKey("offers.id"), nullable=False),
        sa.Column("client_id", sa.String(40), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("price_per_unit", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        _ts("created_at"),
    )
    op.create_index("ix_bids_offer_id", "bids", ["offer_id"])
    op.create_index("ix_bids_client_created", "bids", ["client_id", "created_at"])


def _events() -> None:
    op.create_table(
        "event_topics",
        sa.Column("topic", sa.String(200), primary_key=True),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("topic", sa.String(200), primary_key=True),
        sa.Column("seq", sa.BigInteger(), primary_key=True),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        _ts("created_at"),
    )


def downgrade() -> None:
    for table in (
        "events",
        "event_topics",
        "bids",
        "offer_models",
        "offers",
        "receipts",
        "job_models",
        "jobs",
        "idempotency_keys",
        "transfers",
        "accounts",
        "miners",
        "node_meta",
        "api_keys",
        "principals",
    ):
        op.drop_table(table)
