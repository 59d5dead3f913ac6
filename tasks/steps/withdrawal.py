"""A retained volunteer withdraws, before the roadmap or during the mission: their place is filled again.

Not a step of its own: the roadmap and check-in forms offer the decision « un bénévole retenu se désiste », naming
who withdraws. Only their applications are marked withdrawn: the other retained volunteers stay retained and the
roadmap is kept; the mission goes back to « Annonce diffusée » (`published_at` kept, so the report's funnel counts
the first publication; its selection and start dates kept while someone is still retained); the association and
the volunteer are told. The flow goes back to the selection, for the empty place: from the reserve (and those the
closed search thanked), without a new diffusion; or on with fewer; or the search starts again (applications). The
selection and the roadmap are asked again under keys of their own (`selection-retour-1`...): replays stay
deterministic.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Application, ApplicationStatus, Mission, Volunteer
from models.base import utcnow
from tasks import notices
from tasks.missions import reopen_search
from tasks.steps.base import Ctx, Outcome, refuse_if
from tasks.steps.selection import volunteer_ids

DECISION = "un bénévole retenu se désiste : reprendre la recherche"  # stored in answers: keep the wording
WHO = "Bénévole(s) qui se désiste(nt)"


def withdrawn_field() -> Any:
    """Who withdraws: a choice among the retained volunteers (used only with the withdrawal decision)."""
    return Field(
        default_factory=list,
        title=WHO,
        description=f"Seulement avec la décision « {DECISION} » : sa place est pourvue à nouveau (réserve).",
    )


def check(*, withdrawing: bool, named: list[str], selected: Collection[int]) -> list[str]:
    """Reasons to refuse a withdrawal (pure): nobody named, someone not retained, names without the decision."""
    if not withdrawing:
        return [] if not named else [f"« {WHO} » n'est rempli qu'avec la décision « {DECISION} »."]
    ids, errors = volunteer_ids(named)
    if not named:
        errors.append(f"Indiquez dans « {WHO} » qui se désiste.")
    errors += [
        f"V-{vid:04d} n'est pas retenu(e) pour cette mission." for vid in dict.fromkeys(ids) if vid not in selected
    ]
    return errors


def retained(session: Session, mission: Mission) -> dict[int, str]:
    """The retained volunteers of the mission: id → form label."""
    rows = session.scalars(
        select(Volunteer)
        .join(Application, Application.volunteer_id == Volunteer.id)
        .where(Application.mission_id == mission.id, Application.status == ApplicationStatus.SELECTED)
        .order_by(Volunteer.id)
    )
    return {v.id: v.label for v in rows}


def choices(session: Session, mission: Mission) -> dict[str, list[str]]:
    """The form choices of « Bénévole(s) qui se désiste(nt) »."""
    return {"withdrawn": list(retained(session, mission).values())}


def reopen(session: Session, mission: Mission, named: list[str], notes: str, ctx: Ctx, *, action: str) -> Outcome:
    """Record the withdrawal of the named retained volunteers; the others stay retained, the roadmap is kept, and
    the selection is asked again for the empty places."""
    selected = retained(session, mission)
    refuse_if(check(withdrawing=True, named=named, selected=selected))
    ids, _ = volunteer_ids(named)
    now = utcnow()
    for app in session.scalars(select(Application).where(Application.mission_id == mission.id)):
        if app.volunteer_id in ids:
            app.status, app.decided_at = ApplicationStatus.WITHDRAWN, now
    staying = sorted(set(selected) - set(ids))
    details: dict[str, Any] = {"withdrawn": sorted(set(ids)), "still_retained": staying}
    reopen_search(
        session, mission, actor=ctx.actor, step_key=ctx.key, action=action, details=details, keep_dates=bool(staying)
    )
    session.flush()
    notices.withdrawal(session, mission, sorted(set(ids)), occasion=ctx.asked, reason=notes.strip())
    return Outcome.WITHDRAWN
