"""An SMTP server in its own process for the mail benchmarks: the project's keeping server (`deployments.local
.MailServer`, writing .eml files as `make run` does) or a minimal sink that only accepts. Either counts what it
received by Message-ID and writes the counts as JSON to `--out` when stopped (SIGTERM).

    python -m bench.smtp_sink --port 8125 --kind keeping|sink --out counts.json [--folder DIR]
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MESSAGE_ID = re.compile(rb"^Message-ID: *(\S+)", re.MULTILINE | re.IGNORECASE)


class Sink:
    """Accepts every message, keeps its Message-ID."""

    def __init__(self) -> None:
        self.raw: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.raw.append(envelope.original_content or b"")
        return "250 OK"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--kind", choices=["keeping", "sink"], required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--folder", type=Path)
    args = parser.parse_args(argv)
    from aiosmtpd.controller import Controller

    from deployments.local import MailServer

    if args.kind == "keeping":
        server = MailServer(args.port, args.folder).start()
        raw: list[bytes] = server.handler.raw
        stop = server.stop
    else:
        sink = Sink()
        controller = Controller(sink, hostname="127.0.0.1", port=args.port)
        controller.start()
        raw, stop = sink.raw, controller.stop
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    print("ready", flush=True)
    done.wait()
    stop()
    ids = Counter(m.group(1).decode() for r in raw if (m := MESSAGE_ID.search(r)))
    args.out.write_text(json.dumps({"messages": len(raw), "ids": ids}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
