"""The search closes at the roadmap (issue 21, items 1-2): the Passerelle retains as many volunteers as planned
(or says why not); the others are in reserve, told so with a link to ask for priority in the domain, which puts
them first in the next mission's first wave; an application after the selection is in reserve too; the roadmap's
validation closes the search (the reserve thanked once, no application any more). On both databases, through the
steps' handler and the portal's pages (no Prefect server: the flow's side is tests/test_lifecycle_paths.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from models import Application, ApplicationStatus, Mission, OutboxMail, PriorityFlag, Volunteer
from models.db import unit_of_work
from tasks.diffusion import audience
from tasks.links import Purpose, link
from tasks.steps import ANNOUNCEMENT, APPLICATIONS, DIFFUSION, NEEDS_ANALYSIS, ROADMAP, SELECTION, Step
from tasks.steps.answers import Verdict, handle
from tests import lifecycle_driver as d


@pytest.fixture
def portal(app_db) -> Iterator[TestClient]:
    from portal.app import app

    d.seed_small()
    with TestClient(app) as client:
        yield client


def answer(mission_id: int, step: Step, data: dict[str, Any], key: str = "") -> Verdict:
    with unit_of_work() as s:
        return handle(s, mission_id, step, key or step.step_key(1), data)


def search(title: str, applicants: str, needed: int = 1) -> int:
    """A mission of the web domain needing `needed` volunteers, diffused, with these applications; its id."""
    with unit_of_work() as s:
        mission_id = d.new_mission(s, title).id
    assert not answer(mission_id, NEEDS_ANALYSIS, d.needs_analysis(title=title, volunteers_needed=needed)).error
    assert not answer(mission_id, ANNOUNCEMENT, d.annonce(title)).error
    with unit_of_work() as s:
        assert DIFFUSION.run is not None
        mission = s.get(Mission, mission_id)
        assert mission is not None
        DIFFUSION.run(s, mission, 1)
    assert not answer(mission_id, APPLICATIONS, d.applications(applicants)).error
    return mission_id


def label(volunteer_id: int) -> str:
    with unit_of_work() as s:
        v = s.get(Volunteer, volunteer_id)
        assert v is not None
        return v.label


def path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def mails(mission_id: int, kind: str) -> list[OutboxMail]:
    with unit_of_work() as s:
        rows = s.scalars(select(OutboxMail).where(OutboxMail.mission_id == mission_id, OutboxMail.kind == kind))
        return list(rows)


def statuses(mission_id: int) -> dict[int, ApplicationStatus]:
    with unit_of_work() as s:
        query = select(Application.volunteer_id, Application.status).where(Application.mission_id == mission_id)
        return dict(s.execute(query).tuples().all())


def test_two_retained_the_reserve_asks_for_priority_and_the_roadmap_closes_the_search(portal: TestClient) -> None:
    a = search("Site internet", "V-1\nV-2\nV-3", needed=2)

    # One retained for two planned: a confirmation with the reason is asked, in French; nothing written.
    refused = answer(a, SELECTION, d.selection([label(1)]))
    assert "prévoit 2 bénévole(s) et vous en retenez 1" in refused.error
    assert set(statuses(a).values()) == {ApplicationStatus.RECEIVED}
    done = answer(a, SELECTION, d.selection([label(1), label(2)]), "selection-2")
    assert not done.error
    assert statuses(a) == {1: ApplicationStatus.SELECTED, 2: ApplicationStatus.SELECTED, 3: ApplicationStatus.RESERVE}
    [reserve] = mails(a, "reserve")
    assert reserve.to_address == "benevole3@exemple.fr" and "en réserve" in reserve.text_body
    priority_url = re.search(r"http://\S+/priorite/\S+", reserve.text_body)
    assert priority_url is not None

    # After the selection, an application by link is in reserve; the Passerelle is told so.
    r = portal.post(path(link(Purpose.APPLY, v=4, m=a)), data={"message": "Disponible le soir"})
    assert r.status_code == 200, r.text
    assert statuses(a)[4] is ApplicationStatus.RESERVE
    [told] = mails(a, "application_received")
    assert "en réserve" in told.text_body
    assert [m.to_address for m in mails(a, "reserve")] == ["benevole3@exemple.fr", "benevole4@exemple.fr"]

    # The reserve asks, in one click, for another mission in the domain: priority, once.
    url = path(priority_url.group(0))
    page = portal.get(url)
    assert page.status_code == 200 and "Oui, je souhaite une autre mission" in page.text
    assert portal.post(url).status_code == 200
    assert "prioritaire dans le domaine" in portal.post(url).text and "est noté" in portal.get(url).text
    assert portal.post(url[:-3] + "abc").status_code == 400  # a forged link: a French page, nothing written
    assert portal.post(path(link(Purpose.PRIORITY, v=1, m=a))).status_code == 409  # retained: nothing to ask
    with unit_of_work() as s:
        flags = [(f.volunteer_id, f.source_mission_id) for f in s.scalars(select(PriorityFlag))]
    assert flags == [(3, a)]

    # The next mission of the domain goes first to them.
    b = search("Boutique en ligne", "V-5")
    with unit_of_work() as s:
        mission = s.get(Mission, b)
        assert mission is not None
        assert audience(s, mission)[0] == (3, True)
        first = s.scalars(
            select(OutboxMail.to_address)
            .where(OutboxMail.mission_id == b, OutboxMail.kind == "annonce")
            .order_by(OutboxMail.id)
        ).first()
    assert first == "benevole3@exemple.fr"

    # The roadmap's validation closes the search: the reserve thanked once, no application any more.
    assert not answer(a, ROADMAP, d.roadmap(agreed_by_phone=[label(1), label(2)])).error
    assert statuses(a) == {
        1: ApplicationStatus.SELECTED,
        2: ApplicationStatus.SELECTED,
        3: ApplicationStatus.CLOSED,
        4: ApplicationStatus.CLOSED,
    }
    assert sorted(m.to_address for m in mails(a, "search_closed")) == ["benevole3@exemple.fr", "benevole4@exemple.fr"]
    late = portal.post(path(link(Purpose.APPLY, v=5, m=a)), data={"message": ""})
    assert late.status_code == 409 and "plus ouverte aux candidatures" in late.text
    assert 5 not in statuses(a)


def test_going_on_with_fewer_needs_a_reason(app_db) -> None:
    from tasks.steps.selection import Decision, SelectionForm, check

    keep = SelectionForm(selected=[], decision=Decision.KEEP)
    assert "Aucun bénévole n'est encore retenu" in check(keep, applicants={1, 2}, retained=[], needed=2)[0]
    assert "confirmez en indiquant pourquoi" in check(keep, applicants={1, 2}, retained=[1], needed=2)[0]
    keep = SelectionForm(selected=[], decision=Decision.KEEP, count_reason="L'association s'en contentera.")
    assert check(keep, applicants={1, 2}, retained=[1], needed=2) == []
    assert check(SelectionForm(selected=[], decision=Decision.REOPEN), applicants=set(), retained=[], needed=2) == []
