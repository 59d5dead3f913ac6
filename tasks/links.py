"""Signed, expiring, single-purpose links for the people outside P&C (volunteers, associations).

A link is `<portal>/<purpose>/<token>`; the token is signed with the installation's secret and salted with its
purpose, so a token made for one action is refused for another, a changed character is refused, and an old one
is refused once its purpose's age is over. A token is not single-use by itself: each action is tied to state that
changes once (the application's uniqueness, the step the link answers), and says so when it was already done.
Tokens carry ids only, never a name or an address.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Volunteer
from models.base import utcnow
from models.db import unit_of_work
from models.settings import generated_secret, get_settings


class Purpose(StrEnum):
    """What a link does; its value is the portal's path."""

    APPLY = "candidature"
    UNSUBSCRIBE = "desinscription"
    PREFERENCES = "preferences"
    ANNOUNCEMENT = "annonce"
    ROADMAP = "feuille-de-route"
    REVIEW = "bilan"
    PRIORITY = "priorite"  # a volunteer in reserve asks for another mission in the domain (priority)
    ROADMAP_AGREEMENT = "accord-feuille-de-route"  # a retained volunteer agrees to the roadmap, or asks changes
    VOLUNTEER_REVIEW = "bilan-benevole"  # a retained volunteer's half of the bilan
    NEWS = "point"  # at a check-in, the association's or a volunteer's news of the mission
    MY_DATA = "mes-donnees"  # a volunteer downloads everything held about them (RGPD art. 15), from preferences
    RELAY = "relais"  # a relay's forwarding link of an annonce: who follows it signs up and applies « via » them


# How long a link stays valid: an unsubscribe link must still work when an old mail is opened (RFC 8058 asks for
# it to keep working); links about a mission, as long as the mission may need them.
# The download of one's data is signed when the preferences page is shown: a day is enough, and a copied link stops
# giving the data away soon.
MAX_AGE = {
    Purpose.UNSUBSCRIBE: timedelta(days=730),
    Purpose.PREFERENCES: timedelta(days=365),
    Purpose.MY_DATA: timedelta(days=1),
}


class LinkRefused(Exception):
    """A link that cannot be used; `reason` is the French sentence the page shows, `expired` says why."""

    def __init__(self, reason: str, *, expired: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.expired = reason, expired


def secret_key() -> str:
    """The configured secret, else the one generated for this installation (var/secret_key, created once)."""
    configured = get_settings().secret_key.get_secret_value()
    if configured:
        return configured
    return generated_secret("secret_key")


def _serializer(purpose: Purpose) -> URLSafeTimedSerializer:
    previous = get_settings().previous_secret_key.get_secret_value()
    return _serializer_for((previous, secret_key()) if previous else (secret_key(),), purpose)


@functools.lru_cache(maxsize=64)
def _serializer_for(keys: tuple[str, ...], purpose: Purpose) -> URLSafeTimedSerializer:
    # Built once per key and purpose: a national diffusion signs three links per volunteer. With a rotated key,
    # itsdangerous signs with the last key and still reads what the earlier one signed.
    return URLSafeTimedSerializer(list(keys), salt=f"passerelles:{purpose.value}")


def token(purpose: Purpose, **payload: Any) -> str:
    """A signed token for `purpose` carrying `payload` (ids)."""
    return _serializer(purpose).dumps(payload)


def link(purpose: Purpose, **payload: Any) -> str:
    """The portal URL of a signed link."""
    return f"{get_settings().portal_url.rstrip('/')}/{purpose.value}/{token(purpose, **payload)}"


def max_age(purpose: Purpose) -> timedelta:
    """How long a link of this purpose stays valid."""
    return MAX_AGE.get(purpose, timedelta(days=get_settings().link_days))


def read(purpose: Purpose, value: str) -> dict[str, Any]:
    """The payload of a token made for `purpose`; LinkRefused (in French) if it is altered, expired or made for
    another purpose."""
    if not value or len(value) > 1000:
        raise LinkRefused("Ce lien est incomplet ou invalide.")
    try:
        payload, issued = _serializer(purpose).loads(
            value, max_age=int(max_age(purpose).total_seconds()), return_timestamp=True
        )
    except SignatureExpired as exc:
        raise LinkRefused(
            "Ce lien a expiré. Demandez un nouveau lien à votre Passerelle, ou répondez simplement au mail.",
            expired=True,
        ) from exc
    except BadSignature as exc:
        raise LinkRefused("Ce lien est invalide : il a peut-être été mal copié. Utilisez le lien du mail.") from exc
    if not isinstance(payload, dict):
        raise LinkRefused("Ce lien est invalide.")
    if isinstance(payload.get("v"), int) and _revoked_after(payload["v"], issued):
        raise LinkRefused(
            "Ce lien a été remplacé par un plus récent : utilisez celui de votre dernier mail, ou demandez-en un à "
            "votre Passerelle."
        )
    return payload


def _revoked_after(volunteer_id: int, issued: datetime) -> bool:
    """Whether the volunteer's links were revoked after this one was signed (a forwarded mail, a lost phone)."""
    with unit_of_work() as session:
        revoked = session.scalar(select(Volunteer.links_revoked_at).where(Volunteer.id == volunteer_id))
    return revoked is not None and issued.astimezone(UTC) <= revoked


def revoke(session: Session, volunteer: Volunteer) -> None:
    """Every link mailed to the volunteer so far stops working; the next mails carry new ones."""
    volunteer.links_revoked_at = utcnow()


ANNONCES_PATH = "missions"  # the portal's public pages of the published annonces: /missions/<reference>


def annonce_url(reference: str) -> str:
    """The public page of a published annonce (`/missions/STR-2026-014`): the one address of the portal that is not
    signed, meant to be shared (the social networks' post); it names the mission, nobody."""
    return f"{get_settings().portal_url.rstrip('/')}/{ANNONCES_PATH}/{reference}"


def volunteer_links(volunteer_id: int, mission_id: int | None = None, *, relay: bool = False) -> dict[str, str]:
    """The links every mail to a volunteer carries (unsubscribe, preferences) and, about a mission, « Je suis
    intéressé(e) » and, for a relay, their personal forwarding link (`relay_url`)."""
    links = {
        "unsubscribe_url": link(Purpose.UNSUBSCRIBE, v=volunteer_id),
        "preferences_url": link(Purpose.PREFERENCES, v=volunteer_id),
    }
    if mission_id is not None:
        links["apply_url"] = link(Purpose.APPLY, v=volunteer_id, m=mission_id)
        if relay:
            # `r`, not `v`: the relay's own links may be revoked (a lost phone), the one they spread keeps working
            links["relay_url"] = link(Purpose.RELAY, r=volunteer_id, m=mission_id)
    return links
