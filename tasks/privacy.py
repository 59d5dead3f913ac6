"""Personal data as the law requires (RGPD): erasure on request, and bounded retention.

Erasing a volunteer anonymises the person everywhere the system keeps them — the volunteer row (name, address,
phone, city, profession), their competences, priority flags, consents and record of changes, their messages, the
mails to them (address and body) and every mail, audit detail, check-in, roadmap or bilan text that names them —
and keeps what statistics need (applications with status, channel, score and dates; missions). `scrub_prefect`
then rewrites what Prefect keeps of the missions they took part in (artifacts, stored form answers, schemas and
descriptions). `access_report` gives a volunteer everything held about them (right of access).
docs/registre-des-traitements.md says what is kept, why and for how long.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from models import (
    Application,
    ApplicationStatus,
    AuditEvent,
    Branch,
    CheckIn,
    Competence,
    ConsentRecord,
    Domain,
    ErasureRecord,
    Invitation,
    MailStatus,
    Mission,
    OutboxMail,
    PartyAnswer,
    PriorityFlag,
    PublicSubmission,
    Review,
    Roadmap,
    SubmissionKind,
    Volunteer,
    VolunteerCompetence,
    VolunteerEvent,
)
from models.base import utcnow
from models.mission_steps import APPLICATION_STATUS_LABELS, CHANNEL_LABELS
from models.refusals import StepRefused
from models.settings import get_settings
from models.volunteer import AVAILABILITY_LABELS, CONSENT_WORDING, LEVEL_LABELS, TIME_SLOTS
from tasks import confirmations, files, identity, notices
from tasks.lookups import find_volunteer

ERASED_FIRST, ERASED_LAST = "Bénévole", "effacé(e)"


def erased_email(volunteer_id: int) -> str:
    """The address an erased volunteer keeps: unique, never deliverable (RFC 2606 `.invalid`)."""
    return f"efface-{volunteer_id}@efface.invalid"


@dataclass
class Erasure:
    """What an erasure did: the person's former traces (to scrub from Prefect) and how many rows it touched."""

    volunteer_id: int
    label: str  # the new label, `V-0042 Bénévole effacé(e)`
    needles: list[str]  # what named the person: full name, label, address
    flow_run_ids: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    record_id: int = 0

    def replace(self, text: str) -> str:
        """`text` with every mention of the person replaced."""
        for needle in self.needles:
            instead = self.label if needle.startswith("V-") else f"{ERASED_FIRST} {ERASED_LAST}"
            text = re.sub(re.escape(needle), instead, text, flags=re.IGNORECASE)
        return text

    def names(self, text: str) -> bool:
        """Whether `text` mentions the person."""
        low = text.lower()
        return any(n.lower() in low for n in self.needles)

    def scrub(self, value: Any) -> Any:
        """A JSON-like value with every string scrubbed."""
        if isinstance(value, str):
            return self.replace(value)
        if isinstance(value, list):
            return [self.scrub(v) for v in value]
        if isinstance(value, dict):
            return {k: self.scrub(v) for k, v in value.items()}
        return value


def erase_volunteer(session: Session, ref: str, *, reason: str, actor: str = "") -> Erasure:
    """Anonymise a volunteer in the application database, in the caller's transaction (all or nothing), and keep a
    record of it (who, why; no personal data)."""
    if not reason.strip():
        raise StepRefused("Indiquez le motif de l'effacement (demande de la personne, durée de conservation…).")
    v = find_volunteer(session, ref)
    if v.email == erased_email(v.id):
        raise StepRefused(f"{v.label} est déjà effacé(e).")
    erasure = Erasure(
        v.id,
        f"V-{v.id:04d} {ERASED_FIRST} {ERASED_LAST}",
        needles=sorted({v.label, v.full_name, f"{v.last_name} {v.first_name}", v.email}, key=len, reverse=True),
    )
    missions = list(session.scalars(select(Application.mission_id).where(Application.volunteer_id == v.id)))
    # Every mission run, not only those applied to: matching suggests volunteers in forms of other missions.
    erasure.flow_run_ids = list(session.scalars(select(Mission.flow_run_id).where(Mission.flow_run_id.is_not(None))))
    label, _ = identity.resolve_actor(session, actor)
    erasure.record_id = _record(session, v.id, actor=label, reason=erasure.replace(reason.strip()))
    rows = erasure.rows
    rows["messages"] = session.execute(
        update(Application).where(Application.volunteer_id == v.id).values(message="")
    ).rowcount  # type: ignore[attr-defined]
    for owned in (VolunteerCompetence, PriorityFlag, ConsentRecord, VolunteerEvent):
        gone = session.execute(delete(owned).where(owned.volunteer_id == v.id))
        rows[owned.__tablename__] = gone.rowcount  # type: ignore[attr-defined]
    address = v.email
    # Their sign-ups and applications from the portal's public pages (a request for a mission is an association's)
    rows["public_submission"] = session.execute(
        delete(PublicSubmission).where(
            PublicSubmission.kind.in_([SubmissionKind.SIGNUP, SubmissionKind.APPLICATION]),
            or_(PublicSubmission.volunteer_id == v.id, PublicSubmission.email == address),
        )
    ).rowcount  # type: ignore[attr-defined]
    now = utcnow()
    v.first_name, v.last_name, v.email = ERASED_FIRST, ERASED_LAST, erased_email(v.id)
    v.phone = v.city = v.profession = ""
    v.consent_announcements = v.consent_national = v.is_relay = False
    v.archived_at, v.unsubscribed_at = v.archived_at or now, v.unsubscribed_at or now
    # Mails: to them (address and body), and any other that names them (introductions, the Passerelle's notices).
    mails = session.scalars(
        select(OutboxMail).where(or_(OutboxMail.to_address == address, OutboxMail.mission_id.in_(missions)))
    )
    rows["mails"] = 0
    for mail in mails:
        if mail.to_address == address:
            mail.to_address, mail.list_unsubscribe = v.email, ""
            mail.subject, mail.text_body, mail.html_body = erasure.replace(mail.subject), "", ""
            mail.calendar = ""
            if mail.status in (MailStatus.PENDING, MailStatus.SENDING):
                mail.status, mail.last_error = MailStatus.SUPPRESSED, "effacé(e) : non envoyé"
            rows["mails"] += 1
        elif erasure.names(mail.subject + mail.text_body + mail.html_body + mail.calendar):
            mail.subject, mail.text_body, mail.html_body, mail.calendar = (
                erasure.replace(x) for x in (mail.subject, mail.text_body, mail.html_body, mail.calendar)
            )
            rows["mails"] += 1
    # Free texts and audit details of their missions (form answers kept for refused attempts, notes).
    rows["texts"] = 0
    for event in session.scalars(select(AuditEvent).where(AuditEvent.mission_id.in_(missions))):
        if erasure.names(json.dumps(event.details, ensure_ascii=False) + event.actor):
            event.details, event.actor = erasure.scrub(event.details), erasure.replace(event.actor)
            rows["texts"] += 1
    texts: list[tuple[Any, str]] = [(CheckIn, "notes"), (Roadmap, "notes"), (Review, "testimony")]
    for model, column in texts:
        for row in session.scalars(select(model).where(model.mission_id.in_(missions))):
            if erasure.names(getattr(row, column)):
                setattr(row, column, erasure.replace(getattr(row, column)))
                rows["texts"] += 1
    return erasure


def _record(session: Session, volunteer_id: int, *, actor: str, reason: str) -> int:
    record = ErasureRecord(volunteer_id=volunteer_id, actor=actor, reason=reason)
    session.add(record)
    session.flush()
    return record.id


def record_summary(session: Session, record_id: int, summary: str) -> None:
    """What the erasure did, on its record (after the Prefect part)."""
    record = session.get(ErasureRecord, record_id)
    if record is not None:
        record.summary = summary


def scrub_prefect(erasure: Erasure, *, current_run: str = "") -> dict[str, int]:
    """Rewrite what the Prefect server keeps that names the person: every stored form input (descriptions,
    schemas, answers) of every mission run, every artifact version (mission cards, dashboards); delete the
    finished administration runs whose parameters, state message or logs name them (their record is in the
    database: the audit and the erasure record), and scrub the parameters of `current_run` (the erasure's own).
    Prefect has no API to rewrite a log line or a past state: what a mission run logged is counted, not changed
    (mission runs log no volunteer's name). Replays stay harmless: an answered step returns its recorded verdict
    without reading the answer's names again."""
    from uuid import UUID

    from prefect import get_client
    from prefect.client.schemas.actions import ArtifactUpdate
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags, LogFilter, LogFilterTextSearch
    from prefect.client.schemas.objects import TERMINAL_STATES

    done = {"artifacts": 0, "inputs": 0, "runs_deleted": 0, "logs_left": 0}
    with get_client(sync_client=True) as client:
        for run_id in (UUID(r) for r in erasure.flow_run_ids):
            for entry in client.filter_flow_run_input(run_id, key_prefix="", limit=10_000, exclude_keys=set()):
                text = json.loads(entry.value)
                if erasure.names(json.dumps(text, ensure_ascii=False)):
                    client.delete_flow_run_input(run_id, entry.key)
                    client.create_flow_run_input(run_id, entry.key, json.dumps(erasure.scrub(text)))
                    done["inputs"] += 1
        offset = 0
        while batch := client.read_artifacts(limit=200, offset=offset):
            for artifact in batch:
                if erasure.names(json.dumps(artifact.data, ensure_ascii=False) + (artifact.description or "")):
                    client.update_artifact(artifact.id, ArtifactUpdate(data=erasure.scrub(artifact.data)))
                    done["artifacts"] += 1
            offset += len(batch)
        admin = client.read_flow_runs(flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=["administration"])))
        logged = set()
        for needle in erasure.needles:
            for line in client.read_logs(log_filter=LogFilter(text=LogFilterTextSearch(query=f'"{needle}"'))):
                if line.flow_run_id and erasure.names(line.message):
                    logged.add(str(line.flow_run_id))
        for run in admin:
            named = logged & {str(run.id)} or erasure.names(
                json.dumps(run.parameters, ensure_ascii=False, default=str) + ((run.state and run.state.message) or "")
            )
            if not named:
                continue
            logged.discard(str(run.id))
            if str(run.id) == current_run:
                client.update_flow_run(run.id, parameters=erasure.scrub(run.parameters))
            elif run.state is not None and run.state.type in TERMINAL_STATES:
                client.delete_flow_run(run.id)
                done["runs_deleted"] += 1
        done["logs_left"] = len(logged - {current_run})
    return done


# --- Right of access -------------------------------------------------------------------------------


def _when(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def access_report(session: Session, volunteer_id: int) -> dict[str, Any]:
    """Everything the application database holds about a volunteer (RGPD art. 15), as plain JSON-able data in
    French: profile, competences, consents (with the wording agreed to), record of changes, applications (with
    their message), the missions they were retained for (roadmap dates, check-ins), priority flags, invitations,
    answers given by their links, and the mails sent to them (subject and date: bodies are purged after
    `mail_body_days`). StepRefused when there is no such volunteer."""
    v = session.get(Volunteer, volunteer_id)
    if v is None or v.email == erased_email(volunteer_id):
        raise StepRefused("Aucune donnée : cette fiche de bénévole n'existe pas ou a été effacée.")
    competences = session.execute(
        select(Competence.name, Domain.name, VolunteerCompetence.level)
        .join(Competence, Competence.id == VolunteerCompetence.competence_id)
        .join(Domain, Domain.id == Competence.domain_id)
        .where(VolunteerCompetence.volunteer_id == v.id)
        .order_by(Domain.name, Competence.name)
    ).tuples()
    consents = session.scalars(
        select(ConsentRecord).where(ConsentRecord.volunteer_id == v.id).order_by(ConsentRecord.at, ConsentRecord.id)
    )
    events = session.scalars(
        select(VolunteerEvent).where(VolunteerEvent.volunteer_id == v.id).order_by(VolunteerEvent.at)
    )
    applications = session.execute(
        select(Application, Mission)
        .join(Mission, Mission.id == Application.mission_id)
        .where(Application.volunteer_id == v.id)
        .order_by(Application.applied_at)
    ).tuples()
    retained: list[Mission] = []
    shown_applications = []
    for a, m in applications:
        shown_applications.append(
            {
                "mission": m.reference,
                "intitule": m.title,
                "association": m.association.name,
                "statut": APPLICATION_STATUS_LABELS[a.status],
                "canal": CHANNEL_LABELS[a.channel],
                "par_le_relais": f"V-{a.relayed_by_id:04d}" if a.relayed_by_id else None,
                "message": a.message,
                "score": a.score,
                "recue_le": _when(a.applied_at),
                "decidee_le": _when(a.decided_at),
            }
        )
        if a.status is ApplicationStatus.SELECTED:
            retained.append(m)
    missions = []
    for m in retained:
        roadmap = session.scalar(select(Roadmap).where(Roadmap.mission_id == m.id))
        check_ins = session.scalars(select(CheckIn).where(CheckIn.mission_id == m.id).order_by(CheckIn.number))
        missions.append(
            {
                "mission": m.reference,
                "intitule": m.title,
                "association": m.association.name,
                "statut": m.status.label,
                "passerelle": m.coordinator.full_name,
                "feuille_de_route": {"debut": _when(roadmap.start_on), "fin": _when(roadmap.end_on)}
                if roadmap
                else None,
                "points_de_suivi": [{"numero": c.number, "le": _when(c.held_on)} for c in check_ins],
            }
        )
    wording = {version: {k.value: text for k, text in texts.items()} for version, texts in CONSENT_WORDING.items()}
    return {
        "responsable_du_traitement": "Passerelles & Compétences",
        "extrait_le": utcnow().isoformat(),
        "profil": {
            "numero": f"V-{v.id:04d}",
            "prenom": v.first_name,
            "nom": v.last_name,
            "email": v.email,
            "telephone": v.phone,
            "ville": v.city,
            "profession": v.profession,
            "antenne": session.scalar(select(Branch.name).where(Branch.id == v.branch_id)),
            "disponibilite": AVAILABILITY_LABELS[v.availability],
            "creneaux": [TIME_SLOTS.get(k, k) for k in v.time_slots.split(",") if k],
            "relais": v.is_relay,
            "accepte_les_annonces_de_son_antenne": v.consent_announcements,
            "accepte_les_annonces_nationales": v.consent_national,
            "inscrit_le": _when(v.created_at),
            "archive_le": _when(v.archived_at),
            "desinscrit_le": _when(v.unsubscribed_at),
        },
        "competences": [{"competence": c, "domaine": d, "niveau": LEVEL_LABELS.get(n, n)} for c, d, n in competences],
        "consentements": [
            {
                "objet": c.kind.value,
                "donne": c.granted,
                "source": c.source.value,
                "texte": wording.get(c.wording_version, {}).get(c.kind.value, ""),
                "version_du_texte": c.wording_version,
                "le": _when(c.at),
            }
            for c in consents
        ],
        "modifications_de_la_fiche": [
            {"le": _when(e.at), "par": e.actor, "source": e.source.value, "changements": e.changes} for e in events
        ],
        "candidatures": shown_applications,
        "missions": missions,
        "priorites": [
            {"domaine": name, "depuis": _when(flag.since), "levee_le": _when(flag.cleared_at)}
            for flag, name in session.execute(
                select(PriorityFlag, Domain.name)
                .join(Domain, Domain.id == PriorityFlag.domain_id)
                .where(PriorityFlag.volunteer_id == v.id)
            ).tuples()
        ],
        "invitations": [
            {"mission": ref, "le": _when(at)}
            for ref, at in session.execute(
                select(Mission.reference, Invitation.invited_at)
                .join(Mission, Mission.id == Invitation.mission_id)
                .where(Invitation.volunteer_id == v.id)
            ).tuples()
        ],
        "reponses_par_lien": [
            {"mission": ref, "etape": p.step, "reponse": p.answer, "commentaire": p.comment, "le": _when(p.answered_at)}
            for p, ref in session.execute(
                select(PartyAnswer, Mission.reference)
                .join(Mission, Mission.id == PartyAnswer.mission_id)
                .where(PartyAnswer.volunteer_id == v.id)
                .order_by(PartyAnswer.answered_at)
            ).tuples()
        ],
        "mails_envoyes": [
            {"objet": subject, "envoye_le": _when(sent)}
            for subject, sent in session.execute(
                select(OutboxMail.subject, OutboxMail.sent_at)
                .where(OutboxMail.to_address == v.email, OutboxMail.status == MailStatus.SENT)
                .order_by(OutboxMail.sent_at)
            ).tuples()
        ],
    }


# --- Retention -------------------------------------------------------------------------------------


def last_activity(session: Session) -> Any:
    """(volunteer id, last activity): joined, applied, or changed their record."""
    applied = select(Application.volunteer_id.label("vid"), func.max(Application.applied_at).label("at")).group_by(
        Application.volunteer_id
    )
    changed = select(VolunteerEvent.volunteer_id.label("vid"), func.max(VolunteerEvent.at).label("at")).group_by(
        VolunteerEvent.volunteer_id
    )
    return applied.union_all(changed).subquery()


@dataclass
class Retention:
    """What one retention pass did."""

    warned: list[int] = field(default_factory=list)
    to_erase: list[int] = field(default_factory=list)
    bodies_purged: int = 0
    access_log_purged: int = 0
    files_purged: int = 0  # reports' and exports' files older than 12 months (tasks/files.py)
    unconfirmed_purged: int = 0  # public forms never confirmed, past their link's expiry (tasks/confirmations.py)


def retention_pass(session: Session, *, now: datetime | None = None) -> Retention:
    """Volunteers inactive for `retention_years` are warned by mail (their preferences link keeps them); those still
    inactive `retention_notice_days` after the warning are listed for erasure. Sent mails' bodies older than
    `mail_body_days` are purged, calendar invitations with them (subject, kind and dates kept); the access log's
    lines and the stored reports and exports older than 12 months too."""
    settings = get_settings()
    now = now or utcnow()
    stale_before = now - timedelta(days=365 * settings.retention_years)
    activity = last_activity(session)
    last = select(activity.c.vid, func.max(activity.c.at).label("at")).group_by(activity.c.vid).subquery()
    candidates = session.execute(
        select(Volunteer, last.c.at)
        .outerjoin(last, last.c.vid == Volunteer.id)
        .where(Volunteer.created_at < stale_before, or_(last.c.at.is_(None), last.c.at < stale_before))
        .where(~Volunteer.email.like("%@efface.invalid"))
    ).tuples()
    result = Retention()
    for v, _ in candidates:
        warned_at = session.scalar(
            select(func.max(OutboxMail.created_at)).where(
                OutboxMail.kind == notices.RETENTION_WARNING, OutboxMail.to_address == v.email
            )
        )
        if warned_at is None or warned_at < stale_before:
            notices.retention_warning(session, v, days=settings.retention_notice_days, now=now)
            result.warned.append(v.id)
        elif warned_at < now - timedelta(days=settings.retention_notice_days):
            result.to_erase.append(v.id)
    purged = session.execute(
        update(OutboxMail)
        .where(OutboxMail.status == MailStatus.SENT, OutboxMail.sent_at < now - timedelta(days=settings.mail_body_days))
        .where(or_(OutboxMail.text_body != "", OutboxMail.html_body != "", OutboxMail.calendar != ""))
        .values(text_body="", html_body="", calendar="")
    )
    result.bodies_purged = purged.rowcount  # type: ignore[attr-defined]
    result.access_log_purged = identity.purge_access_log(session, now)
    result.files_purged = files.purge_files(session, now)
    result.unconfirmed_purged = confirmations.purge_unconfirmed(session, now)
    identity.forget_sent_links(session)
    return result
