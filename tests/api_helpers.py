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
