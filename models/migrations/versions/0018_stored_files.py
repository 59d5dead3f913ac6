"""Stored files (issue 25, point 4): a report's HTML and CSV and the data exports, kept in the database and served
by the sign-in gateway, instead of a path on a worker's disk

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-08 03:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stored_file",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("branches", sa.String(500), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(254), nullable=False),
    )
    op.create_index("ix_stored_file_created_at", "stored_file", ["created_at"])


def downgrade() -> None:
    op.drop_table("stored_file")
