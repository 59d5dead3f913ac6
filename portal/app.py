"""The portal's application: security headers, error pages, the home page, each party's routes, and `main`."""

from __future__ import annotations

import logging
import sys
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from deployments.arguments import Parser
from portal import associations, parties, public, requests, signup, volunteers
from portal.pages import BODY_MAX, page

log = logging.getLogger("passerelles.portal")
app = FastAPI(title="Passerelles & Compétences", docs_url=None, redoc_url=None, openapi_url=None)


@app.middleware("http")
async def headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """No other host, no framing, no referrer (links carry tokens), no caching of personal pages."""
    if int(request.headers.get("content-length") or 0) > BODY_MAX:
        response: Response = page("Envoi trop volumineux", ["Ce formulaire est trop long pour être reçu."], 413)
    else:
        response = await call_next(request)
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@app.exception_handler(404)
async def not_found(request: Request, exc: Exception) -> HTMLResponse:
    return page("Page introuvable", ["Cette adresse ne correspond à aucune page. Utilisez le lien de votre mail."], 404)


@app.exception_handler(Exception)
async def unexpected(request: Request, exc: Exception) -> HTMLResponse:
    """Whatever failed (the Prefect server out of reach…): a French page, never a bare 500."""
    log.exception("page %s", request.url.path.split("/")[1] if "/" in request.url.path else "")
    return page(
        "Service momentanément indisponible",
        ["Votre réponse n'a pas pu être traitée pour l'instant. Réessayez dans quelques minutes avec le même lien."],
        503,
    )


@app.exception_handler(405)
async def wrong_method(request: Request, exc: Exception) -> HTMLResponse:
    return page("Action impossible", ["Cette page ne s'utilise pas ainsi. Utilisez le lien de votre mail."], 405)


@app.get("/", response_class=HTMLResponse)
def home() -> HTMLResponse:
    return page(
        "Portail des bénévoles et des associations",
        [
            "Ce site s'utilise surtout depuis les liens de nos mails : se positionner sur une mission, gérer ses "
            "préférences, valider une annonce. Il n'y a pas de compte à créer.",
            "Bénévole ? Inscrivez-vous : /inscription ; les missions qui cherchent quelqu'un : /missions. "
            "Association ? Demandez une mission : /demande.",
        ],
        problem=False,
    )


# --- Volunteers: apply ----------------------------------------------------------------------------


app.include_router(public.router)
app.include_router(requests.router)
app.include_router(signup.router)
app.include_router(volunteers.router)
app.include_router(parties.router)
app.include_router(associations.router)  # last: its `/{purpose}/{token}` would catch the volunteers' pages


def main(argv: list[str]) -> int:
    """Serve the portal (uvicorn), without access log: the links' tokens stay out of logs."""
    import uvicorn

    from models.settings import check_secrets, get_settings

    parser = Parser(prog="passerelles portal", description="Sert le portail public (liens signés).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=urlsplit(get_settings().portal_url).port or 8300)
    args = parser.parse_args(argv)
    refused = check_secrets(get_settings())
    if refused:
        print(refused, file=sys.stderr)
        return 2
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
