"""The organisation's data from the Prefect UI: one deployment per action, its French form made of the flow's
parameters (Deployments → the action → Run → Custom run). Each flow is a thin adapter over the action of
`tasks/admin_actions.py`, the command line's too; a refusal ends the run Failed with its French reason as the state
message, nothing written."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from enum import StrEnum
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_link_artifact
from prefect.states import Completed, Failed, State
from pydantic import Field

from flows.privacy import erase_volunteer_flow
from flows.regional_report import day_of, scoped_run_name
from models.exports import EXPORT_LABELS, ExportKind, export_slug
from models.org import ROLE_LABELS, Role
from models.refusals import ConfirmationNeeded, StepRefused
from models.report_rules import artifact_key, normalise_codes
from models.volunteer import AVAILABILITY_LABELS
from tasks import admin_actions as actions
from tasks.admin_actions import Done, perform
from tasks.runs import started_by


def _confirm() -> Any:
    return Field(
        default=False,
        title="Je confirme",
        description="À cocher pour confirmer malgré l'avertissement (adresse e-mail déjà celle d'une autre "
        "association, second responsable d'antenne).",
    )


def _reason() -> Any:
    return Field(
        default="",
        title="Motif",
        description="Pourquoi vous faites cette modification (obligatoire : gardé avec elle, avec votre nom).",
    )


RoleChoice = StrEnum("RoleChoice", {role.name: label for role, label in ROLE_LABELS.items()})  # type: ignore[misc]


def _role(choice: Any) -> Role:
    return Role[choice.name]


def _apply(action: Callable[[Any], Done], after: Callable[[Done], None] | None = None) -> State:
    """Perform an action (tasks/admin_actions.py); the run's state says what it did, or why it was refused;
    `after` runs once it is done (told what it did)."""
    try:
        done = perform(action)
    except ConfirmationNeeded as exc:
        reason = f"À confirmer : {exc} Si c'est voulu, cochez « Je confirme » et relancez."
        get_run_logger().warning(reason)
        return Failed(message=reason)
    except StepRefused as exc:
        get_run_logger().warning("Refusé : %s", exc)
        return Failed(message=f"Refusé : {exc}")
    get_run_logger().info(done.message)
    if after:
        after(done)
    return Completed(message=done.message)


@flow(name="create-branch", validate_parameters=True)
def create_branch(
    code: str = Field(description="2 à 5 lettres, préfixe des références des missions (ex. STR)."),
    nom: str = Field(description="Nom de l'antenne, ex. Strasbourg."),
    region: str = Field(description="Région, ex. Grand Est."),
    fondee_le: date | None = Field(default=None, description="Date de création de l'antenne (facultatif)."),
) -> State:
    """Créer une antenne."""
    return _apply(lambda s: actions.create_branch(s, code=code, name=nom, region=region, founded_on=fondee_le))


@flow(name="update-branch", validate_parameters=True)
def update_branch(
    antenne: str = Field(description="Code ou nom de l'antenne."),
    nom: str = Field(default="", description="Nouveau nom (vide : inchangé)."),
    region: str = Field(default="", description="Nouvelle région (vide : inchangée)."),
    fondee_le: date | None = Field(default=None, description="Date de création de l'antenne (vide : inchangée)."),
    motif: str = _reason(),
) -> State:
    """Renommer une antenne, changer sa région ou corriger sa date de création."""
    return _apply(
        lambda s: actions.update_branch(
            s, antenne, name=nom, region=region, founded_on=fondee_le, reason=motif, actor=started_by()
        )
    )


@flow(name="add-team-member", validate_parameters=True)
def add_team_member(
    prenom: str = Field(description="Prénom."),
    nom: str = Field(description="Nom."),
    email: str = Field(description="Adresse e-mail : les mails « À vous » et les rappels y arrivent."),
    role: RoleChoice = Field(description="Rôle dans l'association."),
    antenne: str = Field(default="", description="Code ou nom de l'antenne (obligatoire sauf support et admin)."),
    je_confirme: bool = _confirm(),
) -> State:
    """Ajouter un membre de l'équipe."""
    return _apply(
        lambda s: actions.add_member(
            s, first_name=prenom, last_name=nom, email=email, role=_role(role), branch=antenne, confirmed=je_confirme
        )
    )


@flow(name="update-team-member", validate_parameters=True)
def update_team_member(
    membre: str = Field(description="E-mail ou numéro (C-12) du membre."),
    role: RoleChoice | None = Field(default=None, description="Nouveau rôle (vide : inchangé)."),
    antenne: str = Field(default="", description="Nouvelle antenne (vide : inchangée)."),
    prenom: str = Field(default="", description="Prénom corrigé (vide : inchangé)."),
    nom: str = Field(default="", description="Nom corrigé (vide : inchangé)."),
    email: str = Field(
        default="", description="Nouvelle adresse e-mail (vide : inchangée) ; il/elle se reconnecte avec elle."
    ),
    motif: str = _reason(),
    je_confirme: bool = _confirm(),
) -> State:
    """Changer le rôle ou l'antenne d'un membre de l'équipe, corriger son nom ou son adresse e-mail."""
    return _apply(
        lambda s: actions.update_member(
            s,
            membre,
            role=_role(role) if role else None,
            branch=antenne,
            first_name=prenom,
            last_name=nom,
            email=email,
            confirmed=je_confirme,
            reason=motif,
            actor=started_by(),
        )
    )


@flow(name="deactivate-team-member", validate_parameters=True)
def deactivate_team_member(
    membre: str = Field(description="E-mail ou numéro (C-12) du membre qui part."),
    confier_a: str = Field(default="", description="Passerelle qui reprend ses missions ouvertes (e-mail ou C-12)."),
    reactiver: bool = Field(default=False, description="Cocher pour réactiver un membre désactivé."),
) -> State:
    """Désactiver un membre de l'équipe (ses missions ouvertes sont confiées à une autre Passerelle), ou le
    réactiver."""
    return _apply(
        lambda s: actions.set_member_active(s, membre, active=reactiver, reassign_to=confier_a, actor=started_by())
    )


@flow(name="reassign-missions", validate_parameters=True)
def reassign_missions(
    a: str = Field(description="La Passerelle qui reprend (e-mail ou C-12)."),
    mission: str = Field(default="", description="Une mission (référence, ex. STR-2026-014)…"),
    de: str = Field(default="", description="… ou toutes les missions ouvertes de cette Passerelle (e-mail ou C-12)."),
) -> State:
    """Confier une mission, ou toutes les missions ouvertes d'une Passerelle, à une autre Passerelle de l'antenne."""
    return _apply(lambda s: actions.reassign(s, to=a, mission=mission, of=de, actor=started_by()))


@flow(name="move-mission", validate_parameters=True)
def move_mission(
    mission: str = Field(description="Référence de la mission, ex. STR-2026-014 (elle ne change pas)."),
    antenne: str = Field(description="Code ou nom de l'antenne qui la reprend."),
    motif: str = Field(description="Pourquoi elle change d'antenne (gardé dans son historique)."),
    a: str = Field(default="", description="La Passerelle de cette antenne qui la suit (vide : sa responsable)."),
) -> State:
    """Confier une mission ouverte à une autre antenne ; la Passerelle qui la reprend est prévenue par mail."""
    return _apply(lambda s: actions.move_mission(s, mission, branch=antenne, to=a, reason=motif, actor=started_by()))


@flow(name="register-association", validate_parameters=True)
def register_association(
    nom: str = Field(description="Nom de l'association."),
    antenne: str = Field(description="Code ou nom de l'antenne qui l'accompagne."),
    contact: str = Field(description="Nom de la personne contact."),
    email: str = Field(description="E-mail du contact : annonces à approuver, factures, bilans."),
    budget: str = Field(
        description="Budget annuel de fonctionnement, en euros, par exemple 24 000 € (donne la tranche de cotisation)."
    ),
    ville: str = Field(default="", description="Ville."),
    objet: str = Field(default="", description="Objet de l'association."),
    telephone: str = Field(default="", description="Téléphone du contact."),
    je_confirme: bool = _confirm(),
) -> State:
    """Enregistrer une association."""
    return _apply(
        lambda s: actions.register_association(
            s,
            name=nom,
            branch=antenne,
            contact_name=contact,
            contact_email=email,
            annual_budget=budget,
            city=ville,
            purpose=objet,
            contact_phone=telephone,
            confirmed=je_confirme,
        )
    )


@flow(name="update-association", validate_parameters=True)
def update_association(
    association: str = Field(description="Nom de l'association."),
    contact: str = Field(default="", description="Nom de la personne contact (vide : inchangé)."),
    email: str = Field(default="", description="E-mail du contact (vide : inchangé)."),
    budget: str = Field(
        default="", description="Budget annuel de fonctionnement, en euros, par exemple 24 000 € (vide : inchangé)."
    ),
    ville: str = Field(default="", description="Ville (vide : inchangée)."),
    motif: str = _reason(),
    je_confirme: bool = _confirm(),
) -> State:
    """Corriger le contact, le budget ou la ville d'une association."""
    return _apply(
        lambda s: actions.update_association(
            s,
            association,
            contact_name=contact,
            contact_email=email,
            annual_budget=budget,
            city=ville,
            confirmed=je_confirme,
            reason=motif,
            actor=started_by(),
        )
    )


@flow(name="archive-association", validate_parameters=True)
def archive_association(
    association: str = Field(description="Nom de l'association."),
    motif: str = _reason(),
    reactiver: bool = Field(default=False, description="Cocher pour réactiver une association archivée."),
) -> State:
    """Archiver une association (plus de nouvelle mission ; son historique reste), ou la réactiver."""
    return _apply(
        lambda s: actions.archive_association(s, association, archived=not reactiver, reason=motif, actor=started_by())
    )


AvailabilityChoice = StrEnum(  # type: ignore[misc]
    "AvailabilityChoice", {a.name: label.lower() for a, label in AVAILABILITY_LABELS.items()}
)


class YesNo(StrEnum):
    """A consent given or withdrawn."""

    YES = "oui"
    NO = "non"


class ArchiveChoice(StrEnum):
    """Archive or reactivate."""

    ARCHIVE = "archiver"
    REACTIVATE = "réactiver"


@flow(name="update-volunteer", validate_parameters=True)
def update_volunteer(
    benevole: str = Field(description="Numéro (V-0042), e-mail ou nom du bénévole."),
    disponibilite: AvailabilityChoice | None = Field(default=None, description="Disponibilité (vide : inchangée)."),
    annonces: YesNo | None = Field(default=None, description="Accepte les annonces de son antenne (vide : inchangé)."),
    national: YesNo | None = Field(default=None, description="Accepte les annonces nationales (vide : inchangé)."),
    archivage: ArchiveChoice | None = Field(default=None, description="Archiver (plus aucun mail) ou réactiver."),
) -> State:
    """Changer la disponibilité ou les consentements d'un bénévole, l'archiver ou le réactiver."""
    from models.volunteer import Availability

    return _apply(
        lambda s: actions.update_volunteer(
            s,
            benevole,
            availability=Availability[disponibilite.name] if disponibilite else None,
            consent_announcements=(annonces is YesNo.YES) if annonces else None,
            consent_national=(national is YesNo.YES) if national else None,
            archive=(archivage is ArchiveChoice.ARCHIVE) if archivage else None,
            actor=started_by(),
        )
    )


@flow(name="confirm-social-post", validate_parameters=True)
def confirm_social_post(
    mission: str = Field(description="Référence de la mission, ex. STR-2026-014."),
    portee: int | None = Field(default=None, ge=0, description="Nombre de personnes atteintes, si vous le connaissez."),
) -> State:
    """Confirmer qu'une annonce est publiée sur les réseaux sociaux."""
    return _apply(lambda s: actions.confirm_social_post(s, mission, actor=started_by(), reach=portee))


class FeeDecision(StrEnum):
    """What the support team records."""

    PAID = "payée"
    WAIVED = "exonérée"


@flow(name="record-fee", validate_parameters=True)
def record_fee(
    cotisation: str = Field(description="Numéro (F-12), ou référence de la mission pour sa participation."),
    decision: FeeDecision = Field(description="Payée, ou exonérée (avec un motif)."),
    le: date | None = Field(default=None, description="Date du paiement (vide : aujourd'hui)."),
    note: str = Field(default="", description="Motif de l'exonération, ou référence du virement."),
) -> State:
    """Noter une cotisation payée ou exonérée."""
    from models import FeeStatus

    status = FeeStatus.PAID if decision is FeeDecision.PAID else FeeStatus.WAIVED
    return _apply(lambda s: actions.settle_fee(s, cotisation, status=status, actor=started_by(), on=le, note=note))


class FeeCorrection(StrEnum):
    """What is corrected."""

    CORRECT = "corriger le paiement (date, montant, moyen) ou le motif de l'exonération"
    CANCEL = "annuler le paiement ou l'exonération (la cotisation redevient due)"


@flow(name="correct-fee", validate_parameters=True)
def correct_fee(
    cotisation: str = Field(description="Numéro (F-12), ou référence de la mission pour sa participation."),
    correction: FeeCorrection = Field(description="Corriger ce qui a été noté, ou l'annuler."),
    motif: str = Field(description="Pourquoi cette correction (gardée dans le journal avec votre nom)."),
    le: date | None = Field(default=None, description="Date du paiement corrigée (vide : inchangée)."),
    montant: str = Field(default="", description="Montant corrigé, en euros, ex. 120 € (vide : inchangé)."),
    note: str = Field(default="", description="Moyen de paiement, ou motif de l'exonération (vide : inchangé)."),
) -> State:
    """Corriger ou annuler un paiement ou une exonération notés par erreur."""
    if correction is FeeCorrection.CANCEL:
        return _apply(lambda s: actions.cancel_settlement(s, cotisation, actor=started_by(), reason=motif))
    return _apply(
        lambda s: actions.correct_payment(
            s, cotisation, actor=started_by(), reason=motif, on=le, amount=montant, how=note
        )
    )


@flow(name="set-fee-schedule", validate_parameters=True)
def set_fee_schedule(
    a_partir_de: int = Field(
        description="Année d'entrée en vigueur : l'année prochaine ou après (l'année en cours si aucun barème "
        "n'a été fixé pour elle)."
    ),
    tranches: str = Field(
        description="Une tranche par ligne : budget min-max : cotisation : participation, en "
        "euros ; par exemple 0-10000:50:100, puis 10000-50000:120:250, puis 50000-:250:500."
    ),
) -> State:
    """Fixer un nouveau barème des cotisations (les précédents restent dans l'historique)."""
    return _apply(lambda s: actions.set_fee_schedule(s, from_year=a_partir_de, brackets=tranches, actor=started_by()))


@flow(name="remove-fee-schedule", validate_parameters=True)
def remove_fee_schedule(
    a_partir_de: int = Field(description="Année d'entrée en vigueur du barème à retirer (pas encore en vigueur)."),
    motif: str = Field(description="Pourquoi le retirer (gardé dans le journal avec votre nom)."),
) -> State:
    """Retirer un barème saisi par erreur, tant qu'il n'est pas en vigueur."""
    return _apply(lambda s: actions.remove_fee_schedule(s, from_year=a_partir_de, actor=started_by(), reason=motif))


@flow(name="fee-reminders")
def fee_reminders() -> State:
    """Relancer les associations dont une cotisation facturée reste impayée (tous les 30 jours par défaut)."""
    from tasks.delivery import deliver_soon

    return _apply(actions.remind_fees, lambda _: deliver_soon())


ExportChoice = StrEnum("ExportChoice", {k.name: label for k, label in EXPORT_LABELS.items()})  # type: ignore[misc]


def export_run_name(p: dict[str, Any]) -> str:
    """`export-cotisations-STR-2026-01-01_2026-12-31`, `export-missions-toutes-antennes-…`."""
    kind = ExportKind[ExportChoice(p["donnees"]).name]
    return "export-" + export_slug(kind, normalise_codes(p.get("antennes")), day_of(p["debut"]), day_of(p["fin"]))


@flow(name="export-data", flow_run_name=scoped_run_name(export_run_name, "export"), validate_parameters=True)
def export_data(
    donnees: ExportChoice = Field(description="Ce qu'il faut exporter."),
    debut: date = Field(description="Premier jour de la période (inclus)."),
    fin: date = Field(description="Dernier jour de la période (inclus)."),
    antennes: list[str] = Field(
        default_factory=list, description="Codes des antennes (par exemple STR, MUL) ; vide : toutes les antennes."
    ),
) -> State:
    """Exporter les missions, les candidatures ou les cotisations d'une période en CSV pour un tableur (UTF-8 avec
    BOM, séparateur « ; », dates JJ/MM/AAAA, virgule décimale), à télécharger depuis le lien du run après
    connexion. Réservé aux administrateurs."""
    kind = ExportKind[donnees.name]

    def publish(done: Done) -> None:
        # A link to the file at the sign-in gateway (admins only, each download logged), not its content: the rows
        # stay out of Prefect's storage, which every signed-in member reads.
        key = artifact_key(export_slug(kind, normalise_codes(antennes), debut, fin))
        create_link_artifact(link=done.url, link_text=f"Export CSV des {kind.value}", key=key, description=done.message)

    return _apply(
        lambda s: actions.export_data(s, kind.value, branches=antennes, start=debut, end=fin, actor=started_by()),
        publish,
    )


ADMIN_FLOWS = (
    create_branch,
    update_branch,
    add_team_member,
    update_team_member,
    deactivate_team_member,
    reassign_missions,
    move_mission,
    register_association,
    update_association,
    archive_association,
    update_volunteer,
    confirm_social_post,
    record_fee,
    correct_fee,
    set_fee_schedule,
    remove_fee_schedule,
    erase_volunteer_flow,
    export_data,
)
