"""Calendar invitations (RFC 5545 objects sent as iMIP, RFC 6047) for the dates a mission announces to its parties:
the needs-analysis meeting (to the association) and each check-in (to the association and the retained
volunteers).

Each date is one `calendar_event` row with a stable UID. Announcing it mails each party an invitation
(METHOD:REQUEST) carrying its .ics, built once and stored with the mail in the outbox: a mail sent again (a crash
between the server's 250 and our record) sends the same bytes. Announcing another date for the same occasion sends
the event again with the same UID and SEQUENCE + 1, which calendar clients take as a move; the same date again sends
nothing. The mission ending (cancelled, or completed before a date) withdraws every event still ahead
(METHOD:CANCEL, SEQUENCE + 1) from those who were invited (tasks/missions.advance). Each party's .ics names only
that party as attendee, and the Passerelle as organiser (the answers of calendar clients go to her); nothing in it
names anyone else.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from icalendar import Calendar, Event, vCalAddress, vText
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import CalendarEvent, Mission, OutboxMail, Volunteer
from models.base import utcnow
from models.calendar import NEEDS_MEETING
from models.settings import get_settings
from models.waves import PARIS
from tasks import notices
from tasks.rendering import date_fr

REQUEST, CANCEL = "REQUEST", "CANCEL"
_WEEKDAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]


def today_in_paris() -> date:
    """Today's date where the association works."""
    return utcnow().astimezone(PARIS).date()


def when_fr(day: date, at: time | None) -> str:
    """`lundi 14 décembre 2026 à 14 h 30` (`… 2026` for a whole day)."""
    text = f"{_WEEKDAYS[day.weekday()]} {date_fr(day)}"
    return f"{text} à {at.hour} h {at.minute:02d}" if at is not None else text


def parse_time(value: str) -> time | None:
    """`14:30`, `14h30`, `14 h` → a time; empty → None; ValueError (French) otherwise."""
    text = value.strip().lower().replace(" ", "")
    if not text:
        return None
    found = re.fullmatch(r"(\d{1,2})(?:[:h](\d{2})?)?", text)
    if found is None or int(found.group(1)) > 23 or int(found.group(2) or 0) > 59:
        raise ValueError(f"Heure invalide « {value} » : écrivez par exemple 14:30.")
    return time(int(found.group(1)), int(found.group(2) or 0))


def ics(
    event: CalendarEvent,
    mission: Mission,
    *,
    method: str,
    summary: str,
    description: str,
    attendee: tuple[str, str],
) -> str:
    """The iCalendar object of `event` for one attendee (name, address): DTSTART in Europe/Paris (with its VTIMEZONE)
    or a whole day, the event's UID and SEQUENCE, STATUS CONFIRMED or CANCELLED."""
    cal = Calendar()
    cal.add("prodid", "-//Passerelles & Compétences//passerelles//FR")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    vevent = Event()
    vevent.add("uid", event.uid)
    vevent.add("sequence", event.sequence)
    vevent.add("dtstamp", utcnow())
    if event.starts_at is not None:
        start = datetime.combine(event.starts_on, event.starts_at, tzinfo=PARIS)
        vevent.add("dtstart", start)
        vevent.add("dtend", start + timedelta(minutes=event.minutes))
    else:
        vevent.add("dtstart", event.starts_on)
        vevent.add("dtend", event.starts_on + timedelta(days=1))
    vevent.add("summary", summary)
    vevent.add("description", description)
    vevent.add("status", "CANCELLED" if method == CANCEL else "CONFIRMED")
    vevent.add("transp", "OPAQUE")
    passerelle = mission.coordinator
    organizer = vCalAddress(f"mailto:{passerelle.email}")
    organizer.params["cn"] = vText(passerelle.full_name)
    vevent.add("organizer", organizer)
    name, address = attendee
    guest = vCalAddress(f"mailto:{address}")
    guest.params.update({"cn": vText(name), "role": "REQ-PARTICIPANT", "partstat": "NEEDS-ACTION", "rsvp": "TRUE"})
    vevent.add("attendee", guest)
    cal.add_component(vevent)
    # The zone's rules around the event only (the default span, 1970-2038, is a hundred lines of RDATE).
    year = event.starts_on.year
    cal.add_missing_timezones(first_date=date(year - 1, 1, 1), last_date=date(year + 2, 1, 1))
    return cal.to_ical().decode("utf-8")


def _event(session: Session, mission_id: int, key: str) -> CalendarEvent | None:
    return session.scalar(select(CalendarEvent).where(CalendarEvent.mission_id == mission_id, CalendarEvent.key == key))


def schedule(
    session: Session,
    mission: Mission,
    *,
    key: str,
    what: str,
    on: date,
    at: time | None,
    parties: Sequence[Volunteer | None],
    minutes: int = 60,
) -> int:
    """Announce `what` (« la rencontre pour l'analyse du besoin ») on `on` (at `at`, Paris time; None: the whole day)
    to each party (a volunteer, or None for the association); the same date again sends nothing, another one moves
    the event (same UID, SEQUENCE + 1). How many invitations were queued."""
    event = _event(session, mission.id, key)
    if event is not None and event.cancelled_at is None and (event.starts_on, event.starts_at) == (on, at):
        return 0
    if event is None:
        uid = f"{key}-m{mission.id}-{uuid.uuid4().hex[:16]}@{get_settings().mail_domain}"
        event = CalendarEvent(mission_id=mission.id, key=key, uid=uid, sequence=0)
        session.add(event)
        moved = False
    else:
        event.sequence, moved = event.sequence + 1, True
    event.starts_on, event.starts_at, event.minutes = on, at, minutes
    event.cancelled_at, event.updated_at = None, utcnow()
    session.flush()
    return sum(_mail(session, mission, event, p, what=what, method=REQUEST, moved=moved) for p in parties)


def invited(session: Session, mission: Mission, key: str) -> list[Volunteer | None]:
    """The parties an event was sent to (the association as None), read from the outbox: who must hear it moved
    or cancelled."""
    prefix = f"m{mission.id}:{notices.CALENDAR}:"
    keys = session.scalars(select(OutboxMail.dedup_key).where(OutboxMail.dedup_key.startswith(prefix)))
    parties: dict[str, Volunteer | None] = {}
    for k in keys:
        found = re.fullmatch(r"(association|v(\d+)):(.+):\d+", k[len(prefix) :])
        if found is None or found.group(3) != key or found.group(1) in parties:
            continue
        parties[found.group(1)] = session.get(Volunteer, int(found.group(2))) if found.group(2) else None
    return list(parties.values())


def cancel_ahead(session: Session, mission: Mission) -> int:
    """The mission ended (cancelled, or completed before a date it had announced): every event not yet past is
    withdrawn from those invited to it (METHOD:CANCEL, SEQUENCE + 1). How many cancellations were queued."""
    today, sent = today_in_paris(), 0
    events = session.scalars(
        select(CalendarEvent).where(
            CalendarEvent.mission_id == mission.id,
            CalendarEvent.cancelled_at.is_(None),
            CalendarEvent.starts_on >= today,
        )
    )
    for event in list(events):
        event.sequence, event.cancelled_at, event.updated_at = event.sequence + 1, utcnow(), utcnow()
        for party in invited(session, mission, event.key):
            sent += _mail(session, mission, event, party, what=describe(event.key), method=CANCEL, moved=False)
    return sent


def describe(key: str) -> str:
    """What an event is, from its key, in French."""
    if key == NEEDS_MEETING:
        return "la rencontre pour l'analyse du besoin"
    found = re.fullmatch(r"check-in-(\d+)", key)
    return f"le point de suivi n° {found.group(1)}" if found else "le rendez-vous"


def _mail(
    session: Session,
    mission: Mission,
    event: CalendarEvent,
    party: Volunteer | None,
    *,
    what: str,
    method: str,
    moved: bool,
) -> int:
    if party is None:
        name, address = mission.association.contact_name, mission.association.contact_email
    else:
        name, address = party.full_name, party.email
    when = when_fr(event.starts_on, event.starts_at)
    passerelle = mission.coordinator
    summary = f"[{mission.reference}] {what[0].upper()}{what[1:]} — {mission.association.name}"
    description = (
        f"{what[0].upper()}{what[1:]} de la mission « {mission.title} » ({mission.reference}) : le {when}. "
        f"Votre Passerelle : {passerelle.full_name}, {passerelle.email}."
    )
    body = ics(event, mission, method=method, summary=summary, description=description, attendee=(name, address))
    return int(
        notices.calendar_mail(
            session,
            mission,
            party,
            occasion=f"{event.key}:{event.sequence}",
            ics=body,
            what=what,
            when=when,
            cancelled=method == CANCEL,
            moved=moved,
            ended=mission.status.label.lower(),
        )
    )
