"""The sign-in gateway (docs/gateway.md): sign-in pages, then every other request proxied to the Prefect server on
the same origin, HTTP (streamed) and websockets, with the service credential; the member's role checked on each
write, the member stamped into every resume and every run started, the access log written.

The Prefect server listens only where the gateway and the workers reach it, behind its basic-auth service
credential (`PREFECT_API_AUTH_STRING`), which no person ever holds.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import os
import secrets
import sys
import time
from collections import defaultdict, deque
from typing import Any, cast
from urllib.parse import quote, urlsplit

import httpx
import websockets
from authlib.integrations.starlette_client import OAuth, OAuthError
from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from joserfc.errors import JoseError
from sqlalchemy import select
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import StreamingResponse
from starlette.websockets import WebSocketDisconnect
from websockets.typing import Subprotocol

from deployments.arguments import Parser
from models import Coordinator, StoredFile
from models.db import unit_of_work
from models.org import ROLE_LABELS, Role
from models.permissions import PORTAL_STARTS, Act, Call, classify, may, may_read_file, refusal, run_branch
from models.refusals import StepRefused
from models.settings import check_secrets, get_settings, portal_token
from portal.pages import form, page
from tasks import identity
from tasks.delivery import deliver_soon
from tasks.links import secret_key
from tasks.rendering import render

log = logging.getLogger("passerelles.gateway")
COOKIE = "passerelles_session"
PORTAL = "portail (liens des associations et des bénévoles)"
HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers", "upgrade",
       "transfer-encoding", "host", "cookie", "authorization", "content-length"}  # fmt: skip
OPEN_PATHS = ("/api/health", "/api/ready")
SEEN_EVERY = 600.0  # seconds: an opened run or form is logged once per member and target in this time
JSON_MAX = 10_000_000  # a body the gateway reads to check or stamp (forms, filters): more is refused
# The live streams a member may follow (reads). Emitting events (`/api/events/in`, what workers do, straight to the
# server) is a write that would bypass the roles (an event can trigger an automation): never through the gateway.
WS_STREAMS = ("/api/events/out", "/api/logs/out")

app = FastAPI(title="Passerelles — connexion", docs_url=None, redoc_url=None, openapi_url=None)
# The OpenID Connect round trip's state and nonce (a signed cookie, only set during that round trip).
app.add_middleware(
    SessionMiddleware,
    secret_key=secret_key(),
    session_cookie="passerelles_oidc",
    max_age=600,
    same_site="lax",
    https_only=urlsplit(get_settings().public_base_url).scheme == "https",
)


class Limiter:
    """At most `n` events per key in `window` seconds (sign-in requests per address and per IP)."""

    def __init__(self, n: int, window: float) -> None:
        self.n, self.window = n, window
        self.events: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, key: str) -> bool:
        now, q = time.monotonic(), self.events[key]
        while q and now - q[0] > self.window:
            q.popleft()
        if len(q) >= self.n:
            return False
        q.append(now)
        return True


PER_ADDRESS, PER_IP = Limiter(3, 900), Limiter(20, 900)
_seen: dict[tuple[int, str], float] = {}
_tags: dict[str, tuple[float, list[str]]] = {}
_deployments: dict[str, str] = {}


def upstream() -> str:
    """The Prefect server's base URL, as the gateway reaches it."""
    return get_settings().prefect_upstream_url.rstrip("/")


def service_auth() -> dict[str, str]:
    """The service credential's header (basic auth of `PREFECT_API_AUTH_STRING`), empty when the server has none."""
    secret = os.environ.get("PREFECT_API_AUTH_STRING", "")
    return {"Authorization": "Basic " + base64.b64encode(secret.encode()).decode()} if secret else {}


def public_origin() -> str:
    parts = urlsplit(get_settings().public_base_url)
    return f"{parts.scheme}://{parts.netloc}"


def client_ip(request: Request | WebSocket) -> str:
    return request.client.host if request.client else ""


_pool: dict[str, Any] = {}


def http() -> httpx.AsyncClient:
    """One pooled client to the Prefect server (made in the running loop, at the first request)."""
    if "client" not in _pool:
        _pool["client"] = httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=10.0), follow_redirects=False)
    return _pool["client"]


# --- who is asking ------------------------------------------------------------------------------------------------


def _who(secret: str, kind: str) -> identity.Member | None:
    with unit_of_work() as s:
        return identity.session_member(s, secret, kind=kind)


async def caller(request: Request | WebSocket) -> identity.Member | str | None:
    """The signed-in member (cookie, or a personal token as `Bearer`), the portal (its service token), or None."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        token = auth[7:].strip()
        if secrets.compare_digest(token.encode(), portal_token().encode()):
            return PORTAL
        return await run_in_threadpool(_who, token, "token")
    cookie = request.cookies.get(COOKIE)
    return await run_in_threadpool(_who, cookie, "browser") if cookie else None


def _log(member: identity.Member | str | None, event: str, **kw: Any) -> None:
    with unit_of_work() as s:
        if isinstance(member, identity.Member):
            identity.log(s, who=member.email, coordinator_id=member.id, event=event, **kw)
        else:
            identity.log(s, who=member or "inconnu", event=event, **kw)


# --- sign-in pages ------------------------------------------------------------------------------------------------


def _signin_page(*, error: str = "", notice: str = "", next_: str = "/", purpose: str = "browser", status: int = 200
                 ) -> HTMLResponse:  # fmt: skip
    settings = get_settings()
    demo: list[dict[str, Any]] = []
    if demo_mode():
        with unit_of_work() as s:
            members = s.scalars(select(Coordinator).where(Coordinator.active.is_(True)).order_by(Coordinator.id))
            demo = [
                {
                    "id": c.id,
                    "name": c.full_name,
                    "role": ROLE_LABELS[c.role],
                    "branch": c.branch.code if c.branch else "",
                }
                for c in members
            ][:8]
    html = render(
        "gateway/signin.html.j2",
        title="Connexion de l'équipe",
        error=error,
        notice=notice,
        next=next_,
        purpose=purpose,
        minutes=identity.LINK_MINUTES,
        oidc=bool(settings.oidc_issuer),
        demo=demo,
    )
    return HTMLResponse(html, status_code=status)


def demo_mode() -> bool:
    """The one-click demo sign-in: only when asked for, and only on this machine's own address (never behind TLS)."""
    settings = get_settings()
    host = urlsplit(settings.public_base_url).hostname or ""
    return settings.demo_signin and host in ("127.0.0.1", "localhost")


def _safe_next(value: str) -> str:
    """Where to go after signing in: a path of this site only."""
    return value if value.startswith("/") and not value.startswith("//") else "/"


def _signed_in(secret: str, next_: str) -> Response:
    response = RedirectResponse(_safe_next(next_), status_code=303)
    secure = urlsplit(get_settings().public_base_url).scheme == "https"
    response.set_cookie(COOKIE, secret, httponly=True, samesite="lax", secure=secure, path="/")
    return response


@app.get("/connexion", response_class=HTMLResponse)
def signin_page(suite: str = "/", pour: str = "browser") -> HTMLResponse:
    return _signin_page(next_=_safe_next(suite), purpose="token" if pour == "token" else "browser")


@app.post("/connexion", response_class=HTMLResponse)
async def signin_request(request: Request) -> HTMLResponse:
    try:
        fields = await form(request)
    except StepRefused as exc:
        return _signin_page(error=str(exc), status=413)
    email = fields.get("email", "").strip().lower()
    purpose = "token" if fields.get("pour") == "token" else "browser"
    ip = client_ip(request)
    if not email or "@" not in email:
        return _signin_page(error="Indiquez votre adresse e-mail (par exemple prenom.nom@…).", status=400)
    if not (PER_IP.allow(ip) and PER_ADDRESS.allow(email)):
        await run_in_threadpool(_log, email, "signin_rate_limited", ip=ip)
        return _signin_page(error="Trop de demandes : réessayez dans un quart d'heure.", status=429)

    def ask() -> bool:
        with unit_of_work() as s:
            return identity.request_link(
                s, email, base_url=public_origin(), purpose=purpose, ip=ip, next_=_safe_next(fields.get("suite", "/"))
            )

    if await run_in_threadpool(ask):
        await run_in_threadpool(_deliver_link)
    notice = (
        f"Si {email} est l'adresse d'un membre actif de l'équipe, un lien de connexion vient de lui être envoyé. "
        f"Il sert une fois, pendant {identity.LINK_MINUTES} minutes."
    )
    return _signin_page(notice=notice, purpose=purpose)


def _deliver_link() -> None:
    """Send the sign-in mail now, then forget its body (the outbox keeps no usable link)."""
    deliver_soon()
    with unit_of_work() as s:
        identity.forget_sent_links(s)


@app.get("/connexion/lien", response_class=HTMLResponse)
def signin_confirm(jeton: str = "", suite: str = "/") -> HTMLResponse:
    """A button, not a sign-in: a mail scanner that opens the link does not use it up."""
    html = render(
        "gateway/confirm.html.j2",
        title="Connexion de l'équipe",
        text="Pour vous connecter à Passerelles, confirmez :",
        action="/connexion/lien",
        fields={"jeton": jeton, "suite": _safe_next(suite)},
        button="Me connecter",
    )
    return HTMLResponse(html)


@app.post("/connexion/lien")
async def signin_use(request: Request) -> Response:
    try:
        fields = await form(request)
    except StepRefused as exc:
        return _signin_page(error=str(exc), status=413)
    ip = client_ip(request)
    if not PER_IP.allow(f"use:{ip}"):
        return _signin_page(error="Trop d'essais : réessayez dans un quart d'heure.", status=429)

    def use() -> tuple[str, str]:
        with unit_of_work() as s:
            c, purpose = identity.consume_link(s, fields.get("jeton", ""), ip=ip)
            return identity.open_session(s, c, kind=purpose), purpose

    try:
        secret, purpose = await run_in_threadpool(use)
    except identity.SignInRefused as exc:
        await run_in_threadpool(
            _log, exc.who, "signin_failed", coordinator_id=exc.coordinator_id, ip=ip, detail=str(exc)
        )
        return _signin_page(error=str(exc), status=400)
    if purpose == "token":
        return page(
            "Votre jeton personnel",
            [
                "Copiez-le maintenant : il ne sera plus affiché.",
                secret,
                "Sur le serveur : « passerelles login », puis collez-le. Il expire après 90 jours sans usage ; "
                "« passerelles logout » le révoque.",
            ],
            problem=False,
        )
    return _signed_in(secret, fields.get("suite", "/"))


OIDC_DOWN = "Le service de connexion de l'association ne répond pas : réessayez dans un moment, ou demandez un lien."


def oidc() -> Any:
    """The OpenID Connect client of the configured issuer (discovery document), or None without one."""
    settings = get_settings()
    if not settings.oidc_issuer:
        return None
    if "oidc" not in _pool:
        oauth = OAuth()
        oauth.register(
            "oidc",
            server_metadata_url=f"{settings.oidc_issuer.rstrip('/')}/.well-known/openid-configuration",
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret.get_secret_value(),
            client_kwargs={"scope": "openid email profile"},
        )
        _pool["oidc"] = oauth.create_client("oidc")
    return _pool["oidc"]


@app.get("/connexion/oidc")
async def oidc_start(request: Request, suite: str = "/") -> Response:
    client = oidc()
    if client is None:
        return page("Action impossible", ["La connexion par le compte de l'association n'est pas configurée."], 404)
    request.session["suite"] = _safe_next(suite)
    try:
        return cast(Response, await client.authorize_redirect(request, f"{public_origin()}/connexion/oidc/retour"))
    except httpx.HTTPError as exc:  # the issuer's discovery document unreachable
        log.warning("OIDC: the issuer does not answer: %s", exc)
        return _signin_page(error=OIDC_DOWN, status=502)


@app.get("/connexion/oidc/retour")
async def oidc_back(request: Request) -> Response:
    client, ip = oidc(), client_ip(request)
    if client is None:
        return page("Action impossible", ["La connexion par le compte de l'association n'est pas configurée."], 404)
    try:
        token = await client.authorize_access_token(request)
    except (OAuthError, JoseError) as exc:  # state, code, or the id_token's signature, issuer, audience, nonce, expiry
        await run_in_threadpool(_log, "?", "signin_failed", ip=ip, detail=f"OIDC : {exc.error}")
        return _signin_page(error="La connexion par le compte de l'association a échoué : réessayez.", status=400)
    except httpx.HTTPError as exc:
        log.warning("OIDC: the issuer does not answer: %s", exc)
        return _signin_page(error=OIDC_DOWN, status=502)
    claims = token.get("userinfo") or {}
    email = str(claims.get("email", "")).lower()

    def open_() -> str:
        with unit_of_work() as s:
            c = identity.active_member(s, email) if email and claims.get("email_verified", True) else None
            if c is None:
                raise identity.SignInRefused(
                    f"{email or 'Ce compte'} n'est pas l'adresse d'un membre actif de l'équipe.", email or "?"
                )
            identity.log(s, who=c.email, coordinator_id=c.id, event="signin_ok", ip=ip, detail="OIDC")
            return identity.open_session(s, c)

    try:
        secret = await run_in_threadpool(open_)
    except identity.SignInRefused as exc:
        await run_in_threadpool(_log, exc.who, "signin_failed", ip=ip, detail=f"OIDC : {exc}")
        return _signin_page(error=str(exc), status=403)
    return _signed_in(secret, request.session.pop("suite", "/"))


@app.post("/connexion/demo")
async def signin_demo(request: Request) -> Response:
    if not demo_mode():
        return page("Action impossible", ["La connexion d'un clic n'existe qu'en démonstration."], 404)
    fields = await form(request)

    def demo() -> str:
        with unit_of_work() as s:
            c = s.get(Coordinator, int(fields.get("membre", "0") or 0))
            if c is None or not c.active:
                raise identity.SignInRefused("Membre inconnu ou inactif.")
            identity.log(s, who=c.email, coordinator_id=c.id, event="signin_ok", ip=client_ip(request), detail="démo")
            return identity.open_session(s, c)

    try:
        return _signed_in(await run_in_threadpool(demo), "/")
    except (identity.SignInRefused, ValueError) as exc:
        return _signin_page(error=str(exc), status=400)


@app.post("/deconnexion")
async def signout(request: Request) -> Response:
    cookie = request.cookies.get(COOKIE)
    if cookie:

        def end() -> None:
            with unit_of_work() as s:
                identity.end_session(s, cookie)

        await run_in_threadpool(end)
    response = RedirectResponse("/connexion", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@app.get("/moi")
async def me(request: Request) -> Response:
    """Who is signed in (the banner's « connecté(e) comme », scripts' check of their token)."""
    who = await caller(request)
    if not isinstance(who, identity.Member):
        return JSONResponse({"detail": "Non connecté."}, status_code=401)
    return JSONResponse({"id": who.ref, "nom": who.name, "email": who.email, "role": who.role.value,
                         "antenne": who.branch})  # fmt: skip


@app.get("/journal-acces.csv")
async def access_log_csv(request: Request) -> Response:
    who = await caller(request)
    if not isinstance(who, identity.Member):
        return RedirectResponse("/connexion?suite=/journal-acces.csv", status_code=303)
    if who.role is not Role.ADMIN:
        return page("Accès refusé", [refusal(Act.ADMIN, who.role)], 403)

    def export() -> str:
        with unit_of_work() as s:
            identity.log(s, who=who.email, coordinator_id=who.id, event="access_log_export")
            return identity.access_log_csv(s)

    body = await run_in_threadpool(export)
    return PlainTextResponse(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="journal-acces.csv"'},
    )


FILE_HEADERS = {
    # Our own template, with no script; sandboxed all the same, on the origin that holds the team's session.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private, no-store",
}


@app.get("/fichiers/{file_id}/{name}")
async def stored_file(request: Request, file_id: int, name: str) -> Response:
    """A report's or an export's file (models/files.py), to the members its kind and branches allow; every
    download and every refusal in the access log."""
    who = await caller(request)
    if not isinstance(who, identity.Member):
        return RedirectResponse(f"/connexion?suite={quote(request.url.path)}", status_code=303)

    def read() -> tuple[str, StoredFile | None]:
        with unit_of_work() as s:
            row = s.get(StoredFile, file_id)
            if row is None or row.name != name:
                return "", None
            reason = may_read_file(who.role, member_branch=who.branch, kind=row.kind, branches=row.branch_codes)
            event = "refused" if reason else f"download_{row.kind}"
            identity.log(
                s,
                who=who.email,
                coordinator_id=who.id,
                event=event,
                method="GET",
                path=request.url.path,
                target=row.name,
                status=403 if reason else 200,
                detail=reason,
            )
            s.expunge(row)
            return reason, row

    reason, row = await run_in_threadpool(read)
    if row is None:
        return page("Fichier introuvable", ["Ce fichier n'existe pas, ou plus (gardé 12 mois)."], 404)
    if reason:
        return page("Accès refusé", [reason], 403)
    disposition = "inline" if row.media_type.startswith("text/html") else "attachment"
    headers = {**FILE_HEADERS, "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(row.name)}"}
    return Response(row.content, media_type=row.media_type, headers=headers)


# --- the proxy ----------------------------------------------------------------------------------------------------


class UpstreamUnavailable(Exception):
    """The Prefect server did not answer what a check needs (a run's tags, a deployment's name): the call waits."""


async def _lookup(path: str) -> dict[str, Any] | None:
    """A JSON object of the server (with the service credential); None if it does not know it. Any other answer
    (a 503 of a busy server) stops the check: guessing would refuse a rightful member or let a read through."""
    r = await http().get(f"{upstream()}{path}", headers=service_auth())
    if r.status_code == 404:
        return None
    if r.status_code != 200:
        raise UpstreamUnavailable(f"{path}: {r.status_code}")
    return cast(dict[str, Any], r.json())


async def _run_tags(flow_run_id: str) -> list[str] | None:
    """A flow run's tags (cached 10 s); None if the server does not know it."""
    cached = _tags.get(flow_run_id)
    if cached and time.monotonic() - cached[0] < 10:
        return cached[1]
    run = await _lookup(f"/api/flow_runs/{flow_run_id}")
    if run is None:
        return None
    tags = list(run.get("tags") or [])
    _tags[flow_run_id] = (time.monotonic(), tags)
    return tags


async def _deployment_name(deployment_id: str) -> str:
    """A deployment's name (kept: a deployment's id never changes name); empty if the server does not know it."""
    if deployment_id not in _deployments:
        deployment = await _lookup(f"/api/deployments/{deployment_id}")
        if deployment is None:
            return ""
        _deployments[deployment_id] = str(deployment.get("name", ""))
    return _deployments[deployment_id]


BUSY = "Le serveur est momentanément occupé : réessayez dans un instant."


def forbidden(reason: str) -> JSONResponse:
    return JSONResponse({"detail": f"Accès refusé : {reason}"}, status_code=403)


def _is_team_label(label: str) -> bool:
    """Whether a « Saisi par » value names a team member (the portal may only answer as the parties)."""
    address = label.rsplit("<", 1)[-1].rstrip(">").strip().lower() if "<" in label else ""
    if not address:
        return False
    with unit_of_work() as s:
        return identity.active_member(s, address) is not None


async def check(who: identity.Member | str, call: Call, body: Any) -> tuple[str, dict[str, Any] | None]:
    """Empty when the call may go (with its body stamped), else the French reason of the refusal."""
    branch: str | None = None
    if call.flow_run_id:
        tags = await _run_tags(call.flow_run_id)
        branch = run_branch(tags or [])
    if who == PORTAL:
        if call.act is Act.READ:
            return "", None
        run_input = (body or {}).get("run_input") if isinstance(body, dict) else None
        if call.act is Act.ANSWER_STEP and isinstance(run_input, dict):
            label = str(run_input.get("entered_by", ""))
            if label and not await run_in_threadpool(_is_team_label, label):
                return "", body
        if call.act is Act.START and call.deployment_id and await _deployment_name(call.deployment_id) in PORTAL_STARTS:
            return "", body
        return (
            "le portail ne fait que répondre aux étapes des associations et des bénévoles, et déposer les demandes "
            "confirmées.",
            None,
        )
    assert isinstance(who, identity.Member)
    deployment = await _deployment_name(call.deployment_id) if call.deployment_id else ""
    if not may(who.role, call.act, member_branch=who.branch, run_branch=branch, deployment=deployment):
        return refusal(call.act, who.role), None
    if call.act is Act.ANSWER_STEP and isinstance(body, dict) and isinstance(body.get("run_input"), dict):
        body["run_input"]["entered_by"] = who.label  # the real actor, whatever the form said
        return "", body
    if call.act is Act.START and isinstance(body, dict):
        tags = [t for t in body.get("tags") or [] if not str(t).startswith("membre:")]
        body["tags"] = [*tags, f"membre:{who.ref}"]
        return "", body
    if call.filters_runs and isinstance(body, dict) and who.role in (Role.PASSERELLE, Role.BRANCH_LEAD) and who.branch:
        runs = body.get("flow_runs") or {}
        tags_filter = runs.get("tags") or {}
        tags_filter["all_"] = [*(tags_filter.get("all_") or []), f"antenne:{who.branch}"]
        runs["tags"] = tags_filter
        body["flow_runs"] = runs
        return "", body
    return "", None


def _seen_now(who: identity.Member, target: str) -> bool:
    key, now = (who.id, target), time.monotonic()
    if now - _seen.get(key, -SEEN_EVERY) < SEEN_EVERY:
        return False
    _seen[key] = now
    return True


@app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
async def proxy(request: Request, path: str) -> Response:
    full = "/" + path
    who = await caller(request) if full not in OPEN_PATHS else "sonde"
    if who is None:
        if request.method == "GET" and not full.startswith("/api"):
            return RedirectResponse(f"/connexion?suite={quote(full)}", status_code=303)
        return JSONResponse({"detail": "Connectez-vous : /connexion"}, status_code=401)
    origin = request.headers.get("origin")
    if origin and origin != public_origin() and request.method not in ("GET", "HEAD", "OPTIONS"):
        return forbidden("cette demande vient d'un autre site.")
    call = classify(request.method, full.removeprefix("/api")) if full.startswith("/api/") else Call(Act.READ)
    body: Any = None
    content: Any = request.stream()
    needs_body = call.act is not Act.READ or call.filters_runs
    if needs_body and request.method in ("POST", "PUT", "PATCH"):
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > JSON_MAX:
                return JSONResponse({"detail": "Demande trop volumineuse."}, status_code=413)
        content = raw
        with contextlib.suppress(ValueError):
            body = json.loads(raw) if raw else None
    if who != "sonde":
        try:
            reason, stamped = await check(who, call, body)
        except (UpstreamUnavailable, httpx.HTTPError) as exc:
            log.warning("check of %s %s: the Prefect server did not answer: %s", request.method, full, exc)
            return JSONResponse({"detail": BUSY}, status_code=503, headers={"Retry-After": "1"})
        if reason:
            await run_in_threadpool(_log, who, "refused", method=request.method, path=full, status=403, detail=reason)
            return forbidden(reason)
        if stamped is not None:
            content = json.dumps(stamped).encode()
    headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP}
    headers.update(service_auth())
    url = f"{upstream()}{full}" + (f"?{request.url.query}" if request.url.query else "")
    resp = await _send(request.method, url, headers, content)
    out_headers = {k: v for k, v in resp.headers.items() if k.lower() not in HOP | {"www-authenticate"}}
    if isinstance(who, identity.Member) or who == PORTAL:
        await _access(who, call, request.method, full, resp.status_code)
    if full.endswith("/ui-settings") and resp.status_code == 200:
        settings = json.loads(await resp.aread())
        await resp.aclose()
        settings["auth"] = None  # the gateway signs people in; the UI must not ask for the service password
        out_headers.pop("content-encoding", None)
        return JSONResponse(settings, headers=out_headers)
    return StreamingResponse(
        resp.aiter_raw(), status_code=resp.status_code, headers=out_headers, background=BackgroundTask(resp.aclose)
    )


RETRY_WAITS = (0.2, 0.5, 1.0, 2.0, 4.0)  # seconds before each new try of a call the Prefect server said to retry


async def _send(method: str, url: str, headers: dict[str, str], content: Any) -> httpx.Response:
    """Send a call upstream. A 503 of the Prefect server means a retryable database error (SQLite busy, a lost
    PostgreSQL connection: `is_client_retryable_exception`), its transaction rolled back: the call is sent again, as
    Prefect's own client does (`prefect/client/base.py`), so the person does not see an error and click again. A
    body still streaming from the person (a large read) cannot be sent twice: its 503 goes through."""
    replayable = method in ("GET", "HEAD", "OPTIONS") or isinstance(content, bytes)
    if method in ("GET", "HEAD", "OPTIONS"):
        content = None
    for wait in (*RETRY_WAITS, None):
        resp = await http().send(http().build_request(method, url, headers=headers, content=content), stream=True)
        if resp.status_code != 503 or not replayable or wait is None:
            return resp
        await resp.aclose()
        log.info("%s %s: the Prefect server asked to retry (503), again in %.1f s", method, url, wait)
        await asyncio.sleep(wait)
    raise AssertionError("unreachable")


async def _access(who: identity.Member | str, call: Call, method: str, path: str, status: int) -> None:
    """The access log: every write; a mission run or a form (volunteers' data) opened, once per while."""
    if call.act is not Act.READ:
        await run_in_threadpool(_log, who, "write", method=method, path=path, target=call.flow_run_id or
                                call.deployment_id, status=status)  # fmt: skip
    elif call.flow_run_id and method == "GET" and isinstance(who, identity.Member):
        event = "open_form" if "/input/" in path else "open_run"
        if _seen_now(who, f"{event}:{call.flow_run_id}"):
            await run_in_threadpool(_log, who, event, method=method, path=path, target=call.flow_run_id, status=status)


@app.websocket("/{path:path}")
async def websocket_proxy(websocket: WebSocket, path: str) -> None:
    """The live streams of events and logs (Prefect's clients subscribe to them; the UIs poll over HTTP): the
    member's session on the upgrade, the same origin only, reads only; the auth message carries the service
    credential upstream; closed when the session ends, with the server's close code."""
    who = await caller(websocket)
    origin = websocket.headers.get("origin")
    if "/" + path not in WS_STREAMS or not isinstance(who, identity.Member) or (origin and origin != public_origin()):
        await websocket.close(code=1008)
        return
    wanted = [p.strip() for h in websocket.headers.getlist("sec-websocket-protocol") for p in h.split(",")]
    target = upstream().replace("http", "ws", 1) + "/" + path
    if websocket.url.query:
        target += "?" + websocket.url.query
    secret = os.environ.get("PREFECT_API_AUTH_STRING", "")
    try:
        upstream_ws = await websockets.connect(
            target,
            subprotocols=[Subprotocol("prefect")] if "prefect" in wanted else None,
            additional_headers=service_auth(),
        )
    except Exception:
        await websocket.close(code=1011)
        return
    await websocket.accept(subprotocol="prefect" if "prefect" in wanted else None)
    cookie = websocket.cookies.get(COOKIE, "")

    async def client_to_upstream() -> None:
        first = True
        while True:
            message = await websocket.receive_text()
            if first:
                first = False
                with contextlib.suppress(ValueError):
                    data = json.loads(message)
                    if isinstance(data, dict) and data.get("type") == "auth":
                        message = json.dumps({"type": "auth", "token": secret or None})
            await upstream_ws.send(message)

    async def upstream_to_client() -> None:
        async for message in upstream_ws:
            if isinstance(message, bytes):
                await websocket.send_bytes(message)
            else:
                await websocket.send_text(message)

    async def session_still_open() -> None:
        while True:
            await asyncio.sleep(30)
            if await run_in_threadpool(_who, cookie, "browser") is None:
                return

    tasks = [asyncio.ensure_future(c()) for c in (client_to_upstream, upstream_to_client, session_still_open)]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    except WebSocketDisconnect:
        pass
    finally:
        for t in tasks:
            t.cancel()
        await upstream_ws.close()
        # The server's close (a refused auth is 1008, a message out of turn 1002, with its reason) reaches the
        # client as is; an upstream that dropped the connection without a close frame (1006, which cannot be sent)
        # is an error of the server (1011).
        code, reason = upstream_ws.close_code or 1000, upstream_ws.close_reason or ""
        with contextlib.suppress(Exception):
            await websocket.close(code={1005: 1000, 1006: 1011}.get(code, code), reason=reason)


def main(argv: list[str]) -> int:
    """`passerelles gateway`: serve the gateway on the public address of the Prefect UI."""
    import uvicorn

    parser = Parser(prog="passerelles gateway", description="Sert la passerelle de connexion.")
    settings = get_settings()
    parts = urlsplit(settings.public_base_url)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=parts.port or (443 if parts.scheme == "https" else 80))
    args = parser.parse_args(argv)
    refused = check_secrets(settings)
    if refused:
        print(refused, file=sys.stderr)
        return 2
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", proxy_headers=True, ws="websockets-sansio")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
