"""Ways in from outside (issue 23): the invitations a Passerelle sends to suggested volunteers; the daily digest
of each team member (on for Passerelles)

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-07 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "invitation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("mission_id", sa.Integer(), sa.ForeignKey("mission.id", ondelete="CASCADE"), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), sa.ForeignKey("volunteer.id"), nullable=False),
        sa.Column("step_key", sa.String(80), nullable=False),
        sa.Column("invited_by", sa.String(160), nullable=False),
        sa.Column("invited_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("mission_id", "volunteer_id", name="uq_invitation_mission_id_volunteer_id"),
    )
    op.create_index("ix_invitation_mission_id", "invitation", ["mission_id"])
    op.create_index("ix_invitation_volunteer_id", "invitation", ["volunteer_id"])
    op.add_column("coordinator", sa.Column("daily_digest", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE coordinator SET daily_digest = true WHERE role = 'passerelle'")


def downgrade() -> None:
    op.drop_column("coordinator", "daily_digest")
    op.drop_table("invitation")
