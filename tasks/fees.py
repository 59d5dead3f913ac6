"""Fees: billed to the association when the seed implies, recorded paid or waived by the support team or an admin,
reminded while unpaid, and the fee schedule changed with its history kept.

When a fee is billed (our reading of the seed, « une cotisation annuelle et une participation forfaitaire pour frais
de recherche selon leur budget de fonctionnement »):
- the **membership** of a year once the Passerelle has validated, at the needs analysis, the association's
  adherence to P&C's values — the association becomes a member for that year; later missions of the same year
  bill nothing more;
- the **search fee** of a mission when its annonce is first diffused: the search has begun. A mission cancelled
  before a volunteer is found has its search fee waived (`PASSERELLES_WAIVE_SEARCH_FEE_ON_EARLY_CANCEL`).
Both records are written `due` at the request (the amounts of the schedule then in force); `billed_on` says when
the bill went. Plain functions over a session; the caller owns the transaction.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import Coordinator, FeeBracket, FeeKind, FeeRecord, FeeStatus, Mission, MissionStatus, Role, checks
from models.association import FEE_KIND_LABELS, FEE_STATE_LABELS, Association, FeeState
from models.base import utcnow
from models.refusals import StepRefused
from models.rules import Bracket, check_brackets
from models.settings import get_settings
from tasks import identity
from tasks.compose import compose
from tasks.identity import actor_name
from tasks.lookups import find_mission
from tasks.outbox import enqueue

SETTLERS = (Role.SUPPORT, Role.ADMIN)
BEFORE_A_VOLUNTEER = {MissionStatus.REQUESTED, MissionStatus.ANALYSED, MissionStatus.APPROVED, MissionStatus.PUBLISHED}


def fee_label(fee: FeeRecord, mission: Mission | None = None) -> str:
    """« Cotisation annuelle 2026 » or « Participation aux frais de recherche (STR-2026-014) »."""
    if fee.kind is FeeKind.MEMBERSHIP:
        return f"{FEE_KIND_LABELS[fee.kind]} {fee.year}"
    return f"{FEE_KIND_LABELS[fee.kind]} ({mission.reference if mission else f'mission n° {fee.mission_id}'})"


def state_text(fee: FeeRecord) -> str:
    """« due », « facturée le 12/03/2026 », « payée le 02/04/2026 », « exonérée » (models/association.FeeState)."""
    state = fee.state
    when = {FeeState.BILLED: fee.billed_on, FeeState.PAID: fee.paid_on}.get(state)
    return FEE_STATE_LABELS[state] + (f" le {when:%d/%m/%Y}" if when else "")


def _mail(session: Session, fee: FeeRecord, kind: str, about: str, **ctx: object) -> None:
    association = session.get(Association, fee.association_id)
    assert association is not None
    mission = session.get(Mission, fee.mission_id) if fee.mission_id else None
    content = compose(kind, fee=fee, label=fee_label(fee, mission), association=association, mission=mission, **ctx)
    enqueue(session, mission_id=fee.mission_id, kind=kind, about=about, to=association.contact_email, content=content)


def bill(session: Session, fee: FeeRecord, *, today: date | None = None) -> bool:
    """Mail the bill once (whatever replays); True when it goes now. A fee already settled is not billed."""
    if fee.billed_on is not None or fee.status is not FeeStatus.DUE:
        return False
    fee.billed_on = today or utcnow().date()
    _mail(session, fee, "fee_bill", f"fee{fee.id}")
    return True


def _fee(session: Session, key: str) -> FeeRecord | None:
    return session.scalar(select(FeeRecord).where(FeeRecord.key == key).with_for_update())


def bill_membership(session: Session, mission: Mission) -> bool:
    """The association's membership of the mission's year, billed when its values are validated."""
    fee = _fee(session, FeeRecord.membership_key(mission.association_id, mission.year))
    return fee is not None and bill(session, fee)


def bill_search(session: Session, mission: Mission) -> bool:
    """The mission's search fee, billed when its annonce is first diffused."""
    fee = _fee(session, FeeRecord.search_key(mission.id))
    return fee is not None and bill(session, fee)


def waive_if_unfound(session: Session, mission: Mission, *, cancelled_from: MissionStatus) -> bool:
    """At a cancellation before any volunteer was selected, the search fee is waived (configurable)."""
    if not get_settings().waive_search_fee_on_early_cancel or cancelled_from not in BEFORE_A_VOLUNTEER:
        return False
    fee = _fee(session, FeeRecord.search_key(mission.id))
    if fee is None or fee.status is not FeeStatus.DUE:
        return False
    fee.status = FeeStatus.WAIVED
    fee.settled_by = "automatique"
    fee.note = "Mission annulée avant qu'un bénévole soit trouvé."
    if fee.billed_on is not None:  # the association had the bill: tell it that it owes nothing
        _mail(session, fee, "fee_waived", f"fee{fee.id}")
    return True


def find_fee(session: Session, ref: str) -> FeeRecord:
    """A fee by number (`F-12`) or by mission reference (its search fee); StepRefused otherwise."""
    m = re.match(r"^F-?(\d+)$", ref.strip(), re.IGNORECASE)
    fee = (
        session.get(FeeRecord, int(m.group(1)), with_for_update=True)
        if m
        else _fee(session, FeeRecord.search_key(find_mission(session, ref).id))
    )
    if fee is None:
        raise StepRefused(f"Cotisation inconnue : « {ref} » (numéro F-12 ou référence de mission).")
    return fee


def settle(
    session: Session, ref: str, *, status: FeeStatus, by: str, on: date | None = None, note: str = ""
) -> FeeRecord:
    """Record a fee paid or waived, by a member of the support team or an admin."""
    if status is FeeStatus.DUE:
        raise StepRefused("Une cotisation se note payée ou exonérée.")
    name, _ = _settler(session, by)
    fee = find_fee(session, ref)
    if fee.status is not FeeStatus.DUE:
        when = f" le {fee.paid_on:%d/%m/%Y}" if fee.paid_on else ""
        raise StepRefused(f"F-{fee.id} est déjà {FEE_STATE_LABELS[fee.state]}{when} ({fee.settled_by or 'inconnu'}).")
    on = on or utcnow().date()
    if status is FeeStatus.PAID:
        checks.check_payment_date(on, due_on=fee.due_on, today=utcnow().date())
    if status is FeeStatus.WAIVED and not note.strip():
        raise StepRefused("Pour exonérer une cotisation, indiquez le motif.")
    fee.status = status
    fee.paid_on = on if status is FeeStatus.PAID else None
    fee.settled_by = name
    fee.note = note.strip()[:300]
    return fee


def _settler(session: Session, by: str) -> tuple[str, Coordinator | None]:
    name, who = actor_name(session, by)
    if who is not None and who.role not in SETTLERS:
        raise StepRefused(f"{who.full_name} n'est ni de l'équipe support ni admin : seuls eux notent les paiements.")
    return name, who


def _reason(reason: str) -> str:
    if not reason.strip():
        raise StepRefused("Indiquez le motif de la correction : il reste dans le journal avec votre nom.")
    return " ".join(reason.split())[:300]


def correct_payment(
    session: Session,
    ref: str,
    *,
    by: str,
    reason: str,
    on: date | None = None,
    amount: str = "",
    how: str = "",
) -> tuple[FeeRecord, list[str]]:
    """Correct a payment recorded (its date, its amount, how it was paid) or a waiver's reason, with the reason of
    the correction; audited. The date is checked as at the payment (neither in the future nor before the fee)."""
    name, who = _settler(session, by)
    why = _reason(reason)
    fee = find_fee(session, ref)
    if fee.status is FeeStatus.DUE:
        raise StepRefused(
            f"F-{fee.id} est {state_text(fee)} : aucun paiement à corriger ; notez-le d'abord (passerelles fees pay)."
        )
    if fee.status is FeeStatus.WAIVED and (on is not None or amount.strip()):
        raise StepRefused(f"F-{fee.id} est exonérée : ni date ni montant de paiement ; corrigez seulement son motif.")
    changes = []
    if on is not None and on != fee.paid_on:
        checks.check_payment_date(on, due_on=fee.due_on, today=utcnow().date())
        before = f"{fee.paid_on:%d/%m/%Y}" if fee.paid_on else "(vide)"
        changes.append(f"payée le : {before} → {on:%d/%m/%Y}")
        fee.paid_on = on
    if amount.strip():
        euros = checks.parse_amount(amount, "Le montant")
        if euros != fee.amount:
            changes.append(f"montant : {fee.amount} € → {euros} €")
            fee.amount = euros
    if how.strip() and " ".join(how.split()) != fee.note:
        what = "moyen de paiement" if fee.status is FeeStatus.PAID else "motif de l'exonération"
        changes.append(f"{what} : « {fee.note} » → « {' '.join(how.split())} »")
        fee.note = " ".join(how.split())[:300]
    if not changes:
        raise StepRefused(f"Rien de changé pour F-{fee.id} : ce qui est indiqué est déjà enregistré.")
    identity.log_edit(
        session, who, name, event="fee_corrected", target=f"F-{fee.id}", detail=f"{' ; '.join(changes)} — motif : {why}"
    )
    return fee, changes


def cancel_settlement(session: Session, ref: str, *, by: str, reason: str) -> tuple[FeeRecord, str]:
    """Cancel a payment or a waiver recorded by mistake, with a reason: the fee is owed again (billed if its bill
    went, due otherwise); audited with what was cancelled. Returns the fee and what was cancelled, in French."""
    name, who = _settler(session, by)
    why = _reason(reason)
    fee = find_fee(session, ref)
    if fee.status is FeeStatus.DUE:
        raise StepRefused(f"F-{fee.id} est {state_text(fee)} : ni paiement ni exonération à annuler.")
    was = f"{state_text(fee)} ({fee.settled_by or 'inconnu'}{f', {fee.note}' if fee.note else ''})"
    fee.status, fee.paid_on, fee.settled_by, fee.note = FeeStatus.DUE, None, "", ""
    identity.log_edit(
        session,
        who,
        name,
        event="fee_settlement_cancelled",
        target=f"F-{fee.id}",
        detail=f"annulé : {was} — motif : {why}",
    )
    return fee, was


def remove_schedule(session: Session, *, from_year: int, by: str, reason: str) -> int:
    """Remove a fee schedule entered by mistake, while it is not in force (it starts after the current year):
    nothing used it. Admins only; audited. How many lines were removed."""
    name, who = actor_name(session, by)
    if who is not None and who.role is not Role.ADMIN:
        raise StepRefused(f"{who.full_name} n'est pas admin : seul un admin change le barème.")
    why = _reason(reason)
    this_year = utcnow().date().year
    rows = list(session.scalars(select(FeeBracket).where(FeeBracket.valid_from == from_year)))
    if not rows:
        years = sorted(set(session.scalars(select(FeeBracket.valid_from))))
        known = ", ".join(str(y) for y in years) or "aucun"
        raise StepRefused(f"Aucun barème ne part de {from_year}. Barèmes : à partir de {known}.")
    if from_year <= this_year:
        raise StepRefused(
            f"Le barème à partir de {from_year} est en vigueur (nous sommes en {this_year}) : il a pu servir aux "
            "cotisations et reste dans l'historique. Pour la suite, fixez un nouveau barème à partir de "
            f"{this_year + 1}."
        )
    shown = ", ".join(f"{b.min_budget}-{b.max_budget or ''}:{b.membership_fee}:{b.search_fee}" for b in rows)
    for row in rows:
        session.delete(row)
    identity.log_edit(
        session,
        who,
        name,
        event="fee_schedule_removed",
        target=f"barème {from_year}",
        detail=f"retiré : {shown} (saisi par {rows[0].recorded_by or 'inconnu'}) — motif : {why}",
    )
    return len(rows)


def remind_unpaid(session: Session, *, today: date | None = None, every_days: int = 30) -> list[FeeRecord]:
    """Remind every association of a fee billed `every_days` ago (or reminded that long ago) and still due."""
    today = today or utcnow().date()
    limit = today - timedelta(days=every_days)
    due = session.scalars(
        select(FeeRecord)
        .where(FeeRecord.status == FeeStatus.DUE, FeeRecord.billed_on <= limit)
        .where(or_(FeeRecord.reminded_on.is_(None), FeeRecord.reminded_on <= limit))
        .order_by(FeeRecord.id)
        .with_for_update(skip_locked=True)
    ).all()
    for fee in due:
        fee.reminded_on = today
        _mail(session, fee, "fee_reminder", f"fee{fee.id}:{today.isoformat()}")
    return list(due)


def set_schedule(session: Session, *, from_year: int, brackets: list[Bracket], by: str) -> list[FeeBracket]:
    """A new fee schedule in force from `from_year` on; the older ones stay, as the history (fee records also hold
    their own amounts). Admins only. A schedule of a future year may be given again (nothing used it yet)."""
    name, who = actor_name(session, by)
    if who is not None and who.role is not Role.ADMIN:
        raise StepRefused(f"{who.full_name} n'est pas admin : seul un admin change le barème.")
    try:
        check_brackets(brackets)
    except ValueError as exc:
        raise StepRefused(str(exc)) from exc
    if any(b.membership_fee < 0 or b.search_fee < 0 for b in brackets):
        raise StepRefused("Un montant du barème est négatif.")
    years = session.scalars(select(FeeBracket.valid_from).distinct())
    checks.check_schedule_year(from_year, this_year=utcnow().date().year, years_set=years)
    for old in session.scalars(select(FeeBracket).where(FeeBracket.valid_from == from_year)):
        session.delete(old)  # a future year given again: nothing used it yet, the new lines replace it
    session.flush()
    rows = [
        FeeBracket(
            valid_from=from_year,
            min_budget=b.min_budget,
            max_budget=b.max_budget,
            membership_fee=b.membership_fee,
            search_fee=b.search_fee,
            recorded_by=name,
        )
        for b in brackets
    ]
    session.add_all(rows)
    return rows


def parse_brackets(text: str) -> list[Bracket]:
    """`0-10000:50:100, 10000-50000:120:250, 50000-:250:500` (budget from-to : membership : search, euros)."""
    out = []
    for part in filter(None, (p.strip() for p in re.split(r"[,\n;]", text))):
        m = re.match(r"^(\d+)\s*-\s*(\d*)\s*:\s*(\d+)\s*:\s*(\d+)$", part.replace(" ", ""))
        if not m:
            raise StepRefused(
                f"Tranche illisible « {part} » : attendu « min-max:cotisation:participation », "
                "par exemple 0-10000:50:100 (max vide pour la dernière)."
            )
        low, high, membership, search = m.groups()
        out.append(Bracket(int(low), int(high) if high else None, int(membership), int(search)))
    if not out:
        raise StepRefused("Barème vide.")
    return out


def settlers(session: Session) -> list[Coordinator]:
    """Who may record payments: the active support team and admins."""
    return list(
        session.scalars(select(Coordinator).where(Coordinator.role.in_(SETTLERS), Coordinator.active.is_(True)))
    )


def fees_table(session: Session, *, include_settled: bool = False) -> str:
    """The fees as plain text lines, oldest first (the CLI's list): those still owed (due or billed), or all."""
    query = select(FeeRecord).order_by(FeeRecord.id)
    if not include_settled:
        query = query.where(FeeRecord.status == FeeStatus.DUE)
    lines = []
    for fee in session.scalars(query):
        association = session.get(Association, fee.association_id)
        mission = session.get(Mission, fee.mission_id) if fee.mission_id else None
        name = association.name if association else "?"
        lines.append(f"F-{fee.id:<5} {fee.amount:>6} €  {state_text(fee):<24} {fee_label(fee, mission)} — {name}")
    return "\n".join(lines) or "Aucune cotisation due ni facturée."


def schedule_table(session: Session) -> str:
    """Every fee schedule, newest first: the history."""
    rows = session.scalars(select(FeeBracket).order_by(FeeBracket.valid_from.desc(), FeeBracket.min_budget))
    lines, year = [], None
    for b in rows:
        if b.valid_from != year:
            year = b.valid_from
            by = f" (saisi par {b.recorded_by})" if b.recorded_by else ""
            lines.append(f"À partir de {year}{by} :")
        top = f"{b.max_budget} €" if b.max_budget is not None else "∞"
        lines.append(
            f"  budget {b.min_budget} € – {top} : cotisation {b.membership_fee} €, participation {b.search_fee} €"
        )
    return "\n".join(lines) or "Aucun barème : passerelles init charge le barème initial."
