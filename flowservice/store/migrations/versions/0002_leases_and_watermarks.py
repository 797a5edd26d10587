"""Leases (scheduler leadership, run heartbeats) and flow watermarks.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("holder", sa.String(255), nullable=False),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.Column("expires_at_ms", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "flow_watermarks",
        sa.Column("flow_id", sa.String(64), primary_key=True),
        sa.Column("watermark_us", sa.BigInteger(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("flow_watermarks")
    op.drop_table("leases")
