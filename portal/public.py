"""The machinery every public page of the portal shares (pages anyone may open, no signed link): a honeypot
field, rate limits per address and per IP, size limits, HTML refused, a French error that shows the form again
with what was typed; and the double opt-in: a submission is kept apart (tasks/confirmations.py) until its sender
opens the link mailed to them, and only then goes further (what each kind does then is registered in
`CONFIRMED` by the page's module).

Rate limits are kept in this process's memory (the `limits` library, moving window): one portal process serves
the public pages; a restart forgets them, which only lets a few more forms through.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy.orm import Session

from models import PublicSubmission, SubmissionKind
from models.db import unit_of_work
from models.refusals import StepRefused, TextRefused
from portal.pages import form, page
from tasks import confirmations
from tasks.delivery import deliver_soon
from tasks.rendering import render

log = logging.getLogger("passerelles.portal")
router = APIRouter()

HONEYPOT = "site_web"  # a field hidden from people (CSS, no tab stop): only a robot fills it
TYPED_MAX = 4000  # what is shown again of a field, at most (a field's own limit is checked and said)
PER_IP: RateLimitItem = parse("20/hour")  # submissions from one IP address
PER_ADDRESS: RateLimitItem = parse("3/hour")  # confirmation mails to one e-mail address
_limiter = MovingWindowRateLimiter(MemoryStorage())


def reset_limits() -> None:
    """Forget every count (tests)."""
    _limiter.storage.reset()


def client_ip(request: Request) -> str:
    """The visitor's address: uvicorn puts there the `X-Forwarded-For` client of a proxy it trusts (on this machine
    by default, others named in FORWARDED_ALLOW_IPS), else the peer (tests/test_portal_browser.py)."""
    return request.client.host if request.client else "?"


def over_limit(kind: SubmissionKind, ip: str, address: str) -> str:
    """Count one submission from `ip` to `address`; the French reason when either is over its limit, else ""."""
    if not _limiter.hit(PER_IP, kind.value, "ip", ip):
        return (
            "Trop de formulaires ont été envoyés depuis votre connexion ces dernières minutes : réessayez dans une "
            "heure. Ce que vous avez saisi est conservé ci-dessous."
        )
    if not _limiter.hit(PER_ADDRESS, kind.value, "adresse", address.lower()):
        return (
            f"Plusieurs demandes de confirmation ont déjà été envoyées à {address} : ouvrez le lien du dernier mail "
            "reçu (pensez aux indésirables), ou réessayez dans une heure."
        )
    return ""


def public_page(template: str, title: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """A public form's page (its template has the honeypot field, named `honeypot`)."""
    return HTMLResponse(render(template, title=title, honeypot=HONEYPOT, **context), status_code=status)


# A page's form, shown again: show(typed values, French error, HTTP status).
Show = Callable[[dict[str, str], str, int], HTMLResponse]
# A page's checks: (address to confirm, payload, branch id, name to greet), TextRefused with every reason.
Check = Callable[[Session, dict[str, str]], tuple[str, dict[str, Any], int | None, str]]


def sent_page(address: str = "") -> HTMLResponse:
    """What a sender reads once their submission is kept (and what a robot reads too)."""
    to = f" à {address}" if address else ""
    return page(
        "Vérifiez votre boîte mail",
        [
            f"Nous venons d'envoyer un lien de confirmation{to}. Ouvrez-le dans les "
            f"{confirmations.CONFIRM_HOURS} heures : rien n'est transmis avant.",
            "Pas de mail dans quelques minutes ? Regardez dans les indésirables.",
        ],
        problem=False,
    )


async def submitted(request: Request, kind: SubmissionKind, show: Show, check: Check) -> HTMLResponse:
    """POST of a public form: checked, counted, kept pending its confirmation, and the confirmation mailed. Any
    refusal shows the form again with the reason and what was typed; nothing is written then."""
    try:
        fields = await form(request)
    except StepRefused as exc:  # over the portal's body limit: nothing readable to show again
        return show({}, str(exc), 413)
    typed = {k: v[:TYPED_MAX] for k, v in fields.items() if k != HONEYPOT}
    if fields.get(HONEYPOT, "").strip():
        log.info("public form %s: honeypot filled, nothing kept", kind.value)
        return sent_page()
    try:
        with unit_of_work() as session:
            address, payload, branch_id, greeting = check(session, fields)
            reason = over_limit(kind, client_ip(request), address)
            if reason:
                return show(typed, reason, 429)
            confirmations.submit(session, kind, address, payload, branch_id=branch_id, greeting=greeting)
    except TextRefused as exc:
        return show(typed, str(exc), 422)
    deliver_soon()  # the confirmation mail now; if the server is away, the send-mails flow sends it
    return sent_page(address)


@dataclass(frozen=True)
class Confirmed:
    """What a kind of submission does once confirmed: `apply` in the confirming transaction (what the page then
    says), `after` once it is committed (start a run, refresh a form; "" when done, else a French note)."""

    apply: Callable[[Session, PublicSubmission], list[str]]
    after: Callable[[int], str] | None = None
    what: str = "votre inscription"  # « Vous confirmez que l'adresse … est bien la vôtre, pour <what> ? »


CONFIRMED: dict[SubmissionKind, Confirmed] = {}


@router.get("/confirmation/{secret}", response_class=HTMLResponse)
def confirmation_page(secret: str) -> HTMLResponse:
    """The link of the mail: a button to confirm (a mail client that opens links by itself confirms nothing)."""
    try:
        with unit_of_work() as session:
            row = confirmations.pending(session, secret)
            what = CONFIRMED[row.kind].what
            address = row.email
    except confirmations.ConfirmationRefused as exc:
        return _refused(exc)
    return public_page("portal/confirm.html.j2", "Confirmez votre adresse", what=what, address=address)


@router.post("/confirmation/{secret}", response_class=HTMLResponse)
def confirm(secret: str) -> HTMLResponse:
    try:
        with unit_of_work() as session:
            row = confirmations.confirm(session, secret)
            done = CONFIRMED[row.kind]
            said, row_id = done.apply(session, row), row.id
    except confirmations.ConfirmationRefused as exc:
        after = CONFIRMED[exc.used[0]].after if exc.used is not None else None
        if exc.used is not None and after is not None:
            note = after(exc.used[1])  # what could not be done last time (the request's run), done now
            if note:
                return page("Confirmation enregistrée", [note], 503)
        return _refused(exc)
    except StepRefused as exc:
        return page("Action impossible", [str(exc), "Rien n'a été enregistré."], 409)
    deliver_soon()
    if done.after is not None:
        note = done.after(row_id)
        if note:
            return page("Confirmation enregistrée", [*said, note], 503)
    return page("Adresse confirmée", said, problem=False)


def _refused(exc: confirmations.ConfirmationRefused) -> HTMLResponse:
    if exc.used is not None:
        return page("Lien déjà utilisé", [str(exc)], 409)
    return page("Lien expiré" if exc.expired else "Lien invalide", [str(exc)], 410 if exc.expired else 400)
