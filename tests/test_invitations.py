"""Inviting a suggested volunteer (issue 23, deliver 5): at the applications step the Passerelle picks among the
suggested volunteers; each gets one personal mail with their one-click apply link; their application by it is
recorded with channel « invitation » and the regional report counts it so. Real Prefect server, real SMTP."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from models import Application, Channel, Invitation, OutboxMail, Volunteer
from models.base import utcnow
from models.db import unit_of_work
from models.mail_gate import may_mail
from tasks import invitations
from tasks.links import Purpose
from tasks.reports import build_report
from tests import lifecycle_driver as d
from tests.test_portal import link_in


def test_the_mail_gate_decides_who_may_be_invited() -> None:
    """An invitation is an offer of a mission: consent to annonces, not archived, not unsubscribed."""
    assert may_mail("invitation", consents_to_announcements=True, archived=False, unsubscribed=False)
    assert not may_mail("invitation", consents_to_announcements=False, archived=False, unsubscribed=False)
    assert not may_mail("invitation", consents_to_announcements=True, archived=True, unsubscribed=False)
    assert not may_mail("invitation", consents_to_announcements=True, archived=False, unsubscribed=True)


def _invitations_mailed(mail) -> list[str]:
    return sorted(m["To"] for m in mail.messages if m["X-Passerelles-Kind"] == "invitation")


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_an_invited_volunteer_applies_by_the_link_of_the_invitation(lifecycle) -> None:
    from portal.app import app

    mail = lifecycle
    mission_id, _, drv = d.published()
    assert drv.form()["key"] == "applications-1"
    offered = drv.choices("invite")
    # the suggestions, best first, as choices; the one without consent (V-0006) is not suggested
    assert offered and all(label.startswith("V-000") for label in offered)
    assert not any(label.startswith("V-0006") for label in offered)
    assert drv.form()["schema"]["properties"]["invite"]["default"] == []

    # the form as shown: nobody invited
    drv.resume(d.applications(decision="attendre d'autres candidatures"))
    assert drv.form()["key"] == "applications-2"
    assert _invitations_mailed(mail) == []

    # a suggested volunteer archived meanwhile: refused, in French, nothing written, nobody mailed
    first, second = offered[0], offered[1]
    first_id, second_id = int(first[2:6]), int(second[2:6])
    with unit_of_work() as s:
        archived = s.get(Volunteer, first_id)
        assert archived is not None
        archived.archived_at = utcnow()
    drv.resume(d.applications(invite=[first, second], decision="attendre d'autres candidatures"))
    form = drv.form()
    assert form["key"].startswith("applications-2-essai") or form["key"] == "applications-2", form["key"]
    assert "ne peut pas être invité(e)" in form["description"]
    assert "Aucune candidature ni invitation" in form["description"]
    with unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(Invitation)) == 0

    # the other one invited: one mail, the application by its link counted as « invitation »
    drv.resume(d.applications(invite=[second], decision="attendre d'autres candidatures"))
    assert drv.form()["key"] == "applications-3"
    with unit_of_work() as s:
        guest = s.get(Volunteer, second_id)
        assert guest is not None
        address = guest.email
        invitation = s.scalar(select(Invitation).where(Invitation.mission_id == mission_id))
        assert invitation is not None and invitation.volunteer_id == second_id
    assert _invitations_mailed(mail) == [address]
    body = next(m for m in mail.messages if m["X-Passerelles-Kind"] == "invitation").get_body(("plain",))
    assert "vous invite personnellement" in body.get_content()
    # no longer offered once invited; the section says so
    assert not any(label.startswith(second[:6]) for label in drv.choices("invite"))
    assert "| oui |" in drv.form()["description"]

    # exactly once: inviting again (a replayed answer, a second round) queues nothing
    with unit_of_work() as s:
        from models import Mission

        m = s.get(Mission, mission_id)
        v = s.get(Volunteer, second_id)
        assert m is not None and v is not None
        assert invitations.invite(s, m, [v], step_key="applications-9", actor="test") == 0
        assert s.scalar(select(func.count()).where(OutboxMail.kind == "invitation")) == 1
    drv.run()  # the whole run replayed
    d.send_queued()
    assert _invitations_mailed(mail) == [address]

    apply = link_in(mail, "invitation", Purpose.APPLY, to=address)
    with TestClient(app) as portal:
        r = portal.post(apply, data={"message": "Avec plaisir."})
        assert r.status_code == 200 and "candidature est enregistrée" in html.unescape(r.text)
    with unit_of_work() as s:
        app_row = s.scalar(select(Application).where(Application.mission_id == mission_id))
        assert app_row is not None and app_row.volunteer_id == second_id
        assert app_row.channel is Channel.INVITATION
        today = d.today()
        report = build_report(s, branch_codes=["STR"], start=today - timedelta(days=1), end=today + timedelta(days=1))
    assert report.applications.by_channel == (("invitation", 1),)
    assert "invitation" in drv.form()["description"]  # the ranked applicants show the channel
