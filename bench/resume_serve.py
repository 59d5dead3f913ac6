"""Serving process for bench_resume: every passerelles deployment plus a baseline flow that only suspends."""

from __future__ import annotations

from prefect import flow, serve, suspend_flow_run

from deployments.serve import deployments


@flow(name="baseline-suspend")
def baseline_suspend(steps: int) -> int:
    """Prefect's own floor: suspend `steps` times with no task, no database and no mail in between."""
    for i in range(steps):
        suspend_flow_run(wait_for_input=int, key=f"step-{i}", timeout=None)
    return steps


if __name__ == "__main__":
    serve(*deployments(), baseline_suspend.to_deployment(name="baseline"), limit=4, print_starting_message=False)
