"""`request-mission`: an association asks for help; opens the mission and starts its lifecycle run.

Run it from the deployment's form in the Prefect UI, or with `passerelles start-mission`.
"""

from __future__ import annotations

from prefect import flow
from pydantic import Field

from tasks.lifecycle import open_request
from tasks.runs import start_run


@flow(name="request-mission", validate_parameters=True)
def request_mission(
    association: str = Field(description="Association demandeuse : son nom exact."),
    passerelle: str = Field(description="Passerelle qui suit la mission : son e-mail ou son numéro (C-12)."),
    titre: str = Field(description="Intitulé de la mission, par exemple « Refonte du site internet »."),
    demande: str = Field(default="", description="La demande de l'association, dans ses mots."),
) -> dict[str, str]:
    """Open a mission and start its `mission-lifecycle` run (named `mission-<référence>`)."""
    opened = open_request(association, passerelle, titre, demande)
    run_id = start_run(opened["mission_id"])
    return {"mission_id": str(opened["mission_id"]), "reference": opened["reference"], "flow_run_id": run_id}


def open_and_start(association: str, passerelle: str, title: str, request: str) -> dict[str, str]:
    """The command line's request-mission, without a flow run of its own: open a mission (StepRefused in French
    when the association or the Passerelle is unknown) and start its run."""
    opened = open_request.fn(association, passerelle, title, request)
    return {
        "mission_id": str(opened["mission_id"]),
        "reference": opened["reference"],
        "flow_run_id": start_run(opened["mission_id"]),
    }
