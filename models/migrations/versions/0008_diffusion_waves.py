"""Diffusion in waves: how far each mission's annonce goes, when the Passerelle stopped the waves, which wave each
diffusion round sent

Missions diffused before the waves count as having gone as far as their scope: the branch, or the whole country
for a remote mission; nothing more is scheduled for them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("mission", sa.Column("wave", sa.String(32), nullable=True))
    op.add_column(
        "mission",
        sa.Column(
            "waves_stopped_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="The Passerelle stopped the scheduled waves",
        ),
    )
    op.add_column("diffusion", sa.Column("wave", sa.String(32), nullable=True))
    op.execute(
        "UPDATE mission SET wave = CASE WHEN scope = 'national' THEN 'national' ELSE 'branch' END "
        "WHERE published_at IS NOT NULL"
    )
    op.execute(
        "UPDATE diffusion SET wave = CASE WHEN channel = 'national_email' THEN 'national' ELSE 'branch' END "
        "WHERE channel IN ('email', 'national_email')"
    )


def downgrade() -> None:
    with op.batch_alter_table("diffusion") as batch:
        batch.drop_column("wave")
    with op.batch_alter_table("mission") as batch:
        batch.drop_column("waves_stopped_at")
        batch.drop_column("wave")
