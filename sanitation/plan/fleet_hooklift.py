"""``policy.fleet: minimise`` for the hook-lift (transfer) trucks, after the collection fleet.

A hook-lift truck may carry any station's containers (its own station's first, see
`sanitation.transfer`), so trucks are removed one at a time from the whole county: of the station
whose trucks made the fewest trips per truck over the planned dates (then the dearest type). Each
planned day's transfer is re-planned with the smaller fleet (a fast, deterministic solve, verified)
and the removal is kept while no day leaves more waste unmoved than the fleet before the search;
otherwise that station's type is at its minimum. The search is bounded by work, not the clock:
a trial costs `TRIAL_WORK_S_PER_DAY` reference seconds per planned day (assumed;
docs/assignment.md), and no trial starts once the budget is spent; the deadline is a hard cap,
reported as ``stopped_by_time`` when it binds.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from sanitation.plan.context import PlanningContext
from sanitation.plan.fleet import FleetPlan
from sanitation.plan.transfer_day import build_transfer_problem, truck_type
from sanitation.transfer import solve as solve_transfer
from sanitation.verify.transfer import check as check_transfer

_Pair = tuple[str, str]  # (station id, type id)
TRIAL_WORK_S_PER_DAY = 0.5  # reference seconds a trial costs per planned day (assumed)


@dataclass(frozen=True)
class HookliftSearch:
    """What the search did: removals tried and kept, pairs left untried when the work budget (or,
    with ``stopped_by_time``, the wall clock) ended it."""

    tried: int
    kept: int
    untried: list[str]
    stopped_by_time: bool = False


def _outcome(
    ctx: PlanningContext,
    fleet: FleetPlan,
    collected_kg: Mapping[dt.date, Mapping[str, Mapping[str, int]]],
    seed: int,
) -> tuple[dict[dt.date, int], Counter[_Pair]]:
    """kg left unmoved per day, and trips made per (home station, type), with ``fleet``."""
    unmoved: dict[dt.date, int] = {}
    trips: Counter[_Pair] = Counter()
    for day, loads in sorted(collected_kg.items()):
        problem = build_transfer_problem(ctx, loads, fleet)
        solution = solve_transfer(problem, seed=seed)
        check_transfer(problem, solution)
        unmoved[day] = sum(u.load_kg for u in solution.unmoved)
        for truck in solution.trucks:
            home = problem.truck(truck.truck).home_station
            trips[(home, truck_type(truck.truck))] += len(truck.trips)
    return unmoved, trips


def minimise_hooklifts(
    ctx: PlanningContext,
    fleet: FleetPlan,
    collected_kg: Mapping[dt.date, Mapping[str, Mapping[str, int]]],
    *,
    seed: int,
    work_s: float,
    deadline: float,
) -> tuple[FleetPlan, HookliftSearch]:
    """The smallest hook-lift fleet found (see the module docstring).

    Parameters
    ----------
    collected_kg
        Per planned date, the kg of each stream each station received (stations with none
        left out).
    work_s
        Work budget (reference seconds): at most ``work_s / (TRIAL_WORK_S_PER_DAY x days)``
        removals are tried.
    deadline
        `time.perf_counter` value after which no removal is tried (the hard cap).
    """
    cost = {
        v.type_id: v.fixed_cost_cny_per_day
        for v in ctx.scenario.vehicle_types
        if v.role == "transfer"
    }
    allowed, trips = _outcome(ctx, fleet, collected_kg, seed)
    at_minimum: set[_Pair] = set()
    tried = kept = 0

    def options() -> list[_Pair]:
        return [
            (station, type_id)
            for station, counts in sorted(fleet.counts.items())
            for type_id, n in sorted(counts.items())
            if n > 0 and type_id in cost and (station, type_id) not in at_minimum
        ]

    trials = math.floor(work_s / (TRIAL_WORK_S_PER_DAY * max(1, len(collected_kg))))
    clock = False
    while options() and tried < trials:
        if time.perf_counter() >= deadline:
            clock = True
            break
        station, type_id = min(
            options(),
            key=lambda p: (trips[p] / fleet.counts[p[0]][p[1]], -cost[p[1]], p),
        )
        counts = fleet.of(station)
        counts[type_id] -= 1
        candidate = fleet.with_counts(station, counts)
        unmoved, candidate_trips = _outcome(ctx, candidate, collected_kg, seed)
        tried += 1
        if all(unmoved[day] <= allowed[day] for day in unmoved):
            fleet, trips = candidate, candidate_trips
            kept += 1
        else:
            at_minimum.add((station, type_id))
    return fleet, HookliftSearch(tried, kept, [f"{s}/{t}" for s, t in options()], clock)
