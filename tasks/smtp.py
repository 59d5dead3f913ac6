"""The SMTP transport: an outbox row as the bytes sent on the wire (headers, text and HTML parts, its
Message-ID given by the outbox), one connection opened when needed, and what a server's refusal says."""

from __future__ import annotations

import binascii
import contextlib
import functools
import re
import smtplib
from email.header import Header
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formataddr, formatdate, parseaddr
from typing import Protocol

from models.settings import get_settings

SMTP_TIMEOUT = 30
UNBUILDABLE = -1  # the code of a mail no server would take (it cannot be built): failed at once


class Mail(Protocol):
    """What the transport reads of a queued mail (an outbox row, or the copy a sender claimed)."""

    @property
    def kind(self) -> str: ...
    @property
    def to_address(self) -> str: ...
    @property
    def reply_to(self) -> str: ...
    @property
    def list_unsubscribe(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def text_body(self) -> str: ...
    @property
    def html_body(self) -> str: ...
    @property
    def calendar(self) -> str: ...


_PLAIN = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")  # an address written as is in a header


_BREAK = re.compile(r"[\r\n]")


def sender_address() -> str:
    """The envelope sender: the address of the From: header."""
    return _address_of(get_settings().mail_sender)


@functools.lru_cache(maxsize=8)
def _address_of(sender: str) -> str:
    return parseaddr(sender)[1]


def message_bytes(mail: Mail, mid: str) -> bytes:
    """The message as sent, with Message-ID `mid`: the same headers and parts as `build_message`, written
    directly (quoted-printable UTF-8 bodies, RFC 2047 subject), ten times cheaper than flattening an
    EmailMessage. An address that is not plain ASCII, or a mail carrying a calendar invitation, goes through
    `build_message`, which knows how to encode it."""
    settings = get_settings()
    if mail.calendar or not (
        _PLAIN.fullmatch(mail.to_address)
        and _PLAIN.fullmatch(mail.reply_to or "a@b")
        and len(mail.subject) < 900
        and mail.list_unsubscribe.isascii()
        and not _BREAK.search(mail.list_unsubscribe + mail.subject)
    ):
        return build_message(mail, mid).as_bytes()
    headers = [
        f"From: {_from_header(settings.mail_sender)}",
        f"To: {mail.to_address}",
        f"Subject: {_subject_header(mail.subject)}",
        f"Date: {formatdate(localtime=False)}",
        f"Message-ID: {mid}",
    ]
    if mail.reply_to:
        headers.append(f"Reply-To: {mail.reply_to}")
    if mail.list_unsubscribe:
        headers += [f"List-Unsubscribe: <{mail.list_unsubscribe}>", "List-Unsubscribe-Post: List-Unsubscribe=One-Click"]
    headers += [f"X-Passerelles-Kind: {mail.kind}", "MIME-Version: 1.0"]
    text = _part("plain", mail.text_body)
    if not mail.html_body:
        return "\r\n".join(headers).encode() + b"\r\n" + text
    # A boundary cannot occur in quoted-printable text, where every "=" is written "=3D".
    boundary = f"=_pc-{mid.strip('<>').split('@')[0]}"
    head = "\r\n".join([*headers, f'Content-Type: multipart/alternative; boundary="{boundary}"', "", ""]).encode()
    sep = f"--{boundary}\r\n".encode()
    return head + sep + text + b"\r\n" + sep + _part("html", mail.html_body) + f"\r\n--{boundary}--\r\n".encode()


@functools.lru_cache(maxsize=8)
def _from_header(sender: str) -> str:
    return formataddr(parseaddr(sender), charset="utf-8")


@functools.lru_cache(maxsize=1024)
def _subject_header(subject: str) -> str:
    # Encoding is slow (~1 ms) and every mail of a diffusion has the same subject: once per subject.
    return subject if subject.isascii() else Header(subject, "utf-8", header_name="Subject").encode()


def _part(subtype: str, body: str) -> bytes:
    """A text part: its headers, a blank line, the body in quoted-printable UTF-8 with CRLF line ends."""
    crlf = body.replace("\r\n", "\n").replace("\n", "\r\n").encode()
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'.encode()
        + binascii.b2a_qp(crlf, istext=True)
    )


def build_message(row: Mail, mid: str) -> EmailMessage:
    """The MIME message of an outbox row: text and HTML alternatives."""
    settings = get_settings()
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["From"] = settings.mail_sender
    msg["To"] = row.to_address
    msg["Subject"] = row.subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = mid
    if row.reply_to:
        msg["Reply-To"] = row.reply_to
    if row.list_unsubscribe:  # RFC 2369 and RFC 8058: the mail client's « unsubscribe » posts to it, no page
        msg["List-Unsubscribe"] = f"<{row.list_unsubscribe}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["X-Passerelles-Kind"] = row.kind
    msg.set_content(row.text_body)
    if row.html_body:
        msg.add_alternative(row.html_body, subtype="html")
    if row.calendar:
        _add_calendar(msg, row.calendar)
    return msg


def _add_calendar(msg: EmailMessage, ics: str) -> None:
    """An invitation as calendar clients expect it (RFC 6047, iMIP): a `text/calendar; method=…` alternative they
    act on (add, update, remove the event), and the same .ics as an attachment a person can open."""
    method = re.search(r"^METHOD:(\w+)", ics, re.MULTILINE)
    params = {"method": method.group(1)} if method else {}
    msg.add_alternative(ics, subtype="calendar", params=params)
    msg.make_mixed()
    msg.add_attachment(ics.encode(), maintype="application", subtype="ics", filename="invitation.ics")


class Connection:
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


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


def refusal(exc: Exception, address: str) -> tuple[int, str]:
    """The SMTP reply code and text of a refusal (0 when the connection itself failed)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = exc.recipients.get(address, (0, b""))
        return int(code), _text(reply)
    if isinstance(exc, smtplib.SMTPResponseException):
        return int(exc.smtp_code), _text(exc.smtp_error)
    return 0, str(exc) or type(exc).__name__


def send_one(connection: Connection, mail: Mail, mid: str) -> tuple[int, str]:
    """(SMTP reply code or 0, error text) of sending `mail` with Message-ID `mid`; 250 when the server took it."""
    try:
        raw = message_bytes(mail, mid)
    except ValueError as exc:  # the message cannot be built (a bad address): no server would take it
        return UNBUILDABLE, str(exc)
    try:
        connection.get().sendmail(sender_address(), [mail.to_address], raw)
        return 250, ""
    except (OSError, smtplib.SMTPException) as exc:
        code, text = refusal(exc, mail.to_address)
        if not 500 <= code < 600:
            connection.drop()  # 4xx or a dropped connection: later, on a new connection
        return code, f"{code} {text}" if code else text
