"""Mail: pure composition from templates, an idempotent outbox, and sending over one SMTP connection.

A mail is first a row of `outbox_mail`, unique by its deduplication key (mission, recipient, kind, round), so a
replayed flow or a retried task writes it once; sending marks it sent. Its Message-ID derives from the row, so
a mail re-sent after a crash between the server's acceptance and our commit is recognisable as the same mail.
"""

from __future__ import annotations

import contextlib
import hashlib
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session

from models.base import utcnow
from models.outbox import MailStatus, OutboxMail
from models.settings import get_settings
from models.volunteer import Volunteer
from tasks.rendering import environment

SMTP_TIMEOUT = 30
MAX_AGE = timedelta(days=2)  # a mail still deferred after that is failed
CLAIM_LEASE = timedelta(minutes=10)  # a claimed mail not recorded by then is tried again (its sender died)


@dataclass(frozen=True)
class MailContent:
    """Subject and bodies of one mail."""

    subject: str
    text: str
    html: str


def compose(kind: str, **context: Any) -> MailContent:
    """Render `templates/mail/<kind>.txt.j2`, which sets `subject`; the HTML part is the text laid out in
    `mail/_layout.html.j2` (paragraphs, links), so each mail is written once."""
    env = environment()
    text_module = env.get_template(f"mail/{kind}.txt.j2").make_module(context)
    subject = " ".join(str(getattr(text_module, "subject", "")).split())
    if not subject:
        raise ValueError(f"template mail/{kind}.txt.j2 sets no subject")
    text = str(text_module).strip() + "\n"
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    html = env.get_template("mail/_layout.html.j2").render(subject=subject, paragraphs=paragraphs)
    return MailContent(subject=subject, text=text, html=html)


def check_address(address: str) -> str:
    """The normalised address, or ValueError with a French message."""
    try:
        return validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"Adresse e-mail invalide « {address} » : {exc}") from exc


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
) -> bool:
    """Put a mail in the outbox unless the same one (`outbox_key`) is there; True when added. `reply_to`: who
    answers (the mission's Passerelle), when it is not the sender's address; `list_unsubscribe`: the volunteer's
    one-click unsubscribe link (RFC 8058), on every mail to a volunteer."""
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
    )
    # A concurrent writer of the same key makes the unique constraint fail this transaction; the task's
    # retry then finds the row and adds nothing.
    session.add(row)
    return True


def message_id(row: OutboxMail) -> str:
    """A Message-ID stable for the outbox row."""
    digest = hashlib.sha1(row.dedup_key.encode()).hexdigest()[:12]
    return f"<outbox-{row.id}-{digest}@{get_settings().mail_domain}>"


def build_message(row: OutboxMail) -> EmailMessage:
    """The MIME message of an outbox row: text and HTML alternatives."""
    settings = get_settings()
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["From"] = settings.mail_sender
    msg["To"] = row.to_address
    msg["Subject"] = row.subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id(row)
    if row.reply_to:
        msg["Reply-To"] = row.reply_to
    if row.list_unsubscribe:  # RFC 2369 and RFC 8058: the mail client's « unsubscribe » posts to it, no page
        msg["List-Unsubscribe"] = f"<{row.list_unsubscribe}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["X-Passerelles-Kind"] = row.kind
    msg.set_content(row.text_body)
    if row.html_body:
        msg.add_alternative(row.html_body, subtype="html")
    return msg


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
        return {"sent": self.sent, "deferred": self.deferred, "failed": self.failed, "suppressed": self.suppressed,
                "error": self.error}  # fmt: skip


class _Connection:
    """One SMTP connection, opened when first needed and again after the server dropped it."""

    def __init__(self, timeout: float) -> None:
        self.smtp: smtplib.SMTP | None = None
        self.timeout = timeout

    def get(self) -> smtplib.SMTP:
        if self.smtp is None:
            settings = get_settings()
            smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=self.timeout)
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password.get_secret_value())
            self.smtp = smtp
        return self.smtp

    def drop(self) -> None:
        if self.smtp is not None:
            with contextlib.suppress(Exception):
                self.smtp.close()
        self.smtp = None


def retry_delay(attempts: int) -> timedelta:
    """Backoff after a deferred try: 1, 2, 4... minutes, at most an hour (RFC 5321 asks for retries over days)."""
    return timedelta(seconds=min(60 * 2 ** max(attempts - 1, 0), 3600))


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


def _refusal(exc: Exception, address: str) -> tuple[int, str]:
    """The SMTP reply code and text of a refusal (0 when the connection itself failed)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = exc.recipients.get(address, (0, b""))
        return int(code), _text(reply)
    if isinstance(exc, smtplib.SMTPResponseException):
        return int(exc.smtp_code), _text(exc.smtp_error)
    return 0, str(exc) or type(exc).__name__


FailureHook = Callable[[Session, OutboxMail], None]


def _due(now: datetime) -> ColumnElement[bool]:
    """Mails to try now: pending and due, or claimed by a sender that has not finished within its lease."""
    return or_(
        and_(OutboxMail.status == MailStatus.PENDING,
             or_(OutboxMail.next_attempt_at.is_(None), OutboxMail.next_attempt_at <= now)),
        and_(OutboxMail.status == MailStatus.SENDING, OutboxMail.next_attempt_at <= now),
    )  # fmt: skip


def _claim(session_factory: Any, mail_id: int, now: datetime) -> bool:
    """Take one mail for this sender (one short transaction): two senders never send the same mail."""
    with session_factory() as session, session.begin():
        claimed = session.execute(
            update(OutboxMail)
            .where(OutboxMail.id == mail_id, _due(now))
            .values(status=MailStatus.SENDING, next_attempt_at=utcnow() + CLAIM_LEASE, attempts=OutboxMail.attempts + 1)
        )
        return bool(getattr(claimed, "rowcount", 0))


def _unsubscribed_since(session_factory: Any, mail_id: int) -> bool:
    """A claimed mail to a volunteer who unsubscribed after it was queued is suppressed (one short transaction):
    nothing is mailed to that address afterwards."""
    with session_factory() as session, session.begin():
        row = session.get(OutboxMail, mail_id)
        assert row is not None
        if not row.list_unsubscribe:
            return False
        gone = session.scalar(
            select(Volunteer.id).where(Volunteer.email == row.to_address, Volunteer.unsubscribed_at.is_not(None))
        )
        if gone is None:
            return False
        row.status, row.next_attempt_at, row.last_error = MailStatus.SUPPRESSED, None, "désinscrit(e) : non envoyé"
        return True


def send_pending(
    session_factory: Any,
    *,
    mission_id: int | None = None,
    limit: int = 10_000,
    on_failure: FailureHook | None = None,
    timeout: float = SMTP_TIMEOUT,
) -> dict[str, int | str]:
    """Send the mails that are due (of one mission, or all): each is claimed, sent, then recorded.

    RFC 5321: a 5xx reply fails the mail at once (the Passerelle is told, the card shows it); a 4xx reply or a
    dropped connection defers it with backoff, and the pass goes on with a new connection. Mails still deferred
    after MAX_AGE are failed. `on_failure` runs in the transaction that fails a mail (to tell someone). No
    transaction is open while the SMTP server is talked to. A sender that dies after the server's acceptance and
    before recording it leaves the mail claimed: once the claim's lease is over, it is sent again with the same
    Message-ID, which lets the receiving side recognise it.
    """
    now = utcnow()
    with session_factory() as session:
        query = select(OutboxMail.id).where(_due(now)).order_by(OutboxMail.id)
        if mission_id is not None:
            query = query.where(OutboxMail.mission_id == mission_id)
        ids = list(session.scalars(query.limit(limit)))
    result = Sending()
    if not ids:
        return result.as_dict()
    connection = _Connection(timeout)
    try:
        connection.get()
    except (OSError, smtplib.SMTPException) as exc:
        result.error = f"serveur SMTP injoignable : {_refusal(exc, '')[1]}"
        return result.as_dict()  # nothing was tried: the mails keep their attempts and wait for the next pass
    try:
        for mail_id in ids:
            if not _claim(session_factory, mail_id, now):
                continue  # sent meanwhile, or being sent by another sender
            if _unsubscribed_since(session_factory, mail_id):
                result.suppressed += 1
                continue
            with session_factory() as session:
                row = session.get(OutboxMail, mail_id)
                assert row is not None
                address = row.to_address
                try:
                    msg: EmailMessage | None = build_message(row)
                    problem = ""
                except ValueError as exc:  # the message cannot be built (a bad address): no server would take it
                    msg, problem = None, str(exc)
            code, text = 0, problem
            if msg is not None:
                try:
                    connection.get().send_message(msg, to_addrs=[address])
                    code = 250
                except (OSError, smtplib.SMTPException) as exc:
                    code, text = _refusal(exc, address)
                    if not 500 <= code < 600:
                        connection.drop()  # 4xx or a dropped connection: later, on a new connection
            with session_factory() as session, session.begin():
                row = session.get(OutboxMail, mail_id)
                assert row is not None
                row.message_id = message_id(row)
                if code == 250:
                    row.status, row.sent_at, row.last_error, row.next_attempt_at = MailStatus.SENT, utcnow(), "", None
                    result.sent += 1
                elif msg is None or 500 <= code < 600:
                    _fail(session, row, f"{code} {text}" if code else text, result, on_failure)
                else:
                    _defer(row, f"{code} {text}" if code else text, now, result)
    finally:
        connection.drop()
    return result.as_dict()


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
