"""Missions of the demo data set: when each one reached each status, its row, its annonces and its follow-up.

The search itself (diffusion, applications, selection) is in `search`, since it depends on every other mission.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime, timedelta

from deployments.demo import data
from deployments.demo.plan import (
    KeyTemplate,
    MissionPlan,
    Plan,
    Ref,
    association_created,
    audit,
    between,
    moment,
    seeded_rng,
)
from models import (
    Announcement,
    AnnouncementStatus,
    CheckIn,
    CheckInStatus,
    Mission,
    MissionCompetence,
    ObjectivesMet,
    PartyAnswer,
    Review,
    Roadmap,
    RoadmapObjective,
    Scope,
)
from models.reference_data import TAXONOMY
from models.rules import MissionStatus as S
from models.rules import format_reference, parse_reference
from models.waves import Wave
from tasks.links import annonce_url
from tasks.parties import ASSOCIATION, TESTIMONY_CONSENT
from tasks.steps import ANNOUNCEMENT, CHECK_IN, NEEDS_ANALYSIS, REVIEW, ROADMAP

COMPETENCE_NAMES = {code: name for _, _, items in TAXONOMY for code, name in items}
FORWARD: list[S] = [S.REQUESTED, S.ANALYSED, S.APPROVED, S.PUBLISHED, S.SELECTED, S.IN_PROGRESS, S.COMPLETED]
# Days (min, max) from the previous status to this one.
DELAYS = {
    S.ANALYSED: (4, 21),
    S.APPROVED: (3, 14),
    S.PUBLISHED: (0.2, 3),
    S.SELECTED: (7, 30),
    S.IN_PROGRESS: (7, 21),
    S.COMPLETED: (30, 150),
}
CANCEL_RATE = 0.13
CANCELLED_FROM = {S.REQUESTED: 3, S.ANALYSED: 2, S.APPROVED: 1, S.PUBLISHED: 3, S.SELECTED: 1, S.IN_PROGRESS: 2}
# Statuses given in turn to the open missions of the current year, so that every status is always present.
OPEN_CYCLE = [
    S.REQUESTED,
    S.ANALYSED,
    S.APPROVED,
    S.PUBLISHED,
    S.SELECTED,
    S.IN_PROGRESS,
    S.IN_PROGRESS,
    S.PUBLISHED,
    S.IN_PROGRESS,
    S.ANALYSED,
]


def _later(rng: random.Random, t: datetime, lo: float, hi: float) -> datetime:
    """A working-hours moment `lo`..`hi` days after `t`, strictly after it."""
    d = (t + timedelta(days=rng.uniform(lo, hi))).replace(hour=rng.randint(8, 18), minute=rng.randrange(60))
    return d.replace(second=0, microsecond=0) if d > t else d + timedelta(days=1)


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


def _skeleton(
    rng: random.Random,
    branch: data.BranchSpec,
    year: int,
    now: datetime,
    target: S | None,
    owners: list[tuple[str, str]],
) -> MissionPlan:
    """One mission's association, kind and timeline: forced to be open in `target`, or free to end as it goes."""
    last = min(moment(date(year, 12, 31), 18), now)
    first = min(last, max(moment(date(year, 1, 2), 8), moment(branch.founded_on + timedelta(days=20))))
    if target is None:
        requested = between(rng, first, last).replace(hour=rng.randint(8, 17))
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
    specs = [a for a in data.ASSOCIATIONS if a.branch == branch.code and association_created(a) < requested]
    return MissionPlan(
        branch=branch.code,
        spec=rng.choice(specs),
        coordinator=owners[-1] if rng.random() < 0.1 else rng.choice(owners[:-1]),
        template=rng.choice(data.MISSION_TEMPLATES),
        times=times,
        status=status,
        cancel=cancel if status is S.CANCELLED else None,
    )


def plan_skeletons(today: date, owners: dict[str, list[tuple[str, str]]]) -> list[MissionPlan]:
    """All missions of all branches, numbered per branch and year in order of request."""
    now = moment(today, 18)
    missions: list[MissionPlan] = []
    for index, branch in enumerate(data.BRANCHES):
        for year, n in _yearly_volumes(branch, seeded_rng("volume", branch.code), today).items():
            rng = seeded_rng(branch.code, year)
            forced = min(n, max(2, n // 3)) if year == today.year else 0
            targets = [OPEN_CYCLE[(index + k) % len(OPEN_CYCLE)] for k in range(forced)] + [None] * (n - forced)
            missions += [_skeleton(rng, branch, year, now, t, owners[branch.code]) for t in targets]
    missions.sort(key=lambda m: (m.branch, m.times[S.REQUESTED]))
    seqs: dict[tuple[str, int], int] = defaultdict(int)
    for m in missions:
        year = m.times[S.REQUESTED].year
        seqs[m.branch, year] += 1
        m.reference = format_reference(m.branch, year, seqs[m.branch, year])
        m.rng = seeded_rng(m.reference)
    return missions


# --- What each step produces -----------------------------------------------------------------------------------


def plan_mission(plan: Plan, m: MissionPlan, now: datetime) -> None:
    """The mission row, its competences, its annonce rounds and its audit trail up to publication."""
    rng, t, tpl, spec = m.rng, m.times, m.template, m.spec
    analysed = m.reached(S.ANALYSED)
    m.national = analysed and tpl.remote and rng.random() < 0.7
    if S.PUBLISHED in t:  # a remote mission published less than a week ago still waits for its national wave
        fresh = m.status is S.PUBLISHED and now - t[S.PUBLISHED] < timedelta(days=7)
        m.wave = Wave.NATIONAL if m.national and not fresh else Wave.BRANCH
    m.needed = 2 if analysed and rng.random() < 0.1 else 1
    start = meeting = None
    if analysed:
        start = t[S.ANALYSED].date() + timedelta(days=rng.randint(30, 50))
        meeting = max(t[S.REQUESTED].date(), t[S.ANALYSED].date() - timedelta(days=rng.randint(0, 3)))
    effort = rng.choice(data.EFFORTS)
    cancel_reason = rng.choice(data.CANCEL_REASONS[m.cancel[0].value]) if m.cancel else ""
    _, year, seq = parse_reference(m.reference)
    plan.add(
        Mission,
        reference=m.reference,
        branch_id=Ref("branch", m.branch),
        year=year,
        seq=seq,
        association_id=Ref("association", spec.name),
        coordinator_id=Ref("coordinator", m.coordinator[0]),
        status=m.status,
        title=tpl.title,
        request=tpl.request,
        need=tpl.need if analysed else "",
        # what the association's request says it needs: the Passerelle's analysis starts from it
        deliverables="; ".join(d for _, d in tpl.objectives),
        domain_id=Ref("domain", tpl.domain),
        scope=Scope.NATIONAL if m.national else Scope.REGIONAL,
        wave=m.wave,
        volunteers_needed=m.needed,
        effort=effort if analysed else "",
        expected_start=start,
        expected_end=start + timedelta(days=rng.randint(60, 120)) if start else None,
        needs_meeting_on=meeting,
        requested_at=t[S.REQUESTED],
        analysed_at=t.get(S.ANALYSED),
        approved_at=t.get(S.APPROVED),
        published_at=t.get(S.PUBLISHED),
        selected_at=t.get(S.SELECTED),
        started_at=t.get(S.IN_PROGRESS),
        completed_at=t.get(S.COMPLETED),
        cancelled_at=m.cancel[1] if m.cancel else None,
        cancel_reason=cancel_reason,
        cancelled_from=m.cancel[0] if m.cancel else None,
    )
    audit(plan, m, "request", "request", t[S.REQUESTED], None, S.REQUESTED)
    if m.cancel:
        audit(plan, m, "cancel", "cancel", m.cancel[1], m.cancel[0], S.CANCELLED, reason=cancel_reason)
    for code, level in tpl.competences:
        plan.add(
            MissionCompetence,
            _parent=m.mission,
            mission_id=m.mission,
            competence_id=Ref("competence", code),
            min_level=level,
        )
    if not analysed:
        return
    audit(
        plan,
        m,
        NEEDS_ANALYSIS.key,
        NEEDS_ANALYSIS.key,
        t[S.ANALYSED],
        S.REQUESTED,
        S.ANALYSED,
        meeting_on=meeting.isoformat() if meeting else None,
        values_accepted=True,
    )
    _plan_announcements(plan, m, effort, now)


def _plan_announcements(plan: Plan, m: MissionPlan, effort: str, now: datetime) -> None:
    """Annonce rounds: a draft awaiting the association, a revised round, the approved one, or a cancelled one."""
    rng, t, tpl, spec = m.rng, m.times, m.template, m.spec
    remote = "à distance possible, annonce diffusée dans toute la France"
    place = remote if m.national else f"{spec.city} et alentours"
    text = data.ANNOUNCEMENT_TEXT.format(
        title=tpl.title,
        association=spec.name,
        city=spec.city,
        purpose=spec.purpose,
        need=tpl.need,
        effort=effort,
        competences=", ".join(COMPETENCE_NAMES[c] for c, _ in tpl.competences),
        place=place,
    )
    url = annonce_url(m.reference)  # the public page, open once the annonce is out
    social = data.SOCIAL_TEXT.format(association=spec.name, title=tpl.title, effort=effort, url=url)
    drafted = t[S.ANALYSED] + timedelta(minutes=10)
    common = {"_parent": m.mission, "mission_id": m.mission, "text": text, "social_text": social}
    if not m.reached(S.APPROVED):
        if m.cancel:
            plan.add(
                Announcement,
                **common,
                round=1,
                status=AnnouncementStatus.CANCELLED,
                created_at=drafted,
                decided_at=m.cancel[1],
            )
        elif drafted <= now:
            plan.add(Announcement, **common, round=1, status=AnnouncementStatus.DRAFT, created_at=drafted)
        return
    approved, rounds = t[S.APPROVED], 1
    if (approved - t[S.ANALYSED]).days >= 8 and rng.random() < 0.4:
        decided = between(rng, drafted + timedelta(days=1), approved - timedelta(days=2))
        remarks = rng.choice(data.REVISION_REMARKS)
        plan.add(
            Announcement,
            **common,
            round=1,
            status=AnnouncementStatus.REVISE,
            remarks=remarks,
            created_at=drafted,
            decided_at=decided,
        )
        audit(plan, m, ANNOUNCEMENT.step_key(1), ANNOUNCEMENT.key, decided, S.ANALYSED, S.ANALYSED, round=1)
        drafted, rounds = decided + timedelta(hours=2), 2
    plan.add(
        Announcement,
        **common,
        round=rounds,
        status=AnnouncementStatus.APPROVED,
        created_at=drafted,
        decided_at=approved,
    )
    audit(plan, m, ANNOUNCEMENT.step_key(rounds), ANNOUNCEMENT.key, approved, S.ANALYSED, S.APPROVED, round=rounds)


def plan_follow_up(plan: Plan, m: MissionPlan, now: datetime) -> None:
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
        plan.add(
            RoadmapObjective,
            _parent=m.mission,
            roadmap_id=Ref("roadmap", m.reference),
            position=k,
            objective=objective,
            deliverable=deliverable,
            due_on=start + (end_on - start) * k // len(objectives),
        )
    audit(plan, m, ROADMAP.key, ROADMAP.key, started, S.SELECTED, S.IN_PROGRESS, objectives=len(objectives))
    stop = t.get(S.COMPLETED) or (m.cancel[1] if m.cancel else now)
    days = [start + timedelta(days=every * k) for k in range(1, 7)]
    days = [d for d in days if d < stop.date()]
    for n, day in enumerate(days, 1):
        status = rng.choices(list(CheckInStatus), weights=[75, 20, 5])[0]
        if m.cancel and n == len(days):
            status = CheckInStatus.BLOCKED
        at = moment(day, 18)
        plan.add(
            CheckIn,
            _parent=m.mission,
            mission_id=m.mission,
            number=n,
            held_on=day,
            status=status,
            notes=rng.choice(data.CHECK_IN_NOTES[status.value]),
            created_at=at,
        )
        audit(plan, m, CHECK_IN.step_key(n), CHECK_IN.key, at, S.IN_PROGRESS, S.IN_PROGRESS, status=status.value)
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
        for who, rating, redo in [(None, ratings[0], ratings[0] >= 3)] + [(p, ratings[1], True) for p in m.selected]:
            consent = rng.random() < 0.6
            plan.add(
                PartyAnswer,
                _parent=m.mission,
                mission_id=m.mission,
                step=REVIEW.key,
                asked=REVIEW.key,
                party=KeyTemplate("v{volunteer_id}") if who else ASSOCIATION,
                volunteer_id=Ref("volunteer", who.email) if who else None,
                answer="given",
                rating=rating,
                would_redo=redo,
                comment=rng.choice(data.TESTIMONIES) if consent else "",
                consent_wording=TESTIMONY_CONSENT if consent else "",
                consent_at=t[S.COMPLETED] if consent else None,
                actor=f"{m.spec.name} (association, par son lien)" if who is None else "bénévole, par son lien",
                by_link=True,
                answered_at=t[S.COMPLETED] - timedelta(days=2),
            )
        audit(plan, m, REVIEW.key, REVIEW.key, t[S.COMPLETED], S.IN_PROGRESS, S.COMPLETED, objectives_met=met.value)
