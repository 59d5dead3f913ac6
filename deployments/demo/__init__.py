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

Layout: `plan` holds the plan's rows and shared helpers; `people`, `missions` and `search` plan each part and
`build` puts them together in the order the priority flags need; `write` inserts a plan; `command` holds `seed`
and `main`.
"""

from __future__ import annotations

from deployments.demo.build import build_plan
from deployments.demo.command import main, seed, summary
from deployments.demo.missions import COMPETENCE_NAMES
from deployments.demo.plan import DEMO_TODAY, Plan, Ref
from deployments.demo.write import table_counts, write_plan

__all__ = [
    "COMPETENCE_NAMES",
    "DEMO_TODAY",
    "Plan",
    "Ref",
    "build_plan",
    "main",
    "seed",
    "summary",
    "table_counts",
    "write_plan",
]
