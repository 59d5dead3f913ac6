"""The portal's shared pages: a page saying one thing, the page of a refusal, reading a posted form."""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import Request
from fastapi.responses import HTMLResponse

from tasks.links import LinkRefused
from tasks.refusals import StepRefused
from tasks.rendering import render

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
    body = await request.body()
    if len(body) > BODY_MAX:
        raise StepRefused("Ce formulaire est trop long pour être reçu.")
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError as exc:
        raise StepRefused("Ce formulaire n'est pas lisible (encodage).") from exc
    return {k: v[0] for k, v in fields.items()}
