"""Independent check of territories (``policy.consistency: territory``): every point-visit of a
plan is made by the truck whose territory holds the point.

It reads plain data (each route's truck and the points it serves, and the territories' point →
truck map), never the planner's routing problems, so a plan whose problems were built wrongly
is caught too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from sanitation.errors import VerificationError

#: (route id, truck id, point ids served in order)
RouteVisits = tuple[str, str, Sequence[str]]


def verify(truck_of: Mapping[str, str], routes: Iterable[RouteVisits]) -> list[str]:
    """One message per point-visit made by a truck other than its territory's (points without a
    territory, which no truck of their station may serve, are not checked)."""
    errors = []
    for route_id, truck, point_ids in routes:
        for point_id in point_ids:
            own = truck_of.get(point_id)
            if own is not None and own != truck:
                errors.append(
                    f"route {route_id}: point {point_id!r} is served by truck {truck!r}, "
                    f"but it is in the territory of truck {own!r}."
                )
    return errors


def check(truck_of: Mapping[str, str], routes: Iterable[RouteVisits]) -> None:
    """Raise `VerificationError` listing every visit off its territory, if there is any."""
    errors = verify(truck_of, routes)
    if errors:
        head = f"plan breaks {len(errors)} territory assignment(s): {errors[0]}"
        raise VerificationError(head, errors, stage="territory")
