"""Independent checker of a re-plan from time ``t``: nothing before ``t`` changed, every truck's
state at ``t`` matches the old plan and the reports, and the routes after ``t`` follow the usual
rules (`sanitation.verify.routing.verify` on the re-plan's problem).

The done part of a truck's day (this module keeps its own copy of the rule, on purpose): the
visits the old plan had started before the truck's reference time (``t``; the breakdown time of
a truck reported down; the time of a reported position), extended to the last stop the crew
reported done; a truck driving between two visits at ``t`` (and without a reported position)
is committed to the next one. Stops reported skipped are left out of it. The truck continues
from the place of its last done visit (its depot if none; a reported position instead), not
before ``t`` nor before that visit ends, with the load on board since its last unload (the
reported load instead); a truck reported down, or whose day is done, does not continue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sanitation.routing.problem import RoutingProblem
from sanitation.routing.solution import Route, RoutingSolution, Visit
from sanitation.verify.routing import verify


@dataclass(frozen=True)
class TruckFacts:
    """What the old plan and the reports say of one truck (never what the re-plan made of them).

    Parameters
    ----------
    vehicle
        The truck's id (e.g. ``D1/small_3t#1``); in the re-plan's problem it is the id of the
        vehicle type (count 1) standing for the truck.
    old_visits
        The old plan's visits of the truck (empty: it was not used).
    old_departure_s
        Its depot departure in the old plan (None: not used).
    done_reported
        Point ids the crew reported done.
    skipped
        Point ids the crew reported skipped.
    down_at_s
        Breakdown time (None: not reported down).
    position_at_s, position_location, position_load_kg
        A reported position: its time, its location in the re-plan's problem, the load on board.
    """

    vehicle: str
    old_visits: tuple[Visit, ...]
    old_departure_s: int | None
    done_reported: frozenset[str] = frozenset()
    skipped: frozenset[str] = frozenset()
    down_at_s: int | None = None
    position_at_s: int | None = None
    position_location: int | None = None
    position_load_kg: int | None = None


@dataclass(frozen=True)
class ReplanClaim:
    """A re-plan to check: per truck its kept part (visits before ``t``) and its route after."""

    at_s: int
    problem: RoutingProblem
    solution: RoutingSolution
    kept: Mapping[str, tuple[Visit, ...]]
    #: place id (point or site) -> location in ``problem`` (to check where a truck continues)
    places: Mapping[str, int]
    #: point ids that an event asks to serve again after they were done (overflow, extra waste)
    reopened: frozenset[str] = field(default_factory=frozenset)


def done_count(facts: TruckFacts, at_s: int) -> int:
    """How many of the old visits are done (see the module docstring)."""
    visits = facts.old_visits
    ref = at_s
    if facts.down_at_s is not None:
        ref = facts.down_at_s
    elif facts.position_at_s is not None:
        ref = facts.position_at_s
    n = sum(1 for v in visits if v.start_s < ref)
    for i, v in enumerate(visits):
        if v.kind == "stop" and v.id in facts.done_reported:
            n = max(n, i + 1)
    located = facts.down_at_s is not None or facts.position_at_s is not None
    driving = (
        facts.old_departure_s is not None
        and n < len(visits)
        and (visits[n - 1].departure_s if n else facts.old_departure_s) < at_s
    )
    if driving and not located:
        n += 1
    return n


def expected_kept(facts: TruckFacts, at_s: int) -> tuple[Visit, ...]:
    """The old visits that stay as they were (skipped stops left out)."""
    done = facts.old_visits[: done_count(facts, at_s)]
    return tuple(v for v in done if not (v.kind == "stop" and v.id in facts.skipped))


def verify_replan(facts: Sequence[TruckFacts], claim: ReplanClaim) -> list[str]:
    """Every violation of the re-plan ``claim`` against the old plan and reports ``facts``."""
    errors = list(verify(claim.problem, claim.solution))
    routes = {r.vehicle_type: r for r in claim.solution.routes}
    known = {f.vehicle for f in facts}
    for vehicle in claim.kept:
        if vehicle not in known:
            errors.append(f"truck {vehicle!r}: kept visits of a truck the old plan lacks.")
    done_ids: set[str] = set()
    for f in facts:
        kept = tuple(claim.kept.get(f.vehicle, ()))
        want = expected_kept(f, claim.at_s)
        done_ids.update(v.id for v in want if v.kind == "stop")
        errors.extend(_check_kept(f.vehicle, kept, want))
        errors.extend(_check_start(f, want, routes.get(f.vehicle), claim))
    for route in claim.solution.routes:
        again = [s for s in route.stop_ids if s in done_ids and s not in claim.reopened]
        for stop_id in again:
            errors.append(
                f"truck {route.vehicle_type!r}: stop {stop_id!r} was done before the re-plan "
                "and is served again after it."
            )
    return errors


def _key(v: Visit) -> tuple[str, str, int, int, int]:
    return (v.kind, v.id, v.arrival_s, v.start_s, v.departure_s)


def _check_kept(vehicle: str, kept: tuple[Visit, ...], want: tuple[Visit, ...]) -> list[str]:
    """The kept visits are exactly the done ones, in order, at their old times."""
    if [_key(v) for v in kept] == [_key(v) for v in want]:
        return []
    for i, (a, b) in enumerate(zip(kept, want, strict=False)):
        if _key(a) != _key(b):
            return [
                f"truck {vehicle!r}: visit {i} before the re-plan changed: {_key(a)} != "
                f"old {_key(b)}."
            ]
    return [
        f"truck {vehicle!r}: {len(kept)} visit(s) kept before the re-plan, expected {len(want)} "
        "(the old plan's visits done by then)."
    ]


def _check_start(
    f: TruckFacts, want: tuple[Visit, ...], route: Route | None, claim: ReplanClaim
) -> list[str]:
    """Where, when and with what load the truck continues after ``t`` (or that it does not)."""
    who = f"truck {f.vehicle!r}"
    finished = bool(f.old_visits) and done_count(f, claim.at_s) == len(f.old_visits)
    if route is None:
        return []
    if f.down_at_s is not None:
        return [f"{who}: reported down at {f.down_at_s} s but has a route after the re-plan."]
    if finished:
        return [f"{who}: its day was done before the re-plan but it has a route after it."]
    vt = claim.problem.vehicle_type(route.vehicle_type)
    start = claim.problem.site(vt.start_site_id)
    errs: list[str] = []
    if f.position_location is not None:
        loc, load = f.position_location, int(f.position_load_kg or 0)
        not_before = max(claim.at_s, f.position_at_s or 0)
    elif want:
        last = want[-1]
        loc = claim.places.get(last.id, -1)
        load = _load_after(f, want)
        not_before = max(claim.at_s, last.departure_s)
    else:
        loc = claim.problem.site(vt.depot).location
        load, not_before = 0, claim.at_s
    if start.location != loc:
        errs.append(
            f"{who}: continues from location {start.location}, but it is at location {loc} "
            "at the re-plan (a teleport)."
        )
    if vt.initial_load_kg != load:
        errs.append(f"{who}: continues with {vt.initial_load_kg} kg on board, expected {load} kg.")
    if route.depot_departure_s < not_before:
        errs.append(
            f"{who}: continues at {route.depot_departure_s} s, before {not_before} s "
            "(the re-plan time or the end of its last visit)."
        )
    return errs


def _load_after(f: TruckFacts, want: tuple[Visit, ...]) -> int:
    """kg on board after the done visits: picked up since the last unload, skipped left out."""
    load, prev = 0, 0
    done = f.old_visits[: done_count_through(f, want[-1])]
    for v in done:
        picked = v.load_after_kg - prev if v.kind == "stop" else 0
        prev = v.load_after_kg
        if v.kind == "unload":
            load = 0
        elif v.id not in f.skipped:
            load += picked
    return load


def done_count_through(f: TruckFacts, last: Visit) -> int:
    """The position just after ``last`` in the old visits."""
    for i, v in enumerate(f.old_visits):
        if _key(v) == _key(last):
            return i + 1
    return 0
