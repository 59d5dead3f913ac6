"""Ways in from outside: public submissions pending their double opt-in (an association's request, a volunteer's
sign-up), an association's RNA or SIRET, a volunteer's time slots (issue 23)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "public_submission",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("secret_hash", name="uq_public_submission_secret_hash"),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("branch_id", sa.Integer(), sa.ForeignKey("branch.id"), nullable=True),
        sa.Column("flow_run_id", sa.String(40), nullable=False, server_default=""),
        sa.Column("association_id", sa.Integer(), sa.ForeignKey("association.id", ondelete="SET NULL"), nullable=True),
        sa.Column("mission_id", sa.Integer(), sa.ForeignKey("mission.id", ondelete="SET NULL"), nullable=True),
        sa.Column("volunteer_id", sa.Integer(), sa.ForeignKey("volunteer.id", ondelete="SET NULL"), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(160), nullable=False, server_default=""),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
    )
    op.create_index("ix_public_submission_email", "public_submission", ["email"])
    op.create_index("ix_public_submission_status", "public_submission", ["status"])
    op.add_column("association", sa.Column("registration", sa.String(14), nullable=False, server_default=""))
    op.create_index("ix_association_registration", "association", ["registration"])
    op.add_column("volunteer", sa.Column("time_slots", sa.String(80), nullable=False, server_default=""))


def downgrade() -> None:
    op.drop_column("volunteer", "time_slots")
    op.drop_index("ix_association_registration", "association")
    op.drop_column("association", "registration")
    op.drop_table("public_submission")
