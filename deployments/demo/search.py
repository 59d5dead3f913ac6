"""The search for volunteers: diffusion rounds, applications, selection and the priority flags they leave."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from deployments.demo import data
from deployments.demo.plan import MissionPlan, Person, Plan, Ref, audit, between
from models import Application, ApplicationStatus, Channel, Diffusion, PriorityFlag
from models.matching import Candidate
from models.matching import score as match_score
from models.reference_data import TAXONOMY
from models.rules import MissionStatus as S
from models.waves import Wave
from tasks.steps import DIFFUSION, SELECTION

COMPETENCE_DOMAINS = {code: domain for domain, _, items in TAXONOMY for code, _ in items}
WANTS_OTHER_RATE = 0.06
APPLICATION_CHANNELS = {Channel.EMAIL: 60, Channel.FORM: 15, Channel.PHONE: 10, Channel.RELAY: 10, Channel.SOCIAL: 5}


COMPETENCE_NUMBERS = {code: i for i, code in enumerate(COMPETENCE_DOMAINS, 1)}


def _score(person: Person, m: MissionPlan, priority: bool) -> tuple[float, dict[str, Any]]:
    """The score the Passerelle sees at selection (models/matching.py), so seeded scores have production's scale
    and breakdown."""
    candidate = Candidate(
        volunteer_id=0,
        competences={COMPETENCE_NUMBERS[code]: level for code, level in person.levels.items()},
        priority_in_domain=priority,
        availability=person.availability,
        current_missions=0,
        same_branch=person.branch == m.branch,
    )
    result = match_score(candidate, {COMPETENCE_NUMBERS[code]: level for code, level in m.template.competences})
    return result.total, result.breakdown


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
            plan.add(
                PriorityFlag,
                volunteer_id=Ref("volunteer", email),
                domain_id=Ref("domain", domain),
                since=since,
                source_mission_id=Ref("mission", source),
                cleared_at=cleared,
                cleared_by_mission_id=Ref("mission", cleared_by) if cleared_by else None,
            )


def _applicants(
    rng: random.Random, m: MissionPlan, pool: list[Person], scores: dict[str, Any], count: int
) -> list[Person]:
    """Who answers the annonce: volunteers with a required competence (priority ones more often), sometimes one
    volunteer of the same domain or, failing that, anyone."""
    needed = {c for c, _ in m.template.competences}
    holders = [p for p in pool if needed & p.levels.keys()]
    weight = {p.email: 1 + 2 * (scores[p.email][1]["priorité"] > 0) for p in holders}
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


def plan_search(plan: Plan, m: MissionPlan, people: list[Person], flags: FlagBook, now: datetime) -> None:
    """Diffusion rounds, applications, selection and the priority flags it raises or clears."""
    rng, t, domain = m.rng, m.times, m.template.domain
    published = t[S.PUBLISHED]
    national = m.wave is Wave.NATIONAL
    pool = [p for p in people if (p.branch == m.branch or (national and p.national)) and p.reachable(published)]
    local = [p for p in pool if p.branch == m.branch]
    priority = sum(flags.active(p.email, domain, published) for p in pool)
    channels = [(Channel.EMAIL, len(local))] + [(Channel.NATIONAL_EMAIL, len(pool) - len(local))] * national
    for channel, audience in [*channels, (Channel.SOCIAL, 0)]:
        wave = {Channel.EMAIL: Wave.BRANCH, Channel.NATIONAL_EMAIL: Wave.NATIONAL}.get(channel)
        plan.add(
            Diffusion,
            _parent=m.mission,
            mission_id=m.mission,
            channel=channel,
            round=1,
            audience_size=audience,
            priority_count=priority if channel is not Channel.SOCIAL else 0,
            sent_at=published,
            wave=wave,
        )
    audit(
        plan,
        m,
        DIFFUSION.step_key(1),
        DIFFUSION.key,
        published,
        S.APPROVED,
        S.PUBLISHED,
        audience=len(pool),
        priority=priority,
    )
    end = min([x for x in (t.get(S.SELECTED), m.cancel[1] if m.cancel else None, now) if x is not None])
    if (end - published).days >= 10 and rng.random() < 0.15:
        sent = published + timedelta(days=rng.randint(7, 9))
        plan.add(
            Diffusion,
            _parent=m.mission,
            mission_id=m.mission,
            channel=Channel.EMAIL,
            round=2,
            audience_size=len(local),
            priority_count=priority,
            sent_at=sent,
            wave=Wave.BRANCH,
        )
        audit(plan, m, DIFFUSION.step_key(2), DIFFUSION.key, sent, S.PUBLISHED, S.PUBLISHED, audience=len(local))
    if end - published < timedelta(minutes=5):
        return
    count = rng.randint(1, 6) if m.reached(S.SELECTED) else rng.randint(0, 4 if m.status is S.PUBLISHED else 2)
    # Priority volunteers of the domain get the annonce first and go first at selection.
    scores = {p.email: _score(p, m, flags.active(p.email, domain, published)) for p in pool}
    scored = [(p, *scores[p.email]) for p in _applicants(rng, m, pool, scores, count)]
    ranked = sorted(
        scored, key=lambda x: (x[2]["compétences"] > 0, x[2]["priorité"], x[1] + rng.uniform(0, 15)), reverse=True
    )
    m.selected = [p for p, _, _ in ranked[: m.needed]] if m.reached(S.SELECTED) else []
    flagged = []
    for p, score, detail in scored:
        status, decided, wants = ApplicationStatus.RECEIVED, None, False
        if m.reached(S.SELECTED):
            decided, wants = t[S.SELECTED], p not in m.selected and rng.random() < WANTS_OTHER_RATE
            # not retained: in reserve until the roadmap closes the search, thanked (closed) once it has
            closed = ApplicationStatus.CLOSED if m.reached(S.IN_PROGRESS) else ApplicationStatus.RESERVE
            status = ApplicationStatus.SELECTED if p in m.selected else closed
        elif m.cancel:
            status, decided = ApplicationStatus.CLOSED, m.cancel[1]
        if wants:
            flags.raise_flag(p.email, domain, t[S.SELECTED], m.reference)
            flagged.append(p.email)
        plan.add(
            Application,
            _parent=m.mission,
            mission_id=m.mission,
            volunteer_id=Ref("volunteer", p.email),
            status=status,
            channel=_channel(rng, p, m),
            message=rng.choice(data.APPLICATION_MESSAGES),
            score=score,
            score_detail=detail,
            wants_other_mission=wants,
            applied_at=between(rng, published + timedelta(minutes=1), end),
            decided_at=decided,
        )
    if m.reached(S.SELECTED):
        audit(
            plan,
            m,
            SELECTION.key,
            SELECTION.key,
            t[S.SELECTED],
            S.PUBLISHED,
            S.SELECTED,
            applicants=len(scored),
            selected=len(m.selected),
            priority_flagged=len(flagged),
        )
    if m.reached(S.COMPLETED):
        for p in m.selected:
            flags.clear(p.email, domain, t[S.COMPLETED], m.reference)
