"""The production profile's access control: the Prefect server with basic auth; our commands and clients pass it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from deployments.local import PrefectServer

pytestmark = pytest.mark.slow
SECRET = "passerelles:un-secret-de-test"


def test_server_with_basic_auth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import prefect.settings as ps
    from prefect import get_client
    from prefect.settings import temporary_settings

    monkeypatch.setenv("PREFECT_SERVER_API_AUTH_STRING", SECRET)
    server = PrefectServer(home=tmp_path / "prefect", ui=False)
    server.start()
    try:
        assert httpx.get(f"{server.api_url}/health").status_code == 200  # open, for probes
        assert httpx.post(f"{server.api_url}/flow_runs/filter", json={}).status_code == 401
        user, password = SECRET.split(":")
        assert httpx.post(f"{server.api_url}/flow_runs/filter", json={}, auth=(user, password)).status_code == 200
        updates = {ps.PREFECT_API_URL: server.api_url, ps.PREFECT_API_AUTH_STRING: SECRET}
        with temporary_settings(updates=updates):
            from deployments.register import POOL, ensure_pool

            ensure_pool()  # what `passerelles init` does first, with the clients' credentials
            with get_client(sync_client=True) as client:
                assert client.read_work_pool(POOL).type == "process"
    finally:
        server.stop()
