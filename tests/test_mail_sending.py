"""Sending the outbox against a real SMTP server that misbehaves: down, 4xx, 5xx, one recipient refused, the
connection dropped at the end of DATA. Every mail is delivered once or reported, none twice."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select

from deployments.local import free_port
from models import MailStatus, OutboxMail
from models.base import utcnow
from models.db import session_factory, unit_of_work
from models.settings import get_settings
from tasks import notices
from tasks.compose import MailContent
from tasks.outbox import enqueue, send_pending
from tests import lifecycle_driver as d


class FaultyHandler:
    """Accepts mail, except for the faults it is told to play: per recipient at RCPT, and in order at DATA."""

    def __init__(self) -> None:
        self.rcpt_faults: dict[str, list[str]] = {}
        self.data_faults: list[str] = []
        self.received: list[tuple[str, str]] = []  # (recipient, Message-ID)
        self.delay = 0.0  # seconds before answering DATA

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        faults = self.rcpt_faults.get(address)
        if faults:
            return faults.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.data_faults:
            fault = self.data_faults.pop(0)
            if fault == "drop":  # the connection goes away before the server accepts the message
                assert server.transport is not None
                server.transport.close()
                return "421 connexion perdue"
            return fault
        raw = (envelope.original_content or b"").decode(errors="replace")
        message_id = next(line.split(":", 1)[1].strip() for line in raw.splitlines() if line.startswith("Message-ID:"))
        self.received.extend((rcpt, message_id) for rcpt in envelope.rcpt_tos)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(app_db, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FaultyHandler, Controller]]:
    """The settings point at a port; the faulty server is started by the test (it may begin down)."""
    handler = FaultyHandler()
    port = free_port()
    monkeypatch.setenv("PASSERELLES_SMTP_PORT", str(port))
    get_settings.cache_clear()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    yield handler, controller
    with contextlib.suppress(AssertionError):  # never started
        controller.stop()
    get_settings.cache_clear()


def queue(*addresses: str) -> int:
    """A mission with one mail queued per address; its id."""
    d.seed_small()
    with unit_of_work() as s:
        mission = d.new_mission(s)
        for a in addresses:
            content = MailContent(subject=f"Annonce pour {a}", text="Bonjour,\n", html="")
            enqueue(s, mission_id=mission.id, kind="annonce", about=a, to=a, content=content)
        return mission.id


def send() -> dict[str, int | str]:
    return send_pending(session_factory(), on_failure=notices.undelivered)


def rows() -> dict[str, OutboxMail]:
    with unit_of_work() as s:
        return {m.to_address: m for m in s.scalars(select(OutboxMail))}


def make_due() -> None:
    with unit_of_work() as s:
        for m in s.scalars(select(OutboxMail).where(OutboxMail.next_attempt_at.is_not(None))):
            m.next_attempt_at = utcnow() - timedelta(seconds=1)


def test_server_down_then_back_loses_nothing(smtp) -> None:
    handler, controller = smtp
    queue("a@exemple.fr", "b@exemple.fr")
    result = send()  # nobody listens: nothing is tried, nothing is lost
    assert result["sent"] == 0 and "injoignable" in str(result["error"])
    assert all(m.status is MailStatus.PENDING and m.attempts == 0 for m in rows().values())
    controller.start()
    assert send()["sent"] == 2
    assert send()["sent"] == 0
    assert sorted(r for r, _ in handler.received) == ["a@exemple.fr", "b@exemple.fr"]


def test_4xx_defers_5xx_fails_and_tells_the_passerelle(smtp) -> None:
    handler, controller = smtp
    controller.start()
    handler.rcpt_faults = {
        "later@exemple.fr": ["451 4.7.1 Réessayez plus tard"],
        "nobody@exemple.fr": ["550 5.1.1 Boîte inconnue"],
    }
    queue("ok@exemple.fr", "later@exemple.fr", "nobody@exemple.fr")
    result = send()
    # Sent: the good one, and the Passerelle's notice of the failure, queued meanwhile and due at once.
    assert (result["sent"], result["deferred"], result["failed"]) == (2, 1, 1)
    by_address = rows()
    assert by_address["later@exemple.fr"].status is MailStatus.PENDING
    assert (
        by_address["later@exemple.fr"].next_attempt_at is not None
        and "451" in by_address["later@exemple.fr"].last_error
    )
    assert (
        by_address["nobody@exemple.fr"].status is MailStatus.FAILED
        and "550" in by_address["nobody@exemple.fr"].last_error
    )
    told = by_address["claire.muller@pc.example"]  # the Passerelle's notice, queued in the same transaction
    assert told.kind == "undelivered" and "nobody@exemple.fr" in told.subject
    assert send()["sent"] == 0  # the deferred mail is not due yet
    make_due()
    assert send()["sent"] == 1
    received = Counter(r for r, _ in handler.received)
    assert received == {"ok@exemple.fr": 1, "later@exemple.fr": 1, "claire.muller@pc.example": 1}


def test_faults_at_data_and_a_dropped_connection_deliver_once(smtp) -> None:
    handler, controller = smtp
    controller.start()
    handler.data_faults = ["451 4.3.0 Erreur temporaire", "drop", "421 4.3.2 Arrêt du service"]
    addresses = [f"v{i}@exemple.fr" for i in range(1, 6)]
    queue(*addresses)
    first = send()
    assert first["deferred"] == 3 and first["sent"] == 2  # each fault defers one mail; the pass goes on
    make_due()
    assert send()["sent"] == 3
    assert Counter(r for r, _ in handler.received) == dict.fromkeys(addresses, 1)
    assert len({m for _, m in handler.received}) == 5  # distinct Message-IDs, each the outbox row's
    assert all(m.status is MailStatus.SENT and m.last_error == "" for m in rows().values())


def test_a_mail_deferred_past_max_age_fails(smtp) -> None:
    handler, controller = smtp
    controller.start()
    handler.rcpt_faults = {"late@exemple.fr": ["452 4.2.2 Boîte pleine"] * 2}
    queue("late@exemple.fr")
    assert send()["deferred"] == 1
    with unit_of_work() as s:
        row = s.scalars(select(OutboxMail)).one()
        row.created_at = utcnow() - timedelta(days=3)
    make_due()
    assert send()["failed"] == 1
    assert rows()["late@exemple.fr"].status is MailStatus.FAILED


def test_two_senders_at_once_send_each_mail_once(smtp) -> None:
    handler, controller = smtp
    controller.start()
    addresses = [f"p{i}@exemple.fr" for i in range(40)]
    queue(*addresses)
    results: list[dict[str, int | str]] = []
    threads = [threading.Thread(target=lambda: results.append(send())) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(int(r["sent"]) for r in results) == 40
    assert Counter(r for r, _ in handler.received) == dict.fromkeys(addresses, 1)


def test_a_sender_that_died_after_claiming_is_taken_over(smtp) -> None:
    handler, controller = smtp
    controller.start()
    queue("orphan@exemple.fr")
    with unit_of_work() as s:  # what a sender killed between its claim and its record leaves
        row = s.scalars(select(OutboxMail)).one()
        row.status, row.next_attempt_at = MailStatus.SENDING, utcnow() + timedelta(minutes=5)
    assert send()["sent"] == 0  # its lease still runs
    make_due()
    assert send()["sent"] == 1
    assert [r for r, _ in handler.received] == ["orphan@exemple.fr"]


def test_parallel_senders_killed_mid_batch_lose_nothing_and_resend_with_the_same_message_id(smtp) -> None:
    """A process sending over 4 connections is SIGKILLed mid-batch. Every mail still arrives; the only ones that
    arrive twice are mails of the batches in flight at the kill (the server had said 250, the record was not
    committed: at most RECORD_EVERY per connection), and they arrive again with the same Message-ID."""
    from tasks.outbox import CLAIM_BATCH, RECORD_EVERY

    handler, controller = smtp
    controller.start()
    handler.delay = 0.004
    addresses = [f"k{i}@exemple.fr" for i in range(600)]
    queue(*addresses)
    code = (
        "from models.db import session_factory; from tasks.outbox import send_pending; "
        "send_pending(session_factory(), connections=4)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], env=os.environ.copy())
    deadline = time.monotonic() + 60
    while len(handler.received) < 150 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    in_flight = {a for a, m in rows().items() if m.status is MailStatus.SENDING}
    assert 0 < len(in_flight) <= 4 * CLAIM_BATCH, "killed while batches were claimed, not after"
    make_due()  # their claim's lease is over
    handler.delay = 0.0
    send_pending(session_factory(), connections=4)
    received = Counter(r for r, _ in handler.received)
    assert set(received) == set(addresses) and all(m.status is MailStatus.SENT for m in rows().values())
    twice = {a for a, n in received.items() if n > 1}
    assert twice <= in_flight and max(received.values()) <= 2
    assert len(twice) <= 4 * RECORD_EVERY  # sent, not yet recorded: a few per connection, not its whole claim
    ids: dict[str, set[str]] = {}
    for address, message_id in handler.received:
        ids.setdefault(address, set()).add(message_id)
    assert all(len(v) == 1 for v in ids.values())  # a mail sent again carries its first Message-ID
