"""Personal data: erasure on request (`erase-volunteer`, an admin form) and retention (`privacy-retention`, daily).

Both end in `tasks/privacy.py`: the database in one transaction, then what Prefect keeps of the person's missions.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run as current
from prefect.states import Completed, Failed, State
from pydantic import Field

from models.db import unit_of_work
from models.permissions import SYSTEM_RUN
from models.refusals import StepRefused
from tasks.privacy import erase_volunteer, record_summary, retention_pass, scrub_prefect
from tasks.runs import started_by


def erase(ref: str, reason: str, *, actor: str = "", current_run: str = "") -> str:
    """Erase one volunteer everywhere; what was done, in French (StepRefused when refused). `actor`: who asks
    (`C-12` or a system label), kept with the reason in the erasure record."""
    with unit_of_work() as session:
        erasure = erase_volunteer(session, ref, reason=reason, actor=actor)
    rows = sum(erasure.rows.values())
    try:
        scrubbed = scrub_prefect(erasure, current_run=current_run)
        prefect = (
            f"{scrubbed['artifacts']} artefact(s) et {scrubbed['inputs']} saisie(s) Prefect réécrits, "
            f"{scrubbed['runs_deleted']} run(s) d'administration qui le/la nommaient supprimés"
        )
        if scrubbed["logs_left"]:
            prefect += f" ; {scrubbed['logs_left']} run(s) de mission gardent son nom dans leurs journaux"
    except Exception as exc:  # the database is done; say what is left rather than undo it
        prefect = f"serveur Prefect injoignable, ses données restent à effacer (relancez l'effacement) : {exc}"
    message = (
        f"{erasure.label} : données personnelles effacées ({rows} ligne(s) de la base ; {prefect}). "
        "Les statistiques sont conservées."
    )
    with unit_of_work() as session:
        record_summary(session, erasure.record_id, message)
    return message


@flow(name="erase-volunteer", validate_parameters=True)
def erase_volunteer_flow(
    benevole: str = Field(description="Numéro (V-0042), e-mail ou nom du bénévole à effacer."),
    motif: str = Field(description="Pourquoi : demande de la personne (date), durée de conservation…"),
) -> State:
    """Effacer un bénévole (RGPD) : nom, adresse, messages et mentions partout ; les statistiques restent."""
    try:
        message = erase(benevole, motif, actor=started_by(), current_run=str(current.id or ""))
    except StepRefused as exc:
        get_run_logger().warning("Refusé : %s", exc)
        return Failed(message=f"Refusé : {exc}")
    get_run_logger().info(message)
    return Completed(message=message)


@flow(name="privacy-retention")
def privacy_retention() -> dict[str, Any]:
    """Conservation des données : avertir les bénévoles inactifs depuis 3 ans, effacer ceux restés inactifs après
    l'avertissement, purger le corps des mails envoyés depuis plus de 90 jours et le journal des accès de plus de
    12 mois, effacer les formulaires publics jamais confirmés."""
    with unit_of_work() as session:
        result = retention_pass(session)
    erased = []
    for volunteer_id in result.to_erase:
        try:
            erase(f"V-{volunteer_id}", "durée de conservation : sans activité après l'avertissement", actor=SYSTEM_RUN)
            erased.append(volunteer_id)
        except StepRefused as exc:  # erased meanwhile: nothing to do
            get_run_logger().info("V-%04d : %s", volunteer_id, exc)
    summary = {
        "warned": len(result.warned),
        "erased": len(erased),
        "bodies_purged": result.bodies_purged,
        "access_log_purged": result.access_log_purged,
        "files_purged": result.files_purged,
        "unconfirmed_purged": result.unconfirmed_purged,
    }
    get_run_logger().info("Conservation : %s", summary)
    return summary
