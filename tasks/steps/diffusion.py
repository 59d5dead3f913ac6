"""Step 3, diffusion (automatic): the approved annonce is mailed in waves (models/waves.py): the volunteers
priority in the domain, then the branch, then — remote missions — the whole country.

Round 1 publishes the mission and sends the first wave (the branch at once when no one has priority); each later
round sends the wave the applications form asked for (`mission.wave`): the next one, when it is due
(flows/waves.py) or when the Passerelle asks, or the national one when the Passerelle widens the search.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Announcement, AnnouncementStatus, Mission, MissionStatus
from models.refusals import StepRefused
from models.waves import Wave
from tasks.diffusion import diffuse
from tasks.fees import bill_search
from tasks.missions import advance, audit
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
    if mission.wave is None:  # the publication
        mission.wave = Wave.PRIORITY
    counts = diffuse(
        session, mission, round_=round_, wave=mission.wave, text=approved.text, social=approved.social_text
    )
    if mission.wave is Wave.PRIORITY and not counts["queued"]:  # no one has priority in the domain: the branch now
        mission.wave = Wave.BRANCH
        counts = diffuse(session, mission, round_=round_, wave=mission.wave, text=approved.text)
    key = STEP.step_key(round_)
    details = {**counts, "wave": mission.wave.value}
    if mission.status is MissionStatus.APPROVED:
        bill_search(session, mission)  # the search has begun
        advance(session, mission, MissionStatus.PUBLISHED, actor=ACTOR, step_key=key, action=STEP.key, details=details)
    else:
        audit(session, mission, actor=ACTOR, action=STEP.key, step_key=key, details=details)
    return counts


STEP = Step(
    key="diffusion",
    label="Diffusion",
    instructions="L'annonce est envoyée automatiquement, par vagues : d'abord aux bénévoles prioritaires du "
    "domaine, puis à l'antenne, puis — mission à distance sans candidature adaptée — à toute la France.",
    next_action="vérifier la diffusion (automatique)",
    service_level=2,
    status=MissionStatus.APPROVED,
    round_key="diffusion",
    run=run,
)
