"""The baseline flow of bench_resume: Prefect's own floor, a flow that only suspends."""

from __future__ import annotations

from prefect import flow, suspend_flow_run


@flow(name="baseline-suspend")
def baseline_suspend(steps: int) -> int:
    """Suspend `steps` times with no task, no database and no mail in between."""
    for i in range(steps):
        suspend_flow_run(wait_for_input=int, key=f"step-{i}", timeout=None)
    return steps
