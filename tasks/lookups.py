"""Finding what a person names: a mission by id or reference, a volunteer, a Passerelle, an association;
StepRefused, in French, names what was not found."""

from __future__ import annotations

import difflib
import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Association, Coordinator, Mission, Volunteer
from models.refusals import StepRefused
from models.text import fold

_VOLUNTEER_NO = re.compile(r"^V-?(\d+)$", re.IGNORECASE)


def get_mission(session: Session, mission_id: int, *, lock: bool = False) -> Mission:
    """The mission, or StepRefused when there is none."""
    mission = session.get(Mission, mission_id, with_for_update=lock)
    if mission is None:
        raise StepRefused(f"Mission inconnue : n° {mission_id}.")
    return mission


def find_mission(session: Session, reference: str) -> Mission:
    """The mission with this reference (`STR-2026-014`), or StepRefused."""
    mission = session.scalar(select(Mission).where(Mission.reference == reference.strip().upper()))
    if mission is None:
        raise StepRefused(f"Aucune mission n'a la référence « {reference} ».")
    return mission


def find_volunteer(session: Session, ref: str) -> Volunteer:
    """A volunteer by number (`V-0042`, `42`), e-mail (any case) or full name (any case, any accents, when only
    one volunteer has it); StepRefused names what was not found."""
    ref = ref.strip()
    m = _VOLUNTEER_NO.match(ref) or re.match(r"^(\d+)$", ref)
    if m:
        volunteer = session.get(Volunteer, int(m.group(1)))
    elif "@" in ref:
        volunteer = session.scalar(select(Volunteer).where(Volunteer.email == ref.lower()))
    elif fold(ref):
        namesakes = list(session.scalars(select(Volunteer).where(Volunteer.name_key == fold(ref)).limit(5)))
        if len(namesakes) > 1:
            labels = ", ".join(f"{v.label} ({v.email})" for v in namesakes)
            raise StepRefused(f"Plusieurs bénévoles s'appellent « {ref} » : {labels}. Indiquez le numéro ou l'e-mail.")
        volunteer = namesakes[0] if namesakes else None
    else:
        raise StepRefused(f"« {ref} » n'est ni un numéro de bénévole (V-0042), ni une adresse e-mail, ni un nom.")
    if volunteer is None:
        raise StepRefused(f"Bénévole inconnu : « {ref} ».")
    return volunteer


def find_coordinator(session: Session, ref: str) -> Coordinator:
    """A coordinator by e-mail (any case) or number (`C-3`, `3`); StepRefused otherwise."""
    ref = ref.strip()
    m = re.match(r"^C?-?(\d+)$", ref, re.IGNORECASE)
    if m:
        coordinator = session.get(Coordinator, int(m.group(1)))
    else:
        coordinator = session.scalar(select(Coordinator).where(func.lower(Coordinator.email) == ref.lower()))
    if coordinator is None or not coordinator.active:
        raise StepRefused(f"Passerelle inconnue ou inactive : « {ref} ».")
    return coordinator


def find_association(session: Session, name: str) -> Association:
    """An association by name, whatever the case and accents; StepRefused with close names otherwise."""
    association = session.scalar(select(Association).where(Association.name_key == fold(name)))
    if association is None:
        names = {a.name_key: a.name for a in session.scalars(select(Association))}
        close = [names[k] for k in difflib.get_close_matches(fold(name), list(names), n=3)]
        hint = f" Vouliez-vous dire : {', '.join(close)} ?" if close else ""
        raise StepRefused(f"Association inconnue : « {name} ».{hint}")
    return association
