"""The mission lifecycle on a real Prefect server, real database (SQLite and PostgreSQL), real SMTP server."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from models import (
    Announcement,
    Application,
    ApplicationStatus,
    AuditEvent,
    CheckIn,
    Diffusion,
    Mission,
    MissionStatus,
    OutboxMail,
    PriorityFlag,
    Review,
    Roadmap,
    Volunteer,
)
from models.db import unit_of_work
from tests import lifecycle_driver as d

pytestmark = pytest.mark.slow


def mission(mission_id: int) -> Mission:
    with unit_of_work() as s:
        return s.get(Mission, mission_id)  # type: ignore[return-value]


def count(model: Any, mission_id: int) -> int:
    with unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(model).where(model.mission_id == mission_id)) or 0


def sent_to(server, kind: str) -> list[str]:
    return sorted(m["To"] for m in server.messages if m["X-Passerelles-Kind"] == kind)


def test_whole_mission_from_request_to_bilan(lifecycle) -> None:
    mail = lifecycle
    mission_id, run_id = d.open_and_start()
    drv = d.Driver(run_id)
    assert mission(mission_id).status is MissionStatus.REQUESTED

    fr = drv.run()
    assert fr.name.startswith("mission-STR-")
    assert "antenne:STR" in fr.tags
    form = drv.form()
    assert form["key"] == "needs-analysis"
    assert "Analyse du besoin" in form["description"]
    assert form["schema"]["properties"]["volunteers_needed"]["maximum"] == 10
    assert sent_to(mail, "waiting") == ["claire.muller@pc.example"]
    assert run_id in mail.messages[0].get_body(("plain",)).get_content()

    drv.resume(d.needs_analysis())
    m = mission(mission_id)
    assert m.status is MissionStatus.ANALYSED and m.analysed_at is not None
    form = drv.form()
    assert form["key"] == "annonce-review-1"
    text = form["schema"]["properties"]["text"]["default"]
    assert "RECHERCHE BÉNÉVOLE" in text and "Conception de site internet" in text

    drv.resume(d.annonce(text))
    m = mission(mission_id)
    assert m.status is MissionStatus.PUBLISHED
    # 6 volunteers, the last one without consent: 5 annonces, in priority order
    assert len(sent_to(mail, "annonce")) == 5
    annonces = [m for m in mail.messages if m["X-Passerelles-Kind"] == "annonce"]
    assert {m["Reply-To"] for m in annonces} == {"claire.muller@pc.example"}  # answers reach the Passerelle
    assert count(Diffusion, mission_id) == 1  # the mails; the social post once the support team confirms it
    assert sent_to(mail, "social_post") == ["claire.muller@pc.example"]  # no support team here: the Passerelle
    from deployments.cli import main

    assert main(["social-posted", m.reference, "--portee", "-3"]) == 1
    assert main(["social-posted", m.reference, "--portee", "350"]) == 0
    assert main(["social-posted", m.reference]) == 1  # once
    assert count(Diffusion, mission_id) == 2
    assert drv.form()["key"] == "applications-1"

    drv.resume(d.applications("V-0001 : intéressé\nbenevole2@EXEMPLE.fr\nV-3"))
    assert count(Application, mission_id) == 3
    form = drv.form()
    assert form["key"] == "selection"
    assert "Candidats classés" in form["description"] and "compétences" in form["description"].lower()
    labels = form["schema"]["properties"]["selected"]["items"]["enum"]
    assert len(labels) == 3

    first, second = labels[0], labels[1]
    drv.resume(d.selection([first], wants_other=[second]))
    m = mission(mission_id)
    assert m.status is MissionStatus.SELECTED
    with unit_of_work() as s:
        statuses = dict(s.execute(select(Application.volunteer_id, Application.status)).tuples().all())
        assert sorted(statuses.values()) == [ApplicationStatus.RESERVE] * 2 + [ApplicationStatus.SELECTED]
        assert s.scalar(select(func.count()).select_from(PriorityFlag)) == 1
    assert len(sent_to(mail, "selected")) == 1
    assert len(sent_to(mail, "reserve")) == 2
    assert sent_to(mail, "introduction_association") == ["contact@restos.example"]
    assert drv.form()["key"] == "roadmap"

    drv.resume(drv.agreed_roadmap())
    assert mission(mission_id).status is MissionStatus.IN_PROGRESS
    assert count(Roadmap, mission_id) == 1
    assert drv.form()["key"] == "check-in-1"

    drv.resume(d.check_in(status="à risque"))
    assert drv.form()["key"] == "check-in-2"
    assert sent_to(mail, "at_risk") == ["jean.kieffer@pc.example"]  # the branch lead is told
    with unit_of_work() as s:
        from tasks.monitoring import dashboard_rows, open_missions, service_levels

        found = open_missions(s, today=d.today(), levels=service_levels(), mission_id=mission_id)
        rows = dashboard_rows(found, d.today())
    assert rows[0]["Dernier point"] == "⚠️ à risque"
    assert sent_to(mail, "waiting").count("claire.muller@pc.example") == 7  # one per step, one per check-in
    drv.resume(d.check_in(decision="mission terminée : passer au bilan"))
    assert count(CheckIn, mission_id) == 2
    assert drv.form()["key"] == "review"

    fr = drv.resume(d.review())
    assert fr.state is not None and fr.state.type.value == "COMPLETED" and fr.state.name == "Terminée"
    m = mission(mission_id)
    assert m.status is MissionStatus.COMPLETED and m.completed_at is not None
    assert count(Review, mission_id) == 1
    with unit_of_work() as s:  # thanked: the retained volunteer and the association, nobody else
        retained = s.scalars(
            select(Volunteer.email)
            .join(Application, Application.volunteer_id == Volunteer.id)
            .where(Application.mission_id == mission_id, Application.status == ApplicationStatus.SELECTED)
        ).all()
    assert len(retained) == 1
    assert sent_to(mail, "completed") == sorted([*retained, "contact@restos.example"])
    # every step audited once; every mail once
    with unit_of_work() as s:
        actions = list(s.scalars(select(AuditEvent.action).where(AuditEvent.mission_id == mission_id)))
        assert actions.count("needs-analysis") == 1 and actions.count("review") == 1
        keys = list(s.scalars(select(OutboxMail.dedup_key)))  # the mission's, and the association's membership bill
        assert len(keys) == len(set(keys)) == len(mail.messages)
        assert sorted(k for k in keys if "fee_bill" in k)[0].startswith("m")  # the search fee, about the mission
    bills = [m["Subject"].split(" :")[0] for m in mail.messages if m["X-Passerelles-Kind"] == "fee_bill"]
    reference = mission(mission_id).reference
    assert bills == [f"Cotisation annuelle {d.today().year}", f"Participation aux frais de recherche ({reference})"]
    assert count(Announcement, mission_id) == 1
