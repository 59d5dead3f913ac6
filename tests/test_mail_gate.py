"""The mail gate (models/mail_gate.py), per kind of mail a volunteer can receive: who gets it, who does not."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from models.mail_gate import VOLUNTEER_MAILS, MailNeed, may_mail

ROOT = Path(__file__).resolve().parent.parent
STATES = {  # (consents to annonces, archived, unsubscribed)
    "active": (True, False, False),
    "no consent": (False, False, False),
    "archived": (True, True, False),
    "unsubscribed": (True, False, True),
    "erased": (False, True, True),  # erasure archives and unsubscribes
}
EXPECTED = {
    MailNeed.ANNOUNCEMENT: {"active"},
    MailNeed.MISSION: {"active", "no consent"},
    MailNeed.LAW: {"active", "no consent", "archived"},
}


@pytest.mark.parametrize("kind", sorted(VOLUNTEER_MAILS))
def test_each_kind_reaches_exactly_whom_it_should(kind: str) -> None:
    allowed = {
        name
        for name, (consent, archived, unsubscribed) in STATES.items()
        if may_mail(kind, consents_to_announcements=consent, archived=archived, unsubscribed=unsubscribed)
    }
    assert allowed == EXPECTED[VOLUNTEER_MAILS[kind]]


def test_every_kind_mailed_to_a_volunteer_says_why() -> None:
    """Every kind the notices send to a volunteer is in the gate's table (a new one must say why it is sent)."""
    notices = (ROOT / "tasks" / "notices.py").read_text()
    sent = set(re.findall(r'_to_volunteer\(\s*session,\s*mission,\s*v,\s*"([a-z_]+)"', notices))
    assert sent and sent | {"annonce", "retention_warning"} <= set(VOLUNTEER_MAILS)
    assert all((ROOT / "templates" / "mail" / f"{kind}.txt.j2").exists() for kind in VOLUNTEER_MAILS)


def test_the_gate_holds_at_queueing_and_at_sending(app_db, mail_server) -> None:
    """Queued while active, archived before the send: the mission's mail is not sent; the erasure notice is. An
    archived volunteer gets no mission mail queued at all; an unsubscribed one not even the notice."""
    from sqlalchemy import select

    from models import Mission, OutboxMail, Volunteer
    from models.base import utcnow
    from models.db import session_factory, unit_of_work
    from models.outbox import MailStatus
    from tasks import notices
    from tasks.outbox import send_pending
    from tests import lifecycle_driver as d

    d.seed_small()
    with unit_of_work() as s:
        mission = d.new_mission(s)
        notices.search_closed(s, mission, [1, 2])
        mission_id = mission.id
    with unit_of_work() as s:
        one, two, three = (s.get(Volunteer, i) for i in (1, 2, 3))
        assert one is not None and two is not None and three is not None
        one.archived_at = three.archived_at = utcnow()  # after the queueing of one's mail
        two.unsubscribed_at = utcnow()
        cancelled = s.get(Mission, mission_id)
        assert cancelled is not None
        notices.cancelled(s, cancelled, [3])  # archived: not even queued
        for v in (one, two):
            notices.retention_warning(s, v, days=30, now=utcnow())  # two: unsubscribed, not queued
    send_pending(session_factory())
    with unit_of_work() as s:
        to_volunteers = select(OutboxMail).where(OutboxMail.list_unsubscribe != "")
        rows = {(m.kind, m.to_address): (m.status, m.last_error) for m in s.scalars(to_volunteers)}
    archived = "archivé(e) ou sans consentement : non envoyé"
    assert rows == {
        ("search_closed", "benevole1@exemple.fr"): (MailStatus.SUPPRESSED, archived),
        ("search_closed", "benevole2@exemple.fr"): (MailStatus.SUPPRESSED, "désinscrit(e) : non envoyé"),
        ("retention_warning", "benevole1@exemple.fr"): (MailStatus.SENT, ""),
    }
    assert sorted((m["X-Passerelles-Kind"], m["To"]) for m in mail_server.messages) == [
        ("cancelled", "contact@restos.example"),  # the association is told; the archived volunteer is not
        ("retention_warning", "benevole1@exemple.fr"),
    ]
