"""Helpers shared by the API test modules."""

from __future__ import annotations

from typing import Any


def role_headers(app: Any) -> dict[str, dict[str, str]]:
    """Fresh API keys of each role (the coordinator's for township 990000001) as headers."""
    from api.keys import create_key

    with app.state.sessions() as session:
        keys = {
            "planner": create_key(session, "planner")[1],
            "dispatcher": create_key(session, "dispatcher")[1],
            "coordinator": create_key(session, "coordinator", ["990000001"])[1],
        }
    return {role: {"X-API-Key": key} for role, key in keys.items()}


def plan_and_wait(
    client: Any, scenario_id: int, headers: dict[str, str], wait_job: Any, **body: Any
) -> tuple[int, dict[str, Any]]:
    """Start a plan job of a stored scenario (PyVRP, 1 s unless ``body`` says otherwise) and
    wait for it: (plan id, the finished job)."""
    started = client.post(
        f"/scenarios/{scenario_id}/plans",
        json={"engine": "pyvrp", "time_limit_s": 1, **body},
        headers=headers,
    )
    assert started.status_code == 202, started.text
    job = wait_job(client, started.json()["job_id"], headers=headers)
    return started.json()["plan_id"], job
