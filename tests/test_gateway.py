"""The sign-in gateway (issue 22), on real parts: a Prefect server behind its service credential and CSRF tokens,
the gateway as its own process in front of it, PostgreSQL, a real SMTP server for the sign-in links, Chromium for
the UI path. Members sign in by a mailed one-time link; roles are enforced on every write; the audit names the
member who clicked; the access log records it all."""

from __future__ import annotations

import html
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from prefect.deployments.runner import RunnerDeployment
from sqlalchemy import select

from deployments.local import MailServer, Portal, PrefectServer, free_port
from gateway.app import COOKIE
from models import AccessLog, AuditEvent, Coordinator, Mission, Role, SignInLink
from models.base import utcnow
from models.db import unit_of_work
from models.settings import get_settings
from tests import factories as f
from tests import lifecycle_driver as d

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("gateway")]
SECRET = "passerelles:un-identifiant-de-service-pour-les-tests"
PORTAL_TOKEN = "jeton-du-portail-pour-les-tests-0123456789"


@dataclass
class Gated:
    server: PrefectServer
    gateway: Portal
    url: str
    mail: MailServer


@dataclass
class Upstream:
    server: PrefectServer
    public: str  # the gateway's address, fixed for the module: the server's UI settings name it


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    """One Prefect server with its UI, behind the service credential, for the module (its tests run on one xdist
    worker): starting one takes 30-50 s on a busy machine. Each test has its own database and `PASSERELLES_INSTANCE`
    (pg_app_db), so the runs of one test are not those of another."""
    import prefect.settings as ps
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.settings import temporary_settings

    public = f"http://127.0.0.1:{free_port()}"
    server = PrefectServer(home=tmp_path_factory.mktemp("prefect"), ui=True, auth=SECRET, public_url=public)
    server.start()
    env = {
        **server.env(),
        "PREFECT_LOGGING_TO_API_ENABLED": "false",
        "PASSERELLES_PUBLIC_BASE_URL": public,
        "PASSERELLES_PREFECT_UPSTREAM_URL": server.ui_url,
        "PASSERELLES_PORTAL_TOKEN": PORTAL_TOKEN,
    }
    updates = {
        ps.PREFECT_API_URL: server.api_url,
        ps.PREFECT_API_AUTH_STRING: SECRET,
        ps.PREFECT_HOME: str(server.home),
    }
    try:
        with pytest.MonkeyPatch.context() as mp, temporary_settings(updates=updates):
            for k, v in env.items():
                mp.setenv(k, v)
            try:
                yield Upstream(server, public)
            finally:
                EventsWorker.drain_all(timeout=10)
                APILogWorker.drain_all(timeout=10)
    finally:
        server.stop()


@pytest.fixture
def gated(upstream: Upstream, tmp_path: Path, pg_app_db: str, mail_server: MailServer) -> Iterator[Gated]:
    """The gateway, its own process, on this test's database and SMTP server, in front of the module's server."""
    get_settings.cache_clear()
    port = int(upstream.public.rsplit(":", 1)[1])
    gateway = Portal(port, tmp_path / "gateway.log", command="gateway").start()
    try:
        yield Gated(upstream.server, gateway, upstream.public, mail_server)
    finally:
        gateway.stop()
        get_settings.cache_clear()


def signin_link(mail: MailServer, email: str, after: int = 0, timeout: float = 15.0) -> str:
    """The link of the newest sign-in mail to `email` (the gateway sends it right after its commit)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mails = [m for m in mail.messages[after:] if m["To"] == email and m["X-Passerelles-Kind"] == "signin_link"]
        if mails:
            body = cast(Any, mails[-1].get_body(preferencelist=("plain",))).get_content()
            return next(w for w in body.split() if "/connexion/lien?jeton=" in w)
        time.sleep(0.2)
    raise AssertionError(f"no sign-in mail to {email}")


def sign_in(g: Gated, email: str) -> httpx.Client:
    """Ask a link, follow it as the member would (the page, then its button); the client holds the session."""
    client = httpx.Client(base_url=g.url, timeout=30)
    before = len(g.mail.messages)
    r = client.post("/connexion", data={"email": email})
    assert r.status_code == 200 and "un lien de connexion vient de lui être envoyé" in html.unescape(r.text)
    link = signin_link(g.mail, email, before)
    page = client.get(link)
    assert page.status_code == 200 and "Me connecter" in page.text and COOKIE not in client.cookies  # not used yet
    token = parse_qs(urlsplit(link).query)["jeton"][0]
    r = client.post("/connexion/lien", data={"jeton": token})
    assert r.status_code == 303 and client.cookies.get(COOKIE)
    return client


def csrf(client: httpx.Client) -> dict[str, str]:
    """Prefect's CSRF headers, as the UI gets them."""
    token = client.get("/api/csrf-token", params={"client": "tests"}).json()["token"]
    return {"Prefect-Csrf-Token": token, "Prefect-Csrf-Client": "tests"}


def resume(client: httpx.Client, run_id: str, run_input: dict[str, Any]) -> httpx.Response:
    return client.post(f"/api/flow_runs/{run_id}/resume", json={"run_input": run_input}, headers=csrf(client))


def other_branch() -> None:
    """A second branch, its Passerelle, and the national admin."""
    with unit_of_work() as s:
        mul = f.branch(s, "MUL")
        f.coordinator(s, mul, "Marie", "Meyer")
        f.coordinator(s, mul, "Alain", "Dupont", role=Role.ADMIN, branch_id=None)


def started_mission() -> tuple[int, d.Driver]:
    d.deploy()
    d.seed_small()
    other_branch()
    mission_id, run_id = d.open_and_start()
    drv = d.Driver(run_id)
    drv.run()
    return mission_id, drv


def test_members_sign_in_by_link_and_act_as_themselves(gated: Gated) -> None:
    from flows.admin import reassign_missions

    g = gated
    mission_id, drv = started_mission()
    run_id = drv.flow_run_id
    # Nothing without signing in; the server itself wants the service credential
    anonymous = httpx.Client(base_url=g.url)
    r = anonymous.get(f"/runs/flow-run/{run_id}")
    assert r.status_code == 303 and r.headers["location"].startswith("/connexion")
    assert anonymous.post("/api/flow_runs/filter", json={}).status_code == 401
    assert httpx.get(f"{g.server.api_url}/flow_runs/{run_id}").status_code == 401
    assert httpx.post(f"{g.server.api_url}/flow_runs/filter", json={}).status_code in (401, 403)  # CSRF first
    assert anonymous.get("/api/health").status_code == 200  # probes

    # A link: unknown addresses get the same answer and no mail; a link serves once, a forged one never
    before = len(g.mail.messages)
    r = anonymous.post("/connexion", data={"email": "inconnu@exemple.fr"})
    assert "un lien de connexion vient de lui être envoyé" in html.unescape(r.text)
    claire = sign_in(g, "claire.muller@pc.example")
    assert not [m for m in g.mail.messages[before:] if m["To"] == "inconnu@exemple.fr"]
    link = signin_link(g.mail, "claire.muller@pc.example")
    used = anonymous.post("/connexion/lien", data={"jeton": parse_qs(urlsplit(link).query)["jeton"][0]})
    assert used.status_code == 400 and "déjà servi" in html.unescape(used.text)
    forged = anonymous.post("/connexion/lien", data={"jeton": "pas-un-vrai-jeton"})
    assert forged.status_code == 400 and "n'est pas valide" in html.unescape(forged.text)
    before = len(g.mail.messages)
    anonymous.post("/connexion", data={"email": "jean.kieffer@pc.example"})
    late = parse_qs(urlsplit(signin_link(g.mail, "jean.kieffer@pc.example", before)).query)["jeton"][0]
    with unit_of_work() as s:
        for row in s.scalars(select(SignInLink).where(SignInLink.used_at.is_(None))):
            row.expires_at = utcnow() - timedelta(minutes=1)
    expired = anonymous.post("/connexion/lien", data={"jeton": late})
    assert expired.status_code == 400 and "a expiré" in html.unescape(expired.text)
    for _ in range(4):  # three links per address in a quarter of an hour, then a wait
        r = anonymous.post("/connexion", data={"email": "marie.meyer@pc.example"})
    assert r.status_code == 429 and "Trop de demandes" in html.unescape(r.text)

    # The UI is told not to ask for a password; the member opens her mission and answers it
    ui = claire.get("/ui-settings").json()
    assert ui["auth"] is None and ui["api_url"] == f"{g.url}/api"
    assert claire.get(f"/api/flow_runs/{run_id}").status_code == 200
    r = resume(claire, run_id, {**d.needs_analysis(), "entered_by": "Jean Kieffer <jean.kieffer@pc.example>"})
    assert r.status_code in (200, 201) and r.json()["status"] == "ACCEPT", r.text
    drv.run()
    with unit_of_work() as s:
        event = s.scalar(
            select(AuditEvent).where(AuditEvent.mission_id == mission_id, AuditEvent.action == "needs-analysis")
        )
        assert event is not None and event.actor == "Claire Muller"  # whatever the answer claimed

    # A Passerelle of another branch: neither her form nor a reassignment
    marie = httpx.Client(base_url=g.url, timeout=30)
    with unit_of_work() as s:
        from tasks import identity

        m = identity.active_member(s, "marie.meyer@pc.example")
        assert m is not None
        marie.cookies.set(COOKIE, identity.open_session(s, m))
    refused = resume(marie, run_id, drv.shown_annonce())
    assert drv.state().type.value == "PAUSED"
    assert refused.status_code == 403 and "Passerelle ou la responsable de l'antenne" in refused.json()["detail"]
    assert marie.get(f"/api/flow_runs/{run_id}").status_code == 403
    listed = marie.post("/api/flow_runs/filter", json={}, headers=csrf(marie)).json()
    assert run_id not in {r["id"] for r in listed}  # her list holds her branch's runs only
    reassign = cast(RunnerDeployment, reassign_missions.to_deployment(name="reassign-missions")).apply()
    start = {"parameters": {"a": "claire.muller@pc.example", "mission": "STR-2026-001"}}
    refused = marie.post(f"/api/deployments/{reassign}/create_flow_run", json=start, headers=csrf(marie))
    assert refused.status_code == 403 and "ne permet pas de lancer cette action" in refused.json()["detail"]
    assert drv.state().type.value == "PAUSED"  # nothing changed: the annonce still waits for Claire

    # The branch lead may: the run he starts carries his name, not one he could type
    jean = sign_in(g, "jean.kieffer@pc.example")
    forged_tags = {**start, "tags": ["membre:C-1"]}
    started = jean.post(f"/api/deployments/{reassign}/create_flow_run", json=forged_tags, headers=csrf(jean))
    assert started.status_code == 201, started.text
    with unit_of_work() as s:
        jean_id = s.scalar(select(Coordinator.id).where(Coordinator.email == "jean.kieffer@pc.example"))
    assert started.json()["tags"] == [f"membre:C-{jean_id}"]

    # A script answers as the UI does, with Prefect's own client and a member's personal token (bench/, drivers)
    import prefect.settings as ps
    from prefect.settings import temporary_settings

    gateway_api = {ps.PREFECT_API_URL: f"{g.url}/api", ps.PREFECT_API_KEY: f.token_for("jean.kieffer@pc.example"),
                   ps.PREFECT_API_AUTH_STRING: None}  # fmt: skip
    with temporary_settings(updates=gateway_api):
        accepted, reason = d.submit_form(run_id, drv.shown_annonce())
    assert accepted, reason
    drv.run()
    with unit_of_work() as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.mission_id == mission_id, AuditEvent.action == "annonce"))
        assert event is not None and event.actor == "Jean Kieffer"

    # The portal's token answers the parties' steps only
    portal = httpx.Client(base_url=g.url, headers={"Authorization": f"Bearer {PORTAL_TOKEN}"})
    assert portal.post("/api/flow_runs/filter", json={}, headers=csrf(portal)).status_code == 200
    as_team = {**d.applications(""), "entered_by": "Claire Muller <claire.muller@pc.example>"}
    assert resume(portal, run_id, as_team).status_code == 403
    assert (
        portal.post(f"/api/deployments/{reassign}/create_flow_run", json=start, headers=csrf(portal)).status_code == 403
    )

    # The admin exports the access log; a Passerelle may not; a member who leaves is out at once
    alain = sign_in(g, "alain.dupont@pc.example")
    assert claire.get("/journal-acces.csv").status_code == 403
    exported = alain.get("/journal-acces.csv")
    assert exported.status_code == 200 and exported.text.startswith("date;membre;événement")
    # An export kept by the action (its run's artifact links it, tests/test_exports.py): the gateway's process
    # serves it to an admin, not to a Passerelle (the roles: tests/test_report_files.py)
    from models.permissions import SYSTEM_CLI
    from tasks import admin_actions as actions

    today = utcnow().date()
    done = actions.perform(
        lambda s: actions.export_data(s, "missions", branches=[], start=today, end=today, actor=SYSTEM_CLI)
    )
    assert done.url.startswith(f"{g.url}/fichiers/")
    assert claire.get(done.url).status_code == 403
    assert alain.get(done.url).content.startswith(b"\xef\xbb\xbfR\xc3\xa9f\xc3\xa9rence;")
    with unit_of_work() as s:
        s.scalar(select(Coordinator).where(Coordinator.email == "claire.muller@pc.example")).active = False  # type: ignore[union-attr]
    assert claire.post("/api/flow_runs/filter", json={}).status_code == 401
    with unit_of_work() as s:
        events = {(r.who, r.event) for r in s.scalars(select(AccessLog))}
    assert {
        ("claire.muller@pc.example", "signin_ok"),
        ("claire.muller@pc.example", "signin_failed"),
        ("claire.muller@pc.example", "open_run"),
        ("claire.muller@pc.example", "write"),
        ("marie.meyer@pc.example", "refused"),
        ("inconnu@exemple.fr", "signin_unknown"),
        ("marie.meyer@pc.example", "signin_rate_limited"),
        ("alain.dupont@pc.example", "access_log_export"),
        ("alain.dupont@pc.example", "download_export"),
    } <= events
    with unit_of_work() as s:
        assert s.get(Mission, mission_id) is not None


def test_live_events_pass_through_the_gateway_for_members_only(gated: Gated) -> None:
    from websockets.exceptions import ConnectionClosed, InvalidStatus
    from websockets.sync.client import connect

    d.seed_small()
    client = sign_in(gated, "claire.muller@pc.example")
    ws_url = gated.url.replace("http", "ws", 1) + "/api/events/out"
    headers = {"Cookie": f"{COOKIE}={client.cookies.get(COOKIE)}", "Origin": gated.url}
    with connect(ws_url, subprotocols=["prefect"], additional_headers=headers) as ws:  # type: ignore[list-item]
        ws.send(json.dumps({"type": "auth", "token": None}))
        assert json.loads(ws.recv(timeout=10))["type"] == "auth_success"
        ws.send(json.dumps({"type": "ping"}))  # out of turn: the server closes
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)
    assert (ws.close_code, ws.close_reason) == (1002, "Expected 'filter' message")  # the server's own close
    with pytest.raises(InvalidStatus), connect(ws_url, subprotocols=["prefect"]):  # type: ignore[list-item]
        pass
    hijack = {**headers, "Origin": "https://site-malveillant.example"}
    with pytest.raises(InvalidStatus), connect(ws_url, subprotocols=["prefect"], additional_headers=hijack):  # type: ignore[list-item]
        pass


def sign_in_in_browser(page: Any, g: Gated, email: str, path: str = "/dashboard") -> None:
    """In Chromium: open `path`, get sent to the sign-in page, ask a link, open it from the mail, press its button;
    back on `path`, signed in."""
    page.goto(f"{g.url}{path}")
    page.wait_for_url("**/connexion**")
    before = len(g.mail.messages)
    page.get_by_label("Votre adresse e-mail").fill(email)
    page.get_by_role("button", name="Recevoir mon lien de connexion").click()
    page.get_by_text("un lien de connexion vient de lui être envoyé").wait_for()
    page.goto(signin_link(g.mail, email, before))
    page.get_by_role("button", name="Me connecter").click()
    page.wait_for_url(f"**{path}")  # back where she was going


# A POST from the page, as the Prefect UI (3.9, v1: `ui/assets/usePrefectApi-*.js`) sends it: when `/ui-settings`
# says `csrf_enabled`, a token from `GET /api/csrf-token?client=<its client id>`, sent back in the
# `Prefect-Csrf-Token` and `Prefect-Csrf-Client` headers of every POST, PATCH, PUT and DELETE. No retry here: a 503
# of the test server's SQLite busy under load is retried by the gateway (`gateway/app._send`).
UI_POST = """async ({path, body}) => {
  const settings = await (await fetch('/ui-settings')).json();
  const headers = {'Content-Type': 'application/json'};
  if (settings.csrf_enabled) {
    const client = crypto.randomUUID();
    const token = await (await fetch(`/api/csrf-token?client=${client}`)).json();
    headers['Prefect-Csrf-Token'] = token.token;
    headers['Prefect-Csrf-Client'] = client;
  }
  const r = await fetch(settings.api_url + path, {method: 'POST', headers, body: JSON.stringify(body)});
  return {status: r.status, body: await r.json(), csrf: settings.csrf_enabled === true};
}"""


def test_a_passerelle_signs_in_and_resumes_in_chromium(gated: Gated) -> None:
    from tests.test_browser import in_browser

    mission_id, drv = started_mission()
    run_id, g = drv.flow_run_id, gated

    def steps(page: Any) -> None:
        sign_in_in_browser(page, g, "claire.muller@pc.example", f"/runs/flow-run/{run_id}")
        page.get_by_text("Suspended").first.wait_for()
        page.get_by_role("button", name="Resume").first.click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_text("Analyse du besoin").first.wait_for()
        assert dialog.get_by_text("Saisi par").count() == 0  # who answers is no choice
        dialog.get_by_role("button", name="Submit").click()
        dialog.wait_for(state="hidden")
        page.get_by_text("Resuming").first.wait_for()  # the page follows the run live (the v1 UI polls the API)

    in_browser(steps)
    drv.run()
    with unit_of_work() as s:
        actors = dict(
            s.execute(select(AuditEvent.action, AuditEvent.actor).where(AuditEvent.mission_id == mission_id)).all()
        )
    assert [a for k, a in actors.items() if k.startswith("needs-analysis")] == ["Claire Muller"], actors


def service(g: Gated) -> httpx.Client:
    """The Prefect server itself, with the service credential, as a worker reaches it (never a person)."""
    user, password = SECRET.split(":", 1)
    client = httpx.Client(base_url=g.server.ui_url, auth=(user, password), timeout=30)
    client.headers.update(csrf(client))
    return client


def reassign_deployment() -> str:
    from flows.admin import reassign_missions

    return str(cast(RunnerDeployment, reassign_missions.to_deployment(name="reassign-missions")).apply())


def test_a_passerelle_of_another_branch_is_refused_in_chromium(gated: Gated) -> None:
    """Marie (Passerelle, MUL) in Chromium, posting from the page as the UI's own code does: neither the resume of a
    Strasbourg mission nor a reassignment, each a French 403 that changes nothing; Jean (lead, STR) may reassign."""
    from prefect import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterExpectedStartTime,
    )
    from prefect.flow_engine import run_flow

    from flows.admin import reassign_missions
    from tests.test_browser import in_browser

    began = utcnow()
    mission_id, drv = started_mission()
    run_id, g = drv.flow_run_id, gated
    reassign = reassign_deployment()
    with unit_of_work() as s:
        mission = s.get(Mission, mission_id)
        assert mission is not None and mission.branch.code == "STR"
        reference = mission.reference
        f.coordinator(s, mission.branch, "Léa", "Brun", email="lea.brun@pc.example")
        audit_before = len(s.scalars(select(AuditEvent).where(AuditEvent.mission_id == mission_id)).all())
    paused = drv.state()
    assert paused.type.value == "PAUSED"
    start = {"parameters": {"a": "lea.brun@pc.example", "mission": reference}}
    answers: dict[str, Any] = {}

    def steps(page: Any) -> None:
        sign_in_in_browser(page, g, "marie.meyer@pc.example")
        answers["resume"] = page.evaluate(
            UI_POST, {"path": f"/flow_runs/{run_id}/resume", "body": {"run_input": d.needs_analysis()}}
        )
        answers["reassign"] = page.evaluate(
            UI_POST, {"path": f"/deployments/{reassign}/create_flow_run", "body": start}
        )
        lead = page.context.browser.new_context().new_page()  # another person, another browser profile
        sign_in_in_browser(lead, g, "jean.kieffer@pc.example")
        answers["lead"] = lead.evaluate(UI_POST, {"path": f"/deployments/{reassign}/create_flow_run", "body": start})

    in_browser(steps)
    resume, refused, lead = answers["resume"], answers["reassign"], answers["lead"]
    assert resume["csrf"] and resume["status"] == 403, resume
    assert resume["body"]["detail"].startswith("Accès refusé : Seule une Passerelle ou la responsable de l'antenne")
    assert refused["status"] == 403, refused
    assert (
        refused["body"]["detail"]
        == "Accès refusé : Votre rôle ne permet pas de lancer cette action. (Vous êtes : Passerelle.)"
    )
    # Nothing changed: the same suspension, no answer in the mission's audit
    state = drv.state()
    assert state.type.value == "PAUSED" and state.id == paused.id
    with unit_of_work() as s:
        assert len(s.scalars(select(AuditEvent).where(AuditEvent.mission_id == mission_id)).all()) == audit_before
        refusals = s.scalars(
            select(AccessLog).where(AccessLog.who == "marie.meyer@pc.example", AccessLog.event == "refused")
        )
        assert {r.path for r in refusals} == {
            f"/api/flow_runs/{run_id}/resume",
            f"/api/deployments/{reassign}/create_flow_run",
        }

    # The branch lead's run: the only run of the deployment, tagged with his name; run, it reassigns as him
    assert lead["status"] == 201, lead
    with unit_of_work() as s:
        jean_id = s.scalar(select(Coordinator.id).where(Coordinator.email == "jean.kieffer@pc.example"))
    assert lead["body"]["tags"] == [f"membre:C-{jean_id}"]
    with get_client(sync_client=True) as client:  # the server is the module's: this test's runs are those since
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[reassign])),
            flow_run_filter=FlowRunFilter(expected_start_time=FlowRunFilterExpectedStartTime(after_=began)),
        )
    assert [str(r.id) for r in runs] == [lead["body"]["id"]]
    done = cast(Any, run_flow(reassign_missions, flow_run=runs[0], return_type="state"))
    assert done.is_completed(), done.message
    with unit_of_work() as s:
        mission = s.get(Mission, mission_id)
        assert mission is not None and mission.coordinator.email == "lea.brun@pc.example"
        moved = s.scalar(select(AuditEvent).where(AuditEvent.mission_id == mission_id, AuditEvent.action == "reassign"))
        assert moved is not None and moved.actor == "Jean Kieffer <jean.kieffer@pc.example>", moved and moved.actor


# The events stream as Prefect's client follows it (`prefect/events/clients.py`, PrefectEventSubscriber): the
# `prefect` subprotocol, an `auth` message, then a `filter` message; events come as {"type": "event", ...}.
SUBSCRIBE = """({path, filter}) => new Promise((resolve, reject) => {
  const ws = new WebSocket(`ws://${location.host}${path}`, ['prefect']);
  window.received = [];
  ws.onopen = () => ws.send(JSON.stringify({type: 'auth', token: null}));
  ws.onerror = () => reject(new Error('websocket error'));
  ws.onclose = (e) => reject(new Error(`closed ${e.code}`));
  ws.onmessage = (m) => {
    const data = JSON.parse(m.data);
    if (data.type === 'auth_success') {
      ws.send(JSON.stringify({type: 'filter', filter}));
      resolve(ws.protocol);
    } else if (data.type === 'event') {
      window.received.push(data.event);
    } else {
      reject(new Error(m.data));
    }
  };
})"""
REFUSED_SOCKET = """(path) => new Promise((resolve) => {
  const ws = new WebSocket(`ws://${location.host}${path}`, ['prefect']);
  ws.onopen = () => resolve('open');
  ws.onclose = (e) => resolve(`closed ${e.code}`);
})"""


def test_the_run_page_follows_logs_and_events_live_in_chromium(gated: Gated) -> None:
    """Claire's run page, open in Chromium through the gateway, shows a log line written after it opened (the v1 UI
    polls `POST /api/logs/filter`; it opens no websocket); and a websocket on `/api/events/out` from the page gets
    an event emitted after it subscribed."""
    import uuid
    from datetime import UTC, datetime

    from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter

    from tests.test_browser import SHOTS, in_browser

    _, drv = started_mission()
    run_id, g = drv.flow_run_id, gated
    upstream = service(g)
    line = f"Ligne écrite après l'ouverture de la page {uuid.uuid4().hex[:8]}"
    event_id, name = str(uuid.uuid4()), "passerelles.essai.signal"
    now = datetime.now(UTC)
    stream_filter = EventFilter(
        occurred=EventOccurredFilter(since=now - timedelta(minutes=1), until=now + timedelta(days=1)),
        event=EventNameFilter(name=[name]),
    ).model_dump(mode="json")
    seen: dict[str, Any] = {"polls": [], "sockets": []}

    def polled(response: Any) -> None:
        if response.url.endswith("/api/logs/filter") and response.request.method == "POST":
            seen["polls"].append((time.monotonic(), response.status))

    def steps(page: Any) -> None:
        page.on("response", polled)
        page.on("websocket", lambda ws: seen["sockets"].append(ws.url))
        sign_in_in_browser(page, g, "claire.muller@pc.example", f"/runs/flow-run/{run_id}")
        page.get_by_text("Suspended").first.wait_for()
        for _ in range(150):  # the Logs tab (open by default) has loaded its logs: none yet
            if seen["polls"]:
                break
            page.wait_for_timeout(100)
        page.evaluate("window.opened = true")  # gone if the page reloads
        assert seen["polls"] and page.get_by_text(line).count() == 0
        written = time.monotonic()
        log_line = {
            "name": "prefect.flow_runs",
            "level": 20,
            "message": line,
            "flow_run_id": run_id,
            "timestamp": datetime.now(UTC).isoformat(),
        }
        r = upstream.post("/api/logs/", json=[log_line])  # as a worker writes its run's logs
        assert r.status_code == 201, r.text
        page.get_by_text(line).wait_for(timeout=20_000)
        seen["line_after"] = time.monotonic() - written
        page.screenshot(path=str(SHOTS / "journal-en-direct.png"), full_page=True)
        assert page.evaluate("window.opened === true")  # no reload: a later poll brought it in
        seen["polls_after"] = [status for t, status in seen["polls"] if t > written]
        assert seen["sockets"] == []  # the UI itself opens no websocket

        # A websocket on the events stream, from the page: same origin, Claire's cookie
        seen["protocol"] = page.evaluate(SUBSCRIBE, {"path": "/api/events/out", "filter": stream_filter})
        page.wait_for_timeout(1000)  # the server subscribes after the filter message; the event comes live
        emitted = time.monotonic()
        event = {
            "id": event_id,
            "occurred": datetime.now(UTC).isoformat(),
            "event": name,
            "related": [],
            "payload": {},
            "resource": {"prefect.resource.id": f"prefect.flow-run.{run_id}"},
        }
        r = upstream.post("/api/events", json=[event])
        assert r.status_code == 204, r.text
        page.wait_for_function(f"window.received.some(e => e.id === '{event_id}')", timeout=20_000)
        seen["event_after"] = time.monotonic() - emitted
        seen["events_in"] = page.evaluate(REFUSED_SOCKET, "/api/events/in")  # emitting is not a member's

    in_browser(steps)
    assert seen["polls_after"] and set(seen["polls_after"]) == {200}, seen["polls"]  # polled through the gateway
    assert seen["protocol"] == "prefect"
    assert seen["events_in"].startswith("closed"), seen["events_in"]
    print(f"log line shown after {seen['line_after']:.1f} s; event received after {seen['event_after']:.1f} s")


def test_a_call_the_server_asks_to_retry_is_sent_again_and_a_streamed_body_is_not() -> None:
    """Prefect answers 503 when its database said "busy" (the transaction rolled back): the gateway sends the call
    again, so the person's Resume goes through; a body it did not read cannot be sent twice and its 503 goes back."""
    import asyncio
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from gateway import app as gateway

    seen: list[bytes] = []

    class Busy(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.headers.get("Transfer-Encoding") == "chunked":
                body, size = b"", int(self.rfile.readline(), 16)
                while size:
                    body += self.rfile.read(size + 2)[:-2]
                    size = int(self.rfile.readline(), 16)
                self.rfile.readline()
                seen.append(body)
            else:
                seen.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            busy = len(seen) <= 2
            body = b'{"exception_message":"Service Unavailable"}' if busy else b'{"status":"ACCEPT"}'
            self.send_response(503 if busy else 200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Busy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/api/flow_runs/x/resume"

    async def calls() -> tuple[httpx.Response, httpx.Response]:
        gateway._pool.clear()
        try:
            replayed = await gateway._send("POST", url, {}, b'{"run_input": {}}')
            await replayed.aread()

            async def streamed() -> Any:
                yield b"{}"

            seen.clear()
            once = await gateway._send("POST", url, {}, streamed())
            await once.aread()
            return replayed, once
        finally:
            await gateway.http().aclose()
            gateway._pool.clear()

    try:
        replayed, once = asyncio.run(calls())
    finally:
        server.shutdown()
    assert replayed.status_code == 200 and replayed.json() == {"status": "ACCEPT"}
    assert once.status_code == 503 and seen == [b"{}"]  # sent once, its 503 passed on
