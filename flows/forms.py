"""The forms a Passerelle fills in the Prefect UI, one per human step.

Every field has a French title and help text and a type the UI renders well (select, multi-select, switch,
calendar, textarea, bounded number). Choices that come from the database (domains, competences, applicants)
are enforced by the JSON schema the server checks, not by the Python type: a stored answer always loads on
replay, and the business checks run in Python after the resume (tasks/steps.py).
"""

from __future__ import annotations

from copy import copy
from datetime import date
from typing import Annotated, Any, Literal

import pydantic
from prefect.input import RunInput
from pydantic import BaseModel, Field, WithJsonSchema

CANCEL = "annuler la mission"


def one_of(options: list[str]) -> Any:
    """A string the UI shows as a select over `options`; the server refuses anything else."""
    return Annotated[str, WithJsonSchema({"type": "string", "enum": options or [""]})]


def reason_field() -> Any:
    """The cancellation reason every form carries."""
    return Field(
        default="",
        title="Motif d'annulation",
        description="Obligatoire si vous annulez la mission : il est communiqué à l'association et aux bénévoles.",
    )


class NeedsAnalysisForm(RunInput):
    """Step 1: the need, made precise with the association."""

    meeting_date: date = Field(title="Date de la rencontre", description="Quand vous avez rencontré l'association.")
    values_accepted: bool = Field(
        default=False,
        title="Adhésion aux valeurs validée",
        description="L'association adhère aux valeurs et au fonctionnement de Passerelles & Compétences.",
    )
    title: str = Field(title="Intitulé de la mission", description="Court et parlant, il sert de titre à l'annonce.")
    need: str = Field(title="Expression du besoin", description="Le besoin, aussi précis que possible.")
    deliverables: str = Field(title="Livrables attendus", description="Ce que l'association aura à la fin.")
    domain: str = Field(title="Domaine de compétences", description="Le domaine principal de la mission.")
    competences: list[str] = Field(
        title="Compétences recherchées", description="Une ou plusieurs compétences de la taxonomie."
    )
    effort: str = Field(title="Charge estimée", description="Par exemple : deux demi-journées par mois pendant 3 mois.")
    expected_start: date = Field(title="Début souhaité", description="Date de début prévue de la mission.")
    expected_end: date = Field(title="Fin souhaitée", description="Date de fin prévue de la mission.")
    remote_ok: bool = Field(
        default=False,
        title="Réalisable à distance",
        description="Si oui, l'annonce est aussi diffusée aux bénévoles de toute la France qui l'acceptent.",
    )
    volunteers_needed: int = Field(
        default=1, ge=1, le=10, title="Nombre de bénévoles", description="Combien de bénévoles retenir (1 à 10)."
    )
    decision: Literal["valider l'analyse", "annuler la mission"] = Field(
        default="valider l'analyse", title="Décision", description="Valider l'analyse ou annuler la mission."
    )
    cancel_reason: str = reason_field()


class AnnouncementForm(RunInput):
    """Step 2: the annonce, as the association approved it (or asked to revise it)."""

    text: str = Field(title="Texte de l'annonce", description="Pré-rempli ; corrigez-le avec l'association.")
    decision: Literal["approuvée par l'association", "à réviser", "annuler la mission"] = Field(
        default="approuvée par l'association",
        title="Réponse de l'association",
        description="« à réviser » ouvre un nouveau tour avec le texte ci-dessus.",
    )
    remarks: str = Field(default="", title="Remarques de l'association", description="Ce qu'elle demande de changer.")
    cancel_reason: str = reason_field()


class ApplicationsForm(RunInput):
    """Step 4: applications received, and what to do next."""

    applications: str = Field(
        default="",
        title="Nouvelles candidatures",
        description="Une par ligne : le numéro du bénévole (V-0042) ou son e-mail, puis si besoin « : message ».",
    )
    decision: Literal[
        "passer à la sélection", "attendre d'autres candidatures", "élargir la diffusion au national", CANCEL
    ] = Field(default="attendre d'autres candidatures", title="Suite", description="Ce que vous décidez maintenant.")
    cancel_reason: str = reason_field()


class SelectionForm(RunInput):
    """Step 5: who is retained, and who, not retained, still wants a mission."""

    selected: list[str] = Field(title="Bénévoles retenus", description="Parmi les candidats classés ci-dessus.")
    wants_other: list[str] = Field(
        default_factory=list,
        title="Non retenus souhaitant une autre mission",
        description="Ils deviennent prioritaires dans le domaine de la mission.",
    )
    decision: Literal["valider la sélection", "annuler la mission"] = Field(
        default="valider la sélection", title="Décision", description="Valider la sélection ou annuler la mission."
    )
    cancel_reason: str = reason_field()


class Objective(BaseModel):
    """One line of the roadmap."""

    objectif: str = Field(title="Objectif", description="Ce qui doit être atteint.")
    livrable: str = Field(default="", title="Livrable", description="Ce qui est remis.")
    echeance: date = Field(title="Échéance", description="Date prévue.")


class RoadmapForm(RunInput):
    """Step 6: the feuille de route agreed by volunteer and association; validating it closes the search."""

    objectives: list[Objective] = Field(title="Objectifs", description="Un ou plusieurs objectifs avec échéance.")
    start_on: date = Field(title="Début de la mission", description="Date de début convenue.")
    end_on: date = Field(title="Fin de la mission", description="Date de fin convenue.")
    checkin_every_days: int = Field(
        default=30,
        ge=7,
        le=90,
        title="Rythme du suivi (jours)",
        description="Tous les combien de jours faire le point.",
    )
    validated_by_association: bool = Field(
        default=False,
        title="Validée par l'association",
        description="La validation par l'association clôt la recherche.",
    )
    validated_on: date = Field(title="Date de validation", description="Quand l'association l'a validée.")
    notes: str = Field(default="", title="Remarques", description="Tout ce qui aide au suivi.")
    decision: Literal["valider la feuille de route", "annuler la mission"] = Field(
        default="valider la feuille de route", title="Décision", description="Valider ou annuler la mission."
    )
    cancel_reason: str = reason_field()


class CheckInForm(RunInput):
    """Step 7: one check-in during the mission, or the news that it is finished."""

    held_on: date = Field(title="Date du point", description="Quand vous avez fait le point.")
    status: Literal["dans les temps", "à risque", "bloquée"] = Field(
        default="dans les temps", title="État de la mission", description="Comment la mission avance."
    )
    notes: str = Field(default="", title="Notes", description="Ce qui a été dit ; les difficultés.")
    decision: Literal["poursuivre la mission", "mission terminée : passer au bilan", "annuler la mission"] = Field(
        default="poursuivre la mission", title="Suite", description="Poursuivre, passer au bilan, ou annuler."
    )
    cancel_reason: str = reason_field()


class ReviewForm(RunInput):
    """Step 8: the bilan with both sides."""

    held_on: date = Field(title="Date du bilan", description="Quand le bilan a eu lieu.")
    association_rating: int = Field(
        ge=1, le=5, title="Satisfaction de l'association (1 à 5)", description="5 = très satisfaite."
    )
    volunteer_rating: int = Field(
        ge=1, le=5, title="Satisfaction du bénévole (1 à 5)", description="5 = très satisfait."
    )
    objectives_met: Literal["oui", "en partie", "non"] = Field(
        default="oui", title="Objectifs atteints", description="Au regard de la feuille de route."
    )
    testimony: str = Field(default="", title="Témoignage", description="Quelques mots publiables, avec leur accord.")
    association_would_redo: bool = Field(
        default=True, title="L'association referait appel à P&C", description="Selon l'association."
    )
    volunteer_would_redo: bool = Field(
        default=True, title="Le bénévole referait une mission", description="Selon le bénévole."
    )


FORMS: dict[str, type[RunInput]] = {
    "needs-analysis": NeedsAnalysisForm,
    "annonce": AnnouncementForm,
    "applications": ApplicationsForm,
    "selection": SelectionForm,
    "roadmap": RoadmapForm,
    "check-in": CheckInForm,
    "review": ReviewForm,
}

# Fields whose choices come from the database: (step, field) -> is it a list?
DYNAMIC_CHOICES: dict[tuple[str, str], bool] = {
    ("needs-analysis", "domain"): False,
    ("needs-analysis", "competences"): True,
    ("selection", "selected"): True,
    ("selection", "wants_other"): True,
}


def build_form(
    step: str,
    *,
    description: str = "",
    defaults: dict[str, Any] | None = None,
    choices: dict[str, list[str]] | None = None,
) -> type[RunInput]:
    """The form of `step`, prefilled with `defaults` and with database choices, keeping every field's limits.

    (`RunInput.with_initial_data` drops the title, description and bounds of each field it prefills.)
    """
    base = FORMS[step]
    fields: dict[str, Any] = {}
    for name in set(defaults or {}) | set(choices or {}):
        info = copy(base.model_fields[name])
        annotation = info.annotation
        if choices and name in choices:
            annotation = list[one_of(choices[name])] if DYNAMIC_CHOICES[(step, name)] else one_of(choices[name])
        if defaults and name in defaults:
            info.default = defaults[name]
            info.default_factory = None
        fields[name] = (annotation, info)
    model = pydantic.create_model(base.__name__, __base__=base, **fields)
    model._description = description  # type: ignore[attr-defined]  # what Prefect shows above the form
    return model
