"""Why a stop is left unserved: the reasons, and the screening both engines run before a solve.

`UnservedReason` is the one table of reasons a `sanitation.routing.solution.Unserved` carries;
its values are the texts that reach ``plan.json``, the route sheets and the API. `screen` sets
apart, before any search, the stops that no vehicle could serve even on a route of its own, and
says why; both engines call it, so a stop's verdict does not depend on which engine ran. The
reasons for stops dropped *during* a search (`FLEET_EXHAUSTED`, ...) are set by the engines.

A vehicle type could serve a stop on a route of its own when, in this order (the first rule that
rules out every type with vehicles is the reason given):

1. the type has vehicles and the stop allows it (access class): `NO_VEHICLE_TYPE`;
2. the type carries the stop's waste stream (`VehicleType.carries`) and one of its unload sites
   accepts it: `STREAM_NOT_CARRIED`;
3. the stop's load fits the type's capacity for its stream (its compartment): `LOAD_ABOVE_CAPACITY`,
4. ... and its daily load limit: `LOAD_ABOVE_DAY_LIMIT`;
5. leaving the depot at the shift start, the truck reaches the stop before its window closes:
   `TIME_WINDOW_UNREACHABLE`;
6. depot -> stop -> unload site -> depot is feasible for one of the type's unload sites that
   accepts the stop's stream: the unload
   starts within the site's hours and the truck is back by the shift end, with the lunch break
   (if any) placed in one of the three gaps, starting within its window (the break is taken as
   early as possible; `sanitation.routing.problem.Lunch.gap_times` times it); the driving, service,
   unload and lunch time fit the route time limit: `NO_TIME_TO_UNLOAD`.

These are necessary conditions when travel times obey the triangle inequality (the direct way
is never slower): a stop failing them cannot be served on any route. The verifier
(`sanitation.verify.routing`) checks solutions independently and does not use this module's rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from sanitation.routing.problem import Lunch, RoutingProblem, Stop, VehicleType


class UnservedReason(StrEnum):
    """Why a due stop is left out of a plan (the value is the text shown to users)."""

    #: screening: no vehicle of a type the stop allows
    NO_VEHICLE_TYPE = "no vehicle type is allowed to serve it (access class)"
    #: screening: no allowed truck has a compartment for its stream and a site accepting it
    STREAM_NOT_CARRIED = (
        "no allowed vehicle type carries its waste stream to an unload site accepting it"
    )
    #: screening: heavier than any allowed truck can carry
    LOAD_ABOVE_CAPACITY = "load above the capacity of every allowed vehicle type"
    #: screening: heavier than any allowed truck may collect in a day
    LOAD_ABOVE_DAY_LIMIT = "load above the daily load limit of every allowed vehicle type"
    #: screening: its window closes before any allowed truck can get there
    TIME_WINDOW_UNREACHABLE = (
        "time window cannot be met from the depot within any allowed vehicle's shift"
    )
    #: screening: no allowed truck can serve it, unload (in the site's hours) and be back in time
    NO_TIME_TO_UNLOAD = (
        "no allowed vehicle can serve it and unload within its shift (lunch break included)"
    )
    #: OR-Tools model: no vehicle's shift can hold the model's lunch bounds
    NO_USABLE_VEHICLE = "no usable vehicle in the fleet"
    #: search: the fleet's capacity or time ran out; the lowest priorities are dropped first
    FLEET_EXHAUSTED = "fleet capacity/time exhausted (lowest priority dropped first)"
    #: PyVRP: the route could not be re-timed with the lunch break while keeping the stop
    #: (a safety net: the model makes every route it returns timeable, so this means a bug)
    LUNCH_RETIMING = "could not be kept on its route when the lunch break was inserted"
    #: PyVRP: its whole time window lies where the engine's model keeps the break
    LUNCH_WINDOW = (
        "time window lies inside the lunch break as the PyVRP engine places it "
        "(an engine that places the break freely may serve it)"
    )
    #: PyVRP: the route broke a vehicle limit its model lacks (``max_stops``) or approximates
    VEHICLE_LIMITS = (
        "could not be kept on its route within the vehicle's limits (stops, trips, daily load)"
    )
    #: PyVRP: every truck that may serve it carries streams that neither a single unload site
    #: nor a chain of at most `sanitation.routing.schedule.MAX_FINAL_CHAIN` sites (within its
    #: ``max_trips``) takes (a PyVRP reload empties every compartment); the OR-Tools engine
    #: models partial unloads
    MIXED_UNLOAD = (
        "every truck that may serve it carries streams that no single unload site, nor a short "
        "chain of sites, accepts, which the PyVRP engine cannot model (an engine that unloads "
        "compartments separately may serve it)"
    )
    #: search: the engine found no feasible plan serving it within the time limit
    NOT_FOUND_IN_TIME = "no feasible route for it was found within the time limit"


@dataclass(frozen=True)
class Screening:
    """The outcome of `screen`.

    Parameters
    ----------
    candidates
        Indices (into ``problem.stops``, ascending) of the stops worth modelling.
    vehicle_types
        For each candidate, the indices of the vehicle types that could serve it alone.
    rejected
        The other stops (by index) and why no vehicle can serve them.
    """

    candidates: tuple[int, ...]
    vehicle_types: Mapping[int, tuple[int, ...]]
    rejected: Mapping[int, UnservedReason]


def screen(problem: RoutingProblem) -> Screening:
    """Set apart the stops that no vehicle could serve on a route of its own (see the module)."""
    candidates: list[int] = []
    types_of: dict[int, tuple[int, ...]] = {}
    rejected: dict[int, UnservedReason] = {}
    fleet = [(ti, vt) for ti, vt in enumerate(problem.vehicle_types) if vt.count > 0]
    for si, stop in enumerate(problem.stops):
        verdict = _screen_stop(problem, fleet, stop)
        if isinstance(verdict, UnservedReason):
            rejected[si] = verdict
        else:
            candidates.append(si)
            types_of[si] = verdict
    return Screening(tuple(candidates), MappingProxyType(types_of), MappingProxyType(rejected))


def _screen_stop(
    problem: RoutingProblem, fleet: list[tuple[int, VehicleType]], stop: Stop
) -> tuple[int, ...] | UnservedReason:
    """The type indices that could serve ``stop`` alone, or the first rule that rules out all."""
    types = [(ti, vt) for ti, vt in fleet if stop.allows(vt.id)]
    if not types:
        return UnservedReason.NO_VEHICLE_TYPE
    rules: tuple[tuple[UnservedReason, Callable[[VehicleType], bool]], ...] = (
        (UnservedReason.STREAM_NOT_CARRIED, lambda vt: _carries_to_site(problem, vt, stop)),
        (
            UnservedReason.LOAD_ABOVE_CAPACITY,
            lambda vt: stop.load_kg <= vt.capacity_for_kg(stop.stream),
        ),
        (
            UnservedReason.LOAD_ABOVE_DAY_LIMIT,
            lambda vt: vt.max_load_per_day_kg is None or stop.load_kg <= vt.max_load_per_day_kg,
        ),
        (UnservedReason.TIME_WINDOW_UNREACHABLE, lambda vt: _window_reachable(problem, vt, stop)),
        (UnservedReason.NO_TIME_TO_UNLOAD, lambda vt: _single_visit_fits(problem, vt, stop)),
    )
    for reason, rule in rules:
        types = [(ti, vt) for ti, vt in types if rule(vt)]
        if not types:
            return reason
    return tuple(ti for ti, _ in types)


def _carries_to_site(problem: RoutingProblem, vt: VehicleType, stop: Stop) -> bool:
    """Whether ``vt`` carries the stop's stream and may unload it at one of its sites."""
    return vt.carries(stop.stream) and any(
        problem.site(u).accepts(stop.stream) for u in vt.unload_sites
    )


def _window_reachable(problem: RoutingProblem, vt: VehicleType, stop: Stop) -> bool:
    """Whether a truck leaving its start (the depot) at the shift start reaches the stop before
    it closes."""
    depot = problem.site(vt.start_site_id)
    t_in = int(problem.duration_s[vt.profile][depot.location, stop.location])
    return vt.shift_start_s + t_in <= stop.tw_close_s


def _single_visit_fits(problem: RoutingProblem, vt: VehicleType, stop: Stop) -> bool:
    """Whether depot -> ``stop`` -> some unload site -> depot is feasible for ``vt``."""
    dur = problem.duration_s[vt.profile]
    depot = problem.site(vt.depot)
    start = problem.site(vt.start_site_id)
    lunch_s = vt.lunch.duration_s if vt.lunch is not None else 0
    gaps: tuple[int | None, ...] = (None,) if vt.lunch is None else (-1, 0, 1)
    for site_id in vt.unload_sites:
        site = problem.site(site_id)
        if not site.accepts(stop.stream):
            continue
        # (travel to, open, close, service there) of the stop, the unload site and the depot
        legs = (
            (
                int(dur[start.location, stop.location]),
                stop.tw_open_s,
                stop.tw_close_s,
                stop.service_s,
            ),
            (int(dur[stop.location, site.location]), site.open_s, site.close_s, site.unload_s),
            (int(dur[site.location, depot.location]), 0, vt.shift_end_s, 0),
        )
        work = sum(travel + service for travel, _, _, service in legs)
        if work + lunch_s > vt.route_time_limit_s:
            continue
        if any(_legs_fit(legs, vt.shift_start_s, vt.lunch, gap) for gap in gaps):
            return True
    return False


def _legs_fit(
    legs: tuple[tuple[int, int, int, int], ...],
    departure_s: int,
    lunch: Lunch | None,
    lunch_gap: int | None,
) -> bool:
    """Whether the legs are feasible from ``departure_s``, lunch (taken as early as possible) in
    the gap before leg ``lunch_gap + 1``."""
    dep = departure_s
    for leg, (travel, open_s, close_s, service_s) in enumerate(legs):
        earliest = dep + travel
        if lunch is not None and lunch_gap == leg - 1:
            lunch_start = max(dep, lunch.window_start_s)
            if lunch_start > lunch.latest_start_s:
                return False
            _, earliest = lunch.gap_times(dep, travel, lunch_start)
        start = max(earliest, open_s)
        if start > close_s:
            return False
        dep = start + service_s
    return True
