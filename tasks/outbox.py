"""Sending the outbox from Prefect: steps only write outbox rows and say so with an event; the `send-mails` flow
(every minute, and run by an automation on that event) sends what is due. An SMTP outage never fails a mission
run: the mails wait in the outbox and go out when the server is back."""

from __future__ import annotations

from prefect import task
from prefect.events import emit_event

from models.db import session_factory
from tasks import notices
from tasks.mail import send_pending

MAIL_QUEUED = "passerelles.mail.queued"  # the event an automation answers by running send-mails


def mail_queued(mission_id: int | None = None) -> None:
    """Say that mails wait in the outbox (after the commit that wrote them)."""
    resource = f"passerelles.mission.{mission_id}" if mission_id else "passerelles.outbox"
    emit_event(event=MAIL_QUEUED, resource={"prefect.resource.id": resource})


@task(name="send-pending-mails", retries=2, retry_delay_seconds=5)
def send_mails() -> dict[str, int | str]:
    """Send every pending mail that is due; a mail refused for good is told to the mission's Passerelle."""
    return send_pending(session_factory(), on_failure=notices.undelivered)
