"""A retained volunteer withdraws, before the roadmap or during the mission: the search reopens.

Not a step of its own: the roadmap and check-in forms offer the decision « un bénévole retenu se désiste », naming
who withdraws. Their applications are marked withdrawn; the other applicants become selectable again (their
priority flags kept); a roadmap being followed is set aside (the next volunteer agrees a new one); the mission goes
back to « Annonce diffusée » (`published_at` kept, so the report's funnel counts the first publication); the
association and the volunteer are told. The flow then goes back to the applications form (record more, wait, widen
the diffusion, or select), and asks the selection and the roadmap again under keys of their own
(`selection-retour-1`...): replays stay deterministic.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from pydantic import Field
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from models import Application, ApplicationStatus, Mission, Roadmap, RoadmapObjective, Volunteer
from models.base import utcnow
from tasks import notices
from tasks.missions import reopen_search
from tasks.steps.base import Ctx, Outcome, refuse_if
from tasks.steps.selection import volunteer_ids

DECISION = "un bénévole retenu se désiste : reprendre la recherche"
WHO = "Bénévole(s) qui se désiste(nt)"


def withdrawn_field() -> Any:
    """Who withdraws: a choice among the retained volunteers (used only with the withdrawal decision)."""
    return Field(
        default_factory=list,
        title=WHO,
        description=f"Seulement avec la décision « {DECISION} » : la mission revient aux candidatures.",
    )


def check(*, withdrawing: bool, named: list[str], selected: Collection[int]) -> list[str]:
    """Reasons to refuse a withdrawal (pure): nobody named, someone not retained, names without the decision."""
    if not withdrawing:
        return [] if not named else [f"« {WHO} » n'est rempli qu'avec la décision « {DECISION} »."]
    ids, errors = volunteer_ids(named)
    if not named:
        errors.append(f"Indiquez dans « {WHO} » qui se désiste.")
    errors += [f"V-{vid:04d} n'est pas retenu(e) pour cette mission." for vid in dict.fromkeys(ids)
               if vid not in selected]  # fmt: skip
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
    """Record the withdrawal of the named retained volunteers and reopen the search."""
    selected = retained(session, mission)
    refuse_if(check(withdrawing=True, named=named, selected=selected))
    ids, _ = volunteer_ids(named)
    now = utcnow()
    reopened = 0
    for app in session.scalars(select(Application).where(Application.mission_id == mission.id)):
        if app.volunteer_id in ids:
            app.status, app.decided_at = ApplicationStatus.WITHDRAWN, now
        elif app.status is not ApplicationStatus.WITHDRAWN:
            app.status, app.decided_at = ApplicationStatus.RECEIVED, None
            reopened += 1
    details: dict[str, Any] = {"withdrawn": sorted(set(ids)), "applicants_again": reopened}
    roadmap = session.scalar(select(Roadmap).where(Roadmap.mission_id == mission.id))
    if roadmap is not None:  # set aside: kept in the audit, the next volunteer agrees a new one
        objectives = session.scalars(select(RoadmapObjective).where(RoadmapObjective.roadmap_id == roadmap.id))
        details["roadmap_set_aside"] = {
            "start_on": str(roadmap.start_on), "end_on": str(roadmap.end_on),
            "objectives": [o.objective for o in objectives],
        }  # fmt: skip
        session.execute(delete(RoadmapObjective).where(RoadmapObjective.roadmap_id == roadmap.id))
        session.execute(delete(Roadmap).where(Roadmap.id == roadmap.id))
    reopen_search(session, mission, actor=ctx.actor, step_key=ctx.key, action=action, details=details)
    session.flush()
    notices.withdrawal(session, mission, sorted(set(ids)), occasion=ctx.asked, reason=notes.strip())
    return Outcome.WITHDRAWN
