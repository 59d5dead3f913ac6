"""`send-mails`: sends the outbox (every minute, and on the event a step emits when it queued mails)."""

from __future__ import annotations

from prefect import flow

from tasks.delivery import send_mails


@flow(name="send-mails", description="Envoie les mails en attente ; réessaie plus tard ceux que le serveur diffère.")
def send_mails_flow() -> dict[str, int | str]:
    """Send every pending mail that is due."""
    return send_mails()
