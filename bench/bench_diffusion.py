"""Benchmark: an annonce diffused to 10,000 volunteers, queued and sent to a local SMTP server, each mail once,
against a sender that opens one connection per mail (the baseline), in the same run.

Creates its own PostgreSQL database, generates the volunteers in SQL and a published mission, starts an SMTP
server in another process (the project's keeping server, then a minimal sink), and times:
- ours, end to end: `tasks.diffusion.diffuse` (annonce rendered once, outbox rows inserted in batches, committed),
  then `tasks.outbox.send_pending` with 4 connections in parallel (each claims batches, FOR UPDATE SKIP LOCKED);
- the baseline: `--baseline` mails (default 1,000) of a second mission, queued the same way, then sent one
  connection per mail, the message built by the email package, one transaction per claim and per record.
Every Message-ID is counted at the server: each mail exactly once.

    python bench/bench_diffusion.py [--volunteers 10000] [--connections 4] [--baseline 1000] [--servers keeping sink]
"""

from __future__ import annotations

import argparse
import json
import os
import smtplib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine, select, text, update

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fill, scratch_database
from deployments.local import free_port
from models import MailStatus, Mission, OutboxMail
from models.base import utcnow
from models.db import make_engine, session_factory
from models.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent
GOAL_S, GOAL_RATIO = 10.0, 7.0

GENERATE = [
    """INSERT INTO coordinator (branch_id, first_name, last_name, email, role, active, created_at)
       SELECT id, 'Claire', 'Muller', 'claire.muller@pc.example', 'passerelle', true, now() FROM branch
       WHERE code = 'STR'""",
    """INSERT INTO association (branch_id, name, city, purpose, contact_name, contact_email, contact_phone,
                               annual_budget, created_at, name_key)
       SELECT id, 'Les Restos du Quartier', name, '', 'Paul Weber', 'contact@restos.example', '', 45000, now(),
              'les restos du quartier'
       FROM branch WHERE code = 'STR'""",
    """INSERT INTO volunteer (branch_id, first_name, last_name, email, phone, city, profession, consent_announcements,
                             consent_national, is_relay, availability, created_at)
       SELECT (SELECT id FROM branch WHERE code = 'STR'), (ARRAY['Alice', 'Éloïse', 'Karim', 'Jean'])[1 + i % 4],
              'Bénévole' || i, 'benevole' || i || '@exemple.fr', '', '', '', true, false, i % 10 = 0, 'available',
              now()
       FROM generate_series(1, :n) i""",
    """INSERT INTO mission (reference, branch_id, year, seq, association_id, coordinator_id, status, title, request,
                           need, deliverables, scope, volunteers_needed, effort, requested_at, published_at,
                           version, cancel_reason)
       SELECT 'STR-2026-' || lpad(s::text, 3, '0'), b.id, 2026, s, a.id, c.id, 'published',
              'Refonte du site internet', '', '', '', 'regional', 1, '', now(), now(), 1, ''
       FROM branch b JOIN association a ON a.branch_id = b.id JOIN coordinator c ON c.branch_id = b.id,
            generate_series(1, 2) s
       WHERE b.code = 'STR'""",
]
TEXT = (
    "Les Restos du Quartier (Strasbourg) cherchent un·e bénévole pour refaire leur site internet : une maquette,"
    " un site WordPress en ligne et une formation de l'équipe.\n\nDeux demi-journées par mois, de janvier à "
    "avril."
)


def generate(engine: Engine, n: int) -> tuple[int, int]:
    """The volunteers and two published missions (ours, the baseline's); their ids."""
    fill(engine, GENERATE, {"n": n})
    with session_factory(engine)() as session:
        ours, base = session.scalars(select(Mission.id).order_by(Mission.id))
    return ours, base


def queue(engine: Engine, mission_id: int) -> int:
    """`diffuse` the annonce of the mission to its branch (the whole audience: nobody has priority), committed; how
    many mails were queued."""
    from models.waves import Wave
    from tasks.diffusion import diffuse

    with session_factory(engine)() as session, session.begin():
        mission = session.get(Mission, mission_id)
        assert mission is not None
        return diffuse(session, mission, round_=1, wave=Wave.BRANCH, text=TEXT)["queued"]


def send_one_connection_per_mail(engine: Engine, mission_id: int) -> int:
    """The baseline sender: per mail, a claim, a new connection, the email package's message, a record."""
    from tasks.outbox import message_id
    from tasks.smtp import build_message

    factory = session_factory(engine)
    settings = get_settings()
    with factory() as session:
        ids = list(session.scalars(select(OutboxMail.id).where(OutboxMail.mission_id == mission_id)))
    for mail_id in ids:
        with factory() as session, session.begin():
            row = session.scalars(select(OutboxMail).where(OutboxMail.id == mail_id).with_for_update()).one()
            row.status = MailStatus.SENDING
        with factory() as session:
            row = session.get(OutboxMail, mail_id)
            assert row is not None
            msg = build_message(row, message_id(row))
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port) as smtp:
            smtp.send_message(msg, to_addrs=[row.to_address])
        with factory() as session, session.begin():
            session.execute(
                update(OutboxMail)
                .where(OutboxMail.id == mail_id)
                .values(status=MailStatus.SENT, sent_at=utcnow(), message_id=message_id(row))
            )
    return len(ids)


def server(kind: str, tmp: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """Start the SMTP server of `kind` in its own process; the settings point at it."""
    port, out = free_port(), tmp / f"{kind}-{time.monotonic_ns()}.json"
    args = [sys.executable, "-m", "bench.smtp_sink", "--port", str(port), "--kind", kind, "--out", str(out)]
    if kind == "keeping":
        args += ["--folder", str(tmp / "mail")]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
    os.environ["PASSERELLES_SMTP_PORT"] = str(port)
    get_settings.cache_clear()
    return proc, out


def counts(proc: subprocess.Popen[bytes], out: Path) -> dict[str, int]:
    """Stop the server; Message-ID → times received."""
    proc.terminate()
    proc.wait(60)
    return dict(json.loads(out.read_text())["ids"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--volunteers", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--baseline", type=int, default=1_000, help="mails sent by the baseline sender")
    parser.add_argument("--servers", nargs="+", default=["keeping", "sink"], choices=["keeping", "sink"])
    args = parser.parse_args(argv)
    from tasks.outbox import send_pending

    tmp = Path(tempfile.mkdtemp(prefix="bench-diffusion-"))
    print(
        f"Goal: {args.volunteers:,} annonce mails queued and sent in <= {GOAL_S:.0f} s, each once, "
        f">= {GOAL_RATIO:.0f}x a connection-per-mail sender."
    )
    failed = 0
    for kind in args.servers:
        with scratch_database() as url:
            engine = make_engine(url)
            os.environ["PASSERELLES_DATABASE_URL"] = url
            get_settings.cache_clear()
            try:
                ours, base = generate(engine, args.volunteers)
                proc, out = server(kind, tmp)
                t0 = time.perf_counter()
                queued = queue(engine, ours)
                t1 = time.perf_counter()
                result = send_pending(session_factory(engine), connections=args.connections)
                t2 = time.perf_counter()
                received = counts(proc, out)
                once = queued == len(received) == int(result["sent"]) and set(received.values()) == {1}
                # The baseline: its own mails (a second mission), queued the same way, the first N sent.
                with engine.begin() as conn:
                    conn.execute(
                        text(f"DELETE FROM volunteer WHERE id > (SELECT min(id) FROM volunteer) + {args.baseline - 1}")
                    )
                queue(engine, base)
                proc, out = server(kind, tmp)
                t3 = time.perf_counter()
                sent = send_one_connection_per_mail(engine, base)
                t4 = time.perf_counter()
                base_received = counts(proc, out)
            finally:
                engine.dispose()
        ours_rate, base_rate = queued / (t2 - t0), sent / (t4 - t3)
        ratio = ours_rate / base_rate
        print(f"\n{kind} SMTP server (own process), {args.connections} connections:")
        print(
            f"  ours      {queued:6,} mails in {t2 - t0:5.2f} s (queue {t1 - t0:4.2f} s, send {t2 - t1:5.2f} s): "
            f"{ours_rate:6.0f} mails/s; at the server: {len(received):,} Message-IDs, each once: {once}"
        )
        print(
            f"  baseline  {sent:6,} mails in {t4 - t3:5.2f} s, one connection per mail: {base_rate:6.0f} mails/s "
            f"({len(base_received):,} received)"
        )
        met = t2 - t0 <= GOAL_S and ratio >= GOAL_RATIO
        print(f"  ratio {ratio:.1f}x; goal {'met' if met else 'NOT met'}")
        failed |= not once
    return int(failed)


if __name__ == "__main__":
    raise SystemExit(main())
