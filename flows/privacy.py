"""Personal data: erasure on request (`erase-volunteer`, an admin form) and retention (`privacy-retention`, daily).

Both end in `tasks/privacy.py`: the database in one transaction, then what Prefect keeps of the person's missions.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from prefect.states import Completed, Failed, State
from pydantic import Field

from models.db import unit_of_work
from tasks.privacy import erase_volunteer, retention_pass, scrub_prefect
from tasks.refusals import StepRefused


def erase(ref: str, reason: str) -> str:
    """Erase one volunteer everywhere; what was done, in French (StepRefused when refused)."""
    with unit_of_work() as session:
        erasure = erase_volunteer(session, ref, reason=reason)
    scrubbed = scrub_prefect(erasure)
    rows = sum(erasure.rows.values())
    return (
        f"{erasure.label} : données personnelles effacées ({rows} ligne(s) de la base, "
        f"{scrubbed['artifacts']} artefact(s) et {scrubbed['inputs']} saisie(s) Prefect réécrits). "
        "Les statistiques sont conservées."
    )


@flow(name="erase-volunteer", validate_parameters=True)
def erase_volunteer_flow(
    benevole: str = Field(description="Numéro (V-0042), e-mail ou nom du bénévole à effacer."),
    motif: str = Field(description="Pourquoi : demande de la personne (date), durée de conservation…"),
) -> State:
    """Effacer un bénévole (RGPD) : nom, adresse, messages et mentions partout ; les statistiques restent."""
    try:
        message = erase(benevole, motif)
    except StepRefused as exc:
        get_run_logger().warning("Refusé : %s", exc)
        return Failed(message=f"Refusé : {exc}")
    get_run_logger().info(message)
    return Completed(message=message)


@flow(name="privacy-retention")
def privacy_retention() -> dict[str, Any]:
    """Conservation des données : avertir les bénévoles inactifs depuis 3 ans, effacer ceux restés inactifs après
    l'avertissement, purger le corps des mails envoyés depuis plus de 90 jours et le journal des accès de plus de
    12 mois."""
    with unit_of_work() as session:
        result = retention_pass(session)
    erased = []
    for volunteer_id in result.to_erase:
        try:
            erase(f"V-{volunteer_id}", "durée de conservation : sans activité après l'avertissement")
            erased.append(volunteer_id)
        except StepRefused as exc:  # erased meanwhile: nothing to do
            get_run_logger().info("V-%04d : %s", volunteer_id, exc)
    summary = {
        "warned": len(result.warned),
        "erased": len(erased),
        "bodies_purged": result.bodies_purged,
        "access_log_purged": result.access_log_purged,
    }
    get_run_logger().info("Conservation : %s", summary)
    return summary
