"""Step 3, diffusion (automatic): the approved annonce is mailed to the branch, nationally when remote.

Round 1 publishes the mission; a later round widens the diffusion (asked from the applications form).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Announcement, AnnouncementStatus, Mission, MissionStatus
from tasks.diffusion import diffuse
from tasks.fees import bill_search
from tasks.missions import StepRefused, advance, audit
from tasks.steps.base import Step

ACTOR = "diffusion"


def run(session: Session, mission: Mission, round_: int) -> dict[str, int]:
    """Diffuse the latest approved annonce; round 1 makes the mission `published`."""
    approved = session.scalar(
        select(Announcement)
        .where(Announcement.mission_id == mission.id, Announcement.status == AnnouncementStatus.APPROVED)
        .order_by(Announcement.round.desc())
    )
    if approved is None:
        raise StepRefused(f"La mission {mission.reference} n'a pas d'annonce approuvée.")
    counts = diffuse(session, mission, round_=round_, text=approved.text, social=approved.social_text)
    key = STEP.step_key(round_)
    if mission.status is MissionStatus.APPROVED:
        bill_search(session, mission)  # the search has begun
        advance(session, mission, MissionStatus.PUBLISHED, actor=ACTOR, step_key=key, action=STEP.key, details=counts)
    else:
        audit(session, mission, actor=ACTOR, action=STEP.key, step_key=key, details=counts)
    return counts


STEP = Step(
    key="diffusion",
    label="Diffusion",
    instructions="L'annonce est envoyée automatiquement aux bénévoles de l'antenne (et de toute la France pour une "
    "mission à distance).",
    next_action="vérifier la diffusion (automatique)",
    service_level=2,
    status=MissionStatus.APPROVED,
    round_key="diffusion",
    run=run,
)
