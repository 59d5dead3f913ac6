"""Step 8, the bilan with both sides: it completes the mission."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from prefect.input import RunInput
from pydantic import Field
from sqlalchemy.orm import Session

from models import Mission, MissionStatus, ObjectivesMet, Review, Volunteer
from models.base import utcnow
from models.refusals import StepRefused
from models.rules import MissionSnapshot
from tasks import notices, parties
from tasks.missions import advance
from tasks.steps import withdrawal
from tasks.steps.base import (
    CANCEL,
    Ctx,
    Outcome,
    Prefill,
    Step,
    StepWaits,
    entered_by_field,
    reason_field,
    refuse_if,
)
from tasks.steps.check_in import roadmap_summary


class Met(StrEnum):
    """Whether the roadmap's objectives were reached."""

    YES = "oui"
    PARTLY = "en partie"
    NO = "non"


MET_STATUS = {Met.YES: ObjectivesMet.YES, Met.PARTLY: ObjectivesMet.PARTLY, Met.NO: ObjectivesMet.NO}


class Decision(StrEnum):
    """Complete the mission with its bilan, or cancel it (it stopped before its end)."""

    COMPLETE = "enregistrer le bilan et terminer la mission"
    ASSOCIATION = "bilan de l'association reçu (à compléter)"
    DRAFT = "garder le bilan en cours (à compléter)"
    CANCEL = CANCEL


class ReviewForm(RunInput):
    """The bilan with both sides."""

    held_on: date = Field(title="Date du bilan", description="Quand le bilan a eu lieu.")
    association_rating: int | None = Field(
        default=None, ge=1, le=5, title="Satisfaction de l'association (1 à 5)", description="5 = très satisfaite."
    )
    volunteer_rating: int | None = Field(
        default=None, ge=1, le=5, title="Satisfaction du bénévole (1 à 5)", description="5 = très satisfait."
    )
    objectives_met: Met = Field(
        default=Met.YES, title="Objectifs atteints", description="Au regard de la feuille de route."
    )
    testimony: str = Field(
        default="",
        title="Témoignage",
        description="Quelques mots publiables, avec l'accord de leur auteur (donné par son lien, ou à vous : "
        "cochez-le ci-dessous).",
    )
    consent_by_phone: list[str] = Field(
        default_factory=list,
        title="Accord de publication reçu hors lien",
        description="Qui vous a donné, par téléphone ou par mail, son accord pour publier ce témoignage.",
    )
    association_would_redo: bool = Field(
        default=True, title="L'association referait appel à P&C", description="Selon l'association."
    )
    volunteer_would_redo: bool = Field(
        default=True, title="Le bénévole referait une mission", description="Selon le bénévole."
    )
    decision: Decision = Field(
        default=Decision.DRAFT,  # the form as shown waits for the two sides' bilans
        title="Décision",
        description="Terminer la mission avec son bilan, le garder en cours, ou annuler la mission avec un motif.",
    )
    cancel_reason: str = reason_field()
    entered_by: str = entered_by_field()


def check(a: ReviewForm) -> list[str]:
    """Reasons to refuse the bilan (pure): both ratings given, from 1 to 5 (the schema says so too)."""
    ratings = (a.association_rating, a.volunteer_rating)
    if any(r is None for r in ratings):
        return ["Indiquez les deux notes de satisfaction (1 à 5), ou annulez la mission avec un motif."]
    if not all(1 <= r <= 5 for r in ratings if r is not None):
        return ["Les notes de satisfaction vont de 1 à 5."]
    return []


GIVEN = "given"  # PartyAnswer.answer of a half of the bilan


def halves(session: Session, mission: Mission) -> tuple[dict[int, str], dict[str, parties.Answer]]:
    """The retained volunteers (id → label) and the halves of the bilan received, by party."""
    return withdrawal.retained(session, mission), parties.answers(session, mission.id, STEP.key)


def answered_values(retained: dict[int, str], got: dict[str, parties.Answer]) -> dict[str, Any]:
    """The bilan's fields the parties' halves fill (pure): the association's rating and « would redo », the
    volunteers' mean rating, whether all would redo, the testimonies whose publication was agreed to; once every
    half is in, the decision to record the bilan and end the mission."""
    values: dict[str, Any] = {}
    association = got.get(parties.ASSOCIATION)
    if association is not None:
        values["association_rating"] = association.rating
        values["association_would_redo"] = bool(association.would_redo)
    volunteers = [got[parties.party_of(v)] for v in retained if parties.party_of(v) in got]
    ratings = [h.rating for h in volunteers if h.rating is not None]
    if ratings:
        values["volunteer_rating"] = round(sum(ratings) / len(ratings))
        values["volunteer_would_redo"] = all(bool(h.would_redo) for h in volunteers)
    publishable = [h.comment for h in ([association] if association else []) + volunteers if h.consent and h.comment]
    if publishable:
        values["testimony"] = "\n\n".join(publishable)
    if association is not None and association.rating is not None and len(ratings) == len(retained) > 0:
        values["decision"] = Decision.COMPLETE.value  # every half is in: the form as shown ends the mission
    return values


def halves_section(retained: dict[int, str], got: dict[str, parties.Answer], association: str) -> str:
    """The « Réponses des parties » section: each half received, or who has not answered yet (markdown)."""

    def said(who: str, h: parties.Answer | None) -> str:
        if h is None:
            return f"- {who} : pas encore répondu (lien envoyé par mail)"
        redo = "referait" if h.would_redo else "ne referait pas"
        consent = "publication acceptée" if h.consent else "publication non autorisée"
        testimony = f" — « {parties.as_text(h.comment)} » ({consent})" if h.comment else ""
        return f"- {who} : {h.rating}/5, {redo}{testimony}"

    lines = [said(f"{association} (association)", got.get(parties.ASSOCIATION))]
    lines += [said(label, got.get(parties.party_of(vid))) for vid, label in retained.items()]
    return parties.section("\n".join(lines))


def consent_parties(mission: Mission, retained: dict[int, str]) -> dict[str, int]:
    """Who may consent to publish a testimony, by form label → volunteer id (0: the association)."""
    return {f"{mission.association.name} (association)": 0, **{label: vid for vid, label in retained.items()}}


def prefill(session: Session, mission: Mission, n: int) -> Prefill:
    """Today's date and the roadmap; the halves received by link (they win over what was typed before)."""
    retained, got = halves(session, mission)
    return Prefill(
        choices={"consent_by_phone": list(consent_parties(mission, retained))},
        defaults={"held_on": utcnow().date()},
        section=roadmap_summary(session, mission) + halves_section(retained, got, mission.association.name),
        answered=answered_values(retained, got),
    )


def apply(session: Session, mission: Mission, a: ReviewForm, ctx: Ctx) -> Outcome:
    """Store the bilan and complete the mission; the association's own half (by its link) waits for the rest."""
    if a.decision is Decision.DRAFT:
        raise StepWaits(
            "bilan en cours : complétez-le avec le bénévole et l'association (les deux notes), puis « "
            f"{Decision.COMPLETE.value} »."
        )
    if a.decision is Decision.ASSOCIATION:
        if a.association_rating is None:
            raise StepRefused("Le bilan de l'association doit comporter sa note de satisfaction (1 à 5).")
        said = f" : « {a.testimony.strip()[:200]} »" if a.testimony.strip() else ""
        raise StepWaits(
            f"l'association a donné son bilan ({a.association_rating}/5){said}. Complétez avec le "
            "bénévole, puis « enregistrer le bilan et terminer la mission »."
        )
    refuse_if(check(a))
    assert a.association_rating is not None and a.volunteer_rating is not None
    retained = withdrawal.retained(session, mission)
    who = consent_parties(mission, retained)
    unknown = [name for name in a.consent_by_phone if name not in who]
    refuse_if([f"« {name} » n'est ni l'association ni un bénévole retenu." for name in unknown])
    if a.consent_by_phone and not a.testimony.strip():
        raise StepRefused("« Accord de publication reçu hors lien » est coché, mais le témoignage est vide.")
    for name in a.consent_by_phone:
        vid = who[name]
        parties.record_consent(
            session,
            mission,
            step=STEP.key,
            asked=STEP.key,
            volunteer=session.get(Volunteer, vid) if vid else None,
            testimony=a.testimony.strip(),
            actor=ctx.actor,
        )
    session.add(
        Review(
            mission_id=mission.id,
            held_on=a.held_on,
            association_rating=a.association_rating,
            volunteer_rating=a.volunteer_rating,
            objectives_met=MET_STATUS[a.objectives_met],
            testimony=a.testimony.strip(),
            association_would_redo=a.association_would_redo,
            volunteer_would_redo=a.volunteer_would_redo,
        )
    )
    advance(session, mission, MissionStatus.COMPLETED, actor=ctx.actor, step_key=ctx.key, action=STEP.key)
    session.flush()
    notices.completed(session, mission)
    return Outcome.COMPLETED


def after_roadmap_end(snapshot: MissionSnapshot) -> date | None:
    """The bilan is due once the roadmap's end has passed."""
    end = snapshot.roadmap_end
    return end if end is not None and snapshot.today > end else None


def ask_parties(
    session: Session, mission: Mission, key: str, defaults: dict[str, Any], previous: dict[str, Any] | None
) -> None:
    """Ask the association and each retained volunteer for their half of the bilan (rating, would they do it
    again, a testimony they may agree to publish) by their links, once, when the bilan first waits."""
    if previous is not None:
        return
    # One bilan per mission, whichever key its form has (`review-retour-1` after a withdrawal): the halves and
    # their links name the step itself.
    notices.review_to_give(session, mission, key=STEP.key)
    for vid in withdrawal.retained(session, mission):
        notices.review_to_give_volunteer(session, mission, session.get(Volunteer, vid), key=STEP.key)


STEP = Step(
    key="review",
    label="Bilan",
    instructions="Faites le bilan de fin de mission avec le bénévole et l'association.",
    next_action="faire le bilan avec les deux parties",
    service_level=30,  # after the roadmap's end
    status=MissionStatus.IN_PROGRESS,
    form=ReviewForm,
    prefill=prefill,
    apply=apply,
    since=after_roadmap_end,
    ask_outside=ask_parties,
    waiting_decision=Decision.DRAFT.value,
)
