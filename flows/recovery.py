"""Flows run by automations on the events of mission runs (deployments/register.py creates them)."""

from __future__ import annotations

from prefect import flow
from pydantic import Field

from tasks.recovery import mirror_cancel, recover_run, sweep_runs


@flow(name="recover-mission-run", description="Relance un run de mission planté ou en échec (nombre borné).")
def recover_mission_run(flow_run: str = Field(description="Le run de mission à relancer (id).")) -> str:
    """Reschedule a crashed or failed mission run; it replays safely from its stored answers."""
    return recover_run(flow_run)


@flow(name="mission-run-cancelled", description="Annule la mission dont le run a été annulé dans l'interface.")
def mission_run_cancelled(flow_run: str = Field(description="Le run de mission annulé (id).")) -> str:
    """Cancel the mission of a run cancelled from the UI, and tell the parties."""
    return mirror_cancel(flow_run)


@flow(name="watch-mission-runs", description="Filet de sécurité : relance les runs de mission restés plantés.")
def watch_mission_runs(
    stale_seconds: float = Field(default=120, description="Délai avant de relancer un run planté ou bloqué (s)."),
) -> list[str]:
    """Every minute: reschedule the mission runs the automations have not (a recovery run may have died too)."""
    return sweep_runs(stale_seconds)
