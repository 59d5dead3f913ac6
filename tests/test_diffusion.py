"""Who receives an annonce: consent, branch or national scope, archived and unsubscribed, priority first."""

from __future__ import annotations

from sqlalchemy import select

from models import Domain, Mission, PriorityFlag, Scope, Volunteer
from models.base import utcnow
from models.db import unit_of_work
from tasks.diffusion import audience
from tests import factories as f
from tests import lifecycle_driver as d


def test_audience_by_scope_consent_and_priority(app_db) -> None:
    d.seed_small(n_volunteers=6)  # STR: V1..V6; V6 without consent; V2, V4, V6 accept national annonces
    with unit_of_work() as s:
        mul = f.branch(s, "MUL")
        far = [f.volunteer(s, mul, consent_national=True), f.volunteer(s, mul, consent_national=False)]
        s.get(Volunteer, 3).unsubscribed_at = utcnow()  # type: ignore[union-attr]
        s.get(Volunteer, 5).archived_at = utcnow()  # type: ignore[union-attr]
        m = d.new_mission(s, "Site")
        domain = s.scalar(select(Domain).where(Domain.code == "web-numerique"))
        m.domain_id = domain.id  # type: ignore[union-attr]
        s.add(PriorityFlag(volunteer_id=4, domain_id=domain.id))  # type: ignore[union-attr]
        mission_id, national_id = m.id, far[0].id

    with unit_of_work() as s:
        found = s.get(Mission, mission_id)
        assert found is not None
        m = found
        assert audience(s, m) == [(4, True), (1, False), (2, False)]
        m.scope = Scope.NATIONAL
        assert audience(s, m) == [(4, True), (1, False), (2, False), (national_id, False)]
        # One rule, in Python and in SQL: who may receive an annonce at all.
        in_python = {v.id for v in s.scalars(select(Volunteer)) if v.reachable}
        assert in_python == set(s.scalars(select(Volunteer.id).where(Volunteer.reachable)))
        assert in_python == {1, 2, 4, national_id, far[1].id}
