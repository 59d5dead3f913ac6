"""The organisation's actions, one function each, with the French sentence that confirms it: the command line
(deployments/organisation_cli.py) and the Prefect UI's admin forms (flows/admin.py) are both thin adapters over
them, so an action says the same thing and checks the same rules wherever it is asked.

Each action takes a session (the adapter's transaction: a refusal, `StepRefused` in French, writes nothing) and
returns what it did; `perform` runs one in its own transaction, then, after the commit, retags the runs of the
missions it moved (no network call while their rows are locked).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from models import FeeStatus
from models.db import unit_of_work
from models.exports import csv_bytes
from models.files import FileKind
from models.org import ROLE_LABELS, Role
from models.refusals import StepRefused
from models.settings import get_settings
from models.volunteer import Availability
from tasks import diffusion, exports, fees, files, identity, links, organisation
from tasks.lookups import find_coordinator, find_mission, find_volunteer
from tasks.runs import retag_runs


@dataclass(frozen=True)
class Done:
    """What an action did: its French confirmation, and the missions whose run must be retagged."""

    message: str
    moved: tuple[int, ...] = ()
    url: str = ""  # a file it produced, at the sign-in gateway (an export)


def perform(action: Callable[[Session], Done]) -> Done:
    """Run one action in its own transaction (StepRefused propagates: nothing written), then retag the runs of
    the missions it moved; a Prefect server out of reach is said, not raised (the database is the record)."""
    with unit_of_work() as session:
        done = action(session)
    if done.moved:
        try:
            retag_runs(list(done.moved))
        except Exception as exc:
            note = f"Étiquettes des runs non mises à jour (serveur Prefect injoignable : {exc})."
            done = replace(done, message=f"{done.message}\n{note}")
    return done


def create_branch(session: Session, *, code: str, name: str, region: str, founded_on: date | None) -> Done:
    """Create a branch."""
    b = organisation.create_branch(session, code=code, name=name, region=region, founded_on=founded_on)
    return Done(f"Antenne {b.code} « {b.name} » ({b.region}) créée.")


def update_branch(
    session: Session,
    branch: str,
    *,
    name: str = "",
    region: str = "",
    founded_on: date | None = None,
    reason: str,
    actor: str,
) -> Done:
    """Rename a branch, change its region or correct its founding date (admins); audited with who and why."""
    identity.require_role(identity.resolve_actor(session, actor)[1], Role.ADMIN, what="modifier une antenne")
    b, changes = organisation.update_branch(
        session, branch, name=name, region=region, founded_on=founded_on, reason=reason, actor=actor
    )
    return Done(f"Antenne {b.code} modifiée : {organisation.describe(changes)}.")


def add_member(
    session: Session,
    *,
    first_name: str,
    last_name: str,
    email: str,
    role: Role,
    branch: str,
    confirmed: bool = False,
) -> Done:
    """Add a team member (a second lead of a branch: `confirmed`)."""
    c = organisation.add_coordinator(
        session, first_name=first_name, last_name=last_name, email=email, role=role, branch=branch, confirmed=confirmed
    )
    return Done(f"C-{c.id} {c.full_name} <{c.email}> ajouté(e) : {ROLE_LABELS[c.role]}.")


def update_member(
    session: Session,
    member: str,
    *,
    role: Role | None = None,
    branch: str = "",
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    confirmed: bool = False,
    reason: str,
    actor: str,
) -> Done:
    """Change a team member's role or branch, or correct their name or e-mail (admins; a second lead of a branch:
    `confirmed`); audited with who and why. A new e-mail retags the runs of the member's open missions."""
    identity.require_role(identity.resolve_actor(session, actor)[1], Role.ADMIN, what="modifier un membre de l'équipe")
    c, changes = organisation.change_coordinator(
        session,
        member,
        role=role,
        branch=branch,
        first_name=first_name,
        last_name=last_name,
        email=email,
        confirmed=confirmed,
        reason=reason,
        actor=actor,
    )
    moved: tuple[int, ...] = ()
    note = ""
    if "e-mail" in changes:
        moved = tuple(m.id for m in organisation.open_missions(session, c))
        note = " Ses sessions sont fermées : il/elle se reconnecte avec la nouvelle adresse."
    return Done(f"C-{c.id} {c.full_name} modifié(e) : {organisation.describe(changes)}.{note}", moved)


def set_member_digest(session: Session, member: str, *, on: bool, actor: str) -> Done:
    """Turn a member's daily digest on or off: the member themself, or an admin."""
    _, who = identity.resolve_actor(session, actor)
    c = organisation.set_digest(session, member, on=on)
    if who is not None and who.id != c.id:
        identity.require_role(who, Role.ADMIN, what="changer le récapitulatif quotidien d'un autre membre")
    state = "recevra" if on else "ne recevra plus"
    return Done(f"C-{c.id} {c.full_name} {state} le récapitulatif quotidien de ce qui l'attend.")


def set_member_active(session: Session, member: str, *, active: bool, reassign_to: str, actor: str) -> Done:
    """Deactivate a team member who leaves (their open missions go to `reassign_to`; their sessions and tokens end
    at once), or reactivate them."""
    label, who = identity.resolve_actor(session, actor)
    identity.require_role(who, Role.ADMIN, what="désactiver ou réactiver un membre de l'équipe")
    missions = organisation.set_active(session, member, active=active, reassign_to=reassign_to, actor=label)
    done = "réactivé(e)" if active else "désactivé(e)"
    moved = f" Missions confiées : {', '.join(m.reference for m in missions)}." if missions else ""
    return Done(f"{member} {done}.{moved}", tuple(m.id for m in missions))


def reassign(session: Session, *, to: str, mission: str = "", of: str = "", actor: str) -> Done:
    """Give one mission, or every open mission of a Passerelle (`of`), to another Passerelle of the branch; a
    branch lead, only missions of her branch."""
    label, who = identity.resolve_actor(session, actor)
    identity.require_role(who, Role.BRANCH_LEAD, what="confier des missions")
    if bool(mission.strip()) == bool(of.strip()):
        raise StepRefused("Indiquez soit une mission, soit la Passerelle dont toutes les missions sont confiées.")
    if mission.strip():
        missions = [find_mission(session, mission)]
    else:
        missions = organisation.open_missions(session, find_coordinator(session, of))
        if not missions:
            raise StepRefused(f"{of} ne suit aucune mission ouverte.")
    if who is not None and who.role is Role.BRANCH_LEAD:
        elsewhere = [m.reference for m in missions if m.branch_id != who.branch_id]
        if elsewhere:
            raise StepRefused(f"{', '.join(elsewhere)} : mission(s) d'une autre antenne que la vôtre.")
    organisation.reassign(session, missions, to=to, actor=label)
    taker = missions[0].coordinator.full_name
    return Done(f"Confiée(s) à {taker} : {', '.join(m.reference for m in missions)}.", tuple(m.id for m in missions))


def move_mission(session: Session, mission: str, *, branch: str, to: str = "", reason: str, actor: str) -> Done:
    """Move an open mission to another branch, with the Passerelle there who takes it (admins); its run is
    retagged after the commit and the Passerelle told by mail."""
    label, who = identity.resolve_actor(session, actor)
    identity.require_role(who, Role.ADMIN, what="changer une mission d'antenne")
    m = organisation.move_mission(session, mission, branch=branch, to=to, reason=reason, actor=label)
    return Done(
        f"Mission {m.reference} confiée à l'antenne {m.branch.code} ({m.branch.name}), suivie par "
        f"{m.coordinator.full_name} (prévenu(e) par mail).",
        (m.id,),
    )


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
) -> Done:
    """Register an association (its budget as typed, `24 000 €`; a contact e-mail already used: `confirmed`)."""
    a = organisation.register_association(
        session,
        name=name,
        branch=branch,
        contact_name=contact_name,
        contact_email=contact_email,
        annual_budget=annual_budget,
        city=city,
        purpose=purpose,
        contact_phone=contact_phone,
        confirmed=confirmed,
    )
    return Done(f"Association « {a.name} » enregistrée (budget {a.annual_budget} €).")


def update_association(
    session: Session,
    association: str,
    *,
    contact_name: str = "",
    contact_email: str = "",
    annual_budget: str = "",
    city: str = "",
    confirmed: bool = False,
    reason: str,
    actor: str,
) -> Done:
    """Correct an association's contact, budget or city (support team, branch leads; a contact e-mail already
    another association's: `confirmed`); audited with who and why."""
    identity.require_role(
        identity.resolve_actor(session, actor)[1], Role.SUPPORT, Role.BRANCH_LEAD, what="modifier une association"
    )
    a, changes = organisation.update_association(
        session,
        association,
        contact_name=contact_name,
        contact_email=contact_email,
        annual_budget=annual_budget,
        city=city,
        confirmed=confirmed,
        reason=reason,
        actor=actor,
    )
    fees_note = " Les cotisations déjà dues gardent leur montant." if "budget annuel" in changes else ""
    return Done(f"Association « {a.name} » modifiée : {organisation.describe(changes)}.{fees_note}")


def archive_association(session: Session, association: str, *, archived: bool, reason: str, actor: str) -> Done:
    """Archive an association (no new mission; its history stays) or reactivate it; audited with who and why."""
    identity.require_role(
        identity.resolve_actor(session, actor)[1], Role.SUPPORT, Role.BRANCH_LEAD, what="archiver une association"
    )
    a = organisation.set_association_archived(session, association, archived=archived, reason=reason, actor=actor)
    if archived:
        return Done(f"Association « {a.name} » archivée : plus de nouvelle mission ; son historique reste.")
    return Done(f"Association « {a.name} » réactivée.")


def update_volunteer(
    session: Session,
    volunteer: str,
    *,
    availability: Availability | None = None,
    consent_announcements: bool | None = None,
    consent_national: bool | None = None,
    archive: bool | None = None,
    actor: str,
) -> Done:
    """Change a volunteer's availability or consents, archive or reactivate them."""
    changes = organisation.update_volunteer(
        session,
        volunteer,
        availability=availability,
        consent_announcements=consent_announcements,
        consent_national=consent_national,
        archive=archive,
        actor=identity.resolve_actor(session, actor)[0],
    )
    return Done("\n".join(changes))


def revoke_volunteer_links(session: Session, volunteer: str, *, actor: str) -> Done:
    """Every link mailed so far to a volunteer stops working (a forwarded mail, a lost phone); the next mails carry
    new ones."""
    identity.require_role(identity.resolve_actor(session, actor)[1], Role.SUPPORT, Role.BRANCH_LEAD,
                          what="révoquer les liens d'un bénévole")  # fmt: skip
    v = find_volunteer(session, volunteer)
    links.revoke(session, v)
    return Done(f"V-{v.id:04d} {v.full_name} : les liens déjà envoyés ne fonctionnent plus ; les prochains mails en "
                "portent de nouveaux.")  # fmt: skip


def confirm_social_post(session: Session, mission: str, *, actor: str, reach: int | None) -> Done:
    """The mission's post is on the social networks (with its reach, when known)."""
    name, who = identity.actor_name(session, actor)
    identity.require_role(who, Role.SUPPORT, Role.PASSERELLE, Role.BRANCH_LEAD, what="confirmer une publication")
    m = find_mission(session, mission)
    diffusion.confirm_social_post(session, m, reach=reach)
    shown = f", portée {reach}" if reach is not None else ""
    return Done(f"Publication de {m.reference} confirmée par {name}{shown}.")


def settle_fee(
    session: Session, fee: str, *, status: FeeStatus, actor: str, on: date | None = None, note: str = ""
) -> Done:
    """Record a fee paid (on a date) or waived (with a reason)."""
    record = fees.settle(session, fee, status=status, by=actor, on=on, note=note)
    if status is FeeStatus.PAID and record.paid_on is not None:
        return Done(
            f"F-{record.id} payée le {record.paid_on:%d/%m/%Y} ({record.amount} €), notée par {record.settled_by}."
        )
    return Done(f"F-{record.id} exonérée ({record.amount} €) : {record.note}")


def correct_payment(
    session: Session,
    fee: str,
    *,
    actor: str,
    reason: str,
    on: date | None = None,
    amount: str = "",
    how: str = "",
) -> Done:
    """Correct a payment recorded (date, amount, how it was paid) or a waiver's reason, with the correction's
    reason (support team, admins); audited."""
    record, changes = fees.correct_payment(session, fee, by=actor, reason=reason, on=on, amount=amount, how=how)
    return Done(f"F-{record.id} corrigée : {' ; '.join(changes)}.")


def cancel_settlement(session: Session, fee: str, *, actor: str, reason: str) -> Done:
    """Cancel a payment or a waiver recorded by mistake (support team, admins); the fee is owed again; audited."""
    record, was = fees.cancel_settlement(session, fee, by=actor, reason=reason)
    return Done(f"F-{record.id} : annulé ({was}) ; elle est de nouveau {fees.state_text(record)}.")


def remove_fee_schedule(session: Session, *, from_year: int, actor: str, reason: str) -> Done:
    """Remove a fee schedule not yet in force (admins); audited."""
    lines = fees.remove_schedule(session, from_year=from_year, by=actor, reason=reason)
    return Done(
        f"Barème à partir de {from_year} retiré ({lines} tranche{'s' if lines > 1 else ''}).\n"
        f"{fees.schedule_table(session)}"
    )


def set_fee_schedule(session: Session, *, from_year: int, brackets: str, actor: str) -> Done:
    """A new fee schedule from `from_year` (the earlier ones stay in the history)."""
    parsed = fees.parse_brackets(brackets)
    fees.set_schedule(session, from_year=from_year, brackets=parsed, by=actor)
    table = fees.schedule_table(session)
    return Done(f"Barème en vigueur à partir de {from_year} : {len(parsed)} tranches.\n{table}")


def remind_fees(session: Session) -> Done:
    """Remind the associations whose billed fee is still unpaid."""
    reminded = fees.remind_unpaid(session, every_days=get_settings().fee_reminder_days)
    return Done(f"Relances envoyées : {len(reminded)}.")


def export_data(
    session: Session,
    kind: str,
    *,
    branches: list[str] | None,
    start: date,
    end: date,
    actor: str,
    target: Path | None = None,
) -> Done:
    """Export missions, applications or fees of some branches (none: all) over [start, end] as a CSV file for a
    French spreadsheet (tasks/exports.py); admins only. Everything is checked before the file is kept: in the
    database, served by the sign-in gateway to admins (the address is in the message), and written to `target` too
    when given (the command line's `--sortie`)."""
    identity.require_role(identity.resolve_actor(session, actor)[1], Role.ADMIN, what="exporter les données")
    which = exports.parse_kind(kind)
    table = exports.EXPORTS[which](session, exports.scope(session, codes=branches, start=start, end=end))
    content = csv_bytes(table)
    row = files.store_file(
        session,
        kind=FileKind.EXPORT,
        name=table.file_name,
        media_type=files.CSV,
        content=content,
        branches=table.codes,
        actor=actor,
    )
    url = files.file_url(row.id, row.name)
    written = f" ; copie écrite dans {exports.write_export(content, table.file_name, target)}" if target else ""
    lines = len(table.rows)
    return Done(
        f"Export des {which.value} ({table.scope_label}) : {lines} ligne{'s' if lines > 1 else ''}, "
        f"à télécharger après connexion (administrateurs) : {url}{written}",
        url=url,
    )
