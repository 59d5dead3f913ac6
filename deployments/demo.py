"""The demo data set behind `passerelles seed`: eight branches, their teams, ~300 volunteers, ~45 associations and
~1,400 missions from 2002 to today, in every status, with what each step produces.

Deterministic: every random choice comes from `random.Random` generators seeded with a fixed string (one per
branch-year and one per mission reference), and the only notion of time is `today` (default `DEMO_TODAY`,
2026-11-26); nothing happens after 18:00 UTC that day. The same `today` always gives the same data.

Idempotent: the whole plan is built in memory first, with natural keys in place of ids (`Ref`), then only the
rows whose natural key is missing are inserted (branch code, coordinator and volunteer e-mail, association name,
mission reference, fee key, priority flag per volunteer and domain). The rows that belong to a volunteer or a
mission (competences, annonces, applications, audit trail...) are written together with it, never on their own.

Missions get no Prefect flow run here (`flow_run_id` stays empty).
"""

from __future__ import annotations

import argparse
import random
import unicodedata
from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from deployments import demo_data as data
from models import (
    Announcement,
    AnnouncementStatus,
    Application,
    ApplicationStatus,
    Association,
    AuditEvent,
    Availability,
    Base,
    Branch,
    Channel,
    CheckIn,
    CheckInStatus,
    Competence,
    Coordinator,
    Diffusion,
    Domain,
    FeeRecord,
    FeeStatus,
    Mission,
    MissionCompetence,
    ObjectivesMet,
    PriorityFlag,
    Review,
    Roadmap,
    RoadmapObjective,
    Role,
    Scope,
    Volunteer,
    VolunteerCompetence,
)  # fmt: skip
from models.association import FeeKind
from models.reference_data import FEE_SCHEDULE, TAXONOMY, ensure_reference_data
from models.rules import MissionStatus as S
from models.rules import fees_for_budget, format_reference, parse_reference

SEED = "passerelles-demo"
DEMO_TODAY = date(2026, 11, 26)
COMPETENCE_NAMES = {code: name for _, _, items in TAXONOMY for code, name in items}
COMPETENCE_DOMAINS = {code: domain for domain, _, items in TAXONOMY for code, _ in items}
FORWARD = [S.REQUESTED, S.ANALYSED, S.APPROVED, S.PUBLISHED, S.SELECTED, S.IN_PROGRESS, S.COMPLETED]
# Days (min, max) from the previous status to this one.
DELAYS = {S.ANALYSED: (4, 21), S.APPROVED: (3, 14), S.PUBLISHED: (0.2, 3), S.SELECTED: (7, 30),
          S.IN_PROGRESS: (7, 21), S.COMPLETED: (30, 150)}  # fmt: skip
CANCEL_RATE = 0.13
CANCELLED_FROM = {S.REQUESTED: 3, S.ANALYSED: 2, S.APPROVED: 1, S.PUBLISHED: 3, S.SELECTED: 1, S.IN_PROGRESS: 2}
# Statuses given in turn to the open missions of the current year, so that every status is always present.
OPEN_CYCLE = [S.REQUESTED, S.ANALYSED, S.APPROVED, S.PUBLISHED, S.SELECTED, S.IN_PROGRESS,
              S.IN_PROGRESS, S.PUBLISHED, S.IN_PROGRESS, S.ANALYSED]  # fmt: skip
WANTS_OTHER_RATE = 0.06
SCORE_WEIGHTS = {"competence": 0.55, "level": 0.15, "availability": 0.15, "priority": 0.15}
AVAILABILITY_SCORE = {Availability.AVAILABLE: 1.0, Availability.LIMITED: 0.5, Availability.UNAVAILABLE: 0.0}
APPLICATION_CHANNELS = {Channel.EMAIL: 60, Channel.FORM: 15, Channel.PHONE: 10, Channel.RELAY: 10, Channel.SOCIAL: 5}


# --- The plan: rows with natural-key references -----------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """The id of the row of `kind` whose natural key is `key`, known only once that row is in the database."""

    kind: str
    key: Hashable


class KeyTemplate(str):
    """A fee key filled from the row's resolved ids (`search:{mission_id}`)."""

    __slots__ = ()


@dataclass
class Plan:
    """Every row of the demo data set, per entity, in insertion order."""

    rows: dict[type[Base], list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))

    def add(self, model: type[Base], **values: Any) -> None:
        """Plan one row of `model`."""
        self.rows[model].append(values)


@dataclass
class Person:
    """A volunteer as the planner needs to see it."""

    email: str
    branch: str
    created_at: datetime
    consent: bool
    national: bool
    archived_at: datetime | None
    unsubscribed_at: datetime | None
    availability: Availability
    levels: dict[str, int]

    def reachable(self, at: datetime) -> bool:
        """Whether the volunteer received annonces at that moment."""
        gone = [t for t in (self.archived_at, self.unsubscribed_at) if t is not None]
        return self.consent and self.created_at < at and all(t > at for t in gone)


@dataclass
class MissionPlan:
    """The skeleton of a mission: who, what, and when each status was reached."""

    branch: str
    spec: data.AssociationSpec
    coordinator: tuple[str, str]  # e-mail, full name
    template: data.MissionTemplate
    times: dict[S, datetime]
    status: S
    cancel: tuple[S, datetime] | None
    reference: str = ""
    rng: random.Random = field(default_factory=random.Random)
    national: bool = False
    needed: int = 1
    selected: list[Person] = field(default_factory=list)

    @property
    def mission(self) -> Ref:
        """Reference to the mission row."""
        return Ref("mission", self.reference)

    def reached(self, status: S) -> bool:
        """Whether the mission got to `status` (cancelled missions keep the steps they reached)."""
        return status in self.times


def _rng(*parts: object) -> random.Random:
    return random.Random(":".join(map(str, (SEED, *parts))))


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "-".join("".join(c if c.isalnum() else " " for c in ascii_text).split())


def _unique_email(local: str, domain: str, used: set[str]) -> str:
    email, n = f"{local}@{domain}", 1
    while email in used:
        n += 1
        email = f"{local}{n}@{domain}"
    used.add(email)
    return email


def _person_name(rng: random.Random, branch: str) -> tuple[str, str, bool]:
    female = rng.random() < 0.5
    first = rng.choice(data.FEMALE_FIRST_NAMES if female else data.MALE_FIRST_NAMES)
    eastern = branch in data.EASTERN_BRANCHES and rng.random() < 0.5
    return first, rng.choice(data.EASTERN_LAST_NAMES if eastern else data.LAST_NAMES), female


def _at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def _between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A moment in [start, end], to the minute."""
    t = start + (end - start) * rng.random()
    return max(start, t.replace(second=0, microsecond=0))


def _later(rng: random.Random, t: datetime, lo: float, hi: float) -> datetime:
    """A working-hours moment `lo`..`hi` days after `t`, strictly after it."""
    d = (t + timedelta(days=rng.uniform(lo, hi))).replace(hour=rng.randint(8, 18), minute=rng.randrange(60))
    return d.replace(second=0, microsecond=0) if d > t else d + timedelta(days=1)


# --- People and organisations ----------------------------------------------------------------------------------


def _plan_branches(plan: Plan) -> None:
    for b in data.BRANCHES:
        plan.add(Branch, code=b.code, name=b.name, region=b.region, founded_on=b.founded_on,
                 created_at=_at(b.founded_on))  # fmt: skip


def _plan_coordinators(plan: Plan) -> dict[str, list[tuple[str, str]]]:
    """Teams of every branch and the national admin; returns the people who own missions, per branch."""
    rng, used = _rng("coordinators"), set[str]()
    owners: dict[str, list[tuple[str, str]]] = {}

    def add(branch: data.BranchSpec | None, role: Role, first: str, last: str) -> tuple[str, str]:
        email = _unique_email(f"{_slug(first)}.{_slug(last)}", data.STAFF_DOMAIN, used)
        joined = _at((branch.founded_on if branch else date(2002, 9, 1)) + timedelta(days=rng.randint(0, 15)))
        plan.add(Coordinator, branch_id=Ref("branch", branch.code) if branch else None, first_name=first,
                 last_name=last, email=email, role=role, active=True, created_at=joined)  # fmt: skip
        return email, f"{first} {last}"

    add(None, Role.ADMIN, *data.ADMIN)
    for b in data.BRANCHES:
        team = [add(b, Role.PASSERELLE, *_person_name(rng, b.code)[:2]) for _ in range(b.passerelles)]
        lead = add(b, Role.BRANCH_LEAD, *_person_name(rng, b.code)[:2])
        for _ in range(b.support):
            add(b, Role.SUPPORT, *_person_name(rng, b.code)[:2])
        owners[b.code] = [*team, lead]
    return owners


def _plan_volunteers(plan: Plan, now: datetime) -> list[Person]:
    """Volunteers of every branch; the first eight of each are there from the branch's first weeks."""
    rng, used, people = _rng("volunteers"), set[str](), []
    for b in data.BRANCHES:
        offset = rng.randrange(len(data.PROFESSIONS))
        for i in range(b.volunteers):
            first, last, female = _person_name(rng, b.code)
            email = _unique_email(f"{_slug(first)}.{_slug(last)}", rng.choice(data.PERSONAL_DOMAINS), used)
            founder = i < 8
            span = (now - _at(b.founded_on)).days
            created = _at(
                b.founded_on + timedelta(days=rng.randint(1, 15) if founder else int(span * rng.random() ** 1.3)),
                rng.randint(8, 20),
            )
            gone = None if founder else _between(rng, created + (now - created) * 0.3, now - timedelta(days=1))
            fate = rng.random()
            # Professions go round so that each branch has people for every kind of mission.
            profession = data.PROFESSIONS[(offset + i) % len(data.PROFESSIONS)]
            size = rng.choices([1, 2, 3, 4], weights=[1, 3, 4, 3])[0]
            codes = rng.sample(profession.competences, min(size, len(profession.competences)))
            levels = {c: rng.choice([2, 3, 3]) if k == 0 else rng.choice([1, 2, 2, 3]) for k, c in enumerate(codes)}
            person = Person(
                email=email, branch=b.code, created_at=created, consent=founder or rng.random() < 0.9,
                national=rng.random() < 0.35, archived_at=gone if fate < 0.04 else None,
                unsubscribed_at=gone if 0.04 <= fate < 0.09 else None,
                availability=rng.choices(list(Availability), weights=[65, 25, 10])[0], levels=levels,
            )  # fmt: skip
            person.national = person.national and person.consent
            people.append(person)
            plan.add(Volunteer, branch_id=Ref("branch", b.code), first_name=first, last_name=last, email=email,
                     phone=f"06 39 98 {rng.randint(0, 99):02d} {rng.randint(0, 99):02d}",
                     city=rng.choice(b.cities), profession=profession.feminine if female else profession.masculine,
                     consent_annonces=person.consent, consent_national=person.national,
                     is_relay=rng.random() < 0.55, availability=person.availability, created_at=created,
                     archived_at=person.archived_at, unsubscribed_at=person.unsubscribed_at)  # fmt: skip
            for code, level in levels.items():
                plan.add(VolunteerCompetence, _parent=Ref("volunteer", email), volunteer_id=Ref("volunteer", email),
                         competence_id=Ref("competence", code), level=level)  # fmt: skip
    return people


def _association_created(spec: data.AssociationSpec) -> datetime:
    branch = next(b for b in data.BRANCHES if b.code == spec.branch)
    return _at(max(date(spec.since, 1, 2), branch.founded_on + timedelta(days=1)))


def _plan_associations(plan: Plan, missions: list[MissionPlan]) -> None:
    """Associations; their values were validated at the needs meeting of their first analysed mission."""
    rng, validated = _rng("associations"), dict[str, date]()
    for m in sorted((m for m in missions if m.reached(S.ANALYSED)), key=lambda m: m.times[S.ANALYSED]):
        validated.setdefault(m.spec.name, m.times[S.ANALYSED].date())
    for spec in data.ASSOCIATIONS:
        first, last, _ = _person_name(rng, spec.branch)
        domain = f"{_slug(spec.name)[:40].rstrip('-')}.example"
        plan.add(Association, branch_id=Ref("branch", spec.branch), name=spec.name, city=spec.city,
                 purpose=spec.purpose, contact_name=f"{first} {last}",
                 contact_email=f"{_slug(first)}.{_slug(last)}@{domain}",
                 contact_phone=f"01 99 00 {rng.randint(0, 99):02d} {rng.randint(0, 99):02d}",
                 annual_budget=spec.budget, values_validated_on=validated.get(spec.name),
                 created_at=_association_created(spec))  # fmt: skip


# --- Mission skeletons -----------------------------------------------------------------------------------------


def _full_timeline(rng: random.Random, requested_at: datetime) -> dict[S, datetime]:
    """When each forward status would be reached if nothing stopped the mission."""
    times, prev = {S.REQUESTED: requested_at}, requested_at
    revise = rng.random() < 0.25  # a revised annonce round takes longer to approve
    for status in FORWARD[1:]:
        lo, hi = DELAYS[status]
        prev = times[status] = _later(rng, prev, lo + 4 * revise, hi + 10 * revise)
    return times


def _yearly_volumes(branch: data.BranchSpec, rng: random.Random, today: date) -> dict[int, int]:
    volumes = {}
    for year in range(branch.founded_on.year, today.year + 1):
        jitter = branch.missions_per_year // 8 + 1
        n = branch.missions_per_year + rng.randint(-jitter, jitter)
        if branch.code == "STR":
            n = data.STRASBOURG_VOLUMES.get(year, n)
        share = 1.0
        if year == branch.founded_on.year:
            share = 1 - branch.founded_on.timetuple().tm_yday / 365
        elif year == today.year:
            share = today.timetuple().tm_yday / 365
        volumes[year] = max(2, round(n * share))
    return volumes


def _shift_to(rng: random.Random, times: dict[S, datetime], target: S, now: datetime) -> dict[S, datetime]:
    """Move a timeline so that `now` falls after `target` and before the next status: by whole days if possible."""
    reached, nxt = times[target], times[FORWARD[FORWARD.index(target) + 1]]
    first_day, last_day = (now - nxt) // timedelta(days=1) + 1, (now - reached) // timedelta(days=1)
    if first_day <= last_day:
        shift = timedelta(days=rng.randint(first_day, last_day))
    else:
        shift = now - nxt + (nxt - reached) * rng.uniform(0.1, 0.9)
        shift = timedelta(minutes=shift // timedelta(minutes=1))
    return {s: t + shift for s, t in times.items()}


def _skeleton(rng: random.Random, branch: data.BranchSpec, year: int, now: datetime, target: S | None,
              owners: list[tuple[str, str]]) -> MissionPlan:  # fmt: skip
    """One mission's association, kind and timeline: forced to be open in `target`, or free to end as it goes."""
    last = min(_at(date(year, 12, 31), 18), now)
    first = min(last, max(_at(date(year, 1, 2), 8), _at(branch.founded_on + timedelta(days=20))))
    if target is None:
        requested = _between(rng, first, last).replace(hour=rng.randint(8, 17))
        times = _full_timeline(rng, min(requested, last))
    else:
        times = _shift_to(rng, _full_timeline(rng, first), target, now)
    cancel = None
    if target is None and rng.random() < CANCEL_RATE:
        frm = rng.choices(list(CANCELLED_FROM), weights=list(CANCELLED_FROM.values()))[0]
        cancel = (frm, _later(rng, times[frm], 2, 20))
        times = {s: t for s, t in times.items() if FORWARD.index(s) <= FORWARD.index(frm)}
    times = {s: t for s, t in times.items() if t <= now}
    status = S.CANCELLED if cancel and cancel[1] <= now and cancel[0] in times else max(times, key=FORWARD.index)
    requested = times[S.REQUESTED]
    specs = [a for a in data.ASSOCIATIONS if a.branch == branch.code and _association_created(a) < requested]
    return MissionPlan(branch=branch.code, spec=rng.choice(specs),
                       coordinator=owners[-1] if rng.random() < 0.1 else rng.choice(owners[:-1]),
                       template=rng.choice(data.MISSION_TEMPLATES), times=times, status=status,
                       cancel=cancel if status is S.CANCELLED else None)  # fmt: skip


def _plan_skeletons(today: date, owners: dict[str, list[tuple[str, str]]]) -> list[MissionPlan]:
    """All missions of all branches, numbered per branch and year in order of request."""
    now = _at(today, 18)
    missions: list[MissionPlan] = []
    for index, branch in enumerate(data.BRANCHES):
        for year, n in _yearly_volumes(branch, _rng("volume", branch.code), today).items():
            rng = _rng(branch.code, year)
            forced = min(n, max(2, n // 3)) if year == today.year else 0
            targets = [OPEN_CYCLE[(index + k) % len(OPEN_CYCLE)] for k in range(forced)] + [None] * (n - forced)
            missions += [_skeleton(rng, branch, year, now, t, owners[branch.code]) for t in targets]
    missions.sort(key=lambda m: (m.branch, m.times[S.REQUESTED]))
    seqs: dict[tuple[str, int], int] = defaultdict(int)
    for m in missions:
        year = m.times[S.REQUESTED].year
        seqs[m.branch, year] += 1
        m.reference = format_reference(m.branch, year, seqs[m.branch, year])
        m.rng = _rng(m.reference)
    return missions


# --- What each step produces -----------------------------------------------------------------------------------


def _audit(plan: Plan, m: MissionPlan, key: str, action: str, at: datetime, frm: S | None, to: S | None,
           **details: Any) -> None:  # fmt: skip
    plan.add(AuditEvent, _parent=m.mission, mission_id=m.mission, at=at, actor=m.coordinator[1], action=action,
             step_key=key, from_status=frm, to_status=to, details=details)  # fmt: skip


def _plan_mission(plan: Plan, m: MissionPlan, now: datetime) -> None:
    """The mission row, its competences, its annonce rounds and its audit trail up to publication."""
    rng, t, tpl, spec = m.rng, m.times, m.template, m.spec
    analysed = m.reached(S.ANALYSED)
    m.national = analysed and tpl.remote and rng.random() < 0.7
    m.needed = 2 if analysed and rng.random() < 0.1 else 1
    start = meeting = None
    if analysed:
        start = t[S.ANALYSED].date() + timedelta(days=rng.randint(30, 50))
        meeting = max(t[S.REQUESTED].date(), t[S.ANALYSED].date() - timedelta(days=rng.randint(0, 3)))
    effort = rng.choice(data.EFFORTS)
    cancel_reason = rng.choice(data.CANCEL_REASONS[m.cancel[0].value]) if m.cancel else ""
    _, year, seq = parse_reference(m.reference)
    plan.add(Mission, reference=m.reference, branch_id=Ref("branch", m.branch), year=year, seq=seq,
             association_id=Ref("association", spec.name), coordinator_id=Ref("coordinator", m.coordinator[0]),
             status=m.status, title=tpl.title, request=tpl.request,
             need=tpl.need if analysed else "",
             deliverables="; ".join(d for _, d in tpl.objectives) if analysed else "",
             domain_id=Ref("domain", tpl.domain) if analysed else None,
             scope=Scope.NATIONAL if m.national else Scope.REGIONAL,
             volunteers_needed=m.needed, effort=effort if analysed else "",
             expected_start=start, expected_end=start + timedelta(days=rng.randint(60, 120)) if start else None,
             needs_meeting_on=meeting, requested_at=t[S.REQUESTED], analysed_at=t.get(S.ANALYSED),
             approved_at=t.get(S.APPROVED), published_at=t.get(S.PUBLISHED), selected_at=t.get(S.SELECTED),
             started_at=t.get(S.IN_PROGRESS), completed_at=t.get(S.COMPLETED),
             cancelled_at=m.cancel[1] if m.cancel else None, cancel_reason=cancel_reason,
             cancelled_from=m.cancel[0] if m.cancel else None)  # fmt: skip
    _audit(plan, m, "request", "request", t[S.REQUESTED], None, S.REQUESTED)
    if m.cancel:
        _audit(plan, m, "cancel", "cancel", m.cancel[1], m.cancel[0], S.CANCELLED, reason=cancel_reason)
    if not analysed:
        return
    for code, level in tpl.competences:
        plan.add(MissionCompetence, _parent=m.mission, mission_id=m.mission, competence_id=Ref("competence", code),
                 min_level=level)  # fmt: skip
    _audit(plan, m, "needs-analysis", "needs_analysis", t[S.ANALYSED], S.REQUESTED, S.ANALYSED,
           meeting_on=meeting.isoformat() if meeting else None, values_accepted=True)  # fmt: skip
    _plan_announcements(plan, m, effort, now)


def _plan_announcements(plan: Plan, m: MissionPlan, effort: str, now: datetime) -> None:
    """Annonce rounds: a draft awaiting the association, a revised round, the approved one, or a cancelled one."""
    rng, t, tpl, spec = m.rng, m.times, m.template, m.spec
    remote = "à distance possible, annonce diffusée dans toute la France"
    place = remote if m.national else f"{spec.city} et alentours"
    text = data.ANNOUNCEMENT_TEXT.format(
        title=tpl.title, association=spec.name, city=spec.city, purpose=spec.purpose, need=tpl.need, effort=effort,
        competences=", ".join(COMPETENCE_NAMES[c] for c, _ in tpl.competences), place=place,
    )  # fmt: skip
    social = data.SOCIAL_TEXT.format(association=spec.name, title=tpl.title, effort=effort)
    drafted = t[S.ANALYSED] + timedelta(minutes=10)
    common = {"_parent": m.mission, "mission_id": m.mission, "text": text, "social_text": social}
    if not m.reached(S.APPROVED):
        if m.cancel:
            plan.add(Announcement, **common, round=1, status=AnnouncementStatus.CANCELLED, created_at=drafted,
                     decided_at=m.cancel[1])  # fmt: skip
        elif drafted <= now:
            plan.add(Announcement, **common, round=1, status=AnnouncementStatus.DRAFT, created_at=drafted)
        return
    approved, rounds = t[S.APPROVED], 1
    if (approved - t[S.ANALYSED]).days >= 8 and rng.random() < 0.4:
        decided = _between(rng, drafted + timedelta(days=1), approved - timedelta(days=2))
        remarks = rng.choice(data.REVISION_REMARKS)
        plan.add(Announcement, **common, round=1, status=AnnouncementStatus.REVISE, remarks=remarks,
                 created_at=drafted, decided_at=decided)  # fmt: skip
        _audit(plan, m, "annonce-review-1", "annonce_revise", decided, S.ANALYSED, S.ANALYSED, round=1)
        drafted, rounds = decided + timedelta(hours=2), 2
    plan.add(Announcement, **common, round=rounds, status=AnnouncementStatus.APPROVED, created_at=drafted,
             decided_at=approved)  # fmt: skip
    _audit(plan, m, f"annonce-review-{rounds}", "annonce_approve", approved, S.ANALYSED, S.APPROVED, round=rounds)


def _score(person: Person, m: MissionPlan, priority: bool) -> tuple[float, dict[str, Any]]:
    """A matching score in [0, 1] and its breakdown, like the one the Passerelle sees at selection."""
    needed, cover, level = m.template.competences, 0.0, 0
    for code, min_level in needed:
        has = person.levels.get(code, 0)
        cover += 1.0 if has >= min_level else 0.5 if has else 0.0
        level += has
    detail = {
        "competence": round(cover / len(needed), 3),
        "level": round(level / (3 * len(needed)), 3),
        "availability": AVAILABILITY_SCORE[person.availability],
        "priority": 1.0 if priority else 0.0,
    }
    return round(sum(SCORE_WEIGHTS[k] * v for k, v in detail.items()), 3), detail


class FlagBook:
    """Priority flags over time: raised when a volunteer not selected wants another mission, cleared by a bilan."""

    def __init__(self) -> None:
        self.spans: dict[tuple[str, str], list[list[Any]]] = {}  # [since, cleared_at, source, cleared_by]

    def active(self, email: str, domain: str, at: datetime) -> bool:
        """Whether the volunteer had priority in the domain at that moment."""
        return any(s[0] <= at and (s[1] is None or s[1] > at) for s in self.spans.get((email, domain), []))

    def raise_flag(self, email: str, domain: str, at: datetime, reference: str) -> None:
        """Give priority from `at` on, unless the volunteer already has it."""
        if not self.active(email, domain, at):
            self.spans.setdefault((email, domain), []).append([at, None, reference, None])

    def clear(self, email: str, domain: str, at: datetime, reference: str) -> None:
        """End the priority the volunteer had before `at`."""
        for span in self.spans.get((email, domain), []):
            if span[0] < at and span[1] is None:
                span[1], span[3] = at, reference

    def plan(self, plan: Plan) -> None:
        """One flag row per volunteer and domain: the latest span."""
        for (email, domain), spans in self.spans.items():
            since, cleared, source, cleared_by = max(spans, key=lambda s: s[0])
            plan.add(PriorityFlag, volunteer_id=Ref("volunteer", email), domain_id=Ref("domain", domain),
                     since=since, source_mission_id=Ref("mission", source), cleared_at=cleared,
                     cleared_by_mission_id=Ref("mission", cleared_by) if cleared_by else None)  # fmt: skip


def _applicants(rng: random.Random, m: MissionPlan, pool: list[Person], scores: dict[str, Any],
                count: int) -> list[Person]:  # fmt: skip
    """Who answers the annonce: volunteers with a required competence (priority ones more often), sometimes one
    volunteer of the same domain or, failing that, anyone."""
    needed = {c for c, _ in m.template.competences}
    holders = [p for p in pool if needed & p.levels.keys()]
    weight = {p.email: 1 + 2 * scores[p.email][1]["priority"] for p in holders}
    chosen = sorted(holders, key=lambda p: rng.random() ** (1 / weight[p.email]), reverse=True)[:count]
    if count and ((len(chosen) < count and rng.random() < 0.5) or not chosen):
        others = [p for p in pool if p not in chosen]
        near = [p for p in others if any(COMPETENCE_DOMAINS[c] == m.template.domain for c in p.levels)]
        chosen += [rng.choice(near or others)] if others else []
    return chosen


def _channel(rng: random.Random, person: Person, m: MissionPlan) -> Channel:
    """How an application came in: mostly an answer to the annonce mail."""
    if person.branch != m.branch:
        return Channel.NATIONAL_EMAIL
    return rng.choices(list(APPLICATION_CHANNELS), weights=list(APPLICATION_CHANNELS.values()))[0]


def _plan_search(plan: Plan, m: MissionPlan, people: list[Person], flags: FlagBook, now: datetime) -> None:
    """Diffusion rounds, applications, selection and the priority flags it raises or clears."""
    rng, t, domain = m.rng, m.times, m.template.domain
    published = t[S.PUBLISHED]
    pool = [p for p in people if (p.branch == m.branch or (m.national and p.national)) and p.reachable(published)]
    local = [p for p in pool if p.branch == m.branch]
    priority = sum(flags.active(p.email, domain, published) for p in pool)
    channels = [(Channel.EMAIL, len(local))] + [(Channel.NATIONAL_EMAIL, len(pool) - len(local))] * m.national
    for channel, audience in [*channels, (Channel.SOCIAL, 0)]:
        plan.add(Diffusion, _parent=m.mission, mission_id=m.mission, channel=channel, round=1, audience_size=audience,
                 priority_count=priority if channel is not Channel.SOCIAL else 0, sent_at=published)  # fmt: skip
    _audit(plan, m, "diffusion-1", "diffusion", published, S.APPROVED, S.PUBLISHED, audience=len(pool),
           priority=priority)  # fmt: skip
    end = min([x for x in (t.get(S.SELECTED), m.cancel[1] if m.cancel else None, now) if x is not None])
    if (end - published).days >= 10 and rng.random() < 0.15:
        sent = published + timedelta(days=rng.randint(7, 9))
        plan.add(Diffusion, _parent=m.mission, mission_id=m.mission, channel=Channel.EMAIL, round=2,
                 audience_size=len(local), priority_count=priority, sent_at=sent)  # fmt: skip
        _audit(plan, m, "diffusion-2", "diffusion", sent, S.PUBLISHED, S.PUBLISHED, audience=len(local))
    if end - published < timedelta(minutes=5):
        return
    count = rng.randint(1, 6) if m.reached(S.SELECTED) else rng.randint(0, 4 if m.status is S.PUBLISHED else 2)
    # Priority volunteers of the domain get the annonce first and go first at selection.
    scores = {p.email: _score(p, m, flags.active(p.email, domain, published)) for p in pool}
    scored = [(p, *scores[p.email]) for p in _applicants(rng, m, pool, scores, count)]
    ranked = sorted(scored, key=lambda x: (x[2]["competence"] > 0, x[2]["priority"], x[1] + rng.uniform(0, 0.15)),
                    reverse=True)  # fmt: skip
    m.selected = [p for p, _, _ in ranked[: m.needed]] if m.reached(S.SELECTED) else []
    flagged = []
    for p, score, detail in scored:
        status, decided, wants = ApplicationStatus.RECEIVED, None, False
        if m.reached(S.SELECTED):
            decided, wants = t[S.SELECTED], p not in m.selected and rng.random() < WANTS_OTHER_RATE
            status = ApplicationStatus.SELECTED if p in m.selected else ApplicationStatus.NOT_SELECTED
        elif m.cancel:
            status, decided = ApplicationStatus.CLOSED, m.cancel[1]
        if wants:
            flags.raise_flag(p.email, domain, t[S.SELECTED], m.reference)
            flagged.append(p.email)
        plan.add(Application, _parent=m.mission, mission_id=m.mission, volunteer_id=Ref("volunteer", p.email),
                 status=status, channel=_channel(rng, p, m),
                 message=rng.choice(data.APPLICATION_MESSAGES), score=score, score_detail=detail,
                 wants_other_mission=wants, applied_at=_between(rng, published + timedelta(minutes=1), end),
                 decided_at=decided)  # fmt: skip
    if m.reached(S.SELECTED):
        _audit(plan, m, "selection", "selection", t[S.SELECTED], S.PUBLISHED, S.SELECTED,
               applicants=len(scored), selected=len(m.selected), priority_flagged=len(flagged))  # fmt: skip
    if m.reached(S.COMPLETED):
        for p in m.selected:
            flags.clear(p.email, domain, t[S.COMPLETED], m.reference)


def _plan_follow_up(plan: Plan, m: MissionPlan, now: datetime) -> None:
    """Roadmap, check-ins and bilan of a mission whose search is closed."""
    rng, t = m.rng, m.times
    started = t[S.IN_PROGRESS]
    start = started.date()
    end_on = start + timedelta(days=rng.randint(45, 120))
    every = rng.choice([14, 21, 30])
    plan.add(
        Roadmap,
        _parent=m.mission,
        mission_id=m.mission,
        start_on=start,
        end_on=end_on,
        checkin_every_days=every,
        validated_on=start,
        notes=rng.choice(data.ROADMAP_NOTES),
        created_at=started,
    )
    objectives = m.template.objectives[: rng.randint(1, len(m.template.objectives))]
    for k, (objective, deliverable) in enumerate(objectives, 1):
        plan.add(RoadmapObjective, _parent=m.mission, roadmap_id=Ref("roadmap", m.reference), position=k,
                 objective=objective, deliverable=deliverable,
                 due_on=start + (end_on - start) * k // len(objectives))  # fmt: skip
    _audit(plan, m, "roadmap", "roadmap", started, S.SELECTED, S.IN_PROGRESS, objectives=len(objectives))
    stop = t.get(S.COMPLETED) or (m.cancel[1] if m.cancel else now)
    days = [start + timedelta(days=every * k) for k in range(1, 7)]
    days = [d for d in days if d < stop.date()]
    for n, day in enumerate(days, 1):
        status = rng.choices(list(CheckInStatus), weights=[75, 20, 5])[0]
        if m.cancel and n == len(days):
            status = CheckInStatus.BLOCKED
        at = _at(day, 18)
        plan.add(CheckIn, _parent=m.mission, mission_id=m.mission, number=n, held_on=day, status=status,
                 notes=rng.choice(data.CHECK_IN_NOTES[status.value]), created_at=at)  # fmt: skip
        _audit(plan, m, f"check-in-{n}", "check_in", at, S.IN_PROGRESS, S.IN_PROGRESS, status=status.value)
    if m.reached(S.COMPLETED):
        met = rng.choices(list(ObjectivesMet), weights=[70, 25, 5])[0]
        best = 5 if met is ObjectivesMet.YES else 4 if met is ObjectivesMet.PARTLY else 3
        ratings = [rng.choices(range(1, best + 1), weights=[1, 3, 8, 30, 50][:best])[0] for _ in range(2)]
        plan.add(
            Review,
            _parent=m.mission,
            mission_id=m.mission,
            held_on=t[S.COMPLETED].date(),
            association_rating=ratings[0],
            volunteer_rating=ratings[1],
            objectives_met=met,
            testimony=rng.choice(data.TESTIMONIES),
            association_would_redo=ratings[0] >= 3,
            volunteer_would_redo=ratings[1] >= 3 or rng.random() < 0.5,
            created_at=t[S.COMPLETED],
        )
        _audit(plan, m, "review", "review", t[S.COMPLETED], S.IN_PROGRESS, S.COMPLETED, objectives_met=met.value)


# --- Fees ------------------------------------------------------------------------------------------------------


def _fee_status(rng: random.Random, due_on: date, today: date) -> tuple[FeeStatus, date | None, str]:
    """Old fees are mostly paid, a few waived or still owed; recent ones are often still due."""
    if due_on + timedelta(days=45) >= today:
        if rng.random() < 0.5:
            return FeeStatus.DUE, None, ""
        return FeeStatus.PAID, min(today, due_on - timedelta(days=rng.randint(0, 25))), ""
    roll = rng.random()
    if roll < 0.04:
        return FeeStatus.WAIVED, None, data.WAIVED_NOTE
    if roll < 0.08:
        return FeeStatus.DUE, None, "Relance envoyée, règlement en attente."
    return FeeStatus.PAID, due_on + timedelta(days=rng.randint(-25, 40)), ""


def _plan_fees(plan: Plan, missions: list[MissionPlan], today: date) -> None:
    rng = _rng("fees")
    for spec in data.ASSOCIATIONS:
        fees = fees_for_budget(spec.budget, FEE_SCHEDULE)
        joined = _association_created(spec).date()
        for year in range(joined.year, today.year + 1):
            due_on = max(date(year, 3, 31), joined + timedelta(days=30))
            status, paid_on, note = _fee_status(rng, due_on, today)
            plan.add(FeeRecord, key=KeyTemplate("membership:{association_id}:{year}"),
                     association_id=Ref("association", spec.name), mission_id=None, kind=FeeKind.MEMBERSHIP,
                     year=year, amount=fees.membership_fee, status=status, due_on=due_on, paid_on=paid_on,
                     note=note or f"Cotisation annuelle {year}")  # fmt: skip
    for m in missions:
        if not m.reached(S.PUBLISHED):
            continue
        published = m.times[S.PUBLISHED].date()
        status, paid_on, note = _fee_status(rng, published + timedelta(days=30), today)
        if m.cancel and m.cancel[0] is S.PUBLISHED:
            status, paid_on, note = FeeStatus.WAIVED, None, "Recherche sans suite : participation annulée."
        plan.add(FeeRecord, key=KeyTemplate("search:{mission_id}"), association_id=Ref("association", m.spec.name),
                 mission_id=m.mission, kind=FeeKind.SEARCH, year=published.year,
                 amount=fees_for_budget(m.spec.budget, FEE_SCHEDULE).search_fee, status=status,
                 due_on=published + timedelta(days=30), paid_on=max(published, paid_on) if paid_on else None,
                 note=note or f"Participation aux frais de recherche, mission {m.reference}")  # fmt: skip


def build_plan(today: date = DEMO_TODAY) -> Plan:
    """Every row of the demo data set as of `today`, with natural keys for foreign keys. Pure and deterministic."""
    now = _at(today, 18)
    plan = Plan()
    _plan_branches(plan)
    owners = _plan_coordinators(plan)
    people = _plan_volunteers(plan, now)
    missions = _plan_skeletons(today, owners)
    _plan_associations(plan, missions)
    for m in missions:
        _plan_mission(plan, m, now)
    # In order of publication, so that priority flags raised by one selection count for the next annonces.
    flags = FlagBook()
    for m in sorted((m for m in missions if m.reached(S.PUBLISHED)), key=lambda m: m.times[S.PUBLISHED]):
        _plan_search(plan, m, people, flags, now)
    for m in missions:
        if m.reached(S.IN_PROGRESS):
            _plan_follow_up(plan, m, now)
    flags.plan(plan)
    _plan_fees(plan, missions, today)
    return plan


# --- Writing the plan ------------------------------------------------------------------------------------------

# Insertion order, with the natural key of the entities that have one. Rows without a key carry `_parent`: they
# are written only together with their parent volunteer or mission.
STAGES: list[tuple[type[Base], tuple[str, ...]]] = [
    (Branch, ("code",)), (Coordinator, ("email",)), (Volunteer, ("email",)), (VolunteerCompetence, ()),
    (Association, ("name",)), (Mission, ("reference",)), (MissionCompetence, ()), (Announcement, ()),
    (Diffusion, ()), (Application, ()), (Roadmap, ()), (CheckIn, ()), (Review, ()), (AuditEvent, ()),
    (RoadmapObjective, ()), (PriorityFlag, ("volunteer_id", "domain_id")), (FeeRecord, ("key",)),
]  # fmt: skip
KINDS = {Branch: "branch", Coordinator: "coordinator", Volunteer: "volunteer", Association: "association",
         Mission: "mission", Roadmap: "roadmap"}  # fmt: skip
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


def _resolve(row: dict[str, Any], ids: dict[str, dict[Hashable, int]]) -> dict[str, Any]:
    out = {k: ids[v.kind][v.key] if isinstance(v, Ref) else v for k, v in row.items() if k != "_parent"}
    if isinstance(out.get("key"), KeyTemplate):
        out["key"] = out["key"].format(**out)
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


def seed(session: Session, *, today: date | None = None) -> dict[str, int]:
    """Load the demo data set as of `today` (default DEMO_TODAY); a second run adds nothing. Returns rows per table.

    Flushes, does not commit: the caller owns the transaction.
    """
    ensure_reference_data(session)
    write_plan(session, build_plan(today or DEMO_TODAY))
    session.flush()
    return table_counts(session)


TABLE_LABELS = {
    "domain": "domaines de compétences", "competence": "compétences", "fee_bracket": "tranches du barème",
    "branch": "antennes", "coordinator": "Passerelles et équipes", "volunteer": "bénévoles",
    "volunteer_competence": "compétences des bénévoles", "association": "associations", "mission": "missions",
    "mission_competence": "compétences requises", "announcement": "annonces", "diffusion": "diffusions",
    "application": "candidatures", "roadmap": "feuilles de route", "roadmap_objective": "objectifs",
    "check_in": "points de suivi", "review": "bilans", "audit_event": "journal des étapes",
    "priority_flag": "bénévoles prioritaires", "fee_record": "cotisations et participations",
    "outbox_mail": "courriels en attente",
}  # fmt: skip


def summary(before: dict[str, int], after: dict[str, int]) -> str:
    """A French table: rows added and total per table."""
    width = max(map(len, TABLE_LABELS.values()))
    lines = [f"{'Table':<{width}}  {'Ajoutées':>9}  {'Total':>7}", "-" * (width + 20)]
    for name, total in after.items():
        label = TABLE_LABELS.get(name, name)
        lines.append(f"{label:<{width}}  {total - before.get(name, 0):>9}  {total:>7}")
    lines.append(f"{'Total':<{width}}  {sum(after.values()) - sum(before.values()):>9}  {sum(after.values()):>7}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """`passerelles seed`: migrate the database, then load the demo data set (idempotent)."""
    from models.db import unit_of_work, upgrade
    from models.settings import get_settings

    parser = argparse.ArgumentParser(prog="passerelles seed", description="Charge les données de démonstration.")
    parser.add_argument("--date", type=date.fromisoformat, default=DEMO_TODAY, metavar="AAAA-MM-JJ",
                        help=f"date de référence des données (défaut : {DEMO_TODAY.isoformat()})")  # fmt: skip
    args = parser.parse_args(argv)
    upgrade()
    with unit_of_work() as session:
        before = table_counts(session)
        after = seed(session, today=args.date)
    url = make_url(get_settings().database_url).render_as_string(hide_password=True)
    print(f"Données de démonstration au {args.date.strftime('%d/%m/%Y')} dans {url}\n")
    print(summary(before, after))
    if after == before:
        print("\nRien à ajouter : les données de démonstration étaient déjà là.")
    return 0
