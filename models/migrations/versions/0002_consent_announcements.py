"""rename volunteer.consent_annonces to consent_announcements (English identifiers)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 05:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# RENAME COLUMN in place (PostgreSQL, SQLite >= 3.25): a batch copy of the table would fail on SQLite's foreign keys
# as soon as other tables point at volunteers.


def upgrade() -> None:
    op.execute("ALTER TABLE volunteer RENAME COLUMN consent_annonces TO consent_announcements")


def downgrade() -> None:
    op.execute("ALTER TABLE volunteer RENAME COLUMN consent_announcements TO consent_annonces")
