"""Orgs, API clients, sandboxes and the generic resources table.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "orgs",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "api_clients",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column(
            "org_id", sa.String(255), sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_api_clients_org_id", "api_clients", ["org_id"])
    op.create_table(
        "sandboxes",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "org_id", sa.String(255), sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("etag", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("updated_by", sa.String(255), nullable=False),
        sa.UniqueConstraint("org_id", "name", name="uq_sandboxes_org_name"),
    )
    op.create_index("ix_sandboxes_org_id", "sandboxes", ["org_id"])
    op.create_table(
        "resources",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column(
            "org_id", sa.String(255), sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "sandbox_id",
            sa.String(36),
            sa.ForeignKey("sandboxes.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(1024)),
        sa.Column("state", sa.String(64)),
        sa.Column("spec_id", sa.String(64)),
        sa.Column("parent_id", sa.String(64)),
        sa.Column("etag", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("updated_by", sa.String(255), nullable=False),
        sa.Column("created_client", sa.String(255), nullable=False),
        sa.Column("updated_client", sa.String(255), nullable=False),
        sa.Column("doc", sa.JSON(), nullable=False),
        sa.Column("secret_doc", sa.Text()),
    )
    op.create_index("ix_resources_scope", "resources", ["kind", "org_id", "sandbox_id"])
    op.create_index("ix_resources_parent", "resources", ["kind", "parent_id"])
    op.create_index("ix_resources_spec_id", "resources", ["spec_id"])


def downgrade() -> None:
    op.drop_table("resources")
    op.drop_table("sandboxes")
    op.drop_table("api_clients")
    op.drop_table("orgs")
