"""Every team member signs in as themselves: one-time sign-in links, member sessions (browser or personal token),
and the access log; a volunteer's links revocable; a record of each erasure (issue 22)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signin_link",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("coordinator_id", sa.Integer(), sa.ForeignKey("coordinator.id", ondelete="CASCADE"), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("secret_hash", name="uq_signin_link_secret_hash"),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_signin_link_coordinator_id", "signin_link", ["coordinator_id"])
    op.create_table(
        "member_session",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("coordinator_id", sa.Integer(), sa.ForeignKey("coordinator.id", ondelete="CASCADE"), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("secret_hash", name="uq_member_session_secret_hash"),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_member_session_coordinator_id", "member_session", ["coordinator_id"])
    op.create_table(
        "access_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("coordinator_id", sa.Integer(), sa.ForeignKey("coordinator.id", ondelete="SET NULL"), nullable=True),
        sa.Column("who", sa.String(254), nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("method", sa.String(10), nullable=False, server_default=""),
        sa.Column("path", sa.String(500), nullable=False, server_default=""),
        sa.Column("target", sa.String(200), nullable=False, server_default=""),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("ip", sa.String(64), nullable=False, server_default=""),
        sa.Column("detail", sa.Text(), nullable=False, server_default=""),
    )
    op.create_index("ix_access_log_at", "access_log", ["at"])
    op.create_table(
        "erasure_record",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(254), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False, server_default=""),
    )
    op.create_index("ix_erasure_record_volunteer_id", "erasure_record", ["volunteer_id"])
    op.add_column("volunteer", sa.Column("links_revoked_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("volunteer", "links_revoked_at")  # native on SQLite 3.35+: no copy of a referenced table
    op.drop_table("erasure_record")
    op.drop_table("access_log")
    op.drop_table("member_session")
    op.drop_table("signin_link")
