"""Volunteers come in from outside: they sign up (`/inscription`), read a published annonce's public page
(`/missions/<reference>`, the address the social networks' post gives; `/missions` lists them) and apply from it,
or follow a relay's forwarding link (`/relais/<token>`) and apply « via » that relay — signing up on the way, all
through the double opt-in of portal/public.py (tasks/signup.py does the work)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from models import PublicSubmission, SubmissionKind
from models.db import unit_of_work
from portal.pages import page, refused
from portal.public import CONFIRMED, Check, Confirmed, Show, public_page, submitted
from tasks import signup
from tasks.links import ANNONCES_PATH, LinkRefused, Purpose, read
from tasks.portal import MESSAGE_MAX, refresh_applications_form
from tasks.signup import AnnonceGone, PublicAnnonce

router = APIRouter()
PATH = "/inscription"


def _form(
    typed: dict[str, str] | None,
    error: str,
    status: int,
    *,
    annonce: PublicAnnonce | None = None,
    relayed: bool = False,
    branch: str = "",
) -> HTMLResponse:
    with unit_of_work() as session:
        offered = signup.choices(session)
    typed = dict(typed or {})
    if branch and not typed:
        typed["branch"] = branch  # an annonce's page: its branch, preselected
    title = annonce.title if annonce else "Devenir bénévole de compétences"
    return public_page(
        "portal/signup.html.j2",
        title,
        status=status,
        typed=typed,
        error=error,
        annonce=annonce,
        relayed=relayed,
        max=MESSAGE_MAX,
        **offered,
    )


def show_signup(typed: dict[str, str] | None = None, error: str = "", status: int = 200) -> HTMLResponse:
    return _form(typed, error, status)


@router.get(PATH, response_class=HTMLResponse)
def signup_form() -> HTMLResponse:
    return show_signup()


@router.post(PATH, response_class=HTMLResponse)
async def signup_sent(request: Request) -> HTMLResponse:
    return await submitted(request, SubmissionKind.SIGNUP, show_signup, signup.check_signup)


# --- A published annonce's public page, and a relay's forwarding link ---------------------------------------------


def gone(exc: AnnonceGone) -> HTMLResponse:
    """The page of an annonce not (or no longer) public: 404 when it never was, else 410 « n'est plus ouverte »."""
    if not exc.published:
        return page("Annonce introuvable", [str(exc), "Les annonces ouvertes : /missions."], 404)
    return page(signup.NOT_OPEN, [str(exc)], 410)


def _annonce_page(
    *, reference: str = "", mission_id: int | None = None, relay_id: int | None = None
) -> tuple[Show, Check]:
    """The annonce's form (AnnonceGone if the annonce is not public), shown again, and the checks of what is sent
    from it."""
    with unit_of_work() as session:
        annonce = signup.public_annonce(session, reference=reference, mission_id=mission_id)

    def show(typed: dict[str, str] | None = None, error: str = "", status: int = 200) -> HTMLResponse:
        return _form(typed, error, status, annonce=annonce, relayed=relay_id is not None, branch=annonce.branch_code)

    def check(session: Session, fields: dict[str, str]) -> tuple[str, dict[str, Any], int, str]:
        return signup.check_application(session, fields, mission_id=annonce.id, relay_id=relay_id)

    return show, check


@router.get(f"/{ANNONCES_PATH}", response_class=HTMLResponse)
def annonces() -> HTMLResponse:
    with unit_of_work() as session:
        found = signup.open_annonces(session)
    return public_page("portal/annonces.html.j2", "Les missions qui cherchent un ou une bénévole", annonces=found)


@router.get(f"/{ANNONCES_PATH}/{{reference}}", response_class=HTMLResponse)
def annonce_page(reference: str) -> HTMLResponse:
    try:
        show, _ = _annonce_page(reference=reference)
    except AnnonceGone as exc:
        return gone(exc)
    return show({}, "", 200)


@router.post(f"/{ANNONCES_PATH}/{{reference}}", response_class=HTMLResponse)
async def annonce_apply(reference: str, request: Request) -> HTMLResponse:
    try:
        show, check = _annonce_page(reference=reference)
    except AnnonceGone as exc:
        return gone(exc)
    return await submitted(request, SubmissionKind.APPLICATION, show, check)


def _relay(token: str) -> tuple[int, int]:
    """(relay id, mission id) of a forwarding link; LinkRefused when it is not one."""
    payload = read(Purpose.RELAY, token)
    relay, mission = payload.get("r"), payload.get("m")
    if not isinstance(relay, int) or not isinstance(mission, int):
        raise LinkRefused("Ce lien est invalide : il a peut-être été mal copié.")
    return relay, mission


@router.get(f"/{Purpose.RELAY.value}/{{token}}", response_class=HTMLResponse)
def relay_page(token: str) -> HTMLResponse:
    try:
        relay_id, mission_id = _relay(token)
        show, _ = _annonce_page(mission_id=mission_id, relay_id=relay_id)
    except LinkRefused as exc:
        return refused(exc)
    except AnnonceGone as exc:
        return gone(exc)
    return show({}, "", 200)


@router.post(f"/{Purpose.RELAY.value}/{{token}}", response_class=HTMLResponse)
async def relay_apply(token: str, request: Request) -> HTMLResponse:
    try:
        relay_id, mission_id = _relay(token)
        show, check = _annonce_page(mission_id=mission_id, relay_id=relay_id)
    except LinkRefused as exc:
        return refused(exc)
    except AnnonceGone as exc:
        return gone(exc)
    return await submitted(request, SubmissionKind.APPLICATION, show, check)


# --- What a confirmation does ------------------------------------------------------------------------------------


def _applied(session: Session, row: PublicSubmission) -> list[str]:
    said, _ = signup.applied(session, row)
    return said


def _refresh(row_id: int) -> str:
    """The application shows at once in the applications form waiting for the Passerelle (never fails)."""
    with unit_of_work() as session:
        row = session.get(PublicSubmission, row_id)
        mission_id = row.mission_id if row is not None and row.volunteer_id is not None else None
    if mission_id is not None:
        refresh_applications_form(mission_id)
    return ""


CONFIRMED[SubmissionKind.SIGNUP] = Confirmed(apply=signup.signed_up)
CONFIRMED[SubmissionKind.APPLICATION] = Confirmed(
    apply=_applied, after=_refresh, what="votre inscription et votre candidature"
)
