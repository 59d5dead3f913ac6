"""Ranking applicants and suggesting strong non-applicants for a mission (rule in models/matching.py)."""

from __future__ import annotations

from collections import defaultdict
from itertools import product
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, and_, case, func, literal, literal_column, not_, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
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
    MAX_LEVEL,
    Candidate,
    Score,
    competence_tenths,
    competence_thirtieths,
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


# PostgreSQL only (migration 0007): each volunteer's competences and levels as `competence_id * 4 + level`, kept
# by triggers on volunteer_competence, with a GIN index. « Has competence c at level m or more » is an overlap with
# {4c + m, ..., 4c + 3}: the index finds those who meet several minimums at once among a million.
SKILLS = literal_column("volunteer.skills", ARRAY(Integer))


def _at_least(competence_id: int, level: int) -> list[int]:
    return [competence_id * 4 + lv for lv in range(max(level, 1), MAX_LEVEL + 1)]


def ranked_in_sql(session: Session, mission: Mission, required: dict[int, int], limit: int) -> list[int]:
    """The ids of the `limit` best of `_audience`, best first, scored by PostgreSQL with the integer rule of
    models/matching.py.

    First those who meet every minimum level, found through the GIN index (a small share nationally). The last
    of that list scores `floor`. Anyone else can reach `floor` only with a competence profile (a level on each
    required competence) worth at least `floor` minus the other criteria at their best; those profiles are few
    when `floor` is high, and the second pass ranks the first list's people with everyone of such a profile, again
    through the index. The answer is exact (tests/test_matching_sql.py); with no strong candidate at all, every
    volunteer with one of the competences is ranked."""
    rows = session.execute(_ranking(mission, required, limit, _meets_all(required))).all()
    if len(rows) < limit:
        return [r.id for r in session.execute(_ranking(mission, required, limit, None)).all()]
    profiles = _profiles_reaching(required, rows[-1].total)
    if not profiles:
        return [r.id for r in rows]
    if len(profiles) > MAX_PROFILES:
        return [r.id for r in session.execute(_ranking(mission, required, limit, None)).all()]
    tier = or_(_meets_all(required), *(_has_profile(required, p) for p in profiles))
    return [r.id for r in session.execute(_ranking(mission, required, limit, tier)).all()]


MAX_PROFILES = 64  # beyond that many profiles to look up, one pass over everyone is as fast


def _meets_all(required: dict[int, int]) -> ColumnElement[bool]:
    """Volunteers at or above the minimum level of every required competence."""
    return and_(*(SKILLS.overlap(_at_least(cid, level)) for cid, level in required.items()))


def _profiles_reaching(required: dict[int, int], floor: int) -> list[tuple[int, ...]]:
    """The level profiles (a level 0..3 per required competence, in `required`'s order; not all 0: the audience has
    one of the competences) below some minimum whose best total, every other criterion at its best, reaches
    `floor` tenths."""
    best_other = sum(other_tenths(True, Availability.AVAILABLE, True, 0).values())
    needs = list(required.values())
    return [
        levels
        for levels in product(range(MAX_LEVEL + 1), repeat=len(needs))
        if any(levels)
        and any(lv < max(need, 1) for lv, need in zip(levels, needs, strict=True))
        and competence_tenths(
            sum(competence_thirtieths(lv, need) for lv, need in zip(levels, needs, strict=True)), len(needs)
        )
        + best_other
        >= floor
    ]


def _has_profile(required: dict[int, int], levels: tuple[int, ...]) -> ColumnElement[bool]:
    """Volunteers with exactly these levels on the required competences (0: not at all)."""
    return and_(
        *(
            SKILLS.overlap([cid * 4 + lv]) if lv else not_(SKILLS.overlap(_at_least(cid, 1)))
            for cid, lv in zip(required, levels, strict=True)
        )
    )


def _ranking(
    mission: Mission, required: dict[int, int], limit: int, tier: ColumnElement[bool] | None
) -> Select[int, int]:
    """The SQL of one pass over `tier` (None: everyone with one of the competences): total in tenths of a point,
    best first, ties by id (as `models.matching.rank`). A volunteer's level on each competence is read from the
    skills array of their row, so no per-volunteer join or aggregate is needed."""
    n = len(required)
    earned: ColumnElement[int] = literal(0)
    for cid, need in required.items():
        points = [(SKILLS.overlap([cid * 4 + lv]), competence_thirtieths(lv, need)) for lv in (3, 2, 1)]
        earned = earned + case(*points, else_=0)
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
        (40 * earned + n) // (2 * n)
        + case((priority.c.volunteer_id.is_not(None), other["priorité"]), else_=0)
        + case(*((Volunteer.availability == a, t) for a, t in AVAILABILITY_TENTHS.items() if t), else_=0)
        + case((Volunteer.branch_id == mission.branch_id, other["proximité"]), else_=0)
        + other["missions en cours"] * func.least(func.coalesce(busy.c.missions, 0), BUSY_COUNTED)
    )
    total = func.greatest(tenths, 0).label("total")
    applied = select(Application.volunteer_id).where(Application.mission_id == mission.id)
    any_of = SKILLS.overlap([x for cid in required for x in _at_least(cid, 1)])
    return (
        select(Volunteer.id, total)
        .outerjoin(priority, priority.c.volunteer_id == Volunteer.id)
        .outerjoin(busy, busy.c.volunteer_id == Volunteer.id)
        .where(any_of if tier is None else tier, may_receive(mission), Volunteer.id.not_in(applied))
        .order_by(total.desc(), Volunteer.id)
        .limit(limit)
    )
