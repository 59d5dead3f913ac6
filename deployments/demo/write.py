"""Writing a plan to the database: only the rows whose natural key is missing, in bulk, parents first."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from deployments.demo.plan import KeyTemplate, Plan, Ref
from models import (
    Announcement,
    Application,
    Association,
    AuditEvent,
    Base,
    Branch,
    CheckIn,
    Competence,
    Coordinator,
    Diffusion,
    Domain,
    FeeRecord,
    Mission,
    MissionCompetence,
    PartyAnswer,
    PriorityFlag,
    Review,
    Roadmap,
    RoadmapObjective,
    Volunteer,
    VolunteerCompetence,
)

# Insertion order, with the natural key of the entities that have one. Rows without a key carry `_parent`: they
# are written only together with their parent volunteer or mission.
STAGES: list[tuple[type[Base], tuple[str, ...]]] = [
    (Branch, ("code",)),
    (Coordinator, ("email",)),
    (Volunteer, ("email",)),
    (VolunteerCompetence, ()),
    (Association, ("name",)),
    (Mission, ("reference",)),
    (MissionCompetence, ()),
    (Announcement, ()),
    (Diffusion, ()),
    (Application, ()),
    (Roadmap, ()),
    (CheckIn, ()),
    (Review, ()),
    (PartyAnswer, ()),
    (AuditEvent, ()),
    (RoadmapObjective, ()),
    (PriorityFlag, ("volunteer_id", "domain_id")),
    (FeeRecord, ("key",)),
]
KINDS = {
    Branch: "branch",
    Coordinator: "coordinator",
    Volunteer: "volunteer",
    Association: "association",
    Mission: "mission",
    Roadmap: "roadmap",
}
ID_QUERIES = {
    "branch": select(Branch.code, Branch.id),
    "coordinator": select(Coordinator.email, Coordinator.id),
    "volunteer": select(Volunteer.email, Volunteer.id),
    "association": select(Association.name, Association.id),
    "mission": select(Mission.reference, Mission.id),
    "roadmap": select(Mission.reference, Roadmap.id).join(Mission, Mission.id == Roadmap.mission_id),
    "domain": select(Domain.code, Domain.id),
    "competence": select(Competence.code, Competence.id),
}


def _resolve(row: dict[str, Any], ids: Mapping[str, Mapping[Any, int]]) -> dict[str, Any]:
    out = {k: ids[v.kind][v.key] if isinstance(v, Ref) else v for k, v in row.items() if k != "_parent"}
    for name, value in out.items():
        if isinstance(value, KeyTemplate):
            out[name] = value.format(**out)
    return out


def write_plan(session: Session, plan: Plan) -> dict[str, int]:
    """Insert the planned rows that are not there yet, in bulk; return how many rows were added per table."""
    ids = {kind: dict(session.execute(q).tuples().all()) for kind, q in ID_QUERIES.items()}
    created: dict[str, set[Hashable]] = defaultdict(set)
    added: dict[str, int] = {}
    for model, key in STAGES:
        existing = {tuple(r) for r in session.execute(select(*(getattr(model, c) for c in key)))} if key else set()
        rows = []
        for raw in plan.rows.get(model, []):
            parent = raw.get("_parent")
            if parent is not None and parent.key not in created[parent.kind]:
                continue
            row = _resolve(raw, ids)
            natural = tuple(row[c] for c in key)
            if key and natural in existing:
                continue
            existing.add(natural)
            if model in KINDS:
                created[KINDS[model]].add(raw[key[0]] if key else None)
            rows.append(row)
        if rows:
            session.execute(insert(model), rows)
        added[model.__tablename__] = len(rows)
        if KINDS.get(model) in ID_QUERIES:
            ids[KINDS[model]] = dict(session.execute(ID_QUERIES[KINDS[model]]).tuples().all())
    return added


def table_counts(session: Session) -> dict[str, int]:
    """Rows per table of the application database."""
    return {t.name: session.scalar(select(func.count()).select_from(t)) or 0 for t in Base.metadata.sorted_tables}
