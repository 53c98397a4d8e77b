"""Territories in a re-plan (``policy.consistency: territory``): every stop stays on its
territory's truck while that truck still works; only the points of a truck that cannot work
(broken down, or done for the day) may go to other trucks (forced moves).

`territory_truck_of` reads the plan's territories; `not_working` says which territory trucks
cannot work after ``t`` and why; `sanitation.replan.solve` restricts each stop to its
territory's truck when it works; `check` re-checks the new day with
`sanitation.verify.territory`, exempting exactly the forced moves.
"""

from __future__ import annotations

from collections.abc import Mapping

from sanitation.plan.model import DayOut, PlanDocument
from sanitation.replan.state import DayState
from sanitation.verify.territory import check as check_territories

TRUCK_DOWN = "truck down"
TRUCK_DONE = "truck done for the day"
TRUCK_ABSENT = "truck not in the plan's day"


def territory_truck_of(doc: PlanDocument) -> dict[str, str]:
    """Point → its territory's truck of a plan made under ``territory`` (else empty: a soft
    or free plan's trucks may change as before)."""
    consistency = doc.consistency
    if consistency is None or consistency.policy != "territory":
        return {}
    return {p: t.truck_id for t in consistency.territories for p in t.point_ids}


def not_working(state: DayState, truck_of: Mapping[str, str]) -> dict[str, str]:
    """Territory truck → why it cannot work after ``t`` (only trucks that cannot)."""
    out = {}
    for truck_id in sorted(set(truck_of.values())):
        truck = state.trucks.get(truck_id)
        if truck is None:
            out[truck_id] = TRUCK_ABSENT
        elif truck.down:
            out[truck_id] = TRUCK_DOWN
        elif truck.finished:
            out[truck_id] = TRUCK_DONE
    return out


def check(day: DayOut, truck_of: Mapping[str, str], idle: Mapping[str, str]) -> None:
    """Every visit of ``day`` on its territory's truck, except the points whose territory's
    truck is in ``idle`` (`VerificationError`, stage ``territory``)."""
    exempt = {p for p, t in truck_of.items() if t in idle}
    check_territories(
        {p: t for p, t in truck_of.items() if p not in exempt},
        (
            (r.route_id, r.vehicle_id, [v.id for v in r.visits if v.kind == "stop"])
            for r in day.routes
        ),
    )
