"""The volunteers' pages: apply to a mission, manage preferences (and download one's data), unsubscribe."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from models.db import unit_of_work
from models.refusals import PersonRefused, StepRefused, TextRefused
from models.volunteer import AVAILABILITY_LABELS, CONSENT_VERSION, CONSENT_WORDING, LEVEL_LABELS
from portal.pages import answered, form, page, refused, shown
from tasks import portal
from tasks.links import LinkRefused, Purpose, link, read
from tasks.portal import refresh_applications_form
from tasks.privacy import access_report
from tasks.rendering import render

router = APIRouter()


def _apply_page(token: str, *, message: str = "", error: str = "", status: int = 200) -> HTMLResponse:
    payload = read(Purpose.APPLY, token)
    with unit_of_work() as session:
        v = portal.volunteer(session, payload.get("v"))
        m = portal.mission(session, payload.get("m"))
        done = portal.application_of(session, v.id, m.id)
        view = portal.mission_page(session, m)
        if done is not None:
            then = (
                f"{m.coordinator.full_name}, votre Passerelle, reviendra vers vous."
                if m.status.is_open
                else f"La mission est {view.status.lower()} : il n'y a plus rien à faire sur ce lien. Merci !"
            )
            return page(
                "Candidature déjà enregistrée",
                [
                    f"Votre candidature à la mission {m.reference} est déjà enregistrée "
                    f"(le {done.applied_at:%d/%m/%Y}).",
                    then,
                ],
                problem=False,
            )
        if not view.open:
            raise StepRefused(f"La mission {m.reference} n'est plus ouverte aux candidatures ({view.status.lower()}).")
        html = render(
            "portal/apply.html.j2",
            title=m.title,
            m=view,
            first_name=v.first_name,
            message=message,
            error=error,
            max=portal.MESSAGE_MAX,
        )
    return HTMLResponse(html, status_code=status)


@router.get("/candidature/{token}", response_class=HTMLResponse)
def apply_form(token: str) -> HTMLResponse:
    try:
        return _apply_page(token)
    except (LinkRefused, StepRefused) as exc:
        return refused(exc)


@router.post("/candidature/{token}", response_class=HTMLResponse)
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
            if isinstance(exc, TextRefused):
                return _apply_page(token, message=message[: portal.MESSAGE_MAX], error=str(exc), status=422)
        except (LinkRefused, StepRefused) as again:
            return refused(again)
        return refused(exc)
    except LinkRefused as exc:
        return refused(exc)
    if new:
        refresh_applications_form(int(payload["m"]))
    if not new:
        return page(
            "Candidature déjà enregistrée",
            [f"Votre candidature à la mission {reference} était déjà enregistrée : rien de plus à faire."],
            problem=False,
        )
    return page(
        "Merci, votre candidature est enregistrée",
        [
            f"{passerelle}, votre Passerelle, l'a reçue avec votre message et reviendra vers vous.",
            "Vous recevrez un mail si vous êtes retenu(e) pour cette mission.",
        ],
        problem=False,
    )


# --- Volunteers: unsubscribe (RFC 8058) -------------------------------------------------------------


@router.get("/desinscription/{token}", response_class=HTMLResponse)
def unsubscribe_form(token: str) -> HTMLResponse:
    try:
        payload = read(Purpose.UNSUBSCRIBE, token)
        with unit_of_work() as session:
            v = portal.volunteer(session, payload.get("v"))
            if v.unsubscribed_at is not None:
                since = f"{v.unsubscribed_at:%d/%m/%Y}"
                return page(
                    "Vous êtes déjà désinscrit(e)",
                    [f"Plus aucun mail n'est envoyé à {v.email} depuis le {since}."],
                    problem=False,
                )
            html = render("portal/unsubscribe.html.j2", title="Se désinscrire", first_name=v.first_name, email=v.email)
        return HTMLResponse(html)
    except (LinkRefused, StepRefused) as exc:
        return refused(exc)


@router.post("/desinscription/{token}", response_class=HTMLResponse)
def unsubscribe(token: str) -> HTMLResponse:
    """The one-click POST of a mail client (body `List-Unsubscribe=One-Click`) or the page's button: unsubscribes
    at once, whatever the body."""
    try:
        payload = read(Purpose.UNSUBSCRIBE, token)
        with unit_of_work() as session:
            portal.unsubscribe(session, payload.get("v"))
    except (LinkRefused, StepRefused) as exc:
        return refused(exc)
    return page(
        "Vous êtes désinscrit(e)",
        ["Vous ne recevrez plus aucun mail de Passerelles & Compétences.", "Merci pour votre engagement à nos côtés."],
        problem=False,
    )


# --- Volunteers in reserve: priority in the domain ----------------------------------------------------------


@router.get("/priorite/{token}", response_class=HTMLResponse)
def priority_form(token: str) -> HTMLResponse:
    try:
        payload = read(Purpose.PRIORITY, token)
        with unit_of_work() as session:
            v, m = portal.volunteer(session, payload.get("v")), portal.mission(session, payload.get("m"))
            app = portal.application_of(session, v.id, m.id)
            domain = m.domain.name if m.domain else ""
            if app is not None and app.wants_other_mission:
                said = f"Vous êtes prioritaire dans le domaine « {domain} » : vous serez sollicité(e) en premier."
                return page("C'est noté", [said], problem=False)
            html = render(
                "portal/priority.html.j2",
                title="Une autre mission dans ce domaine ?",
                first_name=v.first_name,
                mission_title=m.title,
                domain=domain,
            )
        return HTMLResponse(html)
    except (LinkRefused, StepRefused) as exc:
        return refused(exc)


@router.post("/priorite/{token}", response_class=HTMLResponse)
def priority(token: str) -> HTMLResponse:
    try:
        payload = read(Purpose.PRIORITY, token)
        with unit_of_work() as session:
            portal.ask_priority(session, payload.get("v"), payload.get("m"))
            m = portal.mission(session, payload.get("m"))
            domain = m.domain.name if m.domain else ""
    except (LinkRefused, StepRefused) as exc:
        return refused(exc)
    return page(
        "C'est noté, merci",
        [
            f"Vous êtes prioritaire dans le domaine « {domain} » : vous serez sollicité(e) "
            "en premier pour ses prochaines annonces."
        ],
        problem=False,
    )


# --- Volunteers: preferences ---------------------------------------------------------------------------


def _preferences_page(token: str, *, saved: str = "", error: str = "") -> HTMLResponse:
    payload = read(Purpose.PREFERENCES, token)
    with unit_of_work() as session:
        v = portal.volunteer(session, payload.get("v"))
        html = render(
            "portal/preferences.html.j2",
            title="Vos préférences",
            v=v,
            saved=saved,
            error=error,
            competences=portal.preferences(session, v),
            wording={k.value: text for k, text in CONSENT_WORDING[CONSENT_VERSION].items()},
            availabilities=[(a.value, label) for a, label in AVAILABILITY_LABELS.items()],
            levels=[(0, "—"), *LEVEL_LABELS.items()],
            my_data_url=link(Purpose.MY_DATA, v=v.id),
        )
    return HTMLResponse(html, status_code=422 if error else 200)


@router.get("/preferences/{token}", response_class=HTMLResponse)
def preferences_form(token: str) -> HTMLResponse:
    try:
        return _preferences_page(token)
    except (LinkRefused, StepRefused) as exc:
        return refused(exc)


@router.post("/preferences/{token}", response_class=HTMLResponse)
async def preferences_save(token: str, request: Request) -> HTMLResponse:
    try:
        payload = read(Purpose.PREFERENCES, token)
        fields = await form(request)
        try:
            with unit_of_work() as session:
                changes = portal.save_preferences(session, payload.get("v"), fields)
        except StepRefused as exc:
            if isinstance(exc, PersonRefused):
                raise
            return _preferences_page(token, error=f"{exc} Rien n'a été modifié.")
        confirmed = "Vos préférences sont confirmées : merci."
        saved = "Vos préférences sont enregistrées : " + "; ".join(changes) + "." if changes else confirmed
        return _preferences_page(token, saved=saved)
    except (LinkRefused, StepRefused) as exc:
        return refused(exc)


@router.get("/mes-donnees/{token}", response_model=None)
def my_data(token: str) -> Response:
    """Everything held about the volunteer (RGPD art. 15), as a JSON file to keep; linked from the preferences."""
    try:
        payload = read(Purpose.MY_DATA, token)
        volunteer_id = payload.get("v")
        if not isinstance(volunteer_id, int):
            raise LinkRefused("Ce lien est invalide.")
        with unit_of_work() as session:
            data = access_report(session, volunteer_id)
    except (LinkRefused, StepRefused) as exc:
        return refused(exc)
    body = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    name = f"mes-donnees-{data['profil']['numero']}.json"
    return Response(
        body.encode("utf-8"),
        media_type="application/json; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- Associations: the annonce, the roadmap, their bilan ---------------------------------------------
#
# Each answers a step the mission's run is suspended at, through the Prefect API as the UI does: the step's own
# checks and writes then run in the flow, and the audit names the association. Whichever answer comes first wins.


# --- Retained volunteers: agree to the roadmap -------------------------------------------------------------


def _roadmap_page(token: str, *, error: str = "", typed: dict[str, str] | None = None) -> HTMLResponse:
    payload = read(Purpose.ROADMAP_AGREEMENT, token)
    with unit_of_work() as session:
        v, m = portal.roadmap_asked(session, payload.get("v"), payload.get("m"), payload.get("k"))
        context: dict[str, Any] = {
            "first_name": v.first_name,
            "reference": m.reference,
            "mission_title": m.title,
            "association": m.association.name,
            "passerelle": m.coordinator.full_name,
            "run": m.flow_run_id or "",
            "mission_id": m.id,
        }
    html = render(
        "portal/roadmap_agreement.html.j2",
        title=f"Votre feuille de route — {context['reference']}",
        roadmap=portal.roadmap_shown(str(context["run"]), str(payload.get("k")), int(context["mission_id"])),
        error=error,
        typed=typed or {},
        max=portal.MESSAGE_MAX,
        **context,
    )
    return HTMLResponse(html, status_code=422 if error else 200)


@router.get("/accord-feuille-de-route/{token}", response_class=HTMLResponse)
def roadmap_form(token: str) -> HTMLResponse:
    return shown(_roadmap_page, token)


@router.post("/accord-feuille-de-route/{token}", response_class=HTMLResponse)
async def roadmap_answer(token: str, request: Request) -> HTMLResponse:
    def act(session: Session, payload: dict[str, Any], fields: dict[str, str]) -> tuple[bool, str]:
        v, m, k = payload.get("v"), payload.get("m"), payload.get("k")
        agree = portal.answer_roadmap(session, v, m, k, fields.get("decision", ""), fields.get("remarks", ""))
        return agree, portal.mission(session, m).coordinator.full_name

    done = await answered(request, token, Purpose.ROADMAP_AGREEMENT, act, _roadmap_page)
    if isinstance(done, HTMLResponse):
        return done
    (agree, passerelle), payload = done
    if not agree:
        portal.after_roadmap_answer(int(payload["m"]), str(payload["k"]))
        return page(
            "Merci : vos remarques sont transmises",
            [f"{passerelle}, votre Passerelle, vous renverra la feuille de route modifiée."],
            problem=False,
        )
    outcome = portal.after_roadmap_answer(int(payload["m"]), str(payload["k"]))
    said = (
        "La feuille de route est validée par tous : la recherche est close, bonne mission !"
        if outcome == "validated"
        else "Quand l'association l'aura validée et chaque bénévole retenu aura donné son accord, la mission démarre."
    )
    return page("Merci : votre accord est enregistré", [said], problem=False)
