"""Routing solutions: routes with timed visits, unserved stops with reasons.

Times are seconds since midnight, distances metres, loads kg, costs CNY. Visit timing: ``arrival_s``
is when the truck reaches the location, ``start_s`` when service/unload starts (after waiting
and/or lunch), ``departure_s = start_s + service``. The lunch break, if any, starts at
``lunch_start_s`` in the gap after visit ``lunch_after_visit`` (-1 = between depot departure and
the first visit; ``len(visits) - 1`` = between the last visit and the depot return).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from sanitation.routing.screen import UnservedReason

if TYPE_CHECKING:
    from sanitation.routing.problem import RoutingProblem

VisitKind = Literal["stop", "unload"]


@dataclass(frozen=True, slots=True)
class Visit:
    """One visit of a route: a stop served or an unload at a site."""

    kind: VisitKind
    id: str
    location: int
    arrival_s: int
    start_s: int
    departure_s: int
    load_after_kg: int


@dataclass(frozen=True, slots=True)
class Route:
    """The day of one vehicle (``vehicle_index`` within its type)."""

    vehicle_type: str
    vehicle_index: int
    depot_departure_s: int
    depot_return_s: int
    visits: tuple[Visit, ...]
    lunch_start_s: int | None
    lunch_after_visit: int | None
    distance_m: int
    duration_s: int
    cost_cny: float

    @property
    def stop_ids(self) -> list[str]:
        """Ids of the stops served, in order."""
        return [v.id for v in self.visits if v.kind == "stop"]

    @property
    def n_unloads(self) -> int:
        """Number of unload visits."""
        return sum(1 for v in self.visits if v.kind == "unload")


@dataclass(frozen=True, slots=True)
class Unserved:
    """A due stop left out of the plan, and why (`sanitation.routing.screen.UnservedReason`)."""

    stop_id: str
    reason: UnservedReason


@dataclass(frozen=True)
class RoutingSolution:
    """An engine's answer. ``cost`` is the sum of route costs (CNY), penalties excluded."""

    routes: tuple[Route, ...]
    unserved: tuple[Unserved, ...]
    cost_cny: float
    engine: str
    seconds: float
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def n_vehicles(self) -> int:
        """Number of used vehicles (routes)."""
        return len(self.routes)

    @property
    def distance_m(self) -> int:
        """Total distance driven (m)."""
        return sum(r.distance_m for r in self.routes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return asdict(self)


def objective(problem: RoutingProblem, solution: RoutingSolution) -> float:
    """The full objective: route costs + vehicle weight x used vehicles + unserved penalties.

    Lower is better; engines and the portfolio compare solutions with it.
    """
    penalty = sum(problem.unserved_penalty(u.stop_id) for u in solution.unserved)
    return solution.cost_cny + problem.vehicle_weight * len(solution.routes) + penalty
