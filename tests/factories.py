"""Test data builders that mirror the models: each adds one row with sensible defaults, flushes, returns it.

Keyword arguments override any column, so a test states only what it is about.
"""

from __future__ import annotations

from itertools import count
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Association, Branch, Competence, Coordinator, Role, Volunteer, VolunteerCompetence

BRANCH_NAMES = {"STR": "Strasbourg", "MUL": "Mulhouse", "MET": "Metz", "PAR": "Paris", "LYO": "Lyon"}
_numbers = count(1)


def _add(session: Session, row: Any) -> Any:
    session.add(row)
    session.flush()
    return row


def branch(session: Session, code: str = "STR", **over: Any) -> Branch:
    """A branch (Strasbourg by default; the name follows the code)."""
    fields = {"code": code, "name": BRANCH_NAMES.get(code, code.title()), "region": "Grand Est"}
    return _add(session, Branch(**{**fields, **over}))


def coordinator(
    session: Session, at: Branch, first_name: str = "Claire", last_name: str = "Muller", **over: Any
) -> Coordinator:
    """A Passerelle of the branch (`role=Role.BRANCH_LEAD` for its lead); the e-mail follows the name."""
    email = f"{first_name}.{last_name}@pc.example".lower()
    fields = {
        "branch_id": at.id,
        "first_name": first_name,
        "last_name": last_name,
        "email": email,
        "role": Role.PASSERELLE,
    }
    return _add(session, Coordinator(**{**fields, **over}))


def association(session: Session, at: Branch, name: str = "Les Restos du Quartier", **over: Any) -> Association:
    """An association of the branch with a contact and an annual budget of 80,000 € (second fee bracket)."""
    fields = {
        "branch_id": at.id,
        "name": name,
        "contact_name": "Paul Weber",
        "contact_email": "contact@restos.example",
        "annual_budget": 80_000,
        "city": at.name,
    }
    return _add(session, Association(**{**fields, **over}))


def volunteer(session: Session, at: Branch, *, competences: dict[str, int] | None = None, **over: Any) -> Volunteer:
    """A consenting volunteer of the branch, with competences given as {code: level}."""
    n = next(_numbers)
    fields = {
        "branch_id": at.id,
        "first_name": f"Prénom{n}",
        "last_name": f"Nom{n}",
        "email": f"benevole{n}@exemple.fr",
        "consent_announcements": True,
    }
    v = _add(session, Volunteer(**{**fields, **over}))
    if competences:
        codes = select(Competence.code, Competence.id).where(Competence.code.in_(competences))
        ids = dict(session.execute(codes).tuples().all())
        session.add_all(
            VolunteerCompetence(volunteer_id=v.id, competence_id=ids[code], level=level)
            for code, level in competences.items()
        )
        session.flush()
    return v


def token_for(email: str) -> str:
    """A personal token of the team member of `email` (what `passerelles login` keeps after a sign-in link)."""
    from models.db import unit_of_work
    from tasks import identity

    with unit_of_work() as s:
        member = identity.active_member(s, email)
        assert member is not None, email
        return identity.open_session(s, member, kind="token")
