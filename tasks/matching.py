"""Ranking applicants and suggesting strong non-applicants for a mission (rule in models/matching.py)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import (
    Application,
    ApplicationStatus,
    Mission,
    MissionCompetence,
    MissionStatus,
    PriorityFlag,
    Volunteer,
    VolunteerCompetence,
)
from models.matching import Candidate, Score, rank
from tasks.diffusion import may_receive


def required_competences(session: Session, mission_id: int) -> dict[int, int]:
    """The mission's required competences: id -> minimum level."""
    rows = session.execute(
        select(MissionCompetence.competence_id, MissionCompetence.min_level).where(
            MissionCompetence.mission_id == mission_id
        )
    )
    return dict(rows.tuples().all())


def candidates(session: Session, mission: Mission, volunteer_ids: list[int]) -> list[Candidate]:
    """What matching needs of these volunteers, in four queries whatever their number."""
    if not volunteer_ids:
        return []
    comps: dict[int, dict[int, int]] = defaultdict(dict)
    for vid, cid, level in session.execute(
        select(VolunteerCompetence.volunteer_id, VolunteerCompetence.competence_id, VolunteerCompetence.level).where(
            VolunteerCompetence.volunteer_id.in_(volunteer_ids)
        )
    ):
        comps[vid][cid] = level
    priority = set(
        session.scalars(
            select(PriorityFlag.volunteer_id).where(
                PriorityFlag.volunteer_id.in_(volunteer_ids),
                PriorityFlag.domain_id == mission.domain_id,
                PriorityFlag.cleared_at.is_(None),
            )
        )
    )
    busy = dict(
        session.execute(
            select(Application.volunteer_id, func.count())
            .join(Mission, Mission.id == Application.mission_id)
            .where(
                Application.volunteer_id.in_(volunteer_ids),
                Application.status == ApplicationStatus.SELECTED,
                Mission.status.in_([MissionStatus.SELECTED, MissionStatus.IN_PROGRESS]),
                Mission.id != mission.id,
            )
            .group_by(Application.volunteer_id)
        ).all()
    )
    vols = session.execute(
        select(Volunteer.id, Volunteer.availability, Volunteer.branch_id).where(Volunteer.id.in_(volunteer_ids))
    )
    return [
        Candidate(vid, comps[vid], vid in priority, availability, busy.get(vid, 0), branch_id == mission.branch_id)
        for vid, availability, branch_id in vols
    ]


def rank_applicants(session: Session, mission: Mission) -> list[Score]:
    """Score every application of the mission, store score and breakdown on it, and return them best first."""
    apps = {a.volunteer_id: a for a in session.scalars(select(Application).where(Application.mission_id == mission.id))}
    scores = rank(candidates(session, mission, list(apps)), required_competences(session, mission.id))
    for s in scores:
        apps[s.volunteer_id].score = s.total
        apps[s.volunteer_id].score_detail = s.breakdown
    return scores


def suggest(session: Session, mission: Mission, *, limit: int = 5) -> list[Score]:
    """Strong reachable volunteers in the mission's scope who have not applied, best first."""
    required = required_competences(session, mission.id)
    if not required:
        return []
    applied = select(Application.volunteer_id).where(Application.mission_id == mission.id)
    query = (
        select(VolunteerCompetence.volunteer_id)
        .join(Volunteer, Volunteer.id == VolunteerCompetence.volunteer_id)
        .where(VolunteerCompetence.competence_id.in_(required), may_receive(mission), Volunteer.id.not_in(applied))
        .group_by(VolunteerCompetence.volunteer_id)
        .order_by(func.sum(VolunteerCompetence.level).desc(), VolunteerCompetence.volunteer_id)
        .limit(limit * 20)
    )
    ids = list(session.scalars(query))
    return rank(candidates(session, mission, ids), required)[:limit]
