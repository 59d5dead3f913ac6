"""Ranking applicants and suggesting strong non-applicants for a mission (rule in models/matching.py)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Integer, Select, case, column, func, select, values
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
from models.matching import (
    AVAILABILITY_TENTHS,
    BUSY_COUNTED,
    Candidate,
    Score,
    competence_tenths,
    other_tenths,
    rank,
)
from models.volunteer import Availability
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
    """The `limit` best reachable volunteers in the mission's scope who have not applied and have at least one of
    its competences, best first. PostgreSQL ranks them (a national audience is hundreds of thousands); elsewhere
    every one is scored in Python. Same scores, same order (tests/test_matching_sql.py)."""
    required = required_competences(session, mission.id)
    if not required:
        return []
    if session.get_bind().dialect.name == "postgresql":
        ids = ranked_in_sql(session, mission, required, limit)
    else:
        ids = list(session.scalars(_audience(mission, required)))
    return rank(candidates(session, mission, ids), required)[:limit]


def _audience(mission: Mission, required: dict[int, int]) -> Select[Any]:
    """Reachable volunteers in scope, not applicants, with at least one required competence."""
    applied = select(Application.volunteer_id).where(Application.mission_id == mission.id)
    has_one = (
        select(VolunteerCompetence.volunteer_id)
        .where(VolunteerCompetence.volunteer_id == Volunteer.id, VolunteerCompetence.competence_id.in_(required))
        .exists()
    )
    return select(Volunteer.id).where(may_receive(mission), Volunteer.id.not_in(applied), has_one)


def ranked_in_sql(session: Session, mission: Mission, required: dict[int, int], limit: int) -> list[int]:
    """The ids of the `limit` best of `_audience`, best first, scored by PostgreSQL with the integer rule of
    models/matching.py.

    Two passes: first only volunteers who have every required competence (a small share nationally). Anyone else
    lacks one, so scores at most `ceiling` below; if the last of the first pass scores above it, nobody else can
    enter the list and the answer is exact. Otherwise the second pass ranks everyone with one of the competences."""
    n = len(required)
    ceiling = competence_tenths(30 * (n - 1), n) + sum(other_tenths(True, Availability.AVAILABLE, True, 0).values())
    rows = session.execute(_ranking(mission, required, limit, every=True)).all()
    if len(rows) < limit or rows[-1].total <= ceiling:
        rows = session.execute(_ranking(mission, required, limit, every=False)).all()
    return [r.id for r in rows]


def _ranking(mission: Mission, required: dict[int, int], limit: int, *, every: bool) -> Select[Any]:
    """The SQL of one pass: total in tenths of a point, best first, ties by id (as `models.matching.rank`)."""
    n = len(required)
    req = (
        values(column("competence_id", Integer), column("need", Integer), name="req")
        .data([(cid, max(level, 1)) for cid, level in sorted(required.items())])
    )  # fmt: skip
    vc = VolunteerCompetence
    earned = func.sum(case((vc.level >= req.c.need, 21 + 3 * vc.level), else_=(12 * vc.level) // req.c.need))
    owned = (
        select(vc.volunteer_id, earned.label("earned"))
        .join(req, vc.competence_id == req.c.competence_id)
        .group_by(vc.volunteer_id)
    )
    if every:
        owned = owned.having(func.count() == n)
    owned_q = owned.subquery("owned")
    priority = (
        select(PriorityFlag.volunteer_id)
        .where(PriorityFlag.domain_id == mission.domain_id, PriorityFlag.cleared_at.is_(None))
        .distinct()
        .subquery("priority")
    )
    busy = (
        select(Application.volunteer_id, func.count().label("missions"))
        .join(Mission, Mission.id == Application.mission_id)
        .where(
            Application.status == ApplicationStatus.SELECTED,
            Mission.status.in_([MissionStatus.SELECTED, MissionStatus.IN_PROGRESS]),
            Mission.id != mission.id,
        )
        .group_by(Application.volunteer_id)
        .subquery("busy")
    )
    other = other_tenths(True, Availability.AVAILABLE, True, 1)
    tenths = (
        (40 * owned_q.c.earned + n) // (2 * n)
        + case((priority.c.volunteer_id.is_not(None), other["priorité"]), else_=0)
        + case(*((Volunteer.availability == a, t) for a, t in AVAILABILITY_TENTHS.items() if t), else_=0)
        + case((Volunteer.branch_id == mission.branch_id, other["proximité"]), else_=0)
        + other["missions en cours"] * func.least(func.coalesce(busy.c.missions, 0), BUSY_COUNTED)
    )
    total = func.greatest(tenths, 0).label("total")
    applied = select(Application.volunteer_id).where(Application.mission_id == mission.id)
    return (
        select(Volunteer.id, total)
        .join(owned_q, owned_q.c.volunteer_id == Volunteer.id)
        .outerjoin(priority, priority.c.volunteer_id == Volunteer.id)
        .outerjoin(busy, busy.c.volunteer_id == Volunteer.id)
        .where(may_receive(mission), Volunteer.id.not_in(applied))
        .order_by(total.desc(), Volunteer.id)
        .limit(limit)
    )
