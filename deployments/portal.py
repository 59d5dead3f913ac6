"""`passerelles portal`: the small public web app behind the signed links of mails (no account, French, usable on
a phone). Volunteers apply to a mission and unsubscribe; associations approve the annonce or ask for a revision,
which resumes the mission's suspended step through the Prefect API, as the UI does.

Every page is reached by a signed, expiring, single-purpose link (tasks/links.py). A tampered, expired or misused
link, or any refusal, gets a French page and changes nothing. Tokens are kept out of logs (no access log) and out
of referrers; pages load nothing from another host.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from deployments.step_answers import answered, refresh_applications_form, resume, waiting_form
from models import MissionStatus
from models.base import utcnow
from models.db import unit_of_work
from models.volunteer import AVAILABILITY_LABELS, CONSENT_VERSION, CONSENT_WORDING, LEVEL_LABELS
from tasks import portal
from tasks.links import LinkRefused, Purpose, read
from tasks.missions import StepRefused
from tasks.rendering import render
from tasks.steps import ANNOUNCEMENT, REVIEW, ROADMAP, Outcome
from tasks.steps.announcement import Decision as AnnouncementDecision
from tasks.steps.answers import association_label
from tasks.steps.base import asked_key
from tasks.steps.review import Decision as ReviewDecision
from tasks.steps.roadmap import Decision as RoadmapDecision

BODY_MAX = 64 * 1024  # a form of the portal is a few kilobytes at most

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


@app.exception_handler(405)
async def wrong_method(request: Request, exc: Exception) -> HTMLResponse:
    return page("Action impossible", ["Cette page ne s'utilise pas ainsi. Utilisez le lien de votre mail."], 405)


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


# --- Associations: the annonce, the roadmap, their bilan ---------------------------------------------
#
# Each answers a step the mission's run is suspended at, through the Prefect API as the UI does: the step's own
# checks and writes then run in the flow, and the audit names the association. Whichever answer comes first wins.

ASKED = {Purpose.ANNOUNCEMENT: ANNOUNCEMENT, Purpose.ROADMAP: ROADMAP, Purpose.REVIEW: REVIEW}
EXACT = {Purpose.ROADMAP}  # each sending of the roadmap has its own link: only that attempt is answered


def _asked(purpose: Purpose, token: str) -> dict[str, Any]:
    """Who, which mission and which step a link names, and the prefilled values of the form it answers;
    StepRefused (in French) when that answer is no longer expected."""
    step = ASKED[purpose]
    payload = read(purpose, token)
    key = payload.get("k")
    base = asked_key(key) if isinstance(key, str) else ""
    if not (base == step.key or base.startswith(f"{step.round_key or step.key}-")):
        raise LinkRefused("Ce lien est invalide.")
    with unit_of_work() as session:
        m = portal.mission(session, payload.get("m"))
        if m.status is MissionStatus.CANCELLED:
            raise StepRefused(f"La mission {m.reference} a été annulée : {m.cancel_reason}")
        done = answered(session, m.id, step.key, key)
        if done is not None:
            said = {Outcome.REVISE.value: " (à réviser)", Outcome.APPROVED.value: " (approuvée)"}.get(
                done.details.get("outcome", ""), "")  # fmt: skip
            raise StepRefused(f"Cette étape de la mission {m.reference} a déjà reçu une réponse{said}, de "
                              f"{done.actor}, le {done.at:%d/%m/%Y}.")  # fmt: skip
        context = {"reference": m.reference, "mission_title": m.title, "run": m.flow_run_id or "", "key": key,
                   "contact": m.association.contact_name, "passerelle": m.coordinator.full_name,
                   "actor": association_label(m)}  # fmt: skip
    schema = waiting_form(context["run"], key, exact=purpose in EXACT) if context["run"] else None
    if schema is None:
        raise StepRefused(f"La mission {context['reference']} n'attend plus de réponse sur ce lien (votre Passerelle "
                          "l'a peut-être déjà saisie, ou une version plus récente vous a été envoyée).")  # fmt: skip
    properties = schema.get("properties", {})
    if context["actor"] not in properties.get("entered_by", {}).get("enum", []):
        raise StepRefused("Ce formulaire ne peut pas être rempli par l'association : contactez votre Passerelle.")
    context["defaults"] = {k: v["default"] for k, v in properties.items() if "default" in v}
    return context


def _answer(c: dict[str, Any], **answer: Any) -> None:
    """Resume the step with the prefilled values and the association's answer; StepRefused if it lost the race."""
    run_input = {**c["defaults"], **answer, "cancel_reason": "", "entered_by": c["actor"]}
    if not resume(c["run"], run_input):
        raise StepRefused("Une autre réponse vient d'être enregistrée pour cette étape : la vôtre n'a pas été prise en "
                          "compte. Contactez votre Passerelle si besoin.")  # fmt: skip


def _association_page(purpose: Purpose, token: str, *, error: str = "", **typed: Any) -> HTMLResponse:
    c = _asked(purpose, token)
    template, title = {Purpose.ANNOUNCEMENT: ("annonce", "Votre annonce"), Purpose.ROADMAP: ("roadmap", "Votre "
                       "feuille de route"), Purpose.REVIEW: ("review", "Votre bilan")}[purpose]  # fmt: skip
    html = render(f"portal/{template}.html.j2", title=f"{title} — {c['reference']}", error=error, typed=typed,
                  max=portal.MESSAGE_MAX, **c)  # fmt: skip
    return HTMLResponse(html, status_code=422 if error else 200)


@app.get("/{purpose}/{token}", response_class=HTMLResponse)
def association_form(purpose: str, token: str) -> HTMLResponse:
    if purpose not in {p.value for p in ASKED}:
        return page("Page introuvable", ["Cette adresse ne correspond à aucune page."], 404)
    try:
        return _association_page(Purpose(purpose), token)
    except (LinkRefused, StepRefused) as exc:
        return refused(exc)


@app.post("/{purpose}/{token}", response_class=HTMLResponse)
async def association_answer(purpose: str, token: str, request: Request) -> HTMLResponse:
    if purpose not in {p.value for p in ASKED}:
        return page("Page introuvable", ["Cette adresse ne correspond à aucune page."], 404)
    which = Purpose(purpose)
    try:
        c = _asked(which, token)
        fields = await form(request)
        try:
            said = _read_answer(which, c, fields)
        except StepRefused as exc:
            return _association_page(which, token, error=str(exc), **fields)
    except (LinkRefused, StepRefused) as exc:
        return refused(exc)
    return page("Réponse enregistrée", said, problem=False)


def _read_answer(which: Purpose, c: dict[str, Any], fields: dict[str, str]) -> list[str]:
    """Check the association's answer, resume the step with it; what the confirmation page says."""
    decision = fields.get("decision", "")
    if which is Purpose.REVIEW:
        rating = fields.get("note", "")
        if rating not in {"1", "2", "3", "4", "5"}:
            raise StepRefused("Choisissez votre satisfaction, de 1 à 5.")
        testimony = portal.check_message(fields.get("temoignage", ""), what="Votre témoignage")
        _answer(c, decision=ReviewDecision.ASSOCIATION.value, association_rating=int(rating), testimony=testimony,
                association_would_redo=fields.get("refaire") != "non")  # fmt: skip
        return ["Merci pour votre bilan !", f"{c['passerelle']} le complète avec le ou la bénévole."]
    if decision not in ("approuver", "reviser"):
        raise StepRefused("Choisissez : approuver, ou demander des modifications.")
    remarks = portal.check_message(fields.get("remarks", ""), required=decision == "reviser", what="Vos remarques")
    if which is Purpose.ANNOUNCEMENT:
        choice = AnnouncementDecision.APPROVED if decision == "approuver" else AnnouncementDecision.REVISE
        _answer(c, decision=choice.value, remarks=remarks)
        if decision == "approuver":
            return ["Merci : votre approbation est transmise.", "L'annonce va être diffusée aux bénévoles."]
        return ["Merci : vos remarques sont transmises.", f"{c['passerelle']} vous proposera une nouvelle version."]
    if decision == "approuver":
        _answer(c, decision=RoadmapDecision.VALIDATE.value, validated_by_association=True,
                validated_on=str(utcnow().date()), association_remarks=remarks)  # fmt: skip
        return ["Merci : la feuille de route est validée.", "La recherche de bénévole est close ; bonne mission !"]
    _answer(c, decision=RoadmapDecision.CHANGES.value, validated_by_association=False, association_remarks=remarks)
    return ["Merci : vos remarques sont transmises.", f"{c['passerelle']} vous renverra la feuille de route."]


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
