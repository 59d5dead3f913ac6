"""Who receives an annonce: consent, branch or national scope, archived and unsubscribed, priority first."""

from __future__ import annotations

from sqlalchemy import select

from models import Branch, Domain, Mission, PriorityFlag, Scope, Volunteer
from models.base import utcnow
from models.db import unit_of_work
from tasks.diffusion import audience
from tests import lifecycle_driver as d


def test_audience_by_scope_consent_and_priority(app_db) -> None:  # type: ignore[no-untyped-def]
    d.seed_small(n_volunteers=6)  # STR: V1..V6; V6 without consent; V2, V4, V6 accept national annonces
    with unit_of_work() as s:
        mul = Branch(code="MUL", name="Mulhouse", region="Grand Est")
        s.add(mul)
        s.flush()
        far = [
            Volunteer(
                branch_id=mul.id,
                first_name="A",
                last_name="N",
                email="national@exemple.fr",
                consent_annonces=True,
                consent_national=True,
            ),
            Volunteer(
                branch_id=mul.id,
                first_name="B",
                last_name="R",
                email="regional@exemple.fr",
                consent_annonces=True,
                consent_national=False,
            ),
        ]
        s.add_all(far)
        s.get(Volunteer, 3).unsubscribed_at = utcnow()  # type: ignore[union-attr]
        s.get(Volunteer, 5).archived_at = utcnow()  # type: ignore[union-attr]
        m = d.new_mission(s, "Site")
        domain = s.scalar(select(Domain).where(Domain.code == "web-numerique"))
        m.domain_id = domain.id  # type: ignore[union-attr]
        s.add(PriorityFlag(volunteer_id=4, domain_id=domain.id))  # type: ignore[union-attr]
        mission_id, national_id = m.id, far[0].id

    with unit_of_work() as s:
        m = s.get(Mission, mission_id)
        assert audience(s, m, national=False) == [(4, True), (1, False), (2, False)]  # type: ignore[arg-type]
        m.scope = Scope.NATIONAL  # type: ignore[union-attr]
        assert audience(s, m, national=True) == [(4, True), (1, False), (2, False), (national_id, False)]  # type: ignore[arg-type]
