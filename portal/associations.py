"""The association's pages: approve the annonce or ask for a revision, validate the roadmap; each answer
resumes the mission's suspended step. (Its bilan is a half recorded for the Passerelle: portal/bilan.py.)"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from models import MissionStatus
from models.base import utcnow
from models.db import unit_of_work
from models.refusals import StepRefused
from portal.pages import form, page, refused
from tasks import parties, portal
from tasks.links import LinkRefused, Purpose, read
from tasks.rendering import render
from tasks.runs import answered, resume, waiting_form
from tasks.steps import ANNOUNCEMENT, ROADMAP, Outcome
from tasks.steps import roadmap as roadmap_step
from tasks.steps.announcement import Decision as AnnouncementDecision
from tasks.steps.answers import association_label
from tasks.steps.base import asked_key
from tasks.steps.roadmap import Decision as RoadmapDecision

router = APIRouter()


ASKED = {Purpose.ANNOUNCEMENT: ANNOUNCEMENT, Purpose.ROADMAP: ROADMAP}
# Each sending of the roadmap has its own link: it answers the roadmap form whatever its attempt (the Passerelle may
# have pressed Resume on « attendre »), as long as no newer sending was mailed.


def _asked(purpose: Purpose, token: str) -> dict[str, Any]:
    """Who, which mission and which step a link names, and the prefilled values of the form it answers;
    StepRefused (in French) when that answer is no longer expected."""
    step = ASKED[purpose]
    payload = read(purpose, token)
    key = payload.get("k")
    if not isinstance(key, str):
        raise LinkRefused("Ce lien est invalide.")
    base = asked_key(key)
    if not (base == step.key or base.startswith(f"{step.round_key or step.key}-")):
        raise LinkRefused("Ce lien est invalide.")
    with unit_of_work() as session:
        m = portal.mission(session, payload.get("m"))
        if m.status is MissionStatus.CANCELLED:
            raise StepRefused(f"La mission {m.reference} a été annulée : {m.cancel_reason}")
        done = answered(session, m.id, step.key, key)
        if done is not None:
            said = {Outcome.REVISE.value: " (à réviser)", Outcome.APPROVED.value: " (approuvée)"}.get(
                done.details.get("outcome", ""), ""
            )
            who = {
                association_label(m).split(" <", 1)[0]: "de votre part",
                roadmap_step.BY_LINKS: "par votre validation et l'accord des bénévoles, donnés par vos liens",
            }.get(done.actor, "de votre Passerelle")
            now = "" if m.status.is_open else f" La mission est maintenant {m.status.label.lower()}."
            raise StepRefused(
                f"Cette étape de la mission {m.reference} a déjà reçu une réponse{said}, {who}, le "
                f"{done.at:%d/%m/%Y}.{now}"
            )
        context: dict[str, Any] = {
            "reference": m.reference,
            "mission_title": m.title,
            "run": m.flow_run_id or "",
            "key": key,
            "contact": m.association.contact_name,
            "passerelle": m.coordinator.full_name,
            "actor": association_label(m),
        }
    exact = False
    if purpose is Purpose.ROADMAP:
        with unit_of_work() as session:
            sent = parties.latest_sending(session, int(payload["m"]))
        exact = not sent  # sent before the upgrade that records sendings: that very attempt only
        if sent and sent != key:
            raise StepRefused(
                f"Une version plus récente de la feuille de route de la mission {context['reference']} vous a été "
                "envoyée : utilisez le lien du dernier mail."
            )
    schema = waiting_form(context["run"], key, exact=exact) if context["run"] else None
    if schema is None:
        raise StepRefused(
            f"La mission {context['reference']} n'attend plus de réponse sur ce lien (votre Passerelle "
            "l'a peut-être déjà saisie, ou une version plus récente vous a été envoyée)."
        )
    properties = schema.get("properties", {})
    context["defaults"] = {k: v["default"] for k, v in properties.items() if "default" in v}
    return context


def _answer(c: dict[str, Any], **answer: Any) -> None:
    """Resume the step with the prefilled values and the association's answer; StepRefused if it lost the race."""
    run_input = {**c["defaults"], **answer, "cancel_reason": "", "entered_by": c["actor"]}
    if not resume(c["run"], run_input):
        raise StepRefused(
            "Une autre réponse vient d'être enregistrée pour cette étape : la vôtre n'a pas été prise en "
            "compte. Contactez votre Passerelle si besoin."
        )


def _association_page(
    purpose: Purpose, token: str, *, error: str = "", typed: dict[str, str] | None = None
) -> HTMLResponse:
    c = _asked(purpose, token)
    template, title = {
        Purpose.ANNOUNCEMENT: ("annonce", "Votre annonce"),
        Purpose.ROADMAP: ("roadmap", "Votre feuille de route"),
    }[purpose]
    html = render(
        f"portal/{template}.html.j2",
        title=f"{title} — {c['reference']}",
        error=error,
        typed=typed or {},
        max=portal.MESSAGE_MAX,
        **c,
    )
    return HTMLResponse(html, status_code=422 if error else 200)


@router.get("/{purpose}/{token}", response_class=HTMLResponse)
def association_form(purpose: str, token: str) -> HTMLResponse:
    if purpose not in {p.value for p in ASKED}:
        return page("Page introuvable", ["Cette adresse ne correspond à aucune page."], 404)
    try:
        return _association_page(Purpose(purpose), token)
    except (LinkRefused, StepRefused) as exc:
        return refused(exc)


@router.post("/{purpose}/{token}", response_class=HTMLResponse)
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
            typed = {k: v[: portal.MESSAGE_MAX] for k, v in fields.items()}
            return _association_page(which, token, error=str(exc), typed=typed)
    except (LinkRefused, StepRefused) as exc:
        return refused(exc)
    return page("Réponse enregistrée", said, problem=False)


def _read_answer(which: Purpose, c: dict[str, Any], fields: dict[str, str]) -> list[str]:
    """Check the association's answer, resume the step with it; what the confirmation page says."""
    decision = fields.get("decision", "")
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
        _answer(
            c,
            decision=RoadmapDecision.VALIDATE.value,
            validated_by_association=True,
            validated_on=str(utcnow().date()),
            association_remarks=remarks,
        )
        return [
            "Merci : votre validation de la feuille de route est transmise.",
            "La recherche de bénévole est close dès que chaque bénévole retenu a aussi donné son accord.",
        ]
    _answer(c, decision=RoadmapDecision.CHANGES.value, validated_by_association=False, association_remarks=remarks)
    return ["Merci : vos remarques sont transmises.", f"{c['passerelle']} vous renverra la feuille de route."]
