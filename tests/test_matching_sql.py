"""PostgreSQL ranks a mission's audience with the same scores and order as the pure rule (models/matching.py).

Random volunteers (competences and levels, availability, branch, consents, priority flags, missions in progress,
applications), random missions (1 to 4 competences at minimum levels 1 to 3, branch or national): the SQL ranking
of the whole audience, and its top 5 (the two-pass shortcut), equal the Python ranking of the same people.
"""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    Application,
    ApplicationStatus,
    Association,
    Competence,
    Coordinator,
    Domain,
    Mission,
    MissionCompetence,
    MissionStatus,
    PriorityFlag,
    Scope,
    VolunteerCompetence,
)
from models.volunteer import Availability
from tasks.matching import (
    _audience,
    _has_profile,
    _meets_all,
    _profiles_reaching,
    _ranking,
    candidates,
    rank,
    ranked_in_sql,
    required_competences,
    suggest,
)
from tests import factories as f


def world(session: Session, rng: random.Random) -> list[Mission]:
    """Two branches, 120 volunteers, 3 busy missions, 6 missions to rank."""
    domain = Domain(code="d", name="Domaine")
    session.add(domain)
    session.flush()
    comps = [Competence(domain_id=domain.id, code=f"c{i}", name=f"Compétence {i}") for i in range(6)]
    session.add_all(comps)
    branches = [f.branch(session, "STR"), f.branch(session, "MUL")]
    coord = f.coordinator(session, branches[0])
    asso = f.association(session, branches[0])
    vols = []
    for _ in range(120):
        v = f.volunteer(
            session,
            rng.choice(branches),
            consent_announcements=rng.random() < 0.9,
            consent_national=rng.random() < 0.5,
            availability=rng.choice(list(Availability)),
        )
        vols.append(v)
        for c in rng.sample(comps, rng.randint(0, 4)):
            session.add(VolunteerCompetence(volunteer_id=v.id, competence_id=c.id, level=rng.randint(1, 3)))
        if rng.random() < 0.2:
            session.add(PriorityFlag(volunteer_id=v.id, domain_id=domain.id))
    seq = iter(range(1, 1000))

    def mission(status: MissionStatus, scope: Scope) -> Mission:
        n = next(seq)
        m = Mission(
            reference=f"STR-2026-{n:03d}",
            branch_id=branches[0].id,
            year=2026,
            seq=n,
            association_id=asso.id,
            coordinator_id=coord.id,
            title="Mission",
            domain_id=domain.id,
            status=status,
            scope=scope,
        )
        session.add(m)
        session.flush()
        return m

    for _ in range(3):
        busy = mission(MissionStatus.IN_PROGRESS, Scope.REGIONAL)
        for v in rng.sample(vols, 15):
            session.add(Application(mission_id=busy.id, volunteer_id=v.id, status=ApplicationStatus.SELECTED))
    ranked = []
    for _ in range(6):
        m = mission(MissionStatus.PUBLISHED, rng.choice(list(Scope)))
        for c in rng.sample(comps, rng.randint(1, 4)):
            session.add(MissionCompetence(mission_id=m.id, competence_id=c.id, min_level=rng.randint(1, 3)))
        for v in rng.sample(vols, 5):
            session.add(Application(mission_id=m.id, volunteer_id=v.id))
        ranked.append(m)
    session.flush()
    assert session.scalar(select(Coordinator.id)) and session.scalar(select(Association.id))
    return ranked


@pytest.mark.parametrize("seed", range(6))
def test_sql_ranking_equals_the_python_rule(session: Session, seed: int) -> None:
    for mission in world(session, random.Random(seed)):
        required = required_competences(session, mission.id)
        audience = list(session.scalars(_audience(mission, required)))
        assert audience, "the random world gives every mission someone to rank"
        expected = rank(candidates(session, mission, audience), required)
        assert [s.volunteer_id for s in suggest(session, mission, limit=5)] == [s.volunteer_id for s in expected[:5]]
        assert suggest(session, mission, limit=5) == expected[:5]
        if session.get_bind().dialect.name != "postgresql":
            continue
        everyone = session.execute(_ranking(mission, required, len(audience) + 1, None)).tuples().all()
        assert everyone == [(s.volunteer_id, round(s.total * 10)) for s in expected]
        assert ranked_in_sql(session, mission, required, len(audience) + 1) == [s.volunteer_id for s in expected]
        for limit in (1, 3, 10):
            assert ranked_in_sql(session, mission, required, limit) == [s.volunteer_id for s in expected[:limit]]
        levels = {c.volunteer_id: c.competences for c in candidates(session, mission, audience)}
        meets_all = session.execute(_ranking(mission, required, 10_000, _meets_all(required))).tuples().all()
        assert meets_all == [
            (v, t) for v, t in everyone if all(levels[v].get(c, 0) >= max(m, 1) for c, m in required.items())
        ]
        for floor in (0, 400, 600, 800, 900):  # a profile's people are exactly those with these levels
            for profile in _profiles_reaching(required, floor)[:8]:
                got = session.execute(_ranking(mission, required, 10_000, _has_profile(required, profile))).tuples()
                want = tuple(profile)
                assert got.all() == [
                    (v, t) for v, t in everyone if tuple(levels[v].get(c, 0) for c in required) == want
                ]
