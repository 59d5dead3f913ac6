"""The pages where the association and each retained volunteer answer their own part during the mission: the
check-in's news (`/point/...`, either party) and the bilan (`/bilan/...` the association's, `/bilan-benevole/...`
a volunteer's). Each answer is recorded in the database (tasks/parties.py) — a bilan with the consent to publish
its testimony — and shows at once in the Passerelle's waiting form, prefilling what it fills."""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from models.db import unit_of_work
from portal.pages import answered, page, shown
from tasks import portal
from tasks.links import Purpose, read
from tasks.parties import TESTIMONY_CONSENT
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


async def _give(purpose: Purpose, token: str, request: Request) -> HTMLResponse:
    def act(session: Session, payload: dict[str, Any], fields: dict[str, str]) -> str:
        portal.give_review(session, _who(purpose, payload), payload.get("m"), payload.get("k"), fields)
        return portal.mission(session, payload.get("m")).coordinator.full_name

    done = await answered(request, token, purpose, act, partial(_bilan_page, purpose))
    if isinstance(done, HTMLResponse):
        return done
    passerelle, payload = done
    portal.after_review_answer(int(payload["m"]))
    said = [f"{passerelle}, votre Passerelle, le complète avec chacun."]
    return page("Merci pour votre bilan !", said, problem=False)


@router.get("/bilan/{token}", response_class=HTMLResponse)
def association_bilan_form(token: str) -> HTMLResponse:
    return shown(partial(_bilan_page, Purpose.REVIEW), token)


@router.post("/bilan/{token}", response_class=HTMLResponse)
async def association_bilan(token: str, request: Request) -> HTMLResponse:
    return await _give(Purpose.REVIEW, token, request)


@router.get("/bilan-benevole/{token}", response_class=HTMLResponse)
def volunteer_bilan_form(token: str) -> HTMLResponse:
    return shown(partial(_bilan_page, Purpose.VOLUNTEER_REVIEW), token)


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
    return shown(_news_page, token)


@router.post("/point/{token}", response_class=HTMLResponse)
async def news(token: str, request: Request) -> HTMLResponse:
    def act(session: Session, payload: dict[str, Any], fields: dict[str, str]) -> tuple[str, str]:
        said = portal.give_news(session, payload.get("v"), payload.get("m"), payload.get("k"), fields)
        return said, portal.mission(session, payload.get("m")).coordinator.full_name

    done = await answered(request, token, Purpose.NEWS, act, _news_page)
    if isinstance(done, HTMLResponse):
        return done
    (said, passerelle), payload = done
    portal.after_news_answer(int(payload["m"]), str(payload["k"]))
    follow = (
        "" if said == News.GOING.value else f" {passerelle}, votre Passerelle, en est informé(e) et vous recontacte."
    )
    return page("Merci pour vos nouvelles !", [f"C'est noté : « {said} ».{follow}"], problem=False)
