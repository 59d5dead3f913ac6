"""Mail: pure composition from templates, an idempotent outbox, and sending over one SMTP connection.

A mail is first a row of `outbox_mail`, unique by its deduplication key (mission, recipient, kind, round), so a
replayed flow or a retried task writes it once; sending marks it sent. Its Message-ID derives from the row, so
a mail re-sent after a crash between the server's acceptance and our commit is recognisable as the same mail.
"""

from __future__ import annotations

import hashlib
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.base import utcnow
from models.outbox import MailStatus, OutboxMail
from models.settings import get_settings
from tasks.rendering import environment

MAX_ATTEMPTS = 5


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


def outbox_key(mission_id: int, kind: str, about: str) -> str:
    """The deduplication key of a mail: one per mission, kind and recipient (`v42`, `association`) or occasion
    (the step key a Passerelle is told of, the waiting period of a reminder)."""
    return f"m{mission_id}:{kind}:{about}"


def enqueue(session: Session, *, mission_id: int, kind: str, about: str, to: str, content: MailContent) -> bool:
    """Put a mail in the outbox unless the same one (`outbox_key`) is there; True when added."""
    dedup_key = outbox_key(mission_id, kind, about)
    if session.scalar(select(OutboxMail.id).where(OutboxMail.dedup_key == dedup_key)) is not None:
        return False
    row = OutboxMail(
        dedup_key=dedup_key,
        mission_id=mission_id,
        kind=kind,
        to_address=to,
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
    msg["X-Passerelles-Kind"] = row.kind
    msg.set_content(row.text_body)
    if row.html_body:
        msg.add_alternative(row.html_body, subtype="html")
    return msg


def send_pending(session_factory: Any, *, mission_id: int | None = None, limit: int = 10_000) -> dict[str, int]:
    """Send pending mails (of one mission, or all) over one connection; each is committed as it goes."""
    settings = get_settings()
    sent = failed = 0
    with session_factory() as session:
        query = select(OutboxMail.id).where(OutboxMail.status == MailStatus.PENDING).order_by(OutboxMail.id)
        if mission_id is not None:
            query = query.where(OutboxMail.mission_id == mission_id)
        ids = list(session.scalars(query.limit(limit)))
    if not ids:
        return {"sent": 0, "failed": 0}
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password.get_secret_value())
        for mail_id in ids:
            with session_factory() as session, session.begin():
                row = session.get(OutboxMail, mail_id, with_for_update=True)
                if row is None or row.status != MailStatus.PENDING:
                    continue
                row.attempts += 1
                row.message_id = message_id(row)
                try:
                    msg = build_message(row)
                    smtp.send_message(msg, to_addrs=[row.to_address])
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, ValueError) as exc:
                    row.last_error = str(exc)[:2000]
                    if row.attempts >= MAX_ATTEMPTS:
                        row.status = MailStatus.FAILED
                    failed += 1
                    continue
                row.status = MailStatus.SENT
                row.sent_at = utcnow()
                row.last_error = ""
                sent += 1
    return {"sent": sent, "failed": failed}
