"""The pages where the association and each retained volunteer answer their own part during the mission: the
check-in's news (`/point/...`, either party) and the bilan (`/bilan/...` the association's, `/bilan-benevole/...`
a volunteer's). Each answer is recorded in the database (tasks/parties.py) — a bilan with the consent to publish
its testimony — and shows at once in the Passerelle's waiting form, prefilling what it fills."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from models.db import unit_of_work
from portal.pages import form, page, refused
from tasks import portal
from tasks.links import LinkRefused, Purpose, read
from tasks.parties import TESTIMONY_CONSENT
from tasks.refusals import StepRefused, TextRefused
from tasks.rendering import render
from tasks.steps.check_in import News

router = APIRouter()


def _who(purpose: Purpose, payload: dict[str, object]) -> object:
    return payload.get("v") if purpose is Purpose.VOLUNTEER_REVIEW else None


def _bilan_page(purpose: Purpose, token: str, *, error: str = "", typed: dict[str, str] | None = None) -> HTMLResponse:
    payload = read(purpose, token)
    with unit_of_work() as session:
        asked = portal.review_asked(session, _who(purpose, payload), payload.get("m"), payload.get("k"))
        html = render(
            "portal/review.html.j2",
            title=f"Votre bilan — {asked.mission.reference}",
            greeting=asked.greeting,
            is_volunteer=asked.volunteer is not None,
            reference=asked.mission.reference,
            mission_title=asked.mission.title,
            association=asked.mission.association.name,
            consent_wording=TESTIMONY_CONSENT,
            error=error,
            typed=typed or {},
            max=portal.MESSAGE_MAX,
        )
    return HTMLResponse(html, status_code=422 if error else 200)


def _show(purpose: Purpose, token: str) -> HTMLResponse:
    try:
        return _bilan_page(purpose, token)
    except (LinkRefused, StepRefused) as exc:
        return refused(exc)


async def _give(purpose: Purpose, token: str, request: Request) -> HTMLResponse:
    try:
        payload = read(purpose, token)
        fields = await form(request)
        try:
            with unit_of_work() as session:
                portal.give_review(session, _who(purpose, payload), payload.get("m"), payload.get("k"), fields)
                passerelle = portal.mission(session, payload.get("m")).coordinator.full_name
        except TextRefused as exc:
            return _bilan_page(
                purpose, token, error=str(exc), typed={k: v[: portal.MESSAGE_MAX] for k, v in fields.items()}
            )
    except (LinkRefused, StepRefused) as exc:
        return refused(exc)
    portal.after_review_answer(int(payload["m"]))
    return page(
        "Merci pour votre bilan !", [f"{passerelle}, votre Passerelle, le complète avec chacun."], problem=False
    )


@router.get("/bilan/{token}", response_class=HTMLResponse)
def association_bilan_form(token: str) -> HTMLResponse:
    return _show(Purpose.REVIEW, token)


@router.post("/bilan/{token}", response_class=HTMLResponse)
async def association_bilan(token: str, request: Request) -> HTMLResponse:
    return await _give(Purpose.REVIEW, token, request)


@router.get("/bilan-benevole/{token}", response_class=HTMLResponse)
def volunteer_bilan_form(token: str) -> HTMLResponse:
    return _show(Purpose.VOLUNTEER_REVIEW, token)


@router.post("/bilan-benevole/{token}", response_class=HTMLResponse)
async def volunteer_bilan(token: str, request: Request) -> HTMLResponse:
    return await _give(Purpose.VOLUNTEER_REVIEW, token, request)


# --- The check-in's news -------------------------------------------------------------------------------------


def _news_page(token: str, *, error: str = "", typed: dict[str, str] | None = None) -> HTMLResponse:
    payload = read(Purpose.NEWS, token)
    with unit_of_work() as session:
        asked = portal.news_asked(session, payload.get("v"), payload.get("m"), payload.get("k"))
        html = render(
            "portal/news.html.j2",
            title=f"Où en est la mission ? — {asked.mission.reference}",
            greeting=asked.greeting,
            reference=asked.mission.reference,
            mission_title=asked.mission.title,
            choices=[n.value for n in News],
            error=error,
            typed=typed or {},
            max=portal.MESSAGE_MAX,
        )
    return HTMLResponse(html, status_code=422 if error else 200)


@router.get("/point/{token}", response_class=HTMLResponse)
def news_form(token: str) -> HTMLResponse:
    try:
        return _news_page(token)
    except (LinkRefused, StepRefused) as exc:
        return refused(exc)


@router.post("/point/{token}", response_class=HTMLResponse)
async def news(token: str, request: Request) -> HTMLResponse:
    try:
        payload = read(Purpose.NEWS, token)
        fields = await form(request)
        try:
            with unit_of_work() as session:
                said = portal.give_news(session, payload.get("v"), payload.get("m"), payload.get("k"), fields)
                passerelle = portal.mission(session, payload.get("m")).coordinator.full_name
        except TextRefused as exc:
            typed = {k: v[: portal.MESSAGE_MAX] for k, v in fields.items()}
            return _news_page(token, error=str(exc), typed=typed)
    except (LinkRefused, StepRefused) as exc:
        return refused(exc)
    portal.after_news_answer(int(payload["m"]), str(payload["k"]))
    follow = (
        "" if said == News.GOING.value else f" {passerelle}, votre Passerelle, en est informé(e) et vous recontacte."
    )
    return page("Merci pour vos nouvelles !", [f"C'est noté : « {said} ».{follow}"], problem=False)
