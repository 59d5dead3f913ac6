"""PostgreSQL: each volunteer's competences and levels as an integer array, kept by triggers, GIN-indexed

`volunteer.skills` holds `competence_id * 4 + level` for each row of volunteer_competence: ranking a national
audience for a mission (tasks/matching.py) finds those who meet several minimum levels at once through the GIN
index and reads each level from the row. Statement-level triggers on volunteer_competence (insert, update, delete,
with transition tables) rewrite the arrays of the volunteers a statement touched, whoever writes (import, portal,
erasure). Not on SQLite, which ranks in Python; the column is not in the models (tests/test_migrations.py).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 10:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SKILLS_OF = """coalesce((SELECT array_agg(vc.competence_id * 4 + vc.level ORDER BY vc.competence_id)
                 FROM volunteer_competence vc WHERE vc.volunteer_id = v.id), '{}')"""
EVENTS = {"insert": "NEW", "update": "NEW", "delete": "OLD"}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE volunteer ADD COLUMN skills integer[] NOT NULL DEFAULT '{}'")
    op.execute(
        f"UPDATE volunteer v SET skills = {SKILLS_OF} WHERE EXISTS "
        "(SELECT 1 FROM volunteer_competence vc WHERE vc.volunteer_id = v.id)"
    )
    op.execute("CREATE INDEX ix_volunteer_skills ON volunteer USING gin (skills)")
    op.execute(f"""
        CREATE FUNCTION volunteer_skills_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE volunteer v SET skills = {SKILLS_OF}
            WHERE v.id IN (SELECT DISTINCT volunteer_id FROM changed);
            RETURN NULL;
        END $$""")
    for event, table in EVENTS.items():
        op.execute(
            f"CREATE TRIGGER volunteer_skills_{event} AFTER {event.upper()} ON volunteer_competence "
            f"REFERENCING {table} TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION volunteer_skills_refresh()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for event in EVENTS:
        op.execute(f"DROP TRIGGER volunteer_skills_{event} ON volunteer_competence")
    op.execute("DROP FUNCTION volunteer_skills_refresh()")
    op.execute("DROP INDEX ix_volunteer_skills")
    op.execute("ALTER TABLE volunteer DROP COLUMN skills")
