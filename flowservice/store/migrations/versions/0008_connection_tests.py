"""The last test of each base connection: passed or not, the redacted message, and when.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "connection_tests",
        sa.Column(
            "connection_id",
            sa.String(36),
            sa.ForeignKey("resources.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("ok", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("tested_at", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("connection_tests")
