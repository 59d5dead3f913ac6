"""The priority flag across two missions of one domain: raised at mission A's selection, it puts the volunteer
first in mission B's diffusion and ranking, and is cleared when B retains them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from models import Mission, OutboxMail, PriorityFlag, Volunteer
from models.db import unit_of_work
from tasks.diffusion import audience
from tasks.matching import rank_applicants
from tasks.steps import ANNOUNCEMENT, APPLICATIONS, DIFFUSION, NEEDS_ANALYSIS, SELECTION, Outcome, Step
from tasks.steps.answers import handle
from tests import lifecycle_driver as d


def answer(mission_id: int, step: Step, data: dict[str, Any]) -> Outcome:
    with unit_of_work() as s:
        verdict = handle(s, mission_id, step, step.step_key(1), data)
    assert not verdict.error, verdict.error
    return verdict.outcome


def search(title: str, applicants: str) -> int:
    """A mission of the web domain, analysed, approved, diffused, with these applications; its id."""
    with unit_of_work() as s:
        mission_id = d.new_mission(s, title).id
    answer(mission_id, NEEDS_ANALYSIS, d.needs_analysis(title=title))
    answer(mission_id, ANNOUNCEMENT, d.annonce(f"Annonce : {title}"))
    with unit_of_work() as s:
        assert DIFFUSION.run is not None
        DIFFUSION.run(s, s.get_one(Mission, mission_id), 1)
    answer(mission_id, APPLICATIONS, d.applications(applicants))
    return mission_id


def label(volunteer_id: int) -> str:
    with unit_of_work() as s:
        return s.get(Volunteer, volunteer_id).label  # type: ignore[union-attr]


def test_priority_raised_at_a_then_first_in_b_then_cleared(app_db) -> None:
    d.seed_small()
    a = search("Site internet", "V-1\nV-2\nV-3")
    answer(a, SELECTION, d.selection([label(1)], wants_other=[label(2)]))
    with unit_of_work() as s:
        [flag] = s.scalars(select(PriorityFlag)).all()
        assert (flag.volunteer_id, flag.source_mission_id, flag.cleared_at) == (2, a, None)

    b = search("Boutique en ligne", "V-5\nV-2")  # V-2 and V-5 have the same competence level
    with unit_of_work() as s:
        mission = s.get(Mission, b)
        assert audience(s, mission)[0] == (2, True)  # type: ignore[arg-type]
        first = s.scalars(
            select(OutboxMail.to_address)
            .where(OutboxMail.mission_id == b, OutboxMail.kind == "annonce")
            .order_by(OutboxMail.id)
        ).first()
        assert first == "benevole2@exemple.fr"  # the annonce goes to them first
        ranking = rank_applicants(s, mission)  # type: ignore[arg-type]
        assert [r.volunteer_id for r in ranking] == [2, 5]
        assert ranking[0].total == ranking[1].total + 15 and ranking[0].breakdown["priorité"] == 15

    answer(b, SELECTION, d.selection([label(2)]))
    with unit_of_work() as s:
        [flag] = s.scalars(select(PriorityFlag)).all()
        assert flag.cleared_at is not None and flag.cleared_by_mission_id == b
        assert audience(s, s.get(Mission, b))[0] == (1, False)  # type: ignore[arg-type]
