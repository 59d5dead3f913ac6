"""The portal's shared pages: a page saying one thing, the page of a refusal, reading a posted form."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from models.db import unit_of_work
from models.refusals import StepRefused, TextRefused
from tasks.links import LinkRefused, Purpose, read
from tasks.portal import MESSAGE_MAX
from tasks.rendering import render

# A link's page: `show(token)`, or again with the reason of a refused answer and what was typed.
Show = Callable[..., HTMLResponse]

BODY_MAX = 64 * 1024  # a form of the portal is a few kilobytes at most


def page(title: str, paragraphs: list[str], status: int = 200, *, problem: bool = True) -> HTMLResponse:
    """A page that says one thing (a refusal, a confirmation)."""
    html = render("portal/message.html.j2", title=title, paragraphs=paragraphs, problem=problem)
    return HTMLResponse(html, status_code=status)


def refused(exc: Exception) -> HTMLResponse:
    """The French page of a refused link or action (nothing was written)."""
    if isinstance(exc, LinkRefused):
        return page("Lien expiré" if exc.expired else "Lien invalide", [exc.reason], 410 if exc.expired else 400)
    return page("Action impossible", [str(exc), "Rien n'a été modifié."], 409)


async def form(request: Request) -> dict[str, str]:
    """The fields of a urlencoded form (the portal's own forms); other encodings give no field."""
    chunks, size = [], 0
    async for chunk in request.stream():  # counted as it comes: a chunked body has no Content-Length to trust
        size += len(chunk)
        if size > BODY_MAX:
            raise StepRefused("Ce formulaire est trop long pour être reçu.")
        chunks.append(chunk)
    body = b"".join(chunks)
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError as exc:
        raise StepRefused("Ce formulaire n'est pas lisible (encodage).") from exc
    return {k: v[0] for k, v in fields.items()}


def shown(show: Show, token: str) -> HTMLResponse:
    """GET of a link's page: the page, or the French page of its refusal (nothing written)."""
    try:
        return show(token)
    except (LinkRefused, StepRefused) as exc:
        return refused(exc)


async def answered(
    request: Request,
    token: str,
    purpose: Purpose,
    act: Callable[[Session, dict[str, Any], dict[str, str]], Any],
    show: Show,
) -> tuple[Any, dict[str, Any]] | HTMLResponse:
    """POST of a link's form: `act(session, payload, fields)` in one transaction; (its result, the link's payload)
    when done. An answer to correct (TextRefused) shows the page again with the reason and what was typed; any
    other refusal, its French page. Nothing is written unless `act` returns."""
    try:
        payload = read(purpose, token)
        fields = await form(request)
        try:
            with unit_of_work() as session:
                return act(session, payload, fields), payload
        except TextRefused as exc:
            return show(token, error=str(exc), typed={k: v[:MESSAGE_MAX] for k, v in fields.items()})
    except (LinkRefused, StepRefused) as exc:
        return refused(exc)
