"""API key lifecycle (id, name, expiry, revocation) and the admin audit log.

Revision ID: 0003_keys
Revises: 0002_ai
Create Date: 2026-11-29
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

from aitbc.node.models import UTCDateTime

revision = "0003_keys"
down_revision = "0002_ai"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("id", sa.String(40), nullable=True))
    op.add_column("api_keys", sa.Column("name", sa.String(200), nullable=True))
    op.add_column("api_keys", sa.Column("expires_at", UTCDateTime(), nullable=True))
    op.add_column("api_keys", sa.Column("revoked_at", UTCDateTime(), nullable=True))
    conn = op.get_bind()
    # Keys made before this revision get an id now (the wire names keys by id, never hash).
    for (key_hash,) in conn.execute(sa.text("SELECT key_hash FROM api_keys")).all():
        conn.execute(
            sa.text("UPDATE api_keys SET id = :id WHERE key_hash = :h"),
            {"id": f"key_{secrets.token_hex(12)}", "h": key_hash},
        )
    with op.batch_alter_table("api_keys") as batch:
        batch.alter_column("id", existing_type=sa.String(40), nullable=False)
    op.create_index("ix_api_keys_id", "api_keys", ["id"], unique=True)
    op.create_table(
        "audit_log",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("actor_id", sa.String(40), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
    )
    op.create_index("ix_audit_log_created_at_id", "audit_log", ["created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_created_at_id", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index("ix_api_keys_id", table_name="api_keys")
    with op.batch_alter_table("api_keys") as batch:
        for column in ("revoked_at", "expires_at", "name", "id"):
            batch.drop_column(column)
