"""Signing in by OpenID Connect (issue 22), on real parts: the gateway as its own process, configured with an
issuer; the issuer a small real one served in this test (discovery document, authorization endpoint, token endpoint
with an RS256-signed id_token carrying the nonce, JWKS), as Google Workspace or Microsoft Entra would be; the
application database on PostgreSQL. Authlib in the gateway does the round trip; the gateway checks the address."""

from __future__ import annotations

import base64
import contextvars
import html
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from deployments.local import Portal, free_port
from gateway.app import COOKIE
from models import AccessLog, Coordinator, Role
from models.db import unit_of_work
from models.settings import get_settings
from tests import factories as f

pytestmark = pytest.mark.slow
CLIENT_ID = "passerelles-test"
CLIENT_SECRET = "cle-du-client-oidc-des-tests-0123456789abcdef"


@dataclass
class Issuer:
    """A small OpenID Connect provider: whoever the test says is signed in at the provider (`account`) is sent
    back with a code; the token endpoint trades it, once, for an id_token signed with the issuer's RSA key."""

    url: str
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "cle-1"}))
    account: dict[str, Any] = field(default_factory=dict)  # the claims of the account signed in at the provider
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    server: Any = None  # its uvicorn server and thread, to stop it
    thread: Any = None
    tamper: str = ""  # "nonce": the id_token carries another nonce (a replayed one); "key": signed by another key

    def app(self) -> Starlette:
        async def discovery(request: Request) -> Response:
            return JSONResponse(
                {
                    "issuer": self.url,
                    "authorization_endpoint": f"{self.url}/authorize",
                    "token_endpoint": f"{self.url}/token",
                    "jwks_uri": f"{self.url}/jwks",
                    "response_types_supported": ["code"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                }
            )

        async def authorize(request: Request) -> Response:
            q = dict(request.query_params)
            self.authorize_requests.append(q)
            if q.get("client_id") != CLIENT_ID or q.get("response_type") != "code" or "openid" not in q["scope"]:
                return JSONResponse({"error": "invalid_request"}, status_code=400)
            code = secrets.token_urlsafe(16)
            self.codes[code] = {"nonce": q.get("nonce"), "redirect_uri": q["redirect_uri"], "claims": self.account}
            return RedirectResponse(f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}", 302)

        async def token(request: Request) -> Response:
            form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
            basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            if request.headers.get("authorization") != f"Basic {basic}":
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            grant = self.codes.pop(form.get("code", ""), None)  # a code serves once
            if grant is None or form.get("redirect_uri") != grant["redirect_uri"]:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            now = int(time.time())
            claims = {"iss": self.url, "aud": CLIENT_ID, "iat": now, "exp": now + 300, **grant["claims"]}
            if grant["nonce"]:
                claims["nonce"] = "un-autre-nonce" if self.tamper == "nonce" else grant["nonce"]
            key = RSAKey.generate_key(2048, parameters={"kid": "cle-1"}) if self.tamper == "key" else self.key
            id_token = jwt.encode({"alg": "RS256", "kid": "cle-1"}, claims, key)
            return JSONResponse(
                {
                    "access_token": secrets.token_urlsafe(16),
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "id_token": id_token,
                }
            )

        async def jwks(request: Request) -> Response:
            return JSONResponse({"keys": [self.key.as_dict(private=False)]})

        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", discovery),
                Route("/authorize", authorize),
                Route("/token", token, methods=["POST"]),
                Route("/jwks", jwks),
            ]
        )


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    import uvicorn

    port = free_port()
    provider = Issuer(f"http://127.0.0.1:{port}")
    config = uvicorn.Config(provider.app(), host="127.0.0.1", port=port, log_level="warning", access_log=False)
    server = provider.server = uvicorn.Server(config)
    thread = provider.thread = threading.Thread(target=contextvars.copy_context().run, args=(server.run,), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the test issuer did not start"
    yield provider
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_app_db: str, issuer: Issuer) -> Iterator[str]:
    """The gateway process, configured with the issuer (no Prefect server: signing in needs none)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    for k, v in {
        "PASSERELLES_PUBLIC_BASE_URL": url,
        "PASSERELLES_OIDC_ISSUER": issuer.url,
        "PASSERELLES_OIDC_CLIENT_ID": CLIENT_ID,
        "PASSERELLES_OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "PASSERELLES_PORTAL_TOKEN": "jeton-du-portail-pour-les-tests-0123456789",
    }.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    process = Portal(port, tmp_path / "gateway.log", command="gateway").start()
    try:
        yield url
    finally:
        process.stop()
        get_settings.cache_clear()


def team() -> None:
    with unit_of_work() as s:
        strasbourg = f.branch(s, "STR")
        f.coordinator(s, strasbourg, "Claire", "Muller")
        f.coordinator(s, strasbourg, "Hugo", "Gross", active=False)  # left the association


def oidc_round_trip(gateway: str, issuer: Issuer, claims: dict[str, Any]) -> tuple[httpx.Client, httpx.Response]:
    """The browser's path: the gateway's button, the provider (where `claims` is the signed-in account), back to
    the gateway; the client holds the cookies, the gateway's last answer is returned (its request: the URL the
    provider sent the browser back to)."""
    issuer.account = {"sub": secrets.token_hex(8), "email_verified": True, **claims}
    client = httpx.Client(base_url=gateway, timeout=30)
    to_provider = client.get("/connexion/oidc", params={"suite": "/moi"})
    assert to_provider.status_code == 302 and to_provider.headers["location"].startswith(f"{issuer.url}/authorize?")
    back = httpx.get(to_provider.headers["location"])  # the provider's own domain: none of the gateway's cookies
    assert back.status_code == 302 and back.headers["location"].startswith(f"{gateway}/connexion/oidc/retour?")
    return client, client.get(back.headers["location"])


def test_a_member_signs_in_with_the_associations_account(gateway: str, issuer: Issuer) -> None:
    team()
    page = httpx.get(f"{gateway}/connexion")
    assert "Se connecter avec le compte de l'association" in html.unescape(page.text)

    client, signed_in = oidc_round_trip(gateway, issuer, {"email": "Claire.Muller@pc.example"})
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/moi", signed_in.text
    assert client.cookies.get(COOKIE)
    me = client.get("/moi")
    assert me.status_code == 200 and me.json()["email"] == "claire.muller@pc.example"
    assert me.json()["role"] == Role.PASSERELLE.value and me.json()["antenne"] == "STR"
    sent = issuer.authorize_requests[-1]
    assert sent["redirect_uri"] == f"{gateway}/connexion/oidc/retour" and sent["nonce"] and sent["state"]
    with unit_of_work() as s:
        rows = s.scalars(select(AccessLog).where(AccessLog.event == "signin_ok")).all()
        assert [(r.who, r.detail) for r in rows] == [("claire.muller@pc.example", "OIDC")]

    # The same answer of the provider, replayed: its state was used up, its code too
    replay = client.get(str(signed_in.request.url))
    assert replay.status_code == 400 and "a échoué" in html.unescape(replay.text)

    # A member who leaves is out at once, and cannot come back through the provider
    with unit_of_work() as s:
        claire = s.scalar(select(Coordinator).where(Coordinator.email == "claire.muller@pc.example"))
        assert claire is not None
        claire.active = False
    assert client.get("/moi").status_code == 401
    _, refused = oidc_round_trip(gateway, issuer, {"email": "claire.muller@pc.example"})
    assert refused.status_code == 403 and COOKIE not in refused.cookies
    assert "n'est pas l'adresse d'un membre actif de l'équipe" in html.unescape(refused.text)


def test_unknown_inactive_unverified_and_forged_answers_are_refused(gateway: str, issuer: Issuer) -> None:
    team()
    for claims in (
        {"email": "quelquun@gmail.example"},  # an account of the provider, not of the team
        {"email": "hugo.gross@pc.example"},  # a member who left
        {"email": "claire.muller@pc.example", "email_verified": False},  # an address the provider did not verify
        {},  # no address at all
    ):
        client, refused = oidc_round_trip(gateway, issuer, claims)
        text = html.unescape(refused.text)
        assert refused.status_code == 403 and "n'est pas l'adresse d'un membre actif de l'équipe" in text, claims
        assert "Connexion de l'équipe" in text and not client.cookies.get(COOKIE)
        assert client.get("/moi").status_code == 401

    # A forged state: the provider's code is real, the state is not the one the gateway gave this browser
    issuer.account = {"sub": "x", "email": "claire.muller@pc.example", "email_verified": True}
    client = httpx.Client(base_url=gateway, timeout=30)
    location = client.get("/connexion/oidc").headers["location"]
    back = httpx.get(location).headers["location"]
    code = parse_qs(urlsplit(back).query)["code"][0]
    forged = client.get("/connexion/oidc/retour", params={"code": code, "state": "etat-fabrique"})
    assert forged.status_code == 400 and "La connexion par le compte de l'association a échoué" in html.unescape(
        forged.text
    )
    assert not client.cookies.get(COOKIE)
    # …nor the right state in another browser (an attacker's link sent to a member: no state of hers)
    other = httpx.Client(base_url=gateway, timeout=30)
    stolen = other.get(back)
    assert stolen.status_code == 400 and not other.cookies.get(COOKIE)
    # An id_token that is not the answer to this sign-in (another nonce), or not signed by the issuer's key
    for tamper in ("nonce", "key"):
        issuer.tamper = tamper
        client, refused = oidc_round_trip(gateway, issuer, {"email": "claire.muller@pc.example"})
        assert refused.status_code == 400 and "a échoué" in html.unescape(refused.text), (tamper, refused.text)
        assert not client.cookies.get(COOKIE)
    issuer.tamper = ""
    # The provider's error (the member cancelled) is a French page too
    cancelled = client.get("/connexion/oidc/retour", params={"error": "access_denied", "state": "x"})
    assert cancelled.status_code == 400 and "a échoué" in html.unescape(cancelled.text)

    with unit_of_work() as s:
        failed = s.scalars(select(AccessLog).where(AccessLog.event == "signin_failed")).all()
        assert not s.scalars(select(AccessLog).where(AccessLog.event == "signin_ok")).all()
    whos = {r.who for r in failed}
    assert {"quelquun@gmail.example", "hugo.gross@pc.example", "claire.muller@pc.example"} <= whos
    assert all((r.detail or "").startswith("OIDC") for r in failed)

    # The provider goes down between the way out and the way back: a French page, no session
    client = httpx.Client(base_url=gateway, timeout=30)
    back = httpx.get(client.get("/connexion/oidc").headers["location"]).headers["location"]
    issuer.server.should_exit = True
    issuer.thread.join(10)
    down = client.get(back)
    assert down.status_code == 502 and "ne répond pas" in html.unescape(down.text) and not client.cookies.get(COOKIE)
