"""An association asks for a mission (`/demande`): the public form, and what its confirmation does — the request
goes to the branch as a « nouvelle demande » run waiting in the Prefect UI (flows/new_request.py)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from models import Branch, PublicSubmission, SubmissionKind
from models.db import unit_of_work
from portal.public import CONFIRMED, Confirmed, public_page, submitted
from tasks import public_requests
from tasks.runs import start_request_run

log = logging.getLogger("passerelles.portal")
router = APIRouter()
PATH = "/demande"


def show(typed: dict[str, str] | None = None, error: str = "", status: int = 200) -> HTMLResponse:
    with unit_of_work() as session:
        offered = public_requests.choices(session)
    return public_page(
        "portal/request.html.j2",
        "Demander une mission de bénévolat de compétences",
        status=status,
        typed=typed or {},
        error=error,
        max=public_requests.DESCRIPTION_MAX,
        **offered,
    )


@router.get(PATH, response_class=HTMLResponse)
def request_form() -> HTMLResponse:
    return show()


@router.post(PATH, response_class=HTMLResponse)
async def request_sent(request: Request) -> HTMLResponse:
    return await submitted(request, SubmissionKind.MISSION_REQUEST, show, public_requests.check_request)


def _confirmed(session: Session, row: PublicSubmission) -> list[str]:
    branch = session.get(Branch, row.branch_id)
    name = branch.name if branch else "votre antenne"
    return [
        f"Merci : votre adresse est confirmée et votre demande {row.reference} est transmise à l'antenne de {name}.",
        "Vous recevrez sa réponse par mail ; la Passerelle qui suivra la mission vous contactera ensuite.",
    ]


def _start(request_id: int) -> str:
    """Start the request's run once it is confirmed ("" when it runs); a French note when Prefect is away (the
    same link, opened again, starts it)."""
    with unit_of_work() as session:
        row = public_requests.request_row(session, request_id)
        if row.flow_run_id:
            return ""
        branch = session.get(Branch, row.branch_id)
        code, reference = (branch.code if branch else ""), row.reference
    try:
        run_id = start_request_run(request_id, code, reference)
    except Exception:
        log.exception("request %s: its run could not start", reference)
        return (
            "Votre demande est bien confirmée, mais n'a pas pu être transmise à l'antenne pour l'instant : rouvrez "
            "le lien de confirmation dans quelques minutes pour la transmettre."
        )
    with unit_of_work() as session:
        public_requests.request_row(session, request_id, lock=True).flow_run_id = run_id
    return ""


CONFIRMED[SubmissionKind.MISSION_REQUEST] = Confirmed(apply=_confirmed, after=_start, what="votre demande de mission")
