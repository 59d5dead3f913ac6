"""Small flows the warm launcher's tests run on a worker (by module path, like the deployments)."""

from __future__ import annotations

import time

from prefect import flow


@flow(name="warm-sleepy")
def sleepy(seconds: float) -> float:
    """Say where it runs on stdout, then sleep: long enough to be cancelled or killed mid-run."""
    print(f"warm-sleepy: running, pid {__import__('os').getpid()}", flush=True)
    time.sleep(seconds)
    return seconds
