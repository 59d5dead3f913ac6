"""Step 4, applications: the Passerelle records the applications that came by mail or phone, then waits, sends the
next diffusion wave now, widens the diffusion nationally, stops the scheduled waves, or moves on to the selection;
she may invite suggested volunteers who have not applied (tasks/invitations.py: a personal mail with their link).
Each visit of the form is a round (`applications-<n>`). When a wave is due, the `diffusion-waves` deployment
answers this form itself (« Saisi par » : `SCHEDULER`), as the Passerelle would to send the next wave."""

from __future__ import annotations

import re
from enum import StrEnum

from prefect.input import RunInput
from pydantic import Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Application, ApplicationStatus, Channel, Mission, MissionStatus, Scope, Volunteer
from models.base import utcnow
from models.matching import Score
from models.mission_steps import CHANNEL_LABELS
from models.refusals import StepRefused
from models.waves import Wave, next_wave
from tasks import invitations
from tasks.lookups import find_volunteer
from tasks.matching import rank_applicants, suggest
from tasks.missions import record_application
from tasks.parties import as_text
from tasks.steps import diffusion
from tasks.steps.base import (
    CANCEL,
    Ctx,
    Outcome,
    Prefill,
    Step,
    entered_by,
    entered_by_field,
    reason_field,
    refuse_if,
)


class Decision(StrEnum):
    """What the Passerelle decides now."""

    SELECT = "passer à la sélection"
    WAIT = "attendre d'autres candidatures"
    NEXT_WAVE = "envoyer maintenant la vague de diffusion suivante"
    WIDEN = "élargir la diffusion au national"
    STOP_WAVES = "arrêter les vagues de diffusion programmées"
    CANCEL = CANCEL


SCHEDULER = "Diffusion programmée (automatique)"  # « Saisi par » of the answers of flows/waves.py


class ApplicationsForm(RunInput):
    """Applications received, and what to do next."""

    applications: str = Field(
        default="",
        title="Nouvelles candidatures",
        description="Une par ligne : le numéro du bénévole (V-0042) ou son e-mail, si besoin « via V-0012 » (le "
        "relais par qui il a connu l'annonce), puis si besoin « : message ».",
    )
    invite: list[str] = Field(
        default_factory=list,
        title="Bénévoles à inviter",
        description="Parmi les bénévoles suggérés (qui n'ont pas encore candidaté) : chacun reçoit un mail personnel "
        "avec son lien pour candidater en un clic. Personne n'est invité deux fois.",
    )
    decision: Decision = Field(default=Decision.WAIT, title="Suite", description="Ce que vous décidez maintenant.")
    cancel_reason: str = reason_field()
    entered_by: str = entered_by_field()


def parse(text: str) -> list[tuple[str, str]]:
    """(volunteer reference, message) per non-empty line; e-mail addresses hold no colon."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return [(ref.strip(), message.strip()) for ref, _, message in (line.partition(":") for line in lines)]


def split_relay(ref: str) -> tuple[str, str]:
    """`V-0042 via V-0012` → (`V-0042`, `V-0012`); no relay → (ref, "")."""
    head, *relay = re.split(r"\s+via\s+", ref.strip(), maxsplit=1, flags=re.IGNORECASE)
    return head.strip(), relay[0].strip() if relay else ""


def check(
    a: ApplicationsForm, *, not_found: list[str], reached: Wave | None, following: Wave | None, applications: int
) -> list[str]:
    """Reasons to refuse the form (pure): unknown or archived volunteers (all or nothing), widening a national
    annonce, a next wave when none is left, the scheduler's name on anything but a next wave, selecting with no
    application at all."""
    errors = list(not_found)
    if a.decision is Decision.WIDEN and reached is Wave.NATIONAL:
        errors.append("L'annonce est déjà diffusée au niveau national.")
    if a.decision is Decision.NEXT_WAVE and following is None:
        errors.append(
            "L'annonce a déjà été envoyée à toutes ses vagues"
            + (
                "."
                if reached is Wave.NATIONAL
                else " : pour aller au-delà de l'antenne, choisissez « élargir la diffusion au national »."
            )
        )
    invites = [x for x in a.invite if x.strip()]
    if entered_by(a.entered_by) == SCHEDULER and (
        a.decision is not Decision.NEXT_WAVE or parse(a.applications) or invites
    ):
        errors.append(f"« {SCHEDULER} » n'envoie que la vague suivante : choisissez votre nom dans « Saisi par ».")
    if errors:
        return [*errors, "Aucune candidature ni invitation de ce formulaire n'a été enregistrée."]
    if a.decision is Decision.SELECT and not applications:
        return ["Aucune candidature n'est enregistrée : impossible de passer à la sélection."]
    return []


def apply(session: Session, mission: Mission, a: ApplicationsForm, ctx: Ctx) -> Outcome:
    """Record the applications typed in the form (all or none), then follow the decision."""
    found: list[tuple[Volunteer, str, Volunteer | None]] = []
    not_found = []
    for line, message in parse(a.applications):
        ref, relay_ref = split_relay(line)
        try:
            volunteer = find_volunteer(session, ref)
            if volunteer.archived_at is not None:
                raise StepRefused(f"{volunteer.label} est archivé(e).")
            relay = find_volunteer(session, relay_ref) if relay_ref else None
            if relay is not None and relay.id == volunteer.id:
                raise StepRefused(f"{volunteer.label} ne peut pas être son propre relais.")
            found.append((volunteer, message, relay))
        except StepRefused as exc:
            not_found.append(str(exc))
    existing = session.scalar(  # an application still open (not one withdrawn, nor one already decided)
        select(Application.id)
        .where(Application.mission_id == mission.id, Application.status == ApplicationStatus.RECEIVED)
        .limit(1)
    )
    following = next_wave(mission.wave, mission.scope is Scope.NATIONAL)
    applications = len(found) + bool(existing)
    typed = {v.id for v, _, _ in found}
    guests, barred = invitations.invitable(session, mission, a.invite)
    barred += [f"{v.label} est à la fois saisi(e) comme candidat(e) et invité(e)." for v in guests if v.id in typed]
    refuse_if(
        check(a, not_found=not_found + barred, reached=mission.wave, following=following, applications=applications)
    )
    for volunteer, message, relay in found:
        record_application(session, mission, volunteer, channel=Channel.FORM, message=message, relayed_by=relay)
    invitations.invite(session, mission, guests, step_key=ctx.key, actor=ctx.actor)
    rank_applicants(session, mission)
    if a.decision is Decision.SELECT:
        return Outcome.SELECT
    if a.decision is Decision.NEXT_WAVE:  # the diffusion step sends it (`then`)
        mission.wave = following
        return Outcome.WIDEN
    if a.decision is Decision.WIDEN:
        mission.scope, mission.wave = Scope.NATIONAL, Wave.NATIONAL
        return Outcome.WIDEN
    if a.decision is Decision.STOP_WAVES and mission.waves_stopped_at is None:
        mission.waves_stopped_at = utcnow()
    return Outcome.WAIT


def _people(session: Session, scores: list[Score]) -> dict[int, Volunteer]:
    ids = [s.volunteer_id for s in scores]
    return {v.id: v for v in session.scalars(select(Volunteer).where(Volunteer.id.in_(ids)))}


def applicants_table(session: Session, mission: Mission) -> str:
    """The ranked applicants with their score breakdown (markdown), scores stored on the applications."""
    scores = rank_applicants(session, mission)
    if not scores:
        return "_Aucune candidature enregistrée pour l'instant._\n"
    people = _people(session, scores)
    apps = {a.volunteer_id: a for a in session.scalars(select(Application).where(Application.mission_id == mission.id))}
    keys = list(scores[0].breakdown)
    lines = [
        "| Rang | Candidat | Score | " + " | ".join(k.capitalize() for k in keys) + " | Canal | Message |",
        "|---|---|---|" + "---|" * len(keys) + "---|---|",
    ]
    relays = {a.relayed_by_id for a in apps.values() if a.relayed_by_id is not None}
    relay_names = {v.id: v.label for v in session.scalars(select(Volunteer).where(Volunteer.id.in_(relays)))}
    for i, s in enumerate(scores, 1):
        app = apps[s.volunteer_id]
        via = f" ({relay_names[app.relayed_by_id]})" if app.relayed_by_id in relay_names else ""
        lines.append(
            f"| {i} | {people[s.volunteer_id].label} | **{s.total:g}** | "
            + " | ".join(f"{s.breakdown[k]:g}" for k in keys)
            + f" | {CHANNEL_LABELS[app.channel]}{via} | {as_text(app.message[:80]).replace('|', '/')} |"
        )
    return "\n### Candidats classés\n\n" + "\n".join(lines) + "\n"


def _suggestions(session: Session, mission: Mission) -> tuple[str, list[str]]:
    """The suggested volunteers as a section (whether each was invited already), and as the choices of « invite »."""
    scores = suggest(session, mission)
    if not scores:
        return "", []
    people = _people(session, scores)
    invited = {s.volunteer_id for s in scores if invitations.was_invited(session, mission.id, s.volunteer_id)}
    rows = [
        f"| {people[s.volunteer_id].label} | {s.total:g} | {people[s.volunteer_id].email} | "
        f"{'oui' if s.volunteer_id in invited else 'non'} |"
        for s in scores
    ]
    section = (
        "\n### Bénévoles à solliciter (n'ont pas encore candidaté)\n\n"
        "Pour inviter l'un d'eux à candidater, choisissez-le dans « Bénévoles à inviter ».\n\n"
        "| Bénévole | Score | E-mail | Invité(e) |\n|---|---|---|---|\n" + "\n".join(rows) + "\n"
    )
    choices = [
        invitations.choice_label(people[s.volunteer_id], s.total) for s in scores if s.volunteer_id not in invited
    ]
    return section, choices


def prefill(session: Session, mission: Mission, n: int) -> Prefill:
    """The ranked applicants so far, and strong volunteers who have not applied (where the diffusion waves stand
    is on the card, below)."""
    received = session.scalar(
        select(func.count())
        .select_from(Application)
        .where(Application.mission_id == mission.id, Application.status == ApplicationStatus.RECEIVED)
    )
    enough = (received or 0) >= mission.volunteers_needed
    section, choices = _suggestions(session, mission)
    return Prefill(
        section=applicants_table(session, mission) + section,
        defaults={"decision": Decision.SELECT.value} if enough else {},  # as shown: on to the selection
        choices={"invite": choices},  # nobody invited by default
    )


STEP = Step(
    key="applications",
    label="Candidatures",
    instructions="Saisissez les candidatures reçues par mail ou par téléphone, puis attendez (les vagues de "
    "diffusion partent d'elles-mêmes), envoyez tout de suite la vague suivante, élargissez au national, arrêtez les "
    "vagues, ou passez à la sélection.",
    next_action="relancer, envoyer la vague suivante ou passer à la sélection",
    service_level=21,
    status=MissionStatus.PUBLISHED,
    form=ApplicationsForm,
    round_key="applications",
    repeat_on=frozenset({Outcome.WAIT, Outcome.WIDEN}),
    then={Outcome.WIDEN: diffusion.STEP.key},
    prefill=prefill,
    apply=apply,
    answered_by=(SCHEDULER,),
)
