"""AI workloads: blobs, streamed job output, per-unit job pricing and offer units.

Revision ID: 0002_ai
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from aitbc.node.models import UTCDateTime

revision = "0002_ai"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blobs",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("parts", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "blob_parts",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("uploader_id", sa.String(40), primary_key=True),
        sa.Column("idx", sa.Integer(), primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "blob_grants",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("principal_id", sa.String(40), primary_key=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "job_blobs",
        sa.Column("job_id", sa.String(40), primary_key=True),
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(8), primary_key=True),
    )
    op.create_index("ix_job_blobs_sha256", "job_blobs", ["sha256"])
    op.create_table(
        "job_outputs",
        sa.Column("job_id", sa.String(40), primary_key=True),
        sa.Column("chunks", sa.Integer(), nullable=False),
        sa.Column("chain", sa.String(64), nullable=False),
    )
    op.create_table(
        "job_pricing",
        sa.Column("job_id", sa.String(40), primary_key=True),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("unit_price", sa.BigInteger(), nullable=False),
        sa.Column("max_units", sa.Integer(), nullable=False),
    )
    with op.batch_alter_table("offers") as batch:
        batch.add_column(sa.Column("unit", sa.String(16), nullable=False, server_default="job"))
        batch.add_column(sa.Column("max_units", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("offers") as batch:
        batch.drop_column("max_units")
        batch.drop_column("unit")
    for table in ("job_pricing", "job_outputs", "job_blobs", "blob_grants", "blob_parts"):
        op.drop_table(table)
    op.drop_table("blobs")
