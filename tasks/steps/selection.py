"""Step 5, selection: the Passerelle retains one or more applicants (as many as the mission needs, or says why
not); the others are in reserve until the search closes at the roadmap, each able to ask, by a link in their mail,
for priority in the mission's domain (the Passerelle can set it too).

After a retained volunteer withdrew, the selection is asked again for the empty place: from the reserve (and,
once the search has closed, from those it thanked), without a new diffusion; or the mission goes on with the
volunteers still retained; or the search starts again from the applications."""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date, datetime
from enum import StrEnum

from prefect.input import RunInput
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Application, ApplicationStatus, Mission, MissionStatus, PriorityFlag, Volunteer
from models.base import utcnow
from models.rules import MissionSnapshot
from tasks import notices
from tasks.missions import advance
from tasks.steps.applications import applicants_table
from tasks.steps.base import CANCEL, Ctx, Outcome, Prefill, Step, entered_by_field, reason_field, refuse_if


class Decision(StrEnum):
    """Validate the selection, go on with who is retained, search again, or cancel the mission."""

    VALIDATE = "valider la sélection"
    KEEP = "poursuivre avec les bénévoles déjà retenus"
    REOPEN = "reprendre la recherche (nouvelles candidatures, diffusion)"
    CANCEL = CANCEL


PICKABLE = (ApplicationStatus.RECEIVED, ApplicationStatus.RESERVE, ApplicationStatus.CLOSED)


class SelectionForm(RunInput):
    """Who is retained, and who, not retained, still wants a mission."""

    selected: list[str] = Field(title="Bénévoles retenus", description="Parmi les candidats classés ci-dessus.")
    wants_other: list[str] = Field(
        default_factory=list,
        title="Non retenus souhaitant une autre mission",
        description="Ils deviennent prioritaires dans le domaine de la mission.",
    )
    count_reason: str = Field(
        default="",
        title="Si le nombre de bénévoles diffère de celui prévu",
        description="Pourquoi vous en retenez moins (ou plus) que prévu à l'analyse : c'est votre confirmation.",
    )
    decision: Decision = Field(
        default=Decision.VALIDATE,
        title="Décision",
        description="Valider la sélection ; après un désistement, poursuivre avec les bénévoles déjà retenus ou "
        "reprendre la recherche ; ou annuler la mission.",
    )
    cancel_reason: str = reason_field()
    entered_by: str = entered_by_field()


_LABEL_ID = re.compile(r"^\s*V-?(\d+)\b")


def volunteer_ids(labels: list[str]) -> tuple[list[int], list[str]]:
    """The volunteer numbers of form labels (`V-0042 Alice Martin`), and the labels that name none."""
    ids, bad = [], []
    for label in labels:
        m = _LABEL_ID.match(label)
        if m:
            ids.append(int(m.group(1)))
        else:
            bad.append(f"« {label} » ne désigne pas un bénévole (attendu : V-0042 Prénom Nom).")
    return ids, bad


def check(
    a: SelectionForm, *, applicants: Collection[int], retained: Collection[int] = (), needed: int = 1
) -> list[str]:
    """Reasons to refuse the selection (pure): nobody retained, a non-applicant named, someone both retained and
    not retained, a count other than the one planned without a reason."""
    selected, bad = volunteer_ids(a.selected)
    wants_other, bad_other = volunteer_ids(a.wants_other)
    errors = bad + bad_other
    if a.decision is Decision.REOPEN:
        return errors
    if a.decision is Decision.KEEP:
        selected = []
        if not retained:
            errors.append("Aucun bénévole n'est encore retenu : retenez-en au moins un, ou reprenez la recherche.")
    elif not selected and not bad:
        errors.append("Retenez au moins un bénévole.")
    errors += [
        f"V-{vid:04d} n'a pas candidaté à cette mission."
        for vid in dict.fromkeys(selected + wants_other)
        if vid not in applicants
    ]
    both = sorted(set(selected) & set(wants_other))
    if both:
        errors.append(
            "Un bénévole retenu ne peut pas être aussi « non retenu » : " + ", ".join(f"V-{v:04d}" for v in both) + "."
        )
    total = len(set(selected) | set(retained))
    if total and total != needed and not a.count_reason.strip():
        errors.append(
            f"La mission prévoit {needed} bénévole(s) et vous en retenez {total} : confirmez en indiquant pourquoi "
            "dans « Si le nombre de bénévoles diffère de celui prévu »."
        )
    return errors


def retained_ids(session: Session, mission: Mission) -> list[int]:
    """The volunteers retained on the mission now."""
    return list(
        session.scalars(
            select(Application.volunteer_id).where(
                Application.mission_id == mission.id, Application.status == ApplicationStatus.SELECTED
            )
        )
    )


def prefill(session: Session, mission: Mission, n: int) -> Prefill:
    """The ranked candidates as choices (the reserve after a withdrawal), the best ones retained by default for
    the places still empty; submitted as shown, the form is accepted (a short count says why)."""
    ranked = list(
        session.scalars(
            select(Volunteer)
            .join(Application, Application.volunteer_id == Volunteer.id)
            .where(Application.mission_id == mission.id, Application.status.in_(PICKABLE))
            .order_by(Application.score.desc().nulls_last(), Volunteer.id)
        )
    )
    labels = [v.label for v in ranked]
    kept = retained_ids(session, mission)
    places = max(mission.volunteers_needed - len(kept), 0)
    picked = labels[:places]
    defaults: dict[str, object] = {"selected": picked}
    if len(kept) + len(picked) != mission.volunteers_needed:
        defaults["count_reason"] = (
            f"{len(labels)} candidat(s) disponible(s) pour {places} place(s) à pourvoir." if kept or picked else ""
        )
    if not picked:
        defaults["decision"] = (Decision.KEEP if kept else Decision.REOPEN).value
    section = applicants_table(session, mission)
    if kept:
        names = ", ".join(f"V-{vid:04d}" for vid in kept)
        section = f"\n**Déjà retenu(s)** : {names} ({places} place(s) à pourvoir).\n" + section
    return Prefill(defaults=defaults, choices={"selected": labels, "wants_other": labels}, section=section)


def apply(session: Session, mission: Mission, a: SelectionForm, ctx: Ctx) -> Outcome:
    """Retain applicants; the others are in reserve (told so, with their link to ask for priority); flag those
    who want another mission as priority in the domain. Or go on with who is retained, or search again."""
    apps = {x.volunteer_id: x for x in session.scalars(select(Application).where(Application.mission_id == mission.id))}
    kept = retained_ids(session, mission)
    pickable = {vid for vid, app in apps.items() if app.status in PICKABLE}
    refuse_if(check(a, applicants=pickable, retained=kept, needed=mission.volunteers_needed))
    if a.decision is Decision.REOPEN:
        for app in apps.values():
            if app.status is ApplicationStatus.RESERVE:
                app.status, app.decided_at = ApplicationStatus.RECEIVED, None
        return Outcome.REOPEN  # the audit event of this answer carries it: the applications again
    selected = [] if a.decision is Decision.KEEP else volunteer_ids(a.selected)[0]
    wants_other, _ = volunteer_ids(a.wants_other)
    now = utcnow()
    reserve = []
    for vid, app in apps.items():
        if vid in selected:
            app.status, app.decided_at = ApplicationStatus.SELECTED, now
        elif app.status is ApplicationStatus.RECEIVED:
            app.status, app.decided_at = ApplicationStatus.RESERVE, now
            reserve.append(vid)
        if vid in wants_other:
            app.wants_other_mission = True
    for vid in selected:
        clear_priority(session, vid, mission, now)
    for vid in wants_other:
        set_priority(session, vid, mission, now)
    advance(
        session,
        mission,
        MissionStatus.SELECTED,
        actor=ctx.actor,
        step_key=ctx.key,
        action=STEP.key,
        details={
            "selected": selected,
            "kept": kept,
            "priority": wants_other,
            "count_reason": a.count_reason.strip()[:300],
        },
    )
    session.flush()
    notices.selection(
        session, mission, chosen=selected, reserve=reserve, occasion="" if ctx.asked == STEP.key else ctx.asked
    )
    return Outcome.CONTINUE


def set_priority(session: Session, volunteer_id: int, mission: Mission, now: datetime) -> None:
    """The volunteer, not retained, wants another mission: priority in the mission's domain (the seed's rule)."""
    assert mission.domain_id is not None  # set at the needs analysis
    existing = session.scalar(
        select(PriorityFlag).where(
            PriorityFlag.volunteer_id == volunteer_id, PriorityFlag.domain_id == mission.domain_id
        )
    )
    if existing is None:
        session.add(
            PriorityFlag(
                volunteer_id=volunteer_id, domain_id=mission.domain_id, since=now, source_mission_id=mission.id
            )
        )
    elif existing.cleared_at is not None or existing.source_mission_id != mission.id:
        existing.since, existing.source_mission_id = now, mission.id
        existing.cleared_at, existing.cleared_by_mission_id = None, None


def clear_priority(session: Session, volunteer_id: int, mission: Mission, now: datetime) -> None:
    """A retained volunteer's priority in the domain is spent."""
    for flag in session.scalars(
        select(PriorityFlag).where(
            PriorityFlag.volunteer_id == volunteer_id,
            PriorityFlag.domain_id == mission.domain_id,
            PriorityFlag.cleared_at.is_(None),
        )
    ):
        flag.cleared_at, flag.cleared_by_mission_id = now, mission.id


def asked_since(snapshot: MissionSnapshot) -> date | None:
    """The mission waits for its selection from the moment the Passerelle asked for it."""
    return snapshot.selection_asked_on


STEP = Step(
    key="selection",
    label="Sélection",
    instructions="Retenez autant de candidats que la mission en prévoit (ou dites pourquoi) ; les autres sont en "
    "réserve jusqu'à la feuille de route et peuvent demander, par le lien de leur mail, à être prioritaires dans le "
    "domaine (vous pouvez aussi les indiquer).",
    next_action="retenir un ou plusieurs candidats",
    service_level=7,
    status=MissionStatus.PUBLISHED,
    form=SelectionForm,
    prefill=prefill,
    apply=apply,
    since=asked_since,
    back={Outcome.REOPEN: "applications"},
)
