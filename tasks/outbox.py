"""The outbox: a mail is first a row of `outbox_mail`, unique by its deduplication key (mission, recipient, kind,
round), written in the transaction of the step that causes it, so a replayed flow or a retried task writes it
once; sending claims due rows, hands them to the transport (tasks/smtp.py) and records what the server said. Its
Message-ID derives from the row, so a mail re-sent after a crash between the server's acceptance and our record
is recognisable as the same mail.
"""

from __future__ import annotations

import hashlib
import smtplib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session

from models.base import utcnow
from models.mail_gate import may_mail
from models.outbox import MailStatus, OutboxMail
from models.settings import get_settings
from models.volunteer import Volunteer
from tasks.compose import MailContent
from tasks.smtp import SMTP_TIMEOUT, UNBUILDABLE, Connection, refusal, send_one

MAX_AGE = timedelta(days=2)  # a mail still deferred after that is failed
CLAIM_LEASE = timedelta(minutes=10)  # a claimed mail not recorded by then is tried again (its sender died)


def outbox_key(mission_id: int | None, kind: str, about: str) -> str:
    """The deduplication key of a mail: one per mission, kind and recipient (`v42`, `association`) or occasion
    (the step key a Passerelle is told of, the waiting period of a reminder); `org:` for mails of no mission (the
    membership fee of a year)."""
    return f"m{mission_id}:{kind}:{about}" if mission_id is not None else f"org:{kind}:{about}"


def enqueue(
    session: Session,
    *,
    mission_id: int | None,
    kind: str,
    about: str,
    to: str,
    content: MailContent,
    reply_to: str = "",
    list_unsubscribe: str = "",
    calendar: str = "",
) -> bool:
    """Put a mail in the outbox unless the same one (`outbox_key`) is there; True when added. `reply_to`: who
    answers (the mission's Passerelle), when it is not the sender's address; `list_unsubscribe`: the volunteer's
    one-click unsubscribe link (RFC 8058), on every mail to a volunteer; `calendar`: the invitation it carries (an
    .ics, tasks/calendar.py), stored with the mail so that every sending of it sends the same."""
    dedup_key = outbox_key(mission_id, kind, about)
    if session.scalar(select(OutboxMail.id).where(OutboxMail.dedup_key == dedup_key)) is not None:
        return False
    row = OutboxMail(
        dedup_key=dedup_key,
        mission_id=mission_id,
        kind=kind,
        to_address=to,
        reply_to=reply_to,
        list_unsubscribe=list_unsubscribe,
        subject=content.subject,
        text_body=content.text,
        html_body=content.html,
        calendar=calendar,
    )
    # A concurrent writer of the same key makes the unique constraint fail this transaction; the task's
    # retry then finds the row and adds nothing.
    session.add(row)
    return True


def readdress_pending(session: Session, *, old: str, new: str, mission_ids: list[int]) -> int:
    """Send to `new` the mails about these missions still waiting for `old` (not claimed by a sender yet): a
    contact's address corrected; how many."""
    if not mission_ids or old.strip().casefold() == new.strip().casefold():
        return 0
    moved = session.execute(
        update(OutboxMail)
        .where(
            func.lower(OutboxMail.to_address) == old.strip().lower(),
            OutboxMail.status == MailStatus.PENDING,
            OutboxMail.mission_id.in_(mission_ids),
        )
        .values(to_address=new)
    )
    return moved.rowcount or 0  # type: ignore[attr-defined]


def message_id(row: OutboxMail | Claimed) -> str:
    """A Message-ID stable for the outbox row."""
    return message_id_of(row.id, row.dedup_key)


def message_id_of(mail_id: int, dedup_key: str) -> str:
    """The Message-ID of outbox row `mail_id` of key `dedup_key`."""
    digest = hashlib.sha1(dedup_key.encode()).hexdigest()[:12]
    return f"<outbox-{mail_id}-{digest}@{get_settings().mail_domain}>"


@dataclass
class Sending:
    """What one sending pass did."""

    sent: int = 0
    deferred: int = 0  # 4xx, dropped connection: tried again later, with backoff
    failed: int = 0  # 5xx: given up at once, shown on the mission card, the Passerelle told
    suppressed: int = 0  # to a volunteer who unsubscribed after it was queued: never sent
    error: str = ""  # why the pass stopped early (server unreachable)

    def as_dict(self) -> dict[str, int | str]:
        """For a flow's result."""
        return {
            "sent": self.sent,
            "deferred": self.deferred,
            "failed": self.failed,
            "suppressed": self.suppressed,
            "error": self.error,
        }


def retry_delay(attempts: int) -> timedelta:
    """Backoff after a deferred try: 1, 2, 4... minutes, at most an hour (RFC 5321 asks for retries over days)."""
    return timedelta(seconds=min(60 * 2 ** max(attempts - 1, 0), 3600))


FailureHook = Callable[[Session, OutboxMail], None]


def _due(now: datetime) -> ColumnElement[bool]:
    """Mails to try now: pending and due, or claimed by a sender that has not finished within its lease."""
    return or_(
        and_(
            OutboxMail.status == MailStatus.PENDING,
            or_(OutboxMail.next_attempt_at.is_(None), OutboxMail.next_attempt_at <= now),
        ),
        and_(OutboxMail.status == MailStatus.SENDING, OutboxMail.next_attempt_at <= now),
    )


@dataclass(frozen=True)
class Claimed:
    """A mail taken by one sender: what it needs to build and send it, with no session open."""

    id: int
    dedup_key: str
    kind: str
    to_address: str
    reply_to: str
    list_unsubscribe: str
    subject: str
    text_body: str
    html_body: str
    calendar: str


CLAIM_BATCH = 50  # mails claimed per transaction (recorded RECORD_EVERY at a time)
RECORD_EVERY = 10  # mails sent between two records: what a sender dying mid-batch may send twice


def _claim_batch(session_factory: Any, now: datetime, mission_id: int | None, size: int) -> tuple[list[Claimed], int]:
    """Take up to `size` due mails for this sender in one transaction (FOR UPDATE SKIP LOCKED on PostgreSQL: two
    senders never take the same mail, nor wait for each other), and suppress those to a volunteer who unsubscribed
    after they were queued. The mails to send, and how many were suppressed."""
    with session_factory() as session, session.begin():
        due = select(OutboxMail.id).where(_due(now)).order_by(OutboxMail.id).limit(size)
        if mission_id is not None:
            due = due.where(OutboxMail.mission_id == mission_id)
        # A CTE, evaluated once: as an IN (subquery), PostgreSQL may re-run the LIMIT ... SKIP LOCKED and claim
        # more than `size` rows.
        picked = due.with_for_update(skip_locked=True).cte("picked")
        taken = session.execute(
            update(OutboxMail)
            .where(OutboxMail.id == picked.c.id, _due(now))
            .values(status=MailStatus.SENDING, next_attempt_at=utcnow() + CLAIM_LEASE, attempts=OutboxMail.attempts + 1)
            .returning(*(getattr(OutboxMail, f) for f in Claimed.__dataclass_fields__))
            .execution_options(synchronize_session=False)
        ).all()
        mails = sorted((Claimed(*row) for row in taken), key=lambda m: m.id)
        to_volunteers = {m.to_address for m in mails if m.list_unsubscribe}  # a volunteer's mail has the header
        people = (
            {
                email: (consent, archived is not None, unsubscribed is not None)
                for email, consent, archived, unsubscribed in session.execute(
                    select(
                        Volunteer.email,
                        Volunteer.consent_announcements,
                        Volunteer.archived_at,
                        Volunteer.unsubscribed_at,
                    ).where(Volunteer.email.in_(to_volunteers))
                ).tuples()
            }
            if to_volunteers
            else {}
        )
        barred = {m.id: _why_not(m.kind, people[m.to_address]) for m in mails if m.to_address in people}
        suppressed = [mail_id for mail_id, why in barred.items() if why]
        for mail_id in suppressed:
            session.execute(
                update(OutboxMail)
                .where(OutboxMail.id == mail_id)
                .values(status=MailStatus.SUPPRESSED, next_attempt_at=None, last_error=barred[mail_id])
                .execution_options(synchronize_session=False)
            )
        return [m for m in mails if m.id not in set(suppressed)], len(suppressed)


def _why_not(kind: str, state: tuple[bool, bool, bool]) -> str:
    """Why the mail gate now bars a queued mail to a volunteer ("" when it does not)."""
    consent, archived, unsubscribed = state
    if may_mail(kind, consents_to_announcements=consent, archived=archived, unsubscribed=unsubscribed):
        return ""
    return "désinscrit(e) : non envoyé" if unsubscribed else "archivé(e) ou sans consentement : non envoyé"


def send_pending(
    session_factory: Any,
    *,
    mission_id: int | None = None,
    limit: int = 100_000,
    on_failure: FailureHook | None = None,
    timeout: float = SMTP_TIMEOUT,
    connections: int = 1,
) -> dict[str, int | str]:
    """Send the mails that are due (of one mission, or all), over `connections` SMTP connections in parallel:
    each claims a batch of mails, sends them, then records the batch.

    RFC 5321: a 5xx reply fails the mail at once (the Passerelle is told, the card shows it); a 4xx reply or a
    dropped connection defers it with backoff, and the sender goes on with a new connection. Mails still deferred
    after MAX_AGE are failed. `on_failure` runs in the transaction that fails a mail (to tell someone). No
    transaction is open while the SMTP server is talked to. A sender that dies after the server's acceptance and
    before recording them leaves those mails claimed: once the claim's lease is over, they are sent again with the
    same Message-ID, which lets the receiving side recognise them (at most RECORD_EVERY mails per connection: a
    batch is claimed CLAIM_BATCH at a time, recorded RECORD_EVERY at a time).
    """
    now = utcnow()
    with session_factory() as session:
        query = select(OutboxMail.id).where(_due(now)).limit(1)
        if mission_id is not None:
            query = query.where(OutboxMail.mission_id == mission_id)
        if session.scalar(query) is None:
            return Sending().as_dict()
    result = Sending()
    lock = threading.Lock()
    budget = [limit]

    def sender() -> None:
        connection = Connection(timeout)
        try:
            connection.get()
        except (OSError, smtplib.SMTPException) as exc:
            with lock:
                result.error = f"serveur SMTP injoignable : {refusal(exc, '')[1]}"
            return  # nothing was tried: the mails keep their attempts and wait for the next pass
        try:
            while True:
                with lock:
                    size = min(CLAIM_BATCH, budget[0])
                    budget[0] -= size
                if size <= 0:
                    return
                mails, suppressed = _claim_batch(session_factory, now, mission_id, size)
                with lock:
                    result.suppressed += suppressed
                if not mails and not suppressed:
                    return
                for i in range(0, len(mails), RECORD_EVERY):  # a crash re-sends at most what was not recorded
                    batch = mails[i : i + RECORD_EVERY]
                    outcomes = [(mail.id, *send_one(connection, mail, message_id(mail))) for mail in batch]
                    _record(session_factory, outcomes, now, result, lock, on_failure)
        finally:
            connection.drop()

    if connections <= 1:
        sender()
    else:
        threads = [threading.Thread(target=sender, name=f"smtp-{i}") for i in range(connections)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return result.as_dict()


def _record(
    session_factory: Any,
    outcomes: list[tuple[int, int, str]],
    now: datetime,
    result: Sending,
    lock: threading.Lock,
    on_failure: FailureHook | None,
) -> None:
    """What the server said of a batch, in one transaction: sent ones in one statement, the others one by one."""
    local = Sending()
    with session_factory() as session, session.begin():
        sent = [mail_id for mail_id, code, _ in outcomes if code == 250]
        if sent:
            session.execute(
                update(OutboxMail),
                [
                    {
                        "id": i,
                        "status": MailStatus.SENT,
                        "sent_at": utcnow(),
                        "last_error": "",
                        "next_attempt_at": None,
                        "message_id": message_id_of(i, key),
                    }
                    for i, key in session.execute(
                        select(OutboxMail.id, OutboxMail.dedup_key).where(OutboxMail.id.in_(sent))
                    )
                ],
            )
            local.sent += len(sent)
        for mail_id, code, text in outcomes:
            if code == 250:
                continue
            row = session.get(OutboxMail, mail_id)
            assert row is not None
            row.message_id = message_id(row)
            if 500 <= code < 600 or code == UNBUILDABLE:
                _fail(session, row, text, local, on_failure)
            else:
                _defer(row, text, now, local)
    with lock:
        result.sent += local.sent
        result.deferred += local.deferred
        result.failed += local.failed


def _defer(row: OutboxMail, error: str, now: datetime, result: Sending) -> None:
    row.last_error = error[:2000]
    if now - row.created_at > MAX_AGE:
        row.status, row.next_attempt_at = MailStatus.FAILED, None
        result.failed += 1
        return
    row.status, row.next_attempt_at = MailStatus.PENDING, now + retry_delay(row.attempts)
    result.deferred += 1


def _fail(session: Session, row: OutboxMail, error: str, result: Sending, on_failure: FailureHook | None) -> None:
    row.status, row.last_error, row.next_attempt_at = MailStatus.FAILED, error[:2000], None
    result.failed += 1
    if on_failure is not None:
        on_failure(session, row)
