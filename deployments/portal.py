"""`passerelles portal`: the small public web app behind the signed links of mails (no account, French, usable on
a phone). Volunteers apply to a mission and unsubscribe; associations approve the annonce or ask for a revision,
which resumes the mission's suspended step through the Prefect API, as the UI does.

Every page is reached by a signed, expiring, single-purpose link (tasks/links.py). A tampered, expired or misused
link, or any refusal, gets a French page and changes nothing. Tokens are kept out of logs (no access log) and out
of referrers; pages load nothing from another host.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from models import AuditEvent, MissionStatus
from models.db import unit_of_work
from models.volunteer import AVAILABILITY_LABELS, CONSENT_VERSION, CONSENT_WORDING, LEVEL_LABELS
from tasks import portal
from tasks.links import LinkRefused, Purpose, read
from tasks.missions import StepRefused
from tasks.rendering import render
from tasks.steps import ANNOUNCEMENT, APPLICATIONS, Outcome
from tasks.steps.announcement import Decision
from tasks.steps.answers import association_label, describe
from tasks.steps.base import asked_key

BODY_MAX = 64 * 1024  # a form of the portal is a few kilobytes at most

logger = logging.getLogger("passerelles.portal")
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


@app.get("/", response_class=HTMLResponse)
def home() -> HTMLResponse:
    return page(
        "Portail des bénévoles et des associations",
        ["Ce site s'utilise depuis les liens de nos mails : se positionner sur une mission, gérer ses préférences, "
         "valider une annonce. Il n'y a pas de compte à créer."],
        problem=False,
    )  # fmt: skip


# --- Volunteers: apply ----------------------------------------------------------------------------


def _apply_page(token: str, *, message: str = "", error: str = "", status: int = 200) -> HTMLResponse:
    payload = read(Purpose.APPLY, token)
    with unit_of_work() as session:
        v = portal.volunteer(session, payload.get("v"))
        m = portal.mission(session, payload.get("m"))
        done = portal.application_of(session, v.id, m.id)
        if done is not None:
            return page("Candidature déjà enregistrée", [
                f"Votre candidature à la mission {m.reference} est déjà enregistrée (le {done.applied_at:%d/%m/%Y}).",
                f"{m.coordinator.full_name}, votre Passerelle, reviendra vers vous.",
            ], problem=False)  # fmt: skip
        view = portal.mission_page(session, m)
        if not view.open:
            raise StepRefused(f"La mission {m.reference} n'est plus ouverte aux candidatures ({view.status.lower()}).")
        html = render("portal/apply.html.j2", title=m.title, m=view, first_name=v.first_name, message=message,
                      error=error, max=portal.MESSAGE_MAX)  # fmt: skip
    return HTMLResponse(html, status_code=status)


@app.get("/candidature/{token}", response_class=HTMLResponse)
def apply_form(token: str) -> HTMLResponse:
    try:
        return _apply_page(token)
    except (LinkRefused, StepRefused) as exc:
        return refused(exc)


@app.post("/candidature/{token}", response_class=HTMLResponse)
async def apply_post(token: str, request: Request) -> HTMLResponse:
    message = ""
    try:
        payload = read(Purpose.APPLY, token)
        message = (await form(request)).get("message", "")
        with unit_of_work() as session:
            new = portal.apply(session, payload.get("v"), payload.get("m"), message)
            m = portal.mission(session, payload.get("m"))
            reference, passerelle = m.reference, m.coordinator.full_name
    except StepRefused as exc:
        try:  # a message to correct: the form again, with what was typed
            if "caractères" in str(exc) or "HTML" in str(exc):
                return _apply_page(token, message=message[: portal.MESSAGE_MAX], error=str(exc), status=422)
        except (LinkRefused, StepRefused) as again:
            return refused(again)
        return refused(exc)
    except LinkRefused as exc:
        return refused(exc)
    if new:
        refresh_applications_form(int(payload["m"]))
    if not new:
        return page("Candidature déjà enregistrée", [f"Votre candidature à la mission {reference} était déjà "
                                                     "enregistrée : rien de plus à faire."], problem=False)  # fmt: skip
    return page("Merci, votre candidature est enregistrée", [
        f"{passerelle}, votre Passerelle, l'a reçue avec votre message et reviendra vers vous.",
        "Vous recevrez un mail si vous êtes retenu(e) pour cette mission.",
    ], problem=False)  # fmt: skip


# --- Volunteers: unsubscribe (RFC 8058) -------------------------------------------------------------


@app.get("/desinscription/{token}", response_class=HTMLResponse)
def unsubscribe_form(token: str) -> HTMLResponse:
    try:
        payload = read(Purpose.UNSUBSCRIBE, token)
        with unit_of_work() as session:
            v = portal.volunteer(session, payload.get("v"))
            if v.unsubscribed_at is not None:
                since = f"{v.unsubscribed_at:%d/%m/%Y}"
                return page("Vous êtes déjà désinscrit(e)", [f"Plus aucun mail n'est envoyé à {v.email} depuis le "
                                                             f"{since}."], problem=False)  # fmt: skip
            html = render("portal/unsubscribe.html.j2", title="Se désinscrire", first_name=v.first_name, email=v.email)
        return HTMLResponse(html)
    except (LinkRefused, StepRefused) as exc:
        return refused(exc)


@app.post("/desinscription/{token}", response_class=HTMLResponse)
def unsubscribe(token: str) -> HTMLResponse:
    """The one-click POST of a mail client (body `List-Unsubscribe=One-Click`) or the page's button: unsubscribes
    at once, whatever the body."""
    try:
        payload = read(Purpose.UNSUBSCRIBE, token)
        with unit_of_work() as session:
            portal.unsubscribe(session, payload.get("v"))
    except (LinkRefused, StepRefused) as exc:
        return refused(exc)
    return page("Vous êtes désinscrit(e)", ["Vous ne recevrez plus aucun mail de Passerelles & Compétences.",
                                             "Merci pour votre engagement à nos côtés."], problem=False)  # fmt: skip


# --- Volunteers: preferences ---------------------------------------------------------------------------


def _preferences_page(token: str, *, saved: str = "", error: str = "") -> HTMLResponse:
    payload = read(Purpose.PREFERENCES, token)
    with unit_of_work() as session:
        v = portal.volunteer(session, payload.get("v"))
        html = render(
            "portal/preferences.html.j2", title="Vos préférences", v=v, saved=saved, error=error,
            competences=portal.preferences(session, v),
            wording={k.value: text for k, text in CONSENT_WORDING[CONSENT_VERSION].items()},
            availabilities=[(a.value, label) for a, label in AVAILABILITY_LABELS.items()],
            levels=[(0, "—"), *LEVEL_LABELS.items()],
        )  # fmt: skip
    return HTMLResponse(html, status_code=422 if error else 200)


@app.get("/preferences/{token}", response_class=HTMLResponse)
def preferences_form(token: str) -> HTMLResponse:
    try:
        return _preferences_page(token)
    except (LinkRefused, StepRefused) as exc:
        return refused(exc)


@app.post("/preferences/{token}", response_class=HTMLResponse)
async def preferences_save(token: str, request: Request) -> HTMLResponse:
    try:
        payload = read(Purpose.PREFERENCES, token)
        fields = await form(request)
        try:
            with unit_of_work() as session:
                changes = portal.save_preferences(session, payload.get("v"), fields)
        except StepRefused as exc:
            if "aucun bénévole" in str(exc) or "archivée" in str(exc):
                raise
            return _preferences_page(token, error=f"{exc} Rien n'a été modifié.")
        confirmed = "Vos préférences sont confirmées : merci."
        saved = "Vos préférences sont enregistrées : " + "; ".join(changes) + "." if changes else confirmed
        return _preferences_page(token, saved=saved)
    except (LinkRefused, StepRefused) as exc:
        return refused(exc)


# --- Associations: approve the annonce ---------------------------------------------------------------


def _answered(session: Any, mission_id: int, key: str) -> AuditEvent | None:
    """The accepted answer to the step `key` asked (any attempt), if any."""
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.mission_id == mission_id, AuditEvent.action == ANNOUNCEMENT.key)
    )
    return next((e for e in events if asked_key(e.step_key) == key), None)


def waiting_form(flow_run_id: str, key: str) -> dict[str, Any] | None:
    """The JSON schema of the form the run waits at, if it waits at step `key` (any attempt of it)."""
    from prefect import get_client
    from prefect.input.run_input import keyset_from_paused_state

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(UUID(flow_run_id))
        state = run.state
        if state is None or not state.is_paused() or asked_key(state.state_details.pause_key or "") != key:
            return None
        schema = client.read_flow_run_input(UUID(flow_run_id), keyset_from_paused_state(state)["schema"])
    return dict(json.loads(schema))


def resume(flow_run_id: str, run_input: dict[str, Any]) -> bool:
    """Resume the run with `run_input`, as the UI does; False when another answer came first (ABORT/REJECT)."""
    from prefect import get_client
    from prefect.client.schemas.responses import SetStateStatus

    with get_client(sync_client=True) as client:
        result = client.resume_flow_run(UUID(flow_run_id), run_input=run_input)
    return result.status == SetStateStatus.ACCEPT


def refresh_applications_form(mission_id: int) -> None:
    """An application by link shows at once in the applications form waiting for the Passerelle: its description
    (the ranked applicants) is written again. Never fails the application, which is recorded already."""
    from prefect import get_client
    from prefect.input.run_input import keyset_from_paused_state

    try:
        with unit_of_work() as session:
            run_id = portal.mission(session, mission_id).flow_run_id
        if not run_id:
            return
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(UUID(run_id)).state
            key = asked_key(state.state_details.pause_key or "") if state and state.is_paused() else ""
            if not key.startswith(f"{APPLICATIONS.round_key}-"):
                return
            with unit_of_work() as session:
                m = portal.mission(session, mission_id)
                spec = describe(session, m, APPLICATIONS, n=int(key.rsplit("-", 1)[1]), error="", previous=None)
            description = keyset_from_paused_state(state)["description"]
            client.delete_flow_run_input(UUID(run_id), description)
            client.create_flow_run_input(UUID(run_id), description, json.dumps(spec["description"]))
    except Exception:  # the Prefect API is down: the next form of the step will show it
        logger.warning("formulaire de la mission %s non rafraîchi", mission_id, exc_info=True)


def _annonce_context(token: str) -> dict[str, Any]:
    """Who, which mission and which version a link names, and the form it answers; StepRefused (in French) when the
    answer is no longer expected."""
    payload = read(Purpose.ANNOUNCEMENT, token)
    key = payload.get("k")
    if not isinstance(key, str) or not key.startswith(f"{ANNOUNCEMENT.round_key}-"):
        raise LinkRefused("Ce lien est invalide.")
    with unit_of_work() as session:
        m = portal.mission(session, payload.get("m"))
        if m.status is MissionStatus.CANCELLED:
            raise StepRefused(f"La mission {m.reference} a été annulée : {m.cancel_reason}")
        done = _answered(session, m.id, key)
        if done is not None:
            outcome = done.details.get("outcome")
            said = "approuvée" if outcome == Outcome.APPROVED.value else "à réviser"
            raise StepRefused(f"Cette version de l'annonce a déjà reçu une réponse ({said}), de {done.actor}, le "
                              f"{done.at:%d/%m/%Y}.")  # fmt: skip
        context = {"mission_id": m.id, "reference": m.reference, "run": m.flow_run_id or "", "key": key,
                   "contact": m.association.contact_name, "passerelle": m.coordinator.full_name,
                   "actor": association_label(m), "version": key.rsplit("-", 1)[-1]}  # fmt: skip
    schema = waiting_form(context["run"], key) if context["run"] else None
    if schema is None:
        raise StepRefused(f"La mission {context['reference']} n'attend plus de réponse sur cette version de "
                          "l'annonce (votre Passerelle l'a peut-être traitée). Contactez-la si besoin.")  # fmt: skip
    context["text"] = str(schema.get("properties", {}).get("text", {}).get("default", ""))
    context["entered_by"] = schema.get("properties", {}).get("entered_by", {}).get("enum", [])
    return context


def _annonce_page(token: str, *, error: str = "", decision: str = "", remarks: str = "") -> HTMLResponse:
    c = _annonce_context(token)
    html = render("portal/annonce.html.j2", title=f"Votre annonce — {c['reference']}", error=error,
                  decision=decision, remarks=remarks, max=portal.MESSAGE_MAX, **c)  # fmt: skip
    return HTMLResponse(html, status_code=422 if error else 200)


@app.get("/annonce/{token}", response_class=HTMLResponse)
def annonce_form(token: str) -> HTMLResponse:
    try:
        return _annonce_page(token)
    except (LinkRefused, StepRefused) as exc:
        return refused(exc)


@app.post("/annonce/{token}", response_class=HTMLResponse)
async def annonce_answer(token: str, request: Request) -> HTMLResponse:
    try:
        c = _annonce_context(token)
        fields = await form(request)
        decision, remarks = fields.get("decision", ""), fields.get("remarks", "")
        try:
            if decision not in ("approuver", "reviser"):
                raise StepRefused("Choisissez : approuver l'annonce, ou demander des modifications.")
            remarks = portal.check_message(remarks, required=decision == "reviser", what="Vos remarques")
        except StepRefused as exc:
            return _annonce_page(token, error=str(exc), decision=decision, remarks=remarks[: portal.MESSAGE_MAX])
        if c["actor"] not in c["entered_by"]:
            raise StepRefused("Ce formulaire ne peut pas être rempli par l'association : contactez votre Passerelle.")
        choice = Decision.APPROVED if decision == "approuver" else Decision.REVISE
        answer = {"text": c["text"], "decision": choice.value, "remarks": remarks, "cancel_reason": "",
                  "entered_by": c["actor"]}  # fmt: skip
        if not resume(c["run"], answer):
            raise StepRefused("Une autre réponse à cette annonce vient d'être enregistrée : la vôtre n'a pas été prise "
                              "en compte. Contactez votre Passerelle si besoin.")  # fmt: skip
    except (LinkRefused, StepRefused) as exc:
        return refused(exc)
    if decision == "approuver":
        said = ["Merci : votre approbation est transmise.", "L'annonce va être diffusée aux bénévoles."]
    else:
        said = ["Merci : vos remarques sont transmises.", f"{c['passerelle']} vous proposera une nouvelle version."]
    return page("Réponse enregistrée", said, problem=False)


def main(argv: list[str]) -> int:
    """Serve the portal (uvicorn), without access log: the links' tokens stay out of logs."""
    import uvicorn

    from models.settings import get_settings

    parser = argparse.ArgumentParser(prog="passerelles portal", description="Sert le portail public (liens signés).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=urlsplit(get_settings().portal_url).port or 8300)
    args = parser.parse_args(argv)
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
