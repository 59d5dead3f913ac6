"""What an installation declares to its Prefect server: the work pool, every deployment on it, and the automations
that keep missions right when their runs end outside their forms.

Deployments name their flows by module path (`flows.mission_lifecycle.mission_lifecycle`): a worker runs them from
the installed `passerelles` package, on this machine or another, with no code to pull. Registering again updates
everything in place (`passerelles init` and the stack both do it).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, cast
from uuid import UUID

from prefect import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.client.schemas.objects import StateType
from prefect.deployments.runner import EntrypointType, RunnerDeployment
from prefect.events.actions import ChangeFlowRunState, RunDeployment
from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture
from prefect.events.schemas.events import ResourceSpecification
from prefect.exceptions import ObjectAlreadyExists
from prefect.schedules import Cron

from tasks.runs import END_NAMES, LIFECYCLE

log = logging.getLogger("passerelles.register")

POOL = "passerelles"
HEARTBEAT_SECONDS = 30  # PREFECT_FLOWS_HEARTBEAT_FREQUENCY of the workers' runs
SILENCE = timedelta(seconds=4 * HEARTBEAT_SECONDS)  # no heartbeat for that long: the run's worker died
# A run's state events are named after the state's *name* (`prefect.flow-run.Terminée`), not its type. Every name
# a run takes once it no longer runs on its process: Prefect's own, for every type but Pending and Running, and the
# end states of mission runs (tasks/runs.py). A name missing here makes the silence automation fire on a run that
# ended (issue 19: every finished mission run turned Crashed two minutes after « Terminée »).
PREFECT_STOPPED_NAMES = frozenset(
    {
        "Completed",
        "Failed",
        "Cancelled",
        "Crashed",
        "Paused",
        "Suspended",
        "Scheduled",
        "Resuming",
        "AwaitingRetry",
        "Late",
        "AwaitingConcurrencySlot",
    }
)
RUN_ENDS = frozenset(f"prefect.flow-run.{name}" for name in PREFECT_STOPPED_NAMES | END_NAMES)


def deployments(silence: timedelta = SILENCE) -> list[RunnerDeployment]:
    """Every deployment of passerelles (French descriptions: admins read them in the UI)."""
    from flows.admin import ADMIN_FLOWS, fee_reminders
    from flows.mission_lifecycle import mission_lifecycle
    from flows.monitoring import branch_dashboard, daily_digest, mission_reminders
    from flows.new_request import new_request
    from flows.outbox import send_mails_flow
    from flows.privacy import privacy_retention
    from flows.recovery import mission_run_cancelled, recover_mission_run, watch_mission_runs
    from flows.regional_report import regional_report
    from flows.request_mission import request_mission
    from flows.waves import diffusion_waves

    def deployment(flow: Any, name: str, **kw: Any) -> RunnerDeployment:
        return flow.to_deployment(name=name, entrypoint_type=EntrypointType.MODULE_PATH, **kw)

    return [
        deployment(
            mission_lifecycle,
            LIFECYCLE,
            description="Une mission, de l'analyse du besoin au bilan. Démarrée par request-mission.",
        ),
        deployment(
            request_mission,
            "request-mission",
            description="Ouvre une mission pour une association et démarre son suivi.",
        ),
        deployment(
            new_request,
            "new-request",
            description="Une demande d'association déposée sur le portail et confirmée : l'antenne l'accepte ou la "
            "décline. Démarrée par le portail.",
        ),
        deployment(
            regional_report,
            "regional-report",
            description="Rapport régional ou national sur une période, pour les admins.",
        ),
        deployment(branch_dashboard, "branch-dashboard", interval=timedelta(hours=1)),
        deployment(mission_reminders, "mission-reminders", schedule=Cron("0 8 * * *", timezone="Europe/Paris")),
        deployment(daily_digest, "daily-digest", schedule=Cron("30 7 * * *", timezone="Europe/Paris")),
        # No concurrency limit: a killed run would hold its slot for minutes; rows are claimed one by one
        # (FOR UPDATE SKIP LOCKED), so two sending runs at once send nothing twice.
        deployment(send_mails_flow, "send-mails", interval=timedelta(minutes=1)),
        deployment(diffusion_waves, "diffusion-waves", interval=timedelta(minutes=5)),
        deployment(recover_mission_run, "recover-mission-run"),
        deployment(mission_run_cancelled, "mission-run-cancelled"),
        deployment(
            watch_mission_runs,
            "watch-mission-runs",
            interval=timedelta(minutes=1),
            parameters={"stale_seconds": silence.total_seconds()},
        ),
        deployment(fee_reminders, "fee-reminders", schedule=Cron("0 9 * * 1", timezone="Europe/Paris")),
        deployment(
            privacy_retention,
            "privacy-retention",
            schedule=Cron("0 3 * * *", timezone="Europe/Paris"),
            description="Conservation des données personnelles (RGPD) : avertir, effacer, purger.",
        ),
        *(deployment(f, f.name, description=f.description, tags=["administration"]) for f in ADMIN_FLOWS),
    ]


def job_template() -> dict[str, Any]:
    """The process pool's base job template: Prefect's default, its `command` the warm launcher's client
    (deployments/warm.py) unless `PASSERELLES_WARM_LAUNCHER=false`. With a command set the worker skips its
    workspace supervisor; the launcher starts every run in its own session, so a run outlives its worker as it does
    under the supervisor (a run sharing the worker's process group died with it and was once not marked Crashed by
    the heartbeat automation, 2026-12-03). With the setting off the command stays empty: Prefect's own start."""
    from prefect.workers.process import ProcessWorker

    from deployments import warm
    from models.settings import get_settings

    template = ProcessWorker.get_default_base_job_template()
    if get_settings().warm_launcher:
        template["variables"]["properties"]["command"]["default"] = warm.command()
    return template


def ensure_pool(name: str = POOL) -> None:
    """Create the process work pool, or bring its job template up to date."""
    from prefect.client.schemas.actions import WorkPoolUpdate

    with get_client(sync_client=True) as client:
        try:
            client.create_work_pool(
                WorkPoolCreate(
                    name=name,
                    type="process",
                    base_job_template=job_template(),
                    description="Les workers de Passerelles & Compétences.",
                )
            )
        except ObjectAlreadyExists:
            client.update_work_pool(name, WorkPoolUpdate(base_job_template=job_template()))


def _mission_runs() -> dict[str, Any]:
    """Trigger filters for the runs of the mission-lifecycle flow."""
    return {
        "match": ResourceSpecification({"prefect.resource.id": "prefect.flow-run.*"}),
        "match_related": ResourceSpecification({"prefect.resource.role": "flow", "prefect.resource.name": LIFECYCLE}),
    }


def automations(ids: dict[str, UUID], silence: timedelta = SILENCE) -> list[AutomationCore]:
    """The automations, given the ids of the deployments they run; a run silent for `silence` has crashed."""

    def run(name: str) -> RunDeployment:
        parameters = {"flow_run": "{{ event.resource.id }}"}
        return RunDeployment(source="selected", deployment_id=ids[name], parameters=parameters)

    return [
        AutomationCore(
            name="passerelles : runs muets → Crashed",
            description="Un run qui n'envoie plus de battement de cœur (son worker est mort) est marqué Crashed.",
            trigger=EventTrigger(
                # Armed at Running too: a run killed before its first heartbeat (within a second of starting or
                # of resuming) would otherwise stay Running forever (seen from a clean clone's stack).
                after={"prefect.flow-run.heartbeat", "prefect.flow-run.Running"},
                expect={"prefect.flow-run.heartbeat", *RUN_ENDS},
                match=ResourceSpecification({"prefect.resource.id": "prefect.flow-run.*"}),
                for_each={"prefect.resource.id"},
                posture=Posture.Proactive,
                threshold=1,
                within=silence,
            ),
            actions=[
                # Never forced: the server then refuses to turn a run that already ended (Completed, Cancelled,
                # Crashed, Failed) Crashed, whatever the automation believed.
                ChangeFlowRunState(state=StateType.CRASHED, message="Plus de battement : worker perdu.")
            ],
        ),
        AutomationCore(
            name="passerelles : runs jamais démarrés → Crashed",
            description="Un run pris par un worker qui meurt avant de le lancer reste « Submitting » : il est marqué "
            "Crashed.",
            trigger=EventTrigger(
                after={"prefect.flow-run.Submitting", "prefect.flow-run.Pending"},
                expect={"prefect.flow-run.Running", "prefect.flow-run.Scheduled", *RUN_ENDS},
                match=ResourceSpecification({"prefect.resource.id": "prefect.flow-run.*"}),
                for_each={"prefect.resource.id"},
                posture=Posture.Proactive,
                threshold=1,
                within=silence,
            ),
            actions=[ChangeFlowRunState(state=StateType.CRASHED, message="Jamais démarré : worker perdu.")],
        ),
        AutomationCore(
            name="passerelles : relancer un run de mission planté",
            description="Un run de mission Crashed ou Failed est relancé (il rejoue sans rien refaire), 5 fois "
            "au plus.",
            trigger=EventTrigger(
                expect={"prefect.flow-run.Crashed", "prefect.flow-run.Failed"},
                posture=Posture.Reactive,
                threshold=1,
                **_mission_runs(),
            ),
            actions=[run("recover-mission-run/recover-mission-run")],
        ),
        AutomationCore(
            name="passerelles : run de mission annulé → mission annulée",
            description="Annuler le run d'une mission dans l'interface annule la mission ; les parties sont prévenues.",
            trigger=EventTrigger(
                expect={"prefect.flow-run.Cancelled"}, posture=Posture.Reactive, threshold=1, **_mission_runs()
            ),
            actions=[run("mission-run-cancelled/mission-run-cancelled")],
        ),
    ]


def register(pool: str = POOL, *, silence: timedelta = SILENCE) -> dict[str, UUID]:
    """Create or update the pool, the deployments and the automations; the deployments' ids by full name."""
    ensure_pool(pool)
    ids: dict[str, UUID] = {}
    for d in deployments(silence):
        # Called outside any event loop: `apply` dispatches to its sync implementation and returns the id.
        ids[f"{d.flow_name}/{d.name}"] = cast(UUID, d.apply(work_pool_name=pool))
    with get_client(sync_client=True) as client:
        for automation in automations(ids, silence):
            for existing in client.read_automations_by_name(automation.name):
                client.delete_automation(existing.id)
            client.create_automation(automation)
    log.info("registered %d deployments on pool %s", len(ids), pool)
    return ids
