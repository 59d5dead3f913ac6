"""People and organisations of the demo data set: branches, their teams, volunteers and associations."""

from __future__ import annotations

import random
import unicodedata
from datetime import date, datetime, timedelta

from deployments.demo import data
from deployments.demo.plan import (
    MissionPlan,
    Person,
    Plan,
    Ref,
    association_created,
    between,
    moment,
    seeded_rng,
)
from models import Association, Availability, Branch, Coordinator, Role, Volunteer, VolunteerCompetence
from models.rules import MissionStatus as S
from models.rules import values_still_valid


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


def plan_branches(plan: Plan) -> None:
    """The eight branches."""
    for b in data.BRANCHES:
        plan.add(
            Branch, code=b.code, name=b.name, region=b.region, founded_on=b.founded_on, created_at=moment(b.founded_on)
        )


def plan_coordinators(plan: Plan) -> dict[str, list[tuple[str, str]]]:
    """Teams of every branch and the national admin; returns the people who own missions, per branch."""
    rng, used = seeded_rng("coordinators"), set[str]()
    owners: dict[str, list[tuple[str, str]]] = {}

    def add(branch: data.BranchSpec | None, role: Role, first: str, last: str) -> tuple[str, str]:
        email = _unique_email(f"{_slug(first)}.{_slug(last)}", data.STAFF_DOMAIN, used)
        joined = moment((branch.founded_on if branch else date(2002, 9, 1)) + timedelta(days=rng.randint(0, 15)))
        plan.add(
            Coordinator,
            branch_id=Ref("branch", branch.code) if branch else None,
            first_name=first,
            last_name=last,
            email=email,
            role=role,
            active=True,
            created_at=joined,
        )
        return email, f"{first} {last}"

    add(None, Role.ADMIN, *data.ADMIN)
    for b in data.BRANCHES:
        team = [add(b, Role.PASSERELLE, *_person_name(rng, b.code)[:2]) for _ in range(b.passerelles)]
        lead = add(b, Role.BRANCH_LEAD, *_person_name(rng, b.code)[:2])
        for _ in range(b.support):
            add(b, Role.SUPPORT, *_person_name(rng, b.code)[:2])
        owners[b.code] = [*team, lead]
    return owners


def plan_volunteers(plan: Plan, now: datetime) -> list[Person]:
    """Volunteers of every branch; the first eight of each are there from the branch's first weeks."""
    rng, used, people = seeded_rng("volunteers"), set[str](), []
    for b in data.BRANCHES:
        offset = rng.randrange(len(data.PROFESSIONS))
        for i in range(b.volunteers):
            first, last, female = _person_name(rng, b.code)
            email = _unique_email(f"{_slug(first)}.{_slug(last)}", rng.choice(data.PERSONAL_DOMAINS), used)
            founder = i < 8
            span = (now - moment(b.founded_on)).days
            created = moment(
                b.founded_on + timedelta(days=rng.randint(1, 15) if founder else int(span * rng.random() ** 1.3)),
                rng.randint(8, 20),
            )
            gone = None if founder else between(rng, created + (now - created) * 0.3, now - timedelta(days=1))
            fate = rng.random()
            # Professions go round so that each branch has people for every kind of mission.
            profession = data.PROFESSIONS[(offset + i) % len(data.PROFESSIONS)]
            size = rng.choices([1, 2, 3, 4], weights=[1, 3, 4, 3])[0]
            codes = rng.sample(profession.competences, min(size, len(profession.competences)))
            levels = {c: rng.choice([2, 3, 3]) if k == 0 else rng.choice([1, 2, 2, 3]) for k, c in enumerate(codes)}
            person = Person(
                email=email,
                branch=b.code,
                created_at=created,
                consent=founder or rng.random() < 0.9,
                national=rng.random() < 0.35,
                archived_at=gone if fate < 0.04 else None,
                unsubscribed_at=gone if 0.04 <= fate < 0.09 else None,
                availability=rng.choices(list(Availability), weights=[65, 25, 10])[0],
                levels=levels,
            )
            person.national = person.national and person.consent
            people.append(person)
            plan.add(
                Volunteer,
                branch_id=Ref("branch", b.code),
                first_name=first,
                last_name=last,
                email=email,
                phone=f"06 39 98 {rng.randint(0, 99):02d} {rng.randint(0, 99):02d}",
                city=rng.choice(b.cities),
                profession=profession.feminine if female else profession.masculine,
                consent_announcements=person.consent,
                consent_national=person.national,
                is_relay=rng.random() < 0.55,
                availability=person.availability,
                created_at=created,
                archived_at=person.archived_at,
                unsubscribed_at=person.unsubscribed_at,
            )
            for code, level in levels.items():
                plan.add(
                    VolunteerCompetence,
                    _parent=Ref("volunteer", email),
                    volunteer_id=Ref("volunteer", email),
                    competence_id=Ref("competence", code),
                    level=level,
                )
    return people


def plan_associations(plan: Plan, missions: list[MissionPlan]) -> None:
    """Associations; their values were validated at the needs meeting of their first analysed mission, and again
    at the first one after that check had expired (a year), as the needs analysis does."""
    rng, validated = seeded_rng("associations"), dict[str, date]()
    for m in sorted((m for m in missions if m.reached(S.ANALYSED)), key=lambda m: m.times[S.ANALYSED]):
        met = m.times[S.ANALYSED].date()
        if not values_still_valid(validated.get(m.spec.name), met):
            validated[m.spec.name] = met
    for spec in data.ASSOCIATIONS:
        first, last, _ = _person_name(rng, spec.branch)
        domain = f"{_slug(spec.name)[:40].rstrip('-')}.example"
        plan.add(
            Association,
            branch_id=Ref("branch", spec.branch),
            name=spec.name,
            city=spec.city,
            purpose=spec.purpose,
            contact_name=f"{first} {last}",
            contact_email=f"{_slug(first)}.{_slug(last)}@{domain}",
            contact_phone=f"01 99 00 {rng.randint(0, 99):02d} {rng.randint(0, 99):02d}",
            annual_budget=spec.budget,
            values_validated_on=validated.get(spec.name),
            created_at=association_created(spec),
        )
