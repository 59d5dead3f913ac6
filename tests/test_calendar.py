"""Calendar invitations (RFC 5545 over iMIP): the needs-analysis meeting to the association when the analysis is
kept in progress with a meeting ahead, each check-in to the association and the retained volunteers; a moved date
keeps the UID with SEQUENCE + 1; a cancelled mission withdraws what is ahead (METHOD:CANCEL). Each invitation is
parsed back with icalendar from what the real SMTP sink received. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from models import Application, ApplicationStatus, CalendarEvent, Mission, MissionStatus, OutboxMail, Roadmap
from models.db import session_factory, unit_of_work
from models.waves import PARIS
from tasks import calendar
from tasks.missions import cancel
from tasks.outbox import send_pending
from tasks.steps import REGISTRY
from tasks.steps.answers import handle
from tasks.steps.base import Outcome
from tests import lifecycle_driver as d

NEEDS = REGISTRY["needs-analysis"]
CHECK_IN = REGISTRY["check-in"]


def test_times_and_dates_in_french() -> None:
    assert calendar.parse_time("14:30") == time(14, 30) and calendar.parse_time(" 9h ") == time(9)
    assert calendar.parse_time("") is None
    for bad in ("25:00", "14:75", "midi"):
        with pytest.raises(ValueError, match="Heure invalide"):
            calendar.parse_time(bad)
    assert calendar.when_fr(date(2026, 12, 14), time(9, 5)) == "lundi 14 décembre 2026 à 9 h 05"


def draft(on: date, at: str = "14:30") -> dict[str, Any]:
    """The needs analysis kept in progress, with the meeting planned."""
    return {
        **d.needs_analysis(),
        "meeting_date": on.isoformat(),
        "meeting_time": at,
        "decision": "garder l'analyse en cours (à compléter)",
    }


def plan(step: Any, mission_id: int, n: int, previous: dict[str, Any] | None) -> None:
    """What preparing the step's form does for the calendar, in its own transaction."""
    with unit_of_work() as s:
        step.plan(s, s.get(Mission, mission_id), n, previous)


def invitations(mission_id: int) -> list[OutboxMail]:
    with unit_of_work() as s:
        rows = s.scalars(select(OutboxMail).where(OutboxMail.mission_id == mission_id, OutboxMail.kind == "calendar"))
        return list(rows.all())


def event_of(raw: str) -> tuple[str, Any]:
    cal = Calendar.from_ical(raw)
    [event] = cal.walk("VEVENT")
    return str(cal["METHOD"]), event


def received_calendar(msg: EmailMessage) -> str:
    """The text/calendar alternative of a received mail (what calendar clients act on); the .ics attached is the
    same."""
    parts = {p.get_content_type(): p for p in msg.walk()}
    attached = parts["application/ics"].get_content()
    shown = parts["text/calendar"].get_content()
    assert attached.decode("utf-8") == shown and parts["application/ics"].get_filename() == "invitation.ics"
    method = parts["text/calendar"].get_param("method")
    assert f"METHOD:{method}" in shown
    return str(shown)


def test_the_meeting_invitation_moves_then_is_cancelled(app_db, mail_server) -> None:
    d.seed_small()
    with unit_of_work() as s:
        mission_id = d.new_mission(s).id
    on = calendar.today_in_paris() + timedelta(days=10)
    with unit_of_work() as s:  # the Passerelle keeps the analysis in progress, with the meeting ahead
        verdict = handle(s, mission_id, NEEDS, "needs-analysis", draft(on), n=1)
        assert verdict.outcome is Outcome.AWAIT
    for _ in range(2):  # the form asked again (and once more, a replay): one invitation
        plan(NEEDS, mission_id, 1, draft(on))
    [first] = invitations(mission_id)
    assert first.to_address == "contact@restos.example" and first.reply_to == "claire.muller@pc.example"
    assert "Invitation : la rencontre pour l'analyse du besoin le" in first.subject
    method, event = event_of(first.calendar)
    assert method == "REQUEST" and int(event["SEQUENCE"]) == 0 and str(event["STATUS"]) == "CONFIRMED"
    start = event.decoded("DTSTART")
    assert start == datetime.combine(on, time(14, 30), tzinfo=PARIS) and str(start.tzinfo) == "Europe/Paris"
    assert event["DTSTART"].params["TZID"] == "Europe/Paris"
    assert event.decoded("DTEND") - start == timedelta(hours=1)
    assert (
        str(event["ATTENDEE"]) == "mailto:contact@restos.example" and "Claire Muller" in event["ORGANIZER"].params["CN"]
    )
    uid = str(event["UID"])

    d.send_queued()
    [got] = [m for m in mail_server.messages if m["X-Passerelles-Kind"] == "calendar"]
    method, sent = event_of(received_calendar(got))
    assert method == "REQUEST" and str(sent["UID"]) == uid and sent.decoded("DTSTART") == start
    assert "L'invitation jointe l'ajoute à votre agenda" in got.get_body(("plain",)).get_content()

    later = on + timedelta(days=3)
    plan(NEEDS, mission_id, 1, draft(later, "9:00"))  # a second draft: the meeting moves (and is now at 9:00)
    moved = invitations(mission_id)[-1]
    method, event = event_of(moved.calendar)
    assert "Nouvelle date" in moved.subject and method == "REQUEST"
    assert str(event["UID"]) == uid and int(event["SEQUENCE"]) == 1
    assert event.decoded("DTSTART") == datetime.combine(later, time(9), tzinfo=PARIS)

    with unit_of_work() as s:
        m = s.get(Mission, mission_id)
        assert m is not None
        cancel(s, m, reason="L'association renonce.", actor="Claire Muller", step_key="needs-analysis-essai-3")
    withdrawn = invitations(mission_id)[-1]
    method, event = event_of(withdrawn.calendar)
    assert method == "CANCEL" and str(event["STATUS"]) == "CANCELLED"
    assert str(event["UID"]) == uid and int(event["SEQUENCE"]) == 2 and "Annulé" in withdrawn.subject
    assert "La mission « Refonte du site internet » est annulée : la rencontre pour l'analyse" in withdrawn.text_body

    d.send_queued()
    d.send_queued()  # the outbox sends each once
    got = [m for m in mail_server.messages if m["X-Passerelles-Kind"] == "calendar"]
    assert len(got) == 3
    methods = [(event_of(received_calendar(m))[0], int(event_of(received_calendar(m))[1]["SEQUENCE"])) for m in got]
    assert methods == [("REQUEST", 0), ("REQUEST", 1), ("CANCEL", 2)]
    assert got[2]["Content-Type"].startswith("multipart/mixed")


def test_no_invitation_for_a_past_meeting_and_a_bad_time_refused(app_db) -> None:
    d.seed_small()
    with unit_of_work() as s:
        mission_id = d.new_mission(s).id
    today = calendar.today_in_paris()
    plan(NEEDS, mission_id, 1, draft(today - timedelta(days=2)))
    plan(NEEDS, mission_id, 1, draft(today, at=""))  # today, no time: nothing to plan
    plan(NEEDS, mission_id, 1, None)  # a first attempt: nothing waits
    assert invitations(mission_id) == []
    with unit_of_work() as s:
        verdict = handle(s, mission_id, NEEDS, "needs-analysis", draft(today + timedelta(days=5), at="25:00"), n=1)
    assert verdict.outcome is Outcome.RETRY and "Heure invalide « 25:00 »" in verdict.error
    with unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(CalendarEvent)) == 0


def test_a_check_in_day_goes_to_the_association_and_each_retained_volunteer(app_db, mail_server) -> None:
    d.seed_small()
    started = datetime.now(UTC) - timedelta(days=5)
    with unit_of_work() as s:
        m = d.new_mission(s)
        m.status, m.started_at = MissionStatus.IN_PROGRESS, started
        s.add(Roadmap(mission_id=m.id, start_on=started.date(), end_on=started.date() + timedelta(days=90),
                      checkin_every_days=14, validated_on=started.date()))  # fmt: skip
        s.add(Application(mission_id=m.id, volunteer_id=2, status=ApplicationStatus.SELECTED))
        s.add(Application(mission_id=m.id, volunteer_id=3, status=ApplicationStatus.CLOSED))
        mission_id = m.id
    plan(CHECK_IN, mission_id, 1, None)
    rows = invitations(mission_id)
    assert sorted(r.to_address for r in rows) == ["benevole2@exemple.fr", "contact@restos.example"]
    due = started.astimezone(PARIS).date() + timedelta(days=14)
    for row in rows:
        method, event = event_of(row.calendar)
        assert method == "REQUEST" and event.decoded("DTSTART") == due  # the whole day
        assert event.decoded("DTEND") == due + timedelta(days=1)
        assert str(event["ATTENDEE"]) == f"mailto:{row.to_address}"  # only the party it is sent to
    volunteer_mail = next(r for r in rows if r.to_address == "benevole2@exemple.fr")
    assert volunteer_mail.list_unsubscribe and "le point de suivi n° 1" in volunteer_mail.subject
    d.send_queued()
    assert sorted(str(m["To"]) for m in mail_server.messages if m["X-Passerelles-Kind"] == "calendar") == [
        "benevole2@exemple.fr",
        "contact@restos.example",
    ]
    with unit_of_work() as s:
        ended = s.get(Mission, mission_id)
        assert ended is not None
        cancel(s, ended, reason="Plus de besoin.", actor="Claire Muller", step_key="check-in-1")
    cancels = [r for r in invitations(mission_id) if "METHOD:CANCEL" in r.calendar]
    assert sorted(r.to_address for r in cancels) == ["benevole2@exemple.fr", "contact@restos.example"]
    with session_factory(app_db)() as s:
        assert s.scalar(select(CalendarEvent.sequence)) == 1
    assert send_pending(session_factory(app_db))["sent"] == 2


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_mission_run_invites_moves_and_withdraws_the_meeting(lifecycle) -> None:
    """Through the real run: each draft of the analysis asks the form again, which announces the meeting."""
    mission_id, run_id = d.open_and_start()
    run = d.Driver(run_id)
    run.run()
    on = calendar.today_in_paris() + timedelta(days=7)
    run.resume(draft(on))
    run.resume(draft(on))  # the same meeting again: nothing more
    run.resume(draft(on + timedelta(days=1)))
    run.resume(d.needs_analysis(decision="annuler la mission", cancel_reason="L'association renonce."))
    got = [m for m in lifecycle.messages if m["X-Passerelles-Kind"] == "calendar"]
    seen = [event_of(received_calendar(m)) for m in got]
    assert [(method, int(e["SEQUENCE"])) for method, e in seen] == [("REQUEST", 0), ("REQUEST", 1), ("CANCEL", 2)]
    assert len({str(e["UID"]) for _, e in seen}) == 1
    assert seen[1][1].decoded("DTSTART") == datetime.combine(on + timedelta(days=1), time(14, 30), tzinfo=PARIS)
    assert all(m["To"] == "contact@restos.example" for m in got) and len(invitations(mission_id)) == 3
