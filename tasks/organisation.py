"""The organisation's own data, managed without SQL: branches, the team, associations, who follows which mission.

Plain functions over a session (the caller owns the transaction); every refusal is a StepRefused in French, raised
before anything is written. The CLI (`deployments/organisation_cli.py`) and the admin flows (`flows/admin.py`) call
these and nothing else.
"""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import AuditEvent, Branch, ConsentKind, ConsentSource, Coordinator, Mission, MissionStatus, Role, checks
from models.association import Association
from models.base import utcnow
from models.org import ROLE_LABELS
from models.refusals import StepRefused
from models.rules import fees_for_budget
from models.text import fold
from models.volunteer import AVAILABILITY_LABELS, Availability
from tasks import identity, notices, outbox
from tasks.consents import CONSENT_LABELS, log_change, set_consent
from tasks.lookups import find_association, find_coordinator, find_mission, find_volunteer
from tasks.missions import audit, current_brackets

BRANCH_CODE = re.compile(r"^[A-Z]{2,5}$")
# Roles that follow missions; support team and admins may be national (no branch).
MISSION_ROLES = (Role.PASSERELLE, Role.BRANCH_LEAD)
ROLE_BY_LABEL = {fold(label): role for role, label in ROLE_LABELS.items()} | {role.value: role for role in Role}


def parse_role(value: str) -> Role:
    """A role by its French label (« Passerelle », « responsable d'antenne »...) or code; StepRefused otherwise."""
    role = ROLE_BY_LABEL.get(fold(value).replace(" ", "_")) or ROLE_BY_LABEL.get(fold(value))
    if role is None:
        choices = ", ".join(f"« {label} »" for label in ROLE_LABELS.values())
        raise StepRefused(f"Rôle inconnu : « {value} ». Rôles possibles : {choices}.")
    return role


def _required(value: str, what: str) -> str:
    if not value or not value.strip():
        raise StepRefused(f"{what} est obligatoire.")
    return " ".join(value.split())


# What an edit changed: the field's French name -> (before, after), as shown and audited.
Changes = dict[str, tuple[object, object]]


def _reason(reason: str) -> str:
    """Why an edit is made: required, it is kept with who made it (`audit_edit`)."""
    if not reason or not reason.strip():
        raise StepRefused("Indiquez le motif de la modification : il est gardé avec elle, avec votre nom.")
    return " ".join(reason.split())


def _set(row: object, attribute: str, value: object, label: str, changes: Changes) -> None:
    """Write `value` to `row.attribute` and note the change (nothing when it is the same)."""
    before = getattr(row, attribute)
    if before != value:
        changes[label] = (before, value)
        setattr(row, attribute, value)


def shown(value: object) -> str:
    """A value of an edit as a person reads it: dates JJ/MM/AAAA, nothing as « (vide) »."""
    if isinstance(value, date):
        return f"{value:%d/%m/%Y}"
    return str(value) if value not in (None, "") else "(vide)"


def describe(changes: Changes) -> str:
    """`budget annuel : 12000 → 24000 ; ville : (vide) → Colmar`."""
    return " ; ".join(f"{label} : {shown(old)} → {shown(new)}" for label, (old, new) in changes.items())


def audit_edit(session: Session, *, actor: str, event: str, target: str, changes: Changes, reason: str) -> None:
    """Who corrected the organisation's data, what and why: a line of the access log, where every write of the team
    is (`tasks/identity.log`: who, when, `event`, `target`, the changes and the motif in `detail`). StepRefused
    when nothing changes (what was typed is what is stored already)."""
    if not changes:
        raise StepRefused("Rien de changé : ce qui est indiqué est déjà enregistré.")
    label, who = identity.resolve_actor(session, actor)
    identity.log_edit(session, who, label, event=event, target=target, detail=f"{describe(changes)} — motif : {reason}")


def _lead_warning(session: Session, branch: Branch, member_id: int | None = None) -> str | None:
    """The warning when `branch` already has another active lead (models/checks.second_branch_lead)."""
    leads = session.scalars(
        select(Coordinator).where(
            Coordinator.branch_id == branch.id, Coordinator.role == Role.BRANCH_LEAD, Coordinator.active.is_(True)
        )
    )
    return checks.second_branch_lead(branch.name, [c.full_name for c in leads if c.id != member_id])


def find_branch(session: Session, ref: str) -> Branch:
    """A branch by code (`STR`) or name (any case, any accents); StepRefused listing the branches otherwise."""
    branches = list(session.scalars(select(Branch).order_by(Branch.code)))
    key = fold(ref)
    for branch in branches:
        if branch.code.lower() == key or fold(branch.name) == key:
            return branch
    known = ", ".join(f"{b.code} ({b.name})" for b in branches) or "aucune : créez-en une (passerelles antenne créer)"
    raise StepRefused(f"Antenne inconnue : « {ref} ». Antennes : {known}.")


def create_branch(session: Session, *, code: str, name: str, region: str, founded_on: date | None = None) -> Branch:
    """A new branch; its code (2 to 5 letters) prefixes its missions' references (`STR-2026-014`)."""
    code = code.strip().upper()
    if not BRANCH_CODE.match(code):
        raise StepRefused(f"Code d'antenne invalide « {code} » : 2 à 5 lettres sans accent, par exemple STR.")
    name = _required(name, "Le nom de l'antenne")
    region = _required(region, "La région")
    if founded_on is not None:
        checks.check_founding_date(founded_on, today=utcnow().date())
    for other in session.scalars(select(Branch)):
        if other.code == code:
            raise StepRefused(f"Le code {code} est déjà celui de l'antenne {other.name}.")
        if fold(other.name) == fold(name):
            raise StepRefused(f"L'antenne « {other.name} » existe déjà (code {other.code}).")
    branch = Branch(code=code, name=name, region=region, founded_on=founded_on)
    session.add(branch)
    session.flush()
    return branch


def update_branch(
    session: Session,
    ref: str,
    *,
    name: str = "",
    region: str = "",
    founded_on: date | None = None,
    reason: str,
    actor: str,
) -> tuple[Branch, Changes]:
    """Rename a branch, change its region or correct its founding date (not in the future); its code stays (it is in
    every reference already given). Audited with who and why (`audit_edit`)."""
    branch = find_branch(session, ref)
    if not name.strip() and not region.strip() and founded_on is None:
        raise StepRefused(
            "Rien à modifier : indiquez un nouveau nom, une nouvelle région ou la date de création de l'antenne."
        )
    reason = _reason(reason)
    changes: Changes = {}
    if name.strip():
        clash = [b for b in session.scalars(select(Branch).where(Branch.id != branch.id)) if fold(b.name) == fold(name)]
        if clash:
            raise StepRefused(f"L'antenne « {clash[0].name} » porte déjà ce nom.")
        _set(branch, "name", " ".join(name.split()), "nom", changes)
    if region.strip():
        _set(branch, "region", " ".join(region.split()), "région", changes)
    if founded_on is not None:
        checks.check_founding_date(founded_on, today=utcnow().date())
        _set(branch, "founded_on", founded_on, "date de création", changes)
    audit_edit(
        session, actor=actor, event="branch_updated", target=f"antenne {branch.code}", changes=changes, reason=reason
    )
    return branch, changes


def add_coordinator(
    session: Session,
    *,
    first_name: str,
    last_name: str,
    email: str,
    role: Role,
    branch: str = "",
    confirmed: bool = False,
) -> Coordinator:
    """A new member of the team. Passerelles and branch leads belong to a branch; support and admins may not. A
    second lead of a branch needs `confirmed` (ConfirmationNeeded otherwise)."""
    first_name = _required(first_name, "Le prénom")
    last_name = _required(last_name, "Le nom")
    address = checks.check_email(email)
    home = find_branch(session, branch) if branch.strip() else None
    if home is None and role in MISSION_ROLES:
        raise StepRefused(f"Un(e) {ROLE_LABELS[role]} est rattaché(e) à une antenne : indiquez laquelle.")
    existing = session.scalar(select(Coordinator).where(func.lower(Coordinator.email) == address.lower()))
    if existing is not None:
        state = "" if existing.active else " (désactivé(e) : réactivez ce compte plutôt)"
        raise StepRefused(f"L'adresse {existing.email} est déjà celle de {existing.full_name}{state}.")
    if role is Role.BRANCH_LEAD and home is not None:
        checks.require_confirmation([_lead_warning(session, home)], confirmed=confirmed)
    coordinator = Coordinator(
        first_name=first_name, last_name=last_name, email=address, role=role, branch_id=home.id if home else None
    )
    session.add(coordinator)
    session.flush()
    return coordinator


def _any_coordinator(session: Session, ref: str) -> Coordinator:
    """A coordinator by e-mail or number, active or not."""
    m = re.match(r"^C?-?(\d+)$", ref.strip(), re.IGNORECASE)
    if m:
        found = session.get(Coordinator, int(m.group(1)))
    else:
        found = session.scalar(select(Coordinator).where(func.lower(Coordinator.email) == ref.strip().lower()))
    if found is None:
        raise StepRefused(f"Membre de l'équipe inconnu : « {ref} » (e-mail ou numéro C-12).")
    return found


def change_coordinator(
    session: Session,
    ref: str,
    *,
    role: Role | None = None,
    branch: str = "",
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    confirmed: bool = False,
    reason: str,
    actor: str,
) -> tuple[Coordinator, Changes]:
    """Change a team member's role or branch, or correct their name or e-mail (the same member: their missions,
    audit and sign-in stay theirs). One who still follows open missions keeps a mission role. Making them a second
    lead of a branch needs `confirmed` (ConfirmationNeeded otherwise). A new address ends their sessions and the
    sign-in links mailed to the old one: they sign in again with the new one. Audited with who and why."""
    coordinator = _any_coordinator(session, ref)
    if role is None and not any(v.strip() for v in (branch, first_name, last_name, email)):
        raise StepRefused(
            "Rien à modifier : indiquez un nouveau rôle, une nouvelle antenne, un prénom, un nom ou une adresse e-mail."
        )
    reason = _reason(reason)
    address = checks.check_email(email) if email.strip() else coordinator.email
    if not checks.same_email(address, coordinator.email):
        other = session.scalar(
            select(Coordinator).where(
                func.lower(Coordinator.email) == address.lower(), Coordinator.id != coordinator.id
            )
        )
        if other is not None:
            state = "" if other.active else " (désactivé(e))"
            raise StepRefused(f"L'adresse {other.email} est déjà celle de {other.full_name}{state}.")
    new_role = role or coordinator.role
    new_branch = find_branch(session, branch) if branch.strip() else coordinator.branch
    open_ = open_missions(session, coordinator)
    if open_ and (new_role not in MISSION_ROLES or (new_branch and new_branch.id != coordinator.branch_id)):
        raise StepRefused(
            f"{coordinator.full_name} suit encore {len(open_)} mission(s) ouverte(s) "
            f"({', '.join(m.reference for m in open_)}) : réaffectez-les d'abord."
        )
    if new_branch is None and new_role in MISSION_ROLES:
        raise StepRefused(f"Un(e) {ROLE_LABELS[new_role]} est rattaché(e) à une antenne : indiquez laquelle.")
    becomes_lead = coordinator.role is not Role.BRANCH_LEAD or coordinator.branch_id != getattr(new_branch, "id", None)
    if new_role is Role.BRANCH_LEAD and new_branch is not None and becomes_lead:
        checks.require_confirmation([_lead_warning(session, new_branch, coordinator.id)], confirmed=confirmed)
    target = f"C-{coordinator.id}"
    changes: Changes = {}
    if first_name.strip():
        _set(coordinator, "first_name", _required(first_name, "Le prénom"), "prénom", changes)
    if last_name.strip():
        _set(coordinator, "last_name", _required(last_name, "Le nom"), "nom", changes)
    if address != coordinator.email:
        if not checks.same_email(address, coordinator.email):  # another mailbox: what the old one opened ends
            identity.end_sessions_of(session, coordinator.id)
            identity.void_links_of(session, coordinator.id)
        _set(coordinator, "email", address, "e-mail", changes)
    if new_role is not coordinator.role:
        changes["rôle"] = (ROLE_LABELS[coordinator.role], ROLE_LABELS[new_role])
        coordinator.role = new_role
    new_branch_id = new_branch.id if new_branch else None
    if new_branch_id != coordinator.branch_id:
        changes["antenne"] = (
            coordinator.branch.code if coordinator.branch else "national",
            new_branch.code if new_branch else "national",
        )
        coordinator.branch_id = new_branch_id
    audit_edit(session, actor=actor, event="member_updated", target=target, changes=changes, reason=reason)
    return coordinator, changes


def set_digest(session: Session, ref: str, *, on: bool) -> Coordinator:
    """Turn a team member's daily digest on or off (tasks/digest.py)."""
    coordinator = _any_coordinator(session, ref)
    coordinator.daily_digest = on
    return coordinator


def set_active(session: Session, ref: str, *, active: bool, reassign_to: str = "", actor: str) -> list[Mission]:
    """Deactivate (a leaving member: their open missions go to `reassign_to`) or reactivate a team member.
    Returns the missions reassigned."""
    coordinator = _any_coordinator(session, ref)
    if coordinator.active == active:
        raise StepRefused(f"{coordinator.full_name} est déjà {'actif/active' if active else 'désactivé(e)'}.")
    moved: list[Mission] = []
    if not active:
        identity.end_sessions_of(session, coordinator.id)  # signed out everywhere, at once
        open_ = open_missions(session, coordinator)
        if open_ and not reassign_to.strip():
            raise StepRefused(
                f"{coordinator.full_name} suit encore {len(open_)} mission(s) ouverte(s) "
                f"({', '.join(m.reference for m in open_)}) : indiquez à qui les confier."
            )
        if open_:
            moved = reassign(session, open_, to=reassign_to, actor=actor)
    coordinator.active = active
    return moved


def open_missions(session: Session, coordinator: Coordinator) -> list[Mission]:
    """The open missions a team member follows, oldest first."""
    open_statuses = [s for s in MissionStatus if s.is_open]
    return list(
        session.scalars(
            select(Mission)
            .where(Mission.coordinator_id == coordinator.id, Mission.status.in_(open_statuses))
            .order_by(Mission.id)
        )
    )


def reassign(session: Session, missions: list[Mission], *, to: str, actor: str) -> list[Mission]:
    """Give open missions to another Passerelle of their branch; audited per mission. The caller retags the runs
    (`tasks.runs.retag_runs`) after the commit; dashboards, reminders and mails read the mission's row."""
    target = find_coordinator(session, to)
    if target.role not in MISSION_ROLES:
        raise StepRefused(
            f"{target.full_name} est {ROLE_LABELS[target.role]} : seule une Passerelle ou un(e) "
            "responsable d'antenne suit une mission."
        )
    for mission in missions:
        if not mission.status.is_open:
            raise StepRefused(
                f"La mission {mission.reference} est « {mission.status.label} » : elle ne se réaffecte plus."
            )
        if mission.branch_id != target.branch_id:
            raise StepRefused(f"{target.full_name} n'est pas de l'antenne de la mission {mission.reference}.")
        if mission.coordinator_id == target.id:
            raise StepRefused(f"La mission {mission.reference} est déjà suivie par {target.full_name}.")
    for mission in missions:
        previous = mission.coordinator.full_name
        done = (
            session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.mission_id == mission.id, AuditEvent.action == "reassign")
            )
            or 0
        )
        mission.coordinator_id = target.id
        session.flush()
        session.refresh(mission, ["coordinator"])
        audit(
            session,
            mission,
            actor=actor,
            action="reassign",
            step_key=f"reassign-{done + 1}",
            details={"from": previous, "to": target.full_name},
        )
    return missions


def move_mission(session: Session, ref: str, *, branch: str, to: str = "", reason: str, actor: str) -> Mission:
    """Move an open mission to another branch (a new branch takes over a neighbour's mission), with a Passerelle of
    that branch (`to`; by default its only lead) and a reason; audited (`move-branch-<n>`, from → to) and the
    Passerelle who takes it told by mail, once. Its reference keeps its first branch's prefix (already given to the
    association). The caller retags the run (`tasks.runs.retag_runs`) after the commit."""
    mission = find_mission(session, ref)
    if not mission.status.is_open:
        raise StepRefused(
            f"La mission {mission.reference} est « {mission.status.label} » : elle ne change plus d'antenne."
        )
    target = find_branch(session, branch)
    if target.id == mission.branch_id:
        raise StepRefused(f"La mission {mission.reference} est déjà de l'antenne {target.code} ({target.name}).")
    why = " ".join(reason.split())
    if not why:
        raise StepRefused("Indiquez le motif du changement d'antenne : il reste dans l'historique de la mission.")
    if to.strip():
        taker = find_coordinator(session, to)
        if taker.role not in MISSION_ROLES or taker.branch_id != target.id:
            raise StepRefused(
                f"{taker.full_name} n'est pas Passerelle ou responsable de l'antenne {target.code} : "
                "la mission y est suivie par l'une d'elles."
            )
    else:
        leads = _followers(session, target, Role.BRANCH_LEAD)
        if len(leads) != 1:
            team = ", ".join(c.email for c in _followers(session, target)) or "personne : ajoutez-en une"
            raise StepRefused(f"Indiquez la Passerelle de {target.code} qui reprend la mission ({team}).")
        taker = leads[0]
    before = session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.mission_id == mission.id, AuditEvent.action == "move-branch")
    )
    step_key = f"move-branch-{(before or 0) + 1}"
    details = {
        "from_branch": mission.branch.code,
        "to_branch": target.code,
        "from": mission.coordinator.full_name,
        "to": taker.full_name,
        "reason": why,
    }
    mission.branch_id, mission.coordinator_id = target.id, taker.id
    session.flush()
    session.refresh(mission, ["branch", "coordinator"])
    audit(session, mission, actor=actor, action="move-branch", step_key=step_key, details=details)
    notices.mission_moved(session, mission, occasion=step_key, from_branch=details["from_branch"], reason=why)
    return mission


def _followers(session: Session, branch: Branch, *roles: Role) -> list[Coordinator]:
    """The active members of a branch who follow missions (of `roles`, by default Passerelles and leads)."""
    return list(
        session.scalars(
            select(Coordinator)
            .where(Coordinator.branch_id == branch.id, Coordinator.active.is_(True))
            .where(Coordinator.role.in_(roles or MISSION_ROLES))
            .order_by(Coordinator.id)
        )
    )


def _budget(session: Session, typed: str) -> int:
    """An annual budget as typed (`24 000 €`), in a bracket of the schedule in force; StepRefused otherwise."""
    budget = checks.parse_amount(typed, "Le budget annuel")
    try:
        fees_for_budget(budget, current_brackets(session, utcnow().date().year))
    except ValueError as exc:  # no bracket covers it
        raise StepRefused(str(exc)) from exc
    return budget


def _confirm_contact_email(session: Session, address: str, *, confirmed: bool, besides: int | None = None) -> None:
    """ConfirmationNeeded when `address` is already the contact of another association than `besides`."""
    query = select(Association.name, Association.contact_email).where(
        func.lower(Association.contact_email) == address.lower()
    )
    if besides is not None:
        query = query.where(Association.id != besides)
    others = [(n, e) for n, e in session.execute(query)]
    checks.require_confirmation([checks.duplicate_contact_email(address, others)], confirmed=confirmed)


def register_association(
    session: Session,
    *,
    name: str,
    branch: str,
    contact_name: str,
    contact_email: str,
    annual_budget: int | str,
    city: str = "",
    purpose: str = "",
    contact_phone: str = "",
    confirmed: bool = False,
) -> Association:
    """A new association of a branch; its annual budget (in euros, as typed: `24 000 €`) gives its fee bracket
    (refused when no schedule covers it). A contact e-mail another association uses needs `confirmed`."""
    name = _required(name, "Le nom de l'association")
    home = find_branch(session, branch)
    contact = _required(contact_name, "Le nom du contact")
    address = checks.check_email(contact_email)
    annual_budget = _budget(session, str(annual_budget))
    twin = session.scalar(select(Association).where(Association.name_key == fold(name)))
    if twin is not None:
        raise StepRefused(f"L'association « {twin.name} » est déjà enregistrée.")
    _confirm_contact_email(session, address, confirmed=confirmed)
    association = Association(
        branch_id=home.id,
        name=name,
        contact_name=contact,
        contact_email=address,
        annual_budget=annual_budget,
        city=" ".join(city.split()),
        purpose=purpose.strip(),
        contact_phone=contact_phone.strip(),
    )
    session.add(association)
    session.flush()
    return association


def update_association(
    session: Session,
    ref: str,
    *,
    contact_name: str = "",
    contact_email: str = "",
    annual_budget: str = "",
    city: str = "",
    confirmed: bool = False,
    reason: str,
    actor: str,
) -> tuple[Association, Changes]:
    """Correct an association's contact (name, e-mail), annual budget (as typed, `24 000 €`: it gives the fee
    bracket of the fees to come; those already due keep their amount) or city. A contact e-mail another association
    uses needs `confirmed`; the mails of its missions still waiting for the old address go to the new one. Audited
    with who and why."""
    association = find_association(session, ref)
    if not any(v.strip() for v in (contact_name, contact_email, annual_budget, city)):
        raise StepRefused("Rien à modifier : indiquez un contact, une adresse e-mail, un budget ou une ville.")
    reason = _reason(reason)
    changes: Changes = {}
    if contact_name.strip():
        _set(association, "contact_name", _required(contact_name, "Le nom du contact"), "contact", changes)
    if contact_email.strip():
        address = checks.check_email(contact_email)
        _confirm_contact_email(session, address, confirmed=confirmed, besides=association.id)
        missions = list(session.scalars(select(Mission.id).where(Mission.association_id == association.id)))
        outbox.readdress_pending(session, old=association.contact_email, new=address, mission_ids=missions)
        _set(association, "contact_email", address, "e-mail du contact", changes)
    if annual_budget.strip():
        _set(association, "annual_budget", _budget(session, annual_budget), "budget annuel", changes)
    if city.strip():
        _set(association, "city", " ".join(city.split()), "ville", changes)
    audit_edit(
        session,
        actor=actor,
        event="association_updated",
        target=f"association {association.id}",
        changes=changes,
        reason=reason,
    )
    return association, changes


def set_association_archived(session: Session, ref: str, *, archived: bool, reason: str, actor: str) -> Association:
    """Archive an association (no new mission for it; its missions, fees and history stay), refused while it has
    open missions; or reactivate it. Audited with who and why."""
    association = find_association(session, ref)
    if archived == (association.archived_at is not None):
        raise StepRefused(f"L'association « {association.name} » est déjà {'archivée' if archived else 'active'}.")
    reason = _reason(reason)
    if archived:
        open_statuses = [s for s in MissionStatus if s.is_open]
        open_ = session.scalars(
            select(Mission.reference)
            .where(Mission.association_id == association.id, Mission.status.in_(open_statuses))
            .order_by(Mission.id)
        ).all()
        if open_:
            raise StepRefused(
                f"L'association « {association.name} » a encore {len(open_)} mission(s) ouverte(s) "
                f"({', '.join(open_)}) : terminez-les ou annulez-les d'abord."
            )
    before = "archivée" if association.archived_at else "active"
    association.archived_at = utcnow() if archived else None
    audit_edit(
        session,
        actor=actor,
        event="association_archived" if archived else "association_reactivated",
        target=f"association {association.id}",
        changes={"état": (before, "archivée" if archived else "active")},
        reason=reason,
    )
    return association


def update_volunteer(
    session: Session,
    ref: str,
    *,
    availability: Availability | None = None,
    consent_announcements: bool | None = None,
    consent_national: bool | None = None,
    archive: bool | None = None,
    actor: str = "équipe",
) -> list[str]:
    """Change a volunteer's availability, consents, or archive / reactivate them; the changes, in French, kept in
    the volunteer's record with `actor` (who asked)."""
    volunteer = find_volunteer(session, ref)
    if all(v is None for v in (availability, consent_announcements, consent_national, archive)):
        raise StepRefused("Rien à modifier : indiquez une disponibilité, un consentement, ou archiver / réactiver.")
    changes = []
    if archive is not None and archive != (volunteer.archived_at is not None):
        volunteer.archived_at = utcnow() if archive else None
        changes.append("archivé(e)" if archive else "réactivé(e)")
    elif archive is not None:
        raise StepRefused(f"{volunteer.label} est déjà {'archivé(e)' if archive else 'actif/active'}.")
    if availability is not None and availability != volunteer.availability:
        volunteer.availability = availability
        changes.append(f"disponibilité : {AVAILABILITY_LABELS[availability].lower()}")
    for kind, value in ((ConsentKind.ANNOUNCEMENTS, consent_announcements), (ConsentKind.NATIONAL, consent_national)):
        if value is not None and set_consent(session, volunteer, kind, value, ConsentSource.FORM):
            changes.append(f"{CONSENT_LABELS[kind]} : {'oui' if value else 'non'}")
    log_change(session, volunteer, actor=actor, source=ConsentSource.FORM, changes=changes)
    return [f"{volunteer.label} : {', '.join(changes) or 'rien de changé'}"]
