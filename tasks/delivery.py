"""Delivering the outbox from Prefect. Steps only write outbox rows. Right after a step's commit, `deliver_soon` tries
the mission's due mails once, briefly, and never raises; the `send-mails` flow (every minute) sends everything else
that is due, retries what a server deferred, and takes over mails whose sender died. An SMTP outage never fails a
mission run nor holds it for more than a few seconds: the mails wait in the outbox."""

from __future__ import annotations

import logging

from prefect import task

from models.db import session_factory
from models.settings import get_settings
from tasks import notices
from tasks.outbox import send_pending

log = logging.getLogger("passerelles.outbox")
QUICK_TIMEOUT = 5.0  # seconds: what a step may lose to an unresponsive SMTP server


def deliver_soon(mission_id: int | None = None) -> None:
    """Try the due mails (of a mission) now, after the commit that wrote them; whatever fails waits for send-mails."""
    try:
        result = send_pending(
            session_factory(), mission_id=mission_id, timeout=QUICK_TIMEOUT, on_failure=notices.undelivered
        )
        if result["error"]:
            log.warning("mails left for send-mails: %s", result["error"])
    except Exception:  # the database or anything else: the mails stay in the outbox, the mission goes on
        log.exception("mails left for send-mails")


@task(name="send-pending-mails", retries=2, retry_delay_seconds=5)
def send_mails() -> dict[str, int | str]:
    """Send every pending mail that is due; a mail refused for good is told to the mission's Passerelle."""
    return send_pending(session_factory(), on_failure=notices.undelivered, connections=get_settings().smtp_connections)
